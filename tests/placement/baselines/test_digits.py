"""Digits helpers: split, corruptions, resizing, CNN MACs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from placement.baselines.digits import (  # noqa: E402
    build_cnn,
    cnn_macs,
    corrupt,
    load_digits_split,
    resize,
    seed_states,
)


def test_split_shapes_and_determinism():
    a, b = load_digits_split(3), load_digits_split(3)
    assert a.x_train.shape[1:] == (1, 8, 8)
    assert torch.equal(a.y_test, b.y_test)
    assert float(a.x_train.max()) <= 1.0
    with pytest.raises(ValueError, match="fractions"):
        load_digits_split(0, (0.5, 0.5, 0.5))


def test_seed_states_checks_the_seed_and_spawns_streams():
    import numpy as np

    assert seed_states(7, 3).tolist() == np.random.SeedSequence(7).generate_state(3).tolist()
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="seed must be an integer >= 0"):
            seed_states(bad, 2)


def test_corrupt_severity_and_errors():
    x = load_digits_split(0).x_test[:50]
    g = torch.Generator().manual_seed(0)
    assert torch.equal(corrupt(x, 0.0, g), x)
    y = corrupt(x, 1.0, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and float((y - x).abs().mean()) > 0.05
    assert float(y.min()) >= 0 and float(y.max()) <= 1
    with pytest.raises(ValueError, match="severity"):
        corrupt(x, 1.5, g)


def test_resize_and_macs_scale_with_area():
    x = torch.zeros(2, 1, 8, 8)
    assert resize(x, 4).shape == (2, 1, 4, 4)
    with pytest.raises(ValueError, match="resolution"):
        resize(x, 1)
    m = build_cnn(torch.Generator().manual_seed(0))
    assert m(resize(x, 5)).shape == (2, 10)
    assert cnn_macs(8) > cnn_macs(6) > cnn_macs(4)
    assert cnn_macs(8) == 9 * 8 * 64 + 9 * 8 * 16 * 64 + 16 * 16 * 10
