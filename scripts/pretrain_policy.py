r"""Pre-warm the default split policy on simulated episodes and save it as JSON.

The ``informed`` policy decides from the surrogate's predicted expected reward of each split;
this script lets it correct that prior on simulated deployments of every online family
(:data:`placement.online.ONLINE_FAMILIES`: SplitPlace's CNNs and ImageNet zoo models under
tight and loose deadlines), with the packaged surrogate predicting as the placer does, and
writes the state that ``placement.Placer()`` loads::

    python -m scripts.pretrain_policy --steps 400 --seed 100 \
        --out placement/policies/default_policy.json

Each family runs ``--steps`` deployments from its own seed (``seed + index``), one after the
other, updating the same policy; the episodes' seeds differ from those of
``benchmarks/bench_policies.py`` (0, 1), so the benchmark measures the policy on requests it
has not seen. As in LightningCLI, ``--print_config`` prints the flags as YAML and
``--config FILE.yaml`` reads them back (later flags override it); ``--sim-requests`` still works,
with a deprecation note.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from placement.online import ONLINE_FAMILIES, OnlineExperiment, online_family
from placement.policies import Reward, make_policy, save_policy
from scripts._cli import parse_command_line

__all__ = ["RENAMED", "build_parser", "main", "pretrain"]

PROG = "python -m scripts.pretrain_policy"
#: Deprecated flag spelling -> current one.
RENAMED: dict[str, str] = {"--sim-requests": "--sim_requests"}


def pretrain(
    steps: int,
    seed: int,
    families: list[str],
    *,
    predictor: Any = None,
    sim_requests: int = 1000,
    alpha: float = 0.1,
    per_service: bool = True,
    l2_lambda: float = 1.0,
    shrink: float = 100.0,
) -> tuple[Any, list[dict[str, Any]]]:
    """Run the episodes; return the policy and one summary row per family.

    Args:
        steps: Deployments per family.
        seed: Seed of the first family's request stream (the others: ``seed + i``).
        families: Keys of :data:`ONLINE_FAMILIES`.
        predictor: Predictor of the per-split metrics (default: ``None`` =
            ``chainnet.Surrogate.default()``).
        sim_requests: Requests per simulated deployment.
        alpha: Exploration bonus of the ``informed`` policy during the episodes.
        per_service: One residual model per application (the row key: the DNN profile's
            name) instead of one shared by all (default: ``True``: the surrogate's bias differs
            per model, e.g. it over-predicts MobileNetV2's layer-split latency on the zoo
            cluster; an application never seen starts from the prior alone).
        l2_lambda: Ridge penalty of the residual models (default: ``1.0``).
        shrink: Shrinkage of the correction far from its data (``InformedConfig.shrink``)
            (default: ``100``: without it the per-application correction of MobileNetV2's
            semantic split, fitted where the prior over-estimates it, overturned priors 0.3
            apart under the tightest deadlines).

    Returns:
        ``(policy, rows)``.
    """
    if predictor is None:
        import chainnet

        predictor = chainnet.Surrogate.default()
    policy = make_policy("informed", seed=seed, alpha=alpha, per_service=per_service,
                         l2_lambda=l2_lambda, shrink=shrink)
    rows = []
    for i, fam in enumerate(families):
        devices, config = online_family(fam, sim_requests=sim_requests)
        t0 = time.perf_counter()
        exp = OnlineExperiment(policy, devices=devices, config=config, predictor=predictor,
                               seed=seed + i)
        log = exp.run(steps)
        rows.append({
            "family": fam,
            "seed": seed + i,
            "steps": steps,
            "reward_over_oracle": float(log.reward.sum() / log.oracle_reward.sum()),
            "semantic_share": float((log.arm == "semantic").mean()),
            "wall_s": time.perf_counter() - t0,
        })
        print(f"{fam:18s} seed {seed + i}: reward/oracle {rows[-1]['reward_over_oracle']:.3f}, "
              f"semantic {rows[-1]['semantic_share']:.2f}, {rows[-1]['wall_s']:.0f} s",
              flush=True)
    return policy, rows


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    from typing import Literal

    from datagen.cli_common import tool_parser

    families: Any = Literal.__getitem__(tuple(sorted(ONLINE_FAMILIES)))
    ap = tool_parser(PROG, __doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=400, help="deployments per family")
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--families", type=families, nargs="+", default=sorted(ONLINE_FAMILIES))
    ap.add_argument("--sim_requests", type=int, default=1000,
                    help="simulated requests per split and step (old spelling: --sim-requests)")
    ap.add_argument("--shared", action="store_true",
                    help="one residual model shared by all applications (default: one each)")
    ap.add_argument("--l2_lambda", type=float, default=1.0,
                    help="ridge penalty of the residual models (default: 1.0)")
    ap.add_argument("--shrink", type=float, default=100.0,
                    help="shrinkage of the correction far from its data (default: 100)")
    ap.add_argument("--out", type=str, required=True, help="policy JSON to write")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    args = parse_command_line(build_parser(), argv, RENAMED)
    if args.steps < 1:
        print(f"error: --steps must be >= 1, got {args.steps}", file=sys.stderr)
        return 2
    if not args.l2_lambda > 0:
        print(f"error: --l2_lambda must be > 0, got {args.l2_lambda}", file=sys.stderr)
        return 2
    if not 0 <= args.shrink < float("inf"):
        print(f"error: --shrink must be a finite number >= 0, got {args.shrink}",
              file=sys.stderr)
        return 2
    folder = Path(args.out).resolve().parent
    if not folder.is_dir():
        print(f"error: --out {args.out!r}: folder {str(folder)!r} does not exist",
              file=sys.stderr)
        return 2
    policy, rows = pretrain(args.steps, args.seed, args.families,
                            sim_requests=args.sim_requests, per_service=not args.shared,
                            l2_lambda=args.l2_lambda, shrink=args.shrink)
    meta = {
        "trained_by": PROG,
        "steps_per_family": args.steps,
        "seed": args.seed,
        "sim_requests": args.sim_requests,
        "reward": f"relative, sla_weight {Reward().sla_weight} (placement.policies.Reward())",
        "predictor": "chainnet.Surrogate.default()",
        "episodes": rows,
    }
    try:
        path = save_policy(policy, args.out, meta)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({int(policy.counts_.sum())} updates)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
