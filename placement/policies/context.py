r"""The continuous context of the learned split policies: deadline slack plus cluster load.

For a request with deadline :math:`SLA` and predicted latencies :math:`\hat L_s` of each split
type :math:`s` (from the surrogate or the placer's prediction under the current cluster
state), the context is

.. math::
    x = \Big[\operatorname{clip}\Big(\frac{SLA - \hat L_{layer}}{SLA}\Big),\;
              \operatorname{clip}\Big(\frac{SLA - \hat L_{semantic}}{SLA}\Big),\;
              \text{load features}\Big]

The slack is dimensionless (the same context whatever the time unit) and clipped to
``slack_clip`` so that an overloaded prediction (infinite latency) stays finite.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from datagen.validation import finite_float
from datagen.walk import offered_load, placed_services
from datagen.world import Device, Scenario
from placement.policies.base import ARMS
from placement.policies.reward import PREDICTED_LATENCY_ERROR, Reward

if TYPE_CHECKING:
    from placement.request import RunningService

__all__ = [
    "DEFAULT_SLACK_CLIP",
    "LOAD_FEATURES",
    "REWARD_CONTEXT_PREFIX",
    "build_context",
    "build_reward_context",
    "context_names",
    "load_features",
    "split_metrics",
]

#: Default clipping range of the normalised slack.
DEFAULT_SLACK_CLIP: tuple[float, float] = (-2.0, 1.0)

#: Names of the columns returned by :func:`load_features`.
LOAD_FEATURES: tuple[str, ...] = ("util_mean", "util_max")


def split_metrics(row: Mapping[str, Any]) -> dict[str, float] | None:
    """The metrics of one predicted service that the expected reward reads, or ``None``.

    Args:
        row: One row of a predictor's table (:data:`chainnet.predictor.PREDICT_COLUMNS`; a
            ``pandas.Series`` or a mapping) with ``latency_mean`` (s) and optionally
            ``latency_p95`` (s), ``loss_ratio`` and ``respt_ratio`` (no-queue latency / mean).

    Returns:
        ``latency_mean``, ``latency_p95`` (``nan`` if absent), ``loss_ratio`` (clipped to
        [0, 1]; ``nan`` counts as all lost, absent as none) and ``latency_min`` (the no-queue
        latency ``respt_ratio * latency_mean``, s; ``nan`` if absent), or ``None`` when the
        mean latency is missing, negative, NaN or infinite (the service cannot be served).
    """
    lat = float(row.get("latency_mean", math.nan))
    if not math.isfinite(lat) or lat < 0:
        return None
    p95 = float(row.get("latency_p95", math.nan))
    loss = float(row.get("loss_ratio", 0.0))
    loss = min(1.0, max(0.0, loss)) if math.isfinite(loss) else 1.0
    ratio = float(row.get("respt_ratio", math.nan))
    return {"latency_mean": lat, "latency_p95": p95, "loss_ratio": loss,
            "latency_min": ratio * lat}


def build_context(
    sla: float,
    predicted_latency: Mapping[str, float],
    load_features: Sequence[float] | np.ndarray = (),
    *,
    slack_clip: tuple[float, float] = DEFAULT_SLACK_CLIP,
) -> np.ndarray:
    r"""Build one context row: the normalised slack of each split type, then load features.

    .. math::
        \text{slack}_s = \operatorname{clip}\big((SLA - \hat L_s) / SLA,\; lo,\; hi\big)

    Args:
        sla: Deadline of the request (s), finite and > 0.
        predicted_latency: Predicted mean latency (s) of each split type, keys ``"layer"`` and
            ``"semantic"``; ``inf`` (overload or infeasible) gives the lower clip value.
        load_features: Extra finite features of the cluster state, e.g. from
            :func:`load_features` (default: none).
        slack_clip: ``(lo, hi)`` clipping range of the slack (default: ``(-2.0, 1.0)``).

    Returns:
        Float array of shape ``(2 + len(load_features),)``; stack rows with ``np.vstack``.

    Raises:
        ValueError: On a non-positive or non-finite SLA, a missing split type, a negative or
            NaN latency, non-finite load features or an empty clip range.
    """
    if finite_float(sla) is None or not sla > 0:
        raise ValueError(f"sla must be a finite deadline > 0 s, got {sla!r}")
    lo, hi = slack_clip
    if not lo < hi:
        raise ValueError(f"slack_clip must be (lo, hi) with lo < hi, got {slack_clip!r}")
    slack = []
    for split in ARMS:
        if split not in predicted_latency:
            raise ValueError(
                f"predicted_latency must give a latency for {split!r}, got keys "
                f"{sorted(predicted_latency)}"
            )
        lat = float(predicted_latency[split])
        if math.isnan(lat) or lat < 0:
            raise ValueError(f"predicted_latency[{split!r}] must be >= 0 s, got {lat!r}")
        s = -math.inf if math.isinf(lat) else (sla - lat) / sla
        slack.append(min(hi, max(lo, s)))
    load = np.asarray(load_features, dtype=float).reshape(-1)
    if not np.all(np.isfinite(load)):
        raise ValueError(f"load_features must be finite, got {load}")
    return np.concatenate([np.asarray(slack), load])


def context_names(load_names: Sequence[str] = LOAD_FEATURES) -> list[str]:
    """Column names of a context built by :func:`build_context`."""
    return [f"slack_{s}" for s in ARMS] + list(load_names)


def load_features(
    devices: Sequence[Device],
    running: Iterable[RunningService] | Scenario | None = None,
    *,
    cap: float = 2.0,
) -> np.ndarray:
    r"""Offered utilisation of the devices by the services already running.

    .. math::
        \rho_d = \sum_{f \text{ on } d} \frac{\lambda_{s(f)}\, \text{MACs}_f}
                 {c_d \cdot \text{speed}^{eff}_d}

    Args:
        devices: The cluster's devices.
        running: What already runs on them: :class:`~placement.request.RunningService`
            records, a deployed :class:`~datagen.world.Scenario`, or ``None`` for an idle
            cluster (default: ``None``).
        cap: Upper clip of each :math:`\rho_d` (default: ``2.0``).

    Returns:
        ``[mean_d rho_d, max_d rho_d]``, shape ``(2,)`` (see :data:`LOAD_FEATURES`).

    Raises:
        ValueError: If ``devices`` is empty.
    """
    if not devices:
        raise ValueError("devices must hold at least one Device, got []")
    if running is None or isinstance(running, Scenario):
        placed = placed_services(running)
    else:
        placed = [(r.service, r.devices) for r in running]
    rho = offered_load(devices, placed)
    u = np.minimum(np.array(list(rho.values())), cap)
    return np.array([u.mean(), u.max()])


def build_reward_context(
    sla: float,
    predicted: Mapping[str, Mapping[str, float]],
    accuracy: Mapping[str, float],
    reference_accuracy: float,
    load_features: Sequence[float] | np.ndarray = (),
    *,
    reward: Reward | str | None = None,
    slack_clip: tuple[float, float] = DEFAULT_SLACK_CLIP,
) -> np.ndarray:
    r"""Build one context row of the ``"reward"`` type: expected reward per split, then slacks.

    .. math::
        x = \big[E[r_{layer}],\; E[r_{semantic}],\; \text{slack}_{layer},\;
        \text{slack}_{semantic},\; \text{load}\dots\big]

    with :math:`E[r_s]` from :meth:`Reward.from_metrics` on the predicted metrics of split
    :math:`s`, allowing for the predictions' own error (:data:`PREDICTED_LATENCY_ERROR`), and
    the slacks as in :func:`build_context`. A split that cannot be deployed
    (``latency_mean`` ``inf``) has expected reward 0.

    Args:
        sla: Deadline of the request (s), finite and > 0.
        predicted: Per split (``"layer"``, ``"semantic"``) the predicted ``latency_mean`` (s),
            ``loss_ratio`` and optionally ``latency_p95`` and ``latency_min`` (s, the
            no-queue latency) (:func:`split_metrics` reads them from a predictor's row).
        accuracy: Accuracy of each split, in [0, 1].
        reference_accuracy: Accuracy of the unsplit model (the layer split), in [0, 1].
        load_features: Extra finite features of the cluster state (default: none).
        reward: The reward whose expectation is the prior (default: ``None`` =
            ``Reward()``, the relative reward).
        slack_clip: Clipping range of the slack (default: ``(-2.0, 1.0)``).

    Returns:
        Float array of shape ``(4 + len(load_features),)``; see :data:`REWARD_CONTEXT_PREFIX`.

    Raises:
        ValueError: On a bad SLA, a missing split, a metric that is negative or NaN, or an
            accuracy outside [0, 1].
    """
    rw = Reward.coerce(reward)
    latency: dict[str, float] = {}
    expected = []
    for split in ARMS:
        if split not in predicted or split not in accuracy:
            raise ValueError(
                f"predicted and accuracy must give {split!r}, got {sorted(predicted)} and "
                f"{sorted(accuracy)}"
            )
        m = predicted[split]
        lat = float(m.get("latency_mean", math.inf))
        loss = float(m.get("loss_ratio", 0.0))
        p95 = m.get("latency_p95")
        if math.isnan(lat) or lat < 0 or math.isnan(loss) or not 0 <= loss <= 1:
            raise ValueError(
                f"predicted[{split!r}] needs latency_mean >= 0 s and loss_ratio in [0, 1], "
                f"got {lat!r} and {loss!r}"
            )
        acc = float(accuracy[split])
        if not 0 <= acc <= 1:
            raise ValueError(f"accuracy[{split!r}] must be in [0, 1], got {acc!r}")
        latency[split] = lat
        if math.isinf(lat):
            expected.append(0.0)
            continue
        metrics = {"latency_mean": lat, "loss_ratio": loss, "latency_p95": p95,
                   "latency_min": m.get("latency_min")}
        expected.append(float(rw.from_metrics(metrics, sla, acc, reference_accuracy,
                                              latency_error=PREDICTED_LATENCY_ERROR)))
    slack_row = build_context(sla, latency, load_features, slack_clip=slack_clip)
    return np.concatenate([np.asarray(expected), slack_row])


#: Names of the first columns of a :func:`build_reward_context` row (load features follow).
REWARD_CONTEXT_PREFIX: tuple[str, ...] = (
    "expected_reward_layer",
    "expected_reward_semantic",
    "slack_layer",
    "slack_semantic",
)
