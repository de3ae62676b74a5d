"""placement: split types from a bandit, placements from a surrogate-guided search, simulated.

The entry point is :class:`Placer`: ``Placer().place(PlacementRequest(...)) -> Decision``.
Split policies live in :mod:`placement.policies`, search methods in :mod:`placement.search`,
baselines in :mod:`placement.baselines`, and the online SplitPlace loop is
:class:`OnlineExperiment`.
"""

from placement import policies, search
from placement.candidates import CandidateSpace, InfeasibleRequestError, build_service, check_fit
from placement.decision import Decision
from placement.objective import OBJECTIVE_TERMS, Objective, metrics_frame
from placement.online import OnlineExperiment
from placement.placer import Placer, default_predictor
from placement.request import PlacementRequest, RequestError, RunningService, ServiceRequest
from placement.search import (
    ExhaustiveSearch,
    LocalSearch,
    SearchBudget,
    SimulatedAnnealing,
    SimulationPredictor,
)

__all__ = [
    "OBJECTIVE_TERMS",
    "CandidateSpace",
    "Decision",
    "ExhaustiveSearch",
    "InfeasibleRequestError",
    "LocalSearch",
    "Objective",
    "OnlineExperiment",
    "PlacementRequest",
    "Placer",
    "RequestError",
    "RunningService",
    "SearchBudget",
    "ServiceRequest",
    "SimulatedAnnealing",
    "SimulationPredictor",
    "build_service",
    "check_fit",
    "default_predictor",
    "metrics_frame",
    "policies",
    "search",
]
