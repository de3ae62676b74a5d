"""Non-learning baselines of the SplitPlace paper: layer-only, semantic-only and random."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from datagen.validation import is_real
from placement.policies.base import ARMS, Feedback, SplitPolicy

__all__ = [
    "FixedArmConfig",
    "FixedArmPolicy",
    "LayerOnlyPolicy",
    "RandomConfig",
    "RandomPolicy",
    "SemanticOnlyPolicy",
]


class _NonLearningPolicy(SplitPolicy):
    """A policy that ignores feedback: :meth:`update` only counts the observations."""

    def _update(self, feedback: Feedback) -> None:
        return None


@dataclass(frozen=True)
class FixedArmConfig:
    """Config of :class:`FixedArmPolicy`.

    Args:
        arm: The arm always played, ``"layer"`` or ``"semantic"`` (default: ``"layer"``).
    """

    arm: str = "layer"

    def validate(self) -> FixedArmConfig:
        """Check the arm name; return ``self``.

        Raises:
            ValueError: If ``arm`` is not one of :data:`~placement.policies.base.ARMS`.
        """
        if self.arm not in ARMS:
            raise ValueError(f"arm must be one of {ARMS}, got {self.arm!r}")
        return self


class FixedArmPolicy(_NonLearningPolicy):
    """Always play the same arm; :meth:`update` only counts.

    :meth:`predict_expectations` returns the selection probabilities (1 for the fixed arm,
    0 for the other): the policy holds no reward estimates, and needs no data.

    Args:
        config: The arm (default: ``FixedArmConfig()``).
        rng: Unused; accepted for a uniform constructor (default: ``None``).
        seed: Unused (default: ``None``).
        **overrides: Fields of :class:`FixedArmConfig` to override.
    """

    name = "fixed"
    config_class = FixedArmConfig
    context_type = "slack"
    requires_fit = False
    #: The arm of a subclass whose class implies its config: its constructor takes no
    #: ``config`` (:func:`~placement.policies.state.load_policy` builds it as ``cls()``);
    #: ``None`` where the config chooses the arm.
    implied_arm: ClassVar[str | None] = None


    @property
    def arm_index(self) -> int:
        """Index of the fixed arm."""
        return self.arms.index(self.config.arm)

    def _select(self, x: np.ndarray, keys: list[Hashable], *, explore: bool) -> np.ndarray:
        return np.full(x.shape[0], self.arm_index, dtype=np.int64)

    def _expectations(self, x: np.ndarray, keys: list[Hashable]) -> np.ndarray:
        out = np.zeros((x.shape[0], self.n_arms))
        out[:, self.arm_index] = 1.0
        return out


class LayerOnlyPolicy(FixedArmPolicy):
    """Always the layer split (the paper's ``LayerOnly`` decider)."""

    name = "layer_only"
    implied_arm: ClassVar[str] = "layer"

    def __init__(
        self, *, rng: np.random.Generator | None = None, seed: int | None = None
    ) -> None:
        super().__init__(FixedArmConfig(arm=self.implied_arm), rng=rng, seed=seed)


class SemanticOnlyPolicy(FixedArmPolicy):
    """Always the semantic split (the paper's ``SemanticOnly`` decider)."""

    name = "semantic_only"
    implied_arm: ClassVar[str] = "semantic"

    def __init__(
        self, *, rng: np.random.Generator | None = None, seed: int | None = None
    ) -> None:
        super().__init__(FixedArmConfig(arm=self.implied_arm), rng=rng, seed=seed)


@dataclass(frozen=True)
class RandomConfig:
    """Config of :class:`RandomPolicy`.

    Args:
        p_semantic: Probability of choosing the semantic split (default: ``0.5``).
    """

    p_semantic: float = 0.5

    def validate(self) -> RandomConfig:
        """Check the probability; return ``self``.

        Raises:
            ValueError: If ``p_semantic`` is not in [0, 1].
        """
        p = self.p_semantic
        if not (is_real(p) and 0 <= p <= 1):
            raise ValueError(f"p_semantic must be in [0, 1], got {p!r}")
        return self


class RandomPolicy(_NonLearningPolicy):
    """Choose the semantic split with probability ``p_semantic`` (the paper's random decider).

    One ``rng.random()`` draw per row, in :meth:`select` and :meth:`predict` alike (a random
    decider has no greedy mode). :meth:`predict_expectations` returns the selection
    probabilities ``[1 - p, p]``.

    Args:
        config: The probability (default: ``RandomConfig()``).
        rng: Random generator (default: ``None``).
        seed: Seed used when ``rng`` is ``None`` (default: ``None`` = ``0``).
        **overrides: Fields of :class:`RandomConfig` to override.
    """

    name = "random"
    config_class = RandomConfig
    context_type = "slack"
    requires_fit = False


    def _select(self, x: np.ndarray, keys: list[Hashable], *, explore: bool) -> np.ndarray:
        draws = self.rng.random(x.shape[0])
        return np.asarray(draws < self.config.p_semantic, dtype=np.int64)

    def _expectations(self, x: np.ndarray, keys: list[Hashable]) -> np.ndarray:
        p = self.config.p_semantic
        return np.tile([1.0 - p, p], (x.shape[0], 1))
