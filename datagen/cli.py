"""Command line of :mod:`datagen`: ``python -m datagen <command> ...``.

Commands:

- ``generate --config CONFIG --out DIR --num-samples N [--workers W] [--seed S]
  [--shard-size M] [--num-requests R] [--executor process|dask [--address HOST:PORT]]
  [--overwrite]``: draw, simulate and write a sharded labelled dataset (resumable: rerun the
  same command; a folder holding another dataset is refused unless ``--overwrite``). The
  shards run in a local process pool of ``W`` workers, or on Dask: ``--executor dask
  --address HOST:PORT`` joins a running cluster (its workers must see ``DIR`` at the same
  path), and ``--executor dask`` alone starts a ``dask.distributed.LocalCluster`` of ``W``
  single-threaded worker processes (fewer if there are fewer shards to do) and closes it at
  the end.
- ``export-chainnet DIR OUT``: convert a generated dataset into the ChainNet text format.
- ``configs``: list the packaged sampler configs.

The module imports only :mod:`argparse` at load time, so ``--help`` is instant; the heavy
modules are imported by the command that needs them (never torch). Errors the package raises
on purpose, and I/O errors such as an unwritable output folder, print one line and exit 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``python -m datagen``."""
    parser = argparse.ArgumentParser(
        prog="python -m datagen", description="Labelled datasets of edge DNN deployments."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="generate a sharded, labelled dataset")
    gen.add_argument("--config", required=True,
                     help="packaged config name (chainnet_like, large, edge) or a YAML path")
    gen.add_argument("--out", required=True, help="output dataset directory")
    gen.add_argument("--num-samples", type=int, required=True, help="number of scenarios")
    gen.add_argument("--workers", type=int, default=1,
                     help="worker processes of the process pool, or of the local Dask cluster "
                          "that --executor dask starts without --address (default: 1)")
    gen.add_argument("--seed", type=int, default=0, help="dataset seed (default: 0)")
    gen.add_argument("--shard-size", type=int, default=None,
                     help="samples per shard (default: the resumed dataset's, else "
                          "min(1000, ceil(num_samples / workers)) so every worker has a shard)")
    gen.add_argument("--num-requests", type=int, default=None,
                     help="override simulation.num_requests of the config")
    gen.add_argument("--executor", choices=("process", "dask"), default="process",
                     help="process: a local process pool; dask: a Dask cluster, the one at "
                          "--address, else a LocalCluster of --workers single-threaded "
                          "processes started here and closed at the end (default: process)")
    gen.add_argument("--address", default=None,
                     help="HOST:PORT of a running Dask scheduler to join (--executor dask "
                          "only; its workers must see --out at the same path)")
    gen.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    gen.add_argument("--overwrite", action="store_true",
                     help="delete a dataset already in --out (manifest and shards) and start again")

    exp = sub.add_parser("export-chainnet", help="write a dataset in the ChainNet text format")
    exp.add_argument("dataset", help="dataset directory made by `generate`")
    exp.add_argument("out", help="output folder for the 14 ChainNet .txt files")

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
    ns = parser.parse_args(argv)
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
