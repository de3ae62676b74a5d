"""The slack context and load features (placement/policies/context.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from datagen.world import Device, Fragment, Scenario, Service
from placement.policies import LOAD_FEATURES, build_context, context_names, load_features
from placement.request import RunningService


def test_build_context_hand_values() -> None:
    x = build_context(2.0, {"layer": 1.5, "semantic": 0.5}, [0.3, 0.8])
    np.testing.assert_allclose(x, [0.25, 0.75, 0.3, 0.8])
    # overload: infinite latency -> lower clip; time-scale free
    y = build_context(2.0, {"layer": math.inf, "semantic": 10.0}, slack_clip=(-3.0, 1.0))
    np.testing.assert_allclose(y, [-3.0, -3.0])
    np.testing.assert_allclose(
        build_context(2000.0, {"layer": 1500.0, "semantic": 500.0}), x[:2]
    )
    assert context_names() == ["slack_layer", "slack_semantic", *LOAD_FEATURES]


def test_build_context_errors() -> None:
    with pytest.raises(ValueError, match="sla must be a finite deadline"):
        build_context(0.0, {"layer": 1.0, "semantic": 1.0})
    with pytest.raises(ValueError, match="latency for 'semantic'"):
        build_context(1.0, {"layer": 1.0})
    with pytest.raises(ValueError, match=r"predicted_latency\['layer'\] must be >= 0"):
        build_context(1.0, {"layer": float("nan"), "semantic": 1.0})
    with pytest.raises(ValueError, match="load_features must be finite"):
        build_context(1.0, {"layer": 1.0, "semantic": 1.0}, [np.inf])
    with pytest.raises(ValueError, match="lo < hi"):
        build_context(1.0, {"layer": 1.0, "semantic": 1.0}, slack_clip=(1.0, 1.0))


def test_load_features() -> None:
    devs = (Device("a", speed=100.0), Device("b", speed=50.0, servers=2, capacity=4))
    np.testing.assert_allclose(load_features(devs), [0.0, 0.0])
    svc = Service("s", (Fragment("f0", macs=10.0), Fragment("f1", macs=20.0)), arrival_rate=2.0)
    sc = Scenario(devs, (svc,), {"s": ("a", "b")})
    # rho_a = 2*10/100 = 0.2; rho_b = 2*20/(2*50) = 0.4
    np.testing.assert_allclose(load_features(devs, sc), [0.3, 0.4])
    # the running services as records give the same load as the scenario
    np.testing.assert_allclose(load_features(devs, [RunningService(svc, ("a", "b"))]), [0.3, 0.4])
    with pytest.raises(ValueError, match="at least one Device"):
        load_features(())
