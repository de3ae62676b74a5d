"""The published SplitPlace bandit, checked step by step against a hand-computed trace."""

from __future__ import annotations

import numpy as np
import pytest

from placement.policies import (
    PUBLISHED_THRESHOLDS,
    SplitPlaceConfig,
    SplitPlacePolicy,
    make_policy,
    splitplace_reward,
)


def test_reward_formula_hand_values() -> None:
    # r = 0.5 * 1[RT <= SLA] + 0.5 * 10 * max(0, acc - 0.9)
    # MNIST layer (acc 0.975), met: 0.5 + 5 * 0.075 = 0.875
    # MNIST semantic (acc 0.957), missed: 5 * 0.057 = 0.285
    # acc below 0.9 earns nothing; a dropped request (inf / nan) earns no deadline credit.
    r = splitplace_reward([4.0, 6.0, 1.0, np.inf, np.nan], 5.0, [0.975, 0.957, 0.85, 0.98, 0.9])
    np.testing.assert_allclose(r, [0.875, 0.285, 0.5, 0.4, 0.0])
    assert splitplace_reward(5.0, 5.0, 1.0) == pytest.approx(1.0)  # RT == SLA meets it


def test_published_defaults() -> None:
    c = SplitPlaceConfig()
    assert (c.epsilon, c.rho, c.decay, c.rho_growth, c.ema_weight) == (0.95, 0.45, 0.98, 1.05, 0.1)
    assert PUBLISHED_THRESHOLDS == {"mnist": 5.0, "fashionmnist": 8.0, "cifar100": 15.0}


def test_hand_computed_trace() -> None:
    p = SplitPlacePolicy(initial_thresholds={"mnist": 5.0, "cifar100": 15.0}, seed=0)

    # Interval 1. T = {mnist: 5, cifar100: 15}. SLA 4 < 5 -> low; 6 >= 5 -> high; 20 >= 15 -> high.
    x1, k1 = [[4.0], [6.0], [20.0]], ["mnist", "mnist", "cifar100"]
    np.testing.assert_array_equal(p.discretize(x1, keys=k1), [0, 1, 1])
    p.update(x1, [0, 1, 0], [0.875, 0.285, 0.9], keys=k1, response_times=[4.5, 2.0, 12.0])
    # Q(low, layer) = 0.875 (N=1); Q(high, sem) = 0.285 (N=1); Q(high, layer) = 0.9 (N=1).
    np.testing.assert_allclose(p.value_estimates_, [[0.875, 0.0], [0.9, 0.285]])
    np.testing.assert_array_equal(p.context_counts_, [[1, 0], [1, 1]])
    # Layer rows move T: mnist 0.9*5 + 0.1*4.5 = 4.95; cifar100 0.9*15 + 0.1*12 = 14.7.
    # The semantic row (RT 2.0) does not.
    assert p.thresholds_["mnist"] == pytest.approx(4.95)
    assert p.thresholds_["cifar100"] == pytest.approx(14.7)
    # Mean reward 2.06/3 = 0.6867 >= rho 0.45: eps 0.95*0.98 = 0.931, rho 0.45*1.05 = 0.4725.
    assert p.epsilon_ == pytest.approx(0.931)
    assert p.rho_ == pytest.approx(0.4725)

    # Interval 2. mnist SLA 4.96 >= T 4.95 -> high; cifar100 SLA 14 < T 14.7 -> low.
    x2, k2 = [[4.96], [14.0]], ["mnist", "cifar100"]
    np.testing.assert_array_equal(p.discretize(x2, keys=k2), [1, 0])
    p.update(x2, [1, 1], [0.5, 0.2], keys=k2, response_times=[3.0, np.nan])
    # Q(high, sem) = 0.285 + (0.5 - 0.285)/2 = 0.3925 (N=2); Q(low, sem) = 0.2 (N=1).
    np.testing.assert_allclose(p.value_estimates_, [[0.875, 0.2], [0.9, 0.3925]])
    # Semantic rows leave T alone; mean reward 0.35 < 0.4725: eps and rho unchanged.
    assert p.thresholds_["mnist"] == pytest.approx(4.95)
    assert (p.epsilon_, p.rho_) == (pytest.approx(0.931), pytest.approx(0.4725))

    # Interval 3. mnist SLA 3 < 4.95 -> low; layer, reward 0.375, RT 6.
    p.update([[3.0]], [0], [0.375], keys=["mnist"], response_times=[6.0])
    # Q(low, layer) = 0.875 + (0.375 - 0.875)/2 = 0.625; T mnist = 0.9*4.95 + 0.6 = 5.055.
    np.testing.assert_allclose(p.value_estimates_, [[0.625, 0.2], [0.9, 0.3925]])
    assert p.thresholds_["mnist"] == pytest.approx(5.055)
    assert (p.epsilon_, p.rho_) == (pytest.approx(0.931), pytest.approx(0.4725))

    # Interval 4. An unseen app starts at initial_threshold = 10: SLA 100 -> high.
    p.update([[100.0]], ["layer"], [0.9], keys=["fashionmnist"], response_times=[8.0])
    # Q(high, layer) = 0.9 + (0.9 - 0.9)/2 = 0.9 (N=2); T fashionmnist = 0.9*10 + 0.8 = 9.8.
    np.testing.assert_allclose(p.value_estimates_, [[0.625, 0.2], [0.9, 0.3925]])
    np.testing.assert_array_equal(p.context_counts_, [[2, 1], [2, 2]])
    assert p.thresholds_["fashionmnist"] == pytest.approx(9.8)
    # Mean 0.9 >= 0.4725: eps = 0.931*0.98 = 0.91238; rho = 0.4725*1.05 = 0.496125.
    assert p.epsilon_ == pytest.approx(0.91238)
    assert p.rho_ == pytest.approx(0.496125)
    np.testing.assert_allclose(p.interval_rewards_, [2.06 / 3, 0.35, 0.375, 0.9])

    # Greedy evaluation: both contexts prefer layer; expectations are the Q rows.
    x5, k5 = [[3.0], [50.0]], ["mnist", "mnist"]
    np.testing.assert_array_equal(p.predict(x5, keys=k5), [0, 0])
    np.testing.assert_allclose(p.predict_expectations(x5, keys=k5), [[0.625, 0.2], [0.9, 0.3925]])


