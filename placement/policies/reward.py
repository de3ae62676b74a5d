r"""The reward of a split decision: deadline credit plus accuracy credit, for any model.

SplitPlace's published reward gives accuracy credit only above 90% accuracy:

.. math::
    r^{pub} = 0.5\,\mathbb{1}[RT \le SLA] + 0.5 \cdot 10 \cdot \max(0, acc - 0.9)

so an ImageNet model (MobileNetV2 72%, ResNet-50 76%) is judged on its deadline alone and a
semantic split never pays for its accuracy loss. The default reward here measures the accuracy
*relative to the unsplit model* (the layer split keeps the model's accuracy, ``a_ref``):

.. math::
    r = w\,\mathbb{1}[RT \le SLA] + (1 - w)\,\max\!\Big(0,\; 1 - \frac{a_{ref} - acc}{\delta}\Big)

with ``w = 0.85`` and ``delta = 0.1`` (losing 10 accuracy points loses all accuracy credit):
one point of deadline compliance is worth 0.0085 reward and one accuracy point 0.015, so a
split that saves more than 1.76 points of SLA violations per accuracy point it costs is worth
taking. This rate is the product's stated preference (SLA violations within 2 points of the
semantic split's, accuracy within 1 point of the unsplit model's): on the benchmark families
of :mod:`placement.online` (``benchmarks/bench_policies.py``) the default policy meets both
wherever both can be met together, while ``w = 0.5`` (one accuracy point worth 10 points of
violations) accepts about 3 points more violations than semantic-only, and ``w = 0.75`` still
about 2.7 on SplitPlace's CNNs. Every model earns accuracy credit. A request that is dropped
earns nothing.

The expected reward of a deployment, from predicted (or measured) per-service metrics:

.. math::
    E[r] = (1 - \ell)\,\big(w\,P(RT \le SLA) + (1 - w)\,c(acc)\big)

with :math:`\ell` the loss ratio and :math:`P(RT \le SLA)` from the no-queue latency plus a
log-normal wait fitted to the mean and p95 response time (:func:`deadline_probability`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri

from datagen.validation import finite_float, is_real

__all__ = ["PREDICTED_LATENCY_ERROR", "REWARD_KINDS", "Reward", "deadline_probability"]

#: The reward kinds of :class:`Reward`.
REWARD_KINDS: tuple[str, ...] = ("relative", "published")

#: Weight of the deadline credit of each reward kind when none is given.
DEFAULT_SLA_WEIGHT: dict[str, float] = {"relative": 0.85, "published": 0.5}

#: Relative error of the surrogate's latency predictions on the product's distributions, as
#: the scale of a log-normal factor: its latency MAPE is 6.0-6.5% on ``placer_test`` and
#: ``edge_test_precise`` (model card), and a normal error of MAPE ``e`` has standard
#: deviation ``e * sqrt(pi / 2)``, about 0.075.
PREDICTED_LATENCY_ERROR = 0.075

#: Standard-normal quantiles at probabilities (k + 1/2) / 64: the averaging nodes of the
#: prediction error in :func:`deadline_probability`.
_ERROR_NODES = ndtri((np.arange(64) + 0.5) / 64)

#: z-score of the 95th percentile of a standard normal.
_Z95 = 1.6448536269514722
#: Log-normal shape used when no p95 is known (p95 / mean = 1.9).
_DEFAULT_SIGMA = 0.5


def _lognormal_sigma(mean: np.ndarray, p95: np.ndarray) -> np.ndarray:
    r"""Shape :math:`\sigma` of the log-normal with the given mean and 95th percentile.

    Solves :math:`\ln(q/m) = z\sigma - \sigma^2/2` (smaller root); ratios beyond the largest a
    log-normal reaches (:math:`e^{z^2/2}` = 3.87) take :math:`\sigma = z`, unknown or
    non-positive ones the default shape.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(p95 / mean)
    ok = np.isfinite(ratio) & (ratio > 0)
    disc = np.maximum(_Z95 * _Z95 - 2.0 * np.where(ok, ratio, 0.0), 0.0)
    sigma = _Z95 - np.sqrt(disc)
    return np.where(ok, np.maximum(sigma, 1e-3), _DEFAULT_SIGMA)


def _last_axis(value: Any) -> np.ndarray | None:
    """``value`` as a float array with a trailing axis of length 1 (``None`` stays ``None``)."""
    return None if value is None else np.asarray(value, dtype=float)[..., None]


