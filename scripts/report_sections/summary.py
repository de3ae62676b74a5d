r"""The opening of the report: a one-screen summary of the findings and the terms it uses.

:func:`summary_markdown` reads the numbers the sections computed (their ``Section.data``) and
turns them into a few bullet points, one per section, with the headline figure and every
place where a method loses to a simpler one (the placer to a classic baseline, a learned split
policy to a fixed split, ORRIC to a heuristic, INFIDA to greedy, the learned surrogate to the
analytic one). Nothing here is hard-coded prose about results: each sentence is chosen and
filled from the numbers, so a different seed or budget can change what it says. A section
that did not run, or whose data lacks a key, is skipped. :data:`GLOSSARY` defines every
abbreviation the sections use, and :func:`glossary_markdown` prints it after the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from scripts.report_sections.base import Section

__all__ = ["GLOSSARY", "glossary_markdown", "summary_markdown"]

#: Term -> definition, in the order the report first uses them.
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("M/M/1/K, M/D/1/K", "one server with exponential (M) or deterministic (D) service times, "
     "Poisson arrivals and room for K requests in total (queue plus the one in service)"),
    ("load (rho)", "offered load = arrival rate x mean service time; above 1 the device "
     "cannot keep up and a finite queue drops requests"),
    ("loss ratio", "share of arriving requests dropped because a device's queue was full"),
    ("95% half-width / CI", "half the width of a 95% confidence interval of a simulated mean "
     "(batch means over one run)"),
    ("MAPE, APE, MAE", "mean absolute percentage error, absolute percentage error, mean "
     "absolute error; percentages are printed with one or two decimals, stored as fractions"),
    ("combined MAPE", "ChainNet's metric: the mean of the throughput-ratio and "
     "response-time-ratio MAPEs"),
    ("untrained", "a GNN with seeded random weights whose correction heads output zero: it "
     "returns its built-in analytic prior, not a trained accuracy"),
    ("SLA", "service-level agreement: a service's latency deadline (s); an SLA miss is a "
     "served request slower than it"),
    ("objective", "placement objective = lost requests/s + SLA-missing requests/s, judged by an "
     "independent simulation; lower is better, 0 = nothing lost and no deadline missed"),
    ("ILP, Neurosurgeon, greedy", "classic placement baselines: a mixed-integer program that "
     "minimises the largest device utilisation, Neurosurgeon's single split point between a "
     "local and the fastest remote device, and each fragment on the fastest device with free "
     "memory"),
    ("oracle (policies)", "the split with the higher simulated reward at each step, known only "
     "in hindsight (both splits are simulated with the same random numbers)"),
    ("regret, beta", "regret = oracle reward - obtained reward, summed over steps; beta is the "
     "exponent of a fit R(t) ~ t^beta over the second half (beta < 1: sublinear, learning)"),
    ("SLA tertile", "the requests ranked by deadline relative to the reference latency and cut "
     "into three equal thirds: tight, medium, loose"),
    ("(P)", "ORRIC's offline problem: choose a retraining and an inference configuration in "
     "every slot to maximise the accuracy-weighted samples served within each slot's compute "
     "budget"),
    ("OPT", "the optimum of (P), by enumerating every retraining sequence"),
    ("spec O4", "oracle O4 of shared/specs/analytical.md: ORRIC's multi-slot regression data "
     "(MobileNetV2 configurations, retraining ratios and the accuracy curve f)"),
    ("p, J (QPART)", "p = partition point (number of layers on the device); J = QPART's "
     "weighted objective of latency, energy and cost (its eq. 17)"),
    ("NTAG", "INFIDA's normalised time-averaged gain: the inference-delay gain of the "
     "allocation summed over slots divided by the number of requests (s per request, higher "
     "is better)"),
    ("eta, B", "INFIDA's step size; greedy's refresh period (slots between re-allocations)"),
)


def glossary_markdown() -> str:
    """The terms of :data:`GLOSSARY` as a Markdown list under a ``### Terms`` heading."""
    lines = ["### Terms", ""]
    lines += [f"- **{term}**: {text}." for term, text in GLOSSARY]
    return "\n".join(lines)


def _pct(v: float, digits: int = 1) -> str:
    return f"{100 * float(v):.{digits}f}%"


