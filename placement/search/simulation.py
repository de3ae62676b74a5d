"""The simulator behind the predictor interface, so any search can be driven by simulation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from chainnet.predictor import PREDICT_COLUMNS
from datagen.sim import NoCompletionError, simulate
from datagen.validation import is_int
from datagen.world import Scenario
from placement.objective import Objective, metrics_frame

__all__ = [
    "SimulationPredictor",
    "PREDICTION_COLUMNS",
    "all_lost",
    "capped_horizon",
    "simulated_score",
]

#: Columns of every predictor's output, after ``scenario`` and ``service``.
PREDICTION_COLUMNS: tuple[str, ...] = tuple(
    c for c in PREDICT_COLUMNS if c not in ("scenario", "service")
)


def capped_horizon(scenario: Scenario, num_requests: int, min_requests: int = 200) -> float:
    r"""A simulation horizon (s) that bounds the total work when arrival rates differ a lot.

    :func:`datagen.sim.simulate` gives the *slowest* service ``num_requests`` arrivals, so a
    scenario whose rates differ by 100x simulates 100x more requests of the fast ones. This
    horizon caps the total number of arrivals at ``num_requests`` times the number of
    services, while the slowest service still gets at least ``min_requests``:

    .. math::
        H = \min\Big(\frac{n}{\lambda_{min}},\;
            \max\Big(\frac{n_{min}}{\lambda_{min}}, \frac{n\,S}{\sum_c \lambda_c}\Big)\Big)

    Args:
        scenario: The scenario.
        num_requests: Requests per service, ``n``.
        min_requests: Least arrivals of the slowest service, ``n_min`` (default: ``200``).

    Returns:
        The horizon (s).
    """
    rates = [s.arrival_rate for s in scenario.services]
    lo = min(rates)
    cap = num_requests * len(rates) / sum(rates)
    return min(num_requests / lo, max(min(min_requests, num_requests) / lo, cap))


def all_lost(scenario: Scenario) -> pd.DataFrame:
    """A ``SimResult.services``-like table where every request of every service is lost.

    Used when the simulator completes no request of some service in its measurement window
    (it raises then): the candidate is scored as losing everything.
    """
    names = [s.name for s in scenario.services]
    return pd.DataFrame(
        {
            "arrival_rate": [s.arrival_rate for s in scenario.services],
            "throughput": 0.0,
            "loss_ratio": 1.0,
            "latency_mean": math.nan,
            "latency_p95": math.nan,
            "tput_ratio": 0.0,
            "respt_ratio": math.nan,
        },
        index=pd.Index(names, name="service"),
    )


def simulated_score(
    scenario: Scenario, objective: Objective, num_requests: int = 20_000, seed: Any = 0
) -> tuple[float, float]:
    """Score one placement by an independent simulation, never by a predictor.

    Args:
        scenario: The placed scenario.
        objective: The objective to evaluate.
        num_requests: Requests of the slowest service (default: ``20_000``).
        seed: Seed of the simulation (anything :func:`datagen.simulate` accepts).

    Returns:
        ``(objective value, total lost requests per second)``; a run that completes no
        request of some service counts as losing everything (:func:`all_lost`).
    """
    try:
        table = simulate(scenario, num_requests=num_requests, seed=seed).services
    except ValueError:
        table = all_lost(scenario)
    obj = float(objective([scenario], metrics_frame([table]))[0])
    rates = np.array([scenario.service(s).arrival_rate for s in table.index])
    return obj, float(np.sum(rates * table["loss_ratio"].to_numpy()))


class SimulationPredictor:
    """Predict by simulating each scenario with :func:`datagen.sim.simulate`.

    Slow but exact up to simulation noise: the reference evaluator of the search benchmarks
    (the "search driven by the simulator" of issue 7 item 6b). Every scenario is simulated
    with the same seed (common random numbers), so candidates are compared on equal terms.

    Args:
        num_requests: Requests simulated per scenario (default: ``5_000``).
        seed: Simulation seed (default: ``0``).
        warmup: Fraction of requests discarded as warm-up (default: ``0.1``).
        cap_horizon: Bound the total simulated requests with :func:`capped_horizon`
            (default: ``True``).
        **sim_kwargs: Further keyword arguments of ``simulate`` (e.g. ``engine="simpy"``).

    Attributes:
        calls: Number of ``predict`` calls so far.
        simulations: Number of scenarios simulated so far.
    """

    def __init__(
        self,
        num_requests: int = 5_000,
        seed: int = 0,
        warmup: float = 0.1,
        cap_horizon: bool = True,
        **sim_kwargs: Any,
    ) -> None:
        if not is_int(num_requests) or num_requests < 1:
            raise ValueError(f"num_requests must be an integer >= 1, got {num_requests!r}")
        if not 0 <= warmup < 1:
            raise ValueError(f"warmup must be in [0, 1), got {warmup!r}")
        self.num_requests = int(num_requests)
        self.seed = seed
        self.warmup = warmup
        self.cap_horizon = bool(cap_horizon)
        self.sim_kwargs = sim_kwargs
        self.calls = 0
        self.simulations = 0

    def simulate_services(self, scenario: Scenario) -> pd.DataFrame:
        """``SimResult.services`` of one scenario (indexed by service name).

        A run that completes no request of some service (everything lost or stuck behind a
        very slow device) gives :func:`all_lost` instead of raising.
        """
        kwargs = dict(self.sim_kwargs)
        if self.cap_horizon and "horizon" not in kwargs:
            kwargs["horizon"] = capped_horizon(scenario, self.num_requests)
        self.simulations += 1
        try:
            res = simulate(
                scenario,
                num_requests=self.num_requests,
                warmup=self.warmup,
                seed=self.seed,
                **kwargs,
            )
        except NoCompletionError:
            return all_lost(scenario)
        return res.services

    def predict(self, scenarios: Sequence[Scenario]) -> pd.DataFrame:
        """Simulate every scenario.

        Args:
            scenarios: The scenarios.

        Returns:
            One row per (scenario index, service) with columns ``scenario``, ``service`` and
            :data:`PREDICTION_COLUMNS` (plus the simulator's other columns).
        """
        self.calls += 1
        frame = metrics_frame([self.simulate_services(sc) for sc in scenarios])
        for col in PREDICTION_COLUMNS:
            if col not in frame.columns:
                frame[col] = float("nan")
        return frame

    def __repr__(self) -> str:
        return f"SimulationPredictor(num_requests={self.num_requests}, seed={self.seed})"
