"""Fail fast on missing inputs of ``python -m training``, before the heavy imports.

:func:`precheck` reads the arguments and config files far enough to see whether the files and
folders they name exist (Lightning and PyG take seconds to import); a missing one ends the
command at once with one line on stderr saying what to run first (exit status 2).

The command-line conventions shared by ``evaluate``, ``ensemble``, ``calibrate`` and the
scripts live here too (this module imports nothing heavy): :data:`RENAMED` maps the old
spellings of renamed flags to the current ones, :func:`rename_deprecated` applies it with a
one-line note, and :func:`parse_or_exit` turns a jsonargparse error into one line (those two
are defined in :mod:`datagen.cli_common`, for ``python -m datagen`` to share them).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any, NoReturn

from datagen.cli_common import parse_or_exit, rename_deprecated

__all__ = [
    "LIGHTNING_SUBCOMMANDS",
    "RENAMED",
    "command_parser",
    "parse_or_exit",
    "precheck",
    "rename_deprecated",
]

#: Old flag spelling -> current one, per command (the old one still works, with a note).
#: One name per idea: ``--model`` for checkpoints (one or several), ``--data.<role>`` for
#: dataset folders as in LightningCLI (``--data.test`` to score on, ``--data.val`` held out),
#: ``--data.format`` for their format.
RENAMED: dict[str, dict[str, str]] = {
    "evaluate": {"--data": "--data.test", "--format": "--data.format"},
    "calibrate": {"--data": "--data.val"},
    "ensemble": {"--models": "--model"},
}

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")
# ``ckpt_path`` values Lightning resolves itself (not file paths)
_CKPT_KEYWORDS = ("best", "last", "hpc")
_DATA_KEYS = ("train", "test", "predict", "format")
_EXPORT_MEMBER = (
    "python -c \"from chainnet import Surrogate; "
    "Surrogate(Surrogate.default().model.members[0]).save('{path}')\""
)


def command_parser(prog: str, doc: str) -> Any:
    """A jsonargparse parser for a ``python -m training`` subcommand, with ``--config``.

    Made with ``exit_on_error=False`` (for :func:`parse_or_exit`); the description is the first
    paragraph of ``doc``.

    Args:
        prog: The program name shown in usage and errors.
        doc: The subcommand module's docstring.

    Returns:
        The parser, holding only ``--config``.
    """
    from datagen.cli_common import tool_parser

    parser = tool_parser(prog, doc.split("\n\n")[0])
    return parser


def _fail(message: str) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with status 2."""
    print("error: " + " ".join(message.split()), file=sys.stderr)
    raise SystemExit(2)


def _packaged_configs() -> list[str]:
    """Names of the packaged sampler configs, found without importing :mod:`datagen`."""
    spec = find_spec("datagen")
    if spec is None or not spec.submodule_search_locations:
        return ["chainnet_like"]
    names = [p.stem for loc in spec.submodule_search_locations
             for p in (Path(loc) / "configs").glob("*.yaml")]
    return sorted(names) or ["chainnet_like"]


def _how_to_make(folder: str, fmt: str = "datagen") -> str:
    """The command that writes a missing dataset folder."""
    if fmt == "chainnet":
        return f"write it first: python -m datagen export-chainnet DATASET_DIR --out {folder}"
    name = Path(folder).name
    matches = [c for c in _packaged_configs() if name.startswith(c)]
    config = max(matches, key=len) if matches else "chainnet_like"
    return (f"generate it first: python -m datagen generate --config {config} --out {folder} "
            f"--num_samples 2000 --workers 2")


def _is_file(path: Any) -> bool:
    try:
        return Path(str(path)).is_file()
    except (OSError, ValueError):
        return False


