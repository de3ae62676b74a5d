"""placement: split types from a bandit, placements from a surrogate-guided search, simulated.

The entry point is :class:`Placer`: ``Placer().place(PlacementRequest(...)) -> Decision``.
Split policies live in :mod:`placement.policies`, search methods in :mod:`placement.search`,
baselines in :mod:`placement.baselines`, and the online SplitPlace loop is
:class:`OnlineExperiment`. The command line is ``python -m placement`` (:mod:`placement.cli`).

The names below are imported on first use (PEP 562), so ``python -m placement --help`` does
not pay for torch, the simulator and the search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datagen.lazy import lazy_exports

if TYPE_CHECKING:
    from placement import policies, search
    from placement.candidates import (
        CandidateSpace,
        InfeasibleRequestError,
        build_service,
        check_fit,
    )
    from placement.decision import Decision, PlacementMethod
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

# public name -> module that defines it
_WHERE = {
    "OBJECTIVE_TERMS": "placement.objective",
    "CandidateSpace": "placement.candidates",
    "Decision": "placement.decision",
    "PlacementMethod": "placement.decision",
    "ExhaustiveSearch": "placement.search",
    "InfeasibleRequestError": "placement.candidates",
    "LocalSearch": "placement.search",
    "Objective": "placement.objective",
    "OnlineExperiment": "placement.online",
    "PlacementRequest": "placement.request",
    "Placer": "placement.placer",
    "RequestError": "placement.request",
    "RunningService": "placement.request",
    "SearchBudget": "placement.search",
    "ServiceRequest": "placement.request",
    "SimulatedAnnealing": "placement.search",
    "SimulationPredictor": "placement.search",
    "build_service": "placement.candidates",
    "check_fit": "placement.candidates",
    "default_predictor": "placement.placer",
    "metrics_frame": "placement.objective",
}
_SUBMODULES = ("policies", "search")

__all__ = [
    "OBJECTIVE_TERMS",
    "CandidateSpace",
    "Decision",
    "PlacementMethod",
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


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, submodules=_SUBMODULES, cache=True)
