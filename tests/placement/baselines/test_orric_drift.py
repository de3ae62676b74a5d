"""The ORRIC drift experiment on measured accuracy (digits CNN)."""

from __future__ import annotations

import numpy as np
import pytest

from placement.baselines.orric_drift import (
    DriftConfig,
    DriftTable,
    fitted_L,
    measure_drift_table,
    measured_accuracy,
    run_policies,
    table_opt,
)

RATIOS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)


def _toy_table(T: int = 4) -> DriftTable:
    grid = np.array([0.0, 0.5, 1.0])
    acc = np.zeros((T, 3, 2))
    for t in range(T):
        acc[t, :, 0] = [0.9 - 0.1 * t, 0.9 - 0.05 * t, 0.9]
        acc[t, :, 1] = acc[t, :, 0] - 0.05
    return DriftTable(np.linspace(0, 1, T), grid, (8, 4), acc, np.array([0.9, 0.85]),
                      np.array([4.0, 1.0]), 10.0, 10)


def test_config_validation():
    with pytest.raises(ValueError, match="slots"):
        DriftConfig(slots=1).validate()
    with pytest.raises(ValueError, match="grid"):
        DriftConfig(grid=(0.0, 0.5)).validate()
    with pytest.raises(ValueError, match="resolutions"):
        DriftConfig(resolutions=(4, 8)).validate()


def test_table_interpolation_and_scoring():
    tab = _toy_table()
    assert tab.at(1, 0.25, 0) == pytest.approx(0.825)
    with pytest.raises(ValueError, match="xbar"):
        tab.at(0, 1.5, 0)
    r = measured_accuracy(tab, [(5, 0)] * 4, RATIOS)
    assert r.per_slot[0] == pytest.approx(0.9) and r.per_slot[-1] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="one"):
        measured_accuracy(tab, [(0, 0)], RATIOS)


def test_table_opt_matches_brute_force():
    import itertools

    tab = _toy_table(3)
    at = np.array(RATIOS)
    ct = at * tab.retrain_macs
    ci = tab.inference_macs
    U = np.array([6.0, 9.0, 14.0])
    opt = table_opt(tab, at, ct, ci, U)
    best = -1.0
    for seq in itertools.product(range(len(at)), range(2), repeat=3):
        ch = [(seq[2 * k], seq[2 * k + 1]) for k in range(3)]
        if all(ct[i] + ci[j] <= U[t] for t, (i, j) in enumerate(ch)):
            best = max(best, measured_accuracy(tab, ch, at).accuracy)
    assert opt.accuracy == pytest.approx(best)


def test_policies_never_beat_opt_on_toy_table():
    tab = _toy_table()
    out = run_policies(tab, np.array([6.0, 9.0, 14.0, 5.0]), RATIOS, extra_L=(0.5,))
    for name, r in out.items():
        assert r.accuracy <= out["OPT"].accuracy + 1e-12, name
    assert fitted_L(tab) > 0


@pytest.mark.slow
def test_measured_table_is_deterministic_and_sane():
    cfg = DriftConfig(slots=3, samples_per_slot=30, grid=(0.0, 1.0), base_epochs=3,
                      finetune_epochs=1)
    a = measure_drift_table(cfg, 0)
    b = measure_drift_table(cfg, 0)
    assert np.array_equal(a.accuracy, b.accuracy)
    assert a.accuracy.shape == (3, 2, 4)
    assert np.all((a.accuracy >= 0) & (a.accuracy <= 1))
    assert a.clean_accuracy.max() > 0.3  # far above chance (0.1)
