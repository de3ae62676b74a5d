"""Split policies: which split type (layer or semantic) each new service deployment gets.

Every policy has the same interface (see :class:`~placement.policies.base.SplitPolicy`):
``select(contexts) -> (n,)`` arm indices, ``update(contexts, arms, rewards) -> self``,
``predict_expectations(contexts) -> (n, 2)``. Build one by name with :func:`make_policy`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from placement.policies.base import ARMS, DEFAULT_KEY, NotFittedError, SplitPolicy, as_rng
from placement.policies.context import (
    LOAD_FEATURES,
    REWARD_CONTEXT_PREFIX,
    build_context,
    build_reward_context,
    context_names,
    load_features,
    split_metrics,
)
from placement.policies.fixed import (
    FixedArmConfig,
    FixedArmPolicy,
    LayerOnlyPolicy,
    RandomConfig,
    RandomPolicy,
    SemanticOnlyPolicy,
)
from placement.policies.informed import InformedConfig, InformedPolicy
from placement.policies.linucb import LinUCBConfig, LinUCBPolicy
from placement.policies.reward import (
    PREDICTED_LATENCY_ERROR,
    REWARD_KINDS,
    Reward,
    deadline_probability,
)
from placement.policies.splitplace import (
    PUBLISHED_THRESHOLDS,
    SplitPlaceConfig,
    SplitPlacePolicy,
    splitplace_reward,
)
from placement.policies.state import PolicyFileError, load_policy, policy_state, save_policy
from placement.policies.thompson import ThompsonConfig, ThompsonPolicy

__all__ = [
    "ARMS",
    "DEFAULT_KEY",
    "DEFAULT_POLICY_PATH",
    "LOAD_FEATURES",
    "POLICIES",
    "PUBLISHED_THRESHOLDS",
    "REWARD_CONTEXT_PREFIX",
    "REWARD_KINDS",
    "FixedArmConfig",
    "InformedConfig",
    "InformedPolicy",
    "FixedArmPolicy",
    "LayerOnlyPolicy",
    "LinUCBConfig",
    "LinUCBPolicy",
    "NotFittedError",
    "PolicyFileError",
    "Reward",
    "RandomConfig",
    "RandomPolicy",
    "SemanticOnlyPolicy",
    "SplitPlaceConfig",
    "SplitPlacePolicy",
    "SplitPolicy",
    "ThompsonConfig",
    "ThompsonPolicy",
    "as_rng",
    "build_context",
    "build_reward_context",
    "context_names",
    "deadline_probability",
    "PREDICTED_LATENCY_ERROR",
    "load_features",
    "split_metrics",
    "load_policy",
    "make_policy",
    "policy_state",
    "save_policy",
    "splitplace_reward",
]

#: The packaged pre-warmed ``informed`` policy that ``placement.Placer()`` loads (its card:
#: ``DEFAULT_POLICY.md`` next to it).
DEFAULT_POLICY_PATH: Path = Path(__file__).with_name("default_policy.json")

#: Registry of policy names accepted by :func:`make_policy`.
POLICIES: dict[str, type[SplitPolicy]] = {
    "informed": InformedPolicy,
    "splitplace": SplitPlacePolicy,
    "linucb": LinUCBPolicy,
    "thompson": ThompsonPolicy,
    "layer_only": LayerOnlyPolicy,
    "semantic_only": SemanticOnlyPolicy,
    "random": RandomPolicy,
}


def make_policy(
    name: str,
    *,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    **kwargs: Any,
) -> SplitPolicy:
    """Build a split policy by name.

    Args:
        name: One of :data:`POLICIES`: ``"informed"``, ``"splitplace"``, ``"linucb"``,
            ``"thompson"``, ``"layer_only"``, ``"semantic_only"``, ``"random"``.
        rng: Random generator (default: ``None``).
        seed: Seed used when ``rng`` is ``None`` (default: ``None`` = ``0``).
        **kwargs: Config fields of that policy (e.g. ``alpha=0.5`` for ``linucb``), or
            ``config=`` a config object.

    Returns:
        A fresh policy.

    Raises:
        ValueError: On an unknown name, or config fields the policy does not have.

    Example:
        >>> policy = make_policy("linucb", alpha=0.5, per_service=True)
        >>> policy.select(np.zeros((3, 4))).shape
        (3,)
    """
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose one of {sorted(POLICIES)}")
    cls = POLICIES[name]
    if cls in (LayerOnlyPolicy, SemanticOnlyPolicy) and kwargs:
        raise ValueError(f"policy {name!r} takes no config fields, got {sorted(kwargs)}")
    try:
        return cls(rng=rng, seed=seed, **kwargs)
    except TypeError as exc:
        raise ValueError(f"invalid config for policy {name!r}: {exc}") from exc
