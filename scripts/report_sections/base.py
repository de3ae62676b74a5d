"""Shared types of the report sections: the run context, a section's output, Markdown tables.

Every section module exposes ``run(ctx: ReportContext) -> Section``. A section computes all
its numbers at run time from ``ctx.seed`` (never from the wall clock), writes its PNG plots
into ``ctx.out`` and returns Markdown. Wall-clock measurements go to ``Section.timings``, which
:mod:`scripts.report` writes to a separate ``timings.md`` so that ``report.md`` is identical
for identical seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ReportContext", "Section", "md_table", "fmt", "seed_for"]


@dataclass(frozen=True)
class ReportContext:
    """Settings shared by every section.

    Args:
        out: Folder receiving ``report.md``, the plots and ``timings.md``.
        quick: Small budgets (a few minutes on two cores) (default: ``False``).
        seed: Seed of every random choice of the report (default: ``0``).
        chainnet: A ChainNet-format ``raw`` folder to evaluate the predictors on
            (default: ``None``).
        model: A learned surrogate checkpoint (:meth:`chainnet.Surrogate.load`) (default:
            ``None`` = the packaged ``chainnet/checkpoints/default.pt`` if it exists).
        baselines: Trained GCN/GAT (or other) surrogate checkpoints (default: ``()``).
        scale: Extra multiplier of the budgets below the quick ones, for unit tests
            (``1.0`` = the normal quick/full budgets; ``< 1`` shrinks them) (default: ``1.0``).
    """

    out: Path
    quick: bool = False
    seed: int = 0
    chainnet: Path | None = None
    model: Path | None = None
    baselines: tuple[Path, ...] = ()
    scale: float = 1.0

    def pick(self, quick: int, full: int, minimum: int = 1) -> int:
        """A budget: ``quick`` or ``full``, times :attr:`scale`, at least ``minimum``."""
        base = quick if self.quick else full
        return max(minimum, int(round(base * self.scale)))


@dataclass
class Section:
    """The output of one report section.

    Args:
        key: Short identifier (``"simulator"``...).
        title: Heading of the section in ``report.md``.
        body: Markdown body (deterministic for a given seed).
        figures: PNG file names written into the report folder.
        timings: Wall-clock measurements (s), reported in ``timings.md`` only.
        data: Raw numbers for tests and callers (not written).
    """

    key: str
    title: str
    body: str
    figures: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        """The section as Markdown: heading, body and the embedded figures."""
        parts = [f"## {self.title}", "", self.body.rstrip(), ""]
        for name in self.figures:
            parts += [f"![{name}]({name})", ""]
        return "\n".join(parts)


def seed_for(seed: int, *keys: int) -> np.random.SeedSequence:
    """A child seed sequence of the report seed, one per (section, purpose) key."""
    return np.random.SeedSequence([int(seed), *map(int, keys)])


def fmt(value: Any, digits: int = 4) -> str:
    """Format a table cell: floats with ``digits`` significant digits, NaN as ``n/a``."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "n/a"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v == 0:
            return "0"
        return f"{v:.{digits}g}"
    return str(value)


def md_table(frame: pd.DataFrame, *, index: bool = True, digits: int = 4,
             percent: Sequence[str] = ()) -> str:
    """Render a DataFrame as a GitHub Markdown table (no extra dependency).

    Args:
        frame: The table.
        index: Show the index as the first column (default: ``True``).
        digits: Significant digits of floats (default: ``4``).
        percent: Columns holding fractions, shown as percentages (default: ``()``).

    Returns:
        The Markdown text (ends without a newline).
    """
    cols = list(frame.columns)
    header = ([str(frame.index.name or "")] if index else []) + [str(c) for c in cols]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for key, row in frame.iterrows():
        cells = [fmt(key)] if index else []
        for c in cols:
            v = row[c]
            if c in percent and isinstance(v, (float, np.floating)) and np.isfinite(v):
                cells.append(f"{100 * float(v):.{max(1, digits - 2)}f}%")
            else:
                cells.append(fmt(v, digits))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
