"""ORRIC's heuristics derived from its (Dt) coefficients (spec 1.6)."""

from __future__ import annotations

import math

import pytest

from placement.baselines.orric import POLICIES, coefficients, decide, focus_shift_coefficients, run

RATIOS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
CT = tuple(20 * r for r in RATIOS)
MACS = (6.35, 6.71, 7.45, 7.94)
AI = tuple(a / 79.57 for a in (44.93, 59.38, 73.29, 79.57))


def f(x: float) -> float:
    return 0.3 + 0.4957 * (2 * x - 0.5 * x * x) / 1.5


def test_focus_shift_profile_is_orric_shape_scaled():
    T, W1 = 6, 0.7857
    vs = [focus_shift_coefficients(t, T, W1)[0] for t in range(1, T + 1)]
    assert vs[0] == pytest.approx(W1)
    assert vs[-1] == 0.0
    assert all(a > b for a, b in zip(vs, vs[1:]))
    orric_v = [coefficients(t, T, 0.01, 1, 1, 0.5, 0.8, 1.0)[0] for t in range(1, T + 1)]
    ratios = [a / b for a, b in zip(vs[:-1], orric_v[:-1])]
    assert max(ratios) == pytest.approx(min(ratios))  # same harmonic profile
    assert focus_shift_coefficients(1, 1, W1) == (0.0, W1)


@pytest.mark.parametrize("bad", [{"t": 0, "T": 3, "W1": 1.0}, {"t": 1, "T": 0, "W1": 1.0},
                                 {"t": 1, "T": 3, "W1": -1.0}])
def test_focus_shift_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="must"):
        focus_shift_coefficients(**bad)


def test_small_L_orric_is_inference_greedy():
    D = (1000,) * 5
    C = tuple(1000 * u for u in (13, 9, 17, 11, 14))
    o = decide(RATIOS, CT, AI, MACS, D, C, L=0.01, f_max=f(1.0))
    ig = decide(RATIOS, CT, AI, MACS, D, C, L=0.01, f_max=f(1.0), policy="inference_greedy")
    # same choices except the last slot's retraining, which V_T = 0 makes worthless for ORRIC
    assert o.choices[:-1] == ig.choices[:-1]
    assert o.choices[-1][1] == ig.choices[-1][1] and o.choices[-1][0] == 0
    assert math.isnan(o.objective)
    # a large L makes ORRIC retrain more than Inference-Greedy in slot 1
    big = decide(RATIOS, CT, AI, MACS, D, C, L=5.0, f_max=f(1.0))
    assert RATIOS[big.choices[0][0]] > RATIOS[ig.choices[0][0]]


def test_regime_limits():
    D = (100,) * 4
    rich = tuple(100 * u for u in (40,) * 4)  # sufficient: everything fits
    for p in POLICIES:
        r = decide(RATIOS, CT, AI, MACS, D, rich, L=0.01, f_max=0.8, policy=p)
        if p == "inference_only":
            assert all(i == 0 and j == 3 for i, j in r.choices)
        elif p in ("knowledge_distillation", "inference_greedy"):
            assert all(i == 5 and j == 3 for i, j in r.choices)
    scarce = tuple(100 * u for u in (9.0,) * 4)  # the best inference leaves ~1 MAC
    for p in POLICIES:
        r = decide(RATIOS, CT, AI, MACS, D, scarce, L=0.01, f_max=0.8, policy=p)
        assert all(CT[i] + MACS[j] <= 9.0 + 1e-12 for i, j in r.choices)
    kd = decide(RATIOS, CT, AI, MACS, D, scarce, L=0.01, f_max=0.8,
                policy="knowledge_distillation")
    assert kd.choices[0][0] > 0  # retraining first, at the cost of inference


def test_run_scores_decide():
    D, C = (1000,) * 3, (13000, 13000, 17000)
    for p in POLICIES:
        r = run(RATIOS, CT, AI, MACS, D, C, f=f, L=0.01, policy=p)
        d = decide(RATIOS, CT, AI, MACS, D, C, L=0.01, f_max=f(1.0), policy=p)
        assert r.choices == d.choices and not math.isnan(r.objective)
