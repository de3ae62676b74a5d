"""The online split-decision loop (the placement/online/ package)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from datagen.world import Device, Fragment, Scenario, Service
from placement.online import (
    OnlineConfig,
    OnlineExperiment,
    deployment_reward,
    estimate_latency,
    greedy_placement,
    regret_growth_exponent,
)
from placement.policies import make_policy
from placement.request import RunningService

FAST = OnlineConfig(sim_requests=200)


def _run(name: str, steps: int = 8, seed: int = 0, **kw: object) -> pd.DataFrame:
    exp = OnlineExperiment(make_policy(name, seed=seed, **kw), config=FAST, seed=seed)
    return exp.run(steps)


def test_log_schema_and_regret_accounting() -> None:
    log = _run("linucb", per_service=True)
    assert len(log) == 8
    assert log["step"].tolist() == list(range(8))
    assert set(log["profile"]) <= {
        "splitplace_mnist", "splitplace_fashionmnist", "splitplace_cifar100"
    }
    for col in ("reward", "reward_layer", "reward_semantic", "oracle_reward"):
        assert log[col].between(0.0, 1.0).all()
    np.testing.assert_allclose(
        log["oracle_reward"], log[["reward_layer", "reward_semantic"]].max(axis=1)
    )
    chosen = np.where(log["arm"] == "layer", log["reward_layer"], log["reward_semantic"])
    np.testing.assert_allclose(log["reward"], chosen)
    assert (log["regret"] >= 0).all()
    np.testing.assert_allclose(log["cumulative_regret"], log["regret"].cumsum())
    assert all(len(c) == 4 for c in log["context"])  # 2 slacks + 2 load features
    assert log["running"].iloc[0] == 0 and log["running"].max() <= FAST.max_running


def test_same_seed_same_run_and_other_seed_differs() -> None:
    a, b = _run("thompson"), _run("thompson")
    pd.testing.assert_frame_equal(a, b)
    c = _run("thompson", seed=1)
    assert not np.allclose(a["sla"], c["sla"])


def test_fixed_policies_and_oracle() -> None:
    layer = _run("layer_only", steps=5)
    assert (layer["arm"] == "layer").all()
    np.testing.assert_allclose(layer["reward"], layer["reward_layer"])
    # The request stream does not depend on the policy: same profiles and SLAs.
    sem = _run("semantic_only", steps=5)
    np.testing.assert_allclose(layer["sla"], sem["sla"])
    assert (sem["arm"] == "semantic").all()


def test_splitplace_gets_sla_context_and_tracks_thresholds() -> None:
    policy = make_policy("splitplace", seed=0)
    exp = OnlineExperiment(policy, config=FAST, seed=0)
    log = exp.run(10)
    assert all(len(c) == 1 for c in log["context"])
    np.testing.assert_allclose([c[0] for c in log["context"]], log["sla"])
    layer_apps = set(log.loc[log["arm"] == "layer", "profile"])
    assert set(policy.thresholds_) == layer_apps
    assert len(policy.interval_rewards_) == 10


def test_update_every_batches_the_intervals() -> None:
    policy = make_policy("splitplace", seed=0)
    cfg = OnlineConfig(sim_requests=200, update_every=3)
    OnlineExperiment(policy, config=cfg, seed=0).run(7)
    assert policy.counts_.sum() == 7
    assert len(policy.interval_rewards_) == 3  # 3 + 3 + the final flush of 1


def test_infeasible_split_earns_nothing() -> None:
    tiny = [Device(f"d{i}", speed=4e9, memory=1e5) for i in range(3)]  # weights are MBs
    exp = OnlineExperiment(make_policy("random", seed=0), devices=tiny, config=FAST, seed=0)
    log = exp.run(3)
    assert (log["oracle_reward"] == 0).all()
    assert (log["running"] == 0).all()
    assert np.isinf(log["predicted_latency_layer"]).all()


def test_custom_placement_function_and_fake_simulator() -> None:
    calls: list[int] = []

    def first_device(devices, running, service):  # type: ignore[no-untyped-def]
        return tuple(devices[0].name for _ in service.fragments)

    class FakeResult:
        def __init__(self, scenario: Scenario) -> None:
            names = [s.name for s in scenario.services]
            self.warmup_time = 1.0
            self.records = pd.DataFrame(
                {
                    "service": names * 4,
                    "arrival": [0.5] * len(names) + [2.0] * (3 * len(names)),
                    "completion": [0.6] * len(names) + [2.0] * (3 * len(names)),
                    "record_type": ["served"] * (4 * len(names)),
                }
            )

    def fake_simulate(scenario, *, num_requests, seed, keep_records):  # type: ignore[no-untyped-def]
        calls.append(seed)
        assert keep_records
        return FakeResult(scenario)

    exp = OnlineExperiment(
        make_policy("layer_only"), placer=first_device, simulator=fake_simulate, config=FAST
    )
    row = exp.step()
    assert len(calls) == 2 and calls[0] == calls[1]  # both arms, common random numbers
    # latency 0 <= SLA for every post-warm-up request; the layer split keeps the model's
    # accuracy, so the relative reward gives full credit: 0.5 + 0.5
    assert row["compliance"] == 1.0 and row["sla_violation"] == 0.0
    assert row["reward"] == pytest.approx(1.0)
    published = OnlineExperiment(
        make_policy("layer_only"), placer=first_device, simulator=fake_simulate,
        config=replace(FAST, reward="published"),
    )
    row = published.step()
    assert row["reward"] == pytest.approx(0.5 + 5 * max(0.0, {
        "splitplace_mnist": 0.975, "splitplace_fashionmnist": 0.957,
        "splitplace_cifar100": 0.98,
    }[row["profile"]] - 0.9))
    assert row["accuracy"] == pytest.approx(
        {"splitplace_mnist": 0.975, "splitplace_fashionmnist": 0.957,
         "splitplace_cifar100": 0.98}[row["profile"]])


def test_with_the_real_placer() -> None:
    pytest.importorskip("placement.placer")
    exp = OnlineExperiment(make_policy("linucb"), placer="placer", config=FAST, seed=0)
    log = exp.run(2)
    assert len(log) == 2 and (log["regret"] >= 0).all()
    assert np.isfinite(log["predicted_latency_layer"]).all()


def test_deployment_reward_hand_values() -> None:
    # 4 requests, SLA 1 s, acc 0.98: served in 0.5 s, served in 2 s (late), dropped, served 1 s.
    r, comp, lat = deployment_reward(
        np.zeros(4), np.array([0.5, 2.0, 9.0, 1.0]), np.array([True, True, False, True]),
        sla=1.0, accuracy=0.98,
    )
    # compliance 2/4; reward = 0.5 * 0.5 + 0.4 * 3/4 = 0.55; mean latency (0.5+2+1)/3
    assert comp == 0.5
    assert r == pytest.approx(0.55)
    assert lat == pytest.approx(3.5 / 3)
    assert deployment_reward(np.zeros(0), np.zeros(0), np.zeros(0, bool), 1.0, 0.9)[0] == 0.0


def test_greedy_placement() -> None:
    fast, slow = Device("fast", speed=100.0), Device("slow", speed=10.0)
    svc = Service("s", (Fragment("f0", macs=1.0, weight_bytes=10),), arrival_rate=1.0)
    assert greedy_placement([slow, fast], [], svc) == ("fast",)
    # a loaded fast device: 1/100 / (1 - 0.95 - 0.01) = 0.25 s > 1/10 / (1 - 0.1) = 0.111 s
    busy = Service("b", (Fragment("g", macs=95.0),), arrival_rate=1.0)
    assert greedy_placement([slow, fast], [(busy, ("fast",))], svc) == ("slow",)
    assert greedy_placement([slow, fast], [RunningService(busy, ("fast",))], svc) == ("slow",)
    full = Device("full", speed=1e3, memory=5.0)
    assert greedy_placement([full], [], svc) is None


def test_estimate_latency_hand_values() -> None:
    d0, d1 = Device("d0", speed=100.0), Device("d1", speed=50.0)
    layer = Service("a", (Fragment("f0", macs=1.0),), arrival_rate=50.0)
    sc = Scenario((d0, d1), (layer,), {"a": ("d0",)})
    # M/D/1: m = 0.01, rho = 0.5, W = 50 * 1e-4 / (2 * 0.5) = 0.005; L = 0.015
    assert estimate_latency(sc, "a") == pytest.approx(0.015)
    sem = Service(
        "b", (Fragment("b0", macs=1.0), Fragment("b1", macs=1.0, branch=1)),
        arrival_rate=10.0, split="semantic", scv=1.0,
    )
    sc2 = Scenario((d0, d1), (sem,), {"b": ("d0", "d1")})
    # slower branch on d1: m = 0.02, rho = 0.2, W = 10 * 2 * 4e-4 / (2 * 0.8) = 0.005
    assert estimate_latency(sc2, "b") == pytest.approx(0.025)
    over = Service("c", (Fragment("f", macs=3.0),), arrival_rate=50.0)
    assert math.isinf(estimate_latency(Scenario((d0,), (over,), {"c": ("d0",)}), "c"))


def test_replica_simulations_measure_pseudo_regret_without_changing_the_run() -> None:
    plain = _run("linucb", steps=10)
    exp = OnlineExperiment(make_policy("linucb", seed=0),
                           config=replace(FAST, replica_requests=200), seed=0)
    log = exp.run(10)
    # the replica draws nothing from the run's generator: same decisions, same rewards
    replica_columns = ["replica_reward_layer", "replica_reward_semantic", "mean_best_arm",
                       "pseudo_regret", "cumulative_pseudo_regret"]
    pd.testing.assert_frame_equal(log.drop(columns=replica_columns),
                                  plain.drop(columns=replica_columns))
    assert plain["pseudo_regret"].isna().all() and plain["mean_best_arm"].isna().all()
    replica = log[["replica_reward_layer", "replica_reward_semantic"]].to_numpy()
    assert np.isfinite(replica).all()
    best = np.where(replica[:, 1] > replica[:, 0], "semantic", "layer")
    assert log["mean_best_arm"].tolist() == best.tolist()
    # pseudo-regret: the expected-best split scored on the main simulation
    scored = np.where(best == "layer", log["reward_layer"], log["reward_semantic"])
    np.testing.assert_allclose(log["pseudo_regret"], scored - log["reward"])
    np.testing.assert_allclose(log["cumulative_pseudo_regret"], log["pseudo_regret"].cumsum())
    # an independent seed: the replica is not the main simulation again
    assert not np.allclose(replica, log[["reward_layer", "reward_semantic"]].to_numpy())
    from placement.online import summarize_log

    figures = summarize_log(log)
    assert figures["final_pseudo_regret"] == pytest.approx(log["pseudo_regret"].sum())
    assert 0.0 <= figures["agrees_with_mean_best"] <= 1.0
    assert math.isnan(summarize_log(plain)["pseudo_beta"])


def test_regret_growth_exponent() -> None:
    t = np.arange(1, 401, dtype=float)
    assert regret_growth_exponent(np.sqrt(t)) == pytest.approx(0.5, abs=1e-9)
    assert regret_growth_exponent(3 * t) == pytest.approx(1.0, abs=1e-9)
    assert regret_growth_exponent(np.zeros(10)) == 0.0
    with pytest.raises(ValueError, match="at least 4 values"):
        regret_growth_exponent([1.0, 2.0])


def test_config_and_argument_errors() -> None:
    with pytest.raises(ValueError, match="sla_factor_range must be"):
        OnlineConfig(sla_factor_range=(2.0, 1.0)).validate()
    with pytest.raises(ValueError, match="lifetime_range must be"):
        OnlineConfig(lifetime_range=(0, 3)).validate()
    with pytest.raises(ValueError, match="update_every must be"):
        OnlineConfig(update_every=0).validate()
    with pytest.raises(ValueError, match="sim_requests must be"):
        OnlineConfig(sim_requests=10).validate()
    with pytest.raises(ValueError, match="replica_requests must be 0"):
        OnlineConfig(replica_requests=10).validate()
    with pytest.raises(ValueError, match="profiles must name"):
        OnlineConfig(profiles=()).validate()
    with pytest.raises(ValueError, match="policy must be a placement.policies.SplitPolicy"):
        OnlineExperiment("linucb")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="placer must be 'greedy' or 'placer'"):
        OnlineExperiment(make_policy("random"), placer="ilp")
    with pytest.raises(ValueError, match="placer must be None"):
        OnlineExperiment(make_policy("random"), placer=42)
    with pytest.raises(ValueError, match="num_steps must be"):
        OnlineExperiment(make_policy("random"), config=FAST).run(-1)


def test_split_tradeoff_finds_the_most_accurate_choice_within_the_violation_margin():
    import pandas as pd

    from placement.online import split_tradeoff

    log = pd.DataFrame({
        "sla_violation_layer": [1.0, 1.0, 0.0, 0.5],
        "sla_violation_semantic": [0.0, 0.0, 0.0, 0.0],
        "accuracy_layer": [0.9, 0.9, 0.9, 0.9],
        "accuracy_semantic": [0.8, 0.85, 0.8, 0.8],
    })
    t = split_tradeoff(log, violation_margin=0.25)
    assert t["semantic_violation"] == 0.0 and t["layer_violation"] == 0.625
    # switch the cheapest violation first (request 1: 1.0 saved for 0.05), then request 0:
    # 0.625 -> 0.375 -> 0.125 <= 0.25
    assert t["best_violation"] == pytest.approx(0.125)
    assert t["best_accuracy"] == pytest.approx(0.9 - (0.05 + 0.1) / 4)
    assert t["accuracy_cost"] == pytest.approx((0.05 + 0.1) / 4)
    assert split_tradeoff(log, violation_margin=1.0)["accuracy_cost"] == 0.0


def test_split_tradeoff_always_takes_a_switch_that_costs_no_accuracy():
    import pandas as pd

    from placement.online import split_tradeoff

    log = pd.DataFrame({
        "sla_violation_layer": [0.2, 0.0],
        "sla_violation_semantic": [0.0, 0.0],
        "accuracy_layer": [0.9, 0.9],
        "accuracy_semantic": [0.9, 0.8],
    })
    t = split_tradeoff(log, violation_margin=1.0)  # within budget from the start
    assert t["best_violation"] == 0.0 and t["accuracy_cost"] == 0.0
