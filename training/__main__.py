"""``python -m training``: LightningCLI subcommands plus ``evaluate``.

To run::

    python -m training fit --config training/configs/chainnet.yaml
    python -m training evaluate --model chainnet/checkpoints/default.pt --data data/test
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Dispatch ``evaluate`` to :mod:`training.evaluate`, everything else to LightningCLI."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "evaluate":
        from training.evaluate import main as evaluate_main

        evaluate_main(argv[1:])
        return
    from training.cli import cli_main

    cli_main(argv)


if __name__ == "__main__":
    main()
