"""Batch arrivals with partial admission (chainnet.queueing.bulk) against exact references."""

from __future__ import annotations

import numpy as np
import pytest

from chainnet.queueing import (
    arrival_pmf_matrix,
    bulk_arrival_pmf_matrix,
    mg1k_chains,
    mxg1k_chains,
)


def ctmc_mx_m1k(rates: dict[int, float], mu: float, K: int) -> np.ndarray:
    """Time-average law of M^X/M/1/K with partial admission, from its generator."""
    Q = np.zeros((K + 1, K + 1))
    for n in range(K + 1):
        for b, r in rates.items():
            if n < K:
                Q[n, min(n + b, K)] += r
        if n > 0:
            Q[n, n - 1] += mu
        Q[n, n] = -Q[n].sum()
    A = np.vstack([Q.T, np.ones(K + 1)])
    rhs = np.zeros(K + 2)
    rhs[-1] = 1.0
    return np.linalg.lstsq(A, rhs, rcond=None)[0]


@pytest.mark.parametrize(("rates", "mu", "K"), [
    ({5: 3.0}, 50.0, 6), ({5: 8.0}, 50.0, 6), ({1: 2.0, 2: 6.0}, 10.0, 3),
    ({1: 4.0, 4: 6.0}, 20.0, 8), ({3: 30.0}, 10.0, 4), ({2: 0.01}, 1.0, 5),
])
def test_exact_for_exponential_service(rates: dict[int, float], mu: float, K: int) -> None:
    b_max = max(rates)
    r = np.zeros((1, b_max))
    for b, v in rates.items():
        r[0, b - 1] = v
    a = bulk_arrival_pmf_matrix(r, np.array([1 / mu]), np.array([1.0]), max(K - 1, 1))
    x = r / r.sum()
    jobs = sum(b * v for b, v in rates.items())
    loss, N, _, _, p = mxg1k_chains(a, x, np.array([jobs / mu]), np.array([K]))
    ref = ctmc_mx_m1k(rates, mu, K)
    np.testing.assert_allclose(p[0], ref, atol=1e-10)
    assert N[0] == pytest.approx((ref * np.arange(K + 1)).sum(), rel=1e-9)
    # the job loss is what the batches that find n lose beyond the K - n free places
    lost = sum(v * sum(ref[n] * max(b - (K - n), 0) for n in range(K + 1))
               for b, v in rates.items())
    assert loss[0] == pytest.approx(lost / jobs, abs=1e-10)


@pytest.mark.parametrize("scv", [0.0, 0.4, 1.0, 3.0])
def test_batches_of_one_job_are_the_single_arrival_chain(scv: float) -> None:
    lam = np.array([2.0, 7.0, 0.5])
    mean = np.array([0.3, 0.1, 1.0])
    scvs = np.full(3, scv)
    a1 = arrival_pmf_matrix(lam, mean, scvs, 9)
    ab = bulk_arrival_pmf_matrix(lam[:, None], mean, scvs, 9)
    np.testing.assert_allclose(ab, a1, rtol=1e-12, atol=1e-300)
    K = np.array([10, 4, 2])
    ref = mg1k_chains(a1, lam * mean, K)
    got = mxg1k_chains(a1, np.ones((3, 1)), lam * mean, K)
    for r, g in zip(ref, got[:4]):
        np.testing.assert_allclose(g, r, rtol=1e-12)
    # the time-average law: p_j = pi_j / (pi_0 + rho), p_K = loss
    np.testing.assert_allclose(got[4][np.arange(3), K], ref[0], atol=1e-12)


def test_compound_counts_match_a_convolution() -> None:
    # deterministic time 0.5 s, batches of 1 at 2/s and of 3 at 1/s: a sum of Poissons
    from scipy.stats import poisson

    k = np.arange(40)
    ones, threes = poisson.pmf(k, 1.0), poisson.pmf(k, 0.5)
    ref = np.zeros(40)
    for j in range(14):
        ref[3 * j:] += threes[j] * ones[: 40 - 3 * j]
    got = bulk_arrival_pmf_matrix(np.array([[2.0, 0.0, 1.0]]), np.array([0.5]),
                                  np.array([0.0]), 12)
    np.testing.assert_allclose(got[0], ref[:12], rtol=1e-12)
    # gamma time: the counts still sum to one (far enough out) and every term is positive
    many = bulk_arrival_pmf_matrix(np.array([[2.0, 0.5, 1.0]]), np.array([0.5]),
                                   np.array([2.5]), 400)
    assert (many > 0).all() and many.sum() == pytest.approx(1.0, abs=1e-9)
