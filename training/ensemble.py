r"""Combine trained surrogate checkpoints into one :class:`chainnet.Ensemble` checkpoint.

To run::

    python -m training ensemble --model runs/s0.pt runs/s1.pt --out chainnet/checkpoints/default.pt

The members keep their weights and normalisers; the new checkpoint's metadata lists each
member's metadata under ``"members"``. ``--model`` names checkpoints as in ``evaluate`` and
``calibrate`` (``--models`` still works, with a deprecation note); flags can come from YAML
(``--config``, ``--print_config``). No Lightning import.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "combine", "main"]

PROG = "python -m training ensemble"


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


def build_parser() -> Any:
    """The jsonargparse parser of ``python -m training ensemble``."""
    from training.precheck import command_parser

    parser = command_parser(PROG, __doc__)
    parser.add_argument("--model", type=str, nargs="+", required=True,
                        help="surrogate checkpoints to combine, at least 2 (old spelling: "
                             "--models)")
    parser.add_argument("--out", type=str, required=True, help="the ensemble checkpoint to write")
    return parser


def main(argv: Sequence[str] | None = None) -> Path:
    """Command-line entry point; returns the written checkpoint.

    Raises:
        SystemExit: Status 2 with one line on stderr on a bad argument or a missing checkpoint.
    """
    from training.precheck import RENAMED, parse_or_exit, rename_deprecated

    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_or_exit(build_parser(), rename_deprecated(raw, RENAMED["ensemble"], PROG))

    def fail(message: str) -> None:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    for model in args.model:
        if not Path(model).is_file():
            fail(f"--model {model!r}: no such checkpoint file")
    if len(args.model) < 2:
        fail(f"--model needs at least 2 checkpoints, got {len(args.model)}")
    path = combine(args.model, args.out)
    print(f"wrote an ensemble of {len(args.model)} members to {path}")
    return path
