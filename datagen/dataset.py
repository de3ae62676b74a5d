"""Labelled datasets: sharded, resumable, deterministic generation and loading.

A dataset directory holds ``manifest.json`` and one folder per shard::

    DIR/manifest.json
    DIR/shard-00000/scenarios.parquet   scenario, scenario_json, sim_seed, num_requests,
                                        rounds, se_rel_respt, se_abs_tput
    DIR/shard-00000/services.parquet    scenario, service, <SimResult.services columns>
    DIR/shard-00000/devices.parquet     scenario, device, <SimResult.devices columns>
    DIR/shard-00000/links.parquet       scenario, link, <SimResult.links columns> (may be empty)
    DIR/shard-00000/SHA256SUMS          SHA-256 of the four files (``sha256sum -c`` format)

``scenario`` is the global index of the sample, the key of its rows in every table: one row per
(scenario, service), as everywhere a table leaves the library. Shards written before format
version 3 call that column ``sample_id``; :func:`load_dataset` renames it on read, so old
datasets load unchanged (and their checksums still verify).

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

The pieces live in :mod:`datagen.shards` (layout, checksums, manifest),
:mod:`datagen.labelling` (labelling a scenario and a shard) and :mod:`datagen.executors`
(process pool, Dask); this module holds :func:`generate` and the loader, and re-exports the
rest.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from datagen.executors import die_with_parent as _die_with_parent  # noqa: F401 (tests)
from datagen.executors import run_dask, run_process_pool
from datagen.labelling import (
    MAX_REDRAWS,
    ShardTask,
    UnlabelledScenarioError,
    estimated_se,
    generate_shard,
    label_scenario,
    label_scenarios,
)
from datagen.sampling import SamplerConfig, config_from_dict, config_to_dict, load_sampler_config
from datagen.shards import (
    CHECKSUM_FILE,
    DATASET_FORMAT,
    DEFAULT_SHARD_SIZE,
    FORMAT_VERSION,
    ID_COLUMN,
    MANIFEST_NAME,
    SCENARIO_COLUMNS,
    SHARD_FILES,
    TMP_PREFIX,
    DatasetError,
    adopted_settings,
    checksum_mismatch,
    clear_dataset,
    empty_table,
    expected_checksums,
    prepare_out_dir,
    read_manifest,
    read_table,
    shard_name,
    shard_ok,
    shard_seed_sequence,
    update_counts,
    warn_renamed,
    write_json_atomic,
)
from datagen.validation import is_int
from datagen.world import Scenario

__all__ = [
    "DatasetError",
    "MAX_REDRAWS",
    "UnlabelledScenarioError",
    "Dataset",
    "generate",
    "label_scenarios",
    "generate_shard",
    "load_dataset",
    "label_scenario",
    "estimated_se",
    "SCENARIO_COLUMNS",
    "ID_COLUMN",
    "shard_name",
    "shard_seed_sequence",
    "MANIFEST_NAME",
    "SHARD_FILES",
    "CHECKSUM_FILE",
    "DEFAULT_SHARD_SIZE",
]

log = logging.getLogger(__name__)

# Dataset roots already warned about for unverified (pre-checksum) shards, once per process.
_WARNED_UNVERIFIED: set[str] = set()


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
        if not is_int(value) or value < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    num_samples, workers, seed = int(num_samples), int(workers), int(seed)
    if shard_size is not None:
        shard_size = int(shard_size)
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
    prepare_out_dir(root)
    if overwrite:
        clear_dataset(root)
    cfg_dict = config_to_dict(cfg)
    old, chosen = adopted_settings(root, cfg_dict, seed, num_samples, shard_size)
    if chosen is None:
        # Every worker gets at least one shard; large datasets keep the default size.
        chosen = min(DEFAULT_SHARD_SIZE, -(-num_samples // workers))
    shard_size = chosen
    num_shards = -(-num_samples // shard_size)
    manifest_path = root / MANIFEST_NAME
    for leftover in root.glob(f"{TMP_PREFIX}*"):
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
        reason, sums = shard_ok(root / s["name"], s["stop"] - s["start"], prev.get("sha256"))
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
        "format": DATASET_FORMAT,
        "format_version": FORMAT_VERSION,
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
    update_counts(manifest)
    try:
        write_json_atomic(manifest_path, manifest)
    except OSError as exc:
        raise ValueError(
            f"cannot write {manifest_path}: {exc.strerror or exc}; choose a writable folder"
        ) from None

    def on_done(result: dict[str, Any]) -> None:
        s = shards[result["index"]]
        s.update(status="done", service_rows=result["service_rows"],
                 device_rows=result["device_rows"], link_rows=result["link_rows"],
                 sha256=result["sha256"], seconds=round(result["seconds"], 3))
        update_counts(manifest)
        write_json_atomic(manifest_path, manifest)

    tasks = [ShardTask(str(root), cfg_dict, seed, s["index"], s["start"], s["stop"]) for s in todo]
    done = sum(s["stop"] - s["start"] for s in shards if s["status"] == "done")
    from tqdm.auto import tqdm

    bar = tqdm(total=num_samples, initial=done, unit="sample", disable=not progress,
               desc=f"generate {cfg.regime}")
    try:
        if executor == "dask":
            run_dask(tasks, address, workers, on_done, bar)
        elif workers == 1 or len(tasks) <= 1:
            for task in tasks:
                on_done(generate_shard(*task))
                bar.update(task.size)
        else:
            run_process_pool(tasks, workers, on_done, bar)
    finally:
        bar.close()
    return manifest



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
        services: One row per (scenario, service): ``scenario``, ``service`` and the labels.
        devices: One row per (scenario, device): ``scenario``, ``device`` and the labels.
        links: One row per (scenario, link): ``scenario``, ``link`` and the labels (may be
            empty).
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
    def scenario_ids(self) -> list[int]:
        """Global scenario ids (the ``scenario`` column of every table), in order."""
        return [int(x) for x in self.scenarios[ID_COLUMN]]

    @property
    def sample_ids(self) -> list[int]:
        """Deprecated alias of :attr:`scenario_ids`."""
        return warn_renamed(self, "sample_ids", "scenario_ids")

    def scenario(self, i: int) -> Scenario:
        """Parse the ``i``-th scenario (position, not scenario id)."""
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
        sid = int(self.scenarios[ID_COLUMN].iloc[i])
        labels = self.services[self.services[ID_COLUMN] == sid]
        return self.scenario(i), _labels_frame(labels)

    def __iter__(self) -> Iterator[tuple[Scenario, pd.DataFrame]]:
        if self._samples is not None:
            yield from self._samples
            return
        groups = {int(k): g for k, g in self.services.groupby(ID_COLUMN, sort=False)}
        empty = self.services.iloc[0:0]
        for sid, text in zip(self.scenarios[ID_COLUMN], self.scenarios["scenario_json"]):
            yield Scenario.from_json(text), _labels_frame(groups.get(int(sid), empty))


def _labels_frame(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.drop(columns=[ID_COLUMN]).set_index("service")
    out.index.name = None
    return out


def load_dataset(root: str | Path, *, strict: bool = True) -> Dataset:
    """Load a dataset written by :func:`generate`.

    Args:
        root: The dataset directory.
        strict: Raise if any shard is missing or corrupt; otherwise load the readable shards
            and list the others in ``missing_shards`` / ``corrupt_shards`` (default: ``True``).

    Returns:
        The :class:`Dataset`, samples in global ``scenario`` order; every table has a
        ``scenario`` column, also for shards written with ``sample_id`` (format version < 3).

    Every shard file is checked against the SHA-256 checksum recorded in the manifest (or,
    failing that, in the shard's :data:`CHECKSUM_FILE`). Shards written before checksums
    existed load unverified, with one warning per dataset and process.

    Raises:
        DatasetError: If the manifest is missing or corrupt, or (``strict``) a shard is missing
            or corrupt (a file unreadable or not matching its checksum); the message names
            every such shard, the file and the reason.
    """
    path = Path(root)
    manifest = read_manifest(path)
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
            expected = expected_checksums(shard_dir, s.get("sha256"))
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
                    corrupt[name] = checksum_mismatch(f, expected[f], found)
                    break
            try:
                tables[f] = read_table(data)
            except Exception as exc:  # pyarrow errors of a damaged file
                corrupt[name] = f"{f} is unreadable ({type(exc).__name__}: {exc})"
                break
        if name in corrupt:
            continue
        expected = s["stop"] - s["start"]
        ids = tables["scenarios.parquet"].get(ID_COLUMN)
        if ids is None or len(ids) != expected or (
            expected and (int(ids.min()) != s["start"] or int(ids.max()) != s["stop"] - 1)
        ):
            corrupt[name] = (
                f"scenarios.parquet should hold scenario ids {s['start']}..{s['stop'] - 1}"
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
            return empty_table(key)
        return pd.concat(frames, ignore_index=True)

    scen = cat("scenarios.parquet", "scenario_json")
    if len(scen):
        scen = scen.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)
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

