import math

import numpy as np
import pytest

from datagen import MMPP2
from datagen.sim.distributions import (
    Deterministic,
    Exponential,
    Gamma,
    MMPP2Arrivals,
    PoissonArrivals,
    service_factor,
)


@pytest.mark.parametrize(
    ("scv", "cls"), [(0.0, Deterministic), (1.0, Exponential), (0.5, Gamma), (3.0, Gamma)]
)
def test_service_factor_picks_class_and_moments(scv: float, cls: type) -> None:
    dist = service_factor(scv)
    assert isinstance(dist, cls)
    assert dist.mean == 1.0
    assert dist.scv == scv
    assert dist.variance == scv
    x = dist.sample(np.random.default_rng(0), 400_000)
    assert x.shape == (400_000,)
    assert abs(x.mean() - 1.0) < 0.01
    assert abs(x.var() - scv) < 0.03 * max(scv, 0.1)


@pytest.mark.parametrize("dist", [Deterministic(), Exponential(), Gamma(0.25), Gamma(scv=2.5)])
def test_repr_round_trips(dist: object) -> None:
    again = eval(repr(dist))  # noqa: S307 - the repr contract is that it evaluates back
    assert again == dist
    assert hash(again) == hash(dist)


def test_sample_shape_2d() -> None:
    assert Gamma(0.3).sample(np.random.default_rng(1), (5, 3)).shape == (5, 3)
    assert Deterministic().sample(np.random.default_rng(1), (2, 2)).tolist() == [[1, 1], [1, 1]]


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_service_factor_rejects_bad_scv(bad: float) -> None:
    with pytest.raises(ValueError, match="scv"):
        service_factor(bad)


def test_gamma_rejects_zero() -> None:
    with pytest.raises(ValueError, match="Deterministic"):
        Gamma(0.0)


def test_poisson_gaps_count_and_horizon() -> None:
    proc = PoissonArrivals(rate=5.0)
    gaps = proc.sample_gaps(np.random.default_rng(3), 10_000.0)
    times = np.cumsum(gaps)
    assert times[-1] <= 10_000.0
    assert abs(len(gaps) - 50_000) < 5 * math.sqrt(50_000)
    assert abs(gaps.mean() - 0.2) < 0.005
    assert eval(repr(proc)) == proc  # noqa: S307


def test_poisson_rejects_bad_rate() -> None:
    with pytest.raises(ValueError, match="rate"):
        PoissonArrivals(0.0)
    with pytest.raises(ValueError, match="rate"):
        PoissonArrivals(math.inf)


def test_mmpp_keeps_mean_rate_and_is_bursty() -> None:
    mmpp = MMPP2(peak_factor=4.0, high_fraction=0.2, mean_high_duration=5.0)
    proc = MMPP2Arrivals(2.0, mmpp)
    gaps = proc.sample_gaps(np.random.default_rng(4), 50_000.0)
    assert np.cumsum(gaps)[-1] <= 50_000.0
    assert abs(len(gaps) / 50_000.0 - 2.0) < 0.1
    # Burstiness: counts per 5 s window are over-dispersed compared with Poisson.
    counts = np.bincount((np.cumsum(gaps) // 5.0).astype(int))
    assert counts.var() / counts.mean() > 2.0
    assert eval(repr(proc)) == proc  # noqa: S307
