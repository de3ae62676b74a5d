r"""Report section (d): split policies online (which split each new deployment gets).

Every compared split policy (:data:`placement.online.COMPARED_POLICIES`, including the packaged
pre-warmed ``default`` of ``placement.Placer()``) runs in the same seeded
:class:`placement.OnlineExperiment` on every online family
(:data:`placement.online.ONLINE_FAMILIES`: SplitPlace's CNNs on a Raspberry-Pi cluster and
ImageNet zoo models on a Jetson / Raspberry-Pi cluster, under tight and loose deadlines), with
the packaged surrogate predicting the metrics of each split. At each step both splits are
simulated with common random numbers, so the oracle's reward and the regret

.. math::
    \mathrm{regret}_t = \max_a r_t(a) - r_t(a_t) \ge 0

are exact for the sampled run. The report shows, per family and policy, the mean response time,
SLA violation rate, accuracy and reward (SplitPlace's comparison), the reward and cumulative
regret curves, and the split chosen per context against the oracle's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from placement.online import (
    COMPARED_POLICIES,
    ONLINE_FAMILIES,
    run_compared_policy,
    summarize_log,
)
from scripts.report_sections import plotting
from scripts.report_sections.base import ReportContext, Section, md_table

__all__ = ["POLICIES", "run", "run_policy"]

#: (label, policy name, config) of the compared policies.
POLICIES: tuple[tuple[str, str, dict[str, Any]], ...] = COMPARED_POLICIES

#: The family whose curves and per-context choices are plotted.
PLOTTED_FAMILY = "splitplace_tight"


def run_policy(name: str, kwargs: dict[str, Any], steps: int, seed: int, sim_requests: int,
               family: str = PLOTTED_FAMILY, predictor: Any = None) -> pd.DataFrame:
    """Run one policy for ``steps`` deployments of ``family`` and return the experiment log."""
    return run_compared_policy(name, kwargs, family, steps, seed, sim_requests=sim_requests,
                               predictor=predictor)


def _smooth(x: np.ndarray, w: int) -> np.ndarray:
    c = np.cumsum(np.insert(np.asarray(x, float), 0, 0.0))
    out = np.empty(len(x))
    for i in range(len(x)):
        lo = max(0, i + 1 - w)
        out[i] = (c[i + 1] - c[lo]) / (i + 1 - lo)
    return out


def run(ctx: ReportContext) -> Section:
    """Run every policy on every family's request stream; tabulate and plot."""
    import chainnet

    steps = ctx.pick(100, 300, 8)
    sim_requests = 300 if ctx.quick else 1000
    predictor = chainnet.Surrogate.default()
    timings: dict[str, float] = {}
    rows = []
    logs: dict[str, pd.DataFrame] = {}
    for family in sorted(ONLINE_FAMILIES):
        for label, name, kw in POLICIES:
            t0 = time.perf_counter()
            log = run_policy(name, kw, steps, ctx.seed, sim_requests, family, predictor)
            timings[f"policy {label} on {family} ({steps} steps)"] = time.perf_counter() - t0
            if family == PLOTTED_FAMILY:
                logs[label] = log
            s = summarize_log(log)
            rows.append({
                "family": family,
                "policy": label,
                "response time (ms)": 1e3 * s["response_time"],
                "SLA violations": s["sla_violation"],
                "accuracy": s["accuracy"],
                "mean reward": s["mean_reward"],
                "reward / oracle": s["reward_over_oracle"],
                "final regret": s["final_regret"],
                "regret exponent beta": s["beta"],
                "semantic share": s["semantic_share"],
                "agrees with oracle": s["agrees_with_oracle"],
            })
    table = pd.DataFrame(rows).set_index(["family", "policy"])

    # split per context: application x SLA tightness (tertiles of SLA / reference latency)
    ref = next(iter(logs.values()))
    tight = pd.qcut(ref.sla.rank(method="first") / len(ref), 3,
                    labels=["tight SLA", "medium SLA", "loose SLA"])
    ctx_cols = ref.profile.str.replace("splitplace_", "", regex=False) + ", " + tight.astype(str)
    choice = pd.DataFrame({label: (log.arm == "semantic").groupby(ctx_cols.to_numpy()).mean()
                           for label, log in logs.items()})
    oracle = (ref.oracle_arm == "semantic").groupby(ctx_cols.to_numpy()).mean()
    choice["oracle"] = oracle
    choice["requests"] = ctx_cols.value_counts().reindex(choice.index).astype(int)
    choice.index.name = "context (application, SLA tertile)"

    figs = []
    fig, axes = plotting.figure(ncols=2, width=5.5)
    w = max(1, steps // 10)
    t = np.arange(1, steps + 1)
    for label, log in logs.items():
        axes[0].plot(t, _smooth(log.reward.to_numpy(), w), label=label)
        axes[1].plot(t, log.cumulative_regret.to_numpy(), label=label)
    axes[0].plot(t, _smooth(ref.oracle_reward.to_numpy(), w), "k--", label="oracle")
    plotting.label(axes[0], f"Reward per deployment (moving mean over {w} steps)",
                   "deployment request (step)", "reward per request (dimensionless, 0-1)")
    plotting.label(axes[1], "Cumulative regret vs the per-step oracle",
                   "deployment request (step)", "cumulative regret (reward units)")
    for ax in axes:
        ax.legend(fontsize=7)
    figs.append(plotting.save(fig, ctx.out, "policies_reward_regret.png"))

    labels = [c for c in choice.columns if c != "requests"]
    fig, ax = plotting.figure(width=1.0 + 0.75 * len(labels), height=1.2 + 0.35 * len(choice))
    plotting.heatmap(ax, 100 * choice[labels].to_numpy(), list(choice.index), labels,
                     colorbar_label="semantic split chosen (% of requests)", vmin=0, vmax=100)
    ax.set_title("Split chosen per context: share of semantic splits (%)", fontsize=9)
    ax.set_xlabel("policy (last column: the per-step oracle)")
    ax.set_ylabel("context (application, SLA tertile)")
    figs.append(plotting.save(fig, ctx.out, "policies_split_per_context.png"))

    pooled = table.groupby(level="policy", sort=False).mean()
    best = pooled["reward / oracle"].idxmax()
    percent = ("SLA violations", "accuracy", "reward / oracle", "semantic share",
               "agrees with oracle")
    body = "\n".join([
        f"`placement.OnlineExperiment`, {steps} deployment requests per family and policy "
        "(families: SplitPlace's MNIST, FashionMNIST and CIFAR100 CNNs on 6 Raspberry-Pi class "
        "devices, and MobileNetV2 / ResNet-18 / ResNet-50 on 2 Jetson Nano + 3 Raspberry Pi; "
        "tight deadlines 0.2-0.8 and loose 1-3 times the reference latency), greedy "
        f"placement, the packaged surrogate predicting each split. Both splits simulated with "
        f"the same seed ({sim_requests} requests each) to get the oracle; the same request "
        "stream (seed) for every policy. Reward: deadline credit plus accuracy credit relative "
        "to the unsplit model (`placement.policies.Reward`).",
        "",
        md_table(table.reset_index(), percent=percent),
        "",
        "### Mean over the families",
        "",
        md_table(pooled, percent=percent),
        "",
        f"Highest mean reward / oracle: **{best}** "
        f"({100 * pooled.loc[best, 'reward / oracle']:.1f}%). "
        "beta is the growth exponent of the cumulative regret fitted over the second half "
        "(R(t) ~ t^beta; beta < 1 means sublinear).",
        "",
        f"### Split chosen per context on {PLOTTED_FAMILY} (share of semantic splits)",
        "",
        "A context is an application and an SLA tertile: the deployment requests are ranked "
        "by their deadline (SLA) relative to the reference latency and cut into three "
        "equal-sized thirds (tertiles), the tightest third first. The oracle column is the "
        "split with the higher simulated reward at each step (the per-step oracle).",
        "",
        md_table(choice, percent=tuple(labels)),
    ])
    return Section("policies", "(d) Split policies", body, figs, timings,
                   {"table": table, "pooled": pooled, "choice": choice, "logs": logs})
