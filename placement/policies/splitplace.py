"""The published SplitPlace decider: epsilon-greedy over two contexts with reward-based decay.

Reproduces the multi-armed bandit of Tuli, Casale and Jennings, "SplitPlace: AI Augmented
Splitting and Placement of Large-Scale Neural Networks in Mobile Edge Environments", IEEE TMC
(arXiv 2205.10635), as specified in ``shared/specs/splitplace.md``.

How the discrete context is passed: the policy receives ``contexts`` with the request's
deadline in column ``sla_column`` (s; other columns are ignored, so the same context matrix can
carry more features), and the application of each row in ``keys``. The policy keeps the
threshold ``T[app]`` itself (``thresholds_``) and derives the context ``low`` (0) when
``SLA < T[app]``, else ``high`` (1); :meth:`SplitPlacePolicy.discretize` exposes that mapping.
``T[app]`` only moves inside :meth:`~SplitPlacePolicy.update`, *after* the values of that
interval are updated, so an ``update`` right after the ``select`` of the same rows sees the
contexts that were used to choose.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datagen.validation import finite_float, is_int, is_real
from placement.policies.base import Feedback, SplitPolicy

__all__ = [
    "PUBLISHED_THRESHOLDS",
    "SplitPlaceConfig",
    "SplitPlacePolicy",
    "splitplace_reward",
]

#: Initial thresholds ``T[app]`` of the published setup (their time unit).
PUBLISHED_THRESHOLDS: dict[str, float] = {"mnist": 5.0, "fashionmnist": 8.0, "cifar100": 15.0}

LOW, HIGH = 0, 1


def splitplace_reward(response_time: Any, sla: Any, accuracy: Any) -> np.ndarray:
    r"""The published per-request reward, in [0, 1] for accuracies in [0, 1].

    .. math::
        r = 0.5\,\mathbb{1}[RT \le SLA] + 0.5 \cdot 10 \cdot \max(0, acc - 0.9)

    Args:
        response_time: Response time of each request (s); ``nan``/``inf`` = not completed,
            which earns no deadline credit.
        sla: Deadline of each request (s).
        accuracy: Accuracy of the split that served it, in [0, 1].

    Returns:
        Rewards, a float array broadcast from the inputs.
    """
    rt = np.asarray(response_time, dtype=float)
    met = np.where(np.isfinite(rt), rt <= np.asarray(sla, dtype=float), False)
    acc = np.asarray(accuracy, dtype=float)
    return 0.5 * met.astype(float) + 0.5 * 10.0 * np.maximum(0.0, acc - 0.9)


@dataclass(frozen=True)
class SplitPlaceConfig:
    """Hyper-parameters of the published SplitPlace bandit (defaults = the paper's).

    Args:
        epsilon: Initial exploration probability (default: ``0.95``).
        rho: Initial reward threshold of the decay rule (default: ``0.45``).
        decay: Factor applied to ``epsilon`` after an interval with mean reward ``>= rho``
            (default: ``0.98``).
        rho_growth: Factor applied to ``rho`` at the same time, capped at 1 (default: ``1.05``).
        ema_weight: Weight of a new layer-split response time in the threshold EMA
            (default: ``0.1``).
        initial_threshold: Initial ``T`` of an application not in ``initial_thresholds`` (s)
            (default: ``10.0``).
        initial_thresholds: Initial ``T[app]`` per application key (s), e.g.
            :data:`PUBLISHED_THRESHOLDS` (default: empty).
        sla_column: Column of the context matrix holding the deadline (s) (default: ``0``).
    """

    epsilon: float = 0.95
    rho: float = 0.45
    decay: float = 0.98
    rho_growth: float = 1.05
    ema_weight: float = 0.1
    initial_threshold: float = 10.0
    initial_thresholds: Mapping[str, float] = field(default_factory=dict)
    sla_column: int = 0

    def validate(self) -> SplitPlaceConfig:
        """Check every field; return ``self``.

        Raises:
            ValueError: Naming the field, its value and the valid range.
        """
        for name in ("epsilon", "decay", "ema_weight"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {v!r}")
        if not (is_real(self.rho) and 0 <= self.rho <= 1):
            raise ValueError(f"rho must be in [0, 1] (rewards are in [0, 1]), got {self.rho!r}")
        if not (is_real(self.rho_growth) and self.rho_growth >= 1):
            raise ValueError(f"rho_growth must be >= 1, got {self.rho_growth!r}")
        thresholds = {"initial_threshold": self.initial_threshold}
        for key, v in self.initial_thresholds.items():
            thresholds[f"initial_thresholds[{key!r}]"] = v
        for name, v in thresholds.items():
            if finite_float(v) is None or not v > 0:
                raise ValueError(f"{name} must be a finite time > 0 s, got {v!r}")
        if not is_int(self.sla_column) or self.sla_column < 0:
            raise ValueError(f"sla_column must be an integer >= 0, got {self.sla_column!r}")
        return self


class SplitPlacePolicy(SplitPolicy):
    r"""Epsilon-greedy with reward-based decay over the ``low``/``high`` deadline contexts.

    Context of a row: ``low`` (0) if :math:`SLA < T[app]`, else ``high`` (1), where ``T[app]``
    is an exponential moving average of the response times of completed *layer*-split
    requests of that application:

    .. math::
        T[app] \leftarrow (1 - w)\,T[app] + w\,RT, \qquad w = 0.1

    Values are sample averages per (context, arm), shared by all applications:

    .. math::
        N_{c,a} \leftarrow N_{c,a} + 1, \qquad
        Q_{c,a} \leftarrow Q_{c,a} + (r - Q_{c,a}) / N_{c,a}

    Selection (training, :meth:`select`): for each row draw :math:`u \sim U[0,1)` from the
    generator; if :math:`u < \epsilon` draw the arm uniformly (``rng.integers(2)``), otherwise
    take :math:`\arg\max_a Q_{c,a}` with ties going to ``layer``. :meth:`predict` is always
    greedy (evaluation). After each call to :meth:`update` (one decision interval), if the
    interval's mean reward is :math:`\ge \rho` then :math:`\epsilon \leftarrow 0.98\,\epsilon`
    and :math:`\rho \leftarrow \min(1, 1.05\,\rho)`.

    Args:
        config: Hyper-parameters (default: ``SplitPlaceConfig()``).
        rng: Random generator (default: ``None``).
        seed: Seed used when ``rng`` is ``None`` (default: ``None`` = ``0``).
        **overrides: Fields of :class:`SplitPlaceConfig` to override.

    Attributes:
        value_estimates_: :math:`Q`, shape ``(2 contexts, 2 arms)``.
        context_counts_: :math:`N`, shape ``(2 contexts, 2 arms)``.
        thresholds_: ``T[app]`` per application key seen so far (s).
        epsilon_: Current exploration probability.
        rho_: Current reward threshold.
        interval_rewards_: Mean reward of each decision interval so far.

    Example:
        >>> policy = SplitPlacePolicy(seed=0, initial_thresholds={"mnist": 5.0})
        >>> arms = policy.select([[4.0], [9.0]], keys=["mnist", "mnist"])  # shape (2,)
        >>> policy = policy.update([[4.0], [9.0]], arms, [0.8, 0.6], keys=["mnist"] * 2,
        ...                        response_times=[3.0, 6.0])
    """

    name = "splitplace"
    config_class = SplitPlaceConfig
    context_type = "sla"


    def _base_reset(self) -> None:
        super()._base_reset()
        self.value_estimates_ = np.zeros((2, self.n_arms))
        self.context_counts_ = np.zeros((2, self.n_arms), dtype=np.int64)
        self.thresholds_: dict[Hashable, float] = {
            k: float(v) for k, v in self.config.initial_thresholds.items()
        }
        self.epsilon_ = float(self.config.epsilon)
        self.rho_ = float(self.config.rho)
        self.interval_rewards_: list[float] = []

    # -- the context ----------------------------------------------------------------------------

    def threshold(self, key: Hashable) -> float:
        """Current threshold ``T[key]`` (s), the initial value for an unseen key."""
        return float(self.thresholds_.get(key, self.config.initial_threshold))

    def discretize(self, contexts: Any, *, keys: Any = None) -> np.ndarray:
        """Map rows to the discrete context: 0 = ``low`` (SLA < T[app]), 1 = ``high``.

        Args:
            contexts: Context rows, shape ``(n, d)`` with the SLA (s) in ``sla_column``.
            keys: Application of each row (default: ``None`` = one shared key).

        Returns:
            Int array of shape ``(n,)``.
        """
        x = self._check_contexts(contexts)
        return self._discretize(x, self._check_keys(keys, x.shape[0]))

    def _discretize(self, x: np.ndarray, keys: list[Hashable]) -> np.ndarray:
        col = self.config.sla_column
        if col >= x.shape[1]:
            raise ValueError(
                f"sla_column={col} is out of range for contexts with {x.shape[1]} columns; "
                "put the SLA (s) in that column or set sla_column"
            )
        sla = x[:, col]
        thr = np.array([self.threshold(k) for k in keys])
        return np.where(sla < thr, LOW, HIGH).astype(np.int64)

    # -- the bandit -----------------------------------------------------------------------------

    def _greedy(self, c: int) -> int:
        # np.argmax returns the first maximum: ties go to arm 0 = layer, as published.
        return int(np.argmax(self.value_estimates_[c]))

    def _select(self, x: np.ndarray, keys: list[Hashable], *, explore: bool) -> np.ndarray:
        ctx = self._discretize(x, keys)
        out = np.empty(len(ctx), dtype=np.int64)
        for i, c in enumerate(ctx):
            if explore and self.rng.random() < self.epsilon_:
                out[i] = int(self.rng.integers(self.n_arms))
            else:
                out[i] = self._greedy(int(c))
        return out

    def _update(self, feedback: Feedback) -> None:
        ctx = self._discretize(feedback.contexts, feedback.keys)
        for c, a, r in zip(ctx, feedback.arms, feedback.rewards):
            self.context_counts_[c, a] += 1
            n = self.context_counts_[c, a]
            self.value_estimates_[c, a] += (r - self.value_estimates_[c, a]) / n
        if feedback.response_times is not None:
            w = self.config.ema_weight
            for k, a, rt in zip(feedback.keys, feedback.arms, feedback.response_times):
                if a == 0 and np.isfinite(rt):
                    self.thresholds_[k] = (1.0 - w) * self.threshold(k) + w * float(rt)
        mean_reward = float(np.mean(feedback.rewards))
        self.interval_rewards_.append(mean_reward)
        if mean_reward >= self.rho_:
            self.epsilon_ *= self.config.decay
            self.rho_ = min(1.0, self.config.rho_growth * self.rho_)

    def _expectations(self, x: np.ndarray, keys: list[Hashable]) -> np.ndarray:
        return self.value_estimates_[self._discretize(x, keys)].copy()
