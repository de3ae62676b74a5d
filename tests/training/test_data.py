import pandas as pd
import pytest
import torch

from chainnet import build_graph
from training import SimDataModule, attach_targets, load_samples


def test_attach_targets_sets_ratios_and_masks_missing(tiny_dataset):
    scenario, labels, devices = load_samples(tiny_dataset)[0]
    data = attach_targets(build_graph(scenario), scenario, labels, None)
    y = data["service"].y
    assert y.shape == (len(scenario.services), 3)
    first = scenario.services[0].name
    assert y[0, 0].item() == pytest.approx(labels.loc[first, "tput_ratio"], rel=1e-6)
    expected_p95 = labels.loc[first, "latency_p95"] / labels.loc[first, "latency_mean"]
    assert y[0, 2].item() == pytest.approx(expected_p95, rel=1e-6)
    assert torch.isnan(data["device"].y).all()  # no device labels given


def test_attach_targets_rejects_unlabelled_service(tiny_dataset):
    scenario, labels, _ = load_samples(tiny_dataset)[0]
    with pytest.raises(ValueError, match="labels lack services"):
        attach_targets(build_graph(scenario), scenario, labels.iloc[0:0], None)


def test_splits_are_reproducible_and_disjoint(tiny_dataset, tmp_path):
    def split(seed):
        dm = SimDataModule(tiny_dataset, cache_dir=str(tmp_path), split_seed=seed,
                           val_fraction=0.25, test_fraction=0.25)
        dm.prepare_data()
        dm.setup("fit")
        return dm.train_dataset.indices, dm.val_dataset.indices, dm.test_dataset.indices

    a, b, c = split(0), split(0), split(1)
    assert a == b and a != c
    assert not set(a[0]) & set(a[1]) and not set(a[1]) & set(a[2])
    assert len(a[0]) + len(a[1]) + len(a[2]) == 24
    assert list(tmp_path.glob("*.pt"))  # processed graphs are cached
    assert not list(tmp_path.glob(".*.tmp"))  # written to a temporary file, then renamed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"format": "csv"}, "format must be one of"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"val_fraction": 0.6, "test_fraction": 0.5}, "must be < 1"),
    ],
)
def test_datamodule_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimDataModule("somewhere", **kwargs)


def test_missing_source_is_named(tmp_path):
    from training import ScenarioGraphDataset

    with pytest.raises(ValueError, match="does not exist"):
        ScenarioGraphDataset(tmp_path / "nope", tmp_path)


def test_labels_from_chainnet_format(tiny_dataset, tmp_path):
    from datagen.chainnet_format import write_chainnet
    from datagen.dataset import load_dataset

    raw = write_chainnet(load_dataset(tiny_dataset).samples[:5], tmp_path / "raw")
    samples = load_samples(raw, "chainnet")
    assert len(samples) == 5
    assert isinstance(samples[0][1], pd.DataFrame) and samples[0][2] is None


def test_cache_is_rebuilt_when_the_source_changes(tiny_dataset, tmp_path):
    import os
    import shutil

    from training import ScenarioGraphDataset

    src = tmp_path / "copy"
    shutil.copytree(tiny_dataset, src)
    first = ScenarioGraphDataset(src, tmp_path / "cache")
    manifest = src / "manifest.json"
    os.utime(manifest, ns=(manifest.stat().st_atime_ns, manifest.stat().st_mtime_ns + 10**9))
    second = ScenarioGraphDataset(src, tmp_path / "cache")
    assert first.processed_paths != second.processed_paths
    assert len(list((tmp_path / "cache").glob("copy-*.pt"))) == 2


def test_cache_is_rebuilt_when_the_feature_names_change(tiny_dataset, tmp_path, monkeypatch):
    from chainnet import schema
    from training import ScenarioGraphDataset

    first = ScenarioGraphDataset(tiny_dataset, tmp_path)
    renamed = dict(schema.FEATURES, link=(*schema.FEATURES["link"][:-1], "renamed"))
    monkeypatch.setattr("training.data.FEATURES", renamed)
    second = ScenarioGraphDataset(tiny_dataset, tmp_path)
    assert first.processed_paths != second.processed_paths


def test_missing_labels_give_finite_gradients(tiny_dataset):
    from torch_geometric.data import Batch

    from chainnet import ChainNet
    from training import PerfPredictorModule

    graphs = []
    for scenario, labels, _ in load_samples(tiny_dataset)[:4]:
        graphs.append(attach_targets(build_graph(scenario), scenario, labels, None))
    batch = Batch.from_data_list(graphs)
    batch["service"].y[0, 2] = float("nan")  # a missing p95 label
    module = PerfPredictorModule(ChainNet(hidden_channels=8))
    loss = module.compute_loss(module(batch), batch)
    loss.backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_absolute_loss_term_adds_the_loss_ratio_mae(tiny_dataset):
    from torch_geometric.data import Batch

    from chainnet import ChainNet
    from training import PerfPredictorModule

    graphs = [attach_targets(build_graph(sc), sc, labels, None)
              for sc, labels, _ in load_samples(tiny_dataset)[:4]]
    batch = Batch.from_data_list(graphs)
    net = ChainNet(hidden_channels=8)
    out = net(batch)
    base = PerfPredictorModule(net).compute_loss(out, batch)
    with_abs = PerfPredictorModule(net, loss_abs_weight=2.0).compute_loss(out, batch)
    mae = ((1 - out["tput_ratio"]).clamp_min(0) - batch["service"].loss_true).abs().mean()
    # float32 sums: the difference of two losses carries their rounding (a few eps of each)
    tol = 8 * torch.finfo(torch.float32).eps * float(with_abs.abs())
    assert float(with_abs - base) == pytest.approx(2.0 * float(mae), rel=1e-5, abs=tol)
    with pytest.raises(ValueError, match="loss_abs_weight must be >= 0"):
        PerfPredictorModule(net, loss_abs_weight=-1.0)


def test_cpu_batch_is_served_without_a_copy(tiny_dataset, tmp_path):
    dm = SimDataModule(tiny_dataset, cache_dir=str(tmp_path), batch_size=4)
    dm.prepare_data()
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert dm.transfer_batch_to_device(batch, torch.device("cpu"), 0) is batch
    # anything else takes Lightning's transfer
    moved = dm.transfer_batch_to_device({"x": torch.ones(2)}, torch.device("cpu"), 0)
    assert torch.equal(moved["x"], torch.ones(2))
