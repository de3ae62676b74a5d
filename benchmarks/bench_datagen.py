"""Benchmark: labelled ``chainnet_like`` samples per second, and the precision of the labels.

Covers issue 4 item 5: 50,000 labelled samples in <= 30 minutes on 2 cores (~28 samples/s),
with a relative standard error (SE) of ``respt_ratio`` <= 1% and an absolute SE of
``tput_ratio`` <= 0.005.

Throughput: ``datagen.dataset.generate`` runs ``--num_samples`` scenarios with ``--workers``
processes into a temporary directory (sampling, simulation and Parquet writing included, the
worker start-up too) and the bench prints samples/s and the projected time for 50,000.

Precision (``--precision``): ``--scenarios`` scenarios are drawn from the sampler; each is
labelled ``--replications`` times with independent seeds (by
``datagen.dataset.label_scenario``, i.e. with the config's sequential stopping unless
``--fixed``) for every starting ``--num_requests`` value.
The SE of one run's label is the standard deviation over the replications; the bench prints,
over all services, the mean, the 90th/99th percentiles and the maximum of the relative SE of
``respt_ratio`` and the absolute SE of ``tput_ratio``, plus the fraction of services meeting
each target. It also prints the simulator's own batch-means estimate (95% half-width / 1.96)
for comparison, and the mean number of requests actually simulated (the cost).

Baseline in the same run (``--compare_legacy``, issue 22 item 1): the labeller before the
one sequential-stopping policy (:class:`datagen.sim.runner.SequentialStopping`) reran
``simulate()`` from the start with a fresh seed each round and sized each rerun with margin
1.2; it is kept here, as ``legacy_label_scenario``, only as this baseline. With the flag the
throughput bench generates the same dataset (same seed, same scenarios) with the legacy
labeller and with the current one, alternating ``--repeats`` times, and the precision bench
labels the same scenarios with both. Both print the share of *samples* whose labels meet the
targets (every service: replication SE, and the run's own batch-means estimate against the
config's target) beside the per-service shares.

To run::

    .venv/bin/python benchmarks/bench_datagen.py --num_samples 2000 --workers 2
    .venv/bin/python benchmarks/bench_datagen.py --num_samples 300 --workers 2 --compare_legacy
    .venv/bin/python benchmarks/bench_datagen.py --precision --scenarios 200 --replications 8 \\
        --num_requests 2000 5000 10000 20000
    .venv/bin/python benchmarks/bench_datagen.py --precision --scenarios 60 --replications 5 \\
        --compare_legacy
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

import datagen.dataset
import datagen.labelling
from datagen.dataset import generate, load_dataset
from datagen.sampling import SimulationConfig, load_sampler_config, sample_scenario
from datagen.world import Scenario

TARGET_SAMPLES = 50_000
TARGET_SECONDS = 30 * 60
TARGET_REL_SE_RESPT = 0.01
TARGET_ABS_SE_TPUT = 0.005

Labeller = Callable[
    [Scenario, SimulationConfig, int],
    tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, float]],
]


def legacy_label_scenario(
    scenario: Scenario, simulation: SimulationConfig, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """The labeller before issue 22 item 1, kept only as this benchmark's baseline.

    A first run of ``num_requests``; while the estimated SEs miss their targets, a fresh run
    from the start (seed ``SeedSequence([seed, round])``) of ``ceil(1.2 n ratio^2)`` requests,
    at most ``max_rounds`` runs; earlier runs are thrown away.
    """
    from datagen.dataset import UnlabelledScenarioError, estimated_se
    from datagen.sim import SimulationLimitError, simulate

    n = simulation.num_requests
    t_r = simulation.target_rel_se_respt
    t_t = simulation.target_abs_se_tput
    res = None
    for rnd in range(simulation.max_rounds):
        run_seed: int | np.random.SeedSequence = (
            seed if rnd == 0 else np.random.SeedSequence([seed, rnd])
        )
        try:
            res = simulate(scenario, num_requests=n, warmup=simulation.warmup, seed=run_seed,
                           engine=simulation.engine)
        except SimulationLimitError as exc:
            raise UnlabelledScenarioError(f"the simulation would be too large: {exc}") from exc
        except ValueError as exc:
            if "no request" not in str(exc):
                raise
            if n >= simulation.max_num_requests or rnd + 1 == simulation.max_rounds:
                raise UnlabelledScenarioError(f"no request completed: {exc}") from exc
            n = min(simulation.max_num_requests, 4 * n)
            continue
        se_r, se_t = estimated_se(res.services)
        ratio = max(se_r / t_r if t_r else 0.0, se_t / t_t if t_t else 0.0)
        if ratio <= 1.0 or rnd + 1 == simulation.max_rounds or n >= simulation.max_num_requests:
            break
        grown = 1.2 * n * ratio**2
        n = simulation.max_num_requests if not math.isfinite(grown) else min(
            simulation.max_num_requests, int(math.ceil(grown))
        )
    assert res is not None
    info = {"num_requests": n, "rounds": rnd + 1, "se_rel_respt": se_r, "se_abs_tput": se_t}
    links = res.links if res.links is not None else pd.DataFrame()
    return res.services, res.devices, links, info


LABELLERS: dict[str, Labeller] = {
    "legacy": legacy_label_scenario,
    "current": datagen.labelling.label_scenario,
}


@contextmanager
def labeller_in_use(name: str) -> Iterator[None]:
    """Make ``datagen.dataset.generate`` label with ``LABELLERS[name]`` (fork-started workers
    inherit the module attribute)."""
    import multiprocessing

    if name != "current" and multiprocessing.get_start_method() != "fork":
        raise RuntimeError("--compare_legacy needs fork-started worker processes (Linux)")
    import datagen.labelling

    # generate_shard looks the labeller up in datagen.labelling (patching only the
    # datagen.dataset re-export left the current labeller in use on both sides).
    saved = datagen.labelling.label_scenario, datagen.dataset.label_scenario
    datagen.labelling.label_scenario = datagen.dataset.label_scenario = LABELLERS[name]
    try:
        yield
    finally:
        datagen.labelling.label_scenario, datagen.dataset.label_scenario = saved


def bench_throughput(config: str, num_samples: int, workers: int, shard_size: int,
                     num_requests: int | None, labeller: str = "current") -> dict[str, Any]:
    import resource

    def cpu() -> float:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    with tempfile.TemporaryDirectory() as tmp:
        c0, t0 = cpu(), time.perf_counter()
        with labeller_in_use(labeller):
            manifest = generate(config, tmp, num_samples, seed=12345, workers=workers,
                                shard_size=shard_size, num_requests=num_requests,
                                progress=False)
        dt, dc = time.perf_counter() - t0, cpu() - c0
        scen = load_dataset(tmp).scenarios
    used = scen["num_requests"].to_numpy()
    sim = load_sampler_config(config).simulation
    rate = num_samples / dt
    return {
        "config": config,
        "labeller": labeller,
        "num_requests": manifest["config"]["simulation"]["num_requests"],
        "workers": workers,
        "num_samples": num_samples,
        "seconds": dt,
        "samples_per_s": rate,
        "cpu_seconds": dc,
        "samples_per_cpu_s": num_samples / dc,
        "samples_per_s_if_2_free_cores": 2 * num_samples / dc,
        "mean_num_requests_used": float(used.mean()),
        "mean_rounds": float(scen["rounds"].mean()),
        "frac_samples_estimate_ok": _estimate_ok(scen, sim),
        "projected_50k_minutes": TARGET_SAMPLES / rate / 60,
        "target_samples_per_s": TARGET_SAMPLES / TARGET_SECONDS,
    }


def _estimate_ok(info: pd.DataFrame, sim: SimulationConfig) -> float:
    """Share of labels whose own batch-means SE estimates meet the config's targets."""
    ok = np.ones(len(info), dtype=bool)
    if sim.target_rel_se_respt is not None:
        ok &= info["se_rel_respt"].to_numpy(float) <= sim.target_rel_se_respt
    if sim.target_abs_se_tput is not None:
        ok &= info["se_abs_tput"].to_numpy(float) <= sim.target_abs_se_tput
    return float(ok.mean()) if len(ok) else float("nan")


