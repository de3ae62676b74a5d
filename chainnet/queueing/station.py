"""Closed-form and numerically exact single-station queueing formulas.

Pure functions, no state. Every function validates its input and raises :class:`ValueError`
naming the argument, the value and the fix. Capacities ``K`` count the jobs in service (the
system holds at most ``K`` jobs); arrivals that find ``K`` jobs present are lost. Utilisation
``rho >= 1`` is fine for every finite ``K``.

Functions:

- :func:`mm1k` and :func:`mmck`: exact birth-death solutions of M/M/1/K and M/M/c/K.
- :func:`mg1k_exact`: exact M/G/1/K through the embedded Markov chain at departures.
- :func:`mg1k_loss_mgs`: MacGregor Smith's closed-form M/G/1/K loss approximation
  (vectorised over numpy arrays).
- :func:`mixture_moments`: mean and SCV of a discrete mixture of service times.

References:
    Gross, Shortle, Thompson, Harris, *Fundamentals of Queueing Theory*, 4th ed., sections
    2.5 (M/M/1/K), 2.6 (M/M/c/K) and 5.1.9 (M/G/1/K). J. MacGregor Smith, "M/G/c/K blocking
    probability models and system performance", Performance Evaluation 52 (2003), as presented
    by G. Casale (ICPE 2024 keynote) and implemented in LINE (``qsys_mg1k_loss_mgs``).
    Oracles: ``shared/specs/analytical.md`` section 4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numba
import numpy as np
from scipy.special import gammaln, xlogy

from datagen.validation import is_int, is_real

__all__ = [
    "QueueResult",
    "ServiceKind",
    "mm1k",
    "mmck",
    "mg1k_exact",
    "mg1k_loss_mgs",
    "gg1k_loss_two_moment",
    "mixture_moments",
    "arrival_pmf",
]

ServiceKind = Literal["deterministic", "erlang", "exponential", "gamma", "h2", "mixture"]

#: Distance from ``rho = 1`` under which :func:`mg1k_loss_mgs` returns its analytic limit.
_RHO_ONE_TOL = 1e-12
#: Guard on the MGS exponents' shared denominator ``2 + sqrt(rho) (scv - 1)`` (spec 4.1).
_MGS_DEN_MIN = 0.05


class QueueResult(NamedTuple):
    r"""Steady-state measures of one finite-capacity station.

    Attributes:
        loss: Probability that an arrival is lost, ``p_K`` (PASTA).
        throughput: Rate of accepted (served) jobs, :math:`X = \lambda (1 - p_K)` (jobs/s).
        mean_number: Time-average number of jobs present, in service included.
        response_time: Mean time an accepted job spends in the station,
            :math:`R = N / X` (Little's law) (s). With ``lam = 0`` it is the mean service time.
        utilization: Time-average fraction of busy servers, :math:`X\,E[S]/c`.
        probabilities: Time-average probabilities ``p_0..p_K`` of the number present,
            shape ``(K + 1,)``.
    """

    loss: float
    throughput: float
    mean_number: float
    response_time: float
    utilization: float
    probabilities: np.ndarray


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _rate(name: str, value: float, *, positive: bool) -> float:
    if not is_real(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and v <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}; pass a positive value")
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}; pass a non-negative value")
    return v


def _capacity(name: str, value: int, minimum: int = 1) -> int:
    if not is_int(value):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}; raise it")
    return int(value)


def _birth_death(log_weights: np.ndarray) -> np.ndarray:
    """Normalise unnormalised log-probabilities without overflow."""
    w = np.exp(log_weights - log_weights.max())
    return w / w.sum()


def _result(lam: float, probs: np.ndarray, mean_service: float, servers: int) -> QueueResult:
    K = probs.size - 1
    loss = float(probs[K])
    throughput = lam * (1.0 - loss)
    mean_number = float(np.dot(np.arange(K + 1), probs))
    response = mean_number / throughput if throughput > 0 else mean_service
    return QueueResult(
        loss=loss,
        throughput=throughput,
        mean_number=mean_number,
        response_time=response,
        utilization=throughput * mean_service / servers,
        probabilities=probs,
    )


# --------------------------------------------------------------------------------------------
# Markovian stations
# --------------------------------------------------------------------------------------------


def mm1k(lam: float, mu: float, K: int) -> QueueResult:
    r"""Exact M/M/1/K station.

    .. math::
        p_n = \frac{(1-\rho)\rho^n}{1-\rho^{K+1}}\ (\rho \ne 1),\quad
        p_n = \frac{1}{K+1}\ (\rho = 1),\qquad \rho = \lambda/\mu,

    loss :math:`p_K`, throughput :math:`X=\lambda(1-p_K)=\mu(1-p_0)`, mean number
    :math:`N=\sum_n n p_n`, response time :math:`R=N/X`, utilisation :math:`U=1-p_0`.
    The probabilities are evaluated in log space, so any ``rho`` is safe.

    Args:
        lam: Arrival rate (jobs/s), ``>= 0``.
        mu: Service rate (jobs/s), ``> 0``.
        K: System capacity, the job in service included, ``>= 1``.

    Returns:
        The :class:`QueueResult`.

    Raises:
        ValueError: If a rate is negative or not finite, ``mu <= 0`` or ``K < 1``.
    """
    return mmck(lam, mu, 1, K)


def mmck(lam: float, mu: float, c: int, K: int) -> QueueResult:
    r"""Exact M/M/c/K station (birth-death chain).

    .. math::
        p_n \propto \prod_{k=1}^{n} \frac{\lambda}{\min(k, c)\,\mu},\quad n = 0..K,

    loss :math:`p_K`, :math:`X=\lambda(1-p_K)`, :math:`N=\sum_n n p_n`, :math:`R=N/X`,
    utilisation per server :math:`X/(c\mu)`.

    Args:
        lam: Arrival rate (jobs/s), ``>= 0``.
        mu: Service rate of one server (jobs/s), ``> 0``.
        c: Number of servers, ``>= 1``.
        K: System capacity, the jobs in service included, ``>= c``.

    Returns:
        The :class:`QueueResult`.

    Raises:
        ValueError: If a rate is negative or not finite, ``mu <= 0``, ``c < 1`` or ``K < c``.
    """
    lam = _rate("lam", lam, positive=False)
    mu = _rate("mu", mu, positive=True)
    c = _capacity("c", c)
    K = _capacity("K", K)
    if K < c:
        raise ValueError(f"K must be >= c (the servers count as capacity), got K={K} < c={c}")
    if lam == 0.0:
        probs = np.zeros(K + 1)
        probs[0] = 1.0
        return _result(lam, probs, 1.0 / mu, c)
    n = np.arange(1, K + 1)
    steps = math.log(lam / mu) - np.log(np.minimum(n, c))
    log_w = np.concatenate(([0.0], np.cumsum(steps)))
    return _result(lam, _birth_death(log_w), 1.0 / mu, c)


# --------------------------------------------------------------------------------------------
# M/G/1/K
# --------------------------------------------------------------------------------------------


def mixture_moments(times: Sequence[float], probs: Sequence[float]) -> tuple[float, float]:
    r"""Mean and SCV of a discrete mixture of deterministic service times.

    .. math::
        E[S]=\sum_l \pi_l\tau_l,\quad E[S^2]=\sum_l\pi_l\tau_l^2,\quad
        s^2 = E[S^2]/E[S]^2 - 1.

    Args:
        times: Service times :math:`\tau_l` (s), each ``> 0``.
        probs: Probabilities :math:`\pi_l`, non-negative, summing to 1.

    Returns:
        ``(mean, scv)``: the mean (s) and the squared coefficient of variation.

    Raises:
        ValueError: On mismatched lengths, empty lists, non-positive times or bad probabilities.
    """
    t, p = _mixture(times, probs)
    mean = float(np.dot(p, t))
    second = float(np.dot(p, t * t))
    return mean, max(0.0, second / mean**2 - 1.0)


def _mixture(times: Sequence[float], probs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(times, dtype=float).ravel()
    p = np.asarray(probs, dtype=float).ravel()
    if t.size == 0 or t.size != p.size:
        raise ValueError(
            f"times and probs must be non-empty and of equal length, got {t.size} and {p.size}"
        )
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"times must be finite and > 0 s, got {t.tolist()}")
    if np.any(p < 0) or not math.isclose(float(p.sum()), 1.0, abs_tol=1e-9):
        raise ValueError(f"probs must be >= 0 and sum to 1, got {p.tolist()} (sum {p.sum()})")
    return t, p


def _h2_balanced(mean: float, scv: float) -> tuple[float, float, float]:
    """Balanced-means two-phase hyperexponential: ``(p1, mean1, mean2)``."""
    p1 = 0.5 * (1.0 + math.sqrt((scv - 1.0) / (scv + 1.0)))
    return p1, mean / (2.0 * p1), mean / (2.0 * (1.0 - p1))


# The three pmfs below are those of ``scipy.stats`` (same formulas and kernels, so bit-identical
# results) without importing ``scipy.stats``, which costs ~1 s of CPU at ``import chainnet``.


def _poisson_pmf(k: np.ndarray, mu: np.ndarray | float) -> np.ndarray:
    r"""``scipy.stats.poisson.pmf(k, mu)`` for integer ``k >= 0``: :math:`e^{-\mu}\mu^k/k!`."""
    with np.errstate(invalid="ignore"):
        pmf = np.clip(np.exp(xlogy(k, mu) - gammaln(k + 1) - mu), 0.0, 1.0)
    return np.where(np.asarray(mu) >= 0, pmf, np.nan)


def _geom_pmf(k: np.ndarray, p: float) -> np.ndarray:
    """``scipy.stats.geom.pmf(k, p)`` for integer ``k >= 1``: :math:`(1-p)^{k-1} p`."""
    if not 0.0 < p <= 1.0:
        return np.full(np.shape(k), np.nan)
    return np.clip(np.power(1.0 - p, k - 1) * p, 0.0, 1.0)


def _nbinom_pmf(k: np.ndarray, n: float, p: float) -> np.ndarray:
    r"""``scipy.stats.nbinom.pmf(k, n, p)`` for integer ``k >= 0``.

    .. math:: \binom{k+n-1}{k} p^n (1-p)^k
    """
    try:  # the Boost kernel that scipy.stats.nbinom.pmf calls (recent scipy)
        from scipy.special._ufuncs import _nbinom_pmf as kernel
    except ImportError:  # pragma: no cover - older scipy: go through scipy.stats
        from scipy import stats

        return np.asarray(stats.nbinom.pmf(k, n, p))
    if not (n > 0 and 0.0 < p <= 1.0):
        return np.full(np.shape(k), np.nan)
    return np.clip(kernel(k, n, p), 0.0, 1.0)


def arrival_pmf(
    lam: float,
    n: int,
    *,
    mean: float | None = None,
    scv: float | None = None,
    kind: ServiceKind | None = None,
    erlang_stages: int | None = None,
    times: Sequence[float] | None = None,
    probs: Sequence[float] | None = None,
) -> tuple[np.ndarray, float]:
    r"""Probabilities of ``k`` Poisson arrivals during one service, ``a_0..a_{n-1}``.

    .. math::
        a_k = \int_0^\infty e^{-\lambda x}\frac{(\lambda x)^k}{k!}\,dB(x)

    Deterministic ``d``: Poisson(:math:`\lambda d`). Gamma with shape :math:`r=1/s^2` and
    mean ``m`` (Erlang-``r`` when ``r`` is an integer, exponential when ``r = 1``): negative
    binomial :math:`\mathrm{NB}(k; r, 1/(1+\lambda m/r))`. H2: mixture of two geometrics.
    Mixture of deterministic times: :math:`\sum_l \pi_l\,\mathrm{Poisson}(k;\lambda\tau_l)`.

    Args:
        lam: Arrival rate (jobs/s), ``>= 0``.
        n: Number of leading probabilities to return, ``>= 1``.
        mean: Mean service time (s); ignored for ``kind="mixture"``.
        scv: Squared coefficient of variation of the service time (see :func:`mg1k_exact`).
        kind: Service distribution (see :func:`mg1k_exact`).
        erlang_stages: Stages of an Erlang distribution (alternative to ``scv``).
        times: Mixture service times (s), for ``kind="mixture"``.
        probs: Mixture probabilities, for ``kind="mixture"``.

    Returns:
        ``(a, mean)``: the array ``a_0..a_{n-1}`` and the mean service time (s).

    Raises:
        ValueError: On an unknown kind or inconsistent parameters.
    """
    k = np.arange(n)
    if kind == "mixture":
        if times is None or probs is None:
            raise ValueError("kind='mixture' needs times and probs; pass both")
        t, p = _mixture(times, probs)
        a = (p[None, :] * _poisson_pmf(k[:, None], lam * t[None, :])).sum(axis=1)
        return a, float(np.dot(p, t))
    if mean is None:
        raise ValueError(f"mean (s) is required for kind={kind!r}; pass mean=E[S]")
    m = _rate("mean", mean, positive=True)
    if kind is None:
        s2 = 0.0 if scv is None else _rate("scv", scv, positive=False)
        kind = "deterministic" if s2 == 0.0 else "gamma"
    if kind == "deterministic":
        return _poisson_pmf(k, lam * m), m
    if kind == "exponential":
        shape = 1.0
    elif kind == "erlang":
        if erlang_stages is None:
            if scv is None:
                raise ValueError("kind='erlang' needs erlang_stages or scv=1/stages")
            erlang_stages = round(1.0 / _rate("scv", scv, positive=True))
            if not math.isclose(1.0 / erlang_stages, float(scv), rel_tol=1e-9):
                raise ValueError(
                    f"kind='erlang' needs scv = 1/n for an integer n, got scv={scv}; "
                    "use kind='gamma' for a real shape"
                )
        shape = float(_capacity("erlang_stages", erlang_stages))
    elif kind == "gamma":
        if scv is None:
            raise ValueError("kind='gamma' needs scv (shape = 1/scv)")
        s2 = _rate("scv", scv, positive=False)
        if s2 == 0.0:
            return _poisson_pmf(k, lam * m), m
        shape = 1.0 / s2
    elif kind == "h2":
        if scv is None or scv < 1:
            raise ValueError(f"kind='h2' needs scv >= 1, got {scv!r}; use 'gamma' below 1")
        p1, m1, m2 = _h2_balanced(m, float(scv))
        a = p1 * _geom_pmf(k + 1, 1.0 / (1.0 + lam * m1)) + (1.0 - p1) * _geom_pmf(
            k + 1, 1.0 / (1.0 + lam * m2)
        )
        return a, m
    else:
        raise ValueError(
            f"kind must be one of deterministic, erlang, exponential, gamma, h2, mixture; "
            f"got {kind!r}"
        )
    return _nbinom_pmf(k, shape, 1.0 / (1.0 + lam * m / shape)), m


def mg1k_exact(
    lam: float,
    K: int,
    *,
    mean: float | None = None,
    scv: float | None = None,
    kind: ServiceKind | None = None,
    erlang_stages: int | None = None,
    times: Sequence[float] | None = None,
    probs: Sequence[float] | None = None,
) -> QueueResult:
    r"""Exact M/G/1/K station through the embedded Markov chain at departure epochs.

    With :math:`a_k` the probability of ``k`` arrivals during one service
    (:func:`arrival_pmf`), the number left behind by a departure is a chain on ``0..K-1``:

    .. math::
        P_{i,j} = a_{j - b_i}\ (b_i \le j < K-1),\qquad
        P_{i,K-1} = 1 - \sum_{k < K-1-b_i} a_k,\qquad b_i = \max(i-1, 0).

    Solving :math:`\pi = \pi P`, :math:`\sum\pi = 1` gives the time-average probabilities

    .. math::
        p_j = \frac{\pi_j}{\pi_0 + \rho}\ (j < K),\qquad
        p_K = P_{loss} = 1 - \frac{1}{\pi_0+\rho},\qquad \rho = \lambda E[S].

    Args:
        lam: Arrival rate (jobs/s), ``>= 0``.
        K: System capacity, the job in service included, ``>= 1``.
        mean: Mean service time :math:`E[S]` (s) (not needed for ``kind="mixture"``).
        scv: Squared coefficient of variation of the service time. With ``kind=None`` it
            picks the distribution: ``0`` (or ``None``) = deterministic, otherwise gamma.
        kind: ``"deterministic"``, ``"exponential"``, ``"erlang"`` (``erlang_stages`` or
            ``scv = 1/n``), ``"gamma"`` (shape ``1/scv``), ``"h2"`` (balanced means,
            ``scv >= 1``), ``"mixture"`` (deterministic ``times`` with ``probs``: early
            exits) (default: ``None`` = from ``scv``).
        erlang_stages: Number of Erlang stages (default: ``None``).
        times: Service times of the mixture (s) (default: ``None``).
        probs: Probabilities of the mixture (default: ``None``).

    Returns:
        The :class:`QueueResult` (``utilization = 1 - p_0``).

    Raises:
        ValueError: If ``lam < 0``, ``K < 1``, or the service parameters are inconsistent.
    """
    lam = _rate("lam", lam, positive=False)
    K = _capacity("K", K)
    a, m = arrival_pmf(
        lam,
        max(K - 1, 1),
        mean=mean,
        scv=scv,
        kind=kind,
        erlang_stages=erlang_stages,
        times=times,
        probs=probs,
    )
    rho = lam * m
    if lam == 0.0:
        probs_t = np.zeros(K + 1)
        probs_t[0] = 1.0
        return _result(lam, probs_t, m, 1)
    P = np.zeros((K, K))
    for i in range(K):
        base = max(i - 1, 0)
        width = K - 1 - base  # columns base..K-2 take a_0..a_{width-1}
        P[i, base : K - 1] = a[:width]
        P[i, K - 1] = max(0.0, 1.0 - a[:width].sum())
    # pi (P - I) = 0 with the normalisation replacing one equation.
    A = (P - np.eye(K)).T
    A[-1, :] = 1.0
    rhs = np.zeros(K)
    rhs[-1] = 1.0
    pi = np.linalg.solve(A, rhs)
    pi = np.clip(pi, 0.0, None)
    pi /= pi.sum()
    norm = pi[0] + rho
    probs_t = np.empty(K + 1)
    probs_t[:K] = pi / norm
    probs_t[K] = max(0.0, 1.0 - 1.0 / norm)
    return _result(lam, probs_t, m, 1)


def mg1k_loss_mgs(
    rho: float | np.ndarray,
    scv: float | np.ndarray,
    K: int | np.ndarray,
    *,
    fallback: Literal["limit", "exact"] = "limit",
) -> float | np.ndarray:
    r"""MacGregor Smith's closed-form M/G/1/K loss probability (vectorised).

    .. math::
        P_{loss} \approx \frac{\rho^{a}(\rho-1)}{\rho^{b}-1},\quad
        a = \frac{\sqrt\rho\,s^2-\sqrt\rho+2K}{2+\sqrt\rho\,s^2-\sqrt\rho},\quad
        b = \frac{2(1+\sqrt\rho\,s^2-\sqrt\rho+K)}{2+\sqrt\rho\,s^2-\sqrt\rho}.

    Since :math:`a = b - 1` identically, it is evaluated stably as
    :math:`(1-\rho)\rho^{a}/(1-\rho^{b})` through ``expm1``/``log1p`` for
    :math:`\rho<1`, as :math:`(1-1/\rho)/(1-\rho^{-b})` for :math:`\rho>1`, and as the limit
    :math:`(1+s^2)/(2(s^2+K))` at :math:`\rho=1`. It is exact for :math:`s^2=1` (M/M/1/K) and
    for ``K = 1`` (:math:`\rho/(1+\rho)`, returned directly). Domain guard: when the shared
    denominator :math:`2+\sqrt\rho(s^2-1)` is ``<= 0.05`` (deterministic-like service at
    :math:`\rho \gtrsim 4/(1-s^2)^2`) or the result is not in [0, 1], the value falls back
    to :math:`\max(0, 1-1/\rho)` (``fallback="limit"``, the large-``K`` limit) or to
    :func:`mg1k_exact` with gamma service (``fallback="exact"``, slower).

    Args:
        rho: Offered load :math:`\lambda E[S]`, ``>= 0`` (scalar or array).
        scv: Service-time SCV :math:`s^2`, ``>= 0`` (scalar or array).
        K: Capacity, the job in service included, ``>= 1`` (scalar or array).
        fallback: ``"limit"`` or ``"exact"`` (default: ``"limit"``).

    Returns:
        The loss probability, a ``float`` for scalar input, else an array of the broadcast
        shape.

    Raises:
        ValueError: On negative or non-finite ``rho``/``scv``, ``K < 1``, or an unknown
            ``fallback``.
    """
    if fallback not in ("limit", "exact"):
        raise ValueError(f"fallback must be 'limit' or 'exact', got {fallback!r}")
    if isinstance(rho, np.ndarray) and isinstance(scv, np.ndarray) \
            and isinstance(K, np.ndarray) and _same_float_arrays(rho, scv, K) \
            and _all_at_least(rho, 0.0) and _all_at_least(scv, 0.0) and _all_at_least(K, 1.0):
        # the common case of the graph features: valid float64 arrays of one shape
        out, bad = _mgs_core(rho, scv, K)
        if fallback == "limit" or not np.any(bad & (K != 1.0)):
            return out
    scalar = np.ndim(rho) == 0 and np.ndim(scv) == 0 and np.ndim(K) == 0
    r, s2, k = np.broadcast_arrays(
        np.asarray(rho, dtype=float), np.asarray(scv, dtype=float), np.asarray(K, dtype=float)
    )
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ValueError(f"rho must be finite and >= 0, got {np.asarray(rho)!r}")
    if not np.all(np.isfinite(s2)) or np.any(s2 < 0):
        raise ValueError(f"scv must be finite and >= 0, got {np.asarray(scv)!r}")
    if not np.all(np.isfinite(k)) or np.any(k < 1):
        raise ValueError(f"K must be >= 1, got {np.asarray(K)!r}")
    out, bad = _mgs_core(r, s2, k)
    redo = bad & (k != 1.0)
    if fallback == "exact" and np.any(redo):
        out = np.array(out, dtype=float)
        for idx in map(tuple, np.argwhere(redo)):
            out[idx] = mg1k_exact(
                float(r[idx]), int(k[idx]), mean=1.0, scv=float(s2[idx]), kind="gamma"
            ).loss
    if scalar:
        return float(out)
    return out


def _same_float_arrays(*values: np.ndarray) -> bool:
    """Are all ``values`` float64 arrays of one shape (at least one dimension)?"""
    shape = values[0].shape
    return len(shape) > 0 and all(v.dtype == np.float64 and v.shape == shape for v in values)


def _all_at_least(x: np.ndarray, low: float) -> bool:
    """Is every element of ``x`` finite and ``>= low`` (NaN fails both comparisons)?"""
    return bool(np.logical_and(x >= low, x < np.inf).all())


def _mgs_core(r: np.ndarray, s2: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MacGregor Smith's form for validated arrays; also returns where the limit was used.

    One compiled pass over the elements (:func:`_mgs_kernel`); the arrays broadcast.
    """
    shape = r.shape
    if not (r.ndim == 1 and r.shape == s2.shape == k.shape and r.dtype == s2.dtype == k.dtype
            == np.float64 and r.flags.c_contiguous and s2.flags.c_contiguous
            and k.flags.c_contiguous):
        shape = np.broadcast_shapes(np.shape(r), np.shape(s2), np.shape(k))
        r, s2, k = (np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
                    for x in np.broadcast_arrays(r, s2, k))
    out = np.empty(r.size)
    bad = np.empty(r.size, dtype=np.bool_)
    _mgs_kernel(r, s2, k, out, bad)
    return out.reshape(shape), bad.reshape(shape)


@numba.njit(cache=True, error_model="numpy")
def _mgs_kernel(r: np.ndarray, s2: np.ndarray, k: np.ndarray, out: np.ndarray,
                bad: np.ndarray) -> None:  # pragma: no cover - compiled
    """:func:`_mgs_core`, element by element.

    The stable forms below and above rho = 1, the limit at rho = 1, then the domain guard
    (module constants), the K = 1 Erlang loss last.
    """
    for i in range(r.size):
        ri, si, ki = r[i], s2[i], k[i]
        x = np.sqrt(ri) * (si - 1.0)
        den = 2.0 + x
        b = 2.0 * (1.0 + x + ki) / den
        log_r = np.log(ri)
        if ri < 1.0:
            o = (1.0 - ri) * np.exp((b - 1.0) * log_r) / -np.expm1(b * log_r)
        else:
            o = -np.expm1(-log_r) / -np.expm1(-b * log_r)
        if abs(ri - 1.0) < _RHO_ONE_TOL:
            o = (1.0 + si) / (2.0 * (si + ki))
        if ri == 0.0:
            o = 0.0
        is_bad = den <= _MGS_DEN_MIN or not np.isfinite(o) or o < 0.0 or o > 1.0
        if is_bad:
            limit = 1.0 - 1.0 / ri
            o = 0.0 if limit < 0.0 else limit
        if ki == 1.0:
            o = ri / (1.0 + ri)
        out[i] = o
        bad[i] = is_bad


def gg1k_loss_two_moment(
    rho: np.ndarray, arrival_scv: np.ndarray, service_scv: np.ndarray, K: np.ndarray
) -> np.ndarray:
    r"""Two-moment GI/G/1/K loss heuristic: MacGregor Smith's form with an effective SCV.

    Diffusion approximations of the GI/G/1/K queue depend on the arrival and service
    variability through :math:`c_a^2 + c_s^2`; Poisson input has :math:`c_a^2 = 1`, so the
    M/G/1/K closed form of :func:`mg1k_loss_mgs` is evaluated at the effective service SCV

    .. math:: s^2_{\text{eff}} = c_a^2 + c_s^2 - 1 \quad (> -1),

    which equals :func:`mg1k_loss_mgs` for Poisson input and gives smaller losses for smoother
    input (e.g. the departures of a deterministic server, :math:`c_a^2 < 1`). It is a
    heuristic for features, not an exact result; ``K = 1`` returns the Erlang loss
    :math:`\rho/(1+\rho)` whatever the SCVs.

    Args:
        rho: Offered load :math:`\lambda E[S]`, ``>= 0``.
        arrival_scv: Inter-arrival SCV :math:`c_a^2`, ``>= 0``.
        service_scv: Service-time SCV :math:`c_s^2`, ``>= 0``.
        K: Capacity, the job in service included, ``>= 1``.

    Returns:
        The loss probability, an array of the broadcast shape (not validated: a hot path of
        :mod:`chainnet.features`, whose inputs are valid by construction).
    """
    r, ca2, cs2, k = np.broadcast_arrays(
        np.asarray(rho, dtype=float), np.asarray(arrival_scv, dtype=float),
        np.asarray(service_scv, dtype=float), np.asarray(K, dtype=float)
    )
    s2 = np.maximum(ca2 + cs2 - 1.0, -0.95)
    return _mgs_core(r, s2, k)[0]
