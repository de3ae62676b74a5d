"""Crafted files never run code: the processed-graph cache and the best checkpoint of a resumed run.

Each payload is a pickle whose ``__reduce__`` creates a marker file when unpickled; the control
test shows that an unsafe load of it does run, the others that ours never does.
"""

import hashlib
import json
import pickle
import warnings
from pathlib import Path

import lightning.pytorch as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from chainnet import ChainNet, Surrogate
from training import PerfPredictorModule, ScenarioGraphDataset, SimDataModule


class _Payload:
    """Unpickling this creates ``marker`` (what an attacker's code would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def _write_payload(path: Path, marker: Path) -> None:
    # shaped like PyG's cache tuple, so only the pickled callable makes it hostile
    torch.save(({"payload": _Payload(marker)}, None, dict), path)


def test_the_payload_runs_when_loaded_unsafely(tmp_path):
    """Control: the crafted file is live, so the tests below prove something."""
    marker = tmp_path / "ran"
    _write_payload(tmp_path / "evil.pt", marker)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / "evil.pt", weights_only=True)
    assert not marker.exists()
    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert marker.exists()


# ------------------------------------------------------------------------- graph cache


def _cache(tiny_dataset, cache_dir):
    return ScenarioGraphDataset(tiny_dataset, cache_dir)


def test_cache_has_a_manifest_with_its_sha256(tiny_dataset, tmp_path):
    ds = _cache(tiny_dataset, tmp_path)
    path = Path(ds.processed_paths[0])
    manifest = json.loads(ds.manifest_path.read_text())
    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["file"] == path.name
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a verified cache is reused silently
        again = _cache(tiny_dataset, tmp_path)
    assert len(again) == len(ds)


def test_planted_cache_without_manifest_is_rebuilt_unread(tiny_dataset, tmp_path):
    ds = _cache(tiny_dataset, tmp_path)
    path, marker = Path(ds.processed_paths[0]), tmp_path / "ran"
    _write_payload(path, marker)
    ds.manifest_path.unlink()
    with pytest.warns(UserWarning, match="no readable manifest.*rebuilding"):
        rebuilt = _cache(tiny_dataset, tmp_path)
    assert not marker.exists()
    assert len(rebuilt) == len(ds) and rebuilt[0]["service"].y.shape == ds[0]["service"].y.shape
    assert json.loads(ds.manifest_path.read_text())["sha256"] == hashlib.sha256(
        path.read_bytes()).hexdigest()


def test_planted_cache_with_its_old_manifest_is_rebuilt_unread(tiny_dataset, tmp_path):
    ds = _cache(tiny_dataset, tmp_path)
    marker = tmp_path / "ran"
    _write_payload(Path(ds.processed_paths[0]), marker)
    with pytest.warns(UserWarning, match="does not match the SHA-256"):
        _cache(tiny_dataset, tmp_path)
    assert not marker.exists()


def test_planted_cache_with_a_forged_manifest_is_loaded_safely(tiny_dataset, tmp_path):
    """Even a matching hash is no licence to run code: the load is weights-only."""
    ds = _cache(tiny_dataset, tmp_path)
    path, marker = Path(ds.processed_paths[0]), tmp_path / "ran"
    _write_payload(path, marker)
    manifest = json.loads(ds.manifest_path.read_text())
    manifest["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    ds.manifest_path.write_text(json.dumps(manifest))
    with pytest.warns(UserWarning, match="safe load refuses.*rebuilding"):
        rebuilt = _cache(tiny_dataset, tmp_path)
    assert not marker.exists()
    assert len(rebuilt) == len(ds)


def test_planted_pyg_side_files_are_never_read(tiny_dataset, tmp_path):
    """PyG unpickles ``pre_transform.pt``/``pre_filter.pt`` of the cache folder unsafely."""
    marker = tmp_path / "ran"
    for name in ("pre_transform.pt", "pre_filter.pt"):
        _write_payload(tmp_path / name, marker)
    _cache(tiny_dataset, tmp_path)  # builds
    _cache(tiny_dataset, tmp_path)  # reuses
    assert not marker.exists()


# ---------------------------------------------------------------- best checkpoint


def _fit(tiny_dataset, tmp_path, ckpt_path=None):
    model = PerfPredictorModule(ChainNet(hidden_channels=8, num_iterations=1),
                                export_path=str(tmp_path / "surrogate.pt"))
    data = SimDataModule(tiny_dataset, cache_dir=str(tmp_path / "cache"), batch_size=8)
    trainer = L.Trainer(
        max_epochs=1, limit_train_batches=2, limit_val_batches=1, num_sanity_val_steps=0,
        logger=False, enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=tmp_path,
        callbacks=[ModelCheckpoint(dirpath=tmp_path / "ckpts", monitor="val/combined_mape")],
    )
    trainer.fit(model, datamodule=data, ckpt_path=ckpt_path)
    return trainer, model


def _resume_checkpoint(trainer, tmp_path, best: Path) -> Path:
    """A resume checkpoint of tensors, dicts and strings only, naming ``best`` as the best."""
    ckpt = torch.load(trainer.checkpoint_callback.best_model_path, weights_only=True)
    for key, state in ckpt["callbacks"].items():
        if key.startswith("ModelCheckpoint"):
            state["best_model_path"] = str(best)
    out = tmp_path / "resume.ckpt"
    torch.save(ckpt, out)
    return out


def test_fit_exports_the_best_checkpoint_loaded_weights_only(tiny_dataset, tmp_path):
    trainer, model = _fit(tiny_dataset, tmp_path)
    best = trainer.checkpoint_callback.best_model_path
    assert best and Path(best).parent == tmp_path / "ckpts"
    exported = Surrogate.load(tmp_path / "surrogate.pt")
    assert exported.metadata["best_checkpoint"] == best
    saved = torch.load(best, weights_only=True)["state_dict"]
    for k, v in exported.model.state_dict().items():
        torch.testing.assert_close(v, saved[f"predictor.{k}"])


def test_resumed_best_path_outside_the_run_is_ignored(tiny_dataset, tmp_path):
    trainer, _ = _fit(tiny_dataset, tmp_path)
    marker, evil = tmp_path / "ran", tmp_path / "elsewhere" / "best.ckpt"
    evil.parent.mkdir()
    _write_payload(evil, marker)
    resume = _resume_checkpoint(trainer, tmp_path, evil)
    (tmp_path / "surrogate.pt").unlink()
    with pytest.warns(UserWarning, match="not inside this run's checkpoint folder"):
        _fit(tiny_dataset, tmp_path, ckpt_path=resume)  # epoch 1 of 1: training is skipped
    assert not marker.exists()
    assert Surrogate.load(tmp_path / "surrogate.pt").metadata["best_checkpoint"] == ""


def test_resumed_best_path_to_a_pickle_inside_the_run_is_refused(tiny_dataset, tmp_path):
    trainer, _ = _fit(tiny_dataset, tmp_path)
    marker, evil = tmp_path / "ran", tmp_path / "ckpts" / "evil.ckpt"
    _write_payload(evil, marker)
    resume = _resume_checkpoint(trainer, tmp_path, evil)
    with pytest.raises(pickle.UnpicklingError, match="safe load refuses"):
        _fit(tiny_dataset, tmp_path, ckpt_path=resume)
    assert not marker.exists()


def test_a_crafted_resume_checkpoint_is_refused_before_lightning_loads_it(tmp_path):
    """``fit --ckpt_path X``: X must load with weights_only=True, and URLs are refused."""
    from training.cli import TrainingCLI

    marker = tmp_path / "ran"
    payload = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "x": _Payload(str(marker))}, payload)
    cli = TrainingCLI.__new__(TrainingCLI)
    cli.subcommand = "fit"
    for bad, match in ((str(payload), "beyond tensors"), ("https://example.org/x.ckpt", "URL")):
        cli.config = {"fit": {"ckpt_path": bad}}
        with pytest.raises(ValueError, match=match):
            cli._check_ckpt_path()
    assert not marker.exists()
    cli.config = {"fit": {"ckpt_path": "last"}}
    cli._check_ckpt_path()  # keywords are Lightning's own
