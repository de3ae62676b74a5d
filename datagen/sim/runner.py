"""``simulate``: validate, draw the variates, run an engine, compute metrics from records.

The work of one run is bounded before anything is drawn (:func:`check_work`): the expected
number of events (arrivals plus hop completions) must not exceed ``max_events`` (default
:data:`MAX_EVENTS`; memory grows by roughly 35-80 bytes per event), and the MMPP arrival
processes must not switch state more than
:data:`~datagen.sim.distributions.MAX_MMPP_SOJOURNS` times. An input beyond them (a rate
ratio of ``1e6``, ``mean_high_duration=1e-300``) raises :class:`SimulationLimitError` naming
the service and the field, instead of allocating gigabytes or never finishing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from datagen.sim.compiled import CompiledScenario, compile_scenario
from datagen.sim.distributions import MAX_MMPP_SOJOURNS
from datagen.sim.engine_tandem import is_tandem, tandem_sums
from datagen.sim.metrics import (
    NoCompletionError,
    service_metrics,
    service_table,
    station_metrics,
    station_tables,
)
from datagen.sim.records import RawRecords, records_frame
from datagen.sim.result import SimResult
from datagen.sim.variates import Variates, VariateStream, draw_variates
from datagen.validation import ScenarioError, finite_float, is_int, is_real, show_value
from datagen.world import Scenario

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "simulate",
    "simulate_sequential",
    "SequentialStopping",
    "SequentialRun",
    "ENGINES",
    "MAX_EVENTS",
    "SimulationLimitError",
    "check_work",
]

ENGINES: tuple[str, ...] = ("fast", "simpy")

#: Most batch-means slices (``batches``) of one run.
MAX_BATCHES: int = 10_000

#: Default most expected events (arrivals plus hop completions, over all services) of one run:
#: about 10-25 GB of memory and 20-30 s with the fast engine. The largest labelling run of the
#: packaged sampler configs (``large``, 100,000 requests of the slowest service) stays under
#: 2e8.
MAX_EVENTS: int = 300_000_000


class SimulationLimitError(ValueError):
    """A run would exceed a work limit; the message names the service, the field and the fix."""


#: Default growth margin of the first run sized from the pilot (see :class:`SequentialStopping`).
PILOT_MARGIN: float = 1.35
#: Default growth margin of a later run (sized from a run that already followed the estimate).
MARGIN: float = 1.2


@dataclass(frozen=True)
class SequentialStopping:
    r"""The one sequential-stopping policy of :func:`simulate` and the dataset labeller.

    A run is *precise enough* when its largest ratio of 95% batch-means half-width to target,
    over every service and every checked metric,

    .. math::
        s = \max_c \max\Big(\frac{h(X_c)}{X_c\,t_X},\;
            \frac{h(\bar R_c)}{\bar R_c\,t_R},\; \frac{h(\text{loss}_c)}{t_L}\Big),

    is at most 1 (a metric whose target is ``None`` is not checked, so with no target at all
    the pilot is always kept; an undefined half-width counts as :math:`s = \infty`). The
    first run (the *pilot*, ``num_requests`` requests of the slowest service) is kept when it
    is precise enough. Otherwise the next run is sized from the estimate, since half-widths
    shrink like :math:`1/\sqrt n`:

    .. math::
        n' = \min\big(n_{\max},\ \lceil m\, n\, s^2 \rceil\big),

    with :math:`m` = ``pilot_margin`` for the run sized from the pilot and ``margin`` for the
    later ones. Every run uses the same seed, so a longer run extends the pilot's sample path
    and the final result equals one plain ``simulate(num_requests=n_final, seed=seed)`` call.
    The fast engine therefore continues the previous run (the same random stream read on, the
    event loop resumed at the previous run's last arrival) instead of restarting it: a round
    costs only its new arrivals plus its metrics.
    The pilot's margin is larger because its estimate is noisier and is extrapolated further:
    measured on 450 ``chainnet_like`` scenarios (pilot 2,000 requests, targets 0.8% / 0.004),
    one sized run met the target for 80-85% of the scenarios that needed one, and
    ``pilot_margin=1.35`` cost the least CPU of the margins in ``[1.2, 2]``. A run in which
    some service completes no request is followed by one four times longer. It stops when
    precise enough, after ``max_rounds`` runs, or at ``max_requests`` (or the longest
    horizon the work limits allow, see :func:`check_work`).

    Args:
        rel_throughput_ci: Largest ``throughput_ci / throughput`` (default: ``None``).
        rel_latency_ci: Largest ``latency_mean_ci / latency_mean`` (default: ``None``).
        abs_loss_ci: Largest ``loss_ratio_ci`` (absolute; also the half-width of
            ``tput_ratio = 1 - loss_ratio``) (default: ``None``).
        max_requests: Cap :math:`n_{\max}` on the requests of the slowest service
            (default: ``2_000_000``).
        max_rounds: Most runs, the pilot included (default: ``20``).
        pilot_margin: Growth margin of the run sized from the pilot, ``>= 1``
            (default: :data:`PILOT_MARGIN`).
        margin: Growth margin of the later runs, ``>= 1`` (default: :data:`MARGIN`).

    Raises:
        ValueError: If a field is out of range (the message names it).
    """

    rel_throughput_ci: float | None = None
    rel_latency_ci: float | None = None
    abs_loss_ci: float | None = None
    max_requests: float = 2_000_000
    max_rounds: int = 20
    pilot_margin: float = PILOT_MARGIN
    margin: float = MARGIN

    def __post_init__(self) -> None:
        targets = ("rel_throughput_ci", "rel_latency_ci", "abs_loss_ci")
        for name in targets:
            value = getattr(self, name)
            if value is not None and (not _is_positive(value) or math.isinf(value)):
                raise ValueError(
                    f"{name} must be a finite number > 0 or None, got {show_value(value)}"
                )
        if not _is_positive(self.max_requests):
            raise ValueError(
                f"max_requests must be a number > 0, got {show_value(self.max_requests)}"
            )
        if not is_int(self.max_rounds) or self.max_rounds < 1:
            raise ValueError(
                f"max_rounds must be an integer >= 1, got {show_value(self.max_rounds)}"
            )
        for name in ("pilot_margin", "margin"):
            value = getattr(self, name)
            if not _is_positive(value) or math.isinf(value) or value < 1:
                raise ValueError(
                    f"{name} must be a finite number >= 1 (a run at least as long as the "
                    f"estimate asks for), got {show_value(value)}"
                )

    def shortfall(self, services: pd.DataFrame) -> float:
        """The largest half-width to target ratio ``s`` of one run (``<= 1``: precise enough).

        Args:
            services: ``SimResult.services`` of the run.

        Returns:
            ``s`` (dimensionless), ``inf`` where a checked half-width is undefined.
        """
        parts: list[np.ndarray] = []
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.rel_throughput_ci is not None:
                rel = services["throughput_ci"].to_numpy(float) / services["throughput"]
                parts.append(np.asarray(rel, float) / self.rel_throughput_ci)
            if self.rel_latency_ci is not None:
                rel = services["latency_mean_ci"].to_numpy(float) / services["latency_mean"]
                parts.append(np.asarray(rel, float) / self.rel_latency_ci)
            if self.abs_loss_ci is not None:
                parts.append(services["loss_ratio_ci"].to_numpy(float) / self.abs_loss_ci)
        ratios = np.concatenate(parts) if parts else np.zeros(0)
        return float(np.where(np.isfinite(ratios), ratios, np.inf).max(initial=0.0))

    def next_requests(self, num_requests: float, shortfall: float, first: bool) -> float:
        r"""Requests of the slowest service for the next run, capped at ``max_requests``.

        Args:
            num_requests: Requests of the slowest service of the run just done.
            shortfall: Its :meth:`shortfall` (``> 1``).
            first: Whether the run just done is the pilot (``pilot_margin`` applies).

        Returns:
            :math:`\min(n_{\max}, \lceil m\,n\,s^2\rceil)` (``max_requests`` when ``s`` is
            infinite).
        """
        grown = (self.pilot_margin if first else self.margin) * num_requests * shortfall**2
        if not math.isfinite(grown):
            return float(self.max_requests)
        return float(min(self.max_requests, math.ceil(grown)))


class SequentialRun(NamedTuple):
    """The result of :func:`simulate_sequential`.

    Attributes:
        result: The last run's :class:`~datagen.sim.result.SimResult`.
        num_requests: Requests of the slowest service of the last run (its horizon times the
            slowest arrival rate).
        rounds: Runs made, the pilot included.
        shortfall: The last run's :meth:`SequentialStopping.shortfall` (``<= 1``: target met).
    """

    result: SimResult
    num_requests: float
    rounds: int
    shortfall: float


def check_work(compiled: CompiledScenario, horizon: float, max_events: float = MAX_EVENTS) -> None:
    r"""Refuse a run whose expected work exceeds the limits, before anything is drawn.

    With :math:`h_c` the hops of one request of service :math:`c` (station visits and link
    delays, over all branches), a run of horizon :math:`H` has in expectation

    .. math::
        E = H \sum_c \lambda_c (1 + h_c)

    events, and an MMPP service switches state :math:`2H / (\bar d_{high} + \bar d_{low})`
    times, with :math:`\lambda_c \phi_c \min(\bar d_{high}, H)` arrivals in one burst.

    Args:
        compiled: The compiled scenario.
        horizon: The arrival horizon ``H`` (s).
        max_events: Most expected events (default: :data:`MAX_EVENTS`).

    Raises:
        SimulationLimitError: If ``E > max_events``, if the MMPP sojourns exceed
            :data:`~datagen.sim.distributions.MAX_MMPP_SOJOURNS`, or if one burst alone
            brings more than ``max_events`` arrivals.
    """
    H = float(horizon)
    rates = compiled.rates
    hops = np.add.reduceat(compiled.path_hop_end - compiled.path_hop_start, compiled.svc_path_start)
    with np.errstate(over="ignore", invalid="ignore"):
        per_service = rates * H * (1.0 + hops)
    events = float(per_service.sum())
    names = compiled.service_names
    if not events <= max_events:  # also catches inf
        c = int(np.argmax(per_service))
        slow = int(np.argmin(rates))
        spread = (
            f", {rates[c] / rates[slow]:.3g} times that of the slowest service {names[slow]!r}"
            if c != slow else ""
        )
        raise SimulationLimitError(
            f"the run would simulate about {events:.3g} events (arrivals plus station and link "
            f"visits), more than max_events={max_events:.3g}: over the horizon of {H:.6g} s, "
            f"service {names[c]!r} (arrival_rate={rates[c]:.6g} requests/s{spread}) alone has "
            f"about {rates[c] * H:.3g} arrivals; lower num_requests (or horizon), or bring the "
            f"services' arrival rates closer together"
        )
    sojourns = 0.0
    worst = (-1.0, 0)
    for c, svc in enumerate(compiled.scenario.services):
        if svc.mmpp is None:
            continue
        d_high, d_low = svc.mmpp.mean_durations()
        n = 1.0 + 2.0 * H / (d_high + d_low)
        sojourns += n
        worst = max(worst, (n, c))
        burst = svc.arrival_rate * svc.mmpp.peak_factor * min(d_high, H)
        if not burst <= max_events:
            raise SimulationLimitError(
                f"one burst of service {svc.name!r} brings about {burst:.3g} arrivals "
                f"(arrival_rate * mmpp.peak_factor * mmpp.mean_high_duration), more than "
                f"max_events={max_events:.3g}; lower mmpp.peak_factor or "
                f"mmpp.mean_high_duration"
            )
    if not sojourns <= MAX_MMPP_SOJOURNS:
        n, c = worst
        svc = compiled.scenario.services[c]
        assert svc.mmpp is not None
        p = svc.mmpp.high_fraction
        need = svc.mmpp.mean_high_duration * sojourns / MAX_MMPP_SOJOURNS
        raise SimulationLimitError(
            f"mmpp.mean_high_duration={svc.mmpp.mean_high_duration!r} s of service "
            f"{svc.name!r} (high_fraction={p!r}) is too short for the horizon of {H:.6g} s: its "
            f"arrival process would switch state about {n:.3g} times, more than "
            f"MAX_MMPP_SOJOURNS={MAX_MMPP_SOJOURNS:,} (one Python step each); raise "
            f"mean_high_duration to about {need:.3g} s or more, or lower num_requests"
        )


def simulate(
    scenario: Scenario,
    *,
    num_requests: float = 20_000,
    warmup: float = 0.1,
    seed: int | np.random.SeedSequence = 0,
    engine: str = "fast",
    batches: int = 20,
    keep_records: bool = False,
    horizon: float | None = None,
    target_rel_ci: float | None = None,
    max_requests: float = 2_000_000,
    max_events: float = MAX_EVENTS,
) -> SimResult:
    r"""Simulate a scenario and return its metrics.

    Every service's arrivals are drawn over one common horizon, long enough for the slowest
    service to get ``num_requests`` arrivals on average:

    .. math::
        H = \frac{n}{\min_c \lambda_c}.

    The first ``warmup * H`` seconds are discarded; the requests arriving in ``[warmup*H, H]``
    are followed to their end (the system drains after ``H``). See
    :mod:`datagen.sim.metrics` for the definitions of every output.

    Args:
        scenario: The deployment to simulate.
        num_requests: Mean number of arrivals of the slowest service over the horizon
            (default: ``20_000``).
        warmup: Fraction of the horizon discarded as warm-up, in ``[0, 1)`` (default: ``0.1``).
        seed: Seed of all randomness (``numpy.random.SeedSequence`` entropy) (default: ``0``).
        engine: ``"fast"`` (numba event loop) or ``"simpy"`` (readable reference); both give
            identical results for the same seed (default: ``"fast"``).
        batches: Number of batch-means slices for the 95% half-widths (default: ``20``).
        keep_records: Also return per-request records in ``SimResult.records`` and the raw
            arrays in ``SimResult.raw`` (default: ``False``).
        horizon: Explicit horizon in seconds, overriding ``num_requests`` (default: ``None``).
        target_rel_ci: Sequential stopping: if set, the run is a pilot and is redone longer
            (same seed, so the sample path is extended) until every service's
            ``throughput_ci / throughput`` and ``latency_mean_ci / latency_mean`` are at most
            this value, by the policy of :class:`SequentialStopping` (the dataset labeller's
            too) with ``rel_throughput_ci = rel_latency_ci = target_rel_ci``; see
            :func:`simulate_sequential` for the number of runs (default: ``None`` = one run).
        max_requests: Cap on ``num_requests`` for sequential stopping (default: ``2_000_000``).
            Sequential stopping also stops at the longest horizon the work limits allow.
        max_events: Most expected events of one run, see :func:`check_work`
            (default: :data:`MAX_EVENTS`).

    Returns:
        A :class:`~datagen.sim.result.SimResult`.

    Raises:
        ScenarioError: If ``scenario`` is invalid (before anything is simulated).
        SimulationLimitError: If the run would exceed a work limit (:func:`check_work`).
        NoCompletionError: When a service completes no request in the measurement window
            (with sequential stopping: in the last run).
        ValueError: On a bad ``num_requests``, ``warmup``, ``seed``, ``engine``, ``batches``,
            ``horizon``, ``target_rel_ci``, ``max_requests`` or ``max_events``.
    """
    if target_rel_ci is None:
        compiled, H = _prepare(
            scenario, num_requests, warmup, seed, engine, batches, horizon, max_events
        )
        return _run(compiled, H, warmup, seed, engine, batches, keep_records)
    if not _is_positive(target_rel_ci) or math.isinf(target_rel_ci):
        raise ValueError(f"target_rel_ci must be a finite number > 0, got {target_rel_ci!r}")
    if not _is_positive(max_requests):
        raise ValueError(f"max_requests must be a number > 0, got {max_requests!r}")
    stopping = SequentialStopping(
        rel_throughput_ci=float(target_rel_ci),
        rel_latency_ci=float(target_rel_ci),
        max_requests=float(max_requests),
    )
    return simulate_sequential(
        scenario, stopping, num_requests=num_requests, warmup=warmup, seed=seed, engine=engine,
        batches=batches, keep_records=keep_records, horizon=horizon, max_events=max_events,
    ).result


def simulate_sequential(
    scenario: Scenario,
    stopping: SequentialStopping,
    *,
    num_requests: float = 20_000,
    warmup: float = 0.1,
    seed: int | np.random.SeedSequence = 0,
    engine: str = "fast",
    batches: int = 20,
    keep_records: bool = False,
    horizon: float | None = None,
    max_events: float = MAX_EVENTS,
) -> SequentialRun:
    """Simulate until the precision target of ``stopping`` is met (sequential stopping).

    The first run (the pilot) has ``num_requests`` requests of the slowest service (or the
    ``horizon``); each later run is sized from the previous one's half-widths, with the same
    seed, as :class:`SequentialStopping` describes. Only the last run is returned. With the
    fast engine each run continues the previous one (see :class:`SequentialStopping`), so the
    earlier rounds cost only their metrics; the simpy engine reruns from the start (same
    results).

    Args:
        scenario: The deployment to simulate.
        stopping: The targets and limits of the policy.
        num_requests: Requests of the slowest service in the pilot (default: ``20_000``).
        warmup: Fraction of each run discarded as warm-up, in ``[0, 1)`` (default: ``0.1``).
        seed: Seed of every run (default: ``0``).
        engine: ``"fast"`` or ``"simpy"`` (default: ``"fast"``).
        batches: Batch-means slices of each run (default: ``20``).
        keep_records: Keep the last run's records (default: ``False``).
        horizon: Explicit pilot horizon in seconds, overriding ``num_requests``
            (default: ``None``).
        max_events: Most expected events of one run, see :func:`check_work`
            (default: :data:`MAX_EVENTS`).

    Returns:
        A :class:`SequentialRun`: the last run's result, its requests of the slowest
        service, the number of runs and its shortfall (``<= 1`` when the target is met).

    Raises:
        ScenarioError: If ``scenario`` is invalid.
        SimulationLimitError: If the pilot would exceed a work limit.
        NoCompletionError: If some service completes no request in the last run allowed.
        ValueError: On a bad argument (as :func:`simulate`) or a ``stopping`` that is not a
            :class:`SequentialStopping`.
    """
    if not isinstance(stopping, SequentialStopping):
        raise ValueError(
            f"stopping must be a SequentialStopping, got {type(stopping).__name__}; build one "
            f"with e.g. SequentialStopping(rel_latency_ci=0.02)"
        )
    compiled, H = _prepare(scenario, num_requests, warmup, seed, engine, batches, horizon,
                           max_events)
    rate = float(compiled.rates.min())
    H_work = _longest_horizon(compiled, H, max_events)
    n = float(num_requests) if horizon is None else H * rate
    sized = False  # whether a run was already sized from an estimate (pilot_margin once)
    # The fast engine continues the run from the previous round's last arrival (one stream,
    # one event loop) instead of restarting it: the same results, without redoing the work.
    cont = _Continuation(compiled, seed) if engine == "fast" else None
    for rnd in range(1, int(stopping.max_rounds) + 1):
        last = rnd == stopping.max_rounds or n >= stopping.max_requests or H >= H_work
        try:
            if cont is None:
                variates, raw = _simulate_records(compiled, H, seed, engine)
            else:
                variates, raw = cont.extend(H, last)
            services = _services(compiled, variates, raw, H, warmup, batches)
        except NoCompletionError:
            if last:
                raise
            # Some service completed nothing: no half-width to size from, go 4x longer.
            n = float(min(stopping.max_requests, 4.0 * n))
            H = min(n / rate, H_work)
            continue
        shortfall = stopping.shortfall(services)
        if shortfall <= 1.0 or last:
            used = n if H == n / rate else H * rate
            res = _result(compiled, variates, raw, services, H, warmup, seed, engine,
                          keep_records)
            return SequentialRun(res, used, rnd, shortfall)
        n = stopping.next_requests(n, shortfall, first=not sized)
        sized = True
        H = min(n / rate, H_work)
    raise AssertionError("unreachable: the last round returns or raises")  # pragma: no cover


def _prepare(
    scenario: Any,
    num_requests: Any,
    warmup: Any,
    seed: Any,
    engine: Any,
    batches: Any,
    horizon: Any,
    max_events: Any,
) -> tuple[CompiledScenario, float]:
    """Validate the arguments of a run, compile the scenario and check the first horizon."""
    if not isinstance(scenario, Scenario):
        raise ScenarioError(f"scenario must be a datagen.Scenario, got {type(scenario).__name__}")
    scenario.validate()
    if horizon is None:
        n = finite_float(num_requests)
        if n is None or n < 1:
            raise ValueError(
                f"num_requests must be a finite number >= 1 (arrivals of the slowest service), "
                f"got {show_value(num_requests)}"
            )
    else:
        h = finite_float(horizon)
        if h is None or h <= 0:
            raise ValueError(f"horizon must be a finite number > 0 s, got {show_value(horizon)}")
    w = finite_float(warmup)
    if w is None or not 0 <= w < 1:
        raise ValueError(
            f"warmup must be a finite fraction of the horizon in [0, 1), got {show_value(warmup)}"
        )
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if not is_int(batches) or not 2 <= int(batches) <= MAX_BATCHES:
        raise ValueError(
            f"batches must be an integer in [2, {MAX_BATCHES}], got {show_value(batches)}"
        )
    if not (is_int(seed) or isinstance(seed, np.random.SeedSequence)):
        raise ValueError(f"seed must be an int or a numpy.random.SeedSequence, got {seed!r}")
    if is_int(seed) and seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed!r}")
    if not _is_positive(max_events):
        raise ValueError(f"max_events must be a number > 0, got {max_events!r}")
    compiled = compile_scenario(scenario)
    H = float(horizon) if horizon is not None else float(num_requests) / float(compiled.rates.min())
    if not math.isfinite(H):
        slow = int(np.argmin(compiled.rates))
        raise SimulationLimitError(
            f"the horizon num_requests / arrival_rate of the slowest service "
            f"{compiled.service_names[slow]!r} = {float(num_requests):.6g} / "
            f"{float(compiled.rates[slow])!r} overflows to inf s; raise that arrival_rate"
        )
    check_work(compiled, H, max_events)
    return compiled, H


def _is_positive(value: Any) -> bool:
    """Whether ``value`` is a real number > 0 (numpy scalars too; inf included, NaN not)."""
    if not is_real(value):
        return False
    try:
        return float(value) > 0
    except OverflowError:  # an int beyond the float range
        return is_int(value) and int(value) > 0


def _within_limits(compiled: CompiledScenario, H: float, max_events: float) -> bool:
    try:
        check_work(compiled, H, max_events)
    except SimulationLimitError:
        return False
    return True


def _longest_horizon(compiled: CompiledScenario, H: float, max_events: float) -> float:
    """The longest horizon within the work limits, ``H`` being within them (work grows with H)."""
    lo, hi = H, 2.0 * H
    while _within_limits(compiled, hi, max_events):
        lo, hi = hi, 2.0 * hi
        if math.isinf(hi):
            return lo
    for _ in range(60):  # bisection, to about 1e-18 relative
        mid = 0.5 * (lo + hi)
        if _within_limits(compiled, mid, max_events):
            lo = mid
        else:
            hi = mid
    return lo


class _Continuation:
    """One random stream and one fast event loop, continued from round to round."""

    def __init__(self, compiled: CompiledScenario, seed: int | np.random.SeedSequence) -> None:
        from datagen.sim.engine_fast import FastRun

        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.stream = VariateStream(compiled, ss)
        self.engine = FastRun(compiled)

    def extend(self, H: float, last: bool) -> tuple[Variates, RawRecords]:
        """The variates and records of the run of horizon ``H`` (at least the previous one)."""
        variates = self.stream.extend(H)
        return variates, self.engine.extend(variates, last=last)


def _simulate_records(
    compiled: CompiledScenario,
    H: float,
    seed: int | np.random.SeedSequence,
    engine: str,
    legacy_streams: bool = False,
) -> tuple[Variates, RawRecords]:
    """Draw the variates of one run and run an engine on them."""
    variates = draw_variates(compiled, H, seed, legacy=legacy_streams)
    raw: RawRecords
    if engine == "fast":
        from datagen.sim.engine_fast import run_fast

        raw = run_fast(compiled, variates)
    else:
        from datagen.sim.engine_simpy import run_simpy

        raw = run_simpy(compiled, variates)
    return variates, raw


def _services(
    compiled: CompiledScenario,
    variates: Variates,
    raw: RawRecords,
    H: float,
    warmup: float,
    batches: int,
) -> pd.DataFrame:
    """The per-service metrics of one run (raises NoCompletionError)."""
    return service_metrics(compiled, variates, raw, float(warmup) * H, int(batches))


def _result(
    compiled: CompiledScenario,
    variates: Variates,
    raw: RawRecords,
    services: pd.DataFrame,
    H: float,
    warmup: float,
    seed: int | np.random.SeedSequence,
    engine: str,
    keep_records: bool,
) -> SimResult:
    """The :class:`SimResult` of one run whose service metrics are computed."""
    w = float(warmup) * H
    devices, links = station_metrics(compiled, variates, raw, w)
    return SimResult(
        services=services,
        devices=devices,
        links=links,
        horizon=H,
        warmup_time=w,
        seed=seed if isinstance(seed, (int, np.integer)) else None,
        num_events=raw.num_events,
        engine=engine,
        records=records_frame(compiled, variates, raw) if keep_records else None,
        raw=raw if keep_records else None,
    )


def _run(
    compiled: CompiledScenario,
    H: float,
    warmup: float,
    seed: int | np.random.SeedSequence,
    engine: str,
    batches: int,
    keep_records: bool,
    legacy_streams: bool = False,
) -> SimResult:
    # legacy_streams: the variate builder of earlier versions, for benchmarks only.
    if engine == "fast" and not keep_records and not legacy_streams and is_tandem(compiled):
        # No records needed: the tandem kernel sums the metrics as it goes (same values).
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        w = float(warmup) * H
        counts, lat_sum, pct, bat, acc, n_events = tandem_sums(compiled, H, ss, w, batches)
        devices, links = station_tables(compiled, H, w, acc)
        return SimResult(
            services=service_table(compiled, H, w, counts, lat_sum, pct, bat),
            devices=devices,
            links=links,
            horizon=H,
            warmup_time=w,
            seed=seed if isinstance(seed, (int, np.integer)) else None,
            num_events=n_events,
            engine=engine,
        )
    variates, raw = _simulate_records(compiled, H, seed, engine, legacy_streams)
    services = _services(compiled, variates, raw, H, warmup, batches)
    return _result(compiled, variates, raw, services, H, warmup, seed, engine, keep_records)
