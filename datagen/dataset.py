"""Labelled datasets: sharded, resumable, deterministic generation and loading.

A dataset directory holds ``manifest.json`` and one folder per shard::

    DIR/manifest.json
    DIR/shard-00000/scenarios.parquet   sample_id, scenario_json, sim_seed, num_requests,
                                        rounds, se_rel_respt, se_abs_tput
    DIR/shard-00000/services.parquet    sample_id, service, <SimResult.services columns>
    DIR/shard-00000/devices.parquet     sample_id, device, <SimResult.devices columns>
    DIR/shard-00000/links.parquet       sample_id, link, <SimResult.links columns> (may be empty)
    DIR/shard-00000/SHA256SUMS          SHA-256 of the four files (``sha256sum -c`` format)

Shard ``i`` covers samples ``[i*M, min((i+1)*M, N))``. Its random stream is
``SeedSequence(seed).spawn(num_shards)[i]`` (``spawn_key = (i,)``) and sample ``k`` of the shard
uses that sequence's ``k``-th child (``spawn_key = (i, k)``): the scenario is drawn from a
``Generator`` on it and the simulator seed is the next draw. A shard therefore has the same
contents whatever the number of workers or the executor. The shard size ``M`` is part of the
dataset's identity: when it is not given, :func:`generate` picks
``min(1000, ceil(N / workers))`` so that every worker has a shard, which makes small datasets
(``N < 1000 * workers``) depend on ``workers``; pass ``shard_size`` to make them independent.

Integrity
---------
A shard is written to a temporary folder and renamed into place (:func:`os.replace`), so a
run killed with ``SIGKILL`` never leaves a half-written shard; rerunning the same command
skips the finished shards. The manifest is rewritten as each shard lands and records the
SHA-256 of each shard file, which the shard's ``SHA256SUMS`` repeats (so a shard that landed
just before a kill, and is not yet in the manifest, can still be verified). Resuming redoes a
shard whose files do not match their checksums; :func:`load_dataset` refuses it with a
:class:`DatasetError` naming the shard and the file. Shards written by datagen before
checksums existed (format version 1) have none: they still load, unverified, with one warning.
A directory whose manifest was made with other settings (or lost while shards remain) is never
mixed with a new run: :func:`generate` refuses unless ``overwrite=True``. Pool workers die with
the driver process (``PR_SET_PDEATHSIG`` on Linux, plus a parent-pid watch everywhere), so a
killed run leaves no process writing shards.

Label precision
---------------
The labels are estimates from simulation. For ``chainnet_like`` the targets are a relative
standard error (SE) of ``respt_ratio`` <= 1% and an absolute SE of ``tput_ratio`` <= 0.005,
at a cost of <= 30 minutes for 50,000 samples on two cores (>= 28 samples/s).

*How it is measured.* ``benchmarks/bench_datagen.py --precision`` draws scenarios from the
sampler and labels each one ``R`` times with independent seeds; the SE of a label is the
standard deviation over the ``R`` replications, per service. We report its mean, 90th and
99th percentiles over services and the fraction of services meeting each target.

*Why sequential stopping.* With one fixed run length the SE is very uneven: most services
are precise after a few thousand requests while the heavily loaded ones with a large ``K``
(long busy periods) need tens of thousands. Replications of 80 scenarios (182 services,
6 replications), fixed ``num_requests`` (requests of the slowest service):

=============  ================================  ==================================
num_requests   rel. SE respt_ratio mean/p90/p99  abs. SE tput_ratio mean/p90/p99
=============  ================================  ==================================
2,000          0.98% / 2.2% / 5.6%               0.0024 / 0.0083 / 0.013
5,000          0.63% / 1.4% / 3.0%               0.0016 / 0.0057 / 0.0090
10,000         0.46% / 0.90% / 3.1%              0.0011 / 0.0039 / 0.0074
20,000         0.32% / 0.68% / 1.7%              0.00088 / 0.0030 / 0.0053
=============  ================================  ==================================

The simulator's batch-means half-widths estimate these SEs well on average (mean estimate
0.35% vs 0.32% measured at 20,000; 0.00092 vs 0.00088), so
:func:`label_scenario` uses them to stop sequentially, by the policy shared with
``simulate(target_rel_ci=...)`` (:class:`datagen.sim.runner.SequentialStopping`, see
:class:`~datagen.sampling.SimulationConfig`): a pilot run of 2,000 requests, kept when its
estimates meet 0.8% / 0.004 (20% under the targets, because a 20-batch estimate is itself
noisy); otherwise a run with the same seed sized from the pilot with margin 1.35 (and, when
that one still misses, one more with margin 1.2), capped at 100,000 requests. Measured
(``--precision --scenarios 60 --replications 5 --compare-legacy``, 137 services): relative
SE of ``respt_ratio`` mean 0.35%, p90 0.74%, p99 1.07%, 97.1% of services <= 1%; absolute SE
of ``tput_ratio`` mean 0.0008, p90 0.0029, p99 0.0049, 99.3% of services <= 0.005; 93.3% of
samples meet both targets on every service (the earlier policy, which reran from the start
with a fresh seed and margin 1.2: 97.8%, 99.3% and 93.3%). Mean final run length 22,000
requests, 2.0 runs per label; 1.1-1.24x the labels per CPU second of the earlier policy.

*Cost.* ``benchmarks/bench_datagen.py --num-samples 1000 --workers 2``: 62 CPU seconds for
1,000 samples (sampling, simulation, Parquet, worker start-up), i.e. 32 samples/s on two free
cores and 50,000 samples in about 26 minutes. (Measured on a shared machine with load
average 7-11: the wall-clock rate there was 3-6 samples/s; CPU time is the fair measure.)
Every sample records ``num_requests``, ``rounds`` and the estimated SEs in
``scenarios.parquet``, so a user can filter or weight imprecise labels.

A sampled scenario in which some service completes no request even in the longest run (a
total loss, which has no latency label) is redrawn from the same random stream, at most
:data:`MAX_REDRAWS` times, so shards stay deterministic.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datagen.sampling import (
    EdgeConfig,
    SamplerConfig,
    SimulationConfig,
    config_from_dict,
    config_to_dict,
    load_sampler_config,
    sample_scenario,
)
from datagen.world import Scenario

__all__ = [
    "DatasetError",
    "Dataset",
    "generate",
    "label_scenarios",
    "generate_shard",
    "load_dataset",
    "label_scenario",
    "estimated_se",
    "SCENARIO_COLUMNS",
    "shard_name",
    "shard_seed_sequence",
    "MANIFEST_NAME",
    "SHARD_FILES",
    "CHECKSUM_FILE",
    "DEFAULT_SHARD_SIZE",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
SHARD_FILES: tuple[str, ...] = (
    "scenarios.parquet",
    "services.parquet",
    "devices.parquet",
    "links.parquet",
)
SCENARIO_COLUMNS: tuple[str, ...] = (
    "sample_id",
    "scenario_json",
    "sim_seed",
    "num_requests",
    "rounds",
    "se_rel_respt",
    "se_abs_tput",
)
#: Per-shard file of SHA-256 checksums, in the format of ``sha256sum``.
CHECKSUM_FILE = "SHA256SUMS"
#: Largest shard size :func:`generate` picks by itself.
DEFAULT_SHARD_SIZE = 1000
_FORMAT = "edgechain-dataset"
# 1: no checksums; 2: shards carry SHA-256 checksums (manifest and SHA256SUMS).
_FORMAT_VERSION = 2
_TMP_PREFIX = ".tmp-"
_SHARD_RE = re.compile(r"shard-\d+")
# Dataset roots already warned about for unverified (pre-checksum) shards, once per process.
_WARNED_UNVERIFIED: set[str] = set()


#: Redraws of a sample whose scenario cannot be labelled (a service completes nothing).
MAX_REDRAWS = 20
# 97.5% standard normal quantile: a 95% half-width is 1.96 standard errors.
_Z95 = 1.96


class UnlabelledScenarioError(ValueError):
    """A scenario in which some service completes no request, even in the longest run."""


class DatasetError(ValueError):
    """A dataset directory is missing, inconsistent or holds corrupt or missing shards."""


def shard_name(index: int) -> str:
    """Folder name of shard ``index``: ``"shard-00000"``."""
    return f"shard-{index:05d}"


def shard_seed_sequence(seed: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of shard ``index``: equal to ``SeedSequence(seed).spawn(n)[index]``."""
    return np.random.SeedSequence(seed, spawn_key=(index,))


