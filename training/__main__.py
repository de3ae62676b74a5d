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
    cli_main(argv)


if __name__ == "__main__":
    main()