def _g(v: float) -> str:
    return f"{float(v):.3g}"


def _simulator(sec: Section) -> list[str]:
    worst = sec.data["summary"].max()
    return [f"**Simulator vs exact queueing theory** (M/M/1/K and M/D/1/K, K = 5): worst "
            f"loss-ratio error {worst.max_loss_abs_err:.4f} (absolute), worst mean-latency "
            f"error {_pct(worst.max_latency_rel_err)} (relative)."]


def _surrogate(sec: Section) -> list[str]:
    overall: pd.DataFrame = sec.data["overall"]
    mean = overall.groupby(level=0, sort=False)["combined_mape"].mean()
    named = [n for n in mean.index if not str(n).startswith("untrained")]
    if not named:
        return []
    mean = mean[named]
    best = mean.idxmin()
    text = (f"**Surrogate accuracy** (combined MAPE, mean over {overall.regime.nunique()} "
            f"regimes): best **{best}** at {_pct(mean[best])}")
    primary = named[0]
    losses = []
    if "AnalyticSurrogate" in mean.index and primary != "AnalyticSurrogate":
        text += f"; {primary} {_pct(mean[primary])}, AnalyticSurrogate " \
                f"{_pct(mean['AnalyticSurrogate'])}"
        learned = overall.loc[[primary]].set_index("regime")["combined_mape"]
        analytic = overall.loc[["AnalyticSurrogate"]].set_index("regime")["combined_mape"]
        losses = [f"{r} ({_pct(learned[r])} vs {_pct(analytic[r])})" for r in learned.index
                  if r in analytic.index and learned[r] > analytic[r]]
    text += "."
    if losses:
        text += (f" **The learned surrogate loses to the analytic predictor** on "
                 f"{', '.join(losses)}.")
    return [text]


def _placement(sec: Section) -> list[str]:
    base: pd.DataFrame = sec.data["baselines"]
    mean = base.groupby("method", sort=False)["objective"].mean()
    per = base.pivot(index="instance", columns="method", values="objective")
    n = len(per)
    wins = int((per["placer"] <= per.min(axis=1) + 1e-12).sum())
    text = (f"**Placement** ({n} instance{'s' if n != 1 else ''}, objective in lost + "
            f"SLA-missing requests/s, lower is better): the placer's mean objective is "
            f"{_g(mean['placer'])}, best or tied on {wins}/{n} instances")
    better = mean[mean < mean["placer"] - 1e-12].drop("placer", errors="ignore")
    if len(better):
        text += ("; **a simpler baseline has a lower mean objective**: "
                 + ", ".join(f"{m} {_g(v)}" for m, v in better.sort_values().items()))
    else:
        others = mean.drop("placer")
        text += f"; the best other method is {others.idxmin()} ({_g(others.min())})"
    text += "."
    gap: pd.DataFrame = sec.data.get("gap", pd.DataFrame())
    if len(gap):
        within = float(np.mean(gap["gap / total rate"] <= 0.005))
        text += (f" Against exhaustive search on {len(gap)} small instance"
                 f"{'s' if len(gap) != 1 else ''} the gap is "
                 f"{_g(gap['gap (req/s)'].mean())} requests/s on average, within 0.5% of the "
                 f"arrival rate on {within:.0%} of them.")
    return [text]


#: Split policies that do not learn (the "simpler" ones of the comparison).
_FIXED = ("layer_only", "semantic_only", "random")