# --------------------------------------------------------------------------------------------
# Labelling and shard generation (runs in worker processes)
# --------------------------------------------------------------------------------------------


def estimated_se(services: pd.DataFrame) -> tuple[float, float]:
    """Largest estimated SEs of one run's labels, from its 95% batch-means half-widths.

    Args:
        services: ``SimResult.services`` of one run.

    Returns:
        ``(relative SE of respt_ratio, absolute SE of tput_ratio)``, maxima over services
        (``inf`` where a half-width is undefined).
    """
    rel = (services["latency_mean_ci"] / _Z95 / services["latency_mean"]).to_numpy(float)
    tput = (services["loss_ratio_ci"] / _Z95).to_numpy(float)
    rel = np.where(np.isfinite(rel), rel, np.inf)
    tput = np.where(np.isfinite(tput), tput, np.inf)
    return float(rel.max(initial=0.0)), float(tput.max(initial=0.0))


def label_scenario(
    scenario: Scenario, simulation: SimulationConfig, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Simulate one scenario (sequentially, if a precision target is set).

    With a target, the policy is :class:`datagen.sim.runner.SequentialStopping` (the one of
    ``simulate(target_rel_ci=...)`` too) with the relative SE target of ``respt_ratio`` as a
    95% half-width of ``latency_mean`` (``1.96 * target_rel_se_respt``; the relative SE of
    ``respt_ratio = R0 / latency_mean`` is that of ``latency_mean``) and the absolute SE
    target of ``tput_ratio`` as a half-width of ``loss_ratio`` (``1.96 *
    target_abs_se_tput``). Every run uses ``seed``, so a label is reproduced by one plain
    ``simulate(scenario, num_requests=info["num_requests"], seed=seed)`` call.

    Args:
        scenario: The scenario to label.
        simulation: Number of requests, warm-up fraction, engine and precision targets.
        seed: Simulator seed of every run.

    Returns:
        ``(services, devices, links, info)``: the :class:`~datagen.sim.SimResult` tables of
        the last run, indexed by name, and ``info`` with ``num_requests`` (of the slowest
        service, last run), ``rounds``, ``se_rel_respt`` and ``se_abs_tput`` (the estimates
        of :func:`estimated_se`).

    Raises:
        UnlabelledScenarioError: If some service completes no request even in the last run,
            or the run would exceed the simulator's work limits.
    """
    from datagen.sim.metrics import NoCompletionError
    from datagen.sim.runner import SequentialStopping, SimulationLimitError, simulate_sequential

    t_r = simulation.target_rel_se_respt
    t_t = simulation.target_abs_se_tput
    n = simulation.num_requests
    # Without a target the policy only retries a run in which a service completed nothing.
    stopping = SequentialStopping(
        rel_latency_ci=None if t_r is None else _Z95 * t_r,
        abs_loss_ci=None if t_t is None else _Z95 * t_t,
        max_requests=simulation.max_num_requests,
        max_rounds=simulation.max_rounds,
    )
    try:
        run = simulate_sequential(scenario, stopping, num_requests=n, warmup=simulation.warmup,
                                  seed=seed, engine=simulation.engine)
    except SimulationLimitError as exc:
        # Too much work to label (see datagen.sim.MAX_EVENTS): skip it like an empty one.
        raise UnlabelledScenarioError(f"the simulation would be too large: {exc}") from exc
    except NoCompletionError as exc:
        raise UnlabelledScenarioError(
            f"no request of some service completed, even in the last run allowed: {exc}"
        ) from exc
    res = run.result
    se_r, se_t = estimated_se(res.services)
    info = {"num_requests": int(round(run.num_requests)), "rounds": run.rounds,
            "se_rel_respt": se_r, "se_abs_tput": se_t}
    links = res.links if res.links is not None else pd.DataFrame()
    return res.services, res.devices, links, info


def _stack(tables: list[tuple[int, pd.DataFrame]], key: str) -> pd.DataFrame:
    """Concatenate per-sample tables into one long table keyed by ``sample_id`` and ``key``."""
    kept = [(sid, df) for sid, df in tables if df is not None and len(df)]
    if not kept:
        return pd.DataFrame(
            {"sample_id": pd.Series([], dtype="int64"), key: pd.Series([], dtype=str)}
        )
    out = pd.concat([df for _, df in kept], ignore_index=True)
    names = np.concatenate([df.index.astype(str).to_numpy(dtype=object) for _, df in kept])
    ids = np.repeat(np.array([sid for sid, _ in kept], dtype=np.int64), [len(df) for _, df in kept])
    out.insert(0, key, names)
    out.insert(0, "sample_id", ids)
    return out


def generate_shard(
    out_dir: str,
    config: dict[str, Any],
    seed: int,
    index: int,
    start: int,
    stop: int,
) -> dict[str, Any]:
    """Draw, simulate and write one shard atomically.

    Args:
        out_dir: The dataset directory (must be visible to the worker).
        config: The sampler config as a dict (:func:`~datagen.sampling.config_to_dict`).
        seed: The dataset seed.
        index: Shard index.
        start: First global sample id of the shard.
        stop: One past the last global sample id.

    Returns:
        A summary: ``index``, ``num_samples``, row counts, ``sha256`` (``{file: hex digest}``)
        and ``seconds``.
    """
    t0 = time.perf_counter()
    cfg = config_from_dict(config, source="manifest")
    shard_ss = shard_seed_sequence(seed, index)
    children = shard_ss.spawn(stop - start)
    scen_rows: list[dict[str, Any]] = []
    svc_tabs: list[tuple[int, pd.DataFrame]] = []
    dev_tabs: list[tuple[int, pd.DataFrame]] = []
    link_tabs: list[tuple[int, pd.DataFrame]] = []
    for k, child in enumerate(children):
        sample_id = start + k
        rng = np.random.default_rng(child)
        for attempt in range(MAX_REDRAWS + 1):
            # A scenario in which some service completes nothing (total loss) has no latency
            # label: redraw it from the same stream, which keeps shards deterministic.
            scenario = sample_scenario(cfg, rng)
            sim_seed = int(rng.integers(0, 2**62))
            try:
                services, devices, links, info = label_scenario(
                    scenario, cfg.simulation, sim_seed
                )
                break
            except UnlabelledScenarioError:
                if attempt == MAX_REDRAWS:
                    raise
        scen_rows.append(
            {"sample_id": sample_id, "scenario_json": scenario.to_json(), "sim_seed": sim_seed,
             **info}
        )
        svc_tabs.append((sample_id, services))
        dev_tabs.append((sample_id, devices))
        link_tabs.append((sample_id, links))
    tables = _shard_tables(scen_rows, svc_tabs, dev_tabs, link_tabs)
    sums = _write_shard(Path(out_dir), index, tables)
    return {
        "index": index,
        "num_samples": stop - start,
        "service_rows": len(tables["services.parquet"]),
        "device_rows": len(tables["devices.parquet"]),
        "link_rows": len(tables["links.parquet"]),
        "sha256": sums,
        "seconds": time.perf_counter() - t0,
    }


def _shard_tables(
    scen_rows: list[dict[str, Any]],
    svc_tabs: list[tuple[int, pd.DataFrame]],
    dev_tabs: list[tuple[int, pd.DataFrame]],
    link_tabs: list[tuple[int, pd.DataFrame]],
) -> dict[str, pd.DataFrame]:
    return {
        "scenarios.parquet": pd.DataFrame(scen_rows, columns=list(SCENARIO_COLUMNS)),
        "services.parquet": _stack(svc_tabs, "service"),
        "devices.parquet": _stack(dev_tabs, "device"),
        "links.parquet": _stack(link_tabs, "link"),
    }


def _write_shard(root: Path, index: int, tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Write the tables of one shard atomically (a temporary folder renamed into place).

    Returns:
        ``{file name: SHA-256 hex digest}`` of the written files, also written to the shard's
        :data:`CHECKSUM_FILE`.
    """
    final = root / shard_name(index)
    tmp = root / f"{_TMP_PREFIX}{shard_name(index)}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        sums: dict[str, str] = {}
        for fname, df in tables.items():
            df.to_parquet(tmp / fname, index=False)
            sums[fname] = _sha256_file(tmp / fname)
        (tmp / CHECKSUM_FILE).write_text("".join(f"{h}  {f}\n" for f, h in sums.items()))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sums


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_checksum_file(shard_dir: Path) -> dict[str, str] | None:
    """The shard's :data:`CHECKSUM_FILE` as ``{file: digest}``; ``None`` if it has none.

    Raises:
        ValueError: If the file exists but is malformed or does not cover :data:`SHARD_FILES`.
    """
    path = shard_dir / CHECKSUM_FILE
    if not path.is_file():
        return None
    sums: dict[str, str] = {}
    for line in path.read_text(errors="replace").splitlines():
        digest, sep, fname = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"{CHECKSUM_FILE} has a malformed line {line[:80]!r}")
        sums[fname] = digest
    if sorted(sums) != sorted(SHARD_FILES):
        raise ValueError(f"{CHECKSUM_FILE} lists {sorted(sums)}, not {sorted(SHARD_FILES)}")
    return sums


