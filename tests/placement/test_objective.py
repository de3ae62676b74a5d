import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from datagen.sampling import load_sampler_config, sample_scenario
from datagen.walk import offered_load
from datagen.world import Device, Fragment, Scenario, Service
from placement.objective import OBJECTIVE_TERMS, TIE_BREAK_LATENCY_WEIGHT, Objective, metrics_frame


def _scenario(sla_a=1.0, sla_b=math.inf):
    devs = (
        Device("d0", 1e9, idle_power=1.0, busy_power=3.0),
        Device("d1", 2e9, idle_power=2.0, busy_power=4.0),
    )
    a = Service("a", (Fragment("f0", 1e8),), arrival_rate=4.0, sla=sla_a)
    b = Service("b", (Fragment("f0", 2e8),), arrival_rate=2.0, sla=sla_b)
    return Scenario(devs, (a, b), {"a": ("d0",), "b": ("d1",)})


def _metrics(n=1):
    rows = []
    for i in range(n):
        rows.append(
            {"scenario": i, "service": "a", "throughput": 3.0, "loss_ratio": 0.25,
             "latency_mean": 1.2, "latency_p95": 1.5}
        )
        rows.append(
            {"scenario": i, "service": "b", "throughput": 2.0, "loss_ratio": 0.0,
             "latency_mean": 0.5, "latency_p95": 3.0}
        )
    return pd.DataFrame(rows)


def test_breakdown_hand_computed():
    sc = _scenario()
    terms = Objective().breakdown([sc], _metrics())
    assert list(terms.columns) == list(OBJECTIVE_TERMS)
    row = terms.iloc[0]
    assert row["loss"] == pytest.approx(4.0 * 0.25)  # 1 lost request/s
    # p95 1.5 s vs SLA 1 s: 50% over -> 0.5 of its 4 requests/s; b has no SLA.
    assert row["sla"] == pytest.approx(4.0 * 0.5)
    assert row["latency"] == pytest.approx(3.0 * 1.2 + 2.0 * 0.5)
    assert row["energy"] == 0.0  # only computed when weighted


def test_breakdown_reads_each_scenarios_own_services():
    # rows of scenarios with different service tuples, in any order
    fast = _scenario(sla_a=2.0)
    slow = _scenario()
    metrics = _metrics(3).iloc[::-1].reset_index(drop=True)
    terms = Objective().breakdown([slow, fast, slow], metrics)
    one = Objective().breakdown([slow], _metrics(1)).iloc[0]
    pd.testing.assert_series_equal(terms.iloc[0], one, check_names=False)
    pd.testing.assert_series_equal(terms.iloc[2], one, check_names=False)
    assert terms.iloc[1]["sla"] == 0.0  # p95 1.5 s within the 2 s SLA
    bad = _metrics(1)
    bad.loc[0, "service"] = "zz"
    with pytest.raises(KeyError, match="zz"):
        Objective().breakdown([slow], bad)


def test_weights_and_energy():
    sc = _scenario()
    obj = Objective(loss_weight=1.0, sla_weight=0.0, latency_weight=0.5, energy_weight=2.0)
    value = obj([sc], _metrics())[0]
    # utilisations: d0 = 3 * 1e8 / 1e9 = 0.3, d1 = 2 * 2e8 / 2e9 = 0.2
    energy = (1.0 + 2.0 * 0.3) + (2.0 + 2.0 * 0.2)
    assert value == pytest.approx(1.0 + 0.5 * 4.6 + 2.0 * energy)


def test_sla_mean_metric_and_saturation():
    sc = _scenario(sla_a=0.4)
    t = Objective(sla_metric="mean").breakdown([sc], _metrics()).iloc[0]
    assert t["sla"] == pytest.approx(4.0 * 1.0)  # 1.2 / 0.4 - 1 = 2, clipped to 1


