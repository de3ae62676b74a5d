r"""Combine trained surrogate checkpoints into one :class:`chainnet.Ensemble` checkpoint.

To run::

    python -m training ensemble --models runs/s0.pt runs/s1.pt --out chainnet/checkpoints/default.pt

The members keep their weights and normalisers; the new checkpoint's metadata lists each
member's metadata under ``"members"``. No Lightning import.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["combine", "main"]


def combine(paths: Sequence[str | Path], out: str | Path,
            metadata: dict[str, Any] | None = None) -> Path:
    """Write an ensemble checkpoint of the surrogate checkpoints ``paths`` to ``out``.

    Args:
        paths: Surrogate checkpoints (at least two; an ensemble member cannot itself be an
            ensemble).
        out: Where to write the ensemble checkpoint.
        metadata: Extra metadata stored with the members' own (default: ``None``).

    Returns:
        The written path.

    Raises:
        ValueError: If fewer than two checkpoints are given.
    """
    from chainnet import Ensemble, Surrogate

    if len(paths) < 2:
        raise ValueError(f"paths must name at least 2 checkpoints to combine, got {len(paths)}")
    members = [Surrogate.load(p) for p in paths]
    model = Ensemble.from_models([m.model for m in members])
    meta = {"members": [dict(m.metadata, source=str(p)) for m, p in zip(members, paths)]}
    meta.update(metadata or {})
    return Surrogate(model, metadata=meta).save(out)


def main(argv: Sequence[str] | None = None) -> Path:
    """Command-line entry point; returns the written checkpoint."""
    parser = argparse.ArgumentParser(prog="python -m training ensemble", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True, nargs="+", help="surrogate checkpoints")
    parser.add_argument("--out", required=True, help="the ensemble checkpoint to write")
    args = parser.parse_args(argv)
    for model in args.models:
        if not Path(model).is_file():
            parser.error(f"--models {model!r}: no such checkpoint file")
    if len(args.models) < 2:
        parser.error(f"--models needs at least 2 checkpoints, got {len(args.models)}")
    path = combine(args.models, args.out)
    print(f"wrote an ensemble of {len(args.models)} members to {path}")
    return path
