"""Tests of dataset generation (sharding, determinism, resume, executors) and loading."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import datagen
from datagen.dataset import (
    CHECKSUM_FILE,
    MANIFEST_NAME,
    SCENARIO_COLUMNS,
    SHARD_FILES,
    DatasetError,
    generate,
    label_scenario,
    load_dataset,
    shard_seed_sequence,
)
from datagen.sampling import SimulationConfig
from datagen.world import Device, Fragment, Placement, Scenario, Service

SMALL = {"num_requests": 300, "progress": False}


def read_shards(root: Path) -> dict[str, dict[str, pd.DataFrame]]:
    return {
        d.name: {f: pd.read_parquet(d / f) for f in SHARD_FILES}
        for d in sorted(root.glob("shard-*"))
    }


def assert_same_shards(a: Path, b: Path) -> None:
    sa, sb = read_shards(a), read_shards(b)
    assert sa.keys() == sb.keys()
    for name in sa:
        for f in SHARD_FILES:
            pd.testing.assert_frame_equal(sa[name][f], sb[name][f])


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ds") / "serial"
    generate("chainnet_like", root, 10, seed=3, workers=1, shard_size=4, **SMALL)
    return root


def test_layout_and_manifest(small_dataset: Path) -> None:
    m = json.loads((small_dataset / MANIFEST_NAME).read_text())
    assert m["package_version"] == datagen.__version__
    assert m["seed"] == 3 and m["num_samples"] == 10 and m["num_shards"] == 3
    assert m["config"]["regime"] == "chainnet_like"
    assert m["config"]["simulation"]["num_requests"] == 300
    assert m["complete"] and m["counts"]["samples_done"] == 10
    assert [s["stop"] - s["start"] for s in m["shards"]] == [4, 4, 2]
    for s in m["shards"]:
        ss = shard_seed_sequence(3, s["index"])
        assert s["entropy"] == str(ss.entropy) and s["spawn_key"] == [s["index"]]
        assert ss.spawn_key == np.random.SeedSequence(3).spawn(3)[s["index"]].spawn_key
        files = sorted(p.name for p in (small_dataset / s["name"]).iterdir())
        assert files == sorted((*SHARD_FILES, CHECKSUM_FILE))
    assert not list(small_dataset.glob(".tmp-*"))


def test_load_dataset(small_dataset: Path) -> None:
    ds = load_dataset(small_dataset)
    assert len(ds) == 10 and ds.scenario_ids == list(range(10))
    assert list(ds.scenarios.columns) == list(SCENARIO_COLUMNS)
    assert len(ds.services) == ds.manifest["counts"]["service_rows"]
    assert {"scenario", "device", "utilization", "drop_rate"} <= set(ds.devices.columns)
    assert ds.config.regime == "chainnet_like"
    samples = ds.samples
    assert len(samples) == 10
    for (sc, labels), (sc2, labels2) in zip(samples, ds):
        assert isinstance(sc, Scenario) and sc == sc2
        assert list(labels.index) == [s.name for s in sc.services]
        assert {"throughput", "tput_ratio", "respt_ratio", "latency_mean"} <= set(labels.columns)
        pd.testing.assert_frame_equal(labels, labels2)
    sc3, lab3 = ds[3]
    assert sc3 == samples[3][0]


def test_new_shards_are_keyed_by_scenario(small_dataset: Path) -> None:
    for tables in read_shards(small_dataset).values():
        for df in tables.values():
            assert df.columns[0] == "scenario" and "sample_id" not in df.columns


def test_sample_ids_is_a_deprecated_alias_of_scenario_ids(small_dataset: Path) -> None:
    ds = load_dataset(small_dataset)
    with pytest.warns(DeprecationWarning, match=r"Dataset\.sample_ids is deprecated; use "
                                                r"Dataset\.scenario_ids") as record:
        assert ds.sample_ids == ds.scenario_ids == list(range(10))
    assert record[0].filename == __file__  # attributed to the caller


def as_legacy(root: Path) -> None:
    """Rewrite a dataset as datagen wrote it before format version 3: ``sample_id`` columns."""
    m = json.loads((root / MANIFEST_NAME).read_text())
    m["format_version"] = 2
    for s in m["shards"]:
        folder = root / s["name"]
        for f in SHARD_FILES:
            df = pd.read_parquet(folder / f)
            df.rename(columns={"scenario": "sample_id"}).to_parquet(folder / f, index=False)
            s["sha256"][f] = hashlib.sha256((folder / f).read_bytes()).hexdigest()
        (folder / CHECKSUM_FILE).write_text("".join(f"{h}  {f}\n" for f, h in s["sha256"].items()))
    (root / MANIFEST_NAME).write_text(json.dumps(m))


def test_old_shards_keyed_by_sample_id_load_with_a_scenario_column(
    small_dataset: Path, tmp_path: Path
) -> None:
    root = tmp_path / "old"
    shutil.copytree(small_dataset, root)
    as_legacy(root)
    assert pd.read_parquet(root / "shard-00000" / "devices.parquet").columns[0] == "sample_id"
    files = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    old, new = load_dataset(root), load_dataset(small_dataset)  # old checksums verify
    for table in ("scenarios", "services", "devices", "links"):
        pd.testing.assert_frame_equal(getattr(old, table), getattr(new, table))
    assert old.scenario_ids == new.scenario_ids and old[3][0] == new[3][0]
    for (sc, labels), (sc2, labels2) in zip(old, new):
        assert sc == sc2
        pd.testing.assert_frame_equal(labels, labels2)
    assert files == {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}  # not rewritten
    # Resuming keeps the old shards and writes new ones: a dataset of both formats loads.
    shutil.rmtree(root / "shard-00002")
    generate("chainnet_like", root, 10, seed=3, workers=1, shard_size=4, **SMALL)
    assert (root / "shard-00000" / "services.parquet").read_bytes() == files[
        root / "shard-00000" / "services.parquet"]
    assert pd.read_parquet(root / "shard-00002" / "services.parquet").columns[0] == "scenario"
    pd.testing.assert_frame_equal(load_dataset(root).services, new.services)


def test_same_shards_for_any_worker_count(small_dataset: Path, tmp_path: Path) -> None:
    generate("chainnet_like", tmp_path / "w2", 10, seed=3, workers=2, shard_size=4, **SMALL)
    assert_same_shards(small_dataset, tmp_path / "w2")
    generate("chainnet_like", tmp_path / "s4", 10, seed=4, workers=1, shard_size=4, **SMALL)
    a = pd.read_parquet(tmp_path / "s4" / "shard-00000" / "scenarios.parquet")
    b = pd.read_parquet(small_dataset / "shard-00000" / "scenarios.parquet")
    assert not a["scenario_json"].equals(b["scenario_json"])


def test_resume_redoes_only_missing_shards(small_dataset: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "r"
    shutil.copytree(small_dataset, root)
    shutil.rmtree(root / "shard-00001")
    (root / ".tmp-shard-00001-123-abcd").mkdir()  # left over by a killed run
    before = (root / "shard-00000" / "services.parquet").stat().st_mtime_ns
    generate("chainnet_like", root, 10, seed=3, workers=1, shard_size=4, **SMALL)
    assert (root / "shard-00000" / "services.parquet").stat().st_mtime_ns == before
    assert not list(root.glob(".tmp-*"))
    assert_same_shards(small_dataset, root)


def test_resume_with_other_settings_is_refused(small_dataset: Path) -> None:
    with pytest.raises(ValueError, match="already holds a dataset with seed=3, not 5"):
        generate("chainnet_like", small_dataset, 10, seed=5, shard_size=4, **SMALL)


def test_resume_after_sigkill(tmp_path: Path, small_dataset: Path) -> None:
    root = tmp_path / "k"
    cmd = [sys.executable, "-m", "datagen", "generate", "--config", "chainnet_like",
           "--out", str(root), "--num_samples", "10", "--seed", "3", "--shard_size", "4",
           "--num_requests", "20000", "--no_progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(root.glob(".tmp-shard-*")):
            time.sleep(0.01)
        time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    # Whatever was written, no shard folder is half-written.
    for d in root.glob("shard-*"):
        assert sorted(p.name for p in d.iterdir()) == sorted((*SHARD_FILES, CHECKSUM_FILE))
    generate("chainnet_like", root, 10, seed=3, workers=1, shard_size=4, progress=False,
             num_requests=20000)
    assert len(load_dataset(root)) == 10


def test_missing_and_corrupt_shards_are_named(small_dataset: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "c"
    shutil.copytree(small_dataset, root)
    shutil.rmtree(root / "shard-00002")
    (root / "shard-00001" / "services.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(DatasetError, match=r"missing shards \['shard-00002'\].*corrupt shards "
                                           r"shard-00001"):
        load_dataset(root)
    ds = load_dataset(root, strict=False)
    assert ds.missing_shards == ["shard-00002"] and list(ds.corrupt_shards) == ["shard-00001"]
    assert ds.scenario_ids == [0, 1, 2, 3]
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        load_dataset(tmp_path / "nothing")
    # Resume notices the damaged shard and redoes it.
    generate("chainnet_like", root, 10, seed=3, workers=1, shard_size=4, **SMALL)
    assert_same_shards(small_dataset, root)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1"):
        generate("chainnet_like", "/tmp/never", 0)
    with pytest.raises(ValueError, match="executor must be 'process' or 'dask'"):
        generate("chainnet_like", "/tmp/never", 1, executor="ray")
    with pytest.raises(ValueError, match="address='h:1' is the HOST:PORT of a Dask scheduler"):
        generate("chainnet_like", "/tmp/never", 1, address="h:1")


def test_dask_executor_matches_process_pool(small_dataset: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        generate("chainnet_like", tmp_path / "d", 10, seed=3, shard_size=4, executor="dask",
                 address=cluster.scheduler_address, **SMALL)
    assert_same_shards(small_dataset, tmp_path / "d")


def test_dask_executor_without_address_starts_and_closes_a_local_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("dask.distributed")
    from distributed.core import Status

    made: list[tuple[dict[str, object], object]] = []

    class SpyCluster(distributed.LocalCluster):  # type: ignore[misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            made.append((kwargs, self))

    monkeypatch.setattr(distributed, "LocalCluster", SpyCluster)
    generate("chainnet_like", tmp_path / "serial", 4, seed=3, shard_size=2, **SMALL)
    generate("chainnet_like", tmp_path / "dask", 4, seed=3, shard_size=2, executor="dask",
             workers=2, **SMALL)
    assert_same_shards(tmp_path / "serial", tmp_path / "dask")
    (kwargs, cluster), = made
    assert kwargs["n_workers"] == 2 and kwargs["threads_per_worker"] == 1
    assert kwargs["processes"] is True
    assert cluster.status == Status.closed  # type: ignore[attr-defined]
    # Resuming a finished dataset starts no cluster at all.
    generate("chainnet_like", tmp_path / "dask", 4, seed=3, shard_size=2, executor="dask",
             workers=2, **SMALL)
    assert len(made) == 1


def test_sequential_stopping_reaches_target() -> None:
    dev = Device("d1", speed=1.0, capacity=30)
    svc = Service("s1", (Fragment("f1", 0.9),), arrival_rate=1.0)
    sc = Scenario((dev,), (svc,), Placement({"s1": ("d1",)}))
    fixed = SimulationConfig(num_requests=500)
    _, _, _, info = label_scenario(sc, fixed, seed=1)
    assert info["rounds"] == 1 and info["num_requests"] == 500
    sim = SimulationConfig(num_requests=500, target_rel_se_respt=0.01, target_abs_se_tput=0.005,
                           max_num_requests=400_000, max_rounds=4)
    _, _, _, info2 = label_scenario(sc, sim, seed=1)
    assert info2["rounds"] > 1 and info2["num_requests"] > 500
    assert info2["se_rel_respt"] < info["se_rel_respt"]


@pytest.mark.parametrize(("lam", "s", "k"), [(0.5, 1.0, 3), (0.9, 1.0, 5), (1.4, 1.0, 4)])
def test_single_service_single_device_is_md1k(lam: float, s: float, k: int) -> None:
    from chainnet.queueing import mg1k_exact

    dev = Device("d1", speed=1.0, capacity=k)
    svc = Service("s1", (Fragment("f1", s),), arrival_rate=lam)
    sc = Scenario((dev,), (svc,), Placement({"s1": ("d1",)}))
    services, devices, _, _ = label_scenario(sc, SimulationConfig(num_requests=40_000), seed=7)
    row = services.loc["s1"]
    exact = mg1k_exact(lam, k, mean=s, scv=0.0)
    assert row["loss_ratio"] == pytest.approx(exact.loss, abs=3 * row["loss_ratio_ci"] + 1e-3)
    assert row["latency_mean"] == pytest.approx(exact.response_time,
                                                abs=3 * row["latency_mean_ci"] + 1e-3)
    assert row["respt_ratio"] == pytest.approx(s / exact.response_time, rel=0.02)
    assert devices.loc["d1", "utilization"] == pytest.approx(exact.utilization, rel=0.02)


def test_unlabellable_scenarios_are_redrawn_deterministically(tmp_path, monkeypatch):
    import datagen.sim.runner as runner
    from datagen.dataset import UnlabelledScenarioError, label_scenario
    from datagen.sampling import SimulationConfig
    from datagen.sim import NoCompletionError

    real = runner._services  # every run's metrics go through it (restarted or continued)
    calls = {"n": 0}

    def flaky(compiled, *args):
        calls["n"] += 1
        if compiled.num_services == 1:  # pretend single-service scenarios lose everything
            raise NoCompletionError("the run completed no request of service(s) ['s1']")
        return real(compiled, *args)

    monkeypatch.setattr(runner, "_services", flaky)
    cfg = SimulationConfig(num_requests=200, max_num_requests=400, max_rounds=2)
    from datagen.sampling import load_sampler_config, sample_scenario

    rng = np.random.default_rng(0)
    while True:
        sc = sample_scenario(load_sampler_config("chainnet_like"), rng)
        if len(sc.services) == 1:
            break
    with pytest.raises(UnlabelledScenarioError, match="no request"):
        label_scenario(sc, cfg, 1)
    assert calls["n"] == 2  # 200 requests, then 4x longer (capped at 400), then given up
    from dataclasses import replace

    config = replace(load_sampler_config("chainnet_like"), simulation=cfg)
    generate(config, tmp_path / "a", 6, seed=2, shard_size=3, progress=False)
    generate(config, tmp_path / "b", 6, seed=2, shard_size=3, progress=False, workers=2)
    a, b = load_dataset(tmp_path / "a"), load_dataset(tmp_path / "b")
    assert all(len(sc.services) > 1 for sc, _ in a)
    assert a.scenarios["scenario_json"].tolist() == b.scenarios["scenario_json"].tolist()


def test_undefined_standard_error_reruns_at_the_cap(monkeypatch):
    import datagen.dataset as ds
    from datagen.sampling import SimulationConfig, load_sampler_config, sample_scenario
    from datagen.sim.runner import SequentialStopping

    estimates = iter([float("inf"), 0.0])
    monkeypatch.setattr(SequentialStopping, "shortfall", lambda self, services: next(estimates))
    sc = sample_scenario(load_sampler_config("chainnet_like"), np.random.default_rng(4))
    cfg = SimulationConfig(num_requests=100, max_num_requests=400, target_abs_se_tput=0.01)
    *_, info = ds.label_scenario(sc, cfg, 3)
    assert info["num_requests"] == 400 and info["rounds"] == 2


def test_label_scenarios_writes_a_loadable_dataset(tmp_path):
    from datagen.dataset import label_scenarios
    from datagen.sampling import SimulationConfig, load_sampler_config, sample_scenario

    cfg = load_sampler_config("placer")
    rng = np.random.default_rng(4)
    scenarios = [sample_scenario(cfg, rng) for _ in range(4)]
    sim = SimulationConfig(num_requests=1_000)
    manifest = label_scenarios(scenarios, tmp_path / "al", simulation=sim, seed=3, config=cfg,
                               source="test")
    ds = load_dataset(tmp_path / "al")
    assert len(ds) == manifest["num_samples"] == 4 - manifest["skipped"]
    assert ds.config.regime == "placer"
    kept = [ds.scenario(i) for i in ds.scenario_ids]
    assert all(sc in scenarios for sc in kept)
    assert set(ds.services["scenario"]) == set(ds.scenario_ids)
    # Two worker processes label the same scenarios with the same seeds, in the same order.
    again = label_scenarios(scenarios, tmp_path / "again", simulation=sim, seed=3, config=cfg,
                            workers=2, progress=False)
    pd.testing.assert_frame_equal(load_dataset(tmp_path / "again").services, ds.services)
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        label_scenarios(scenarios, tmp_path / "none", simulation=sim, workers=0)
    with pytest.raises(ValueError, match="already holds a dataset"):
        label_scenarios(scenarios, tmp_path / "al", simulation=sim)
    with pytest.raises(ValueError, match=r"scenarios\[0\] must be a Scenario"):
        label_scenarios(["x"], tmp_path / "bad", simulation=sim)
    assert again["num_samples"] == manifest["num_samples"]