def test_vectorised_over_scenarios_and_nan_latency():
    scs = [_scenario(), _scenario()]
    m = _metrics(2)
    m.loc[(m["scenario"] == 1) & (m["service"] == "a"), ["loss_ratio", "latency_p95"]] = [
        1.0, np.nan,
    ]
    v = Objective(latency_weight=0.0)(scs, m)
    assert v.shape == (2,)
    assert v[1] == pytest.approx(4.0)  # everything lost, no SLA penalty on a NaN latency


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss_weight": -1.0}, "loss_weight must be >= 0"),
        ({"sla_weight": math.inf}, "sla_weight must be a finite"),
        ({"loss_weight": 0.0, "sla_weight": 0.0, "latency_weight": 0.0},
         "at least one objective weight"),
        ({"sla_metric": "p99"}, "sla_metric must be"),
    ],
)
def test_invalid_objective(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Objective(**kwargs)


def test_missing_columns_and_bad_index():
    sc = _scenario()
    with pytest.raises(ValueError, match="lack columns"):
        Objective()([sc], _metrics().drop(columns="latency_p95"))
    with pytest.raises(ValueError, match="outside 0..0"):
        Objective()([sc], _metrics(2))


def test_metrics_frame_stacks_tables():
    t = pd.DataFrame({"loss_ratio": [0.1, 0.2]}, index=pd.Index(["a", "b"], name="service"))
    f = metrics_frame([t, t])
    assert list(f["scenario"]) == [0, 0, 1, 1]
    assert list(f["service"]) == ["a", "b", "a", "b"]
    assert metrics_frame([]).empty


def test_latency_breaks_ties_between_plans_of_equal_loss():
    """The default latency weight decides between equal-loss plans, and only between them."""
    sc = _scenario()
    fast, slow, lossy = _metrics(), _metrics(), _metrics()
    slow["latency_mean"] = 2.0 * slow["latency_mean"]
    lossy["loss_ratio"] = lossy["loss_ratio"] + 0.001
    v = Objective()([sc, sc, sc], pd.concat(
        [fast, slow.assign(scenario=1), lossy.assign(scenario=2)], ignore_index=True))
    assert v[0] < v[1]  # same loss and SLA terms: the faster plan wins
    assert v[1] < v[0] + 4.0 * 0.001 + 2.0 * 0.001  # ... by less than 0.1% of the traffic
    assert Objective().latency_weight == TIE_BREAK_LATENCY_WEIGHT


def test_an_unbounded_latency_keeps_the_ranking_by_loss():
    sc = _scenario()
    worse, better = _metrics(), _metrics()
    worse["latency_mean"] = math.inf
    better["latency_mean"] = math.inf
    worse["loss_ratio"] = 0.5
    v = Objective()([sc, sc], pd.concat([worse, better.assign(scenario=1)], ignore_index=True))
    assert np.isfinite(v).all() and v[1] < v[0]


def test_energy_is_the_walkers_load_at_the_throughput():
    rng = np.random.default_rng(2)
    scs = [sample_scenario(load_sampler_config(r), rng)
           for r in ("placer", "edge") for _ in range(4)]
    rows = [
        {"scenario": i, "service": svc.name, "loss_ratio": 0.0, "latency_mean": 0.1,
         "latency_p95": 0.2, "throughput": svc.arrival_rate * float(rng.uniform(0.5, 1.0))}
        for i, sc in enumerate(scs) for svc in sc.services
    ]
    metrics = pd.DataFrame(rows)
    energy = Objective(energy_weight=1.0).breakdown(scs, metrics)["energy"].to_numpy()
    tput = {(r["scenario"], r["service"]): r["throughput"] for r in rows}
    for i, sc in enumerate(scs):
        served = [(dataclasses.replace(svc, arrival_rate=tput[i, svc.name]), sc.placement[svc.name])
                  for svc in sc.services]
        rho = offered_load(sc.devices, served)
        expected = sum(d.idle_power + (d.busy_power - d.idle_power) * min(1.0, rho[d.name])
                       for d in sc.devices)
        assert expected > 0
        assert energy[i] == pytest.approx(expected, rel=1e-12)