def _exists(path: Any) -> bool:
    try:
        return Path(str(path)).exists()
    except (OSError, ValueError):
        return False


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _yaml_value(text: str) -> Any:
    """A command-line value as jsonargparse reads it (YAML), or the raw text."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _load_yaml_file(path: str, what: str) -> Any:
    """The YAML document of a config file (or of a YAML mapping given in its place).

    A path that names no file and is no YAML mapping ends the command.
    """
    import yaml

    if not _is_file(path):
        inline = _yaml_value(path)
        if isinstance(inline, dict):
            return inline
        _fail(f"{what} file {path!r} does not exist")
    try:
        return yaml.safe_load(Path(path).read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # jsonargparse reports it


def _options(args: Sequence[str], short: dict[str, str] | None = None) -> Iterator[
        tuple[str, list[str]]]:
    """``(name, values)`` of every ``--name v1 v2`` / ``--name=v`` option, in order."""
    short = short or {}
    i = 0
    while i < len(args):
        tok = args[i]
        i += 1
        if tok in short:
            tok = "--" + short[tok]
        if not tok.startswith("--"):
            continue
        name, eq, value = tok[2:].partition("=")
        if eq:
            yield name, [value]
            continue
        values = []
        while i < len(args) and not args[i].startswith("--") and args[i] not in short:
            values.append(args[i])
            i += 1
        yield name, values


class _LightningArgs:
    """The few settings of a LightningCLI command line that name files or folders."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.init_from: Any = None
        self.ckpt_path: Any = None

    def merge_data(self, section: Any, base: Path | None = None) -> None:
        if isinstance(section, str):  # a data config file, relative to its parent config
            path = Path(section)
            if base is not None and not path.is_absolute() and not _exists(path):
                path = base / path
            section = _load_yaml_file(str(path), "data config")
        if isinstance(section, dict):
            if isinstance(section.get("init_args"), dict):
                section = section["init_args"]
            for key in _DATA_KEYS:
                if key in section:
                    self.data[key] = section[key]

    def merge_model(self, section: Any) -> None:
        if isinstance(section, dict):
            if isinstance(section.get("init_args"), dict):
                section = section["init_args"]
            if "init_from" in section:
                self.init_from = section["init_from"]

    def merge_config(self, path: str) -> None:
        cfg = _load_yaml_file(path, "config")
        if not isinstance(cfg, dict):
            return
        base = Path(path).parent
        if "data" in cfg:
            self.merge_data(cfg["data"], base)
        if "model" in cfg:
            self.merge_model(cfg["model"])
        if "ckpt_path" in cfg:
            self.ckpt_path = cfg["ckpt_path"]

    def set(self, name: str, value: str) -> None:
        append = name.endswith("+")
        name = name.rstrip("+").replace(".init_args.", ".")
        if name == "config":
            self.merge_config(value)
        elif name == "data":
            self.merge_data(value if _is_file(value) else _yaml_value(value))
        elif name.startswith("data.") and name[5:] in _DATA_KEYS:
            key, parsed = name[5:], _yaml_value(value)
            if append:
                parsed = _as_list(self.data.get(key)) + _as_list(parsed)
            self.data[key] = parsed
        elif name == "model":
            self.merge_model(_load_yaml_file(value, "model config") if _is_file(value)
                             else _yaml_value(value))
        elif name == "model.init_from":
            self.init_from = _yaml_value(value)
        elif name == "ckpt_path":
            self.ckpt_path = _yaml_value(value)


