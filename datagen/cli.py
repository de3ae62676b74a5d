"""Command line of :mod:`datagen`: ``python -m datagen <command> ...``.

Commands:

- ``generate --config CONFIG --out DIR --num_samples N [--workers W] [--seed S]
  [--shard_size M] [--num_requests R] [--executor process|dask [--address HOST:PORT]]
  [--no_progress] [--overwrite]``: draw, simulate and write a sharded labelled dataset
  (resumable: rerun the same command; a folder holding another dataset is refused unless
  ``--overwrite``). The shards run in a local process pool of ``W`` workers, or on Dask:
  ``--executor dask --address HOST:PORT`` joins a running cluster (its workers must see
  ``DIR`` at the same path), and ``--executor dask`` alone starts a
  ``dask.distributed.LocalCluster`` of ``W`` single-threaded worker processes (fewer if there
  are fewer shards to do) and closes it at the end.
- ``export-chainnet DIR --out OUT``: convert a generated dataset into the ChainNet text format.
- ``configs``: list the packaged sampler configs.

Flags follow LightningCLI (jsonargparse), as in ``python -m training`` and ``python -m placement``:
snake_case, ``--print_config`` prints a command's flags as YAML, and a file of flags is read
back with ``--cli_config FILE.yaml`` (later flags override it). The file option is named
``--cli_config`` here, not ``--config`` as in the other tools, because ``generate --config``
already names the sampler config (a packaged name or a YAML file of the sampling regime);
``--config`` keeps that meaning and is an ordinary key of the printed YAML. The folder a command
writes is always ``--out``. The old spellings (``--num-samples``, ``--shard-size``,
``--num-requests``, ``--no-progress`` and the positional ``OUT`` of ``export-chainnet``) still
work and print a one-line deprecation note.

The module imports nothing but the standard library at load time, and :mod:`jsonargparse` to
parse, so ``--help`` is quick; the heavy modules are imported by the command that needs them
(never torch). A bad flag value prints one line naming the flag, the value and the help to read;
errors the package raises on purpose, and I/O errors such as an unwritable output folder, print
one line and exit 2.

To run::

    python -m datagen generate --config chainnet_like --out data/chainnet_like \
        --num_samples 2000 --workers 2
    python -m datagen export-chainnet data/chainnet_like --out data/chainnet_like_raw
    python -m datagen generate --config chainnet_like --out data/small --num_samples 4 \
        --print_config > generate.yaml
    python -m datagen generate --cli_config generate.yaml
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, Literal, NoReturn

__all__ = ["COMMANDS", "RENAMED", "build_parser", "main"]

PROG = "python -m datagen"
#: The subcommands, in the order of ``--help``.
COMMANDS = ("generate", "export-chainnet", "configs")
#: Deprecated flag spelling -> current one (kebab-case -> snake_case).
RENAMED: dict[str, str] = {"--num-samples": "--num_samples", "--shard-size": "--shard_size",
                           "--num-requests": "--num_requests", "--no-progress": "--no_progress"}


def build_parser() -> Any:
    """Build the jsonargparse parser of ``python -m datagen`` (three subcommands).

    Returns:
        A ``jsonargparse.ArgumentParser`` made with ``exit_on_error=False`` (for
        :func:`datagen.cli_common.parse_or_exit`).
    """
    from jsonargparse import ArgumentParser

    from datagen.cli_common import tool_parser

    def sub(description: str) -> ArgumentParser:
        return tool_parser(None, description, config_flag="--cli_config",
                           config_help="read these flags from a YAML file written by "
                                       "--print_config (not --config: that is the sampler "
                                       "config of generate)")

    parser = ArgumentParser(
        prog=PROG, exit_on_error=False, description="Labelled datasets of edge DNN deployments.",
        epilog="Flags are snake_case (the old kebab-case spellings still work, deprecated). "
               "--print_config prints a command's flags as YAML; --cli_config FILE.yaml reads "
               "them back.")
    commands = parser.add_subcommands(required=True, dest="command")

    gen = sub("Draw, simulate and write a sharded, labelled dataset (resumable: rerun the same "
              "command).")
    gen.add_argument("--config", type=str, required=True,
                     help="sampler config: a packaged name (see the configs command) or a YAML "
                          "path")
    gen.add_argument("--out", type=str, required=True, help="output dataset directory")
    gen.add_argument("--num_samples", type=int, required=True, help="number of scenarios")
    gen.add_argument("--workers", type=int, default=1,
                     help="worker processes of the process pool, or of the local Dask cluster "
                          "that --executor dask starts without --address")
    gen.add_argument("--seed", type=int, default=0, help="dataset seed")
    gen.add_argument("--shard_size", type=int | None, default=None,
                     help="samples per shard (null: the resumed dataset's, else "
                          "min(1000, ceil(num_samples / workers)) so every worker has a shard)")
    gen.add_argument("--num_requests", type=int | None, default=None,
                     help="override simulation.num_requests of the config (null: keep it)")
    gen.add_argument("--executor", type=Literal["process", "dask"], default="process",
                     help="process: a local process pool; dask: a Dask cluster, the one at "
                          "--address, else a LocalCluster of --workers single-threaded "
                          "processes started here and closed at the end")
    gen.add_argument("--address", type=str | None, default=None,
                     help="HOST:PORT of a running Dask scheduler to join (--executor dask "
                          "only; its workers must see --out at the same path)")
    gen.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    gen.add_argument("--overwrite", action="store_true",
                     help="delete a dataset already in --out (manifest and shards) and start again")
    commands.add_subcommand("generate", gen, help="generate a sharded, labelled dataset")

    exp = sub("Write a dataset made by generate in the ChainNet text format.")
    exp.add_argument("dataset", type=str, help="dataset directory made by `generate`")
    exp.add_argument("--out", type=str | None, default=None,
                     help="output folder for the 14 ChainNet .txt files (required)")
    exp.add_argument("old_out", type=str | None, nargs="?", default=None, metavar="OUT",
                     help="deprecated: the output folder as a second positional; use --out")
    commands.add_subcommand("export-chainnet", exp,
                            help="write a dataset in the ChainNet text format")

    configs = ArgumentParser(description="List the packaged sampler configs.",
                             exit_on_error=False)
    commands.add_subcommand("configs", configs, help="list the packaged sampler configs")
    return parser


def _generate(ns: Any) -> int:
    from datagen.dataset import generate

    manifest = generate(
        ns.config,
        ns.out,
        ns.num_samples,
        seed=ns.seed,
        workers=ns.workers,
        shard_size=ns.shard_size,
        executor=ns.executor,
        address=ns.address,
        num_requests=ns.num_requests,
        progress=not ns.no_progress,
        overwrite=ns.overwrite,
    )
    c = manifest["counts"]
    print(
        f"{ns.out}: {c['samples_done']}/{manifest['num_samples']} samples in "
        f"{c['shards_done']}/{manifest['num_shards']} shards"
    )
    return 0


def _export(ns: Any) -> int:
    from datagen.chainnet_format import chainnet_incompatibilities, write_chainnet
    from datagen.dataset import load_dataset

    _check_out_dir(ns.out)  # before the (slow) load, and without creating anything
    ds = load_dataset(ns.dataset)
    regime = ds.manifest.get("config", {}).get("regime")
    if regime == "edge":
        raise ValueError(
            f"dataset {ns.dataset} uses the 'edge' regime (links, gamma service, semantic "
            f"splits, several servers): it does not fit the ChainNet format, whose model is "
            f"deterministic single-server devices without network; export only chainnet_like "
            f"or large datasets"
        )
    samples = ds.samples
    for sid, (scenario, _) in zip(ds.scenario_ids, samples):
        reasons = chainnet_incompatibilities(scenario)
        if reasons:
            raise ValueError(
                f"scenario {sid} of {ns.dataset} does not fit the ChainNet format: "
                + "; ".join(reasons)
            )
    out = write_chainnet(samples, ns.out)
    print(f"wrote {len(samples)} samples in the ChainNet format to {out}")
    return 0


def _check_out_dir(out: str) -> None:
    """Refuse an output folder that is a file, lies under a file, or cannot be written."""
    from pathlib import Path

    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"output folder {out!r} is a file, not a directory; choose a folder path")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(
            f"cannot create the output folder {out!r}: {str(existing)!r} is a file, not a "
            f"directory; choose a folder path"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"output folder {out!r} is not writable; choose a writable folder path")


def _usage_error(command: str, message: str) -> NoReturn:
    """One line ``PROG COMMAND: error: ...`` on stderr, then exit with status 2."""
    prog = f"{PROG} {command}"
    print(f"{prog}: error: {message} (see {prog} --help)", file=sys.stderr)
    raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 with a message on bad input).

    Args:
        argv: Arguments without the program name (default: ``None`` = ``sys.argv[1:]``).

    Returns:
        ``0`` on success, ``2`` after one line ``error: ...`` on stderr when the package
        refuses an input or an I/O operation fails.

    Raises:
        SystemExit: Status 2 after one line on stderr for a bad flag or value; status 0 after
            ``--help`` or ``--print_config``.
    """
    from datagen.cli_common import parse_or_exit, rename_deprecated

    raw = sys.argv[1:] if argv is None else argv
    cfg = parse_or_exit(build_parser(), rename_deprecated(raw, RENAMED, PROG), COMMANDS)
    ns = cfg[cfg.command]
    if cfg.command == "export-chainnet":
        if ns.old_out is not None and ns.out is not None:
            _usage_error("export-chainnet", "give the output folder once, with --out")
        if ns.old_out is not None:
            print(f"note: {PROG} export-chainnet: the positional OUT is deprecated; use --out "
                  f"{ns.old_out}", file=sys.stderr)
            ns.out = ns.old_out
        if ns.out is None:
            _usage_error("export-chainnet", "the following argument is required: --out")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if cfg.command == "generate":
            return _generate(ns)
        if cfg.command == "export-chainnet":
            return _export(ns)
        from datagen.sampling import list_configs

        print("\n".join(list_configs()))
        return 0
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a full disk or a folder made read-only mid-run
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
