"""End-to-end predict time of the ChainNet surrogate per scenario (graph building + forward).

Covers: :meth:`chainnet.Surrogate.predict` on ``chainnet_like`` scenarios at batch 1,000, with
the time split into graph building (:func:`chainnet.build_batch`) and the model's forward pass.
Target: <= 0.3 ms per scenario end to end on the 2-core reference machine (default-size model).
Weights do not change the cost, so an untrained default model (normaliser fitted on the
scenarios) is used unless ``--checkpoint`` is given. ``--threads`` is the surrogate's
``num_threads`` (default 1, as in :class:`chainnet.Surrogate`; 0 keeps torch's default).

To run::

    .venv/bin/python benchmarks/bench_surrogate.py            # 10,000 scenarios, ChainNet
    .venv/bin/python benchmarks/bench_surrogate.py -n 2000 --model GATBaseline
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np
import torch

from chainnet import MODEL_CLASSES, Surrogate, build_batch
from datagen.world import Device, Fragment, Placement, Scenario, Service


def _local_chainnet_like(rng: np.random.Generator) -> Scenario:
    """A small stand-in for ``datagen.sampling`` (chainnet_like rules, simplified placement)."""
    n_svc = int(rng.integers(1, 4))
    n_dev = int(rng.integers(2, 11))
    devices = tuple(
        Device(f"d{i}", speed=1.0, capacity=int(rng.integers(1, 51))) for i in range(n_dev)
    )
    services, place = [], {}
    for c in range(n_svc):
        n_frag = int(rng.integers(2, 7))
        frags = tuple(Fragment(f"f{k}", float(rng.uniform(1e-3, 2.0))) for k in range(n_frag))
        services.append(Service(f"s{c}", frags, arrival_rate=1.0 / float(rng.uniform(0.1, 10))))
        place[f"s{c}"] = tuple(f"d{int(i)}" for i in rng.integers(0, n_dev, size=n_frag))
    return Scenario(devices, tuple(services), Placement(place))


def make_scenarios(n: int, seed: int = 0) -> list[Scenario]:
    """Draw ``n`` chainnet_like scenarios (``datagen.sampling`` when available)."""
    rng = np.random.default_rng(seed)
    try:
        from datagen.sampling import load_sampler_config, sample_scenario

        cfg = load_sampler_config("chainnet_like")
        return [sample_scenario(cfg, rng) for _ in range(n)]
    except ImportError:
        return [_local_chainnet_like(rng) for _ in range(n)]


def run(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--num-scenarios", type=int, default=10_000)
    parser.add_argument("-b", "--batch-size", type=int, default=1000)
    parser.add_argument("--model", default="ChainNet", choices=sorted(MODEL_CLASSES))
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads during predict (0: leave torch's default)")
    args = parser.parse_args(argv)
    threads = args.threads if args.threads > 0 else None

    t0 = time.perf_counter()
    scenarios = make_scenarios(args.num_scenarios, args.seed)
    t_gen = time.perf_counter() - t0
    if args.checkpoint:
        sur = Surrogate.load(args.checkpoint, batch_size=args.batch_size)
        sur.num_threads = threads
    else:
        model = MODEL_CLASSES[args.model]()
        model.normalizer.fit(build_batch(scenarios[: args.batch_size]))
        sur = Surrogate(model, batch_size=args.batch_size, num_threads=threads)
    n_params = sum(p.numel() for p in sur.model.parameters())
    sur.predict(scenarios[: args.batch_size])  # warm-up

    best_total = best_build = best_fwd = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        df = sur.predict(scenarios)
        best_total = min(best_total, time.perf_counter() - t0)
        build = fwd = 0.0
        default_threads = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        for start in range(0, len(scenarios), args.batch_size):
            t1 = time.perf_counter()
            data = build_batch(scenarios[start : start + args.batch_size])
            t2 = time.perf_counter()
            sur.predict_tensors(data)
            t3 = time.perf_counter()
            build += t2 - t1
            fwd += t3 - t2
        torch.set_num_threads(default_threads)
        best_build, best_fwd = min(best_build, build), min(best_fwd, fwd)
    n = len(scenarios)
    res = {
        "ms_per_scenario": 1e3 * best_total / n,
        "build_ms_per_scenario": 1e3 * best_build / n,
        "forward_ms_per_scenario": 1e3 * best_fwd / n,
    }
    print(
        f"{sur.model!r} ({n_params} parameters), predict threads="
        f"{sur.num_threads or torch.get_num_threads()}\n"
        f"{n} chainnet_like scenarios ({len(df)} service rows; generated in {t_gen:.1f} s), "
        f"batch {args.batch_size}, best of {args.repeats}:\n"
        f"  end-to-end predict: {res['ms_per_scenario']:.4f} ms/scenario "
        f"(target <= 0.3)\n"
        f"  graph building:     {res['build_ms_per_scenario']:.4f} ms/scenario\n"
        f"  forward pass:       {res['forward_ms_per_scenario']:.4f} ms/scenario"
    )
    return res


if __name__ == "__main__":
    run()
