"""PerfPredictorModule: the step's plumbing (optimizer implementation, torch threads)."""

import warnings
from pathlib import Path

import lightning.pytorch as L
import pytest
import torch
import yaml

from chainnet import ChainNet
from training import PerfPredictorModule, SimDataModule
from training.module import _multi_tensor_on_cpu


def _adamw_steps(foreach: bool | None, steps: int = 5) -> list[torch.Tensor]:
    torch.manual_seed(0)
    net = ChainNet(hidden_channels=8, num_iterations=1)
    opt = _multi_tensor_on_cpu(
        torch.optim.AdamW(net.parameters(), lr=0.01, weight_decay=1e-3, foreach=foreach))
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for p in net.parameters():
            p.grad = torch.randn(p.shape, generator=gen)
        opt.step()
    return [p.detach().clone() for p in net.parameters()]


def test_cpu_optimizer_runs_multi_tensor_with_bitwise_identical_steps():
    torch.manual_seed(0)
    net = ChainNet(hidden_channels=8, num_iterations=1)
    opt = _multi_tensor_on_cpu(torch.optim.AdamW(net.parameters()))
    assert all(group["foreach"] is True for group in opt.param_groups)
    kept = _multi_tensor_on_cpu(torch.optim.AdamW(net.parameters(), foreach=False))
    assert all(group["foreach"] is False for group in kept.param_groups)
    per_tensor = _adamw_steps(foreach=False)
    multi = _adamw_steps(foreach=None)  # switched to foreach=True
    assert all(torch.equal(a, b) for a, b in zip(per_tensor, multi))


class _Threads(L.Callback):
    def __init__(self) -> None:
        self.seen: list[int] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.seen.append(torch.get_num_threads())


@pytest.mark.parametrize("num_threads", [1, None])
def test_num_threads_holds_for_the_run_and_is_restored(tiny_dataset, tmp_path, num_threads):
    before = torch.get_num_threads()
    dm = SimDataModule(tiny_dataset, cache_dir=str(tmp_path), batch_size=8)
    module = PerfPredictorModule(ChainNet(hidden_channels=8), num_threads=num_threads,
                                 export_path=str(tmp_path / "member.pt"))
    probe = _Threads()
    trainer = L.Trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=0,
                        accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[probe], default_root_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, datamodule=dm)
    assert probe.seen == [num_threads or before] * 2
    assert torch.get_num_threads() == before


def test_num_threads_must_be_positive():
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="num_threads must be an integer >= 1 or None"):
            PerfPredictorModule(ChainNet(hidden_channels=8), num_threads=bad)


def test_default_model_config_trains_on_one_thread():
    path = Path(__file__).parents[2] / "training/configs/default_model.yaml"
    config = yaml.safe_load(path.read_text())
    assert config["model"]["num_threads"] == 1
