"""The shared interface of every split policy (a contextual bandit over the split type).

A split policy decides, for each incoming service deployment, whether to split its DNN by
layers (a sequential chain, full accuracy) or semantically (parallel branches, lower accuracy,
lower latency). The interface follows MABWiser and scikit-learn, with fixed types:

- the hyper-parameters live in a frozen config dataclass with ``validate()``;
- ``select(contexts) -> (n,)`` int arm indices, *always* of shape ``(n,)`` (exploring);
- ``predict(contexts) -> (n,)`` int arm indices, greedy (evaluation time);
- ``update(contexts, arms, rewards) -> self`` (``partial_fit`` is an alias; ``fit`` resets
  first);
- ``predict_expectations(contexts) -> (n, n_arms)`` expected rewards;
- learned state ends in ``_`` (``counts_``, ``n_features_in_``); randomness comes from an
  injected ``numpy.random.Generator`` (``rng``) or a ``seed``, never a global seed.

Per-service (not shared) estimates: every method takes an optional ``keys`` array of shape
``(n,)`` (e.g. the application or service name of each row). Policies that keep per-key
estimates (``splitplace`` always, ``linucb``/``thompson`` with ``per_service=True``) use it;
the others ignore it. A missing ``keys`` means one shared key, :data:`DEFAULT_KEY`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np

__all__ = [
    "ARMS",
    "DEFAULT_KEY",
    "Feedback",
    "KeylessPolicy",
    "NotFittedError",
    "SplitPolicy",
    "as_rng",
]

#: The two arms, in index order: 0 = ``"layer"``, 1 = ``"semantic"``.
ARMS: tuple[str, str] = ("layer", "semantic")

#: The key used for every row when ``keys`` is not given.
DEFAULT_KEY: str = "default"


class NotFittedError(ValueError):
    """A policy was asked for expectations before it saw any data; call ``update`` first."""


def as_rng(rng: np.random.Generator | None = None, seed: int | None = None) -> np.random.Generator:
    """Return the generator to use from an injected ``rng`` or a ``seed``.

    Args:
        rng: A generator to use as is (default: ``None``).
        seed: A seed for a fresh ``numpy.random.default_rng`` when ``rng`` is ``None``
            (default: ``None`` = seed ``0``, so runs are reproducible by default).

    Returns:
        The generator.

    Raises:
        ValueError: If both ``rng`` and ``seed`` are given, or ``rng`` is not a Generator.
    """
    if rng is not None and seed is not None:
        raise ValueError(f"pass rng or seed, not both (got rng={rng!r}, seed={seed!r})")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise ValueError(
                f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                "use numpy.random.default_rng(seed)"
            )
        return rng
    return np.random.default_rng(0 if seed is None else seed)


@dataclass(frozen=True)
class Feedback:
    """One decision interval's checked feedback, as :meth:`SplitPolicy._update` receives it.

    :meth:`SplitPolicy.update` builds it from the user's arrays after checking them, so a
    policy's ``_update`` reads named, validated fields with ``n >= 1`` rows.

    Attributes:
        contexts: Context rows at decision time, finite floats of shape ``(n, d)``.
        arms: The arms played, int indices of shape ``(n,)``.
        rewards: Observed rewards, finite floats of shape ``(n,)``.
        keys: One key per row (:data:`DEFAULT_KEY` when none was given), length ``n``.
        response_times: Observed response times (s), shape ``(n,)`` (``nan``/``inf`` when
            nothing completed), or ``None`` when not given.
    """

    contexts: np.ndarray
    arms: np.ndarray
    rewards: np.ndarray
    keys: list[Hashable]
    response_times: np.ndarray | None = None


class SplitPolicy(ABC):
    """Base class of the split policies: input checks and the sklearn-like aliases.

    Subclasses implement :meth:`_select`, :meth:`_update` (which receives a
    :class:`Feedback`), :meth:`_expectations` and :meth:`reset`, and receive checked arrays.

    Args:
        config: The policy's config, an instance of :attr:`config_class` (default: ``None`` =
            the config's defaults).
        rng: Random generator (default: ``None``: a generator seeded with ``seed``).
        seed: Seed used when ``rng`` is ``None`` (default: ``None`` = ``0``).
        **overrides: Config fields to replace, e.g. ``epsilon=0.5``.

    Raises:
        ValueError: If ``config`` is not a :attr:`config_class` or a field is invalid.

    Attributes:
        arms: The arm names, :data:`ARMS`.
        name: The registry name of the policy (see :func:`placement.policies.make_policy`).
        n_features_in_: Number of context columns, fixed by the first call that sees contexts.
        counts_: Number of updates received per arm, shape ``(n_arms,)``.
    """

    name: str = "base"
    arms: tuple[str, ...] = ARMS
    #: What the context rows hold: ``"slack"`` (:func:`~placement.policies.build_context`) or
    #: ``"sla"`` (the deadline, for ``splitplace``).
    context_type: str = "slack"
    #: Whether predict_expectations needs data (raises NotFittedError before any update).
    requires_fit: bool = True

    #: The frozen config dataclass of the policy (it has a ``validate()`` method).
    config_class: type

    def __init__(
        self,
        config: Any = None,
        *,
        rng: np.random.Generator | None = None,
        seed: int | None = None,
        **overrides: Any,
    ) -> None:
        base: Any = config if config is not None else self.config_class()
        if not isinstance(base, self.config_class):
            raise ValueError(
                f"config must be a {self.config_class.__name__}, got {type(base).__name__}"
            )
        self.config: Any = replace(cast(Any, base), **overrides).validate()
        self.rng = as_rng(rng, seed)
        self._base_reset()

    # -- public API ---------------------------------------------------------------------------

    @property
    def n_arms(self) -> int:
        """Number of arms (2)."""
        return len(self.arms)

    @property
    def is_fitted(self) -> bool:
        """Whether the policy has received at least one observation."""
        return bool(self.counts_.sum() > 0)

    def select(
        self, contexts: Any, *, keys: Sequence[Hashable] | np.ndarray | None = None
    ) -> np.ndarray:
        """Choose an arm per row, exploring as the policy does during training.

        Args:
            contexts: Context rows, array-like of shape ``(n, d)``.
            keys: Optional per-row key (application or service name) for per-service
                estimates (default: ``None`` = one shared key).

        Returns:
            Arm indices (0 = layer, 1 = semantic), int array of shape ``(n,)``.

        Raises:
            ValueError: On a context array that is not 2-D and finite, a column count that
                differs from earlier calls, or ``keys`` of the wrong length.
        """
        return self._choose(contexts, keys, explore=True)

    def predict(
        self, contexts: Any, *, keys: Sequence[Hashable] | np.ndarray | None = None
    ) -> np.ndarray:
        """Choose an arm per row greedily (evaluation time, no exploration).

        Args:
            contexts: Context rows, array-like of shape ``(n, d)``.
            keys: Optional per-row key (default: ``None``).

        Returns:
            Arm indices, int array of shape ``(n,)``.
        """
        return self._choose(contexts, keys, explore=False)

    def update(
        self,
        contexts: Any,
        arms: Any,
        rewards: Any,
        *,
        keys: Sequence[Hashable] | np.ndarray | None = None,
        response_times: Any = None,
    ) -> SplitPolicy:
        """Learn from observed rewards; one call is one decision interval.

        Args:
            contexts: Context rows at decision time, shape ``(n, d)``.
            arms: The arms played, shape ``(n,)``: indices in ``{0, 1}`` or names in
                :data:`ARMS`.
            rewards: Observed rewards, shape ``(n,)``, finite.
            keys: Optional per-row key (default: ``None``).
            response_times: Optional observed response times (s), shape ``(n,)``; ``nan`` or
                ``inf`` when nothing completed. Used by policies that track latency
                (``splitplace``), ignored by the others (default: ``None``).

        Returns:
            ``self``.

        Raises:
            ValueError: On mismatched lengths, unknown arms or non-finite rewards.
        """
        x = self._check_contexts(contexts)
        n = x.shape[0]
        a = self._check_arms(arms, n)
        r = np.asarray(rewards, dtype=float).reshape(-1)
        if r.shape != (n,):
            raise ValueError(f"rewards must have shape ({n},) like contexts, got {r.shape}")
        if not np.all(np.isfinite(r)):
            raise ValueError(f"rewards must be finite, got {r[~np.isfinite(r)][:3]}")
        k = self._check_keys(keys, n)
        rt: np.ndarray | None = None
        if response_times is not None:
            rt = np.asarray(response_times, dtype=float).reshape(-1)
            if rt.shape != (n,):
                raise ValueError(
                    f"response_times must have shape ({n},) like contexts, got {rt.shape}"
                )
        if n == 0:
            return self
        self._update(Feedback(x, a, r, k, rt))
        np.add.at(self.counts_, a, 1)
        return self

    def partial_fit(self, contexts: Any, arms: Any, rewards: Any, **kwargs: Any) -> SplitPolicy:
        """Alias of :meth:`update` (scikit-learn / MABWiser naming)."""
        return self.update(contexts, arms, rewards, **kwargs)

    def fit(self, contexts: Any, arms: Any, rewards: Any, **kwargs: Any) -> SplitPolicy:
        """Forget everything, then :meth:`update` with the given data."""
        self.reset()
        return self.update(contexts, arms, rewards, **kwargs)

    def predict_expectations(
        self, contexts: Any, *, keys: Sequence[Hashable] | np.ndarray | None = None
    ) -> np.ndarray:
        """Expected reward of each arm for each row (point estimates, no exploration bonus).

        Args:
            contexts: Context rows, shape ``(n, d)``.
            keys: Optional per-row key (default: ``None``).

        Returns:
            Float array of shape ``(n, n_arms)``.

        Raises:
            NotFittedError: If the policy learns from data and has not seen any yet.
        """
        x = self._check_contexts(contexts)
        k = self._check_keys(keys, x.shape[0])
        if self.requires_fit and not self.is_fitted:
            raise NotFittedError(
                f"{type(self).__name__} has no data yet: call update(contexts, arms, rewards) "
                "before predict_expectations"
            )
        if x.shape[0] == 0:
            return np.zeros((0, self.n_arms))
        out = np.asarray(self._expectations(x, k), dtype=float)
        assert out.shape == (x.shape[0], self.n_arms)
        return out

    def reset(self) -> SplitPolicy:
        """Forget all learned state (the generator is kept). Returns ``self``."""
        self._base_reset()
        return self

    def arm_names(self, arms: Any) -> list[str]:
        """Map arm indices to names, e.g. ``[0, 1] -> ["layer", "semantic"]``."""
        return [self.arms[int(i)] for i in np.asarray(arms).reshape(-1)]

    def __repr__(self) -> str:
        config = getattr(self, "config", None)
        return f"{type(self).__name__}({'' if config is None else repr(config)})"

    # -- to implement ---------------------------------------------------------------------------

    @abstractmethod
    def _select(self, x: np.ndarray, keys: list[Hashable], *, explore: bool) -> np.ndarray:
        """Return arm indices, shape ``(n,)``, for checked non-empty contexts."""

    @abstractmethod
    def _update(self, feedback: Feedback) -> None:
        """Learn from one interval's checked, non-empty feedback."""

    @abstractmethod
    def _expectations(self, x: np.ndarray, keys: list[Hashable]) -> np.ndarray:
        """Return expected rewards, shape ``(n, n_arms)``."""

    # -- checks -----------------------------------------------------------------------------

    def _choose(
        self, contexts: Any, keys: Sequence[Hashable] | np.ndarray | None, *, explore: bool
    ) -> np.ndarray:
        """Check the inputs of :meth:`select` / :meth:`predict`, then :meth:`_select`."""
        x = self._check_contexts(contexts)
        k = self._check_keys(keys, x.shape[0])
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        out = np.asarray(self._select(x, k, explore=explore), dtype=np.int64).reshape(-1)
        assert out.shape == (x.shape[0],)
        return out

    def _base_reset(self) -> None:
        self.counts_ = np.zeros(self.n_arms, dtype=np.int64)
        self.n_features_in_: int | None = None

    def _check_contexts(self, contexts: Any) -> np.ndarray:
        x = np.asarray(contexts, dtype=float)
        if x.ndim != 2:
            raise ValueError(
                f"contexts must be a 2-D array of shape (n, d), got shape {x.shape}; "
                "use contexts.reshape(1, -1) for a single row"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError("contexts must be finite; clip or impute inf/nan values first")
        if self.n_features_in_ is None:
            if x.shape[0] > 0:
                self.n_features_in_ = int(x.shape[1])
        elif x.shape[1] != self.n_features_in_:
            raise ValueError(
                f"contexts must have {self.n_features_in_} columns like earlier calls, got "
                f"{x.shape[1]}; call reset() to start over with a new context layout"
            )
        return x

    def _check_arms(self, arms: Any, n: int) -> np.ndarray:
        raw = np.asarray(arms).reshape(-1)
        if raw.shape != (n,):
            raise ValueError(f"arms must have shape ({n},) like contexts, got {raw.shape}")
        if raw.dtype.kind in "US":
            unknown = sorted({str(a) for a in raw} - set(self.arms))
            if unknown:
                raise ValueError(f"arms must be in {self.arms}, got unknown names {unknown}")
            return np.array([self.arms.index(str(a)) for a in raw], dtype=np.int64)
        if raw.dtype.kind not in "iub" and n > 0:
            if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
                raw = raw.astype(np.int64)
            else:
                raise ValueError(f"arms must be integer indices or arm names, got {raw.dtype}")
        a = raw.astype(np.int64)
        bad = a[(a < 0) | (a >= self.n_arms)]
        if bad.size:
            raise ValueError(
                f"arms must be indices in [0, {self.n_arms - 1}] ({self.arms}), got {bad[:3]}"
            )
        return a

    @staticmethod
    def _check_keys(keys: Sequence[Hashable] | np.ndarray | None, n: int) -> list[Hashable]:
        if keys is None:
            return [DEFAULT_KEY] * n
        if isinstance(keys, (str, bytes)):
            raise ValueError(
                f"keys must be a sequence with one key per row, got the string {keys!r}; "
                f"use [{keys!r}] * n"
            )
        out = [k.item() if isinstance(k, np.generic) else k for k in keys]
        if len(out) != n:
            raise ValueError(f"keys must have one entry per context row ({n}), got {len(out)}")
        return out


class KeylessPolicy:
    """Adapter for a split policy of another library: ``select(contexts)``, ``update(...)``.

    :class:`SplitPolicy` methods take per-row ``keys`` (the service) and the observed
    ``response_times``; a foreign policy need not. The :class:`~placement.Placer` wraps any
    split policy that is not a :class:`SplitPolicy` in this adapter once, at construction, and
    then always calls the same three methods. The wrapped object needs ``select(contexts) ->
    arms``; ``update(contexts, arms, rewards)`` (learning from feedback; a policy without it
    does not learn), ``predict(contexts)`` (greedy choice) and a ``context_type`` attribute
    (``"slack"``, ``"sla"`` or ``"reward"``, default ``"slack"``) are used when present.

    Args:
        policy: The foreign policy.

    Raises:
        ValueError: If ``policy`` has no ``select`` method.
    """

    def __init__(self, policy: Any) -> None:
        if not callable(getattr(policy, "select", None)):
            raise ValueError(
                f"split_policy must be a SplitPolicy, a policy name or an object with a "
                f"select(contexts) method; {type(policy).__name__} has none"
            )
        self.policy = policy
        self.context_type: str = getattr(policy, "context_type", "slack")

    def select(self, contexts: Any, *, keys: Any = None) -> np.ndarray:
        """The wrapped ``select(contexts)``; ``keys`` are not passed on."""
        return np.asarray(self.policy.select(contexts))

    def predict(self, contexts: Any, *, keys: Any = None) -> np.ndarray:
        """The wrapped ``predict(contexts)``, or ``select`` when it has none."""
        fn = getattr(self.policy, "predict", None)
        return np.asarray(fn(contexts) if callable(fn) else self.policy.select(contexts))

    def update(self, contexts: Any, arms: Any, rewards: Any, *, keys: Any = None,
               response_times: Any = None) -> KeylessPolicy:
        """The wrapped ``update(contexts, arms, rewards)`` if it has one; returns the adapter."""
        fn = getattr(self.policy, "update", None)
        if callable(fn):
            fn(contexts, arms, rewards)
        return self

    def __repr__(self) -> str:
        return f"KeylessPolicy({self.policy!r})"
