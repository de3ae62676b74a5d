"""Benchmark: labelled ``chainnet_like`` samples per second, and the precision of the labels.

Covers issue 4 item 5: 50,000 labelled samples in <= 30 minutes on 2 cores (~28 samples/s),
with a relative standard error (SE) of ``respt_ratio`` <= 1% and an absolute SE of
``tput_ratio`` <= 0.005.

Throughput: ``datagen.dataset.generate`` runs ``--num-samples`` scenarios with ``--workers``
processes into a temporary directory (sampling, simulation and Parquet writing included, the
worker start-up too) and the bench prints samples/s and the projected time for 50,000.

Precision (``--precision``): ``--scenarios`` scenarios are drawn from the sampler; each is
labelled ``--replications`` times with independent seeds (by
``datagen.dataset.label_scenario``, i.e. with the config's sequential stopping unless
``--fixed``) for every starting ``--num-requests`` value.
The SE of one run's label is the standard deviation over the replications; the bench prints,
over all services, the mean, the 90th/99th percentiles and the maximum of the relative SE of
``respt_ratio`` and the absolute SE of ``tput_ratio``, plus the fraction of services meeting
each target. It also prints the simulator's own batch-means estimate (95% half-width / 1.96)
for comparison, and the mean number of requests actually simulated (the cost).

To run::

    .venv/bin/python benchmarks/bench_datagen.py --num-samples 2000 --workers 2
    .venv/bin/python benchmarks/bench_datagen.py --precision --scenarios 200 --replications 8 \\
        --num-requests 2000 5000 10000 20000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

from datagen.dataset import generate, load_dataset
from datagen.sampling import load_sampler_config, sample_scenario

TARGET_SAMPLES = 50_000
TARGET_SECONDS = 30 * 60
TARGET_REL_SE_RESPT = 0.01
TARGET_ABS_SE_TPUT = 0.005


def bench_throughput(config: str, num_samples: int, workers: int, shard_size: int,
                     num_requests: int | None) -> dict[str, float]:
    import resource

    def cpu() -> float:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    with tempfile.TemporaryDirectory() as tmp:
        c0, t0 = cpu(), time.perf_counter()
        manifest = generate(config, tmp, num_samples, seed=12345, workers=workers,
                            shard_size=shard_size, num_requests=num_requests, progress=False)
        dt, dc = time.perf_counter() - t0, cpu() - c0
        used = load_dataset(tmp).scenarios["num_requests"].to_numpy()
    rate = num_samples / dt
    return {
        "config": config,
        "num_requests": manifest["config"]["simulation"]["num_requests"],
        "workers": workers,
        "num_samples": num_samples,
        "seconds": dt,
        "samples_per_s": rate,
        "cpu_seconds": dc,
        "samples_per_cpu_s": num_samples / dc,
        "samples_per_s_if_2_free_cores": 2 * num_samples / dc,
        "mean_num_requests_used": float(used.mean()),
        "projected_50k_minutes": TARGET_SAMPLES / rate / 60,
        "target_samples_per_s": TARGET_SAMPLES / TARGET_SECONDS,
    }


def bench_precision(config: str, num_scenarios: int, replications: int,
                    num_requests: list[int], adaptive: bool | None = None,
                    seed: int = 0) -> list[dict[str, float]]:
    from dataclasses import replace

    from datagen.dataset import label_scenario

    cfg = load_sampler_config(config)
    rng = np.random.default_rng(seed)
    scenarios = [sample_scenario(cfg, rng) for _ in range(num_scenarios)]
    rows = []
    for n in num_requests:
        sim = replace(cfg.simulation, num_requests=n,
                      max_num_requests=max(n, cfg.simulation.max_num_requests))
        if adaptive is False:
            sim = replace(sim, target_rel_se_respt=None, target_abs_se_tput=None)
        t0 = time.perf_counter()
        rel_respt, abs_tput, bm_rel, bm_tput, used = [], [], [], [], []
        for i, sc in enumerate(scenarios):
            runs = []
            for r in range(replications):
                services, _, _, info = label_scenario(sc, sim, seed=10_000 * i + r)
                runs.append(services)
                used.append(info["num_requests"])
                if r == 0:
                    bm_rel.append(info["se_rel_respt"])
                    bm_tput.append(info["se_abs_tput"])
            respt = np.stack([x["respt_ratio"].to_numpy() for x in runs])
            tput = np.stack([x["tput_ratio"].to_numpy() for x in runs])
            rel_respt.extend(respt.std(axis=0, ddof=1) / respt.mean(axis=0))
            abs_tput.extend(tput.std(axis=0, ddof=1))
        dt = time.perf_counter() - t0
        rr, at = np.asarray(rel_respt), np.asarray(abs_tput)
        rows.append({
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
            "batch_means_max_rel_se_respt_mean": float(np.mean(bm_rel)),
            "batch_means_max_abs_se_tput_mean": float(np.mean(bm_tput)),
            "labels_per_s_1core": num_scenarios * replications / dt,
        })
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="chainnet_like")
    p.add_argument("--num-samples", type=int, default=2000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--shard-size", type=int, default=250)
    p.add_argument("--precision", action="store_true", help="measure label precision instead")
    p.add_argument("--scenarios", type=int, default=100)
    p.add_argument("--replications", type=int, default=8)
    p.add_argument("--num-requests", type=int, nargs="*", default=None)
    p.add_argument("--fixed", action="store_true",
                   help="precision: single runs, no sequential stopping")
    a = p.parse_args()
    if a.precision:
        ns = a.num_requests or [load_sampler_config(a.config).simulation.num_requests]
        adaptive = False if a.fixed else None
        for row in bench_precision(a.config, a.scenarios, a.replications, ns, adaptive):
            print(json.dumps({k: round(v, 5) if isinstance(v, float) else v
                              for k, v in row.items()}))
        return
    n_req = a.num_requests[0] if a.num_requests else None
    res = bench_throughput(a.config, a.num_samples, a.workers, a.shard_size, n_req)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in res.items()}))
    print(f"{a.config}: {res['samples_per_s']:.1f} labelled samples/s with {a.workers} workers "
          f"(num_requests={res['num_requests']}); 50k samples in "
          f"{res['projected_50k_minutes']:.1f} min (target <= 30 min, "
          f">= {res['target_samples_per_s']:.1f} samples/s); CPU time {res['cpu_seconds']:.0f} s = "
          f"{res['samples_per_s_if_2_free_cores']:.1f} samples/s on 2 free cores")


if __name__ == "__main__":
    main()
