r"""Hard-example mining for the surrogate: the training graphs a model still gets wrong.

The packaged surrogate still gets part of its own training data wrong: on the ``placer``
folders it was trained on, 0.24% of the services were off by more than 0.1 in loss ratio
(0.5% on ``placer_test``). Those graphs are a small share of an epoch, so a plain fine-tuning
step spends almost nothing on them. One round of this tool:

1. predict every service of the ``--data`` folders with ``--model`` (a checkpoint trained on
   them);
2. keep the scenarios with a service whose predicted loss ratio is off by more than
   ``--threshold`` (absolute);
3. write those scenarios, labels unchanged, into one new dataset folder ``--out``.

Fine-tune on the old folders plus ``--out`` listed several times (the hard graphs then count
several times per epoch), then calibrate the ``uncertain`` flag again. Usage::

    python -m scripts.hard_examples --model runs/placer_s16.pt --out data/placer_hard1 \
        --data data/placer5 data/placer6 --threshold 0.05

No simulation runs: the labels are the folders' own. The written folder is a regular dataset
(one shard, scenarios renumbered from 0 in the order of ``--data``); ``manifest.json`` keeps the
first folder's config and records where each scenario came from (``hard_examples``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scripts._cli import parse_command_line, usage_error

__all__ = ["build_parser", "hard_scenarios", "write_subset", "main"]

PROG = "python -m scripts.hard_examples"
_TABLES = ("scenarios", "services", "devices", "links")


def hard_scenarios(predictor: Any, source: str | Path, threshold: float) -> np.ndarray:
    """The scenario ids of a dataset with a service whose loss ratio is off by ``> threshold``.

    Args:
        predictor: Anything with the predictor interface (``predict(scenarios)``).
        source: A dataset folder (labelled by :mod:`datagen`).
        threshold: Largest absolute loss-ratio error of a scenario that is not kept.

    Returns:
        The sorted ids (the dataset's ``scenario`` column) of the kept scenarios.
    """
    from datagen.dataset import load_dataset
    from training.evaluate import service_predictions
    from training.samples import load_samples

    # the samples come in the dataset's scenario order: position i is scenario_ids[i]
    errors = service_predictions(predictor, load_samples(source))
    ids = np.asarray(load_dataset(source).scenario_ids)
    bad = errors["loss_error"].abs().to_numpy() > threshold
    return np.unique(ids[errors["scenario"].to_numpy()[bad]])


def write_subset(parts: Sequence[tuple[str | Path, np.ndarray]], out: str | Path) -> int:
    """Write the chosen scenarios of several datasets, labels unchanged, into one dataset.

    Args:
        parts: ``(dataset folder, scenario ids)`` pairs; the scenarios are renumbered from 0
            in this order.
        out: The new dataset folder (must not exist yet).

    Returns:
        The number of scenarios written.

    Raises:
        FileExistsError: If ``out`` exists.
        ValueError: If ``parts`` is empty.
    """
    from datagen.dataset import load_dataset
    from datagen.shards import write_shard

    if not parts:
        raise ValueError("write_subset needs at least one (dataset, ids) pair")
    root = Path(out)
    root.mkdir(parents=True, exist_ok=False)
    pieces: dict[str, list[pd.DataFrame]] = {name: [] for name in _TABLES}
    origin = []
    start = 0
    manifest: dict[str, Any] | None = None
    for source, ids in parts:
        dataset = load_dataset(source)
        if manifest is None:
            manifest = dict(dataset.manifest)
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        renumber = pd.Series(np.arange(start, start + ids.size), index=ids)
        for name in _TABLES:
            table = getattr(dataset, name)
            kept = table[table["scenario"].isin(ids)].copy()
            kept["scenario"] = renumber.loc[kept["scenario"].to_numpy()].to_numpy()
            pieces[name].append(kept)
        origin.append({"source": str(source), "scenarios": [int(i) for i in ids]})
        start += ids.size
    assert manifest is not None
    tables = {f"{name}.parquet": pd.concat(frames, ignore_index=True).sort_values(
        "scenario", kind="stable").reset_index(drop=True) for name, frames in pieces.items()}
    sums = write_shard(root, 0, tables)
    rows = {f"{name[:-1]}_rows": len(tables[f"{name}.parquet"])
            for name in ("services", "devices", "links")}
    manifest.update(
        num_samples=start, shard_size=max(start, 1), num_shards=1, complete=True,
        counts={"shards_done": 1, "samples_done": start, **rows},
        shards=[{"name": "shard-00000", "index": 0, "start": 0, "stop": start,
                 "status": "done", **rows, "sha256": sums}],
        hard_examples=origin,
    )
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return start


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    from datagen.cli_common import tool_parser

    parser = tool_parser(PROG, __doc__.splitlines()[0])
    parser.add_argument("--model", type=str, required=True,
                        help="the checkpoint to mine with (a Surrogate file)")
    parser.add_argument("--data", type=str, nargs="+", required=True,
                        help="dataset folders the model was trained on")
    parser.add_argument("--out", type=Path, required=True,
                        help="the new dataset folder (must not exist)")
    parser.add_argument("--threshold", type=float, default=0.05,
                        help="keep scenarios with a loss-ratio error above this (default: 0.05)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one round; returns the number of scenarios written."""
    args = parse_command_line(build_parser(), argv)
    if not 0.0 <= args.threshold < 1.0:
        usage_error(PROG, f"--threshold must be in [0, 1), got {args.threshold}")
    if args.out.exists():
        usage_error(PROG, f"--out {args.out} exists; pick a new folder")
    missing = [d for d in args.data if not (Path(d) / "manifest.json").is_file()]
    if missing:
        usage_error(PROG, f"--data {missing[0]} is not a dataset folder (no manifest.json)")
    from chainnet import Surrogate

    predictor = Surrogate.load(args.model)
    t0 = time.perf_counter()
    parts = []
    for source in args.data:
        ids = hard_scenarios(predictor, source, args.threshold)
        print(f"{source}: {ids.size} scenarios with a loss-ratio error above {args.threshold}",
              file=sys.stderr)
        if ids.size:
            parts.append((source, ids))
    if not parts:
        usage_error(PROG, f"no scenario has a loss-ratio error above {args.threshold}")
    n = write_subset(parts, args.out)
    print(f"wrote {n} scenarios to {args.out} in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    return n


if __name__ == "__main__":
    main()