def test_rho_is_capped_at_one() -> None:
    p = SplitPlacePolicy(rho=0.99, seed=0)
    p.update([[1.0]], [0], [1.0])
    assert p.rho_ == 1.0
    assert p.epsilon_ == pytest.approx(0.95 * 0.98)


def test_selection_draw_order_hand_trace() -> None:
    # With seed 1 the generator yields u = 0.5118, 0.1442, 0.9486, 0.3118, 0.8277, 0.4092, and
    # after each u < eps one integers(2) draw: 1, 1, -, 1, -, 0. With eps = 0.6 and all Q = 0
    # (greedy = layer on the tie), the choices are therefore 1, 1, 0, 1, 0, 0.
    p = SplitPlacePolicy(epsilon=0.6, seed=1)
    np.testing.assert_array_equal(p.select(np.full((6, 1), 3.0)), [1, 1, 0, 1, 0, 0])


def test_ties_go_to_layer_and_greedy_eval() -> None:
    p = SplitPlacePolicy(seed=0)
    np.testing.assert_array_equal(p.predict(np.ones((4, 1))), [0, 0, 0, 0])
    p.update([[1.0], [1.0]], [0, 1], [0.3, 0.3])  # equal values: still layer
    np.testing.assert_array_equal(p.predict([[1.0]]), [0])
    p.update([[1.0]], [1], [0.9])
    np.testing.assert_array_equal(p.predict([[1.0]]), [1])
    # epsilon = 0: select is greedy too
    q = SplitPlacePolicy(epsilon=0.0, seed=0)
    q.update([[1.0]], [1], [0.9])
    np.testing.assert_array_equal(q.select(np.ones((5, 1))), [1] * 5)


def test_values_match_mabwiser_epsilon_greedy_oracle() -> None:
    from mabwiser.mab import MAB, LearningPolicy

    rng = np.random.default_rng(4)
    p = SplitPlacePolicy(initial_threshold=5.0, seed=0)
    oracles = {
        c: MAB(arms=[0, 1], learning_policy=LearningPolicy.EpsilonGreedy(epsilon=0.0), seed=0)
        for c in (0, 1)
    }
    seen: dict[int, bool] = {0: False, 1: False}
    for _ in range(30):
        x = rng.uniform(1.0, 9.0, size=(4, 1))
        a = rng.integers(0, 2, size=4)
        r = rng.uniform(0, 1, size=4)
        ctx = p.discretize(x)
        p.update(x, a, r)  # no response times: T stays 5, contexts stay fixed
        for c in (0, 1):
            m = ctx == c
            if m.any():
                fit = oracles[c].partial_fit if seen[c] else oracles[c].fit
                fit(decisions=a[m].tolist(), rewards=r[m].tolist())
                seen[c] = True
    for c in (0, 1):
        exp = oracles[c].predict_expectations()
        np.testing.assert_allclose(p.value_estimates_[c], [exp[0], exp[1]], atol=1e-12)


def test_sla_column_and_config_errors() -> None:
    p = make_policy("splitplace", sla_column=1, initial_threshold=5.0)
    np.testing.assert_array_equal(p.discretize([[100.0, 4.0], [0.0, 6.0]]), [0, 1])
    with pytest.raises(ValueError, match="sla_column=1 is out of range"):
        make_policy("splitplace", sla_column=1).select([[1.0]])
    with pytest.raises(ValueError, match="epsilon must be in"):
        SplitPlaceConfig(epsilon=1.5).validate()
    with pytest.raises(ValueError, match="rho_growth must be >= 1"):
        SplitPlacePolicy(rho_growth=0.9)
    with pytest.raises(ValueError, match=r"initial_thresholds\['mnist'\] must be"):
        SplitPlacePolicy(initial_thresholds={"mnist": -1.0})
    with pytest.raises(ValueError, match="config must be a SplitPlaceConfig"):
        SplitPlacePolicy(config=object())  # type: ignore[arg-type]
