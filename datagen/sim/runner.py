"""``simulate``: validate, draw the variates, run an engine, compute metrics from records."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from datagen.sim.compiled import CompiledScenario, compile_scenario
from datagen.sim.metrics import service_metrics, station_metrics
from datagen.sim.records import RawRecords, records_frame
from datagen.sim.result import SimResult
from datagen.sim.variates import draw_variates
from datagen.world import Scenario, ScenarioError

__all__ = ["simulate", "ENGINES"]

ENGINES: tuple[str, ...] = ("fast", "simpy")


def _check_inputs(
    scenario: Any,
    num_requests: Any,
    warmup: Any,
    seed: Any,
    engine: Any,
    batches: Any,
    horizon: Any,
) -> None:
    if not isinstance(scenario, Scenario):
        raise ScenarioError(f"scenario must be a datagen.Scenario, got {type(scenario).__name__}")
    scenario.validate()
    if horizon is None:
        if isinstance(num_requests, bool) or not isinstance(num_requests, (int, float, np.integer)):
            raise ValueError(f"num_requests must be a positive number, got {num_requests!r}")
        if not math.isfinite(num_requests) or num_requests < 1:
            raise ValueError(
                f"num_requests must be a finite number >= 1 (arrivals of the slowest service), "
                f"got {num_requests!r}"
            )
    else:
        if isinstance(horizon, bool) or not isinstance(horizon, (int, float, np.floating)):
            raise ValueError(f"horizon must be a number of seconds, got {horizon!r}")
        if not math.isfinite(horizon) or horizon <= 0:
            raise ValueError(f"horizon must be a finite number > 0 s, got {horizon!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, (int, float, np.floating)):
        raise ValueError(f"warmup must be a fraction in [0, 1), got {warmup!r}")
    if not math.isfinite(warmup) or not 0 <= warmup < 1:
        raise ValueError(
            f"warmup must be a finite fraction of the horizon in [0, 1), got {warmup!r}"
        )
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if isinstance(batches, bool) or not isinstance(batches, (int, np.integer)) or batches < 2:
        raise ValueError(f"batches must be an integer >= 2, got {batches!r}")
    if not isinstance(seed, (int, np.integer, np.random.SeedSequence)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int or a numpy.random.SeedSequence, got {seed!r}")
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed!r}")


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
        target_rel_ci: Sequential stopping: if set, rerun with a longer horizon (same seed, so
            the sample path is extended) until every service's ``throughput_ci /
            throughput`` and ``latency_mean_ci / latency_mean`` are at most this value, or
            ``max_requests`` is reached (default: ``None`` = one run).
        max_requests: Cap on ``num_requests`` for sequential stopping (default: ``2_000_000``).

    Returns:
        A :class:`~datagen.sim.result.SimResult`.

    Raises:
        ScenarioError: If ``scenario`` is invalid (before anything is simulated).
        ValueError: On a bad ``num_requests``, ``warmup``, ``seed``, ``engine``, ``batches`` or
            ``horizon``, or when a service completes no request in the measurement window.
    """
    _check_inputs(scenario, num_requests, warmup, seed, engine, batches, horizon)
    compiled = compile_scenario(scenario)
    H = float(horizon) if horizon is not None else float(num_requests) / float(compiled.rates.min())
    if target_rel_ci is None:
        return _run(compiled, H, warmup, seed, engine, batches, keep_records)
    if not (isinstance(target_rel_ci, (int, float)) and 0 < target_rel_ci < math.inf):
        raise ValueError(f"target_rel_ci must be a number > 0, got {target_rel_ci!r}")
    H_max = float(max_requests) / float(compiled.rates.min())
    while True:
        res = _run(compiled, H, warmup, seed, engine, batches, keep_records)
        svc = res.services
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.concatenate(
                [
                    (svc.throughput_ci / svc.throughput).to_numpy(),
                    (svc.latency_mean_ci / svc.latency_mean).to_numpy(),
                ]
            )
        worst = float(np.nanmax(np.where(np.isfinite(rel), rel, np.inf), initial=0.0))
        if worst <= target_rel_ci or H >= H_max:
            return res
        # Half-widths shrink like 1/sqrt(length): aim a little beyond the target.
        H = min(H_max, H * max(2.0, 1.2 * (worst / target_rel_ci) ** 2))


def _run(
    compiled: CompiledScenario,
    H: float,
    warmup: float,
    seed: int | np.random.SeedSequence,
    engine: str,
    batches: int,
    keep_records: bool,
) -> SimResult:
    variates = draw_variates(compiled, H, seed)
    raw: RawRecords
    if engine == "fast":
        from datagen.sim.engine_fast import run_fast

        raw = run_fast(compiled, variates)
    else:
        from datagen.sim.engine_simpy import run_simpy

        raw = run_simpy(compiled, variates)
    w = float(warmup) * H
    services = service_metrics(compiled, variates, raw, w, int(batches))
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
