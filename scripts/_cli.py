"""Command-line plumbing the scripts share: parsing their arguments and reporting usage errors.

Private to :mod:`scripts`; the parsers themselves come from
:func:`datagen.cli_common.tool_parser`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

__all__ = ["parse_command_line", "usage_error"]


def parse_command_line(
    parser: Any, argv: Sequence[str] | None, renamed: Mapping[str, str] | None = None
) -> Any:
    """Parse a script's arguments, accepting the deprecated spellings of its flags.

    Args:
        parser: The script's parser (its ``build_parser()``); its ``prog`` names the script in
            notes and errors.
        argv: The arguments (``None`` = ``sys.argv[1:]``).
        renamed: Deprecated flag spelling -> current one; each old spelling used is rewritten
            with a one-line note on stderr (:func:`datagen.cli_common.rename_deprecated`)
            (default: ``None`` = none).

    Returns:
        The parsed namespace.

    Raises:
        SystemExit: Status 2 after one line on stderr for a bad flag or value; status 0 after
            ``--help`` or ``--print_config`` (:func:`datagen.cli_common.parse_or_exit`).
    """
    from datagen.cli_common import parse_or_exit, rename_deprecated

    raw = sys.argv[1:] if argv is None else argv
    return parse_or_exit(parser, rename_deprecated(raw, renamed or {}, parser.prog))


def usage_error(prog: str, message: str) -> NoReturn:
    """End a script on a bad flag value: ``PROG: error: MESSAGE (see PROG --help)``, status 2.

    Raises:
        SystemExit: Always, with status 2, after the line on stderr.
    """
    print(f"{prog}: error: {message} (see {prog} --help)", file=sys.stderr)
    raise SystemExit(2)