def bench_precision(config: str, num_scenarios: int, replications: int,
                    num_requests: list[int], adaptive: bool | None = None,
                    seed: int = 0, labeller: str = "current") -> list[dict[str, Any]]:
    from dataclasses import replace

    label_scenario = LABELLERS[labeller]
    cfg = load_sampler_config(config)
    rng = np.random.default_rng(seed)
    scenarios = [sample_scenario(cfg, rng) for _ in range(num_scenarios)]
    rows = []
    for n in num_requests:
        sim = replace(cfg.simulation, num_requests=n,
                      max_num_requests=max(n, cfg.simulation.max_num_requests))
        if adaptive is False:
            sim = replace(sim, target_rel_se_respt=None, target_abs_se_tput=None)
        t0 = time.process_time()
        rel_respt, abs_tput, bm_rel, bm_tput, used = [], [], [], [], []
        infos: list[dict[str, float]] = []
        sample_ok: list[bool] = []
        for i, sc in enumerate(scenarios):
            runs = []
            for r in range(replications):
                services, _, _, info = label_scenario(sc, sim, 10_000 * i + r)
                runs.append(services)
                infos.append(info)
                used.append(info["num_requests"])
                if r == 0:
                    bm_rel.append(info["se_rel_respt"])
                    bm_tput.append(info["se_abs_tput"])
            respt = np.stack([x["respt_ratio"].to_numpy() for x in runs])
            tput = np.stack([x["tput_ratio"].to_numpy() for x in runs])
            rr_i = respt.std(axis=0, ddof=1) / respt.mean(axis=0)
            at_i = tput.std(axis=0, ddof=1)
            rel_respt.extend(rr_i)
            abs_tput.extend(at_i)
            sample_ok.append(bool(np.all(rr_i <= TARGET_REL_SE_RESPT)
                                  and np.all(at_i <= TARGET_ABS_SE_TPUT)))
        dt = time.process_time() - t0
        rr, at = np.asarray(rel_respt), np.asarray(abs_tput)
        rows.append({
            "labeller": labeller,
            "num_requests": n,
            "adaptive": sim.adaptive,
            "mean_num_requests_used": float(np.mean(used)),
            "services": len(rr),
            "rel_se_respt_mean": float(rr.mean()),
            "rel_se_respt_p90": float(np.quantile(rr, 0.9)),
            "rel_se_respt_p99": float(np.quantile(rr, 0.99)),
            "rel_se_respt_max": float(rr.max()),
            "frac_respt_ok": float((rr <= TARGET_REL_SE_RESPT).mean()),
            "abs_se_tput_mean": float(at.mean()),
            "abs_se_tput_p90": float(np.quantile(at, 0.9)),
            "abs_se_tput_p99": float(np.quantile(at, 0.99)),
            "abs_se_tput_max": float(at.max()),
            "frac_tput_ok": float((at <= TARGET_ABS_SE_TPUT).mean()),
            "frac_samples_ok": float(np.mean(sample_ok)),
            "frac_labels_estimate_ok": _estimate_ok(pd.DataFrame(infos), sim),
            "mean_rounds": float(np.mean([x["rounds"] for x in infos])),
            "batch_means_max_rel_se_respt_mean": float(np.mean(bm_rel)),
            "batch_means_max_abs_se_tput_mean": float(np.mean(bm_tput)),
            "labels_per_cpu_s": num_scenarios * replications / dt,
        })
    return rows


