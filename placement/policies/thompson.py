"""Linear Thompson sampling: Bayesian linear regression per arm with a Gaussian posterior.

Reference: Agrawal, Goyal, "Thompson Sampling for Contextual Bandits with Linear Payoffs",
ICML 2013.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.validation import finite_float
from placement.policies._linear import LinearConfig
from placement.policies.linucb import LinearPolicy

__all__ = ["ThompsonConfig", "ThompsonPolicy"]


@dataclass(frozen=True)
class ThompsonConfig(LinearConfig):
    r"""Hyper-parameters of :class:`ThompsonPolicy`.

    Args:
        noise_variance: Reward noise variance :math:`v^2 > 0`; scales the posterior
            covariance (default: ``0.05``).
        l2_lambda: Prior precision :math:`\lambda > 0` (prior :math:`N(0, v^2/\lambda I)`)
            (default: ``1.0``).
        discount: Discount :math:`\gamma \in (0, 1]` per observation (default: ``1.0``).
        window: Keep only the last ``window`` observations per arm, or ``None``
            (default: ``None``).
        fit_intercept: Append a constant 1 feature (default: ``True``).
        per_service: Keep separate estimates per row key (default: ``False``).
    """

    noise_variance: float = 0.05
    l2_lambda: float = 1.0
    discount: float = 1.0
    window: int | None = None
    fit_intercept: bool = True
    per_service: bool = False

    def _check_own_fields(self) -> None:
        v = self.noise_variance
        if finite_float(v) is None or not v > 0:
            raise ValueError(f"noise_variance must be a finite number > 0, got {v!r}")


class ThompsonPolicy(LinearPolicy):
    r"""Thompson sampling from the Gaussian posterior of a Bayesian linear regression per arm.

    .. math::
        \tilde\theta_a \sim \mathcal N\big(A_a^{-1} b_a,\; v^2 A_a^{-1}\big), \qquad
        a_t = \arg\max_a \tilde\theta_a^\top x

    One :math:`\tilde\theta_a` is drawn per row and arm from the injected generator, so a
    seed fixes the run. :meth:`predict` and :meth:`predict_expectations` use the posterior
    mean.

    Args:
        config: Hyper-parameters (default: ``ThompsonConfig()``).
        rng: Random generator (default: ``None``).
        seed: Seed used when ``rng`` is ``None`` (default: ``None`` = ``0``).
        **overrides: Fields of :class:`ThompsonConfig` to override.

    Attributes:
        models_: The per-(key, arm) ridge statistics, ``None`` before the first call.
    """

    name = "thompson"
    config_class = ThompsonConfig

    def _scores(self, z: np.ndarray, theta: np.ndarray, a_inv: np.ndarray, mode: str) -> np.ndarray:
        if mode != "explore":
            return z @ theta.T
        n, d = z.shape
        out = np.empty((n, self.n_arms))
        for a in range(self.n_arms):
            cov = self.config.noise_variance * a_inv[a]
            chol = np.linalg.cholesky(0.5 * (cov + cov.T))
            draws = theta[a] + self.rng.standard_normal((n, d)) @ chol.T
            out[:, a] = np.einsum("nd,nd->n", draws, z)
        return out
