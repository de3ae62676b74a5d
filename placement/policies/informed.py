r"""The surrogate-informed split policy: predicted expected reward as the prior, corrected online.

With no feedback at all the policy already decides: its context carries, for each split, the
expected reward computed from the surrogate's predicted mean latency, p95 and loss and from the
split's accuracy (:func:`~placement.policies.context.build_reward_context`), and it takes the
arm with the larger one. Observed rewards then train a ridge regression of the *residual*
:math:`r - \hat r_a` per arm (disjoint LinUCB on the whole context row), which corrects the
prior where the surrogate is biased:

.. math::
    \text{score}_a(x) = \hat r_a(x) + \frac{\hat\theta_a^\top z(x)}{1 + \kappa\, w_a^2}
    + \alpha\, w_a, \qquad w_a^2 = z^\top A_a^{-1} z, \qquad
    \hat\theta_a = A_a^{-1} \sum (r - \hat r_a)\, z

with :math:`z` the context row plus an intercept, :math:`A_a = \lambda I + \sum z z^\top`,
the shrinkage :math:`\kappa` (``shrink``: the correction fades where the context lies far from
the data it was fitted on, instead of extrapolating a linear fit over the prior) and the bonus
only when exploring (:meth:`select`). Before any update :math:`\hat\theta_a = 0`, so
the choice is the zero-shot :math:`\arg\max_a \hat r_a`. The published SplitPlace bandit stays
available unchanged as ``"splitplace"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from datagen.validation import is_real
from placement.policies.base import Feedback
from placement.policies.linucb import LinearPolicy, LinUCBConfig

__all__ = ["InformedConfig", "InformedPolicy"]


@dataclass(frozen=True)
class InformedConfig(LinUCBConfig):
    r"""Hyper-parameters of :class:`InformedPolicy` (the fields of :class:`LinUCBConfig`).

    Args:
        alpha: Width of the exploration bonus of :meth:`~InformedPolicy.select`, ``>= 0``
            (default: ``0.1``: rewards are in [0, 1] and the prior is already informative).
        l2_lambda: Ridge penalty :math:`\lambda > 0` of the residual model; larger values
            trust the prior longer (default: ``4.0``).
        discount: Discount :math:`\gamma \in (0, 1]` per observation for non-stationary
            rewards (default: ``1.0`` = none).
        window: Keep only the last ``window`` observations per arm, or ``None``
            (default: ``None``).
        fit_intercept: Append a constant 1 feature (default: ``True``).
        per_service: Separate residual models per row key (application) (default:
            ``False``: one model, so what is learned on one application carries to others).
        shrink: :math:`\kappa \ge 0`: the correction is divided by :math:`1 + \kappa w^2`,
            with :math:`w^2 = z^\top A_a^{-1} z` how far the context lies from the data the
            correction was fitted on, so a linear fit does not extrapolate over the prior
            where it has seen nothing alike (default: ``0.0``, no shrinkage).
    """

    alpha: float = 0.1
    l2_lambda: float = 4.0
    shrink: float = 0.0

    def _check_own_fields(self) -> None:
        super()._check_own_fields()
        if not (is_real(self.shrink) and 0 <= self.shrink < math.inf):
            raise ValueError(f"shrink must be a finite number >= 0, got {self.shrink!r}")


class InformedPolicy(LinearPolicy):
    """Expected reward from the surrogate as the prior, a LinUCB residual model on top.

    Context rows are built by :func:`~placement.policies.context.build_reward_context`: the
    expected reward of each split first (columns 0 and 1: layer, semantic), then the slacks
    and load features. Works from the first request (:attr:`requires_fit` is ``False``).

    Args:
        config: Hyper-parameters (default: ``InformedConfig()``).
        rng: Random generator (unused: selection is deterministic) (default: ``None``).
        seed: Seed used when ``rng`` is ``None`` (default: ``None``).
        **overrides: Fields of :class:`InformedConfig` to override.

    Attributes:
        models_: The per-(key, arm) ridge statistics of the residuals, ``None`` before the
            first call.

    Example:
        >>> policy = InformedPolicy()
        >>> ctx = np.array([[0.40, 0.70, -0.5, 0.4, 0.3, 0.6]])  # semantic expected better
        >>> policy.predict(ctx).tolist()
        [1]
    """

    name = "informed"
    config_class = InformedConfig
    context_type = "reward"
    requires_fit = False

    def _check_contexts(self, contexts: object) -> np.ndarray:
        x = super()._check_contexts(contexts)
        if x.shape[0] and x.shape[1] < self.n_arms:
            raise ValueError(
                f"contexts must start with the expected reward of each of the {self.n_arms} "
                f"splits, got {x.shape[1]} columns; build them with build_reward_context"
            )
        return x

    def _prior(self, x: np.ndarray) -> np.ndarray:
        return x[:, : self.n_arms]

    def _scores(self, z: np.ndarray, theta: np.ndarray, a_inv: np.ndarray, mode: str) -> np.ndarray:
        # z carries the raw context in its first columns, so the prior is z[:, :n_arms].
        width2 = np.maximum(np.einsum("ni,aij,nj->na", z, a_inv, z), 0.0)
        score = z[:, : self.n_arms] + (z @ theta.T) / (1.0 + self.config.shrink * width2)
        if mode != "explore":
            return score
        return score + self.config.alpha * np.sqrt(width2)

    def _update(self, feedback: Feedback) -> None:
        x = feedback.contexts
        residual = feedback.rewards - self._prior(x)[np.arange(x.shape[0]), feedback.arms]
        super()._update(replace(feedback, rewards=residual))
