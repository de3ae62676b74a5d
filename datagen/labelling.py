"""Labelling: simulate a scenario into labels, a range of samples into a shard.

:func:`label_scenario` is the one labelling policy (sequential stopping on the estimated
standard errors; see "Label precision" in :mod:`datagen.dataset`), :func:`generate_shard` the
work of one shard (it runs in worker processes), and :func:`label_scenarios` labels given
scenarios into a one-shard dataset. Re-exported by :mod:`datagen.dataset`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from datagen.sampling import (
    EdgeConfig,
    SamplerConfig,
    SimulationConfig,
    config_from_dict,
    config_to_dict,
    sample_scenario,
)
from datagen.shards import (
    DATASET_FORMAT,
    FORMAT_VERSION,
    ID_COLUMN,
    MANIFEST_NAME,
    shard_name,
    shard_seed_sequence,
    shard_tables,
    update_counts,
    write_json_atomic,
    write_shard,
)
from datagen.validation import is_int
from datagen.world import Scenario

__all__ = [
    "MAX_REDRAWS",
    "ShardTask",
    "UnlabelledScenarioError",
    "estimated_se",
    "generate_shard",
    "label_scenario",
    "label_scenarios",
]

#: Redraws of a sample whose scenario cannot be labelled (a service completes nothing).
MAX_REDRAWS = 20
# 97.5% standard normal quantile: a 95% half-width is 1.96 standard errors.
_Z95 = 1.96


class UnlabelledScenarioError(ValueError):
    """A scenario in which some service completes no request, even in the longest run."""



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


class ShardTask(NamedTuple):
    """The work of one shard: the arguments of :func:`generate_shard`, in order.

    ``generate_shard(*task)`` runs it. A plain tuple of picklable fields, so it travels to
    process-pool and Dask workers as it is. (The shard index is ``shard_index``: a tuple's
    ``index`` is its method.)

    Attributes:
        out_dir: The dataset directory (must be visible to the worker).
        config: The sampler config as a dict (:func:`~datagen.sampling.config_to_dict`).
        seed: The dataset seed.
        shard_index: Shard index (``generate_shard``'s ``index``).
        start: First global scenario id of the shard.
        stop: One past the last global scenario id.
    """

    out_dir: str
    config: dict[str, Any]
    seed: int
    shard_index: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        """Number of samples of the shard, ``stop - start``."""
        return self.stop - self.start


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
        start: First global scenario id of the shard.
        stop: One past the last global scenario id.

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
        sid = start + k
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
            {ID_COLUMN: sid, "scenario_json": scenario.to_json(), "sim_seed": sim_seed, **info}
        )
        svc_tabs.append((sid, services))
        dev_tabs.append((sid, devices))
        link_tabs.append((sid, links))
    tables = shard_tables(scen_rows, svc_tabs, dev_tabs, link_tabs)
    sums = write_shard(Path(out_dir), index, tables)
    return {
        "index": index,
        "num_samples": stop - start,
        "service_rows": len(tables["services.parquet"]),
        "device_rows": len(tables["devices.parquet"]),
        "link_rows": len(tables["links.parquet"]),
        "sha256": sums,
        "seconds": time.perf_counter() - t0,
    }



def label_scenarios(
    scenarios: Sequence[Scenario],
    out: str | Path,
    *,
    simulation: SimulationConfig,
    seed: int = 0,
    config: SamplerConfig | None = None,
    source: str = "label_scenarios",
    progress: bool = True,
    workers: int = 1,
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
        workers: Processes that simulate side by side (default: ``1``: this process). The
            labels do not depend on it: scenario ``i``'s seed depends on ``i`` alone.

    Returns:
        The manifest (also written to ``out/manifest.json``).

    Raises:
        ValueError: If ``out`` already holds a dataset, ``seed < 0``, ``workers < 1`` or a
            scenario is not a :class:`~datagen.world.Scenario`.
    """
    import datagen

    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if not is_int(workers) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    seed = int(seed)
    root = Path(out)
    if (root / MANIFEST_NAME).exists():
        raise ValueError(f"{root} already holds a dataset; choose another out folder")
    scenarios = list(scenarios)  # read twice below (any iterable will do)
    for i, scenario in enumerate(scenarios):
        if not isinstance(scenario, Scenario):
            raise ValueError(f"scenarios[{i}] must be a Scenario, got {type(scenario).__name__}")
    scen_rows: list[dict[str, Any]] = []
    svc_tabs: list[tuple[int, pd.DataFrame]] = []
    dev_tabs: list[tuple[int, pd.DataFrame]] = []
    link_tabs: list[tuple[int, pd.DataFrame]] = []
    skipped = 0
    from tqdm.auto import tqdm

    seeds = [_indexed_seed(seed, i) for i in range(len(scenarios))]
    labelled = tqdm(_label_all(scenarios, simulation, seeds, workers), total=len(scenarios),
                    desc="label", unit="scenario", disable=not progress)
    for scenario, sim_seed, labels in zip(scenarios, seeds, labelled):
        if labels is None:
            skipped += 1
            continue
        services, devices, links, info = labels
        sid = len(scen_rows)
        scen_rows.append({ID_COLUMN: sid, "scenario_json": scenario.to_json(),
                          "sim_seed": sim_seed, **info})
        svc_tabs.append((sid, services))
        dev_tabs.append((sid, devices))
        link_tabs.append((sid, links))
    root.mkdir(parents=True, exist_ok=True)
    tables = shard_tables(scen_rows, svc_tabs, dev_tabs, link_tabs)
    sums = write_shard(root, 0, tables)
    n = len(scen_rows)
    cfg = config if config is not None else EdgeConfig(simulation=simulation)
    manifest: dict[str, Any] = {
        "format": DATASET_FORMAT,
        "format_version": FORMAT_VERSION,
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
    update_counts(manifest)
    write_json_atomic(root / MANIFEST_NAME, manifest)
    return manifest


def _indexed_seed(seed: int, i: int) -> int:
    """The simulator seed of scenario ``i`` of :func:`label_scenarios` (in ``[0, 2**62)``)."""
    return int(np.random.SeedSequence([seed, i]).generate_state(2, np.uint64)[0] >> 2)


def _label_or_none(
    scenario: Scenario, simulation: SimulationConfig, sim_seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, float]] | None:
    """:func:`label_scenario`, or ``None`` for a scenario that cannot be labelled."""
    try:
        return label_scenario(scenario, simulation, sim_seed)
    except UnlabelledScenarioError:
        return None


def _label_all(
    scenarios: list[Scenario], simulation: SimulationConfig, seeds: list[int], workers: int
) -> Iterator[Any]:
    """The labels of each scenario with its seed (``None`` if it cannot be labelled), in order.

    Simulated on ``workers`` processes side by side when ``workers > 1``.
    """
    if workers == 1 or len(scenarios) < 2:
        for scenario, sim_seed in zip(scenarios, seeds):
            yield _label_or_none(scenario, simulation, sim_seed)
        return
    import os
    from concurrent.futures import ProcessPoolExecutor

    from datagen.executors import die_with_parent

    with ProcessPoolExecutor(max_workers=min(workers, len(scenarios)),
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        # Small chunks keep the workers busy to the end (scenarios differ in cost).
        chunk = max(1, len(scenarios) // (8 * workers))
        yield from pool.map(_label_or_none, scenarios, [simulation] * len(scenarios), seeds,
                            chunksize=chunk)
