"""The placer's split decisions from the first request, feedback and policy state (issue 18)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from chainnet.analytic import AnalyticSurrogate
from datagen.catalog import get_device
from datagen.sim import simulate
from datagen.zoo import get_profile
from placement import Placer
from placement.policies import DEFAULT_POLICY_PATH, InformedPolicy, load_policy, make_policy
from placement.request import PlacementRequest, ServiceRequest
from placement.search import LocalSearch


def _request(sla_factor: float, profile: str = "splitplace_mnist", rate: float = 60.0):
    devices = [get_device("rpi4", "d0"), get_device("rpi3", "d1"), get_device("rpi3", "d2")]
    p = get_profile(profile)
    ref = p.total_macs / np.mean([d.effective_speed for d in devices])
    return PlacementRequest(
        devices, services=[ServiceRequest("s", p, rate, sla=sla_factor * ref,
                                          splits=("layer", "semantic"))]
    )


def _placer(**kw):
    kw.setdefault("predictor", AnalyticSurrogate())
    kw.setdefault("verify_top_k", 0)
    kw.setdefault("safeguards", False)
    kw.setdefault("search", LocalSearch(max_seconds=None, max_evaluations=200))
    return Placer(**kw)


def test_a_fresh_informed_policy_decides_from_the_prior() -> None:
    placer = _placer(split_policy="informed")
    tight = placer.place(_request(0.3))
    loose = placer.place(_request(3.0))
    for d in (tight, loose):
        row = d.split_context.loc["s"]
        best = "layer" if row["expected_reward_layer"] >= row["expected_reward_semantic"] else (
            "semantic")
        assert d.splits["s"] == best
    # a tight deadline favours the fast semantic split, a loose one the accurate layer split
    assert tight.splits["s"] == "semantic" and loose.splits["s"] == "layer"


def test_observe_updates_the_policy_and_the_policy_survives_a_restart(tmp_path) -> None:
    placer = _placer(split_policy="informed")
    decision = placer.place(_request(0.3))
    measured = simulate(decision.scenario, num_requests=2000, seed=0).services
    before = placer.split_policy.counts_.copy()
    assert placer.observe(decision, measured) is placer
    assert placer.split_policy.counts_.sum() == before.sum() + 1
    # the same with a 'service' column and an sla_compliance column instead of the p95
    frame = measured.reset_index(names="service").drop(columns="latency_p95")
    frame["sla_compliance"] = 0.9
    placer.observe(decision, frame)
    path = placer.save_policy(tmp_path / "policy.json")
    restarted = _placer().load_policy(path)
    assert isinstance(restarted.split_policy, InformedPolicy)
    np.testing.assert_array_equal(restarted.split_policy.counts_, placer.split_policy.counts_)
    ctx = np.vstack(decision.split_context["context"].to_numpy())
    np.testing.assert_allclose(restarted.split_policy.predict_expectations(ctx),
                               placer.split_policy.predict_expectations(ctx))


def test_observe_rejects_bad_feedback() -> None:
    placer = _placer(split_policy="informed")
    decision = placer.place(_request(0.3))
    good = simulate(decision.scenario, num_requests=500, seed=0).services
    with pytest.raises(ValueError, match="no row for service"):
        placer.observe(decision, good.rename(index={"s": "other"}))
    with pytest.raises(ValueError, match="latency_p95 or sla_compliance"):
        placer.observe(decision, good.drop(columns="latency_p95"))
    with pytest.raises(ValueError, match="DataFrame"):
        placer.observe(decision, {"s": 1})
    bad = good.copy()
    bad["loss_ratio"] = 2.0
    with pytest.raises(ValueError, match="loss_ratio"):
        placer.observe(decision, bad)
    bad["loss_ratio"] = math.nan
    with pytest.raises(ValueError, match="loss_ratio"):
        placer.observe(decision, bad)


def test_observe_skips_forced_splits() -> None:
    placer = _placer(split_policy="informed")
    decision = placer.place(_request(0.3), splits={"s": "layer"})
    measured = simulate(decision.scenario, num_requests=500, seed=0).services
    placer.observe(decision, measured)
    assert placer.split_policy.counts_.sum() == 0


def test_the_published_splitplace_policy_learns_through_observe() -> None:
    placer = _placer(split_policy=make_policy("splitplace", initial_thresholds={"x": 1.0}))
    decision = placer.place(_request(0.3))
    measured = simulate(decision.scenario, num_requests=500, seed=0).services
    placer.observe(decision, measured)
    assert placer.split_policy.counts_.sum() == 1


def test_the_default_placer_loads_the_packaged_pre_warmed_policy() -> None:
    assert DEFAULT_POLICY_PATH.is_file(), "placement/policies/default_policy.json is packaged"
    packaged = load_policy(DEFAULT_POLICY_PATH)
    assert isinstance(packaged, InformedPolicy) and packaged.is_fitted
    placer = Placer(predictor=AnalyticSurrogate(), verify_top_k=0, safeguards=False)
    assert isinstance(placer.split_policy, InformedPolicy)
    np.testing.assert_array_equal(placer.split_policy.counts_, packaged.counts_)
    # two placers do not share (or mutate) one policy object
    other = Placer(predictor=AnalyticSurrogate(), verify_top_k=0, safeguards=False)
    assert other.split_policy is not placer.split_policy


def test_measured_frame_needs_a_dataframe_like_simresult() -> None:
    placer = _placer(split_policy="informed")
    decision = placer.place(_request(3.0))
    frame = pd.DataFrame({"latency_mean": [0.01], "loss_ratio": [0.0], "latency_p95": [0.02]},
                         index=["s"])
    placer.observe(decision, frame)
    assert placer.split_policy.counts_.sum() == 1


def test_observe_works_with_a_policy_without_keys() -> None:
    class Minimal:
        context_type = "slack"

        def __init__(self) -> None:
            self.seen: list[float] = []

        def select(self, contexts):
            return np.ones(len(contexts), dtype=int)

        def update(self, contexts, arms, rewards):
            self.seen.extend(float(r) for r in rewards)
            return self

    policy = Minimal()
    placer = _placer(split_policy=policy)
    decision = placer.place(_request(0.3))
    assert decision.splits["s"] == "semantic"
    placer.observe(decision, simulate(decision.scenario, num_requests=500, seed=0).services)
    assert len(policy.seen) == 1 and 0 <= policy.seen[0] <= 1