def _expected_checksums(shard_dir: Path, recorded: Any) -> dict[str, str] | None:
    """Checksums a shard must match: the manifest's, else its own file; ``None`` if neither.

    Raises:
        ValueError: If the manifest's record is malformed or the shard's file is.
    """
    if recorded is None:
        return _read_checksum_file(shard_dir)
    if not isinstance(recorded, dict) or sorted(recorded) != sorted(SHARD_FILES):
        raise ValueError(f"the manifest's sha256 record {recorded!r} is malformed")
    return {str(k): str(v) for k, v in recorded.items()}


def _checksum_mismatch(fname: str, expected: str, found: str) -> str:
    return (
        f"{fname} does not match its SHA-256 checksum (recorded {expected[:16]}..., "
        f"found {found[:16]}...): the file is corrupt"
    )


def label_scenarios(
    scenarios: Sequence[Scenario],
    out: str | Path,
    *,
    simulation: SimulationConfig,
    seed: int = 0,
    config: SamplerConfig | None = None,
    source: str = "label_scenarios",
    progress: bool = True,
) -> dict[str, Any]:
    """Label given scenarios by simulation and write them as a dataset (one shard).

    The scenarios come from elsewhere than a sampler (e.g. the candidates a placer ranks
    best, for active learning); the result loads with :func:`load_dataset` like any
    generated dataset. A scenario in which some service completes no request has no latency
    label and is left out (``manifest["skipped"]`` counts them).

    Args:
        scenarios: The scenarios.
        out: The dataset directory; must not hold a dataset yet.
        simulation: Labelling settings (requests, warm-up, engine, precision targets).
        seed: Seed of the simulations; scenario ``i`` uses ``SeedSequence([seed, i])``
            (default: ``0``).
        config: The sampler config the scenarios' requests came from, recorded in the
            manifest (default: ``None`` = the default :class:`~datagen.sampling.EdgeConfig`).
        source: What made the scenarios, recorded in the manifest (default:
            ``"label_scenarios"``).
        progress: Show a tqdm progress bar (default: ``True``).

    Returns:
        The manifest (also written to ``out/manifest.json``).

    Raises:
        ValueError: If ``out`` already holds a dataset, ``seed < 0`` or a scenario is not a
            :class:`~datagen.world.Scenario`.
    """
    import datagen

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    root = Path(out)
    if (root / MANIFEST_NAME).exists():
        raise ValueError(f"{root} already holds a dataset; choose another out folder")
    scen_rows: list[dict[str, Any]] = []
    svc_tabs: list[tuple[int, pd.DataFrame]] = []
    dev_tabs: list[tuple[int, pd.DataFrame]] = []
    link_tabs: list[tuple[int, pd.DataFrame]] = []
    skipped = 0
    from tqdm.auto import tqdm

    for i, scenario in enumerate(tqdm(scenarios, desc="label", unit="scenario",
                                      disable=not progress)):
        if not isinstance(scenario, Scenario):
            raise ValueError(f"scenarios[{i}] must be a Scenario, got {type(scenario).__name__}")
        sim_seed = int(np.random.SeedSequence([seed, i]).generate_state(2, np.uint64)[0] >> 2)
        try:
            services, devices, links, info = label_scenario(scenario, simulation, sim_seed)
        except UnlabelledScenarioError:
            skipped += 1
            continue
        sid = len(scen_rows)
        scen_rows.append({"sample_id": sid, "scenario_json": scenario.to_json(),
                          "sim_seed": sim_seed, **info})
        svc_tabs.append((sid, services))
        dev_tabs.append((sid, devices))
        link_tabs.append((sid, links))
    root.mkdir(parents=True, exist_ok=True)
    tables = _shard_tables(scen_rows, svc_tabs, dev_tabs, link_tabs)
    sums = _write_shard(root, 0, tables)
    n = len(scen_rows)
    cfg = config if config is not None else EdgeConfig(simulation=simulation)
    manifest: dict[str, Any] = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "package_version": datagen.__version__,
        "config_source": source,
        "config": config_to_dict(cfg),
        "seed": seed,
        "num_samples": n,
        "shard_size": max(1, n),
        "num_shards": 1,
        "skipped": skipped,
        "counts": {},
        "shards": [{"name": shard_name(0), "index": 0, "start": 0, "stop": n,
                    "status": "done", "service_rows": len(tables["services.parquet"]),
                    "device_rows": len(tables["devices.parquet"]),
                    "link_rows": len(tables["links.parquet"]), "sha256": sums}],
    }
    _update_counts(manifest)
    _write_json_atomic(root / MANIFEST_NAME, manifest)
    return manifest


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f"{_TMP_PREFIX}{path.name}-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False))
    os.replace(tmp, path)


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(
            f"{str(root)!r} is not a dataset: {MANIFEST_NAME} is missing; create one with "
            f"`python -m datagen generate --out {root} ...`"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path} is corrupt: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise DatasetError(f"{path} is not an {_FORMAT} manifest (format key missing or wrong)")
    return data


