r"""Small distribution classes: unit-mean service factors and arrival processes.

Every class has a ``sample`` method that takes an injected :class:`numpy.random.Generator`,
analytic moments, and a ``__repr__`` that round-trips through :func:`eval` (Ciw's rule), so a
dataset can log exactly what generated it.

Service factors multiply the mean service time ``macs / speed`` of a fragment; they have unit
mean and a given squared coefficient of variation (SCV):

.. math::
    \mathbb E[F] = 1, \qquad \mathrm{SCV}[F] = \frac{\mathrm{Var}[F]}{\mathbb E[F]^2}.

SCV 0 is :class:`Deterministic`, SCV 1 is :class:`Exponential`, any other SCV is
:class:`Gamma` with shape ``1/scv`` and scale ``scv``.
"""

from __future__ import annotations

import math

import numpy as np

from datagen.validation import finite_float, show_value
from datagen.world import MMPP2

__all__ = [
    "ServiceFactor",
    "Deterministic",
    "Exponential",
    "Gamma",
    "service_factor",
    "ArrivalProcess",
    "PoissonArrivals",
    "MMPP2Arrivals",
    "MAX_MMPP_SOJOURNS",
]

#: Most expected state sojourns of MMPP-2 arrivals: per draw here, summed over the services of
#: one run in :func:`datagen.sim.simulate`. Each sojourn is one step of the variate kernel (a
#: compiled loop; ``sample_gaps`` here is a Python loop), so this bounds a draw to well under a
#: few seconds; a mean sojourn much shorter than the gaps
#: between arrivals would otherwise take hours (or forever: ``mean_high_duration=1e-300``),
#: while the arrivals it gives are practically Poisson.
MAX_MMPP_SOJOURNS: int = 2_000_000


