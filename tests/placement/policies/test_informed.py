"""The surrogate-informed policy, the reward for every model and the policy files (issue 18)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from placement.policies import (
    PREDICTED_LATENCY_ERROR,
    InformedPolicy,
    PolicyFileError,
    Reward,
    build_reward_context,
    deadline_probability,
    load_policy,
    make_policy,
    policy_state,
    save_policy,
    split_metrics,
)

# -- the reward -------------------------------------------------------------------------------


def test_relative_reward_hand_values() -> None:
    r = Reward()
    # met, full accuracy: 0.85 + 0.15; met, 2 points lost of a 10-point tolerance: 0.85 + 0.12
    assert float(r.per_request(0.1, 1.0, 0.72, 0.72)) == pytest.approx(1.0)
    assert float(r.per_request(0.1, 1.0, 0.70, 0.72)) == pytest.approx(0.97)
    # late: accuracy credit only; dropped (inf): nothing; 10+ points lost: no accuracy credit
    assert float(r.per_request(2.0, 1.0, 0.72, 0.72)) == pytest.approx(0.15)
    assert float(r.per_request(math.inf, 1.0, 0.72, 0.72)) == 0.0
    assert float(r.per_request(0.1, 1.0, 0.60, 0.72)) == pytest.approx(0.85)
    # w = 0.5 gives the same weights to both credits
    half = Reward(sla_weight=0.5)
    assert float(half.per_request(0.1, 1.0, 0.70, 0.72)) == pytest.approx(0.9)
    assert float(half.per_request(2.0, 1.0, 0.72, 0.72)) == pytest.approx(0.5)


def test_relative_reward_credits_imagenet_models_and_keeps_the_published_trade_off() -> None:
    rel, pub = Reward(sla_weight=0.5), Reward("published")
    assert pub.sla_weight == 0.5 and Reward().sla_weight == 0.85
    # the published reward gives a 72%-accurate model no accuracy credit at all
    assert float(pub.accuracy_credit(0.72, 0.72)) == 0.0
    assert float(rel.accuracy_credit(0.72, 0.72)) == 1.0
    # one accuracy point is worth 0.05 reward in both (published: above 90%)
    d_pub = float(pub.per_request(0, 1, 0.975, 0.975) - pub.per_request(0, 1, 0.965, 0.975))
    d_rel = float(rel.per_request(0, 1, 0.975, 0.975) - rel.per_request(0, 1, 0.965, 0.975))
    assert d_pub == pytest.approx(0.05) and d_rel == pytest.approx(0.05)


def test_expected_reward_discounts_losses() -> None:
    r = Reward()
    assert float(r.expected(1.0, 0.0, 0.7, 0.7)) == pytest.approx(1.0)
    assert float(r.expected(1.0, 0.25, 0.7, 0.7)) == pytest.approx(0.75)
    assert float(r.expected(0.5, 0.0, 0.7, 0.7)) == pytest.approx(0.575)
    assert float(r.expected(1.0, math.nan, 0.7, 0.7)) == 0.0  # unknown loss: all lost


@pytest.mark.parametrize(
    "kwargs, field",
    [({"kind": "median"}, "kind"), ({"sla_weight": 1.5}, "sla_weight"),
     ({"tolerance": 0.0}, "tolerance"), ({"kind": "published", "sla_weight": 0.3}, "sla_weight")],
)
def test_reward_rejects_bad_fields(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Reward(**kwargs)


def test_deadline_probability_matches_the_fitted_lognormal() -> None:
    # at the p95 the probability is 0.95 whatever the mean
    for mean, p95 in ((1.0, 1.5), (1.0, 3.0), (0.01, 0.02)):
        assert float(deadline_probability(p95, mean, p95)) == pytest.approx(0.95, abs=1e-9)
    # monotone in the deadline, 0 for an overloaded service, 1 for no deadline
    p = deadline_probability(np.array([0.5, 1.0, 2.0, 4.0]), 1.0, 2.0)
    assert np.all(np.diff(p) > 0)
    assert float(deadline_probability(1.0, math.inf, math.inf)) == 0.0
    assert float(deadline_probability(math.inf, 1.0, 2.0)) == 1.0
    # unknown p95: a default shape, still a probability
    assert 0 < float(deadline_probability(1.0, 1.0)) < 1


def test_deadline_probability_shifts_by_the_no_queue_latency() -> None:
    # the wait is log-normal with mean m - T0 and p95 q - T0: the unshifted form at SLA - T0
    for sla, mean, p95, t0 in ((0.05, 0.1, 0.2, 0.04), (0.3, 0.2, 0.4, 0.1), (1.0, 1.0, 2.0, 0.5)):
        shifted = float(deadline_probability(sla, mean, p95, t0))
        assert shifted == pytest.approx(
            float(deadline_probability(sla - t0, mean - t0, p95 - t0)), abs=1e-12)
        # at the p95 still 0.95
        assert float(deadline_probability(p95, mean, p95, t0)) == pytest.approx(0.95, abs=1e-9)
    # no request beats the no-queue latency
    assert float(deadline_probability(0.03, 0.1, 0.2, 0.04)) == 0.0
    # unknown, negative or inconsistent minima mean no shift
    base = float(deadline_probability(0.05, 0.1, 0.2))
    for t0 in (math.nan, -1.0, 0.0, 0.1, 0.5, None):
        assert float(deadline_probability(0.05, 0.1, 0.2, t0)) == pytest.approx(base)


def test_split_metrics_reads_a_predictor_row() -> None:
    row = {"latency_mean": 0.2, "latency_p95": 0.5, "loss_ratio": 1.5, "respt_ratio": 0.25}
    m = split_metrics(row)
    assert m == {"latency_mean": 0.2, "latency_p95": 0.5, "loss_ratio": 1.0,
                 "latency_min": pytest.approx(0.05)}
    bare = split_metrics({"latency_mean": 0.2})
    assert bare is not None and bare["loss_ratio"] == 0.0 and math.isnan(bare["latency_min"])
    assert split_metrics({"latency_mean": math.inf}) is None
    assert split_metrics({"latency_mean": 0.2, "loss_ratio": math.nan})["loss_ratio"] == 1.0


def test_deadline_probability_allows_for_the_prediction_error() -> None:
    # a near-deterministic prediction 0.2% above the deadline: a certain miss if the
    # prediction were exact, about a coin flip allowing for a 7.5% relative error
    sla, mean, p95, t0 = 0.008405, 0.008422, 0.008425, 0.00242
    assert float(deadline_probability(sla, mean, p95, t0)) < 0.01
    p = float(deadline_probability(sla, mean, p95, t0, rel_error=0.075))
    assert 0.4 < p < 0.5
    # the quadrature averages the exact probability over a log-normal error of the deadline
    z = np.random.default_rng(0).standard_normal(200_000)
    mc = float(np.mean(deadline_probability(0.25 * np.exp(-0.1 * z), 0.2, 0.4, 0.05)))
    assert float(deadline_probability(0.25, 0.2, 0.4, 0.05, rel_error=0.1)) == pytest.approx(
        mc, abs=0.005)
    assert float(deadline_probability(0.25, 0.2, 0.4, rel_error=0.0)) == float(
        deadline_probability(0.25, 0.2, 0.4))
    with pytest.raises(ValueError, match="rel_error must be a finite"):
        deadline_probability(0.25, 0.2, 0.4, rel_error=-0.1)


def test_reward_context_prior_is_the_expected_reward() -> None:
    predicted = {
        "layer": {"latency_mean": 2.0, "latency_p95": 4.0, "loss_ratio": 0.0},
        "semantic": {"latency_mean": 0.2, "latency_p95": 0.4, "loss_ratio": 0.0},
    }
    row = build_reward_context(1.0, predicted, {"layer": 0.9, "semantic": 0.87}, 0.9, [0.3, 0.5])
    assert row.shape == (6,)
    # predictions are trusted up to their own error (PREDICTED_LATENCY_ERROR)
    err = PREDICTED_LATENCY_ERROR
    p_layer = float(deadline_probability(1.0, 2.0, 4.0, rel_error=err))
    assert row[0] == pytest.approx(0.85 * p_layer + 0.15)
    p_semantic = float(deadline_probability(1.0, 0.2, 0.4, rel_error=err))
    assert row[1] == pytest.approx(0.85 * p_semantic + 0.15 * 0.7)
    assert row[1] > row[0]
    # a split that cannot be placed has expected reward 0
    predicted["semantic"] = {"latency_mean": math.inf, "loss_ratio": 1.0}
    assert build_reward_context(1.0, predicted, {"layer": 0.9, "semantic": 0.87}, 0.9)[1] == 0
    with pytest.raises(ValueError, match="loss_ratio"):
        build_reward_context(1.0, {**predicted, "layer": {"latency_mean": 1.0, "loss_ratio": 2}},
                             {"layer": 0.9, "semantic": 0.87}, 0.9)


# -- the policy -------------------------------------------------------------------------------


def test_zero_shot_choice_is_the_argmax_of_the_prior() -> None:
    rng = np.random.default_rng(0)
    x = np.hstack([rng.uniform(0, 1, (50, 2)), rng.uniform(-2, 1, (50, 2)),
                   rng.uniform(0, 1, (50, 2))])
    policy = InformedPolicy()
    assert not policy.is_fitted
    np.testing.assert_array_equal(policy.predict(x), np.argmax(x[:, :2], axis=1))
    np.testing.assert_allclose(policy.predict_expectations(x), x[:, :2])
    # exploring adds the same bonus to both arms before any data: the same choice
    np.testing.assert_array_equal(policy.select(x), np.argmax(x[:, :2], axis=1))


def test_feedback_corrects_a_biased_prior() -> None:
    # the prior always says layer (0.6 vs 0.5), but semantic truly earns 0.9 and layer 0.3
    rng = np.random.default_rng(1)
    policy = InformedPolicy(alpha=0.1)
    n = 0
    for _ in range(200):
        x = np.array([[0.6, 0.5, rng.uniform(-1, 0), rng.uniform(0, 1), 0.4, 0.6]])
        arm = int(policy.select(x)[0])
        reward = (0.3, 0.9)[arm] + rng.normal(0, 0.05)
        policy.update(x, [arm], [reward])
        n += arm
    x = np.array([[0.6, 0.5, -0.5, 0.5, 0.4, 0.6]])
    assert policy.predict(x)[0] == 1
    assert policy.predict_expectations(x)[0, 1] == pytest.approx(0.9, abs=0.1)
    assert n > 150  # it switched early


def test_shrinkage_keeps_the_correction_where_it_was_fitted_and_the_prior_elsewhere() -> None:
    # the correction is fitted on contexts near slack 0.5 where semantic earns 0.3 below its
    # prior; far away (slack -20) a linear fit would extrapolate it, the shrunk one does not
    rng = np.random.default_rng(2)
    # (w^2 ~ 1 / observations there: 1,500 per arm shrink the correction by 1 / 1.07 only)
    n = 3000
    xs = np.array([[0.5, 0.6, 0.5 + rng.normal(0, 0.02), 0.5, 0.4, 0.6] for _ in range(n)])
    arms = rng.integers(0, 2, n)
    rewards = np.where(arms == 1, 0.3, 0.5) + rng.normal(0, 0.01, n)
    plain, shrunk = InformedPolicy(l2_lambda=1.0), InformedPolicy(l2_lambda=1.0, shrink=100.0)
    for policy in (plain, shrunk):
        policy.update(xs, arms, rewards)
    near = np.array([[0.5, 0.6, 0.5, 0.5, 0.4, 0.6]])
    far = np.array([[0.1, 0.9, -20.0, 0.5, 0.4, 0.6]])
    # where the data is, both learned that semantic earns ~0.3
    for policy in (plain, shrunk):
        assert policy.predict_expectations(near)[0, 1] == pytest.approx(0.3, abs=0.03)
    # far from it the shrunk policy keeps (nearly) the prior
    assert shrunk.predict_expectations(far)[0] == pytest.approx(far[0, :2], abs=0.05)
    assert abs(plain.predict_expectations(far)[0, 1] - 0.9) > abs(
        shrunk.predict_expectations(far)[0, 1] - 0.9)
    # shrink 0 is the plain policy
    zero = InformedPolicy(l2_lambda=1.0, shrink=0.0)
    zero.update(xs, arms, rewards)
    np.testing.assert_array_equal(zero.predict_expectations(far), plain.predict_expectations(far))
    with pytest.raises(ValueError, match="shrink must be"):
        InformedPolicy(shrink=-1.0)


def test_informed_rejects_contexts_without_priors() -> None:
    with pytest.raises(ValueError, match="expected reward"):
        InformedPolicy().predict(np.zeros((2, 1)))


# -- policy files -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["informed", "linucb", "thompson", "splitplace", "random",
                                  "layer_only"])
def test_save_load_round_trip(tmp_path, name: str) -> None:
    kw = {"initial_thresholds": {"m": 1.0}} if name == "splitplace" else {}
    policy = make_policy(name, seed=3, **kw)
    rng = np.random.default_rng(0)
    x = np.hstack([rng.uniform(0, 1, (30, 2)), rng.uniform(-1, 1, (30, 4))])
    if name == "splitplace":
        x = rng.uniform(0.1, 2, (30, 1))
    keys = ["m"] * 30
    arms = policy.select(x, keys=keys)
    policy.update(x, arms, rng.uniform(0, 1, 30), keys=keys, response_times=np.ones(30))
    path = save_policy(policy, tmp_path / "p.json", {"note": "test"})
    loaded = load_policy(path)
    assert type(loaded) is type(policy) and loaded.config == policy.config
    np.testing.assert_array_equal(loaded.counts_, policy.counts_)
    np.testing.assert_array_equal(loaded.predict(x, keys=keys), policy.predict(x, keys=keys))
    if policy.requires_fit is False or policy.is_fitted:
        np.testing.assert_allclose(loaded.predict_expectations(x, keys=keys),
                                   policy.predict_expectations(x, keys=keys))
    # the generator continues where it was
    np.testing.assert_array_equal(loaded.select(x, keys=keys), policy.select(x, keys=keys))
    assert json.loads(path.read_text())["metadata"] == {"note": "test"}
    assert policy_state(policy)["policy"] == name


def test_policy_files_are_data_not_code(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(PolicyFileError, match="not readable JSON"):
        load_policy(bad)
    bad.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(PolicyFileError, match="format"):
        load_policy(bad)
    good = save_policy(make_policy("informed"), tmp_path / "good.json")
    state = json.loads(good.read_text())
    state["policy"] = "os.system"
    bad.write_text(json.dumps(state))
    with pytest.raises(PolicyFileError, match="unknown policy"):
        load_policy(bad)
    state["policy"] = "informed"
    state["state"] = {"__object__": "os.system"}
    bad.write_text(json.dumps(state))
    with pytest.raises(PolicyFileError):
        load_policy(bad)
    with pytest.raises(PolicyFileError, match="does not exist"):
        load_policy(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="folder"):
        save_policy(make_policy("informed"), tmp_path / "no" / "p.json")