def _shard_ok(
    shard_dir: Path, expected_rows: int, recorded: Any = None
) -> tuple[str | None, dict[str, str] | None]:
    """Check a shard folder before resuming.

    Args:
        shard_dir: The shard folder.
        expected_rows: Samples the shard must hold.
        recorded: The manifest's ``sha256`` record of the shard, if any.

    Returns:
        ``(reason, checksums)``: ``reason`` is ``None`` if the shard is complete and matches
        its checksums (the manifest's, else its :data:`CHECKSUM_FILE`), else why it is not
        (``"missing"`` if there is no folder); ``checksums`` are the verified digests, or
        ``None`` for a shard written before checksums existed.
    """
    import pyarrow.parquet as pq

    if not shard_dir.is_dir():
        return "missing", None
    try:
        expected = _expected_checksums(shard_dir, recorded)
    except ValueError as exc:
        return str(exc), None
    for fname in SHARD_FILES:
        f = shard_dir / fname
        if not f.is_file():
            return f"{fname} is missing", None
        if expected is not None:
            found = _sha256_file(f)
            if found != expected[fname]:
                return _checksum_mismatch(fname, expected[fname], found), None
        try:
            meta = pq.read_metadata(f)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            return f"{fname} is unreadable ({type(exc).__name__}: {exc})", None
        if fname == "scenarios.parquet" and meta.num_rows != expected_rows:
            return f"{fname} has {meta.num_rows} rows, expected {expected_rows}", None
    return None, expected


