r"""Report section (a): the simulator against exact finite-queue theory.

One device of speed 1 MAC/s and capacity ``K`` hosts one single-fragment service of 1 MAC
(mean service time :math:`E[S] = 1` s), so the offered load is :math:`\rho = \lambda`. The
simulator (:func:`datagen.sim.simulate`) is run with exponential service (SCV 1) and
deterministic service (SCV 0) over a grid of loads and compared with the exact M/M/1/K
(:func:`chainnet.queueing.mm1k`) and M/D/1/K (:func:`chainnet.queueing.mg1k_exact`) results:

.. math::
    P_{loss} = p_K,\qquad X = \lambda(1 - p_K),\qquad R = N / X.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from chainnet.queueing import mg1k_exact, mm1k
from datagen.sim import simulate
from datagen.world import Device, Fragment, Placement, Scenario, Service
from scripts.report_sections import plotting
from scripts.report_sections.base import ReportContext, Section, md_table, seed_for

__all__ = ["run", "single_queue", "theory"]

#: Capacity of the device in the comparison (the request in service included).
CAPACITY = 5
#: Section key used to derive seeds.
_KEY = 1


def single_queue(load: float, scv: float, capacity: int = CAPACITY) -> Scenario:
    """A one-device, one-fragment scenario with mean service time 1 s and load ``load``."""
    dev = Device("d0", 1.0, capacity=capacity)
    svc = Service("s0", (Fragment("f0", 1.0),), float(load), scv=float(scv))
    return Scenario((dev,), (svc,), Placement({"s0": ("d0",)}))


def theory(load: float, scv: float, capacity: int = CAPACITY) -> tuple[float, float, float]:
    """Exact ``(loss, throughput (1/s), mean latency (s))`` for SCV 1 (M/M/1/K) or 0 (M/D/1/K)."""
    if scv == 1.0:
        q = mm1k(load, 1.0, capacity)
    elif scv == 0.0:
        q = mg1k_exact(load, capacity, mean=1.0, kind="deterministic")
    else:
        raise ValueError(f"scv must be 0 (M/D/1/K) or 1 (M/M/1/K), got {scv}")
    return float(q.loss), float(q.throughput), float(q.response_time)


def run(ctx: ReportContext) -> Section:
    """Simulate the single queue over a grid of loads and compare with theory."""
    n_loads = ctx.pick(6, 12, minimum=2)
    loads = np.round(np.linspace(0.3, 1.8, n_loads), 4)
    num_requests = ctx.pick(6_000, 60_000, minimum=500)
    rows = []
    t0 = time.perf_counter()
    for m, (label, scv) in enumerate((("M/M/1/K", 1.0), ("M/D/1/K", 0.0))):
        for i, rho in enumerate(loads):
            res = simulate(single_queue(rho, scv), num_requests=num_requests,
                           seed=seed_for(ctx.seed, _KEY, m, i))
            s = res.services.loc["s0"]
            loss, tput, lat = theory(rho, scv)
            rows.append({
                "model": label, "load": float(rho),
                "loss_sim": float(s.loss_ratio), "loss_exact": loss,
                "loss_ci": float(s.loss_ratio_ci),
                "tput_sim": float(s.throughput), "tput_exact": tput,
                "tput_ci": float(s.throughput_ci),
                "lat_sim": float(s.latency_mean), "lat_exact": lat,
                "lat_ci": float(s.latency_mean_ci),
            })
    elapsed = time.perf_counter() - t0
    df = pd.DataFrame(rows)
    df["loss_abs_err"] = (df.loss_sim - df.loss_exact).abs()
    df["tput_rel_err"] = (df.tput_sim - df.tput_exact).abs() / df.tput_exact
    df["lat_rel_err"] = (df.lat_sim - df.lat_exact).abs() / df.lat_exact

    summary = df.groupby("model", sort=False).agg(
        max_loss_abs_err=("loss_abs_err", "max"),
        max_tput_rel_err=("tput_rel_err", "max"),
        max_latency_rel_err=("lat_rel_err", "max"),
        mean_latency_rel_err=("lat_rel_err", "mean"),
    )
    detail = df[["model", "load", "loss_sim", "loss_exact", "tput_sim", "tput_exact",
                 "lat_sim", "lat_exact", "lat_ci"]].set_index("model")
    detail.columns = ["load", "loss (sim)", "loss (exact)", "X sim (1/s)", "X exact (1/s)",
                      "R sim (s)", "R exact (s)", "R 95% half-width (s)"]

    fig, axes = plotting.figure(ncols=3, width=4.6)
    colors = {"M/M/1/K": "tab:blue", "M/D/1/K": "tab:orange"}
    grid = np.linspace(loads.min(), loads.max(), 200)
    for label, scv in (("M/M/1/K", 1.0), ("M/D/1/K", 0.0)):
        exact = np.array([theory(x, scv) for x in grid])
        part = df[df.model == label]
        for ax, k, col, ci in zip(axes, range(3), ("loss_sim", "tput_sim", "lat_sim"),
                                  ("loss_ci", "tput_ci", "lat_ci")):
            ax.plot(grid, exact[:, k], color=colors[label], label=f"{label} exact")
            ax.errorbar(part.load, part[col], yerr=part[ci], fmt="o", ms=4, capsize=2,
                        color=colors[label], label=f"{label} simulated")
    for ax, title, ylabel in zip(
        axes,
        ("Loss ratio vs load", "Throughput vs load", "Mean latency vs load"),
        ("loss ratio (fraction of arrivals)", "throughput (requests/s)",
         "mean latency of served requests (s)"),
    ):
        plotting.label(ax, f"{title} (K={CAPACITY})",
                       "offered load rho = lambda E[S] (dimensionless)", ylabel)
        ax.legend(fontsize=7)
    fig_name = plotting.save(fig, ctx.out, "simulator_vs_theory.png")

    worst = summary.max()
    rel = (df.lat_ci / df.lat_sim).replace([np.inf, -np.inf], np.nan)
    wide = df.loc[rel.idxmax()] if rel.notna().any() else None
    bars = (
        "Error bars in the plot: 95% confidence half-widths of each simulated value, from batch "
        "means (the measurement window, after the warm-up, is cut into equal slices by arrival "
        "time; half-width = t quantile x standard deviation of the slice estimates / sqrt(number "
        "of slices)). They reflect one finite run, not a model error: a bar that does not reach "
        "the exact curve is a point where the simulator and theory differ by more than the run's "
        "own noise."
    )
    if wide is not None:
        bars += (
            f" The widest bar, relative to its value, is the mean latency of {wide.model} at load "
            f"{wide.load:g}: {wide.lat_sim:.3g} s +- {wide.lat_ci:.2g} s "
            f"({100 * rel.max():.1f}%)"
            + (": near and above saturation a full queue persists across slices, so the slices "
               "are correlated and their estimates spread." if wide.load >= 0.9 else ".")
        )
    body = "\n".join([
        f"One device (speed 1 MAC/s, capacity K = {CAPACITY}) serving one single-fragment "
        f"service with mean service time 1 s, so the offered load equals the arrival rate. "
        f"{n_loads} loads in [{loads.min():g}, {loads.max():g}], {num_requests} requests per "
        f"run (fast engine, 10% warm-up), exponential (M/M/1/K) and deterministic (M/D/1/K) "
        f"service, against `chainnet.queueing.mm1k` and `mg1k_exact`.",
        "",
        md_table(summary, percent=("max_tput_rel_err", "max_latency_rel_err",
                                   "mean_latency_rel_err")),
        "",
        f"Worst case over both models: loss error {worst.max_loss_abs_err:.4f} (absolute), "
        f"throughput {100 * worst.max_tput_rel_err:.2f}%, mean latency "
        f"{100 * worst.max_latency_rel_err:.2f}% (relative).",
        "",
        bars,
        "",
        "<details><summary>All points</summary>",
        "",
        md_table(detail),
        "",
        "</details>",
    ])
    return Section("simulator", "(a) Simulator vs exact M/M/1/K and M/D/1/K", body, [fig_name],
                   {"simulations": elapsed}, {"points": df, "summary": summary})
