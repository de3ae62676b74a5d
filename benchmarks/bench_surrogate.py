"""End-to-end predict time of the ChainNet surrogate per scenario, beside its baseline.

Covers: :meth:`chainnet.Surrogate.predict` on ``chainnet_like`` scenarios at batch 1 (one
scenario per call, the online case) and at batch 1,000, each figure printed beside the
baseline measured in the same run: the reference path kept for this purpose (the
``HeteroData`` graph of :func:`chainnet.build_batch`, the model's module-by-module forward with
the padded path GRU, one ensemble member after the other, ``model.eval()`` on every call).
Timings are medians of ``--repeats`` runs, baseline and new interleaved (the machine may be
busy). The largest difference between the two paths' predictions is printed too, and, when
the surrogate's ``analytic_weight`` is positive, the new path's figures without that term of
the uncertainty (it solves the analytic model of every scenario again).
Targets (2-core reference machine, one thread): batch 1 <= 2 ms, batch 1,000 <= 0.1 ms per
scenario. Weights do not change the cost, but the packaged checkpoint is used when present
(``--checkpoint`` picks another; without one, an untrained default model with a normaliser
fitted on the scenarios). ``--threads`` is the surrogate's ``num_threads`` (default 1, as in
:class:`chainnet.Surrogate`; 0 keeps torch's default).

To run::

    .venv/bin/python benchmarks/bench_surrogate.py            # 2,000 scenarios
    .venv/bin/python benchmarks/bench_surrogate.py -n 4000 --repeats 7
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from chainnet import MODEL_CLASSES, Surrogate, build_batch
from chainnet.surrogate import DEFAULT_CHECKPOINT
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


def _reference(sur: Surrogate, on: bool) -> None:
    """Switch ``sur`` to the reference (baseline) path, or back to the fast one."""
    from chainnet.nn import PathGRU

    sur._reference = on
    for module in sur.model.modules():
        if isinstance(module, PathGRU):
            module.packed = not on


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


PROG = "python benchmarks/bench_surrogate.py"


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    from typing import Literal

    from datagen.cli_common import tool_parser

    models: Any = Literal.__getitem__(tuple(sorted(MODEL_CLASSES)))
    parser = tool_parser(PROG, __doc__.splitlines()[0])
    parser.add_argument("-n", "--num_scenarios", "--num-scenarios", type=int, default=2_000)
    parser.add_argument("-b", "--batch_size", "--batch-size", type=int, default=1000)
    parser.add_argument("--single", type=int, default=100,
                        help="scenarios predicted one per call for the batch-1 figure")
    parser.add_argument("--model", type=models | None, default=None,
                        help="an untrained model of this class instead of the checkpoint")
    parser.add_argument("--checkpoint", type=str | None, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads during predict (0: leave torch's default)")
    return parser


def run(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Run the benchmark and print each figure beside its baseline; return the figures."""
    from datagen.cli_common import parse_or_exit

    args = parse_or_exit(build_parser(), sys.argv[1:] if argv is None else list(argv))
    threads = args.threads if args.threads > 0 else None

    t0 = time.perf_counter()
    scenarios = make_scenarios(args.num_scenarios, args.seed)
    t_gen = time.perf_counter() - t0
    if args.model is None and (args.checkpoint or DEFAULT_CHECKPOINT.is_file()):
        sur = Surrogate.load(args.checkpoint or DEFAULT_CHECKPOINT, batch_size=args.batch_size)
        sur.num_threads = threads
    else:
        model = MODEL_CLASSES[args.model or "ChainNet"]()
        normalizer: Any = model.normalizer
        normalizer.fit(build_batch(scenarios[: args.batch_size]))
        sur = Surrogate(model, batch_size=args.batch_size, num_threads=threads)
    n_params = sum(p.numel() for p in sur.model.parameters())
    single = scenarios[: args.single]

    def batch1() -> None:
        for sc in single:
            sur.predict([sc])

    def batched() -> None:
        sur.predict(scenarios)

    frames = {}
    for ref in (True, False):  # warm-up, and the predictions of both paths
        _reference(sur, ref)
        frames[ref] = sur.predict(scenarios)
        batch1()
    times: dict[str, list[float]] = {k: [] for k in ("b1_ref", "b1", "bn_ref", "bn")}
    for _ in range(args.repeats):
        for ref, tag in ((True, "_ref"), (False, "")):
            _reference(sur, ref)
            times["b1" + tag].append(_timed(batch1) / len(single))
            times["bn" + tag].append(_timed(batched) / len(scenarios))
    _reference(sur, False)
    weight = getattr(sur, "analytic_weight", 0.0)
    if weight > 0:  # the new path without the analytic term of the uncertainty
        sur.analytic_weight = 0.0
        times.update(b1_noan=[], bn_noan=[])
        for _ in range(args.repeats):
            times["b1_noan"].append(_timed(batch1) / len(single))
            times["bn_noan"].append(_timed(batched) / len(scenarios))
        sur.analytic_weight = weight
    med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    cols = ("tput_ratio", "respt_ratio", "loss_ratio", "uncertainty")
    diff = max(float(np.max(np.abs(frames[True][c].to_numpy() - frames[False][c].to_numpy())))
               for c in cols)
    rel = max(float(np.max(np.abs(frames[True][c].to_numpy() / frames[False][c].to_numpy() - 1)))
              for c in ("throughput", "latency_mean", "latency_p95"))
    res = {
        "batch1_ms": med["b1"], "batch1_ms_baseline": med["b1_ref"],
        "batchn_ms_per_scenario": med["bn"], "batchn_ms_per_scenario_baseline": med["bn_ref"],
        "max_abs_diff_ratios": diff, "max_rel_diff_seconds_rates": rel,
    }
    print(
        f"{sur.model!r} ({n_params} parameters), predict threads="
        f"{sur.num_threads or torch.get_num_threads()}\n"
        f"{len(scenarios)} chainnet_like scenarios ({len(frames[False])} service rows; "
        f"generated in {t_gen:.1f} s), medians of {args.repeats} (new | baseline | speed-up):\n"
        f"  batch 1 end to end:      {med['b1']:.3f} ms | {med['b1_ref']:.3f} ms | "
        f"{med['b1_ref'] / med['b1']:.2f}x (target <= 2 ms)\n"
        f"  batch {args.batch_size} end to end: {med['bn']:.4f} ms/scenario | "
        f"{med['bn_ref']:.4f} | {med['bn_ref'] / med['bn']:.2f}x (target <= 0.1)\n"
        f"  new vs baseline predictions: max |diff| of ratios and uncertainty {diff:.2e}, "
        f"max relative diff of rates and latencies {rel:.2e}"
    )
    if "b1_noan" in med:
        res.update(batch1_ms_no_analytic=med["b1_noan"],
                   batchn_ms_per_scenario_no_analytic=med["bn_noan"])
        print(f"  new path without the analytic uncertainty term (analytic_weight {weight} -> 0): "
              f"batch 1 {med['b1_noan']:.3f} ms, batch {args.batch_size} "
              f"{med['bn_noan']:.4f} ms/scenario")
    return res


if __name__ == "__main__":
    run()