PROG = "python benchmarks/bench_datagen.py"


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    from datagen.cli_common import tool_parser

    p = tool_parser(PROG, __doc__.splitlines()[0], config_flag="--cli_config")
    p.add_argument("--config", type=str, default="chainnet_like")
    p.add_argument("--num_samples", "--num-samples", type=int, default=2000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--shard_size", "--shard-size", type=int, default=250)
    p.add_argument("--precision", action="store_true", help="measure label precision instead")
    p.add_argument("--scenarios", type=int, default=100)
    p.add_argument("--replications", type=int, default=8)
    p.add_argument("--num_requests", "--num-requests", type=int, nargs="*", default=None)
    p.add_argument("--fixed", action="store_true",
                   help="precision: single runs, no sequential stopping")
    p.add_argument("--compare_legacy", "--compare-legacy", action="store_true",
                   help="also run the legacy labeller (rerun from the start) as the baseline")
    p.add_argument("--repeats", type=int, default=1,
                   help="throughput with --compare_legacy: alternate the two this many times")
    return p


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from datagen.cli_common import parse_or_exit

    a = parse_or_exit(build_parser(), sys.argv[1:] if argv is None else argv)
    names = ["legacy", "current"] if a.compare_legacy else ["current"]
    if a.precision:
        ns = a.num_requests or [load_sampler_config(a.config).simulation.num_requests]
        adaptive = False if a.fixed else None
        for name in names:
            for row in bench_precision(a.config, a.scenarios, a.replications, ns, adaptive,
                                       labeller=name):
                print(json.dumps({k: round(v, 5) if isinstance(v, float) else v
                                  for k, v in row.items()}), flush=True)
        return
    n_req = a.num_requests[0] if a.num_requests else None
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(max(1, a.repeats) if a.compare_legacy else 1):
        for name in names:
            res = bench_throughput(a.config, a.num_samples, a.workers, a.shard_size, n_req,
                                   labeller=name)
            results[name].append(res)
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                              for k, v in res.items()}), flush=True)
    res = results["current"][-1]
    print(f"{a.config}: {res['samples_per_s']:.1f} labelled samples/s with {a.workers} workers "
          f"(num_requests={res['num_requests']}); 50k samples in "
          f"{res['projected_50k_minutes']:.1f} min (target <= 30 min, "
          f">= {res['target_samples_per_s']:.1f} samples/s); CPU time {res['cpu_seconds']:.0f} s = "
          f"{res['samples_per_s_if_2_free_cores']:.1f} samples/s on 2 free cores")
    if a.compare_legacy:
        for key in ("samples_per_s", "samples_per_cpu_s"):
            old = sum(r[key] for r in results["legacy"]) / len(results["legacy"])
            cur = sum(r[key] for r in results["current"]) / len(results["current"])
            print(f"{key}: legacy {old:.2f}, current {cur:.2f} ({cur / old:.2f}x, same run)")


if __name__ == "__main__":
    main()
