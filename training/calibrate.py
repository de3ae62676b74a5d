r"""Calibrate a surrogate's uncertainty flag on labelled data and store it in the checkpoint.

:meth:`chainnet.Surrogate.predict` flags a prediction ``uncertain`` when a feature is out of
the training range (widened by ``range_margin`` standard deviations) or when

.. math:: u = \text{member spread of the loss ratio} + w_\pi\,|\hat\ell - \ell^\pi|
    + w_a\,|\hat\ell - \ell^a| > t

(:math:`\ell^\pi` the graph's one-step prior, :math:`\ell^a` the loss ratio of
:class:`chainnet.AnalyticSurrogate`). The flag should catch the services whose loss-ratio
error exceeds :data:`training.metrics.FLAG_ERROR` (recall) while flagging few services
(share). For every ``(range_margin, prior_weight, analytic_weight)`` of a small grid, this
picks the largest threshold ``t`` whose recall reaches ``--recall`` on the calibration
data, and keeps the setting with the smallest flagged share. Calibrate on data held out
from both training and testing (``--data.val``; ``--data`` still works, with a deprecation
note). To run::

    python -m training calibrate --model runs/placer.pt --data.val data/placer_val --recall 0.9

Flags can come from YAML (``--config``, ``--print_config``). No Lightning import.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.evaluate import service_labels
from training.metrics import FLAG_ERROR

__all__ = ["build_parser", "calibrate_uncertainty", "main"]

PROG = "python -m training calibrate"

#: Grid of the calibration: range margins (std), prior-gap and analytic-gap weights.
RANGE_MARGINS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, math.inf)
PRIOR_WEIGHTS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0)
ANALYTIC_WEIGHTS: tuple[float, ...] = (0.0, 0.25, 0.4, 0.5, 0.75, 1.0, 2.0)


def calibrate_uncertainty(
    surrogate: Any, samples: Sequence[tuple[Any, pd.DataFrame, Any]], recall: float = 0.9
) -> dict[str, float]:
    """Choose the settings of a surrogate's ``uncertain`` flag (module docstring).

    Args:
        surrogate: A :class:`chainnet.Surrogate` (its settings are changed in place to the
            chosen ones).
        samples: Labelled ``(scenario, service labels, device labels)`` triples
            (:func:`training.samples.load_samples`).
        recall: Share of the services with a loss-ratio error above
            :data:`~training.metrics.FLAG_ERROR` that must be flagged, in (0, 1]
            (default: ``0.9``).

    Returns:
        The chosen ``threshold``, ``prior_weight``, ``analytic_weight``, ``range_margin``
        and their ``recall`` and flagged ``share`` on ``samples``.

    Raises:
        ValueError: If ``recall`` is not in (0, 1] or ``samples`` is empty.
    """
    if not 0.0 < recall <= 1.0:
        raise ValueError(f"recall must be in (0, 1], got {recall!r}")
    if not samples:
        raise ValueError("samples is empty: nothing to calibrate on")
    true = service_labels(samples)["loss_ratio"].to_numpy(np.float64)
    scenarios = [s for s, _, _ in samples]
    from chainnet.analytic import AnalyticSurrogate

    analytic = AnalyticSurrogate().loss_ratios(scenarios)
    surrogate.analytic_weight = 0.0
    best: dict[str, float] | None = None
    for margin in RANGE_MARGINS:
        surrogate.range_margin = 1e12 if math.isinf(margin) else margin
        surrogate.prior_weight = 0.0
        base = surrogate.predict(scenarios)
        err = np.abs(base["loss_ratio"].to_numpy() - true)
        known = np.isfinite(err)
        bad = known & (err > FLAG_ERROR)
        oor = base["out_of_range"].to_numpy(bool)
        spread = base["uncertainty"].to_numpy()
        # the prior gap is the same for every weight: |prediction - prior| from w = 1
        surrogate.prior_weight = 1.0
        gap = surrogate.predict(scenarios)["uncertainty"].to_numpy() - spread
        agap = np.abs(base["loss_ratio"].to_numpy() - analytic)
        agap = np.where(np.isfinite(agap), agap, 0.0)
        for weight in PRIOR_WEIGHTS:
            for a_weight in ANALYTIC_WEIGHTS:
                u = spread + weight * gap + a_weight * agap
                row = _choose_threshold(u, bad, oor, known, recall)
                row.update(prior_weight=weight, analytic_weight=a_weight,
                           range_margin=margin if math.isfinite(margin) else 1e12)
                if best is None or row["share"] < best["share"] - 1e-12:
                    best = row
    assert best is not None
    surrogate.uncertainty_threshold = best["threshold"]
    surrogate.prior_weight = best["prior_weight"]
    surrogate.analytic_weight = best["analytic_weight"]
    surrogate.range_margin = best["range_margin"]
    return best


def _choose_threshold(u: np.ndarray, bad: np.ndarray, oor: np.ndarray, known: np.ndarray,
                      recall: float) -> dict[str, float]:
    """The largest threshold on ``u`` that flags ``recall`` of the ``bad`` services.

    The ``oor`` ones are flagged anyway; returns the threshold, its ``recall`` and the
    flagged ``share`` of the ``known`` services.
    """
    need = max(1, math.ceil(recall * bad.sum())) if bad.any() else 0
    missed = np.sort(u[bad & ~oor])[::-1]
    caught = int((bad & oor).sum())
    if need <= caught:
        t = float(np.max(u[known])) if known.any() else 0.0
    else:
        # flag the (need - caught) largest uncertainties of the bad unflagged services
        t = float(np.nextafter(missed[need - caught - 1], -np.inf))
    flag = oor | (u > t)
    return {
        "threshold": max(0.0, t),
        "recall": float(flag[bad].mean()) if bad.any() else 1.0,
        "share": float(flag[known].mean()),
    }


def build_parser() -> Any:
    """The jsonargparse parser of ``python -m training calibrate``."""
    from training.precheck import command_parser

    parser = command_parser(PROG, __doc__)
    parser.add_argument("--model", type=str, required=True,
                        help="surrogate checkpoint (rewritten with the calibration)")
    parser.add_argument("--data.val", type=str, nargs="+", required=True,
                        help="held-out labelled dataset folders, neither trained nor tested on "
                             "(old spelling: --data)")
    parser.add_argument("--recall", type=float, default=0.9,
                        help="share of services off by > 0.1 in loss ratio to flag")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Command-line entry point; prints and returns the chosen calibration.

    Raises:
        SystemExit: Status 2 with one line on stderr on a bad argument or a missing checkpoint.
    """
    from chainnet import Surrogate
    from training.precheck import RENAMED, parse_or_exit, rename_deprecated
    from training.samples import load_samples

    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_or_exit(build_parser(), rename_deprecated(raw, RENAMED["calibrate"], PROG))
    folders = list(args.data.val)
    if not Path(args.model).is_file():
        print(f"{PROG}: error: --model {args.model!r}: no such checkpoint file", file=sys.stderr)
        raise SystemExit(2)
    samples = [s for d in folders for s in load_samples(d)]
    surrogate = Surrogate.load(args.model)
    chosen = calibrate_uncertainty(surrogate, samples, args.recall)
    surrogate.metadata["uncertainty"] = {
        **{k: chosen[k] for k in ("threshold", "prior_weight", "analytic_weight",
                                  "range_margin")},
        "calibrated_on": [Path(d).name for d in folders],
        "recall": chosen["recall"], "share": chosen["share"],
    }
    surrogate.save(args.model)
    print(f"calibrated {args.model} on {len(samples)} graphs: threshold "
          f"{chosen['threshold']:.4g}, prior_weight {chosen['prior_weight']}, analytic_weight "
          f"{chosen['analytic_weight']}, range_margin "
          f"{chosen['range_margin']:.3g}; flags {chosen['recall']:.1%} of the services off by "
          f"> {FLAG_ERROR} in loss ratio and {chosen['share']:.1%} of all")
    return chosen


if __name__ == "__main__":
    main()
