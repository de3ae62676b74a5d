r"""Vectorised queueing kernels: many stations at once, for the analytic predictor and features.

Each function solves a batch of independent stations given as numpy arrays (one entry per
station), with no validation beyond what numpy does: the callers (:mod:`chainnet.analytic`,
:mod:`chainnet.features`, :mod:`placement.online`) build well-formed inputs. The single-station
functions with validation and references are in :mod:`chainnet.queueing.station`; the oracles
are in ``shared/specs/analytical.md`` section 4.

- :func:`mg1_wait`: Pollaczek-Khinchine mean wait of an M/G/1 queue with unlimited room.
- :func:`mm1k_wait_ratio`: M/M/1/K mean wait in units of the mean service time.
- :func:`arrival_pmf_matrix`: arrivals during a gamma service time (the M/G/1/K chain's
  :math:`a_k`).
- :func:`mg1k_chains`: exact M/G/1/K departure chains, by the level-crossing recursion.
- :func:`mmck_batch`: M/M/c/K loss and mean number present.
- :func:`mgck_correction`: M/M/c/K corrected by the M/G/1/K : M/M/1/K ratios
  (:func:`mmck_one` and :func:`mgck_one`: one station, compiled, for other kernels).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = [
    "arrival_pmf_matrix",
    "mg1_wait",
    "mg1k_chains",
    "mgck_correction",
    "mgck_one",
    "mm1k_wait_ratio",
    "mmck_batch",
    "mmck_one",
    "WAIT_CAP",
]

# Floor of 1 - P_0 in mm1k_wait_ratio (an empty queue is certain only at rho = 0).
_WAIT_EPS = 1e-12
#: Waiting times are capped at this many mean service times (an overloaded infinite-room link
#: has an unbounded queue; a cap keeps features and priors finite).
WAIT_CAP = 1e3


def mg1_wait(second_moment_rate: Any, rho: Any) -> Any:
    r"""Pollaczek-Khinchine mean wait of an M/G/1 FCFS queue with unlimited room (s).

    .. math::
        W = \frac{\sum_f \lambda_f\, E[S_f^2]}{2 (1 - \rho)}, \qquad
        \rho = \sum_f \lambda_f\, E[S_f]

    for a station fed by several Poisson flows ``f`` (a mixture of service laws). Valid for
    :math:`\rho < 1`; the caller decides what an overloaded station gives (``inf``).

    Args:
        second_moment_rate: :math:`\sum_f \lambda_f E[S_f^2]` (s), a float or an array.
        rho: Offered load :math:`\rho`, same shape.

    Returns:
        The mean wait in queue (s), same shape.
    """
    return second_moment_rate / (2.0 * (1.0 - rho))


def mm1k_wait_ratio(rho: np.ndarray, K: np.ndarray) -> np.ndarray:
    r"""Mean M/M/1/K waiting time in units of the mean service time, vectorised and stable.

    .. math::
        \frac{W}{E[S]} = \frac{N}{1 - P_0} - 1, \quad
        N(\rho) = \frac{\rho}{1-\rho} - \frac{(K+1)\rho^{K+1}}{1-\rho^{K+1}}, \quad
        P_0 = \frac{1-\rho}{1-\rho^{K+1}}

    evaluated through :math:`1/\rho` when :math:`\rho > 1` (:math:`N(\rho) = K - N(1/\rho)`,
    :math:`P_0(\rho) = P_K(1/\rho)`) and through the limits :math:`N = K/2`,
    :math:`P_0 = 1/(K+1)` near :math:`\rho = 1`.

    Args:
        rho: Offered load per server, ``>= 0``.
        K: Capacity (the job in service included), ``>= 1``.

    Returns:
        The ratio, ``>= 0``, same shape as the broadcast inputs.
    """
    rho = np.maximum(np.asarray(rho, dtype=np.float64), 1e-9)
    K = np.asarray(K, dtype=np.float64)
    with np.errstate(all="ignore"):
        r = np.where(rho > 1.0, 1.0 / rho, rho)
        rk1 = r ** (K + 1.0)
        n_r = r / (1.0 - r) - (K + 1.0) * rk1 / (1.0 - rk1)
        p0_r = (1.0 - r) / (1.0 - rk1)
        pk_r = p0_r * r**K
        near = np.abs(r - 1.0) < 1e-6
        n_r = np.where(near, K / 2.0, n_r)
        p0_r = np.where(near, 1.0 / (K + 1.0), p0_r)
        pk_r = np.where(near, 1.0 / (K + 1.0), pk_r)
        n = np.where(rho > 1.0, K - n_r, n_r)
        p0 = np.where(rho > 1.0, pk_r, p0_r)
        wait = n / np.maximum(1.0 - p0, _WAIT_EPS) - 1.0
    return np.clip(np.nan_to_num(wait, nan=0.0), 0.0, WAIT_CAP)


def arrival_pmf_matrix(lam: np.ndarray, mean: np.ndarray, scv: np.ndarray, n: int) -> np.ndarray:
    r"""``a_k`` for ``k < n`` of Poisson(``lam``) arrivals in a gamma(mean, scv) time.

    By the ratio recursions, in log space (no overflow, no cancellation), with
    :math:`\mu = \lambda m` and :math:`r = 1/s^2`:

    .. math::
        \text{Poisson } (s^2 = 0):\ a_0 = e^{-\mu},\ \frac{a_k}{a_{k-1}} = \frac{\mu}{k};\qquad
        \text{NB}:\ a_0 = \Big(\frac{r}{r+\mu}\Big)^r,\
        \frac{a_k}{a_{k-1}} = \frac{k-1+r}{k}\,\frac{\mu}{r+\mu}.

    Shapes:
        lam, mean, scv: ``(V,)``; output ``(V, n)``.
    """
    lam, mean, scv = (np.ascontiguousarray(x, dtype=np.float64) for x in (lam, mean, scv))
    return _arrival_pmf_kernel(lam, mean, scv, int(n))


@numba.njit(cache=True)
def _arrival_pmf_kernel(lam: np.ndarray, mean: np.ndarray, scv: np.ndarray,
                        n: int) -> np.ndarray:  # pragma: no cover - compiled
    """The loop of :func:`arrival_pmf_matrix`: one row per visit, log-space running sums."""
    V = lam.size
    out = np.empty((V, n))
    log_k = np.empty(n)
    for k in range(1, n):
        log_k[k] = np.log(float(k))
    for v in range(V):
        mu = lam[v] * mean[v]
        det = scv[v] <= 0.0
        r = 1.0 if det else 1.0 / scv[v]
        if det:
            acc = -mu
        else:
            acc = -r * np.log1p(mu / r)
        out[v, 0] = np.exp(acc)
        log_mu = np.log(mu) if mu > 0.0 else -np.inf
        log_rmu = np.log(r + mu)
        for k in range(1, n):
            if det:
                acc += log_mu - log_k[k]
            else:
                acc += np.log(k - 1.0 + r) - log_k[k] + log_mu - log_rmu
            out[v, k] = np.exp(acc)
    return out


def mg1k_chains(
    a: np.ndarray, rho: np.ndarray, K: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Batched exact M/G/1/K departure chains, by the level-crossing recursion.

    Cutting the departure chain between ``{0..j}`` and ``{j+1..}`` (only one-step moves go
    down) gives a recursion with positive terms only, hence stable, in :math:`O(K^2)`:

    .. math::
        \pi_{j+1}\,a_0 = \pi_0\,\bar a_j + \sum_{i=1}^{j} \pi_i\,\bar a_{j-i+1},\qquad
        \bar a_k = \sum_{m>k} a_m,

    then :math:`p_j=\pi_j/(\pi_0+\rho)`, :math:`P_{loss}=1-1/(\pi_0+\rho)` as in
    :func:`chainnet.queueing.mg1k_exact`.

    Args:
        a: Arrival probabilities ``a_0..a_{Kmax-2}``, shape ``(G, max(Kmax-1, 1))``.
        rho: Offered loads, shape ``(G,)``.
        K: Capacities, shape ``(G,)``.

    Returns:
        ``(loss, mean_number, seen_mean, seen_var)``, each of shape ``(G,)``: the loss
        probability, the time-average number present, and the mean and variance of the number
        found by an accepted arrival (the departure-epoch law :math:`\pi`).
    """
    return _chains_kernel(
        np.ascontiguousarray(a, dtype=np.float64),
        np.ascontiguousarray(rho, dtype=np.float64),
        np.ascontiguousarray(K, dtype=np.int64),
    )