def _check_lightning(subcommand: str, args: Sequence[str]) -> None:
    """Data folders, ``model.init_from`` and ``ckpt_path`` of a LightningCLI subcommand."""
    if any(a.startswith("--print_config") for a in args):
        return  # printing the config needs no data
    state = _LightningArgs()
    for name, values in _options(args, short={"-c": "config"}):
        for value in values[:1]:
            state.set(name, value)
    data = state.data
    fmt = str(data.get("format") or "datagen")
    if subcommand == "predict" and _as_list(data.get("predict")):
        needed = ["predict"]  # predicting reads only data.predict
    else:
        needed = ["train", "test", "predict"]
    for key in needed:
        for folder in _as_list(data.get(key)):
            if _exists(folder):
                continue
            hint = _how_to_make(folder, fmt)
            if key == "test":
                hint += " (or pass --data.test null to test on a split of data.train)"
            _fail(f"data.{key} folder {folder!r} does not exist; {hint}")
    if state.init_from is not None and not _is_file(state.init_from):
        path = str(state.init_from)
        _fail(f"model.init_from file {path!r} does not exist; train one first ({_FIT_WRITES}) "
              f"or write a member of the packaged ensemble: {_EXPORT_MEMBER.format(path=path)}")
    ckpt = state.ckpt_path
    if (ckpt is not None and str(ckpt) not in _CKPT_KEYWORDS
            and not str(ckpt).startswith("registry") and not _is_file(ckpt)):
        _fail(f"ckpt_path file {str(ckpt)!r} does not exist; name a checkpoint that "
              f"python -m training fit saved, or 'best' / 'last'")


def _check_files(option: str, paths: Sequence[str], keywords: Sequence[str] = (),
                 hint: str = "") -> None:
    for path in paths:
        if path not in keywords and not _is_file(path):
            also = " (or " + " / ".join(repr(k) for k in keywords) + ")" if keywords else ""
            _fail(f"{option} {path!r}: no such checkpoint file{also}{hint}")


_FIT_WRITES = ("python -m training fit writes surrogate.pt in its log folder, or to "
               "--model.export_path")
_TRAIN_ONE = (f"; train one first ({_FIT_WRITES}) or use the packaged "
              f"chainnet/checkpoints/default.pt")


def _check_folders(option: str, paths: Sequence[str], fmt: str = "datagen") -> None:
    for path in paths:
        if not _exists(path):
            _fail(f"{option} folder {path!r} does not exist; {_how_to_make(path, fmt)}")


def _check_tool(command: str, args: Sequence[str]) -> None:
    """Files and folders of ``evaluate``, ``calibrate`` and ``ensemble`` (old spellings too)."""
    opts: dict[str, list[str]] = {}
    for name, values in _options(rename_deprecated(args, RENAMED[command], "", quiet=True)):
        opts[name] = values
    fmt = (opts.get("data.format") or ["datagen"])[0]
    if command == "evaluate":
        _check_files("--model", opts.get("model", []), ("default", "analytic"), _TRAIN_ONE)
        _check_folders("--data.test", opts.get("data.test", []), fmt)
        _check_files("--record", opts.get("record", [])[:1])
    elif command == "calibrate":
        _check_files("--model", opts.get("model", [])[:1], hint=_TRAIN_ONE)
        _check_folders("--data.val", opts.get("data.val", []))
    elif command == "ensemble":
        _check_files("--model", opts.get("model", []), hint=_TRAIN_ONE)


def precheck(args: Sequence[str]) -> None:
    """End the command with one line on stderr (exit 2) if a file or folder it needs is missing.

    Checks, without importing Lightning, torch or PyG: the ``--config`` files and the data
    folders they or the command line name (``data.train``, ``data.test``, ``data.predict``;
    ``predict`` with ``data.predict`` reads only that), ``model.init_from`` and ``ckpt_path`` of
    the LightningCLI subcommands, and the ``--model`` / ``--data.test`` / ``--data.val`` /
    ``--record`` paths of ``evaluate``, ``calibrate`` and ``ensemble`` (their deprecated
    spellings of :data:`RENAMED` too). ``--help`` and ``--print_config`` skip it.

    Raises:
        SystemExit: With status 2, after printing ``error: ...`` naming the missing path and
            the command that makes it.
    """
    if not args or any(a in ("-h", "--help") or a.startswith("--print_config") for a in args):
        return
    command, rest = args[0], list(args[1:])
    if command in LIGHTNING_SUBCOMMANDS:
        _check_lightning(command, rest)
    elif command in ("evaluate", "calibrate", "ensemble"):
        _check_tool(command, rest)
