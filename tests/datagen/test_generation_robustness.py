"""Hostile and careless inputs to dataset generation (issue 19, item 5).

Corrupted shards, lost or mismatched manifests, orphaned pool workers, shard sizes that starve
workers, and output paths that cannot be written.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import datagen.dataset as dataset_mod
from datagen.cli import main
from datagen.dataset import (
    CHECKSUM_FILE,
    MANIFEST_NAME,
    SHARD_FILES,
    DatasetError,
    generate,
    load_dataset,
)
from datagen.shards import FORMAT_VERSION

KW: dict[str, Any] = {"seed": 7, "shard_size": 2, "num_requests": 300, "progress": False}
LINUX = sys.platform.startswith("linux")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("robust") / "base"
    generate("chainnet_like", root, 4, **KW)
    return root


@pytest.fixture
def ds(base: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(base, root)
    return root


def manifest(root: Path) -> dict[str, Any]:
    return json.loads((root / MANIFEST_NAME).read_text())


def flip_bytes(path: Path, offset: int = 8, count: int = 64) -> None:
    data = bytearray(path.read_bytes())
    for i in range(offset, offset + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------------------------
# Checksums
# --------------------------------------------------------------------------------------------


def test_shards_record_checksums(base: Path) -> None:
    m = manifest(base)
    assert m["format_version"] == FORMAT_VERSION == 3
    for s in m["shards"]:
        assert sorted(s["sha256"]) == sorted(SHARD_FILES)
        lines = (base / s["name"] / CHECKSUM_FILE).read_text().splitlines()
        assert sorted(lines) == sorted(f"{h}  {f}" for f, h in s["sha256"].items())


def test_corrupted_shard_is_caught_on_load_and_redone_on_resume(
    ds: Path, base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = ds / "shard-00001" / "services.parquet"
    flip_bytes(target)
    pq.read_metadata(target)  # the footer is intact: only the checksum can tell
    with pytest.raises(DatasetError, match=r"shard-00001: services\.parquet does not match its "
                                           r"SHA-256 checksum"):
        load_dataset(ds)
    loose = load_dataset(ds, strict=False)
    assert list(loose.corrupt_shards) == ["shard-00001"] and loose.scenario_ids == [0, 1]
    before = (ds / "shard-00000" / "services.parquet").stat().st_mtime_ns
    with caplog.at_level(logging.WARNING, logger="datagen.dataset"):
        generate("chainnet_like", ds, 4, **KW)
    assert "redoing shard shard-00001: services.parquet does not match" in caplog.text
    assert (ds / "shard-00000" / "services.parquet").stat().st_mtime_ns == before
    # The redone shard is bit-identical to the original.
    assert [s["sha256"] for s in manifest(ds)["shards"]] == [
        s["sha256"] for s in manifest(base)["shards"]
    ]
    assert len(load_dataset(ds)) == 4


def test_unrecorded_shard_is_verified_by_its_checksum_file(
    ds: Path, base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A shard that landed just before a kill: on disk, not yet recorded in the manifest.
    m = manifest(ds)
    m["shards"][1].pop("sha256")
    m["shards"][1]["status"] = "pending"
    (ds / MANIFEST_NAME).write_text(json.dumps(m))
    assert len(load_dataset(ds)) == 4
    flip_bytes(ds / "shard-00001" / "devices.parquet")
    with pytest.raises(DatasetError, match=r"shard-00001: devices\.parquet does not match"):
        load_dataset(ds)
    with caplog.at_level(logging.WARNING, logger="datagen.dataset"):
        generate("chainnet_like", ds, 4, **KW)
    assert "redoing shard shard-00001: devices.parquet" in caplog.text
    assert manifest(ds)["shards"][1]["sha256"] == manifest(base)["shards"][1]["sha256"]


def test_redone_shards_are_bit_identical(ds: Path, base: Path) -> None:
    flip_bytes(ds / "shard-00000" / "scenarios.parquet")
    shutil.rmtree(ds / "shard-00001")
    generate("chainnet_like", ds, 4, **KW)
    for name in ("shard-00000", "shard-00001"):
        for f in (*SHARD_FILES, CHECKSUM_FILE):
            assert (ds / name / f).read_bytes() == (base / name / f).read_bytes()


def test_dataset_without_checksums_loads_with_one_warning(
    ds: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # What datagen wrote before checksums existed (format version 1).
    m = manifest(ds)
    m["format_version"] = 1
    for s in m["shards"]:
        s.pop("sha256")
        (ds / s["name"] / CHECKSUM_FILE).unlink()
    (ds / MANIFEST_NAME).write_text(json.dumps(m))
    with caplog.at_level(logging.WARNING, logger="datagen.dataset"):
        for _ in range(3):
            assert len(load_dataset(ds)) == 4
    warned = [r for r in caplog.records if "carry no checksums" in r.getMessage()]
    assert len(warned) == 1 and "2 of 2 shards" in warned[0].getMessage()
    # Resuming keeps the old shards (nothing to verify them against, so nothing is invented).
    before = (ds / "shard-00001" / "services.parquet").stat().st_mtime_ns
    generate("chainnet_like", ds, 4, **KW)
    assert (ds / "shard-00001" / "services.parquet").stat().st_mtime_ns == before
    assert all("sha256" not in s for s in manifest(ds)["shards"])


# --------------------------------------------------------------------------------------------
# Manifests that do not match the command
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": 8}, "seed=7, not 8"),
        ({"num_samples": 6}, "num_samples=4, not 6"),
        ({"shard_size": 3}, "shard_size=2, not 3"),
        ({"num_requests": 400}, r"a 'chainnet_like' config that differs in \['simulation'\]"),
        ({"config": "edge"}, "config regime 'chainnet_like', not 'edge'"),
    ],
)
def test_mismatched_manifest_refuses_to_mix(
    ds: Path, change: dict[str, Any], message: str
) -> None:
    kw = {**KW, "num_samples": 4, "config": "chainnet_like", **change}
    config, n = kw.pop("config"), kw.pop("num_samples")
    before = sorted(p.name for p in ds.iterdir())
    with pytest.raises(ValueError, match=rf"already holds a dataset with {message}.*--overwrite"):
        generate(config, ds, n, **kw)
    assert sorted(p.name for p in ds.iterdir()) == before


def test_overwrite_starts_clean_and_keeps_other_files(ds: Path, tmp_path: Path) -> None:
    (ds / "notes.txt").write_text("mine")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    (ds / "shard-00009").symlink_to(elsewhere)  # removed as a link, never followed
    generate("chainnet_like", ds, 3, **{**KW, "seed": 8}, overwrite=True)
    assert (elsewhere / "keep.txt").read_text() == "keep"
    fresh = tmp_path / "fresh"
    generate("chainnet_like", fresh, 3, **{**KW, "seed": 8})
    assert [s["sha256"] for s in manifest(ds)["shards"]] == [
        s["sha256"] for s in manifest(fresh)["shards"]
    ]
    assert (ds / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in ds.iterdir()) == sorted(
        ["notes.txt", MANIFEST_NAME, "shard-00000", "shard-00001"]
    )


def test_lost_manifest_refuses_old_shards(ds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ds / MANIFEST_NAME).unlink()
    with pytest.raises(ValueError, match=r"holds 2 shard folders \(shard-00000, shard-00001\) "
                                         r"but no manifest\.json.*--overwrite"):
        generate("chainnet_like", ds, 4, **{**KW, "seed": 9})
    assert not (ds / MANIFEST_NAME).exists()
    args = ["generate", "--config", "chainnet_like", "--out", str(ds), "--num_samples", "4",
            "--seed", "9", "--shard_size", "2", "--num_requests", "300", "--no_progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no manifest.json" in err
    assert main([*args, "--overwrite"]) == 0
    assert manifest(ds)["seed"] == 9 and len(load_dataset(ds)) == 4


def test_corrupt_manifest_refuses_until_overwrite(ds: Path) -> None:
    (ds / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(DatasetError, match=r"manifest\.json is corrupt.*--overwrite"):
        generate("chainnet_like", ds, 4, **KW)
    generate("chainnet_like", ds, 4, **KW, overwrite=True)
    assert len(load_dataset(ds)) == 4


# --------------------------------------------------------------------------------------------
# Shard size, progress and manifest updates
# --------------------------------------------------------------------------------------------


class _Recorder:
    """Stands in for tqdm: records the updates."""

    updates: list[int] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _Recorder.updates = []

    def update(self, n: int) -> None:
        _Recorder.updates.append(n)

    def close(self) -> None:
        pass


def test_shard_size_adapts_so_every_worker_has_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pool of threads stands in for the process pool; each fake shard waits until the
    # manifest on disk records the shards before it, which holds only if the driver records
    # every shard as it lands (not all of them at the end).
    import concurrent.futures

    import tqdm.auto

    root = tmp_path / "ds"
    pools: list[int] = []

    def fake_shard(out_dir: str, config: Any, seed: int, index: int, start: int,
                   stop: int) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while manifest(Path(out_dir))["counts"]["shards_done"] < index:
            assert time.monotonic() < deadline, "the manifest was not updated per shard"
            time.sleep(0.01)
        return {"index": index, "num_samples": stop - start, "service_rows": 0,
                "device_rows": 0, "link_rows": 0, "seconds": 0.0,
                "sha256": dict.fromkeys(SHARD_FILES, "0" * 64)}

    class FakePool(ThreadPoolExecutor):
        def __init__(self, max_workers: int, **kwargs: Any) -> None:
            pools.append(max_workers)
            super().__init__(max_workers=1)

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            return super().submit(fake_shard, *args)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", FakePool)
    monkeypatch.setattr(tqdm.auto, "tqdm", _Recorder)
    m = generate("chainnet_like", root, 200, workers=2, seed=1, progress=True)
    assert pools == [2]
    assert m["shard_size"] == 100 and m["num_shards"] == 2 and m["complete"]
    assert _Recorder.updates == [100, 100]
    # Large datasets keep the default shard size.
    m = generate("chainnet_like", tmp_path / "big", 2500, workers=2, seed=1, progress=True)
    assert m["shard_size"] == dataset_mod.DEFAULT_SHARD_SIZE and m["num_shards"] == 3
    assert pools == [2, 2] and _Recorder.updates == [1000, 1000, 500]


def test_two_workers_share_a_small_dataset(tmp_path: Path) -> None:
    root = tmp_path / "w2"
    args = ["generate", "--config", "chainnet_like", "--out", str(root), "--num_samples", "4",
            "--seed", "7", "--num_requests", "300", "--no_progress"]
    assert main([*args, "--workers", "2"]) == 0
    m = manifest(root)
    assert m["shard_size"] == 2 and m["num_shards"] == 2 and m["complete"]
    # A resume with other --workers keeps the dataset's shard size.
    assert main([*args, "--workers", "1"]) == 0
    assert manifest(root)["shard_size"] == 2


def test_one_worker_keeps_the_data_of_earlier_versions(tmp_path: Path, base: Path) -> None:
    # Before the adaptive size, 2 samples with the default shard size were one shard of 2:
    # with one worker the shard is the same.
    generate("chainnet_like", tmp_path / "one", 2, **{**KW, "shard_size": None})
    assert manifest(tmp_path / "one")["shard_size"] == 2
    assert manifest(tmp_path / "one")["shards"][0]["sha256"] == manifest(base)["shards"][0][
        "sha256"
    ]


# --------------------------------------------------------------------------------------------
# Orphaned workers
# --------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_for_children(proc: subprocess.Popen[bytes], count: int) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        kids = _children(proc.pid)
        if len(kids) >= count:
            time.sleep(0.5)  # let the workers run their initializer
            return _children(proc.pid)
        time.sleep(0.05)
    pytest.fail(f"no {count} worker processes appeared (exit code {proc.poll()})")


def _assert_all_end(pids: list[int], within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and any(_running(p) for p in pids):
        time.sleep(0.05)
    alive = [p for p in pids if _running(p)]
    for p in alive:  # do not leave them behind even when the test fails
        os.kill(p, signal.SIGKILL)
    assert not alive, f"workers {alive} outlived their parent"


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    root = tmp_path / "orphans"
    cmd = [sys.executable, "-m", "datagen", "generate", "--config", "chainnet_like",
           "--out", str(root), "--num_samples", "4", "--workers", "2",
           "--num_requests", "100000", "--no_progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = _wait_for_children(proc, 2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    _assert_all_end(workers)
    shards_then = sorted(p.name for p in root.glob("shard-*"))
    time.sleep(1.0)
    assert sorted(p.name for p in root.glob("shard-*")) == shards_then  # nobody writes


_WATCH_ONLY = """
import multiprocessing as mp, os, sys, time
from datagen.dataset import _die_with_parent

