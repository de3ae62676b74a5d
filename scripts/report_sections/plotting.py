"""Small matplotlib helpers for the report: Agg backend, checked and reproducible PNGs.

Every plot of the report must have a title, axis labels with units and a legend;
:func:`save` refuses a figure whose axes lack one of them, so a section cannot silently ship
an unlabelled plot. PNGs are written without timestamps (``metadata``), so the same data gives
the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["figure", "save", "check_axes", "PlotError"]

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


def check_axes(fig: Figure) -> None:
    """Check that every visible axes of ``fig`` has a title, both axis labels and a legend.

    Raises:
        PlotError: Naming the axes and what is missing.
    """
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.has_data():
            continue
        missing = [
            name
            for name, ok in (
                ("title", bool(ax.get_title())),
                ("x label", bool(ax.get_xlabel())),
                ("y label", bool(ax.get_ylabel())),
                ("legend", ax.get_legend() is not None),
            )
            if not ok
        ]
        if missing:
            raise PlotError(
                f"axes {i} ({ax.get_title()!r}) of the figure misses: {', '.join(missing)}; "
                "every report plot needs a title, axis labels with units and a legend"
            )


def save(fig: Figure, out: Path, name: str) -> str:
    """Check, save as PNG into ``out`` and close the figure.

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
        fig.tight_layout()
        fig.savefig(Path(out) / name, dpi=100, metadata=_METADATA)
    finally:
        plt.close(fig)
    return name
