"""Placement search methods: local search with restarts (default), annealing, exhaustive.

Every method takes a candidate space, a predictor (anything with
``predict(list_of_scenarios) -> DataFrame``, the simulator included through
:class:`SimulationPredictor`), an objective, an ``rng`` and a budget, and scores candidates
in batches.
"""

from placement.search.annealing import SimulatedAnnealing
from placement.search.base import (
    Evaluator,
    Predictor,
    SearchBudget,
    SearchMethod,
    SearchResult,
    SearchStats,
)
from placement.search.exhaustive import ExhaustiveSearch
from placement.search.local import LocalSearch
from placement.search.moves import neighbours, random_neighbour
from placement.search.simulation import (
    PREDICTION_COLUMNS,
    SimulationPredictor,
    all_lost,
    capped_horizon,
    simulated_score,
)

__all__ = [
    "PREDICTION_COLUMNS",
    "SEARCHES",
    "Evaluator",
    "ExhaustiveSearch",
    "LocalSearch",
    "Predictor",
    "SearchBudget",
    "SearchMethod",
    "SearchResult",
    "SearchStats",
    "SimulatedAnnealing",
    "SimulationPredictor",
    "all_lost",
    "capped_horizon",
    "make_search",
    "neighbours",
    "random_neighbour",
    "simulated_score",
]

#: Search methods by name, for :func:`make_search`.
SEARCHES: dict[str, type[SearchMethod]] = {
    "local": LocalSearch,
    "annealing": SimulatedAnnealing,
    "exhaustive": ExhaustiveSearch,
}


def make_search(name: str, **kwargs: object) -> SearchMethod:
    """Build a search method by name (``"local"``, ``"annealing"``, ``"exhaustive"``).

    Raises:
        ValueError: On an unknown name.
    """
    if name not in SEARCHES:
        raise ValueError(f"unknown search {name!r}; choose one of {sorted(SEARCHES)}")
    return SEARCHES[name](**kwargs)  # type: ignore[arg-type]

