"""Score any predictor on any labelled dataset and print the metrics table.

To run::

    python -m training evaluate --model chainnet/checkpoints/default.pt --data data/test
    python -m training evaluate --model analytic --data chainnet/test_TypeI/raw --format chainnet

``--model`` is a surrogate checkpoint (:meth:`chainnet.Surrogate.load`), ``default`` (the
packaged model) or ``analytic`` (:class:`chainnet.AnalyticSurrogate`). No Lightning import.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.metrics import evaluation_table, service_errors

__all__ = ["evaluate", "load_predictor", "main"]


def load_predictor(spec: str) -> Any:
    """Return a predictor from ``"default"``, ``"analytic"`` or a checkpoint path.

    Raises:
        FileNotFoundError: If the checkpoint does not exist.
    """
    from chainnet import AnalyticSurrogate, Surrogate

    if spec == "analytic":
        return AnalyticSurrogate()
    if spec == "default":
        return Surrogate.default()
    return Surrogate.load(spec)


def evaluate(
    predictor: Any, samples: Sequence[tuple[Any, pd.DataFrame, Any]]
) -> pd.DataFrame:
    """Score ``predictor`` on labelled samples.

    Args:
        predictor: Anything with ``predict(scenarios) -> DataFrame`` (the predictor interface).
        samples: ``(scenario, service labels, device labels)`` triples
            (:func:`training.data.load_samples`).

    Returns:
        :func:`training.metrics.evaluation_table` (overall and by services per graph).

    Raises:
        ValueError: If ``samples`` is empty.
    """
    if not samples:
        raise ValueError("samples is empty: nothing to evaluate")
    scenarios = [s for s, _, _ in samples]
    pred = predictor.predict(scenarios)
    truth = pd.concat(
        [
            labels.reindex([svc.name for svc in sc.services]).assign(
                scenario=i, num_services=len(sc.services)
            )
            for i, (sc, labels, _) in enumerate(samples)
        ],
        ignore_index=True,
    )
    keys = ("tput_ratio", "respt_ratio", "loss_ratio", "latency_mean", "latency_p95")
    true = {k: truth[k].to_numpy(np.float64) if k in truth else np.full(len(truth), np.nan)
            for k in keys}
    true["num_services"] = truth["num_services"].to_numpy(np.float64)
    return evaluation_table(service_errors({k: pred[k].to_numpy() for k in keys}, true))


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    """Command-line entry point; prints the table and returns it."""
    from training.data import FORMATS, load_samples

    parser = argparse.ArgumentParser(prog="python -m training evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True,
                        help="checkpoint path, 'default' or 'analytic'")
    parser.add_argument("--data", required=True, help="dataset folder")
    parser.add_argument("--format", default="datagen", choices=FORMATS)
    args = parser.parse_args(argv)
    if args.model not in ("default", "analytic") and not Path(args.model).is_file():
        parser.error(f"--model {args.model!r}: no such checkpoint file")
    samples = load_samples(args.data, args.format)
    table = evaluate(load_predictor(args.model), samples)
    shown = table.copy()
    for col in shown.columns:
        if col.endswith("mape") or col.endswith("ape"):
            shown[col] = shown[col].map(lambda v: f"{100 * v:.2f}%")
        elif col.startswith("loss"):
            shown[col] = shown[col].map(lambda v: f"{v:.4f}")
    print(f"model {args.model} on {args.data} ({len(samples)} graphs)")
    print(shown.to_string())
    return table
