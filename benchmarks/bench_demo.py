"""Does the demo's decision keep its promise? Predicted vs simulated loss over seeds and warm-ups.

Runs the placement step of ``python -m scripts.demo`` (the sample cluster and workload, the default
split bandit warmed up online for ``--bandit_steps``, then :class:`placement.Placer`) for every
combination of warm-up length and seed, simulates the decision with the demo's own check
(10,000 requests, seed + 1), and reports per service the simulated loss ratio minus the
predicted one. Target (issue 17): no service's simulated loss above its predicted loss + 0.05.
Usage::

    python benchmarks/bench_demo.py --bandit_steps 0 20 60 --seeds 0 1 2 3 4
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

from datagen.sim import simulate
from placement.online import OnlineExperiment
from placement.placer import Placer, default_predictor
from placement.request import PlacementRequest
from scripts.demo import NETWORK, sample_cluster, sample_workload

#: Largest tolerated excess of simulated over predicted loss ratio.
MAX_EXCESS = 0.05


def run_one(predictor: Any, steps: int, seed: int) -> list[dict[str, Any]]:
    """The demo's placement and check for one warm-up length and seed; one row per service."""
    devices = sample_cluster()
    placer = Placer(predictor=predictor, seed=seed)  # the default (pre-warmed) split policy
    if steps:
        OnlineExperiment(placer.split_policy, devices=devices, predictor=predictor,
                         seed=seed).run(steps)
    # the demo's own request: its sample cluster joined by its network
    request = PlacementRequest.star(devices, link=NETWORK, services=sample_workload(devices))
    t0 = time.perf_counter()
    decision = placer.place(request)
    place_s = time.perf_counter() - t0
    sim = simulate(decision.scenario, num_requests=10_000, seed=seed + 1).services
    predicted = decision.predicted.set_index("service")
    rows = []
    for name in decision.splits:
        pred = float(predicted.loc[name, "loss_ratio"])
        got = float(sim.loc[name, "loss_ratio"])
        rows.append({
            "bandit_steps": steps, "seed": seed, "service": name,
            "split": decision.splits[name],
            "devices": ",".join(decision.scenario.placement[name]),
            "predicted_loss": pred, "simulated_loss": got, "excess": got - pred,
            "source": decision.source, "uncertain": decision.uncertain, "place_s": place_s,
        })
    return rows


PROG = "python benchmarks/bench_demo.py"


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    from datagen.cli_common import tool_parser

    ap = tool_parser(PROG, __doc__)
    ap.add_argument("--bandit_steps", "--bandit-steps", type=int, nargs="+", default=[0, 20, 60])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--out", type=str | None, default=None,
                    help="write the rows as JSON here")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    from datagen.cli_common import parse_or_exit

    args = parse_or_exit(build_parser(), sys.argv[1:] if argv is None else argv)
    predictor, fallback = default_predictor()
    print(f"predictor: {predictor!r}" + (f" (fallback: {fallback})" if fallback else ""))
    rows: list[dict[str, Any]] = []
    for steps in args.bandit_steps:
        for seed in args.seeds:
            part = run_one(predictor, steps, seed)
            rows.extend(part)
            worst = max(r["excess"] for r in part)
            print(f"  steps {steps:3d} seed {seed}: worst excess {worst:+.4f} "
                  f"(source {part[0]['source']}, uncertain {part[0]['uncertain']}) "
                  + "; ".join(f"{r['service']}[{r['split']}] {r['devices']} "
                              f"{r['predicted_loss']:.3f}->{r['simulated_loss']:.3f}"
                              for r in part), flush=True)
    excess = np.array([r["excess"] for r in rows])
    bad = int((excess > MAX_EXCESS).sum())
    print(f"worst excess of simulated over predicted loss: {excess.max():+.4f} over "
          f"{len(rows)} services; {bad} above +{MAX_EXCESS} (target: 0)")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
