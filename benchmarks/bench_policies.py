"""Split-policy benchmark in the online loop (issue 18), measured by simulation.

Every compared policy (:data:`placement.online.COMPARED_POLICIES`: the packaged pre-warmed
``default`` that ``placement.Placer()`` uses, a fresh ``informed``, the published
``splitplace``, ``linucb``, ``thompson``, ``layer_only``, ``semantic_only``, ``random``) runs
in :class:`placement.online.OnlineExperiment` on every online family
(:data:`placement.online.ONLINE_FAMILIES`: SplitPlace's MNIST / FashionMNIST / CIFAR100 CNNs on
a Raspberry-Pi cluster and ImageNet zoo models (MobileNetV2, ResNet-18, ResNet-50) on a Jetson /
Raspberry-Pi cluster, each under tight and loose deadlines), from independent seeds. At each
step both splits are placed and simulated with the same seed, so the per-request oracle and
the regret are exact for the sampled run. The per-split metrics the policies see come from the
packaged surrogate, as in the placer.

Printed per family and policy: mean response time, SLA violation rate, accuracy, mean reward,
reward over the oracle (whole run and first 100 requests), regret exponent. Then the targets
of issue 18 and SplitPlace's published claim (semantic splits cut response time and SLA
violations at some accuracy cost; the bandit gets the best of both), whatever the outcome.

To run::

    .venv/bin/python benchmarks/bench_policies.py --quick            # 100 steps, ~3 min
    .venv/bin/python benchmarks/bench_policies.py                    # 1000 steps, 2 seeds
    .venv/bin/python benchmarks/bench_policies.py --reward published # SplitPlace's reward
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

import numpy as np

from placement.online import (
    COMPARED_POLICIES,
    ONLINE_FAMILIES,
    run_compared_policy,
    split_tradeoff,
    summarize_log,
)

FIRST_TARGET = 0.95  # default policy: reward over the oracle, first 100 requests
WHOLE_TARGET = 0.98  # the same over the whole run, with feedback


def run_one(label: str, name: str, kw: dict[str, Any], family: str, steps: int, seed: int,
            reward: str, sim_requests: int, predictor: Any, placer: str,
            replica_requests: int = 0) -> dict[str, Any]:
    """Run one policy on one family and seed; return its summary row."""
    t0 = time.perf_counter()
    log = run_compared_policy(name, kw, family, steps, seed, sim_requests=sim_requests,
                              reward=reward, predictor=predictor, placer=placer,
                              replica_requests=replica_requests)
    hindsight = {f"hindsight_{k}": v for k, v in split_tradeoff(log).items()}
    return {"policy": label, "family": family, "seed": seed, "steps": steps,
            **summarize_log(log), **hindsight, "wall_s": time.perf_counter() - t0}


def _mean(rows: list[dict[str, Any]], policy: str, family: str | None, key: str) -> float:
    vals = [r[key] for r in rows
            if r["policy"] == policy and (family is None or r["family"] == family)]
    return float(np.mean(vals)) if vals else math.nan


def verdicts(rows: list[dict[str, Any]], families: list[str]) -> dict[str, Any]:
    """The issue-18 targets and the published claim, from the summary rows."""
    out: dict[str, Any] = {}
    default = [r for r in rows if r["policy"] == "default"]
    if default:
        out["default_first_min"] = min(r["reward_over_oracle_first"] for r in default)
        out["default_whole_min"] = min(r["reward_over_oracle"] for r in default)
        out["default_beta_max"] = max(r["beta"] for r in default)
        out["default_late_over_early_max"] = max(r["late_over_early_regret"] for r in default)
        out["pass_first"] = out["default_first_min"] >= FIRST_TARGET
        out["pass_whole"] = out["default_whole_min"] >= WHOLE_TARGET
        out["pass_sublinear"] = out["default_beta_max"] < 1.0
        pseudo = [r["pseudo_beta"] for r in default if np.isfinite(r["pseudo_beta"])]
        if pseudo:
            out["default_pseudo_beta_max"] = max(pseudo)
            out["default_pseudo_late_over_early_max"] = max(
                r["pseudo_late_over_early"] for r in default)
            out["pass_pseudo_sublinear"] = out["default_pseudo_beta_max"] < 1.0
        pols = {r["policy"] for r in rows}
        if {"semantic_only", "layer_only"} <= pols:
            for fam in [*families, None]:
                tag = fam or "all"
                out[f"oracle_violation_gap_{tag}"] = (
                    _mean(rows, "default", fam, "oracle_sla_violation")
                    - _mean(rows, "semantic_only", fam, "sla_violation"))
                out[f"oracle_accuracy_gap_{tag}"] = (
                    _mean(rows, "default", fam, "oracle_accuracy")
                    - _mean(rows, "layer_only", fam, "accuracy"))
                v = _mean(rows, "default", fam, "sla_violation")
                vs = _mean(rows, "semantic_only", fam, "sla_violation")
                a = _mean(rows, "default", fam, "accuracy")
                al = _mean(rows, "layer_only", fam, "accuracy")
                out[f"violation_gap_{tag}"] = v - vs
                out[f"accuracy_gap_{tag}"] = a - al
                out[f"hindsight_cost_{tag}"] = _mean(rows, "default", fam,
                                                     "hindsight_accuracy_cost")
    pols = {r["policy"] for r in rows}
    if {"semantic_only", "layer_only", "splitplace"} <= pols:
        claim = {}
        for fam in families:
            lay = {k: _mean(rows, "layer_only", fam, k)
                   for k in ("response_time", "sla_violation", "accuracy", "mean_reward")}
            sem = {k: _mean(rows, "semantic_only", fam, k) for k in lay}
            spl = _mean(rows, "splitplace", fam, "mean_reward")
            claim[fam] = {
                "semantic_cuts_response_time": sem["response_time"] < lay["response_time"],
                "semantic_cuts_violations": sem["sla_violation"] <= lay["sla_violation"],
                "semantic_costs_accuracy": sem["accuracy"] < lay["accuracy"],
                "splitplace_best_of_both": spl >= max(lay["mean_reward"], sem["mean_reward"]),
            }
        out["published_claim"] = claim
    return out


PROG = "python benchmarks/bench_policies.py"


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    from typing import Literal

    from datagen.cli_common import tool_parser

    families: Any = Literal.__getitem__(tuple(sorted(ONLINE_FAMILIES)))
    ap = tool_parser(PROG, __doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--families", type=families, nargs="+", default=sorted(ONLINE_FAMILIES))
    ap.add_argument("--policies", type=str, nargs="+", default=None, help="labels to run")
    ap.add_argument("--reward", type=Literal["relative", "published"], default="relative")
    ap.add_argument("--quick", action="store_true", help="100 steps, seed 0")
    ap.add_argument("--placer", type=Literal["greedy", "placer"], default="greedy")
    ap.add_argument("--predictor", type=Literal["learned", "analytic", "none"],
                    default="learned")
    ap.add_argument("--sim_requests", "--sim-requests", type=int, default=1000)
    ap.add_argument("--replica_requests", "--replica-requests", type=int, default=0,
                    help="requests of a second simulation of both splits per step, which "
                         "measures pseudo-regret (0: off; doubles the simulation time)")
    ap.add_argument("--out", type=str | None, default=None,
                    help="write the results as JSON here")
    return ap


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command-line entry point; returns the results (rows and verdicts)."""
    from datagen.cli_common import parse_or_exit

    args = parse_or_exit(build_parser(), sys.argv[1:] if argv is None else argv)
    steps, seeds = (100, [0]) if args.quick else (args.steps, args.seeds)
    chosen = [p for p in COMPARED_POLICIES if args.policies is None or p[0] in args.policies]
    predictor: Any = None
    if args.predictor == "learned":
        import chainnet

        predictor = chainnet.Surrogate.default()
    elif args.predictor == "analytic":
        from chainnet.analytic import AnalyticSurrogate

        predictor = AnalyticSurrogate()
    print(f"T = {steps} steps, seeds {seeds}, reward = {args.reward}, placer = {args.placer}, "
          f"predictor = {args.predictor}, sim_requests = {args.sim_requests}")
    header = (f"{'family':17s} {'policy':14s} {'seed':>4s} {'RT ms':>7s} {'viol%':>6s} "
              f"{'acc%':>6s} {'reward':>6s} {'/oracle':>7s} {'first100':>8s} {'beta':>5s} "
              f"{'late/early':>10s} "
              f"{'sem%':>5s} {'orc sem%':>8s} {'wall s':>6s}")
    print(header)
    rows = []
    for fam in args.families:
        for seed in seeds:
            for label, name, kw in chosen:
                r = run_one(label, name, kw, fam, steps, seed, args.reward, args.sim_requests,
                            predictor, args.placer, args.replica_requests)
                rows.append(r)
                print(f"{fam:17s} {label:14s} {seed:4d} {1e3 * r['response_time']:7.2f} "
                      f"{100 * r['sla_violation']:6.1f} {100 * r['accuracy']:6.2f} "
                      f"{r['mean_reward']:6.3f} {r['reward_over_oracle']:7.3f} "
                      f"{r['reward_over_oracle_first']:8.3f} {r['beta']:5.2f} "
                      f"{r['late_over_early_regret']:10.2f} "
                      f"{100 * r['semantic_share']:5.1f} {100 * r['oracle_semantic_share']:8.1f} "
                      f"{r['wall_s']:6.1f}", flush=True)
    v = verdicts(rows, args.families)
    if "default_first_min" in v:
        print(f"\ndefault: worst reward/oracle over the first 100 requests "
              f"{v['default_first_min']:.3f} (target >= {FIRST_TARGET}) -> "
              f"{'PASS' if v['pass_first'] else 'FAIL'}; whole run {v['default_whole_min']:.3f} "
              f"(target >= {WHOLE_TARGET}) -> {'PASS' if v['pass_whole'] else 'FAIL'}; regret "
              f"exponent {v['default_beta_max']:.2f} (target < 1) -> "
              f"{'PASS' if v['pass_sublinear'] else 'FAIL'}; second-half over first-half "
              f"regret at most {v['default_late_over_early_max']:.2f} (< 1: the regret rate "
              "falls)")
        for tag in [*args.families, "all"]:
            if f"violation_gap_{tag}" in v:
                gv, ga = v[f"violation_gap_{tag}"], v[f"accuracy_gap_{tag}"]
                print(f"  {tag:17s} SLA violations vs semantic_only {100 * gv:+6.1f} points "
                      f"(target <= +2: {'PASS' if gv <= 0.02 else 'FAIL'}); accuracy vs "
                      f"layer_only {100 * ga:+6.2f} points (target >= -1: "
                      f"{'PASS' if ga >= -0.01 else 'FAIL'}); the per-request oracle: "
                      f"{100 * v[f'oracle_violation_gap_{tag}']:+.1f} and "
                      f"{100 * v[f'oracle_accuracy_gap_{tag}']:+.2f} points")
                hc = v[f"hindsight_cost_{tag}"]
                print(f"  {'':17s} with hindsight, the most accurate choice within +2 points of "
                      f"semantic_only's violations costs {100 * hc:.2f} accuracy points: "
                      + ("both targets can be met together on this run (by a policy that knew "
                         "the outcomes)" if hc <= 0.01 else
                         "no policy can meet both targets together on this run")
                      + " (placement.online.split_tradeoff)")
    if "default_pseudo_beta_max" in v:
        print(f"default: pseudo-regret (against the split of higher expected reward, named by "
              f"a replica simulation) exponent {v['default_pseudo_beta_max']:.2f} (target < 1) "
              f"-> {'PASS' if v['pass_pseudo_sublinear'] else 'FAIL'}; second-half over "
              f"first-half at most {v['default_pseudo_late_over_early_max']:.2f}")
        for r in rows:
            if r["policy"] == "default":
                print(f"  {r['family']:17s} seed {r['seed']}: pseudo-regret "
                      f"{r['final_pseudo_regret']:.2f} (exponent {r['pseudo_beta']:.2f}, "
                      f"late/early {r['pseudo_late_over_early']:.2f}), agrees with the "
                      f"expected-best split on {100 * r['agrees_with_mean_best']:.1f}% of "
                      f"requests; realised regret {r['final_regret']:.2f}")
    if "published_claim" in v:
        print("\nSplitPlace's claim, per family (True = holds here):")
        for fam, c in v["published_claim"].items():
            print(f"  {fam:17s} " + ", ".join(f"{k} {c[k]}" for k in c))
    out = {"steps": steps, "seeds": seeds, "reward": args.reward, "rows": rows, **v}
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=2, default=float)
    return out


if __name__ == "__main__":
    main()
