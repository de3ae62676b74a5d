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

__all__ = ["parse_or_exit", "rename_deprecated", "tool_parser"]

#: jsonargparse's type names -> words, in parse errors.
_TYPE_WORDS = {"<class 'int'>": "an integer", "<class 'float'>": "a number",
               "<class 'str'>": "a string"}


def tool_parser(prog: str | None, description: str, *, config_flag: str = "--config",
                keep_layout: bool = False, config_help: str | None = None) -> Any:
    """A jsonargparse parser in the style every tool shares, with its file-of-flags option.

    Args:
        prog: Program name shown in usage and errors (e.g. ``"python -m scripts.demo"``), or
            ``None`` for a subcommand's parser.
        description: Help text (the module docstring, or its first paragraph).
        config_flag: Name of the option that reads flags from a YAML file (default:
            ``"--config"``; ``"--cli_config"`` where ``--config`` already means something,
            e.g. a sampler config). ``--print_config`` prints such a file.
        keep_layout: Keep the line breaks of ``description`` in ``--help`` (default:
            ``False``: reflow it).
        config_help: Help of ``config_flag`` (default: ``None`` = the shared wording).

    Returns:
        A ``jsonargparse.ArgumentParser`` made with ``exit_on_error=False`` (for
        :func:`parse_or_exit`), with ``config_flag`` added.
    """
    from jsonargparse import ActionConfigFile, ArgumentParser, DefaultHelpFormatter

    kwargs: dict[str, Any] = {"description": description, "exit_on_error": False}
    if prog is not None:
        kwargs["prog"] = prog
    if keep_layout:
        import argparse

        class Formatter(DefaultHelpFormatter, argparse.RawDescriptionHelpFormatter):
            """Keep the layout of the description in ``--help``."""

        kwargs["formatter_class"] = Formatter
    parser = ArgumentParser(**kwargs)
    shared_help = "read these flags from a YAML file (see --print_config)"
    parser.add_argument(config_flag, action=ActionConfigFile, help=config_help or shared_help)
    return parser


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
