r"""Combine trained surrogate checkpoints into one :class:`chainnet.Ensemble` checkpoint.

To run::

    python -m training ensemble --model runs/s0.pt runs/s1.pt --out chainnet/checkpoints/default.pt
    python -m training ensemble --model runs/s0.pt runs/s1.pt --critics runs/old_s0.pt --out ens.pt

The members keep their weights and normalisers; ``--critics`` adds members of weight 0
(:class:`chainnet.Ensemble`): they leave the prediction, the mean of ``--model``, unchanged and
only widen the members' spread in ``uncertainty`` where they disagree (e.g. a member of an
earlier training stage). The new checkpoint's metadata lists each member's metadata under
``"members"`` (with ``"critic": true`` for a critic); the members' own uncertainty
calibration is not carried over: run ``python -m training calibrate`` on the result.
``--model`` names checkpoints as in ``evaluate`` and ``calibrate`` (``--models`` still works,
with a deprecation note); flags can come from YAML (``--config``, ``--print_config``). No
Lightning import.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "combine", "main"]

PROG = "python -m training ensemble"


def combine(paths: Sequence[str | Path], out: str | Path,
            metadata: dict[str, Any] | None = None,
            critics: Sequence[str | Path] = ()) -> Path:
    """Write an ensemble checkpoint of the surrogate checkpoints ``paths`` to ``out``.

    Args:
        paths: Surrogate checkpoints whose mean is the prediction (at least two, or one with
            ``critics``; an ensemble member cannot itself be an ensemble).
        out: Where to write the ensemble checkpoint.
        metadata: Extra metadata stored with the members' own (default: ``None``).
        critics: Checkpoints added as members of weight 0: they only widen the members'
            spread in ``uncertainty`` (default: none).

    Returns:
        The written path.

    Raises:
        ValueError: If fewer than two members are given in all, or none in ``paths``.
    """
    from chainnet import Ensemble, Surrogate

    if len(paths) < 1 or len(paths) + len(critics) < 2:
        raise ValueError(
            f"paths must name at least 2 checkpoints to combine (or 1 with critics), got "
            f"{len(paths)} and {len(critics)} critics"
        )
    sources = list(paths) + list(critics)
    members = [Surrogate.load(p) for p in sources]
    weights = [1.0] * len(paths) + [0.0] * len(critics) if critics else None
    model = Ensemble.from_models([m.model for m in members], weights)
    meta = {"members": [dict(m.metadata, source=str(p), critic=i >= len(paths))
                        for i, (m, p) in enumerate(zip(members, sources))]}
    meta.update(metadata or {})
    return Surrogate(model, metadata=meta).save(out)


def build_parser() -> Any:
    """The jsonargparse parser of ``python -m training ensemble``."""
    from training.precheck import command_parser

    parser = command_parser(PROG, __doc__)
    parser.add_argument("--model", type=str, nargs="+", required=True,
                        help="surrogate checkpoints to combine, at least 2 (old spelling: "
                             "--models)")
    parser.add_argument("--critics", type=str, nargs="+", default=[],
                        help="checkpoints added with weight 0: they widen the spread of the "
                             "uncertainty only, the prediction stays the mean of --model")
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

    for flag, paths in (("--model", args.model), ("--critics", args.critics)):
        for model in paths:
            if not Path(model).is_file():
                fail(f"{flag} {model!r}: no such checkpoint file")
    if len(args.model) + len(args.critics) < 2:
        fail(f"--model needs at least 2 checkpoints (or 1 and --critics), got {len(args.model)}")
    path = combine(args.model, args.out, critics=args.critics)
    critics = f" and {len(args.critics)} critics" if args.critics else ""
    print(f"wrote an ensemble of {len(args.model)} members{critics} to {path}")
    return path