def deadline_probability(sla: Any, mean: Any, p95: Any = None, minimum: Any = None,
                         rel_error: float = 0.0) -> np.ndarray:
    r"""Probability that a served request meets its deadline, from its latency statistics.

    The response time is the no-queue latency :math:`T_0` (``minimum``: compute and transfers
    with no waiting) plus a log-normal wait :math:`W` with mean :math:`m - T_0` and 95th
    percentile :math:`q - T_0`:

    .. math::
        P(RT \le SLA) = \Phi\Big(\frac{\ln (SLA - T_0) - \mu}{\sigma}\Big),
        \qquad \mu = \ln (m - T_0) - \sigma^2 / 2

    and 0 when :math:`SLA \le T_0`. With ``rel_error`` :math:`s > 0` the statistics are
    predictions that are themselves off by a log-normal factor :math:`e^{s Z}`, so the
    probability is averaged over it (64 equal-probability quantiles of :math:`Z`):
    :math:`E_Z[P(RT \le SLA\,e^{-sZ})]`. A near-deterministic prediction then no longer
    turns a deadline 0.2% below its predicted latency into a certain miss. The shift matters
    near tight deadlines: a queue is often
    empty, so many requests finish close to :math:`T_0` while a few wait long; a log-normal of
    the whole response time (``minimum=None``, :math:`T_0 = 0`) then puts too little mass
    below the mean (on the online families of :mod:`placement.online`, with the surrogate's
    metrics, the mean error of the predicted compliance falls from 7.7 to 2.3 points under
    SplitPlace's tight deadlines and from 10.9 to 9.2 on the zoo's).

    Args:
        sla: Deadline (s), ``> 0``; ``inf`` = no deadline.
        mean: Mean response time (s); ``inf`` or ``nan`` (overloaded, not placed) gives 0.
        p95: 95th-percentile response time (s), or ``None``/``nan`` when unknown (a shape of
            p95 / mean = 1.9 is then assumed) (default: ``None``).
        minimum: No-queue latency :math:`T_0` (s), in ``[0, mean]``, or ``None``/``nan``
            when unknown (no shift) (default: ``None``). A predictor gives it as
            ``respt_ratio * latency_mean``.
        rel_error: Relative error :math:`s \ge 0` of the latency statistics when they are
            predictions (:data:`PREDICTED_LATENCY_ERROR` for the surrogate's) (default: ``0``,
            exact statistics).

    Returns:
        Probabilities in [0, 1], broadcast from the inputs.

    Example:
        >>> round(float(deadline_probability(0.05, mean=0.1, p95=0.2)), 3)
        0.125
        >>> round(float(deadline_probability(0.05, mean=0.1, p95=0.2, minimum=0.04)), 3)
        0.029
    """
    if not (is_real(rel_error) and 0 <= rel_error < np.inf):
        raise ValueError(f"rel_error must be a finite relative error >= 0, got {rel_error!r}")
    if rel_error > 0:
        # equal-probability nodes: the integrand can be a step (a near-deterministic latency)
        p_z = deadline_probability(
            _last_axis(sla) * np.exp(-rel_error * _ERROR_NODES),
            _last_axis(mean), _last_axis(p95), _last_axis(minimum),
        )
        return np.asarray(p_z.mean(axis=-1))
    sla_a = np.asarray(sla, dtype=float)
    m = np.asarray(mean, dtype=float)
    shape = np.broadcast(sla_a, m).shape
    q = np.full(shape, np.nan) if p95 is None else np.asarray(p95, float)
    t0 = np.zeros(shape) if minimum is None else np.asarray(minimum, float)
    sla_a, m, q, t0 = np.broadcast_arrays(sla_a, m, q, t0)
    # an unknown or inconsistent minimum (nan, < 0, not below the mean) means no shift
    t0 = np.where(np.isfinite(t0) & (t0 > 0) & (t0 < m), t0, 0.0)
    wait, wait95, slack = m - t0, q - t0, sla_a - t0
    sigma = _lognormal_sigma(wait, wait95)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.log(wait) - 0.5 * sigma * sigma
        z = (np.log(slack) - mu) / sigma
    from scipy.special import ndtr

    p = ndtr(z)
    p = np.where(slack > 0, p, 0.0)
    p = np.where(np.isfinite(m) & (m > 0), p, np.where(m == 0, 1.0, 0.0))
    p = np.where(np.isinf(sla_a) & (sla_a > 0), np.where(np.isfinite(m), 1.0, 0.0), p)
    return np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)


