"""Contract tests shared by every split policy (placement/policies/base.py + make_policy)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placement.policies import (
    ARMS,
    DEFAULT_KEY,
    POLICIES,
    NotFittedError,
    SplitPolicy,
    make_policy,
)
from placement.policies.base import as_rng

NAMES = sorted(POLICIES)
LEARNERS = ["linucb", "splitplace", "thompson"]


def _ctx(n: int, d: int = 3, seed: int = 0) -> np.ndarray:
    # Column 0 doubles as the SLA (s) for splitplace: keep it positive.
    return np.random.default_rng(seed).uniform(0.1, 20.0, size=(n, d))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [0, 1, 5])
def test_select_and_predict_always_have_shape_n(name: str, n: int) -> None:
    policy = make_policy(name, seed=0)
    x = _ctx(n)
    for out in (policy.select(x), policy.predict(x)):
        assert isinstance(out, np.ndarray)
        assert out.shape == (n,)
        assert out.dtype == np.int64
        assert set(out.tolist()) <= {0, 1}


@pytest.mark.parametrize("name", NAMES)
def test_update_returns_self_and_counts(name: str) -> None:
    policy = make_policy(name, seed=0)
    x = _ctx(6)
    arms = policy.select(x)
    assert policy.update(x, arms, np.linspace(0, 1, 6)) is policy
    assert policy.counts_.tolist() == [int((arms == 0).sum()), int((arms == 1).sum())]
    assert policy.is_fitted
    assert policy.n_features_in_ == 3
    # arm names are accepted too
    policy.update(x[:2], ["layer", "semantic"], [0.1, 0.2])
    assert policy.arm_names([0, 1]) == list(ARMS)


@pytest.mark.parametrize("name", NAMES)
def test_predict_expectations_shape_and_not_fitted(name: str) -> None:
    policy = make_policy(name, seed=0)
    x = _ctx(4)
    if name in LEARNERS:
        with pytest.raises(NotFittedError, match="call update"):
            policy.predict_expectations(x)
        assert issubclass(NotFittedError, ValueError)
    policy.update(x, [0, 1, 0, 1], [0.5, 0.2, 0.9, 0.1])
    exp = policy.predict_expectations(x)
    assert exp.shape == (4, 2)
    assert np.all(np.isfinite(exp))
    assert policy.predict_expectations(_ctx(0)).shape == (0, 2)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_choices(name: str) -> None:
    runs = []
    for _ in range(2):
        policy = make_policy(name, seed=3)
        chosen = []
        for t in range(20):
            x = _ctx(2, seed=t)
            a = policy.select(x)
            policy.update(x, a, (a == 1).astype(float) * 0.5 + 0.1 * t / 20)
            chosen.append(a)
        runs.append(np.concatenate(chosen))
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize("name", NAMES)
def test_injected_rng_is_used(name: str) -> None:
    rng = np.random.default_rng(5)
    policy = make_policy(name, rng=rng)
    assert policy.rng is rng
    with pytest.raises(ValueError, match="rng or seed, not both"):
        make_policy(name, rng=rng, seed=1)
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        as_rng(rng=np.random.RandomState(0))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_reset_forgets(name: str) -> None:
    policy = make_policy(name, seed=0)
    x = _ctx(3)
    policy.update(x, [0, 1, 1], [1.0, 0.0, 0.5])
    assert policy.reset() is policy
    assert not policy.is_fitted
    assert policy.n_features_in_ is None
    policy.select(_ctx(2, d=5))  # a new context layout is fine after reset
    fitted = policy.fit(x, [1, 1, 1], [0.3, 0.3, 0.3])
    assert fitted.counts_.tolist() == [0, 3]


@pytest.mark.parametrize("name", NAMES)
def test_input_errors(name: str) -> None:
    policy = make_policy(name, seed=0)
    with pytest.raises(ValueError, match="2-D array"):
        policy.select(np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        policy.select(np.array([[np.nan, 1.0, 1.0]]))
    policy.select(_ctx(2))
    with pytest.raises(ValueError, match="must have 3 columns"):
        policy.select(_ctx(2, d=4))
    x = _ctx(2)
    with pytest.raises(ValueError, match=r"arms must have shape \(2,\)"):
        policy.update(x, [0], [1.0, 1.0])
    with pytest.raises(ValueError, match="arms must be indices"):
        policy.update(x, [0, 2], [1.0, 1.0])
    with pytest.raises(ValueError, match="unknown names"):
        policy.update(x, ["layer", "pipeline"], [1.0, 1.0])
    with pytest.raises(ValueError, match="rewards must be finite"):
        policy.update(x, [0, 1], [1.0, np.inf])
    with pytest.raises(ValueError, match=r"rewards must have shape \(2,\)"):
        policy.update(x, [0, 1], [1.0])
    with pytest.raises(ValueError, match="one entry per context row"):
        policy.select(x, keys=["a"])
    with pytest.raises(ValueError, match="one key per row"):
        policy.select(x, keys="a")
    with pytest.raises(ValueError, match="response_times must have shape"):
        policy.update(x, [0, 1], [1.0, 1.0], response_times=[1.0])


@pytest.mark.parametrize("name", LEARNERS)
def test_converges_to_the_dominating_arm(name: str) -> None:
    # Property tier: semantic pays 0.8, layer 0.2 (plus noise) in every context.
    policy = make_policy(name, seed=1)
    rng = np.random.default_rng(2)
    for t in range(150):
        x = _ctx(2, seed=100 + t)
        a = policy.select(x)
        r = np.where(a == 1, 0.8, 0.2) + rng.normal(0, 0.05, size=2)
        policy.update(x, a, r)
    x = _ctx(50, seed=999)
    assert np.mean(policy.predict(x) == 1) >= 0.95
    exp = policy.predict_expectations(x)
    assert np.mean(exp[:, 1] > exp[:, 0]) >= 0.95


def test_make_policy_registry_and_errors() -> None:
    assert set(POLICIES) == {
        "informed", "splitplace", "linucb", "thompson", "layer_only", "semantic_only", "random"
    }
    for name in POLICIES:
        policy = make_policy(name)
        assert isinstance(policy, SplitPolicy)
        assert policy.name == name
        assert name.split("_")[0] in repr(policy).lower() or "Config" in repr(policy)
    assert make_policy("linucb", alpha=0.3).config.alpha == 0.3
    with pytest.raises(ValueError, match="unknown policy 'ucb'"):
        make_policy("ucb")
    with pytest.raises(ValueError, match="invalid config for policy 'linucb'"):
        make_policy("linucb", epsilon=0.1)
    with pytest.raises(ValueError, match="takes no config fields"):
        make_policy("layer_only", arm="semantic")
    with pytest.raises(ValueError, match="alpha must be"):
        make_policy("linucb", alpha=-1.0)


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    n=st.integers(0, 12),
    d=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    rewards=st.lists(st.floats(-1.0, 2.0), min_size=12, max_size=12),
)
def test_shapes_hold_for_any_batch(
    name: str, n: int, d: int, seed: int, rewards: list[float]
) -> None:
    policy = make_policy(name, seed=seed)
    if policy.context_type == "reward":
        d = max(d, 2)  # its rows start with the expected reward of each split
    x = np.random.default_rng(seed).uniform(0.1, 5.0, size=(n, d))
    keys = [f"app{i % 3}" for i in range(n)]
    arms = policy.select(x, keys=keys)
    assert arms.shape == (n,)
    policy.update(x, arms, rewards[:n], keys=keys, response_times=np.ones(n))
    assert policy.predict(x, keys=keys).shape == (n,)
    if policy.is_fitted or not policy.requires_fit:
        exp = policy.predict_expectations(x, keys=keys)
        assert exp.shape == (n, 2) and np.all(np.isfinite(exp))


def test_update_hands_subclasses_one_checked_feedback_record() -> None:
    from placement.policies.base import Feedback
    from placement.policies.fixed import FixedArmConfig

    seen: list[Feedback] = []

    class Recorder(SplitPolicy):
        config_class = FixedArmConfig

        def _select(self, x, keys, *, explore):
            return np.zeros(len(x), dtype=np.int64)

        def _update(self, feedback: Feedback) -> None:
            seen.append(feedback)

        def _expectations(self, x, keys):
            return np.zeros((len(x), 2))

    policy = Recorder()
    policy.update([[1.0], [2.0]], ["semantic", "layer"], [0.5, 1], keys=["a", "b"],
                  response_times=[0.1, np.nan])
    policy.update(np.zeros((0, 1)), [], [])  # empty: nothing to learn from
    (fb,) = seen
    assert fb.contexts.tolist() == [[1.0], [2.0]] and fb.arms.tolist() == [1, 0]
    assert fb.rewards.dtype == float and fb.keys == ["a", "b"]
    assert fb.response_times is not None and np.isnan(fb.response_times[1])
    policy.update([[3.0]], [0], [1.0])
    assert seen[-1].keys == [DEFAULT_KEY] and seen[-1].response_times is None
