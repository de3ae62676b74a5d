"""LinUCB against closed-form ridge regression; discounting, windows, per-service estimates."""

from __future__ import annotations

import numpy as np
import pytest

from placement.policies import LinUCBConfig, LinUCBPolicy, make_policy


def _data(n: int = 20, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    a = rng.integers(0, 2, size=n)
    r = rng.uniform(size=n)
    return x, a, r


def test_matches_closed_form_ridge_and_ucb() -> None:
    x, a, r = _data()
    lam, alpha = 0.7, 0.4
    p = LinUCBPolicy(alpha=alpha, l2_lambda=lam).update(x, a, r)
    z = np.hstack([x, np.ones((len(x), 1))])
    q = np.random.default_rng(9).normal(size=(5, 3))
    zq = np.hstack([q, np.ones((5, 1))])
    mean, ucb = np.empty((5, 2)), np.empty((5, 2))
    for arm in (0, 1):
        za, ra = z[a == arm], r[a == arm]
        gram = lam * np.eye(4) + za.T @ za
        theta = np.linalg.solve(gram, za.T @ ra)
        mean[:, arm] = zq @ theta
        width = np.sqrt(np.einsum("ni,ij,nj->n", zq, np.linalg.inv(gram), zq))
        ucb[:, arm] = mean[:, arm] + alpha * width
    np.testing.assert_allclose(p.predict_expectations(q), mean, atol=1e-10)
    np.testing.assert_array_equal(p.select(q), np.argmax(ucb, axis=1))
    np.testing.assert_array_equal(p.predict(q), np.argmax(mean, axis=1))


def test_no_intercept_and_ties_go_to_layer() -> None:
    p = LinUCBPolicy(fit_intercept=False)
    np.testing.assert_array_equal(p.select(np.zeros((3, 2))), [0, 0, 0])
    p.update([[1.0, 0.0]], [1], [1.0])
    assert p.models_ is not None and p.models_.dim == 2


def test_window_keeps_only_the_last_observations() -> None:
    x, _, r = _data(n=12)
    a = np.zeros(12, dtype=int)
    windowed = LinUCBPolicy(window=4).update(x, a, r)
    fresh = LinUCBPolicy().update(x[-4:], a[-4:], r[-4:])
    q = _data(n=3, seed=5)[0]
    np.testing.assert_allclose(windowed.predict_expectations(q), fresh.predict_expectations(q))


def test_discount_formula_by_hand() -> None:
    # One feature, no intercept, lambda = 1, gamma = 0.5:
    # obs 1 (arm 0, x=1, r=1): A0 = 0.5*1 + 0.5*1 + 1 = 2, b0 = 1;  A1 = 1, b1 = 0.
    # obs 2 (arm 1, x=2, r=1): A0 = 0.5*2 + 0.5 = 1.5, b0 = 0.5; A1 = 0.5 + 0.5 + 4 = 5, b1 = 2.
    p = LinUCBPolicy(discount=0.5, fit_intercept=False, alpha=0.0)
    p.update([[1.0], [2.0]], [0, 1], [1.0, 1.0])
    np.testing.assert_allclose(p.predict_expectations([[1.0]]), [[0.5 / 1.5, 2.0 / 5.0]])


def test_discount_tracks_a_switch() -> None:
    # Layer is best for 200 rounds, then semantic: a discounted model follows the switch.
    p = LinUCBPolicy(discount=0.95, alpha=0.2)
    x = np.ones((1, 1))
    for t in range(400):
        a = p.select(x)
        best = 0 if t < 200 else 1
        p.update(x, a, [0.9 if a[0] == best else 0.1])
    assert p.predict(x)[0] == 1


def test_per_service_keeps_separate_models() -> None:
    x = np.ones((4, 1))
    keys = ["a", "a", "b", "b"]
    arms, r = [0, 1, 0, 1], [1.0, 0.0, 0.0, 1.0]
    shared = LinUCBPolicy(alpha=0.0).update(x, arms, r, keys=keys)
    split = LinUCBPolicy(alpha=0.0, per_service=True).update(x, arms, r, keys=keys)
    e_shared = shared.predict_expectations(x[:2], keys=["a", "b"])
    np.testing.assert_allclose(e_shared[0], e_shared[1])
    np.testing.assert_array_equal(split.predict(x[:2], keys=["a", "b"]), [0, 1])
    # an unseen service starts from the prior (theta = 0)
    np.testing.assert_allclose(split.predict_expectations(x[:1], keys=["c"]), [[0.0, 0.0]])


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="l2_lambda must be"):
        LinUCBConfig(l2_lambda=0.0).validate()
    with pytest.raises(ValueError, match="discount must be in"):
        make_policy("linucb", discount=1.5)
    with pytest.raises(ValueError, match="window must be None or an integer"):
        make_policy("linucb", window=0)
    with pytest.raises(ValueError, match="not both"):
        make_policy("linucb", window=5, discount=0.9)
    with pytest.raises(ValueError, match="config must be a LinUCBConfig"):
        LinUCBPolicy(config=object())
