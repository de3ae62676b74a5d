"""``python -m training``: LightningCLI subcommands plus ``evaluate``, ``ensemble``, ``calibrate``.

To run::

    python -m datagen generate --config chainnet_like --out data/chainnet_like --num-samples 2000
    python -m training fit --config training/configs/chainnet.yaml
    python -m training evaluate --model chainnet/checkpoints/default.pt --data data/test
    python -m training ensemble --models runs/s0.pt runs/s1.pt --out runs/ensemble.pt
    python -m training calibrate --model runs/ensemble.pt --data data/placer_val

Before anything heavy is imported (Lightning and PyG take seconds),
:func:`training.precheck.precheck` reads the arguments and config files far enough to see
whether the files and folders they name exist; a
missing one ends the command at once with one line on stderr saying what to run first
(exit status 2).
"""

from __future__ import annotations

import sys

from training.precheck import precheck

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Dispatch ``evaluate``, ``ensemble`` and ``calibrate`` to their modules, the rest on."""
    args = sys.argv[1:] if argv is None else argv
    precheck(args)
    if args and args[0] == "evaluate":
        from training.evaluate import main as evaluate_main

        evaluate_main(args[1:])
        return
    if args and args[0] == "calibrate":
        from training.calibrate import main as calibrate_main

        calibrate_main(args[1:])
        return
    if args and args[0] == "ensemble":
        from training.ensemble import main as ensemble_main

        ensemble_main(args[1:])
        return
    from training.cli import cli_main

    # LightningCLI reads sys.argv itself; pass arguments only when they did not come from it
    try:
        cli_main(argv)
    except ValueError as exc:
        if not _raised_on_purpose(exc):
            raise
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        print(f"error: {lines[0]}", file=sys.stderr)
        raise SystemExit(1) from None


def _raised_on_purpose(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc`` lies in this project's packages.

    There a ``ValueError`` is a checked input; raised inside a library it is more likely a
    bug, whose traceback the user should see.
    """
    from pathlib import Path

    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    where = Path(tb.tb_frame.f_code.co_filename).resolve()
    root = Path(__file__).resolve().parents[1]
    return any(where.is_relative_to(root / pkg)
               for pkg in ("datagen", "chainnet", "training", "placement"))


if __name__ == "__main__":
    main()
