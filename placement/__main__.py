"""Entry point of ``python -m placement``; see :mod:`placement.cli`."""

from placement.cli import main

raise SystemExit(main())
