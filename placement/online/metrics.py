r"""What a run of the online loop scores: the reward of a deployment, regret and a run's figures.

The reward of a deployment is the mean over its requests of the per-request reward, a dropped
request earning nothing (:func:`deployment_reward`); the regret of step ``t`` is
:math:`\max_a r_t(a) - r_t(a_t) \ge 0`, and its growth exponent (:func:`regret_growth_exponent`)
says whether a policy learns. :func:`summarize_log` turns one run's log into the figures of the
policy benchmark and the report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from placement.policies import Reward

__all__ = ["deployment_reward", "regret_growth_exponent", "split_tradeoff", "summarize_log"]


def deployment_reward(
    arrival: np.ndarray,
    completion: np.ndarray,
    served: np.ndarray,
    sla: float,
    accuracy: float,
    *,
    reward: Reward | str | None = "published",
    reference_accuracy: float | None = None,
) -> tuple[float, float, float]:
    r"""Mean per-request reward of one deployment, dropped requests earning 0.

    With the published reward:

    .. math::
        r = \frac{1}{n}\sum_i \mathbb{1}[\text{served}_i]\big(0.5\,\mathbb{1}[RT_i \le SLA]
            + 0.5 \cdot 10 \cdot \max(0, acc - 0.9)\big)

    and any :class:`~placement.policies.Reward` likewise (its per-request reward, averaged
    over all requests).

    Args:
        arrival: Arrival times of the requests (s), shape ``(n,)``.
        completion: Completion times (s), shape ``(n,)``; ignored where not served.
        served: Whether each request was served, bool shape ``(n,)``.
        sla: Deadline (s).
        accuracy: Accuracy of the deployed split in [0, 1].
        reward: The reward (default: ``"published"``, SplitPlace's).
        reference_accuracy: Accuracy of the unsplit model, for the relative reward
            (default: ``None`` = ``accuracy``).

    Returns:
        ``(reward, sla_compliance, mean_latency)``: the mean reward, the fraction of requests
        served within the SLA, and the mean latency of served requests (s, ``nan`` if none).
    """
    n = len(arrival)
    if n == 0:
        return 0.0, 0.0, math.nan
    rw = Reward.coerce(reward)
    ref = accuracy if reference_accuracy is None else reference_accuracy
    rt = np.where(served, completion - arrival, np.inf)
    met = served & (rt <= sla)
    compliance = float(met.mean())
    value = float(rw.expected(compliance / max(float(served.mean()), 1e-300),
                              1.0 - float(served.mean()), accuracy, ref))
    mean_latency = float(rt[served].mean()) if served.any() else math.nan
    return value, compliance, mean_latency


def regret_growth_exponent(cumulative_regret: Sequence[float] | np.ndarray) -> float:
    r"""Fitted growth exponent :math:`\beta` of cumulative regret, :math:`R(t) \approx c\,t^\beta`.

    Least squares of :math:`\log R(t)` on :math:`\log t` over the second half of the run
    (where :math:`R(t) > 0`); :math:`\beta < 1` means sublinear regret.

    Args:
        cumulative_regret: :math:`R(1), \dots, R(T)`.

    Returns:
        :math:`\beta`, or ``0.0`` when the regret is zero throughout the fitted range.

    Raises:
        ValueError: If fewer than 4 values are given.
    """
    r = np.asarray(cumulative_regret, dtype=float)
    if r.size < 4:
        raise ValueError(f"cumulative_regret needs at least 4 values, got {r.size}")
    t = np.arange(1, r.size + 1, dtype=float)
    keep = (t > r.size / 2) & (r > 0)
    if keep.sum() < 2:
        return 0.0
    slope, _ = np.polyfit(np.log(t[keep]), np.log(r[keep]), 1)
    return float(slope)


def summarize_log(log: pd.DataFrame, first: int = 100) -> dict[str, float]:
    """Figures of one run of :class:`OnlineExperiment` (one policy).

    Args:
        log: :meth:`OnlineExperiment.log`.
        first: Length of the early window of ``reward_over_oracle_first`` (default: ``100``).

    Returns:
        ``mean_reward``, ``reward_over_oracle`` (sum of rewards over the per-request oracle's),
        ``reward_over_oracle_first`` (the same over the first ``first`` requests),
        ``final_regret``, ``beta`` (regret growth exponent, ``nan`` under 8 steps),
        ``late_over_early_regret`` (regret of the second half of the run over that of the
        first half; below 1 the regret grows sublinearly, ``nan`` when the first half has
        none),
        ``semantic_share``, ``oracle_semantic_share``, ``agrees_with_oracle``,
        ``response_time`` (mean simulated latency of served requests, s),
        ``sla_violation`` (share of requests not served within the SLA), ``accuracy``
        (mean accuracy of the chosen splits), and ``oracle_sla_violation`` and
        ``oracle_accuracy`` (the same for the per-request oracle's splits); with the log's
        ``pseudo_regret`` column filled (``OnlineConfig(replica_requests=...)``) also
        ``final_pseudo_regret``, ``pseudo_beta``, ``pseudo_late_over_early`` (the same
        growth figures for pseudo-regret) and ``agrees_with_mean_best``, else NaN.
    """
    head = log.iloc[:first]
    cr = log["cumulative_regret"].to_numpy(float)
    return {
        "mean_reward": float(log.reward.mean()),
        "reward_over_oracle": float(log.reward.sum() / max(log.oracle_reward.sum(), 1e-12)),
        "reward_over_oracle_first": float(
            head.reward.sum() / max(head.oracle_reward.sum(), 1e-12)
        ),
        "final_regret": float(cr[-1]) if len(cr) else 0.0,
        "beta": regret_growth_exponent(cr) if len(cr) >= 8 else math.nan,
        "late_over_early_regret": _late_over_early(cr),
        "semantic_share": float((log.arm == "semantic").mean()),
        "oracle_semantic_share": float((log.oracle_arm == "semantic").mean()),
        "agrees_with_oracle": float((log.arm == log.oracle_arm).mean()),
        "response_time": float(np.nanmean(log.latency.to_numpy(float))),
        "sla_violation": float(log.sla_violation.mean()),
        "accuracy": float(log.accuracy.mean()),
        "oracle_sla_violation": float(log.oracle_sla_violation.mean()),
        "oracle_accuracy": float(log.oracle_accuracy.mean()),
        **_pseudo_regret_figures(log),
    }


def _pseudo_regret_figures(log: pd.DataFrame) -> dict[str, float]:
    """Growth figures of the pseudo-regret (NaN when the run had no replica simulations)."""
    if "pseudo_regret" not in log or not np.isfinite(log["pseudo_regret"].to_numpy(float)).any():
        return {"final_pseudo_regret": math.nan, "pseudo_beta": math.nan,
                "pseudo_late_over_early": math.nan, "agrees_with_mean_best": math.nan}
    cr = np.cumsum(np.nan_to_num(log["pseudo_regret"].to_numpy(float)))
    # the exponent is fitted where the cumulative regret is positive (single steps can be < 0)
    return {
        "final_pseudo_regret": float(cr[-1]),
        "pseudo_beta": regret_growth_exponent(np.maximum(cr, 0.0)) if len(cr) >= 8 else math.nan,
        "pseudo_late_over_early": _late_over_early(cr),
        "agrees_with_mean_best": float((log.arm == log.mean_best_arm).mean()),
    }


def _late_over_early(cumulative: np.ndarray) -> float:
    """Regret of the second half of a run over that of the first half (``nan`` if none)."""
    if len(cumulative) < 2:
        return math.nan
    half = float(cumulative[len(cumulative) // 2 - 1])
    total = float(cumulative[-1])
    return (total - half) / half if half > 0 else math.nan


def split_tradeoff(log: pd.DataFrame, violation_margin: float = 0.02) -> dict[str, float]:
    r"""What any split choice could have reached on a run: SLA violations against accuracy.

    Both splits are simulated at every step of :class:`OnlineExperiment`, so the log knows,
    per request :math:`i`, the SLA-violation share :math:`v_i^{L}, v_i^{S}` and the accuracy
    :math:`a_i^{L}, a_i^{S}` of each split. Choosing the semantic split for a set
    :math:`S` of requests gives mean violations
    :math:`\bar v(S) = \frac1n(\sum_{i \notin S} v_i^L + \sum_{i \in S} v_i^S)` and mean
    accuracy :math:`\bar a(S)` likewise. This returns the most accurate hindsight choice whose
    violations stay within ``violation_margin`` of semantic-only's: requests are switched to
    the semantic split in the order of the violations they save per accuracy point they cost
    (a fractional-knapsack greedy, exact up to the last switched request). It answers whether
    a target like "violations <= semantic-only + 2 points and accuracy >= layer-only - 1
    point" can be met at all on this run, by any policy, with the future known. (Choices
    change what runs later; the bound holds for the states the run visited.)

    Args:
        log: :meth:`OnlineExperiment.log` (with the per-split columns).
        violation_margin: Allowed violations above semantic-only's, as a share (default:
            ``0.02`` = 2 points).

    Returns:
        ``layer_violation``, ``layer_accuracy``, ``semantic_violation``,
        ``semantic_accuracy``, and ``best_accuracy`` / ``best_violation`` of the most
        accurate choice within the margin, ``accuracy_cost`` (layer-only's accuracy minus
        ``best_accuracy``, in accuracy units), all means over the run.

    Raises:
        ValueError: If the log lacks the per-split columns or ``violation_margin`` < 0.
    """
    need = ["sla_violation_layer", "sla_violation_semantic", "accuracy_layer",
            "accuracy_semantic"]
    missing = [c for c in need if c not in log.columns]
    if missing:
        raise ValueError(f"log lacks the per-split columns {missing}; rerun the experiment")
    if not violation_margin >= 0:
        raise ValueError(f"violation_margin must be >= 0, got {violation_margin!r}")
    n = max(len(log), 1)
    vl = log["sla_violation_layer"].to_numpy(float)
    vs = log["sla_violation_semantic"].to_numpy(float)
    al = log["accuracy_layer"].to_numpy(float)
    asem = log["accuracy_semantic"].to_numpy(float)
    budget = float(vs.sum()) / n + violation_margin
    saved, cost = vl - vs, al - asem
    # a switch that costs no accuracy and saves no less is always taken
    free = (saved >= 0) & (cost <= 0)
    violation = float(vl.sum() - saved[free].sum()) / n
    accuracy = float(al.sum() - cost[free].sum()) / n
    # then the most violations saved per accuracy point first, until within the budget
    paid = np.flatnonzero(~free & (saved > 0))
    for i in paid[np.argsort(-saved[paid] / cost[paid], kind="stable")]:
        if violation <= budget:
            break
        violation -= saved[i] / n
        accuracy -= cost[i] / n
    return {
        "layer_violation": float(vl.mean()) if len(log) else math.nan,
        "layer_accuracy": float(al.mean()) if len(log) else math.nan,
        "semantic_violation": float(vs.mean()) if len(log) else math.nan,
        "semantic_accuracy": float(asem.mean()) if len(log) else math.nan,
        "best_violation": violation,
        "best_accuracy": accuracy,
        "accuracy_cost": float(al.mean()) - accuracy if len(log) else math.nan,
    }
