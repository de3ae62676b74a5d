r"""Report section (d): split policies online (which split each new deployment gets).

Every split policy of :mod:`placement.policies` runs in the same seeded
:class:`placement.OnlineExperiment` (the SplitPlace edge applications on a Raspberry-Pi class
cluster, greedy placement). At each step both splits are simulated with common random
numbers, so the oracle's reward and the regret

.. math::
    \mathrm{regret}_t = \max_a r_t(a) - r_t(a_t) \ge 0

are exact for the sampled run. The report shows the reward and cumulative regret curves per
policy and the split chosen per context (application and SLA tightness) against the oracle's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from placement.online import OnlineConfig, OnlineExperiment, regret_growth_exponent
from placement.policies import make_policy
from scripts.report_sections import plotting
from scripts.report_sections.base import ReportContext, Section, md_table

__all__ = ["POLICIES", "run", "run_policy"]

#: (label, policy name, config) of the compared policies.
POLICIES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("linucb", "linucb", {"per_service": True}),
    ("thompson", "thompson", {"per_service": True}),
    ("splitplace", "splitplace", {}),
    ("layer_only", "layer_only", {}),
    ("semantic_only", "semantic_only", {}),
    ("random", "random", {}),
)


def run_policy(name: str, kwargs: dict[str, Any], steps: int, seed: int, sim_requests: int
               ) -> pd.DataFrame:
    """Run one policy for ``steps`` deployments and return the experiment log."""
    policy = make_policy(name, seed=seed, **kwargs)
    exp = OnlineExperiment(policy, config=OnlineConfig(sim_requests=sim_requests), seed=seed)
    return exp.run(steps)


def _smooth(x: np.ndarray, w: int) -> np.ndarray:
    c = np.cumsum(np.insert(np.asarray(x, float), 0, 0.0))
    out = np.empty(len(x))
    for i in range(len(x)):
        lo = max(0, i + 1 - w)
        out[i] = (c[i + 1] - c[lo]) / (i + 1 - lo)
    return out


def run(ctx: ReportContext) -> Section:
    """Run every policy on the same request stream; tabulate and plot."""
    steps = ctx.pick(200, 600, 8)
    sim_requests = 300 if ctx.quick else 1000
    timings: dict[str, float] = {}
    logs: dict[str, pd.DataFrame] = {}
    for label, name, kw in POLICIES:
        t0 = time.perf_counter()
        logs[label] = run_policy(name, kw, steps, ctx.seed, sim_requests)
        timings[f"policy {label} ({steps} steps)"] = time.perf_counter() - t0

    rows = []
    for label, log in logs.items():
        cr = log["cumulative_regret"].to_numpy()
        rows.append({
            "policy": label,
            "mean reward": float(log.reward.mean()),
            "reward / oracle": float(log.reward.sum() / log.oracle_reward.sum()),
            "final regret": float(cr[-1]),
            "regret exponent beta": regret_growth_exponent(cr) if steps >= 8 else float("nan"),
            "semantic share": float(np.mean(log.arm == "semantic")),
            "agrees with oracle": float(np.mean(log.arm == log.oracle_arm)),
            "SLA compliance": float(log.compliance.mean()),
        })
    table = pd.DataFrame(rows).set_index("policy")

    # split per context: application x SLA tightness (tertiles of SLA / reference latency)
    ref = next(iter(logs.values()))
    tight = pd.qcut(ref.sla.rank(method="first") / len(ref), 3,
                    labels=["tight SLA", "medium SLA", "loose SLA"])
    ctx_cols = ref.profile.str.replace("splitplace_", "", regex=False) + ", " + tight.astype(str)
    choice = pd.DataFrame({label: (log.arm == "semantic").groupby(ctx_cols.to_numpy()).mean()
                           for label, log in logs.items()})
    oracle = (ref.oracle_arm == "semantic").groupby(ctx_cols.to_numpy()).mean()
    choice["oracle (linucb run)"] = oracle
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
    axes[0].set_title(f"Reward per deployment (moving mean over {w} steps)")
    axes[0].set_xlabel("deployment request (step)")
    axes[0].set_ylabel("reward per request (dimensionless, 0-1)")
    axes[1].set_title("Cumulative regret vs the per-step oracle")
    axes[1].set_xlabel("deployment request (step)")
    axes[1].set_ylabel("cumulative regret (reward units)")
    for ax in axes:
        ax.legend(fontsize=7)
    figs.append(plotting.save(fig, ctx.out, "policies_reward_regret.png"))

    fig, ax = plotting.figure(width=9.0, height=4.2)
    labels = [c for c in choice.columns if c != "requests"]
    x = np.arange(len(choice))
    bw = 0.8 / len(labels)
    for j, label in enumerate(labels):
        ax.bar(x + j * bw, 100 * choice[label].to_numpy(), bw, label=label,
               color="k" if label.startswith("oracle") else None)
    ax.set_xticks(x + 0.4 - bw / 2, list(choice.index), rotation=35, ha="right", fontsize=7)
    ax.set_title("Split chosen per context: share of semantic splits")
    ax.set_xlabel("context (application, SLA tertile)")
    ax.set_ylabel("semantic split chosen (% of requests)")
    ax.legend(fontsize=7, ncol=2)
    figs.append(plotting.save(fig, ctx.out, "policies_split_per_context.png"))

    best = table["reward / oracle"].idxmax()
    body = "\n".join([
        f"`placement.OnlineExperiment`, {steps} deployment requests (SplitPlace MNIST, "
        f"FashionMNIST and CIFAR100 CNNs on 6 Raspberry-Pi class devices, greedy placement), "
        f"both splits simulated with the same seed ({sim_requests} requests each) to get the "
        "oracle. The same request stream (seed) for every policy.",
        "",
        md_table(table, percent=("reward / oracle", "semantic share", "agrees with oracle",
                                 "SLA compliance")),
        "",
        f"Highest reward / oracle: **{best}** ({100 * table.loc[best, 'reward / oracle']:.1f}%). "
        "beta is the growth exponent of the cumulative regret fitted over the second half "
        "(R(t) ~ t^beta; beta < 1 means sublinear).",
        "",
        "### Split chosen per context (share of semantic splits)",
        "",
        md_table(choice, percent=tuple(labels)),
    ])
    return Section("policies", "(d) Split policies", body, figs, timings,
                   {"table": table, "choice": choice, "logs": logs})
