"""Linear Thompson sampling: posterior mean, seeded sampling, concentration."""

from __future__ import annotations

import numpy as np
import pytest

from placement.policies import LinUCBPolicy, ThompsonConfig, ThompsonPolicy, make_policy


def test_posterior_mean_equals_ridge() -> None:
    rng = np.random.default_rng(0)
    x, a, r = rng.normal(size=(30, 2)), rng.integers(0, 2, 30), rng.uniform(size=30)
    ts = ThompsonPolicy(l2_lambda=0.5).update(x, a, r)
    ridge = LinUCBPolicy(l2_lambda=0.5).update(x, a, r)
    q = rng.normal(size=(4, 2))
    np.testing.assert_allclose(ts.predict_expectations(q), ridge.predict_expectations(q))
    np.testing.assert_array_equal(ts.predict(q), ridge.predict(q))


def test_sampling_is_seeded_and_random() -> None:
    x = np.zeros((200, 1))
    a = ThompsonPolicy(seed=7).select(x)
    b = ThompsonPolicy(seed=7).select(x)
    np.testing.assert_array_equal(a, b)
    # Prior only: both arms are drawn about equally often.
    assert 0.35 < a.mean() < 0.65


def test_posterior_concentrates() -> None:
    p = ThompsonPolicy(seed=0, noise_variance=0.01)
    x = np.ones((400, 1))
    p.update(x, np.r_[np.zeros(200), np.ones(200)], np.r_[np.full(200, 0.3), np.full(200, 0.6)])
    assert p.select(np.ones((100, 1))).mean() == 1.0
    np.testing.assert_allclose(p.predict_expectations([[1.0]]), [[0.3, 0.6]], atol=0.01)


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="noise_variance must be"):
        ThompsonConfig(noise_variance=0.0).validate()
    with pytest.raises(ValueError, match="not both"):
        make_policy("thompson", window=3, discount=0.5)
    with pytest.raises(ValueError, match="config must be a ThompsonConfig"):
        ThompsonPolicy(config=object())
