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
from collections.abc import Mapping, Sequence

import numpy as np

from datagen.world import Device, Scenario
from placement.policies.base import ARMS

__all__ = [
    "DEFAULT_SLACK_CLIP",
    "LOAD_FEATURES",
    "build_context",
    "context_names",
    "load_features",
]

#: Default clipping range of the normalised slack.
DEFAULT_SLACK_CLIP: tuple[float, float] = (-2.0, 1.0)

#: Names of the columns returned by :func:`load_features`.
LOAD_FEATURES: tuple[str, ...] = ("util_mean", "util_max")


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
    if not (isinstance(sla, (int, float, np.floating)) and math.isfinite(sla) and sla > 0):
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
    devices: Sequence[Device], running: Scenario | None = None, *, cap: float = 2.0
) -> np.ndarray:
    r"""Offered utilisation of the devices by the services already running.

    .. math::
        \rho_d = \sum_{f \text{ on } d} \frac{\lambda_{s(f)}\, \text{MACs}_f}
                 {c_d \cdot \text{speed}^{eff}_d}

    Args:
        devices: The cluster's devices.
        running: The deployment already running on them, or ``None`` for an idle cluster
            (default: ``None``).
        cap: Upper clip of each :math:`\rho_d` (default: ``2.0``).

    Returns:
        ``[mean_d rho_d, max_d rho_d]``, shape ``(2,)`` (see :data:`LOAD_FEATURES`).

    Raises:
        ValueError: If ``devices`` is empty.
    """
    if not devices:
        raise ValueError("devices must hold at least one Device, got []")
    rho = {d.name: 0.0 for d in devices}
    if running is not None:
        speed = {d.name: d.effective_speed * d.servers for d in devices}
        for svc in running.services:
            for frag, dev in zip(svc.fragments, running.placement[svc.name]):
                if dev in rho:
                    rho[dev] += svc.arrival_rate * frag.macs / speed[dev]
    u = np.minimum(np.array(list(rho.values())), cap)
    return np.array([u.mean(), u.max()])
