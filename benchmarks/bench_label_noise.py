"""The label-noise floor of a dataset: how far two simulations of the same scenario disagree.

A simulated label is an estimate: a predictor that knew the true value exactly would still
score a MAPE against it. This relabels the first ``--num_samples`` scenarios of a dataset
with fresh simulator seeds (the simulation settings the dataset was made with, read from its
manifest: the same request counts and precision targets) and reports, per metric of
``python -m training evaluate``, the error between the two labellings and the single-label
noise it implies (two independent labels differ by about sqrt(2) times one label's error).
A target below that floor cannot be met on that dataset.

To run::

    .venv/bin/python benchmarks/bench_label_noise.py --data data/edge_test
    .venv/bin/python benchmarks/bench_label_noise.py --data data/placer_test --num_samples 100
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

#: Ratio metrics scored by absolute percentage error, as ``training evaluate`` does.
APE_METRICS: tuple[str, ...] = ("tput_ratio", "respt_ratio", "latency_p95")


def relabel(data: str, config: str | None, num_samples: int, seed: int) -> pd.DataFrame:
    """One row per (scenario, service): the stored labels (``_a``) and fresh ones (``_b``).

    ``config`` (a sampler config name or path) gives the simulation settings; ``None`` reads
    them from the dataset's manifest.
    """
    from datagen.dataset import load_dataset
    from datagen.labelling import UnlabelledScenarioError, label_scenario
    from datagen.sampling import load_sampler_config
    from training.samples import load_samples

    cfg = load_dataset(data).config if config is None else load_sampler_config(config)
    simulation = cfg.simulation
    rows = []
    for i, (scenario, labels, _) in enumerate(load_samples(data)[:num_samples]):
        try:
            fresh, _, _, _ = label_scenario(scenario, simulation, seed=seed + i)
        except UnlabelledScenarioError:
            continue
        stored = labels.set_index("service") if "service" in labels.columns else labels
        for name in stored.index:
            row: dict[str, float | int | str] = {"scenario": i, "service": str(name)}
            for k in (*APE_METRICS, "loss_ratio"):
                row[f"{k}_a"] = float(stored.loc[name, k])
                row[f"{k}_b"] = float(fresh.loc[name, k])
            rows.append(row)
    return pd.DataFrame(rows)


def noise_floor(df: pd.DataFrame) -> dict[str, float]:
    """Two-label errors and the implied single-label noise (percent; loss ratio for loss)."""
    out: dict[str, float] = {}
    for k in APE_METRICS:
        a, b = df[f"{k}_a"].to_numpy(), df[f"{k}_b"].to_numpy()
        ok = np.isfinite(a) & np.isfinite(b) & (a != 0)
        two = float(np.mean(np.abs(b[ok] - a[ok]) / np.abs(a[ok]))) * 100
        out[f"{k}_two_label_ape"] = two
        out[f"{k}_noise"] = two / math.sqrt(2)
    out["combined_noise"] = (out["tput_ratio_noise"] + out["respt_ratio_noise"]) / 2
    out["loss_two_label_mae"] = float((df["loss_ratio_a"] - df["loss_ratio_b"]).abs().mean())
    out["loss_noise"] = out["loss_two_label_mae"] / math.sqrt(2)
    return out


PROG = "python benchmarks/bench_label_noise.py"


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    from datagen.cli_common import tool_parser

    ap = tool_parser(PROG, __doc__.split("\n\n")[0], config_flag="--cli_config")
    ap.add_argument("--data", type=str, required=True,
                    help="dataset folder made by python -m datagen")
    ap.add_argument("--config", type=str | None, default=None,
                    help="sampler config (name or YAML path) whose simulation settings to use "
                         "(default: the dataset's own, from its manifest)")
    ap.add_argument("--num_samples", type=int, default=200, help="scenarios to relabel")
    ap.add_argument("--seed", type=int, default=987_654,
                    help="simulator seed of the first relabelled scenario (then +1 each)")
    return ap


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Command-line entry point; returns the noise floor (see :func:`noise_floor`)."""
    from datagen.cli_common import parse_or_exit

    args = parse_or_exit(build_parser(), sys.argv[1:] if argv is None else argv)
    if args.num_samples < 1:
        print(f"{PROG}: error: --num_samples must be >= 1, got {args.num_samples}",
              file=sys.stderr)
        raise SystemExit(2)
    t0 = time.perf_counter()
    df = relabel(args.data, args.config, args.num_samples, args.seed)
    if df.empty:
        print(f"{PROG}: error: no scenario of {args.data} could be relabelled", file=sys.stderr)
        raise SystemExit(2)
    floor = noise_floor(df)
    print(f"{args.data}: {df['scenario'].nunique()} scenarios, {len(df)} services relabelled "
          f"in {time.perf_counter() - t0:.0f} s")
    for k in APE_METRICS:
        print(f"  {k:12s} two labels differ by {floor[f'{k}_two_label_ape']:5.2f}% "
              f"-> one label's noise ~ {floor[f'{k}_noise']:5.2f}%")
    print(f"  combined MAPE floor ~ {floor['combined_noise']:.2f}%; loss ratio: two labels "
          f"differ by {floor['loss_two_label_mae']:.4f} -> noise ~ {floor['loss_noise']:.4f}")
    return floor


if __name__ == "__main__":
    main()