@dataclass(frozen=True)
class Reward:
    r"""The reward of a split decision (see the module docstring for the formulas).

    Args:
        kind: ``"relative"`` (accuracy credit relative to the unsplit model, for any model)
            or ``"published"`` (SplitPlace's, credit above 90% only) (default:
            ``"relative"``).
        sla_weight: Weight ``w`` of the deadline credit, in [0, 1] (default: ``None`` =
            ``0.85`` for the relative reward; the published reward always uses 0.5).
        tolerance: Accuracy loss ``delta`` (fraction, e.g. 0.1 = 10 points) at which the
            relative accuracy credit reaches 0, ``> 0`` (default: ``0.1``).

    Example:
        >>> r = Reward()
        >>> r.sla_weight
        0.85
        >>> round(float(r.per_request(0.2, 0.5, accuracy=0.70, reference_accuracy=0.72)), 3)
        0.97
        >>> round(float(r.expected(p_met=0.9, loss_ratio=0.0, accuracy=0.72,
        ...                        reference_accuracy=0.72)), 3)
        0.915
        >>> Reward("published").sla_weight
        0.5
    """

    kind: str = "relative"
    sla_weight: float = None  # type: ignore[assignment]  # None: the kind's default, below
    tolerance: float = 0.1

    def __post_init__(self) -> None:
        if self.kind not in REWARD_KINDS:
            raise ValueError(f"kind must be one of {REWARD_KINDS}, got {self.kind!r}")
        if self.sla_weight is None:
            object.__setattr__(self, "sla_weight", DEFAULT_SLA_WEIGHT[self.kind])
        w = self.sla_weight
        if not (is_real(w) and 0 <= w <= 1):
            raise ValueError(f"sla_weight must be in [0, 1], got {w!r}")
        t = self.tolerance
        if finite_float(t) is None or not t > 0:
            raise ValueError(f"tolerance must be a finite accuracy loss > 0, got {t!r}")
        if self.kind == "published" and w != 0.5:
            raise ValueError(
                f"the published reward has sla_weight 0.5, got {w!r}; use kind='relative'"
            )

    @classmethod
    def coerce(cls, value: Reward | str | None) -> Reward:
        """A :class:`Reward` from an instance, a kind name or ``None`` (the default)."""
        if value is None:
            return cls()
        if isinstance(value, Reward):
            return value
        if isinstance(value, str):
            return cls(kind=value)
        raise ValueError(
            f"reward must be a Reward or one of {REWARD_KINDS}, got {type(value).__name__}"
        )

    def accuracy_credit(self, accuracy: Any, reference_accuracy: Any) -> np.ndarray:
        """Accuracy credit in [0, 1] (before the weight ``1 - w``).

        Args:
            accuracy: Accuracy of the deployed split, in [0, 1].
            reference_accuracy: Accuracy of the unsplit model (the layer split), in [0, 1];
                ignored by the published reward.

        Returns:
            The credit, broadcast from the inputs.
        """
        acc = np.asarray(accuracy, dtype=float)
        if self.kind == "published":
            return np.maximum(0.0, acc - 0.9) * 10.0
        ref = np.asarray(reference_accuracy, dtype=float)
        return np.clip(1.0 - (ref - acc) / self.tolerance, 0.0, 1.0)

    def per_request(
        self, response_time: Any, sla: Any, accuracy: Any, reference_accuracy: Any
    ) -> np.ndarray:
        """Reward of served requests (a dropped request earns 0: pass ``inf``).

        Args:
            response_time: Response time (s); ``nan``/``inf`` = not completed.
            sla: Deadline (s).
            accuracy: Accuracy of the split that served it.
            reference_accuracy: Accuracy of the unsplit model.

        Returns:
            Rewards, broadcast from the inputs.
        """
        rt = np.asarray(response_time, dtype=float)
        done = np.isfinite(rt)
        met = np.where(done, rt <= np.asarray(sla, dtype=float), False)
        credit = self.accuracy_credit(accuracy, reference_accuracy)
        w = self.sla_weight
        return np.where(done, w * met + (1.0 - w) * credit, 0.0)

    def expected(
        self,
        p_met: Any,
        loss_ratio: Any,
        accuracy: Any,
        reference_accuracy: Any,
    ) -> np.ndarray:
        r"""Mean reward per arriving request: :math:`(1-\ell)(w P + (1-w) c)`.

        Args:
            p_met: Probability that a served request meets its deadline, in [0, 1].
            loss_ratio: Share of requests dropped, in [0, 1] (``nan`` counts as all lost).
            accuracy: Accuracy of the split.
            reference_accuracy: Accuracy of the unsplit model.

        Returns:
            Expected rewards, broadcast from the inputs.
        """
        served = 1.0 - np.clip(np.nan_to_num(np.asarray(loss_ratio, float), nan=1.0), 0, 1)
        p = np.clip(np.nan_to_num(np.asarray(p_met, float), nan=0.0), 0.0, 1.0)
        credit = self.accuracy_credit(accuracy, reference_accuracy)
        w = self.sla_weight
        return served * (w * p + (1.0 - w) * credit)

    def from_metrics(
        self,
        metrics: Any,
        sla: Any,
        accuracy: Any,
        reference_accuracy: Any,
        latency_error: float = 0.0,
    ) -> np.ndarray:
        """Expected reward from per-service metrics (predicted or measured).

        Args:
            metrics: A mapping or DataFrame with ``latency_mean`` (s) and ``loss_ratio``, and
                optionally ``latency_p95`` (s), ``latency_min`` (s, the no-queue latency; see
                :func:`deadline_probability`) or ``sla_compliance`` (the measured share of
                served requests within the deadline, used as is when present).
            sla: Deadline (s).
            accuracy: Accuracy of the split.
            reference_accuracy: Accuracy of the unsplit model.
            latency_error: Relative error of predicted latencies (``rel_error`` of
                :func:`deadline_probability`) (default: ``0``: measured metrics).

        Returns:
            Expected rewards.
        """
        get = metrics.get
        if get("sla_compliance") is not None:
            p = np.asarray(get("sla_compliance"), dtype=float)
        else:
            p = deadline_probability(
                sla, get("latency_mean"), get("latency_p95"), get("latency_min"),
                rel_error=latency_error,
            )
        return self.expected(p, get("loss_ratio"), accuracy, reference_accuracy)
