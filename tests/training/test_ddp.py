"""DDP on 2 gloo processes: it trains, exports what rank 0 holds and stops on SIGTERM.

Each run is a subprocess (Lightning launches rank 1 as a second one), driven by a small script that
saves the weights every rank holds when ``fit`` returns.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from chainnet import Surrogate

pytestmark = [
    pytest.mark.slow,  # ~20 s per run: two processes import Lightning and PyG
    pytest.mark.skipif(sys.platform != "linux", reason="spawns and signals process trees"),
]

REPO = Path(__file__).resolve().parents[2]

DRIVER = """\
import sys

import torch

from training import cli_main

out = sys.argv[1]
cli = cli_main(["fit", *sys.argv[2:]])
torch.save({"state": cli.model.predictor.state_dict(), "epoch": cli.trainer.current_epoch,
            "world_size": cli.trainer.world_size}, f"{out}/rank{cli.trainer.global_rank}.pt")
"""

CONFIG = """\
trainer:
  max_epochs: 2
  limit_train_batches: 4
  limit_val_batches: null
  enable_checkpointing: true
  callbacks:
    - class_path: lightning.pytorch.callbacks.ModelCheckpoint
      init_args: {monitor: val/combined_mape, mode: min, save_top_k: 1}
data:
  batch_size: 2
  val_fraction: 0.25
"""


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """Tiny edge (with link nodes) and chainnet_like (without) datasets, 32 samples each."""
    from datagen.dataset import generate
    from datagen.sampling import SimulationConfig, load_sampler_config

    root = tmp_path_factory.mktemp("ddp_data")
    for name in ("edge", "chainnet_like"):
        config = replace(load_sampler_config(name),
                         simulation=SimulationConfig(num_requests=300, max_num_requests=1200))
        generate(config, root / name, 32, seed=5, shard_size=16, progress=False)
    return root


def _start(tmp_path: Path, data: Path, *extra: str) -> subprocess.Popen:
    (tmp_path / "driver.py").write_text(DRIVER)
    (tmp_path / "run.yaml").write_text(CONFIG)
    args = [
        sys.executable, str(tmp_path / "driver.py"), str(tmp_path),
        "--config", "training/configs/chainnet.yaml",
        "--config", "training/configs/tiny.yaml",
        "--config", "training/configs/ddp_cpu.yaml",
        "--config", str(tmp_path / "run.yaml"),
        f"--data.train={data}",
        f"--data.cache_dir={tmp_path / 'cache'}",
        f"--trainer.default_root_dir={tmp_path / 'runs'}",
        *extra,
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("name", ["edge", "chainnet_like"])
def test_two_gloo_ranks_train_two_epochs_and_export_what_rank0_holds(datasets, tmp_path, name):
    proc = _start(tmp_path, datasets / name)
    try:
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        _kill_group(proc)
    assert proc.returncode == 0, (stdout + stderr)[-4000:]
    assert "MEMBER: 2/2" in stdout + stderr  # rank 1 of 2 joined the group
    exported_to = tmp_path / "runs" / "surrogate.pt"  # the log folder, broadcast from rank 0
    lines = [ln for ln in stdout.splitlines() if ln.startswith("exported surrogate checkpoint")]
    assert lines == [f"exported surrogate checkpoint to {exported_to}"]

    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert [r["epoch"] for r in ranks] == [2, 2] and ranks[0]["world_size"] == 2
    surrogate = Surrogate.load(exported_to)
    exported = surrogate.model.state_dict()
    assert exported.keys() == ranks[0]["state"].keys()
    for key, value in exported.items():
        torch.testing.assert_close(value, ranks[0]["state"][key], rtol=0, atol=0)
        torch.testing.assert_close(value, ranks[1]["state"][key], rtol=0, atol=0)
    best = Path(surrogate.metadata["best_checkpoint"])
    assert best.parent == tmp_path / "runs" / "checkpoints"
    assert "val/combined_mape" in surrogate.metadata["callback_metrics"]


def test_sigterm_stops_both_ranks(datasets, tmp_path):
    proc = _start(tmp_path, datasets / "edge", "--trainer.max_epochs=100000",
                  "--trainer.limit_train_batches=null")
    try:
        deadline = time.monotonic() + 240
        while not list((tmp_path / "runs" / "checkpoints").glob("*.ckpt")):  # training runs
            assert proc.poll() is None, proc.communicate()[1][-4000:]
            assert time.monotonic() < deadline, "no epoch finished in 240 s"
            time.sleep(0.5)
        ranks = _children(proc.pid)
        assert ranks, "rank 1 is not a child of the launching process"
        proc.send_signal(signal.SIGTERM)  # to rank 0 only, as `kill PID` does
        try:
            _, stderr = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            pytest.fail("the run did not stop within 90 s of SIGTERM")
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in ranks) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(_alive(pid) for pid in ranks), "rank 1 outlived the run"
        assert "Received SIGTERM" in stderr
        assert "Traceback" not in stderr, stderr[-4000:]  # both ranks stopped at the same batch
        assert not (tmp_path / "rank0.pt").exists()  # fit did not run to its end
    finally:
        _kill_group(proc)
