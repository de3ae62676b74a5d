"""Entry point of ``python -m datagen``; see :mod:`datagen.cli`."""

from datagen.cli import main

raise SystemExit(main())
