"""The predictor contract: what the placer, the search methods and the evaluators call.

A *predictor* maps a batch of :class:`~datagen.world.Scenario` to one tidy table with one row
per (scenario, service). :class:`chainnet.AnalyticSurrogate`, :class:`chainnet.Surrogate` and
:class:`placement.search.SimulationPredictor` all satisfy :class:`Predictor`; so does any
object of yours with a ``predict`` method of the same shape (structural typing, like
``typing.Protocol`` everywhere). The columns and their units:

========================  ===================================================================
``scenario``              index of the scenario in the batch (int)
``service``               service name (str)
``throughput``            served requests per second (1/s)
``loss_ratio``            share of the arrivals that are dropped, in [0, 1]
``latency_mean``          mean response time of a served request (s)
``latency_p95``           95th-percentile response time (s)
``tput_ratio``            throughput / arrival rate, in [0, 1]
``respt_ratio``           no-queue latency / mean response time, in (0, 1]
========================  ===================================================================

A predictor that knows how sure it is adds ``uncertainty`` (loss-ratio units),
``out_of_range`` and ``uncertain`` (:data:`UNCERTAINTY_COLUMNS`); callers check for the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from datagen.world import Scenario

__all__ = ["PREDICT_COLUMNS", "UNCERTAINTY_COLUMNS", "Predictor"]

#: Columns of every predictor's table, in order (units in the module docstring).
PREDICT_COLUMNS: tuple[str, ...] = (
    "scenario",
    "service",
    "throughput",
    "loss_ratio",
    "latency_mean",
    "latency_p95",
    "tput_ratio",
    "respt_ratio",
)

#: Optional columns of a predictor that estimates its own error.
UNCERTAINTY_COLUMNS: tuple[str, ...] = ("uncertainty", "out_of_range", "uncertain")


@runtime_checkable
class Predictor(Protocol):
    """Anything that predicts per-service metrics of a batch of scenarios."""

    def predict(self, scenarios: Sequence[Scenario]) -> pd.DataFrame:  # pragma: no cover
        """One row per (scenario, service) with at least :data:`PREDICT_COLUMNS`."""
        ...
