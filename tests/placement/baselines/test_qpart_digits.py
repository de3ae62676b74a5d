"""QPART on the digits MLP: Fig. 5 arrays and the Fig. 6 experiment."""

from __future__ import annotations

import numpy as np
import pytest

from placement.baselines.qpart_digits import (
    DigitsQPARTConfig,
    digits_layers,
    partition_costs,
    run_digits_qpart,
)


def test_layers_and_partition_costs():
    lay = digits_layers((64, 32, 10))
    assert list(lay.w) == [2048, 320] and lay.a0 == 64
    df = partition_costs(lay, {0: np.array([]), 1: np.array([6.0]), 2: np.array([6.0, 8.0])})
    assert len(df) == 6
    q = df[df["method"] == "QPART"].set_index("p")
    n = df[df["method"] == "no optimisation"].set_index("p")
    assert q.loc[0, "time (s)"] == pytest.approx(n.loc[0, "time (s)"])
    assert (q.loc[1:, "time (s)"] < n.loc[1:, "time (s)"]).all()
    assert (q["server cost"] == n["server cost"]).all()


def test_config_validation():
    with pytest.raises(ValueError, match="widths"):
        DigitsQPARTConfig(widths=(10, 10)).validate()
    with pytest.raises(ValueError, match="levels"):
        DigitsQPARTConfig(levels=(1.5,)).validate()


@pytest.mark.slow
def test_run_small_is_deterministic():
    cfg = DigitsQPARTConfig(epochs=3, uniform_bits=(4,), prune_amounts=(0.5,),
                            bottlenecks=(8,), ae_steps=10)
    a, b = run_digits_qpart(cfg, 0), run_digits_qpart(cfg, 0)
    assert a.size_accuracy.equals(b.size_accuracy)
    assert set(a.size_accuracy["method"]) == {"no optimisation", "uniform quantisation",
                                               "QPART", "magnitude pruning",
                                               "autoencoder bottleneck"}
    assert (a.size_accuracy["size / float32"] <= 1.0 + 1e-12).all()
