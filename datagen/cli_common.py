"""Command-line conventions shared by every tool (``python -m datagen``, ``training``, scripts).

Every tool parses with jsonargparse, as LightningCLI does: snake_case, dotted flags, a file of
flags and ``--print_config``. :func:`rename_deprecated` keeps the old spellings of renamed
flags working, with a one-line note; :func:`parse_or_exit` turns a jsonargparse error into one
line that names the flag, the value and where to look. They live in :mod:`datagen`, the bottom
layer, so that every package may use them (see ARCHITECTURE.md); this module imports only the
standard library at load time, and jsonargparse when a parse runs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["parse_or_exit", "rename_deprecated"]

#: jsonargparse's type names -> words, in parse errors.
_TYPE_WORDS = {"<class 'int'>": "an integer", "<class 'float'>": "a number",
               "<class 'str'>": "a string"}


def rename_deprecated(args: Sequence[str], renames: Mapping[str, str], prog: str,
                      quiet: bool = False) -> list[str]:
    """Rewrite deprecated flag spellings (``--old v`` and ``--old=v``) to the current ones.

    Args:
        args: Command-line arguments.
        renames: Old spelling -> current spelling, e.g. ``{"--models": "--model"}``.
        prog: Program name for the note, e.g. ``"python -m training ensemble"``.
        quiet: Do not print the note (default: ``False``).

    Returns:
        The arguments with the current spellings; for each old one used, a line
        ``note: PROG: --old is deprecated; use --new`` went to stderr (once per flag).
    """
    out: list[str] = []
    noted: set[str] = set()
    for tok in args:
        name, eq, value = tok.partition("=")
        new = renames.get(name)
        if new is not None and tok.startswith("--"):
            if not quiet and name not in noted:
                print(f"note: {prog}: {name} is deprecated; use {new}", file=sys.stderr)
                noted.add(name)
            tok = new + eq + value
        out.append(tok)
    return out


def parse_or_exit(parser: Any, args: Sequence[str], commands: Sequence[str] = ()) -> Any:
    """Parse ``args`` with a jsonargparse parser made with ``exit_on_error=False``.

    Args:
        parser: The parser.
        args: Command-line arguments.
        commands: The parser's subcommands, if it has any (default: none). A parse error of a
            subcommand then names ``PROG COMMAND`` and the flag without the command's prefix
            (``--num_samples``, not ``generate.num_samples``).

    Returns:
        The parsed namespace.

    Raises:
        SystemExit: Status 2 after one line ``PROG: error: ...`` on stderr for a bad argument;
            the status of ``--help`` / ``--print_config`` (0) after they print.
    """
    from jsonargparse import ArgumentError

    try:
        return parser.parse_args(list(args))
    except ArgumentError as exc:
        prog = parser.prog
        msg = " ".join(str(exc).split())
        if args and args[0] in commands:
            prog = f"{prog} {args[0]}"
            cmd = re.escape(args[0])
            msg = re.sub(rf'Parser key "{cmd}\.', 'Parser key "', msg)
            msg = re.sub(rf"(?<![\w.-]){cmd}\.(\w+)", r"--\1", msg)
        msg = msg.replace('Parser key "', "--").replace('": ', ": ")
        for name, words in _TYPE_WORDS.items():
            msg = msg.replace(f"Expected a {name}", f"expected {words}")
        msg = re.sub(r"Expected a typing\.Literal\[(.*?)\]", r"expected one of \1", msg)
        print(f"{prog}: error: {msg} (see {prog} --help)", file=sys.stderr)
        raise SystemExit(2) from None