def _policies(sec: Section) -> list[str]:
    pooled: pd.DataFrame = sec.data["pooled"]
    table: pd.DataFrame = sec.data["table"]
    ratio = pooled["reward / oracle"]
    best = ratio.idxmax()
    text = (f"**Split policies** (reward / oracle, mean over the families): best **{best}** "
            f"{_pct(ratio[best])}")
    if "default" in ratio.index and best != "default":
        text += f", the default policy {_pct(ratio['default'])}"
    learners = [p for p in ratio.index if p not in _FIXED]
    fixed = [p for p in ratio.index if p in _FIXED]
    beaten = []
    per = table["reward / oracle"].unstack("policy")
    for family, row in per.iterrows():
        top_fixed = row[fixed].idxmax() if fixed else None
        if top_fixed is None:
            continue
        losers = [p for p in learners if row[p] < row[top_fixed] - 1e-12]
        if losers:
            beaten.append(f"{family}: {top_fixed} {_pct(row[top_fixed])} beats "
                          + ", ".join(f"{p} {_pct(row[p])}" for p in losers))
    text += "."
    if beaten:
        text += " **A fixed split beats learning policies** on " + "; ".join(beaten) + "."
    if "regret exponent beta" in pooled:
        beta = pooled.loc[learners, "regret exponent beta"].dropna()
        if len(beta):
            text += (f" The regret exponent beta of the learning policies ranges from "
                     f"{beta.min():.2f} to {beta.max():.2f}"
                     + (" (1 or more: the regret still grows linearly at this horizon)."
                        if beta.max() >= 0.95 else "."))
    return [text]


def _analytical(sec: Section) -> list[str]:
    out = []
    ratio = sec.data.get("orric")
    if isinstance(ratio, pd.DataFrame) and "orric" in ratio:
        mean = ratio.mean()
        text = (f"**ORRIC** reaches {_pct(mean['orric'])} of OPT on average over "
                f"{len(ratio)} instances")
        better = mean[mean > mean["orric"] + 1e-12].drop("orric", errors="ignore")
        if len(better):
            text += ("; **heuristics do better on average**: "
                     + ", ".join(f"{p} {_pct(v)}" for p, v in better.sort_values(
                         ascending=False).items()))
        out.append(text + ".")
    infida = sec.data.get("infida")
    if isinstance(infida, pd.DataFrame) and "NTAG" in infida:
        for tag in sorted({i.rsplit(" (", 1)[-1] for i in infida.index if " (" in i}):
            part = infida[[i.endswith(f"({tag}") for i in infida.index]]["NTAG"]
            inf = part[[i.startswith("INFIDA") for i in part.index]]
            gr = part[[i.startswith("greedy") for i in part.index]]
            if not len(inf) or not len(gr):
                continue
            verdict = ("**greedy beats INFIDA**" if gr.max() > inf.max() + 1e-12 else
                       "INFIDA matches greedy" if abs(gr.max() - inf.max()) <= 1e-12 else
                       "INFIDA beats greedy")
            out.append(f"**INFIDA** with budgets {tag.rstrip(')')}: best NTAG "
                       f"{inf.max():.4g} ({inf.idxmax().split(' (')[0]}) against greedy's "
                       f"{gr.max():.4g} ({gr.idxmax().split(' (')[0]}): {verdict}.")
    sim = sec.data.get("qpart_sim")
    if isinstance(sim, pd.DataFrame) and len(sim):
        top = sim.loc[sim.groupby("deployment", sort=False)["arrival rate (1/s)"].idxmax()]
        lossy = top[top["loss ratio"] > 0.01]
        text = ("**QPART** at the highest simulated arrival rate: "
                + ", ".join(f"{r.deployment} loses {_pct(r['loss ratio'])}"
                            for _, r in top.iterrows()))
        if len(lossy):
            text += " of the requests (QPART's cost model has no queue, so it cannot see this)"
        out.append(text + ".")
    return out


_READERS: dict[str, Callable[[Section], list[str]]] = {
    "simulator": _simulator, "surrogate": _surrogate, "placement": _placement,
    "policies": _policies, "analytical": _analytical,
}


def summary_markdown(sections: Sequence[Section]) -> str:
    """The ``## Summary`` of the report, built from the sections' numbers.

    Args:
        sections: The sections that ran (their ``data``).

    Returns:
        Markdown: a heading and one bullet per finding; a section whose data cannot be read
        is left out (its own text still stands below).
    """
    bullets: list[str] = []
    for sec in sections:
        reader = _READERS.get(sec.key)
        if reader is None:
            continue
        try:
            bullets += reader(sec)
        except (KeyError, ValueError, TypeError, IndexError, AttributeError):
            continue
    lines = ["## Summary", "",
             "Generated from the numbers below; bold marks where a method loses to a simpler "
             "one. Terms are defined under [Terms](#terms).", ""]
    lines += [f"- {b}" for b in bullets] or ["- (no section data to summarise)"]
    return "\n".join(lines)
