"""``python -m training``: LightningCLI subcommands plus ``evaluate``, ``ensemble``, ``calibrate``.

To run::

    python -m datagen generate --config chainnet_like --out data/chainnet_like --num_samples 2000
    python -m training fit --config training/configs/chainnet.yaml
    python -m training evaluate --model chainnet/checkpoints/default.pt --data.test data/test
    python -m training ensemble --model runs/s0.pt runs/s1.pt --out runs/ensemble.pt
    python -m training calibrate --model runs/ensemble.pt --data.val data/placer_val

``python -m training --help`` prints the command list from :data:`COMMANDS` without importing
Lightning, torch or PyG (it takes a fraction of a second); ``python -m training fit --help``
builds the LightningCLI parser. Before anything heavy is imported,
:func:`training.precheck.precheck` reads the arguments and config files far enough to see
whether the files and folders they name exist; a missing one ends the command at once with one
line on stderr saying what to run first (exit status 2).
"""

from __future__ import annotations

import difflib
import sys

from training.precheck import precheck

__all__ = ["COMMANDS", "PROG", "main", "usage"]

PROG = "python -m training"

#: Every subcommand with its one-line summary (the top-level ``--help``, no import needed).
COMMANDS: dict[str, str] = {
    "fit": "train a predictor (LightningCLI; YAML configs in training/configs/)",
    "validate": "one evaluation epoch of a model on the validation split",
    "test": "score a model on the test folders (--data.test) or on a split of --data.train",
    "predict": "per-service predictions of a checkpoint (--model.init_from) on --data.predict",
    "evaluate": "score checkpoints, default or analytic on labelled folders (--data.test)",
    "ensemble": "combine trained surrogate checkpoints (--model A B) into one ensemble",
    "calibrate": "calibrate a checkpoint's uncertainty flag on held-out folders (--data.val)",
}


def usage() -> str:
    """The text of ``python -m training --help``."""
    width = max(map(len, COMMANDS))
    rows = "\n".join(f"  {name:<{width}}  {text}" for name, text in COMMANDS.items())
    return (
        f"usage: {PROG} [-h] {{{','.join(COMMANDS)}}} ...\n\n"
        "Train, score, combine and calibrate the performance predictors (ChainNet and the\n"
        "GCN/GAT/MLP baselines).\n\n"
        f"commands:\n{rows}\n\n"
        f"Run '{PROG} COMMAND --help' for the flags of a command. Every command takes\n"
        "--config FILE.yaml (its flags from YAML) and --print_config, as in LightningCLI;\n"
        "flags are snake_case and dotted (--data.test DIR), percentages are printed with one\n"
        "decimal and stored as fractions.\n"
    )


def main(argv: list[str] | None = None) -> None:
    """Dispatch ``evaluate``, ``ensemble`` and ``calibrate`` to their modules, the rest on."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage(), end="", file=sys.stdout if args else sys.stderr)
        if not args:
            print(f"error: give a command: {', '.join(COMMANDS)}", file=sys.stderr)
        raise SystemExit(0 if args else 2)
    if not args[0].startswith("-") and args[0] not in COMMANDS:
        close = difflib.get_close_matches(args[0], list(COMMANDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(f"error: unknown command {args[0]!r}{hint}; choose from {', '.join(COMMANDS)} "
              f"(see {PROG} --help)", file=sys.stderr)
        raise SystemExit(2)
    precheck(args)
    if args[0] == "evaluate":
        from training.evaluate import main as evaluate_main

        evaluate_main(args[1:])
        return
    if args[0] == "calibrate":
        from training.calibrate import main as calibrate_main

        calibrate_main(args[1:])
        return
    if args[0] == "ensemble":
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
