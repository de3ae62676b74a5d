r"""Accuracy metrics of a performance predictor: pure functions of predictions and labels.

The same functions score a model during training (:mod:`training.module`) and any predictor
on any dataset (``python -m training evaluate``). Per service (chain) :math:`c`:

.. math::
    \mathrm{APE}_c(y) = \frac{|y_c - \hat y_c|}{y_c + 10^{-5}}, \qquad
    \mathrm{MAPE} = \frac{1}{2}\big(\overline{\mathrm{APE}}(\mathrm{tput\_ratio})
        + \overline{\mathrm{APE}}(\mathrm{respt\_ratio})\big)

the *combined MAPE* of ChainNet (Niu, Roveri, Casale, DSN 2024), plus the loss-ratio MAE over
all services and over lossy ones (true loss > 1%), the largest loss-ratio error, and the latency
MAPE and p95 APE in seconds. ``bad_services`` counts the services with a loss-ratio error
above :data:`FLAG_ERROR`; for a predictor that flags its predictions (the ``uncertain``
column of :meth:`chainnet.Surrogate.predict`), ``flag_recall`` is the share of those that are
flagged (with few of them, one service moves it a lot: read it with the count), and
``flag_share`` the share of all services flagged. Every metric is also broken down by the
number of services in the service's graph.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "EPS",
    "LOSSY_THRESHOLD",
    "FLAG_ERROR",
    "METRIC_COLUMNS",
    "service_errors",
    "summarize",
    "evaluation_table",
]

#: The ChainNet MAPE guard added to the true value.
EPS: float = 1e-5
#: A service is "lossy" when its true loss ratio exceeds this.
LOSSY_THRESHOLD: float = 0.01
#: A loss-ratio error above this is one an uncertainty flag should catch.
FLAG_ERROR: float = 0.1
#: Columns of :func:`evaluation_table`, in order.
METRIC_COLUMNS: tuple[str, ...] = (
    "services",
    "tput_mape",
    "respt_mape",
    "combined_mape",
    "loss_mae",
    "loss_mae_lossy",
    "latency_mape",
    "p95_ape",
    "loss_max_ae",
    "bad_services",
    "flag_recall",
    "flag_share",
)


def service_errors(pred: Mapping[str, np.ndarray], true: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Per-service absolute (percentage) errors.

    Args:
        pred: Predicted ``tput_ratio``, ``respt_ratio``, ``loss_ratio``, ``latency_mean`` (s)
            and ``latency_p95`` (s), arrays ``[S]``; optionally ``uncertain`` (bool ``[S]``).
        true: The same keys from simulation (missing or NaN entries give NaN errors, e.g. p95
            in the ChainNet text format), plus ``num_services`` ``[S]``: services in the graph.

    Returns:
        One row per service: ``num_services``, ``ape_tput``, ``ape_respt``, ``ae_loss``,
        ``true_loss``, ``ape_latency``, ``ape_p95``, ``flagged`` (1.0 / 0.0, NaN without an
        ``uncertain`` prediction).

    Raises:
        ValueError: If the arrays differ in length.
    """
    n = len(np.asarray(true["tput_ratio"]))

    def col(d: Mapping[str, np.ndarray], key: str) -> np.ndarray:
        if key not in d:
            return np.full(n, np.nan)
        a = np.asarray(d[key], dtype=np.float64)
        if a.shape != (n,):
            raise ValueError(f"{key} must have shape ({n},) like tput_ratio, got {a.shape}")
        return a

    def ape(key: str, eps: float = EPS) -> np.ndarray:
        t = col(true, key)
        return np.abs(col(pred, key) - t) / (np.abs(t) + eps)

    true_loss = col(true, "loss_ratio")
    return pd.DataFrame(
        {
            "num_services": col(true, "num_services"),
            "ape_tput": ape("tput_ratio"),
            "ape_respt": ape("respt_ratio"),
            "ae_loss": np.abs(col(pred, "loss_ratio") - true_loss),
            "true_loss": true_loss,
            "ape_latency": ape("latency_mean", 0.0),
            "ape_p95": ape("latency_p95", 0.0),
            "flagged": col(pred, "uncertain"),
        }
    )


def summarize(errors: pd.DataFrame) -> dict[str, float]:
    """Aggregate :func:`service_errors` rows into the metrics of :data:`METRIC_COLUMNS`.

    Percentages are fractions (0.02 = 2%). NaN errors (labels not available) are skipped;
    a metric with no valid row is NaN.
    """

    def mean(x: pd.Series) -> float:
        x = x[np.isfinite(x)]
        return float(x.mean()) if len(x) else float("nan")

    tput, respt = mean(errors["ape_tput"]), mean(errors["ape_respt"])
    lossy = errors["true_loss"] > LOSSY_THRESHOLD
    return {
        "services": float(len(errors)),
        "tput_mape": tput,
        "respt_mape": respt,
        "combined_mape": (tput + respt) / 2,
        "loss_mae": mean(errors["ae_loss"]),
        "loss_mae_lossy": mean(errors.loc[lossy, "ae_loss"]),
        "latency_mape": mean(errors["ape_latency"]),
        "p95_ape": mean(errors["ape_p95"]),
        "loss_max_ae": float(np.nanmax(errors["ae_loss"])) if np.isfinite(
            errors["ae_loss"]).any() else float("nan"),
        "bad_services": float((errors["ae_loss"] > FLAG_ERROR).sum()),
        **_flag_metrics(errors),
    }


def _flag_metrics(errors: pd.DataFrame) -> dict[str, float]:
    flagged = errors["flagged"] if "flagged" in errors else pd.Series(np.nan, errors.index)
    known = np.isfinite(flagged) & np.isfinite(errors["ae_loss"])
    if not known.any():
        return {"flag_recall": float("nan"), "flag_share": float("nan")}
    bad = known & (errors["ae_loss"] > FLAG_ERROR)
    recall = float(flagged[bad].mean()) if bad.any() else 1.0
    return {"flag_recall": recall, "flag_share": float(flagged[known].mean())}


def evaluation_table(errors: pd.DataFrame) -> pd.DataFrame:
    """The metrics overall and by number of services per graph.

    Args:
        errors: Output of :func:`service_errors`.

    Returns:
        Rows ``"all"`` and ``"1 services"``, ``"2 services"``, ...; columns
        :data:`METRIC_COLUMNS`.
    """
    rows = {"all": summarize(errors)}
    for k, group in errors.groupby("num_services", sort=True):
        if np.isfinite(k):
            rows[f"{int(k)} services"] = summarize(group)
    table = pd.DataFrame.from_dict(rows, orient="index")[list(METRIC_COLUMNS)]
    for col in ("services", "bad_services"):
        table[col] = table[col].astype(int)
    return table