class ServiceFactor:
    """Base class of unit-mean service-time factors."""

    @property
    def mean(self) -> float:
        """Mean of the factor (always ``1.0``)."""
        return 1.0

    @property
    def variance(self) -> float:
        """Variance of the factor (equal to its SCV, since the mean is 1)."""
        return self.scv

    @property
    def scv(self) -> float:
        """Squared coefficient of variation."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] = 1) -> np.ndarray:
        """Draw factors.

        Args:
            rng: The random generator.
            size: Output shape (default: ``1``).

        Returns:
            A float64 array of shape ``size``.
        """
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


class Deterministic(ServiceFactor):
    """The constant factor 1 (SCV 0): every service takes exactly its mean time."""

    @property
    def scv(self) -> float:
        """Squared coefficient of variation (``0.0``)."""
        return 0.0

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] = 1) -> np.ndarray:
        """Return ones of shape ``size`` (``rng`` is not consumed)."""
        return np.ones(size, dtype=np.float64)

    def __repr__(self) -> str:
        return "Deterministic()"


class Exponential(ServiceFactor):
    """Exponential factor with mean 1 (SCV 1)."""

    @property
    def scv(self) -> float:
        """Squared coefficient of variation (``1.0``)."""
        return 1.0

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] = 1) -> np.ndarray:
        """Draw exponential factors of mean 1 with shape ``size``."""
        return rng.standard_exponential(size)

    def __repr__(self) -> str:
        return "Exponential()"


class Gamma(ServiceFactor):
    r"""Gamma factor with mean 1 and a given SCV.

    .. math::
        F \sim \Gamma(k = 1/s^2,\ \theta = s^2), \qquad \mathbb E[F] = k\theta = 1,
        \qquad \mathrm{Var}[F] = k\theta^2 = s^2.

    Args:
        scv: Squared coefficient of variation ``s^2 > 0``.

    Raises:
        ValueError: If ``scv`` is not a finite number > 0.
    """

    def __init__(self, scv: float) -> None:
        if finite_float(scv) is None:
            raise ValueError(f"scv must be a finite number > 0 for Gamma, got {show_value(scv)}")
        if scv <= 0:
            raise ValueError(f"scv must be > 0 for Gamma, got {scv!r}; use Deterministic() for 0")
        self._scv = float(scv)

    @property
    def scv(self) -> float:
        """Squared coefficient of variation."""
        return self._scv

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] = 1) -> np.ndarray:
        """Draw gamma factors of mean 1 and SCV :attr:`scv` with shape ``size``."""
        return rng.gamma(1.0 / self._scv, self._scv, size)

    def __repr__(self) -> str:
        return f"Gamma(scv={self._scv!r})"


def service_factor(scv: float) -> ServiceFactor:
    """Return the unit-mean factor distribution of a service with the given SCV.

    Args:
        scv: Squared coefficient of variation, ``>= 0``.

    Returns:
        :class:`Deterministic` for 0, :class:`Exponential` for 1, :class:`Gamma` otherwise.

    Raises:
        ValueError: If ``scv`` is negative or not finite.
    """
    if finite_float(scv) is None:
        raise ValueError(f"scv must be a finite number >= 0, got {show_value(scv)}")
    if scv < 0:
        raise ValueError(f"scv must be >= 0, got {scv!r}")
    if scv == 0:
        return Deterministic()
    if scv == 1:
        return Exponential()
    return Gamma(scv)


def _check_rate(rate: float, owner: str) -> float:
    if finite_float(rate) is None:
        raise ValueError(
            f"rate must be a finite number > 0 requests/s for {owner}, got {show_value(rate)}"
        )
    if rate <= 0:
        raise ValueError(f"rate must be > 0 requests/s for {owner}, got {rate!r}")
    return float(rate)


def _check_horizon(horizon: float) -> float:
    if finite_float(horizon) is None or horizon <= 0:
        raise ValueError(f"horizon must be a finite number > 0 s, got {horizon!r}")
    return float(horizon)


class ArrivalProcess:
    """Base class of arrival processes on ``[0, horizon]``."""

    rate: float

    @property
    def mean_rate(self) -> float:
        """Long-run mean arrival rate (requests/s)."""
        return self.rate

    def sample_gaps(self, rng: np.random.Generator, horizon: float) -> np.ndarray:
        """Draw the inter-arrival gaps of all arrivals in ``[0, horizon]`` (s).

        Arrival times are ``numpy.cumsum(gaps)``, a left-to-right running sum, so an engine
        that waits ``gaps[i]`` after the previous arrival gets bit-identical times.

        Args:
            rng: The random generator.
            horizon: The horizon (s).

        Returns:
            A float64 array of gaps whose running sum stays ``<= horizon``.
        """
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


def _times_to_gaps(times: np.ndarray, horizon: float) -> np.ndarray:
    gaps = np.diff(times, prepend=0.0)
    # Re-accumulate so that cumsum(gaps) is the exact set of times the engines will see.
    cum = np.cumsum(gaps)
    return gaps[: int(np.searchsorted(cum, horizon, side="right"))]


class PoissonArrivals(ArrivalProcess):
    """A Poisson process of constant rate.

    Args:
        rate: Arrival rate (requests/s).

    Raises:
        ValueError: If ``rate`` is not a finite number > 0.
    """

    def __init__(self, rate: float) -> None:
        self.rate = _check_rate(rate, "PoissonArrivals")

    def sample_gaps(self, rng: np.random.Generator, horizon: float) -> np.ndarray:
        """Draw exponential gaps of mean ``1/rate`` until the running sum passes ``horizon``."""
        horizon = _check_horizon(horizon)
        mean_n = self.rate * horizon
        n = int(mean_n + 6.0 * math.sqrt(mean_n) + 16)
        gaps = rng.exponential(1.0 / self.rate, n)
        cum = np.cumsum(gaps)
        while cum[-1] <= horizon:
            more = rng.exponential(1.0 / self.rate, max(16, n // 4))
            gaps = np.concatenate([gaps, more])
            cum = np.cumsum(gaps)
        return gaps[: int(np.searchsorted(cum, horizon, side="right"))]

    def __repr__(self) -> str:
        return f"PoissonArrivals(rate={self.rate!r})"


class MMPP2Arrivals(ArrivalProcess):
    r"""A two-state Markov-modulated Poisson process with mean rate ``rate``.

    The state starts from its stationary law (high with probability ``p``) and alternates
    exponential sojourns of means ``mmpp.mean_durations()``; within a sojourn arrivals are
    Poisson at the state's rate (``mmpp.rates(rate)``), so the long-run mean rate is ``rate``:

    .. math::
        p\,\phi\lambda + (1-p)\,\lambda_{low} = \lambda.

    Args:
        rate: Mean arrival rate (requests/s).
        mmpp: The burstiness parameters.

    Raises:
        ValueError: If ``rate`` is not a finite number > 0.
    """

    def __init__(self, rate: float, mmpp: MMPP2) -> None:
        self.rate = _check_rate(rate, "MMPP2Arrivals")
        if not isinstance(mmpp, MMPP2):
            raise ValueError(f"mmpp must be a datagen.MMPP2, got {mmpp!r}")
        self.mmpp = mmpp

    def expected_sojourns(self, horizon: float) -> float:
        r"""Expected number of state sojourns over ``[0, horizon]``.

        .. math::
            N = 1 + \frac{2 H}{\bar d_{high} + \bar d_{low}}.
        """
        return 1.0 + 2.0 * horizon / sum(self.mmpp.mean_durations())

    def sample_gaps(self, rng: np.random.Generator, horizon: float) -> np.ndarray:
        """Simulate the modulating chain over ``[0, horizon]`` and return the arrival gaps.

        Raises:
            ValueError: If the expected number of sojourns exceeds :data:`MAX_MMPP_SOJOURNS`.
        """
        horizon = _check_horizon(horizon)
        n = self.expected_sojourns(horizon)
        if not n <= MAX_MMPP_SOJOURNS:
            raise ValueError(
                f"mean_high_duration={self.mmpp.mean_high_duration!r} s is too short for a "
                f"horizon of {horizon:.6g} s: the MMPP would switch state about {n:.3g} times, "
                f"more than MAX_MMPP_SOJOURNS={MAX_MMPP_SOJOURNS:,}; raise mean_high_duration "
                f"or shorten the horizon"
            )
        rates = self.mmpp.rates(self.rate)
        durs = self.mmpp.mean_durations()
        state = 0 if rng.random() < self.mmpp.high_fraction else 1
        chunks: list[np.ndarray] = []
        t = 0.0
        while t < horizon:
            end = min(horizon, t + rng.exponential(durs[state]))
            n = rng.poisson(rates[state] * (end - t))
            if n:
                chunks.append(np.sort(rng.uniform(t, end, n)))
            t = end
            state = 1 - state
        times = np.concatenate(chunks) if chunks else np.empty(0)
        return _times_to_gaps(times, horizon)

    def __repr__(self) -> str:
        m = self.mmpp
        return (
            f"MMPP2Arrivals(rate={self.rate!r}, mmpp=MMPP2(peak_factor={m.peak_factor!r}, "
            f"high_fraction={m.high_fraction!r}, mean_high_duration={m.mean_high_duration!r}))"
        )