def child(parent):
    _die_with_parent(parent, use_pdeathsig=False)
    time.sleep(60)

if __name__ == "__main__":
    p = mp.get_context("fork").Process(target=child, args=(os.getpid(),))
    p.start()
    print(p.pid, flush=True)
    time.sleep(60)
"""


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_parent_watch_alone_ends_an_orphan(tmp_path: Path) -> None:
    script = tmp_path / "watch_only.py"
    script.write_text(_WATCH_ONLY)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        time.sleep(0.3)
        assert _running(child)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    _assert_all_end([child])


# --------------------------------------------------------------------------------------------
# Output paths that cannot be written
# --------------------------------------------------------------------------------------------


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def test_generate_bad_out_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    base_args = ["generate", "--config", "chainnet_like", "--num_samples", "2",
                 "--num_requests", "300", "--no_progress"]
    assert main([*base_args, "--out", str(a_file)]) == 2
    _one_line_error(capsys, "is a file, not a directory")
    assert main([*base_args, "--out", str(a_file / "sub")]) == 2
    _one_line_error(capsys, "cannot create the output folder", "Not a directory")
    assert a_file.read_text() == "x"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_generate_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        for out in (locked, locked / "sub"):
            assert main(["generate", "--config", "chainnet_like", "--num_samples", "2",
                         "--out", str(out), "--no_progress"]) == 2
            _one_line_error(capsys)
        assert main(["export-chainnet", str(tmp_path / "x"), "--out", str(locked / "raw")]) == 2
        _one_line_error(capsys, "not writable")
    finally:
        locked.chmod(0o700)


def test_export_bad_out_paths(base: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert main(["export-chainnet", str(base), "--out", str(a_file)]) == 2
    _one_line_error(capsys, "is a file, not a directory")
    assert main(["export-chainnet", str(base), "--out", str(a_file / "raw")]) == 2
    _one_line_error(capsys, "is a file, not a directory")
    assert a_file.read_text() == "x"


def test_io_errors_print_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    def full_disk(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise OSError(28, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(dataset_mod, "generate", full_disk)
    assert main(["generate", "--config", "chainnet_like", "--num_samples", "2",
                 "--out", str(tmp_path / "x")]) == 2
    _one_line_error(capsys, "No space left on device")


def test_bad_out_from_the_command_line(tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    out = subprocess.run(
        [sys.executable, "-m", "datagen", "generate", "--config", "chainnet_like",
         "--num_samples", "2", "--out", str(a_file)],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "is a file, not a directory" in out.stderr
