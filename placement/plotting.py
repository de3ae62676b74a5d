"""The picture of a :class:`~placement.Decision`: deployment map, device load, loss and latency.

:func:`plot_decision` draws four panels on a new figure rendered by matplotlib's Agg canvas
(no display and no pyplot needed, so it works on servers and in tests), or the deployment map
alone on given axes. Matplotlib is imported here only, and this module only by
:meth:`Decision.plot`, so importing :mod:`placement` stays cheap.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from placement.decision import Decision

__all__ = ["plot_decision"]


def plot_decision(decision: Decision, ax: Axes | None = None) -> Figure:
    """Draw a decision.

    Args:
        decision: The decision to draw.
        ax: Axes to draw only the deployment map on (default: ``None`` = a new figure with
            four panels: the deployment map, device offered load and memory use, per-service
            loss ratio, per-service latency against the SLA).

    Returns:
        The figure (``ax.figure`` when ``ax`` is given).

    Raises:
        ValueError: If ``ax`` is not a matplotlib ``Axes``.
    """
    from matplotlib.axes import Axes as _Axes

    if ax is not None:
        if not isinstance(ax, _Axes):
            raise ValueError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        _draw_map(decision, ax)
        return ax.get_figure()  # type: ignore[return-value]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as _Figure

    fig = _Figure(figsize=(13, 9.5), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(2, 2)
    _draw_map(decision, grid[0, 0])
    _draw_devices(decision, grid[0, 1])
    _draw_loss(decision, grid[1, 0])
    _draw_latency(decision, grid[1, 1])
    head = f"{decision.method}: objective {decision.objective:.4g} (predicted)"
    if decision.simulated_objective is not None:
        head += f", {decision.simulated_objective:.4g} (simulated)"
    if decision.uncertain:
        head += "  [predictor unsure: trust the simulated figures]"
    fig.suptitle(head)
    return fig


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _positions(names: list[str]) -> dict[str, tuple[float, float]]:
    """Devices on a circle (on a line for one or two devices)."""
    n = len(names)
    if n <= 2:
        return {name: (float(i), 0.0) for i, name in enumerate(names)}
    angles = [math.pi / 2 - 2 * math.pi * i / n for i in range(n)]  # clockwise from the top
    return {name: (math.cos(a), math.sin(a)) for name, a in zip(names, angles)}


def _rate(bytes_per_s: float) -> str:
    bits = 8 * bytes_per_s
    return f"{bits / 1e9:.3g} Gb/s" if bits >= 1e9 else f"{bits / 1e6:.3g} Mb/s"


def _draw_map(decision: Decision, ax: Axes) -> None:
    """Devices as boxes with fragment markers, links as grey lines, chains as arrows."""
    sc = decision.scenario
    names = [d.name for d in sc.devices]
    pos = _positions(names)
    devices = decision.table("devices").set_index("device")
    services = [s.name for s in sc.services]
    color = dict(zip(services, _colors(len(services))))
    for link in sc.links:
        (x0, y0), (x1, y1) = pos[link.a], pos[link.b]
        ax.plot([x0, x1], [y0, y1], color="0.75", lw=1, zorder=1)
    if sc.links:
        bws = sorted({link.bandwidth for link in sc.links})
        delays = sorted({link.delay for link in sc.links})
        bw = _rate(bws[0]) if len(bws) == 1 else f"{_rate(bws[0])}-{_rate(bws[-1])}"
        dl = (f"{1e3 * delays[0]:.3g} ms" if len(delays) == 1
              else f"{1e3 * delays[0]:.3g}-{1e3 * delays[-1]:.3g} ms")
        net = f"{len(sc.links)} links, {bw}, {dl}"
    else:
        net = "no links: transfers are instantaneous"
    # fragments: markers in a row under each device label, one colour per service
    slots: dict[str, int] = dict.fromkeys(names, 0)
    frag_xy: dict[tuple[str, int], tuple[float, float]] = {}
    for svc in sc.services:
        for i, dev in enumerate(sc.placement[svc.name]):
            x, y = pos[dev]
            k = slots[dev]
            slots[dev] += 1
            fx, fy = x - 0.16 + 0.045 * (k % 8), y - 0.09 - 0.05 * (k // 8)
            frag_xy[(svc.name, i)] = (fx, fy)
            ax.scatter([fx], [fy], s=30, marker="s", color=color[svc.name], zorder=4,
                       edgecolors="black", linewidths=0.4)
    for name in names:
        x, y = pos[name]
        row = devices.loc[name]
        mem = row["memory_used"] / row["memory"] if row["memory"] > 0 else 0.0
        ax.text(x, y + 0.06, f"{name} ({row['kind']})\nload {row['offered_load']:.2f}, "
                f"mem {100 * mem:.0f}%", ha="center", va="center", fontsize=8, zorder=3,
                bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": "0.3"})
    # chains: arrows between consecutive fragments of a branch on different devices
    for j, svc in enumerate(sc.services):
        devs = sc.placement[svc.name]
        for a in range(len(svc.fragments) - 1):
            if svc.fragments[a].branch != svc.fragments[a + 1].branch or devs[a] == devs[a + 1]:
                continue
            ax.annotate("", xy=pos[devs[a + 1]], xytext=pos[devs[a]], zorder=2,
                        arrowprops={"arrowstyle": "-|>", "color": color[svc.name], "lw": 1.5,
                                    "shrinkA": 18, "shrinkB": 18,
                                    "connectionstyle": f"arc3,rad={0.1 + 0.08 * (j % 4)}"})
    handles = [ax.scatter([], [], s=30, marker="s", color=color[s], edgecolors="black",
                          linewidths=0.4, label=f"{s} [{sc.service(s).split}]")
               for s in services]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.02), fontsize=7,
              ncol=min(4, max(1, len(handles))), title="fragments of (one square each)",
              title_fontsize=7, frameon=False)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.35, max(ys) + 0.3)
    ax.set_axis_off()
    ax.set_title(f"deployment: {len(names)} devices, {net}", fontsize=10)


def _draw_devices(decision: Decision, ax: Axes) -> None:
    """Offered load (arrival rate x service time per server) and memory share per device."""
    dev = decision.table("devices")
    x = np.arange(len(dev))
    mem = np.where(dev["memory"] > 0, dev["memory_used"] / dev["memory"].replace(math.inf, np.nan),
                   0.0)
    mem = np.nan_to_num(mem, nan=0.0)
    ax.bar(x - 0.2, dev["offered_load"], 0.4, label="offered load ρ (per server)", color="C0")
    ax.bar(x + 0.2, mem, 0.4, label="memory used / available", color="C2")
    ax.axhline(1.0, color="0.3", lw=0.8, ls="--")
    ax.set_xticks(x, dev["device"], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("share (1 = full)")
    ax.set_ylim(0, max(1.1, float(np.nanmax(np.r_[dev["offered_load"], mem, 0])) * 1.1))
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("devices", fontsize=10)


def _per_service(decision: Decision, column: str) -> pd.DataFrame:
    """``column`` per service (rows), predicted and simulated (columns, NaN where missing)."""
    metrics = decision.metrics()
    names = [s.name for s in decision.scenario.services]
    out = pd.DataFrame(index=pd.Index(names, name="service"))
    for source in ("predicted", "simulated"):
        part = metrics[metrics["source"] == source]
        if column in part.columns:
            out[source] = part.set_index("service")[column].reindex(names)
        else:
            out[source] = np.nan
    return out.astype(float)


def _draw_loss(decision: Decision, ax: Axes) -> None:
    table = _per_service(decision, "loss_ratio")
    x = np.arange(len(table))
    for k, (source, hatch) in enumerate((("predicted", ""), ("simulated", "//"))):
        values = table[source].to_numpy()
        ax.bar(x + (k - 0.5) * 0.4, np.nan_to_num(values), 0.4, label=source, hatch=hatch,
               color="C3", alpha=0.5 + 0.3 * k, edgecolor="black", linewidth=0.5)
        for xi, v in zip(x, values):  # the value on top, so a loss of 0 reads as 0, not missing
            ax.text(xi + (k - 0.5) * 0.4, np.nan_to_num(v), "n/a" if np.isnan(v) else f"{v:.2g}",
                    ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, table.index, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("loss ratio (dropped / arrived)")
    top = float(np.nanmax(np.r_[table.to_numpy().ravel(), 0]))
    ax.set_ylim(0, max(0.05, 1.25 * top))
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("loss per service", fontsize=10)


def _draw_latency(decision: Decision, ax: Axes) -> None:
    mean = _per_service(decision, "latency_mean")
    p95 = _per_service(decision, "latency_p95")
    x = np.arange(len(mean))
    width = 0.2
    bars = (("predicted", mean, "mean, predicted", "C0", ""),
            ("simulated", mean, "mean, simulated", "C0", "//"),
            ("predicted", p95, "p95, predicted", "C1", ""),
            ("simulated", p95, "p95, simulated", "C1", "//"))
    for k, (source, table, label, color, hatch) in enumerate(bars):
        values = np.nan_to_num(table[source].to_numpy())
        ax.bar(x + (k - 1.5) * width, values, width, label=label, color=color, hatch=hatch,
               edgecolor="black", linewidth=0.5)
    sla = np.array([s.sla for s in decision.scenario.services], dtype=float)
    finite = np.isfinite(sla)
    if finite.any():
        ax.scatter(x[finite], sla[finite], marker="_", s=600, color="black", zorder=3,
                   label="SLA")
    values = np.r_[mean.to_numpy().ravel(), p95.to_numpy().ravel(), sla[finite]]
    values = values[np.isfinite(values) & (values > 0)]
    if values.size and values.max() / values.min() > 100:
        ax.set_yscale("log")
    ax.set_xticks(x, mean.index, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("latency (s)")
    ax.legend(fontsize=7, frameon=False, ncol=2)
    ax.set_title("latency per service", fontsize=10)
