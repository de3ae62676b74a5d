"""Ridge-regression sufficient statistics per (key, arm), shared by LinUCB and Thompson.

Private helper: one :class:`LinearArms` holds, for every key and arm, the regularised Gram
matrix and the reward-weighted context sum, with optional discounting or a sliding window for
non-stationary rewards. :class:`LinearConfig` checks the config fields those policies share.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from datagen.validation import finite_float, is_int, is_real

__all__ = ["LinearArms", "LinearConfig"]

_Config = TypeVar("_Config", bound="LinearConfig")


class LinearConfig:
    r"""Base of the linear policies' configs: the fields they share and :meth:`validate`.

    Each config is a frozen dataclass that declares its own fields first, then these five
    (so its ``repr`` and saved form keep that order), and checks its own fields in
    :meth:`_check_own_fields`.

    Attributes:
        l2_lambda: Ridge penalty (prior precision) :math:`\lambda > 0`.
        discount: Discount :math:`\gamma \in (0, 1]` per observation; ``1`` = none.
        window: Keep only the last ``window`` observations per arm, or ``None``; exclusive
            with ``discount < 1``.
        fit_intercept: Append a constant 1 feature.
        per_service: Keep separate estimates per row key instead of one shared model.
    """

    l2_lambda: float
    discount: float
    window: int | None
    fit_intercept: bool
    per_service: bool

    def validate(self: _Config) -> _Config:
        """Check every field, the policy's own ones first; return ``self``.

        Raises:
            ValueError: Naming the field, its value and the valid range.
        """
        self._check_own_fields()
        l2_lambda, discount, window = self.l2_lambda, self.discount, self.window
        if finite_float(l2_lambda) is None or not l2_lambda > 0:
            raise ValueError(f"l2_lambda must be a finite number > 0, got {l2_lambda!r}")
        if not (is_real(discount) and 0 < discount <= 1):
            raise ValueError(f"discount must be in (0, 1] (1 = no discounting), got {discount!r}")
        if window is not None and (not is_int(window) or window < 1):
            raise ValueError(f"window must be None or an integer >= 1, got {window!r}")
        if window is not None and discount != 1:
            raise ValueError(
                f"use either discount (got {discount}) or window (got {window}), not both; "
                "set discount=1.0 or window=None"
            )
        if not isinstance(self.fit_intercept, bool):
            raise ValueError(f"fit_intercept must be a bool, got {self.fit_intercept!r}")
        if not isinstance(self.per_service, bool):
            raise ValueError(f"per_service must be a bool, got {self.per_service!r}")
        return self

    def _check_own_fields(self) -> None:
        """Check the fields the policy adds to the shared ones (none here).

        Raises:
            ValueError: Naming the field, its value and the valid range.
        """


@dataclass
class _ArmStats:
    gram: np.ndarray  # A = lambda I + sum x x^T   (d, d)
    xy: np.ndarray  # b = sum r x                  (d,)
    history: deque[tuple[np.ndarray, float]] | None = None


class LinearArms:
    r"""Per-(key, arm) ridge statistics.

    .. math::
        A_a \leftarrow \gamma A_a + (1-\gamma)\lambda I + \mathbb{1}[a = a_t]\, x_t x_t^\top,
        \qquad b_a \leftarrow \gamma b_a + \mathbb{1}[a = a_t]\, r_t x_t,
        \qquad \hat\theta_a = A_a^{-1} b_a

    starting from :math:`A_a = \lambda I`, :math:`b_a = 0`.
    With ``discount`` :math:`\gamma < 1` every observation of a key discounts the statistics
    of all arms of that key (D-LinUCB, Russac et al., NeurIPS 2019); with ``window`` W only
    the last W observations of each (key, arm) are kept (SW-LinUCB).

    Args:
        n_arms: Number of arms.
        dim: Feature dimension (after the intercept column, if any).
        l2_lambda: Ridge penalty :math:`\lambda > 0`.
        discount: :math:`\gamma \in (0, 1]`.
        window: Sliding window length, or ``None``.
    """

    def __init__(
        self, n_arms: int, dim: int, l2_lambda: float, discount: float, window: int | None
    ) -> None:
        self.n_arms = n_arms
        self.dim = dim
        self.l2_lambda = float(l2_lambda)
        self.discount = float(discount)
        self.window = window
        self.stats: dict[Hashable, list[_ArmStats]] = {}

    def _new(self) -> _ArmStats:
        hist: deque[tuple[np.ndarray, float]] | None = (
            deque(maxlen=self.window) if self.window is not None else None
        )
        return _ArmStats(self.l2_lambda * np.eye(self.dim), np.zeros(self.dim), hist)

    def arms_of(self, key: Hashable) -> list[_ArmStats]:
        """Statistics of every arm of ``key`` (the prior for an unseen key)."""
        if key not in self.stats:
            self.stats[key] = [self._new() for _ in range(self.n_arms)]
        return self.stats[key]

    def add(self, key: Hashable, arm: int, x: np.ndarray, reward: float) -> None:
        """Add one observation ``(x, reward)`` of ``arm`` under ``key``."""
        arms = self.arms_of(key)
        if self.discount < 1:
            g, lam = self.discount, self.l2_lambda
            for s in arms:
                s.gram *= g
                s.gram += (1 - g) * lam * np.eye(self.dim)
                s.xy *= g
        s = arms[arm]
        if s.history is not None:
            s.history.append((x.copy(), float(reward)))
            xs = np.array([h[0] for h in s.history])
            rs = np.array([h[1] for h in s.history])
            s.gram = self.l2_lambda * np.eye(self.dim) + xs.T @ xs
            s.xy = xs.T @ rs
        else:
            s.gram += np.outer(x, x)
            s.xy += reward * x

    def posterior(self, key: Hashable) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(theta, A_inv)``: shapes ``(n_arms, d)`` and ``(n_arms, d, d)``."""
        arms = self.arms_of(key)
        a_inv = np.stack([np.linalg.inv(s.gram) for s in arms])
        theta = np.einsum("aij,aj->ai", a_inv, np.stack([s.xy for s in arms]))
        return theta, a_inv
