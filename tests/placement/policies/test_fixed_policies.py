"""Layer-only, semantic-only and random deciders (placement/policies/fixed.py)."""

from __future__ import annotations

import numpy as np
import pytest

from placement.policies import FixedArmConfig, FixedArmPolicy, RandomPolicy, make_policy


def test_fixed_arms() -> None:
    x = np.zeros((3, 2))
    assert make_policy("layer_only").select(x).tolist() == [0, 0, 0]
    assert make_policy("semantic_only").predict(x).tolist() == [1, 1, 1]
    np.testing.assert_allclose(make_policy("semantic_only").predict_expectations(x[:1]), [[0, 1]])
    assert FixedArmPolicy(arm="semantic").arm_index == 1
    with pytest.raises(ValueError, match="arm must be one of"):
        FixedArmConfig(arm="pipeline").validate()


def test_random_probability() -> None:
    p = RandomPolicy(p_semantic=0.25, seed=0)
    a = p.select(np.zeros((4000, 1)))
    assert abs(a.mean() - 0.25) < 0.03
    np.testing.assert_allclose(p.predict_expectations(np.zeros((1, 1))), [[0.75, 0.25]])
    assert make_policy("random", p_semantic=1.0).select(np.zeros((5, 1))).tolist() == [1] * 5
    with pytest.raises(ValueError, match="p_semantic must be in"):
        RandomPolicy(p_semantic=2.0)
