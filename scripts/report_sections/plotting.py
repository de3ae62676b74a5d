"""Small matplotlib helpers for the report: Agg backend, checked and reproducible PNGs.

Every plot of the report must have a title, axis labels with units and a legend (a heatmap's
colorbar counts as its legend); :func:`save` refuses a figure whose axes lack one of them, so a
section cannot silently ship an unlabelled plot. Before saving, :func:`distinguish_coinciding`
gives lines that lie on top of each other distinct line styles and markers and says so in the
legend (``= other label``), so that no curve hides behind another. PNGs are written without
timestamps (``metadata``), so the same data gives the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["PlotError", "check_axes", "coinciding_lines", "distinguish_coinciding", "figure",
           "heatmap", "label", "save"]

#: PNG metadata without the matplotlib version or a creation time.
_METADATA: dict[str, Any] = {"Software": None}


class PlotError(ValueError):
    """A report figure misses a title, an axis label or a legend."""


def figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.8
           ) -> tuple[Figure, Any]:
    """A new figure with ``nrows x ncols`` axes (the axes array is flattened).

    Args:
        ncols: Columns of subplots (default: ``1``).
        nrows: Rows of subplots (default: ``1``).
        width: Width of one subplot (inches) (default: ``5``).
        height: Height of one subplot (inches) (default: ``3.8``).

    Returns:
        ``(figure, axes)``; ``axes`` is a single ``Axes`` when there is one, else a flat array.
    """
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False)
    flat = axes.ravel()
    return fig, (flat[0] if flat.size == 1 else flat)


def label(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    """Give ``ax`` the title and the axis labels (with units) that :func:`save` requires.

    Args:
        ax: The axes.
        title: The title.
        xlabel: The x axis label, with its unit.
        ylabel: The y axis label, with its unit.
    """
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def heatmap(ax: Any, values: np.ndarray, rows: list[str], cols: list[str], *,
            colorbar_label: str, fmt: str = "{:.0f}", vmin: float | None = None,
            vmax: float | None = None, cmap: str = "viridis") -> Any:
    """Draw a matrix as a heatmap with every value written in its cell and a colorbar.

    Args:
        ax: The axes.
        values: The ``(len(rows), len(cols))`` matrix (NaN cells stay blank).
        rows: Row labels (y axis, top to bottom).
        cols: Column labels (x axis).
        colorbar_label: Label of the colorbar, with units (it serves as the legend).
        fmt: Format of the cell texts (default: ``"{:.0f}"``).
        vmin: Bottom of the colour scale (default: ``None`` = the data's).
        vmax: Top of the colour scale (default: ``None`` = the data's).
        cmap: Matplotlib colormap name (default: ``"viridis"``).

    Returns:
        The image.
    """
    data = np.asarray(values, dtype=float)
    image = ax.imshow(data, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
    lo = np.nanmin(data) if vmin is None else vmin
    hi = np.nanmax(data) if vmax is None else vmax
    mid = (lo + hi) / 2
    for (r, c), v in np.ndenumerate(data):
        if np.isfinite(v):
            ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=7,
                    color="black" if v > mid else "white")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.figure.colorbar(image, ax=ax, label=colorbar_label)
    return image


def coinciding_lines(ax: Any, rtol: float = 1e-9, atol: float = 1e-12) -> list[list[Any]]:
    """Groups of two or more labelled lines of ``ax`` that lie on top of each other.

    Args:
        ax: The axes.
        rtol: Relative tolerance of "the same y" (default: ``1e-9``).
        atol: Absolute tolerance (default: ``1e-12``).

    Returns:
        Groups of :class:`~matplotlib.lines.Line2D` with equal x and y data, in plot order.
    """
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")
             and len(np.atleast_1d(ln.get_xdata())) > 1]
    groups: list[list[Any]] = []
    for ln in lines:
        x, y = np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)
        for group in groups:
            gx = np.asarray(group[0].get_xdata(), float)
            gy = np.asarray(group[0].get_ydata(), float)
            if gx.shape == x.shape and np.allclose(gx, x, rtol=rtol, atol=atol) and (
                    np.allclose(gy, y, rtol=rtol, atol=atol, equal_nan=True)):
                group.append(ln)
                break
        else:
            groups.append([ln])
    return [g for g in groups if len(g) > 1]


_STYLES = ((0, (5, 3)), (0, (1, 2)), (0, (6, 2, 1, 2)), (0, (3, 1, 1, 1, 1, 1)))
_MARKERS = ("o", "s", "^", "v", "D", "x")


def distinguish_coinciding(fig: Figure) -> int:
    """Make lines that coincide visible: distinct dashes and markers, ``(= label)`` in the legend.

    The first line of each group of :func:`coinciding_lines` keeps its style; each further one
    gets a dash pattern, a sparse marker (spaced so the markers of different lines do not
    overlap) and ``" (= first label)"`` appended to its legend label; the legend is redrawn
    with its font size and location.

    Returns:
        The number of lines restyled.
    """
    changed = 0
    for ax in fig.axes:
        groups = coinciding_lines(ax)
        for group in groups:
            first = group[0].get_label()
            n = len(np.atleast_1d(group[0].get_xdata()))
            for k, ln in enumerate(group[1:]):
                ln.set_linestyle(_STYLES[k % len(_STYLES)])
                ln.set_marker(_MARKERS[k % len(_MARKERS)])
                step = max(1, n // 8)
                ln.set_markevery((min(n - 1, (k + 1) * step // (len(group) + 1)), step))
                ln.set_markersize(4)
                ln.set_label(f"{ln.get_label()} (= {first})")
                changed += 1
        legend = ax.get_legend()
        if groups and legend is not None:
            size = legend.get_texts()[0].get_fontsize() if legend.get_texts() else None
            ax.legend(fontsize=size, loc=getattr(legend, "_loc", "best"))
    return changed


def _colorbar_axes(fig: Figure) -> set[Any]:
    return {ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None}


def _has_colorbar(ax: Any) -> bool:
    return any(getattr(im, "colorbar", None) is not None for im in ax.images)


def check_axes(fig: Figure) -> None:
    """Check that every visible axes of ``fig`` has a title, both axis labels and a legend.

    A heatmap's colorbar stands for its legend; the colorbar's own axes are not checked.

    Raises:
        PlotError: Naming the axes and what is missing.
    """
    colorbars = _colorbar_axes(fig)
    for i, ax in enumerate(fig.axes):
        if ax in colorbars or not ax.get_visible() or not ax.has_data():
            continue
        missing = [
            name
            for name, ok in (
                ("title", bool(ax.get_title())),
                ("x label", bool(ax.get_xlabel())),
                ("y label", bool(ax.get_ylabel())),
                ("legend", ax.get_legend() is not None or _has_colorbar(ax)),
            )
            if not ok
        ]
        if missing:
            raise PlotError(
                f"axes {i} ({ax.get_title()!r}) of the figure misses: {', '.join(missing)}; "
                "every report plot needs a title, axis labels with units and a legend"
            )


def save(fig: Figure, out: Path, name: str) -> str:
    """Check, save as PNG into ``out`` and close the figure (coinciding lines distinguished).

    Args:
        fig: The figure.
        out: The report folder.
        name: File name (``.png``).

    Returns:
        ``name`` (for :attr:`Section.figures`).

    Raises:
        PlotError: If the figure fails :func:`check_axes` (the figure is closed anyway).
    """
    try:
        check_axes(fig)
        distinguish_coinciding(fig)
        fig.tight_layout()
        fig.savefig(Path(out) / name, dpi=100, metadata=_METADATA)
    finally:
        plt.close(fig)
    return name
