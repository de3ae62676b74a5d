"""The discrete-event simulator: the ground truth of the project.

``simulate(scenario, ...)`` runs one of two engines with one contract (DESIGN.md section 4):
``"fast"`` (a numba event loop, the default) and ``"simpy"`` (the readable reference). Both
replay the same pre-drawn variates and return identical results for the same seed. A run
whose expected work exceeds :data:`MAX_EVENTS` events or :data:`MAX_MMPP_SOJOURNS` MMPP state
changes is refused with a :class:`SimulationLimitError` before anything is drawn.
"""

from datagen.sim import distributions
from datagen.sim.distributions import (  # noqa: F401 (exported through distributions.__all__)
    MAX_MMPP_SOJOURNS,
    ArrivalProcess,
    Deterministic,
    Exponential,
    Gamma,
    MMPP2Arrivals,
    PoissonArrivals,
    ServiceFactor,
    service_factor,
)
from datagen.sim.metrics import SERVICE_COLUMNS, STATION_COLUMNS, NoCompletionError
from datagen.sim.records import JobRecord
from datagen.sim.result import SimResult
from datagen.sim.runner import ENGINES, MAX_EVENTS, SimulationLimitError, simulate

__all__ = [
    "simulate",
    "SimResult",
    "JobRecord",
    "ENGINES",
    "MAX_EVENTS",
    "SimulationLimitError",
    "NoCompletionError",
    "SERVICE_COLUMNS",
    "STATION_COLUMNS",
    *distributions.__all__,
]