@numba.njit(cache=True)
def _keep_finite(pi: np.ndarray, n: int) -> None:  # pragma: no cover - compiled
    """Divide ``pi[:n]`` by its last entry once that passes 1e200 (the recursion grows fast)."""
    if pi[n - 1] > 1e200:
        scale = pi[n - 1]
        for i in range(n):
            pi[i] /= scale


@numba.njit(cache=True)
def _law_moments(pi: np.ndarray, k: int) -> tuple[float, float, float]:  # pragma: no cover
    """Total, mean and second moment of the unnormalised law ``pi[0 .. k-1]``."""
    total = 0.0
    for i in range(k):
        total += pi[i]
    first = 0.0
    second = 0.0
    for i in range(k):
        first += i * pi[i] / total
        second += i * i * pi[i] / total
    return total, first, second


@numba.njit(cache=True)
def _chains_kernel(
    a: np.ndarray, rho: np.ndarray, K: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    G = rho.size
    loss = np.empty(G)
    mean_number = np.empty(G)
    seen_mean = np.empty(G)
    seen_var = np.empty(G)
    kmax = 1
    for g in range(G):
        kmax = max(kmax, K[g])
    pi = np.empty(kmax)
    abar = np.empty(max(kmax - 1, 1))
    for g in range(G):
        k = K[g]
        a0 = max(a[g, 0], 1e-300)
        tail = 1.0
        for m in range(k - 1):
            tail -= a[g, m]
            abar[m] = min(max(tail, 0.0), 1.0)
        pi[0] = 1.0
        for j in range(k - 1):
            up = pi[0] * abar[j]
            for i in range(1, j + 1):
                up += pi[i] * abar[j - i + 1]
            pi[j + 1] = up / a0
            _keep_finite(pi, j + 2)
        total, first, second = _law_moments(pi, k)
        seen_mean[g] = first
        seen_var[g] = max(second - first * first, 0.0)
        norm = pi[0] / total + rho[g]
        lg = min(max(1.0 - 1.0 / norm, 0.0), 1.0)
        loss[g] = lg
        mean_number[g] = first / norm + k * lg
    return loss, mean_number, seen_mean, seen_var


def mmck_batch(
    log_a: np.ndarray, c: np.ndarray, K: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Batched M/M/c/K: ``(loss, mean_number)`` for offered loads ``exp(log_a) = lam/mu``.

    Shapes:
        log_a, c, K: ``(G,)``; outputs ``(G,)``.
    """
    log_a, c = (np.ascontiguousarray(x, dtype=np.float64) for x in (log_a, c))
    K = np.ascontiguousarray(K, dtype=np.int64)
    loss = np.empty(log_a.size)
    mean_number = np.empty(log_a.size)
    _mmck_kernel(log_a, c, K, loss, mean_number)
    return loss, mean_number


@numba.njit(cache=True)
def _mmck_kernel(log_a: np.ndarray, c: np.ndarray, K: np.ndarray, loss: np.ndarray,
                 mean_number: np.ndarray) -> None:  # pragma: no cover - compiled
    for g in range(log_a.size):
        loss[g], mean_number[g] = mmck_one(log_a[g], c[g], K[g])


@numba.njit(cache=True)
def mmck_one(log_a: float, c: float, K: int) -> tuple[float, float]:  # pragma: no cover
    r"""M/M/c/K ``(loss, mean_number)`` of one station at offered load ``exp(log_a)``.

    The stationary law from log-space products :math:`w_n = \prod_{i \le n} a / \min(i,
    c)`, scaled by the largest term before it is normalised (no overflow).
    """
    logw = np.empty(K + 1)
    logw[0] = 0.0
    top = 0.0
    for n in range(1, K + 1):
        logw[n] = logw[n - 1] + (log_a - np.log(min(float(n), c)))
        top = max(top, logw[n])
    total = 0.0
    for n in range(K + 1):
        logw[n] = np.exp(logw[n] - top)
        total += logw[n]
    number = 0.0
    for n in range(K + 1):
        number += n * (logw[n] / total)
    return logw[K] / total, number


def mgck_correction(
    lam: np.ndarray,
    mean: np.ndarray,
    c: np.ndarray,
    K: np.ndarray,
    g_loss: np.ndarray,
    g_N: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    r"""M/M/c/K corrected by the M/G/1/K : M/M/1/K ratios of a ``c``-times-faster server.

    .. math::
        L = L^{M/M/c/K}\,\frac{L^{G}_{1}}{L^{M}_{1}},\qquad
        L_q = L_q^{M/M/c/K}\,\frac{L^{G}_{q,1}}{L^{M}_{q,1}},\qquad N = X E[S] + L_q,

    where the index 1 marks the single server of rate ``c / E[S]`` with the same ``K``
    (station by station, :func:`mgck_one`).
    """
    lam, mean, c, g_loss, g_N = (np.ascontiguousarray(x, dtype=np.float64)
                                 for x in (lam, mean, c, g_loss, g_N))
    out_loss = np.empty(lam.size)
    out_N = np.empty(lam.size)
    _mgck_kernel(lam, mean, c, np.ascontiguousarray(K, dtype=np.int64), g_loss, g_N,
                 out_loss, out_N)
    return out_loss, out_N


@numba.njit(cache=True)
def _mgck_kernel(lam: np.ndarray, mean: np.ndarray, c: np.ndarray, K: np.ndarray,
                 g_loss: np.ndarray, g_N: np.ndarray, out_loss: np.ndarray,
                 out_N: np.ndarray) -> None:  # pragma: no cover - compiled
    for g in range(lam.size):
        out_loss[g], out_N[g] = mgck_one(lam[g], mean[g], c[g], K[g], g_loss[g], g_N[g])


@numba.njit(cache=True, error_model="numpy")
def mgck_one(lam: float, mean: float, c: float, K: int, g_loss: float,
             g_N: float) -> tuple[float, float]:  # pragma: no cover - compiled
    """:func:`mgck_correction` of one station: ``(loss, mean_number)``; 0 and 0 when idle.

    ``g_loss`` and ``g_N`` are the M/G/1/K loss and mean number of a ``c``-times-faster
    single server.
    """
    if not (lam > 0 and mean > 0):
        return 0.0, 0.0
    log_a = np.log(lam * mean)
    m_loss, m_N = mmck_one(log_a, c, K)
    f_loss, f_N = mmck_one(log_a - np.log(c), 1.0, K)
    loss = m_loss * g_loss / f_loss if f_loss > 0 else m_loss
    if K == c:  # a pure loss system: Erlang's loss is insensitive to the service law
        loss = m_loss
    loss = np.minimum(np.maximum(loss, 0.0), 1.0)
    f_lq = f_N - lam * (1.0 - f_loss) * mean / c
    g_lq = g_N - lam * (1.0 - g_loss) * mean / c
    m_lq = m_N - lam * (1.0 - m_loss) * mean
    lq = m_lq * g_lq / f_lq if f_lq > 1e-300 else m_lq
    return loss, lam * (1.0 - loss) * mean + np.maximum(lq, 0.0)
