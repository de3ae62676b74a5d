"""The vectorised queueing kernels (chainnet.queueing.batched) against the single-station ones."""

from __future__ import annotations

import numpy as np
import pytest

from chainnet.queueing import (
    arrival_pmf_matrix,
    mg1_wait,
    mg1k_chains,
    mg1k_exact,
    mgck_correction,
    mm1k,
    mm1k_wait_ratio,
    mmck,
    mmck_batch,
)


@pytest.mark.parametrize(("lam", "mean", "scv", "K"), [(0.8, 1.0, 0.0, 5), (1.3, 0.9, 1.0, 7),
                                                      (0.5, 1.2, 2.0, 3)])
def test_chains_match_the_exact_mg1k(lam: float, mean: float, scv: float, K: int) -> None:
    a = arrival_pmf_matrix(np.array([lam]), np.array([mean]), np.array([scv]), max(K - 1, 1))
    loss, n, _, _ = mg1k_chains(a, np.array([lam * mean]), np.array([K]))
    ref = mg1k_exact(lam, K, mean=mean, scv=scv)
    assert loss[0] == pytest.approx(ref.loss, rel=1e-9)
    assert n[0] == pytest.approx(ref.mean_number, rel=1e-9)


def test_mmck_batch_matches_mmck() -> None:
    lam, mu = np.array([2.0, 3.0]), np.array([1.0, 0.5])
    c, K = np.array([3, 2]), np.array([5, 4])
    loss, n = mmck_batch(np.log(lam / mu), c, K)
    for i in range(2):
        ref = mmck(float(lam[i]), float(mu[i]), int(c[i]), int(K[i]))
        assert loss[i] == pytest.approx(ref.loss, rel=1e-12)
        assert n[i] == pytest.approx(ref.mean_number, rel=1e-12)


def test_correction_is_exact_for_exponential_service() -> None:
    lam, mean, c, K = np.array([2.5]), np.array([1.0]), np.array([3.0]), np.array([6])
    g_loss, g_n = mmck_batch(np.log(lam * mean / c), np.ones(1), K)  # M/M/1/K of a c-fast server
    loss, n = mgck_correction(lam, mean, c, K, g_loss, g_n)
    ref = mmck(2.5, 1.0, 3, 6)
    assert loss[0] == pytest.approx(ref.loss, rel=1e-12)
    assert n[0] == pytest.approx(ref.mean_number, rel=1e-12)


def test_wait_formulas() -> None:
    # M/M/1: E[S^2] = 2 m^2, W = rho m / (1 - rho)
    assert mg1_wait(0.5 * 2.0, 0.5) == pytest.approx(1.0)
    ref = mm1k(0.7, 1.0, 10)
    assert mm1k_wait_ratio(np.array([0.7]), np.array([10]))[0] == pytest.approx(
        ref.response_time - 1.0, rel=1e-9
    )