def _prepare_out_dir(root: Path) -> None:
    """Create the output folder, or raise a :class:`ValueError` saying why it cannot be used."""
    if root.exists() and not root.is_dir():
        raise ValueError(
            f"output folder {str(root)!r} is a file, not a directory; choose a folder path "
            f"(it is created if needed)"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"cannot create the output folder {str(root)!r}: {exc.strerror or exc}; choose "
            f"a writable folder path"
        ) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise ValueError(
            f"output folder {str(root)!r} is not writable; choose a writable folder path"
        )


def _clear_dataset(root: Path) -> None:
    """Delete what :func:`generate` writes in ``root`` (manifest, shards, temporaries) only."""
    removed = 0
    for entry in root.iterdir():
        name = entry.name
        is_shard = _SHARD_RE.fullmatch(name) is not None
        if not (is_shard or name == MANIFEST_NAME or name.startswith(_TMP_PREFIX)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:  # a file or a link: remove the entry itself, never what a link points to
            entry.unlink()
        removed += is_shard
    if removed:
        log.info("overwrite: deleted %d shards of the dataset in %s", removed, root)


def _adopted_settings(
    root: Path,
    cfg_dict: dict[str, Any],
    seed: int,
    num_samples: int,
    shard_size: int | None,
) -> tuple[dict[str, Any] | None, int | None]:
    """Check ``root`` against the command before resuming.

    Returns:
        ``(old manifest or None, shard size)``: the shard size is the manifest's when the
        command did not give one.

    Raises:
        ValueError: If ``root`` holds a dataset made with other settings, an unreadable
            manifest, or shard folders without a manifest.
    """
    hint = (
        "pass overwrite=True (--overwrite) to delete it and start again, or choose another "
        "output folder"
    )
    if not (root / MANIFEST_NAME).exists():
        shards = sorted(p.name for p in root.iterdir() if _SHARD_RE.fullmatch(p.name))
        if shards:
            listed = ", ".join(shards[:3]) + (", ..." if len(shards) > 3 else "")
            raise ValueError(
                f"{root} holds {len(shards)} shard folders ({listed}) but no {MANIFEST_NAME}: "
                f"they may come from another seed or config and cannot be resumed safely; "
                f"{hint}"
            )
        return None, shard_size
    try:
        old = _read_manifest(root)
    except DatasetError as exc:
        raise DatasetError(f"{exc}; {hint}") from None
    if shard_size is None:
        old_size = old.get("shard_size")
        if isinstance(old_size, int) and not isinstance(old_size, bool) and old_size >= 1:
            shard_size = old_size
    settings: tuple[tuple[str, Any], ...] = (
        ("config", cfg_dict), ("seed", seed), ("num_samples", num_samples),
        ("shard_size", shard_size),
    )
    for key, value in settings:
        if old.get(key) != value:
            what = (
                _config_difference(old.get(key), cfg_dict) if key == "config"
                else f"{key}={old.get(key)!r}, not {value!r}"
            )
            raise ValueError(
                f"{root} already holds a dataset with {what}; rerun with the original settings "
                f"to resume, or {hint}"
            )
    return old, shard_size


def _config_difference(old: Any, new: dict[str, Any]) -> str:
    """Say briefly how a manifest's config differs from the command's."""
    if not isinstance(old, dict):
        return f"config={old!r}"
    if old.get("regime") != new.get("regime"):
        return f"config regime {old.get('regime')!r}, not {new.get('regime')!r}"
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return f"a {new.get('regime')!r} config that differs in {keys}"


# --------------------------------------------------------------------------------------------
# Generation driver
# --------------------------------------------------------------------------------------------


def generate(
    config: SamplerConfig | str | Path,
    out: str | Path,
    num_samples: int,
    *,
    seed: int = 0,
    workers: int = 1,
    shard_size: int | None = None,
    executor: str = "process",
    address: str | None = None,
    num_requests: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Generate (or finish) a labelled dataset in ``out``.

    Rerunning the same call resumes: finished shards whose checksums match are kept, the
    others are redone. A folder holding a dataset made with other settings (or shard folders
    without a manifest) is refused unless ``overwrite``.

    Args:
        config: A sampler config, a packaged config name or a YAML path.
        out: The dataset directory (created if needed).
        num_samples: Number of scenarios ``N``.
        seed: Dataset seed (default: ``0``).
        workers: Parallel worker processes for ``executor="process"`` (``1`` runs in this
            process), or of the local Dask cluster that ``executor="dask"`` starts without
            an ``address`` (default: ``1``).
        shard_size: Samples per shard ``M``; ``None`` resumes with the manifest's, else picks
            ``min(DEFAULT_SHARD_SIZE, ceil(N / workers))`` so that every worker has a shard
            (default: ``None``).
        executor: ``"process"`` (a local process pool) or ``"dask"`` (default: ``"process"``).
        address: Dask scheduler address ``HOST:PORT`` for ``executor="dask"``: the shards run
            on that running cluster, whose workers must see ``out`` at the same path. Without
            it, ``executor="dask"`` starts a ``dask.distributed.LocalCluster`` of
            ``min(workers, shards to do)`` single-threaded worker processes on this machine
            and closes it at the end (default: ``None``).
        num_requests: Override of ``config.simulation.num_requests`` (default: ``None``).
        progress: Show a tqdm progress bar, advanced as each shard lands (default: ``True``).
        overwrite: Delete a dataset already in ``out`` (its manifest, shard folders and
            temporaries; nothing else) and start again (default: ``False``).

    Returns:
        The final manifest (also written to ``out/manifest.json`` as each shard lands).

    Raises:
        ValueError: On bad arguments (an ``address`` without ``executor="dask"`` too), if
            ``out`` is a file or not writable, or (without
            ``overwrite``) if ``out`` holds a dataset made with other settings, an unreadable
            manifest or shard folders without a manifest.
        RuntimeError: If a shard fails (the message names it; rerun to retry).
    """
    if isinstance(config, (str, Path)):
        config_source = str(config)
        cfg = load_sampler_config(config)
    else:
        config_source, cfg = "<object>", config
    if num_requests is not None:
        from dataclasses import replace

        cfg = replace(cfg, simulation=replace(cfg.simulation, num_requests=num_requests))
    checks: list[tuple[str, Any, int]] = [("num_samples", num_samples, 1), ("workers", workers, 1)]
    if shard_size is not None:
        checks.append(("shard_size", shard_size, 1))
    for name, value, lo in checks:
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if executor not in ("process", "dask"):
        raise ValueError(f"executor must be 'process' or 'dask', got {executor!r}")
    if address is not None and (executor != "dask" or not isinstance(address, str)
                                or not address):
        raise ValueError(
            f"address={address!r} is the HOST:PORT of a Dask scheduler, used only with "
            f"executor='dask' (got executor={executor!r}); drop it, or pass executor='dask' "
            f"and a non-empty address (none starts a local Dask cluster)"
        )

    import datagen

    root = Path(out)
    _prepare_out_dir(root)
    if overwrite:
        _clear_dataset(root)
    cfg_dict = config_to_dict(cfg)
    old, chosen = _adopted_settings(root, cfg_dict, seed, num_samples, shard_size)
    if chosen is None:
        # Every worker gets at least one shard; large datasets keep the default size.
        chosen = min(DEFAULT_SHARD_SIZE, -(-num_samples // workers))
    shard_size = chosen
    num_shards = -(-num_samples // shard_size)
    manifest_path = root / MANIFEST_NAME
    for leftover in root.glob(f"{_TMP_PREFIX}*"):
        # Half-written shards of a killed run: never renamed into place, safe to drop.
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)

    old_by_name = {s["name"]: s for s in (old or {}).get("shards", []) if isinstance(s, dict)}
    shards: list[dict[str, Any]] = []
    for i in range(num_shards):
        start, stop = i * shard_size, min((i + 1) * shard_size, num_samples)
        ss = shard_seed_sequence(seed, i)
        shards.append({
            "name": shard_name(i), "index": i, "start": start, "stop": stop,
            "entropy": str(ss.entropy), "spawn_key": list(ss.spawn_key), "status": "pending",
        })
    todo = []
    for s in shards:
        prev = old_by_name.get(s["name"], {})
        reason, sums = _shard_ok(root / s["name"], s["stop"] - s["start"], prev.get("sha256"))
        if reason is None:
            s["status"] = "done"
            for key in ("service_rows", "device_rows", "link_rows", "seconds"):
                if key in prev:
                    s[key] = prev[key]
            if sums is not None:
                s["sha256"] = sums
        else:
            if reason != "missing":
                log.warning("redoing shard %s: %s", s["name"], reason)
                shutil.rmtree(root / s["name"], ignore_errors=True)
            todo.append(s)
    manifest: dict[str, Any] = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "package_version": datagen.__version__,
        "config_source": config_source,
        "config": cfg_dict,
        "seed": seed,
        "num_samples": num_samples,
        "shard_size": shard_size,
        "num_shards": num_shards,
        "counts": {},
        "shards": shards,
    }
    _update_counts(manifest)
    try:
        _write_json_atomic(manifest_path, manifest)
    except OSError as exc:
        raise ValueError(
            f"cannot write {manifest_path}: {exc.strerror or exc}; choose a writable folder"
        ) from None

    def on_done(result: dict[str, Any]) -> None:
        s = shards[result["index"]]
        s.update(status="done", service_rows=result["service_rows"],
                 device_rows=result["device_rows"], link_rows=result["link_rows"],
                 sha256=result["sha256"], seconds=round(result["seconds"], 3))
        _update_counts(manifest)
        _write_json_atomic(manifest_path, manifest)

    args = [(str(root), cfg_dict, seed, s["index"], s["start"], s["stop"]) for s in todo]
    done = sum(s["stop"] - s["start"] for s in shards if s["status"] == "done")
    from tqdm.auto import tqdm

    bar = tqdm(total=num_samples, initial=done, unit="sample", disable=not progress,
               desc=f"generate {cfg.regime}")
    try:
        if executor == "dask":
            _run_dask(args, address, workers, on_done, bar)
        elif workers == 1 or len(args) <= 1:
            for a in args:
                on_done(generate_shard(*a))
                bar.update(a[5] - a[4])
        else:
            _run_pool(args, workers, on_done, bar)
    finally:
        bar.close()
    return manifest


def _update_counts(manifest: dict[str, Any]) -> None:
    done = [s for s in manifest["shards"] if s["status"] == "done"]
    manifest["counts"] = {
        "shards_done": len(done),
        "samples_done": sum(s["stop"] - s["start"] for s in done),
        "service_rows": sum(s.get("service_rows", 0) for s in done),
        "device_rows": sum(s.get("device_rows", 0) for s in done),
        "link_rows": sum(s.get("link_rows", 0) for s in done),
    }
    manifest["complete"] = len(done) == manifest["num_shards"]


def _run_pool(args: list[tuple[Any, ...]], workers: int, on_done: Any, bar: Any) -> None:
    """Run shards on a local process pool, recording each as it lands."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(
        max_workers=min(workers, len(args)), initializer=_die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = {pool.submit(generate_shard, *a): a for a in args}
        for fut in as_completed(futures):
            a = futures[fut]
            exc = fut.exception()
            if exc is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                for other, b in futures.items():  # shards that landed while shutting down
                    if other.done() and not other.cancelled() and other.exception() is None:
                        on_done(other.result())
                        bar.update(b[5] - b[4])
                raise RuntimeError(
                    f"shard {shard_name(a[3])} failed: {exc!r}; rerun the same command to "
                    f"retry (finished shards are kept)"
                ) from exc
            on_done(fut.result())
            bar.update(a[5] - a[4])


#: ``prctl`` option: the signal a Linux process receives when its parent dies.
_PR_SET_PDEATHSIG = 1
_PARENT_POLL_S = 0.5


def _die_with_parent(parent_pid: int, use_pdeathsig: bool = True) -> None:
    """Pool worker initializer: end this worker when the driver process dies.

    On Linux the kernel sends ``SIGKILL`` when the parent dies (``PR_SET_PDEATHSIG``, set
    through :mod:`ctypes`); everywhere, a daemon thread also checks every 0.5 s that the
    parent process is unchanged and alive, and ends the worker with :func:`os._exit` if not.
    A shard being written is then left as a temporary folder, which the next run deletes.

    Args:
        parent_pid: Process id of the driver (the pool's owner).
        use_pdeathsig: Arm ``PR_SET_PDEATHSIG`` on Linux; ``False`` relies on the watch
            thread alone (default: ``True``).
    """
    import signal

    ppid = os.getppid()
    if use_pdeathsig and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the watch thread below suffices
            pass

    def orphaned() -> bool:
        if os.getppid() != ppid:  # re-parented: the parent died
            return True
        if ppid != parent_pid:  # started through a fork server: watch the driver itself
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                pass
        return False

    if orphaned():  # the parent died before the death signal was armed
        os._exit(1)

    def watch() -> None:
        while not orphaned():
            time.sleep(_PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="datagen-parent-watch", daemon=True).start()


def _run_dask(
    args: list[tuple[Any, ...]], address: str | None, workers: int, on_done: Any, bar: Any
) -> None:
    """Run shards on a Dask cluster: the one at ``address``, else a local one closed at the end.

    Args:
        args: The :func:`generate_shard` arguments of each shard to do.
        address: Scheduler ``HOST:PORT`` of a running cluster, or ``None`` to start a
            ``LocalCluster`` of ``min(workers, len(args))`` single-threaded processes.
        workers: Most worker processes of a local cluster.
        on_done: Called with each shard's summary as it lands.
        bar: The progress bar.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is an optional dependency
        raise ValueError(
            "executor='dask' needs dask.distributed: pip install 'edgechain[cluster]'"
        ) from exc
    if address is not None:
        with Client(address) as client:
            _submit_shards(client, args, on_done, bar)
        return
    if not args:  # nothing left to do: no cluster to start
        return
    n = min(workers, len(args))
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        log.info("started a local Dask cluster of %d worker processes at %s", n,
                 cluster.scheduler_address)
        _submit_shards(client, args, on_done, bar)


def _submit_shards(client: Any, args: list[tuple[Any, ...]], on_done: Any, bar: Any) -> None:
    """Submit every shard to a Dask ``client`` and record each as it lands."""
    from dask.distributed import as_completed

    futures = [
        client.submit(generate_shard, *a, key=f"{shard_name(a[3])}-{uuid.uuid4().hex[:8]}")
        for a in args
    ]
    by_key = {f.key: a for f, a in zip(futures, args)}
    for fut in as_completed(futures):
        a = by_key[fut.key]
        if fut.status != "finished":
            error = fut.exception()
            raise RuntimeError(
                f"shard {shard_name(a[3])} failed on the Dask cluster: {error!r}; rerun the "
                f"same command to retry (finished shards are kept)"
            ) from error
        on_done(fut.result())
        bar.update(a[5] - a[4])


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """A loaded dataset: label tables plus lazily parsed ``(Scenario, labels)`` samples.

    Attributes:
        root: The dataset directory.
        manifest: The parsed ``manifest.json``.
        scenarios: One row per sample: the columns of :data:`SCENARIO_COLUMNS` (scenario JSON,
            simulator seed, requests simulated, runs and estimated SEs of the labels).
        services: One row per (sample, service): ``sample_id``, ``service`` and the labels.
        devices: One row per (sample, device): ``sample_id``, ``device`` and the labels.
        links: One row per (sample, link) (may be empty).
        missing_shards: Names of shards not found (only with ``strict=False``).
        corrupt_shards: ``{name: reason}`` of unreadable shards or shards whose files do not
            match their checksums (only with ``strict=False``).
    """

    root: Path
    manifest: dict[str, Any]
    scenarios: pd.DataFrame
    services: pd.DataFrame
    devices: pd.DataFrame
    links: pd.DataFrame
    missing_shards: list[str] = field(default_factory=list)
    corrupt_shards: dict[str, str] = field(default_factory=dict)
    _samples: list[tuple[Scenario, pd.DataFrame]] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.scenarios)

    @property
    def config(self) -> SamplerConfig:
        """The sampler config the dataset was generated with."""
        return config_from_dict(self.manifest["config"], source=f"{self.root}/{MANIFEST_NAME}")

    @property
    def sample_ids(self) -> list[int]:
        """Global sample ids, in order."""
        return [int(x) for x in self.scenarios["sample_id"]]

    def scenario(self, i: int) -> Scenario:
        """Parse the ``i``-th scenario (position, not sample id)."""
        return Scenario.from_json(self.scenarios["scenario_json"].iloc[i])

    @property
    def samples(self) -> list[tuple[Scenario, pd.DataFrame]]:
        """All samples as ``(Scenario, labels)``; labels are indexed by service name."""
        if self._samples is None:
            self._samples = list(self)
        return self._samples

    def __getitem__(self, i: int) -> tuple[Scenario, pd.DataFrame]:
        if self._samples is not None:
            return self._samples[i]
        sid = int(self.scenarios["sample_id"].iloc[i])
        labels = self.services[self.services["sample_id"] == sid]
        return self.scenario(i), _labels_frame(labels)

    def __iter__(self) -> Iterator[tuple[Scenario, pd.DataFrame]]:
        if self._samples is not None:
            yield from self._samples
            return
        groups = {int(k): g for k, g in self.services.groupby("sample_id", sort=False)}
        empty = self.services.iloc[0:0]
        for sid, text in zip(self.scenarios["sample_id"], self.scenarios["scenario_json"]):
            yield Scenario.from_json(text), _labels_frame(groups.get(int(sid), empty))


def _labels_frame(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.drop(columns=["sample_id"]).set_index("service")
    out.index.name = None
    return out


def load_dataset(root: str | Path, *, strict: bool = True) -> Dataset:
    """Load a dataset written by :func:`generate`.

    Args:
        root: The dataset directory.
        strict: Raise if any shard is missing or corrupt; otherwise load the readable shards
            and list the others in ``missing_shards`` / ``corrupt_shards`` (default: ``True``).

    Returns:
        The :class:`Dataset`, samples in global ``sample_id`` order.

    Every shard file is checked against the SHA-256 checksum recorded in the manifest (or,
    failing that, in the shard's :data:`CHECKSUM_FILE`). Shards written before checksums
    existed load unverified, with one warning per dataset and process.

    Raises:
        DatasetError: If the manifest is missing or corrupt, or (``strict``) a shard is missing
            or corrupt (a file unreadable or not matching its checksum); the message names
            every such shard, the file and the reason.
    """
    path = Path(root)
    manifest = _read_manifest(path)
    parts: dict[str, list[pd.DataFrame]] = {f: [] for f in SHARD_FILES}
    missing: list[str] = []
    corrupt: dict[str, str] = {}
    unverified: list[str] = []
    for s in manifest.get("shards", []):
        name = s["name"]
        shard_dir = path / name
        if not shard_dir.is_dir():
            missing.append(name)
            continue
        try:
            expected = _expected_checksums(shard_dir, s.get("sha256"))
        except ValueError as exc:
            corrupt[name] = str(exc)
            continue
        if expected is None:
            unverified.append(name)
        tables: dict[str, pd.DataFrame] = {}
        for f in SHARD_FILES:
            try:
                data = (shard_dir / f).read_bytes()
            except OSError as exc:
                corrupt[name] = f"{f}: {exc.strerror or exc}"
                break
            if expected is not None:
                found = hashlib.sha256(data).hexdigest()
                if found != expected[f]:
                    corrupt[name] = _checksum_mismatch(f, expected[f], found)
                    break
            try:
                tables[f] = pd.read_parquet(io.BytesIO(data))
            except Exception as exc:  # pyarrow errors of a damaged file
                corrupt[name] = f"{f} is unreadable ({type(exc).__name__}: {exc})"
                break
        if name in corrupt:
            continue
        expected = s["stop"] - s["start"]
        ids = tables["scenarios.parquet"].get("sample_id")
        if ids is None or len(ids) != expected or (
            expected and (int(ids.min()) != s["start"] or int(ids.max()) != s["stop"] - 1)
        ):
            corrupt[name] = (
                f"scenarios.parquet should hold sample ids {s['start']}..{s['stop'] - 1}"
            )
            continue
        for f, df in tables.items():
            parts[f].append(df)
    if (missing or corrupt) and strict:
        msg = [f"dataset {str(path)!r} is incomplete:"]
        if missing:
            msg.append(
                f"missing shards {missing} (rerun the same `python -m datagen generate` "
                f"command to finish them)"
            )
        if corrupt:
            msg.append(
                "corrupt shards "
                + "; ".join(f"{k}: {v}" for k, v in corrupt.items())
                + " (delete them and rerun generate)"
            )
        raise DatasetError(" ".join(msg))
    if unverified and str(path.resolve()) not in _WARNED_UNVERIFIED:
        _WARNED_UNVERIFIED.add(str(path.resolve()))
        log.warning(
            "%d of %d shards of %s carry no checksums (written before datagen recorded them): "
            "loaded unverified; regenerate the dataset to add checksums",
            len(unverified), len(manifest.get("shards", [])), path,
        )

    def cat(name: str, key: str) -> pd.DataFrame:
        frames = [df for df in parts[name] if len(df)]
        if not frames:
            return pd.DataFrame({"sample_id": pd.Series([], dtype="int64"),
                                 key: pd.Series([], dtype=str)})
        return pd.concat(frames, ignore_index=True)

    scen = cat("scenarios.parquet", "scenario_json")
    if len(scen):
        scen = scen.sort_values("sample_id", kind="stable").reset_index(drop=True)
    return Dataset(
        root=path,
        manifest=manifest,
        scenarios=scen,
        services=cat("services.parquet", "service"),
        devices=cat("devices.parquet", "device"),
        links=cat("links.parquet", "link"),
        missing_shards=missing,
        corrupt_shards=corrupt,
    )

