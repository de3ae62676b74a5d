"""LinUCB: a disjoint linear upper-confidence-bound policy over the continuous slack context.

Reference: Li, Chu, Langford, Schapire, "A Contextual-Bandit Approach to Personalized News
Article Recommendation", WWW 2010 (disjoint LinUCB); discounting after Russac, Vernade,
Cappe, "Weighted Linear Bandits for Non-Stationary Environments", NeurIPS 2019.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from datagen.validation import finite_float
from placement.policies._linear import LinearArms, LinearConfig
from placement.policies.base import DEFAULT_KEY, Feedback, SplitPolicy

__all__ = ["LinUCBConfig", "LinUCBPolicy", "LinearPolicy"]


@dataclass(frozen=True)
class LinUCBConfig(LinearConfig):
    r"""Hyper-parameters of :class:`LinUCBPolicy`.

    Args:
        alpha: Width of the confidence bonus, ``>= 0`` (default: ``1.0``).
        l2_lambda: Ridge penalty :math:`\lambda > 0` (default: ``1.0``).
        discount: Discount :math:`\gamma \in (0, 1]` per observation for non-stationary
            rewards; ``1`` = none (default: ``1.0``).
        window: Keep only the last ``window`` observations per arm, or ``None``
            (default: ``None``). Exclusive with ``discount < 1``.
        fit_intercept: Append a constant 1 feature (default: ``True``).
        per_service: Keep separate estimates per row key (service or application) instead of
            one shared model (default: ``False``).
    """

    alpha: float = 1.0
    l2_lambda: float = 1.0
    discount: float = 1.0
    window: int | None = None
    fit_intercept: bool = True
    per_service: bool = False

    def _check_own_fields(self) -> None:
        if finite_float(self.alpha) is None or not self.alpha >= 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha!r}")


class LinearPolicy(SplitPolicy):
    """Common machinery of the linear policies: features, per-key models, updates.

    Subclasses set ``config_class`` and implement :meth:`_scores`.
    """

    context_type = "slack"
    config_class: type = LinUCBConfig


    def _base_reset(self) -> None:
        super()._base_reset()
        self.models_: LinearArms | None = None

    def _features(self, x: np.ndarray) -> np.ndarray:
        if self.config.fit_intercept:
            return np.hstack([x, np.ones((x.shape[0], 1))])
        return x

    def _models(self, dim: int) -> LinearArms:
        if self.models_ is None:
            c = self.config
            self.models_ = LinearArms(self.n_arms, dim, c.l2_lambda, c.discount, c.window)
        return self.models_

    def _groups(self, keys: list[Hashable]) -> dict[Hashable, list[int]]:
        groups: dict[Hashable, list[int]] = defaultdict(list)
        for i, k in enumerate(keys):
            groups[k if self.config.per_service else DEFAULT_KEY].append(i)
        return groups

    def _score_all(self, x: np.ndarray, keys: list[Hashable], mode: str) -> np.ndarray:
        z = self._features(x)
        models = self._models(z.shape[1])
        out = np.empty((x.shape[0], self.n_arms))
        for key, rows in self._groups(keys).items():
            theta, a_inv = models.posterior(key)
            out[rows] = self._scores(z[rows], theta, a_inv, mode)
        return out

    def _scores(self, z: np.ndarray, theta: np.ndarray, a_inv: np.ndarray, mode: str) -> np.ndarray:
        """Arm scores ``(n, n_arms)``; ``mode`` is ``"explore"``, ``"greedy"`` or ``"mean"``."""
        raise NotImplementedError

    def _select(self, x: np.ndarray, keys: list[Hashable], *, explore: bool) -> np.ndarray:
        scores = self._score_all(x, keys, "explore" if explore else "greedy")
        # argmax takes the first maximum: ties go to arm 0 = layer.
        return np.argmax(scores, axis=1)

    def _update(self, feedback: Feedback) -> None:
        z = self._features(feedback.contexts)
        models = self._models(z.shape[1])
        for zi, a, r, k in zip(z, feedback.arms, feedback.rewards, feedback.keys):
            models.add(k if self.config.per_service else DEFAULT_KEY, int(a), zi, float(r))

    def _expectations(self, x: np.ndarray, keys: list[Hashable]) -> np.ndarray:
        return self._score_all(x, keys, "mean")


class LinUCBPolicy(LinearPolicy):
    r"""Disjoint LinUCB: one ridge regression per arm, optimistic selection.

    .. math::
        \hat\theta_a = A_a^{-1} b_a, \qquad
        a_t = \arg\max_a \; \hat\theta_a^\top x + \alpha \sqrt{x^\top A_a^{-1} x}

    where :math:`A_a = \lambda I + \sum x x^\top` and :math:`b_a = \sum r x` over the
    rounds arm :math:`a` was played (see :class:`~placement.policies._linear.LinearArms` for
    discounting and windows). :meth:`predict` and :meth:`predict_expectations` use the point
    estimate :math:`\hat\theta_a^\top x`. Selection is deterministic (ties go to ``layer``),
    so the generator is unused.

    Args:
        config: Hyper-parameters (default: ``LinUCBConfig()``).
        rng: Random generator (default: ``None``).
        seed: Seed used when ``rng`` is ``None`` (default: ``None``).
        **overrides: Fields of :class:`LinUCBConfig` to override.

    Attributes:
        models_: The per-(key, arm) ridge statistics, ``None`` before the first call.
    """

    name = "linucb"
    config_class = LinUCBConfig

    def _scores(self, z: np.ndarray, theta: np.ndarray, a_inv: np.ndarray, mode: str) -> np.ndarray:
        mean = z @ theta.T
        if mode != "explore":
            return mean
        width = np.sqrt(np.maximum(np.einsum("ni,aij,nj->na", z, a_inv, z), 0.0))
        return mean + self.config.alpha * width
