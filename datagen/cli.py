"""Command line of :mod:`datagen`: ``python -m datagen <command> ...``.

Commands:

- ``generate --config CONFIG --out DIR --num_samples N [--workers W] [--seed S]
  [--shard_size M] [--num_requests R] [--executor process|dask [--address HOST:PORT]]
  [--no_progress] [--overwrite]``: draw, simulate and write a sharded labelled dataset
  (resumable: rerun the same command; a folder holding another dataset is refused unless
  ``--overwrite``). The
  shards run in a local process pool of ``W`` workers, or on Dask: ``--executor dask
  --address HOST:PORT`` joins a running cluster (its workers must see ``DIR`` at the same
  path), and ``--executor dask`` alone starts a ``dask.distributed.LocalCluster`` of ``W``
  single-threaded worker processes (fewer if there are fewer shards to do) and closes it at
  the end.
- ``export-chainnet DIR --out OUT``: convert a generated dataset into the ChainNet text format.
- ``configs``: list the packaged sampler configs.

Flags are snake_case as in ``python -m training`` and ``python -m placement`` (LightningCLI's
style), and the folder a command writes is always ``--out``. The old spellings
(``--num-samples``, ``--shard-size``, ``--num-requests``, ``--no-progress`` and the positional
``OUT`` of ``export-chainnet``) still work and print a one-line deprecation note. ``--config``
here names a sampler config (a packaged name or a YAML file), not a file of flags.

The module imports only :mod:`argparse` at load time, so ``--help`` is instant; the heavy
modules are imported by the command that needs them (never torch). Errors the package raises
on purpose, and I/O errors such as an unwritable output folder, print one line and exit 2.

To run::

    python -m datagen generate --config chainnet_like --out data/chainnet_like \
        --num_samples 2000 --workers 2
    python -m datagen export-chainnet data/chainnet_like --out data/chainnet_like_raw
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

__all__ = ["RENAMED", "build_parser", "main"]

PROG = "python -m datagen"
#: Deprecated flag spelling -> current one (kebab-case -> snake_case).
RENAMED: dict[str, str] = {"--num-samples": "--num_samples", "--shard-size": "--shard_size",
                           "--num-requests": "--num_requests", "--no-progress": "--no_progress"}


def _rename_deprecated(argv: Sequence[str]) -> list[str]:
    """Rewrite the :data:`RENAMED` spellings, with one note each on stderr.

    (:func:`training.precheck.rename_deprecated` does the same for ``python -m training``;
    :mod:`datagen` cannot import :mod:`training`.)
    """
    out: list[str] = []
    noted: set[str] = set()
    for tok in argv:
        name, eq, value = tok.partition("=")
        if name in RENAMED:
            if name not in noted:
                print(f"note: {PROG}: {name} is deprecated; use {RENAMED[name]}",
                      file=sys.stderr)
                noted.add(name)
            tok = RENAMED[name] + eq + value
        out.append(tok)
    return out


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``python -m datagen``."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Labelled datasets of edge DNN deployments.",
        epilog="Flags are snake_case; the old kebab-case spellings still work (deprecated)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="generate a sharded, labelled dataset")
    gen.add_argument("--config", required=True,
                     help="packaged config name (chainnet_like, large, edge) or a YAML path")
    gen.add_argument("--out", required=True, help="output dataset directory")
    gen.add_argument("--num_samples", type=int, required=True, help="number of scenarios")
    gen.add_argument("--workers", type=int, default=1,
                     help="worker processes of the process pool, or of the local Dask cluster "
                          "that --executor dask starts without --address (default: 1)")
    gen.add_argument("--seed", type=int, default=0, help="dataset seed (default: 0)")
    gen.add_argument("--shard_size", type=int, default=None,
                     help="samples per shard (default: the resumed dataset's, else "
                          "min(1000, ceil(num_samples / workers)) so every worker has a shard)")
    gen.add_argument("--num_requests", type=int, default=None,
                     help="override simulation.num_requests of the config")
    gen.add_argument("--executor", choices=("process", "dask"), default="process",
                     help="process: a local process pool; dask: a Dask cluster, the one at "
                          "--address, else a LocalCluster of --workers single-threaded "
                          "processes started here and closed at the end (default: process)")
    gen.add_argument("--address", default=None,
                     help="HOST:PORT of a running Dask scheduler to join (--executor dask "
                          "only; its workers must see --out at the same path)")
    gen.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    gen.add_argument("--overwrite", action="store_true",
                     help="delete a dataset already in --out (manifest and shards) and start again")

    exp = sub.add_parser("export-chainnet", help="write a dataset in the ChainNet text format")
    exp.add_argument("dataset", help="dataset directory made by `generate`")
    exp.add_argument("--out", default=None, help="output folder for the 14 ChainNet .txt files")
    exp.add_argument("old_out", nargs="?", default=None, metavar="OUT",
                     help="deprecated: the output folder as a second positional; use --out")

    sub.add_parser("configs", help="list the packaged sampler configs")
    return parser


def _generate(ns: argparse.Namespace) -> int:
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


def _export(ns: argparse.Namespace) -> int:
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
    for sid, (scenario, _) in zip(ds.sample_ids, samples):
        reasons = chainnet_incompatibilities(scenario)
        if reasons:
            raise ValueError(
                f"sample {sid} of {ns.dataset} does not fit the ChainNet format: "
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 with a message on bad input)."""
    parser = build_parser()
    ns = parser.parse_args(_rename_deprecated(sys.argv[1:] if argv is None else argv))
    if ns.command == "export-chainnet":
        if ns.old_out is not None and ns.out is not None:
            parser.error("export-chainnet: give the output folder once, with --out")
        if ns.old_out is not None:
            print(f"note: {PROG} export-chainnet: the positional OUT is deprecated; use --out "
                  f"{ns.old_out}", file=sys.stderr)
            ns.out = ns.old_out
        if ns.out is None:
            parser.error("export-chainnet: the following argument is required: --out")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if ns.command == "generate":
            return _generate(ns)
        if ns.command == "export-chainnet":
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
