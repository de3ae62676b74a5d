"""What every search method shares: a budget, a batched evaluator and the result.

Search is decoupled from its evaluator (STYLE rule 21): a method only sees an
:class:`Evaluator`, which turns a batch of assignments into scenarios, calls the predictor
*once per batch* (``predictor.predict(list_of_scenarios)``), scores them with the objective
and keeps the statistics. Any object with that ``predict`` method works: the ChainNet
surrogate, the analytic surrogate or the simulator itself
(:class:`~placement.search.simulation.SimulationPredictor`).
"""

from __future__ import annotations

import math
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from chainnet.predictor import Predictor
from placement.candidates import CandidateSpace
from placement.objective import Objective

__all__ = [
    "Predictor",
    "SearchBudget",
    "SearchStats",
    "SearchResult",
    "Evaluator",
    "SearchMethod",
]


@dataclass(frozen=True)
class SearchBudget:
    """How much a search may spend: evaluations and/or wall-clock seconds.

    Args:
        max_evaluations: Most candidates sent to the predictor (default: ``None`` = no
            limit).
        max_seconds: Most wall-clock seconds (default: ``None`` = no limit).
    """

    max_evaluations: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_evaluations is not None and (
            isinstance(self.max_evaluations, bool)
            or not isinstance(self.max_evaluations, int)
            or self.max_evaluations < 1
        ):
            raise ValueError(
                f"max_evaluations must be an integer >= 1 or None, got {self.max_evaluations!r}"
            )
        if self.max_seconds is not None and not (
            isinstance(self.max_seconds, (int, float)) and self.max_seconds > 0
        ):
            raise ValueError(f"max_seconds must be > 0 s or None, got {self.max_seconds!r}")


@dataclass
class SearchStats:
    """Statistics of one search.

    Attributes:
        evaluations: Distinct candidates scored by the predictor.
        predictor_calls: Calls of ``predictor.predict`` (one per batch).
        cache_hits: Candidates answered from the cache.
        infeasible_skipped: Memory-infeasible candidates rejected without prediction.
        wall_time: Seconds spent in the search.
        predict_time: Seconds spent inside ``predictor.predict``.
        iterations: Method-specific iteration count (moves, generations, chunks).
    """

    evaluations: int = 0
    predictor_calls: int = 0
    cache_hits: int = 0
    infeasible_skipped: int = 0
    wall_time: float = 0.0
    predict_time: float = 0.0
    iterations: int = 0

    def as_dict(self) -> dict[str, float]:
        """The statistics as a plain dict."""
        return dict(self.__dict__)


@dataclass
class SearchResult:
    """The best candidates found by a search, best first.

    Attributes:
        assignments: Assignments of the best distinct candidates, shape ``(k, F)``.
        values: Their objective values, shape ``(k,)`` (ascending).
        stats: Search statistics.
    """

    assignments: np.ndarray
    values: np.ndarray
    stats: SearchStats = field(default_factory=SearchStats)

    @property
    def best(self) -> np.ndarray:
        """The best assignment, shape ``(F,)``."""
        return self.assignments[0]

    @property
    def best_value(self) -> float:
        """The objective of the best assignment."""
        return float(self.values[0])


class _Candidates(Sequence[Any]):
    """Candidates as scenario stand-ins for the objective; a Scenario only when asked for.

    Item ``i`` shares the services and devices of the space (all an objective of lost
    requests and SLA misses reads); any other attribute (e.g. ``placement`` for the energy
    term) builds the candidate's :class:`~datagen.world.Scenario` on first use.
    """

    def __init__(self, space: CandidateSpace, assignments: np.ndarray) -> None:
        self.space = space
        self.assignments = assignments
        self.services = space.services + tuple(r.service for r in space.running)

    def __len__(self) -> int:
        return int(self.assignments.shape[0])

    @overload
    def __getitem__(self, i: int) -> Any: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Any]: ...

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return _LazyScenario(self, int(i))


class _LazyScenario:
    """One candidate: ``services`` and ``devices`` at once, the rest from its Scenario."""

    def __init__(self, owner: _Candidates, index: int) -> None:
        self.services = owner.services
        self.devices = owner.space.devices
        self._owner = owner
        self._index = index

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        owner = self._owner
        scenario = owner.space.to_scenario(owner.assignments[self._index])
        return getattr(scenario, name)


def _ranking_options(predictor: Any) -> dict[str, Any]:
    """Keywords for ``predict_arrays`` of a search that ranks on the predictions alone.

    The :class:`chainnet.Surrogate` can skip the analytic solve of its ``uncertainty``
    (``analytic=False``) and its ensemble's critic members (``critics=False``), which change
    the uncertainty only; other array predictors take no such keyword.
    """
    # not imported here: a Surrogate exists only once its module (and torch) is loaded
    surrogate = sys.modules.get("chainnet.surrogate")
    if surrogate is not None and isinstance(predictor, surrogate.Surrogate):
        return {"analytic": False, "critics": False}
    return {}


class Evaluator:
    """Scores batches of assignments with one predictor call per batch, within a budget.

    A predictor with ``predict_arrays(arrays, service_names)`` (the ChainNet surrogate) is
    fed flat arrays built from the assignments (:meth:`CandidateSpace.arrays`), without a
    Scenario per candidate; any other predictor gets scenarios.

    Args:
        space: The candidate space (assignment -> scenario, memory checks).
        predictor: Object with ``predict(list_of_scenarios) -> DataFrame``.
        objective: The cost to minimise (default: ``Objective()``).
        budget: The budget; :meth:`exhausted` turns true once it is spent (default:
            unlimited).
        batch_size: Largest batch sent to the predictor in one call (default: ``2048``).
    """

    #: Default of :attr:`array_path` for new evaluators.
    array_path: bool = True

    def __init__(
        self,
        space: CandidateSpace,
        predictor: Predictor,
        objective: Objective | None = None,
        budget: SearchBudget | None = None,
        batch_size: int = 2048,
    ) -> None:
        if not hasattr(predictor, "predict"):
            raise ValueError(
                f"predictor must have a predict(scenarios) method, got {type(predictor).__name__}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.space = space
        self.predictor = predictor
        self.objective = objective if objective is not None else Objective()
        self.budget = budget if budget is not None else SearchBudget()
        self.batch_size = int(batch_size)
        self.stats = SearchStats()
        self._cache: dict[bytes, float] = {}
        self._start = time.perf_counter()
        #: Score through ``predictor.predict_arrays`` when it has one (``False``: always
        #: build a Scenario per candidate, the reference path kept for benchmarks).
        self.array_path = Evaluator.array_path

    # -- budget ------------------------------------------------------------------------------

    def elapsed(self) -> float:
        """Seconds since the evaluator was created."""
        return time.perf_counter() - self._start

    def remaining_evaluations(self) -> float:
        """Evaluations left (``inf`` without a limit)."""
        if self.budget.max_evaluations is None:
            return math.inf
        return max(0, self.budget.max_evaluations - self.stats.evaluations)

    def exhausted(self) -> bool:
        """Whether the evaluation or time budget is spent."""
        if self.remaining_evaluations() <= 0:
            return True
        return self.budget.max_seconds is not None and self.elapsed() >= self.budget.max_seconds

    # -- scoring -------------------------------------------------------------------------------

    def evaluate(self, assignments: np.ndarray) -> np.ndarray:
        """Score a batch of assignments.

        Infeasible assignments score ``inf`` without a prediction; cached ones are not
        predicted again; once the budget is spent, unscored candidates score ``inf``.

        Args:
            assignments: Shape ``(n, F)`` (or ``(F,)`` for one).

        Returns:
            Objective values, shape ``(n,)``.
        """
        a = np.atleast_2d(np.asarray(assignments, dtype=np.int64))
        n = a.shape[0]
        out = np.full(n, math.inf)
        if n == 0:
            return out
        feas = self.space.feasible_batch(a)
        self.stats.infeasible_skipped += int((~feas).sum())
        todo: dict[bytes, list[int]] = {}
        for i in np.flatnonzero(feas):
            k = a[i].tobytes()
            if k in self._cache:
                out[i] = self._cache[k]
                self.stats.cache_hits += 1
            else:
                todo.setdefault(k, []).append(int(i))
        keys = list(todo)
        left = self.remaining_evaluations()
        if left < len(keys):
            keys = keys[: int(left)]
        start = 0
        while start < len(keys):
            size = self._chunk_size()
            if size == 0:
                break
            chunk = keys[start : start + size]
            start += size
            values = self._predict([a[todo[k][0]] for k in chunk])
            for k, v in zip(chunk, values):
                self._cache[k] = float(v)
                out[todo[k]] = v
        return out

    def _chunk_size(self) -> int:
        """Candidates to predict next: the batch size, shrunk to fit the time left.

        With a time budget and a slow predictor (the simulator: milliseconds per candidate)
        one full batch could overrun the budget many times over, so the chunk is sized from
        the measured time per candidate (at least one candidate while time is left).
        """
        if self.budget.max_seconds is None:
            return self.batch_size
        left = self.budget.max_seconds - self.elapsed()
        if left <= 0:
            return 0
        if self.stats.evaluations == 0:
            return min(self.batch_size, 8)
        per = self.stats.predict_time / self.stats.evaluations
        return int(max(1, min(self.batch_size, left / max(per, 1e-9))))

    def _predict(self, assignments: list[np.ndarray]) -> np.ndarray:
        predict_arrays = getattr(self.predictor, "predict_arrays", None)
        if self.array_path and predict_arrays is not None:
            # assignments -> flat arrays -> graph tensors: no Scenario per candidate
            batch = np.stack(assignments)
            t0 = time.perf_counter()
            frame = predict_arrays(*self.space.arrays(batch), **_ranking_options(self.predictor))
            scenarios: Sequence[Any] = _Candidates(self.space, batch)
        else:
            scenarios = [self.space.to_scenario(x) for x in assignments]
            t0 = time.perf_counter()
            frame = self.predictor.predict(scenarios)
        self.stats.predict_time += time.perf_counter() - t0
        self.stats.predictor_calls += 1
        self.stats.evaluations += len(scenarios)
        values = np.asarray(self.objective(scenarios, frame), dtype=float)
        return np.nan_to_num(values, nan=math.inf)

    def top(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best distinct candidates scored so far: ``(assignments (k, F), values)``."""
        if not self._cache:
            return np.empty((0, self.space.num_fragments), dtype=np.int64), np.empty(0)
        items = sorted(self._cache.items(), key=lambda kv: kv[1])[:k]
        arr = np.stack([np.frombuffer(key, dtype=np.int64) for key, _ in items])
        return arr, np.array([v for _, v in items])

    def result(self, k: int, iterations: int = 0) -> SearchResult:
        """Package the ``k`` best candidates and the statistics into a :class:`SearchResult`."""
        self.stats.wall_time = self.elapsed()
        self.stats.iterations = iterations
        arr, vals = self.top(k)
        return SearchResult(assignments=arr, values=vals, stats=self.stats)


class SearchMethod(ABC):
    """A placement search: takes an evaluator, an ``rng`` and returns the best candidates.

    Subclasses implement :meth:`_run`; :meth:`search` sets up the evaluator and budget.

    Args:
        max_evaluations: Default evaluation budget (default: ``None``).
        max_seconds: Default time budget (s) (default: ``None``).
    """

    name: str = "search"

    def __init__(self, max_evaluations: int | None = None, max_seconds: float | None = None):
        self.budget = SearchBudget(max_evaluations, max_seconds)

    def search(
        self,
        space: CandidateSpace,
        predictor: Predictor,
        objective: Objective | None = None,
        *,
        rng: np.random.Generator,
        budget: SearchBudget | None = None,
        top_k: int = 5,
        initial: list[np.ndarray] | None = None,
    ) -> SearchResult:
        """Search the placements of ``space`` for the lowest objective.

        Args:
            space: The candidate space.
            predictor: Object with ``predict(list_of_scenarios) -> DataFrame``.
            objective: The cost (default: ``Objective()``).
            rng: Random generator (all randomness of the search comes from it).
            budget: Overrides the method's default budget (default: ``None``).
            top_k: Number of best distinct candidates to return (default: ``5``).
            initial: Assignments to start from (default: ``None`` = the method's own).

        Returns:
            The best candidates (all memory-feasible) and the statistics.

        Raises:
            ValueError: If ``rng`` is not a ``numpy.random.Generator``.
        """
        if not isinstance(rng, np.random.Generator):
            raise ValueError(
                f"rng must be a numpy.random.Generator, got {type(rng).__name__}; use "
                "numpy.random.default_rng(seed)"
            )
        ev = Evaluator(space, predictor, objective, budget or self.budget)
        iterations = self._run(ev, rng, list(initial or []))
        if not ev._cache:
            # The budget ran out before anything was scored: score one feasible start.
            ev.budget = SearchBudget()
            ev.evaluate(space.greedy_assignment()[None, :])
        return ev.result(top_k, iterations)

    @abstractmethod
    def _run(self, ev: Evaluator, rng: np.random.Generator, initial: list[np.ndarray]) -> int:
        """Run the search on ``ev``; return the iteration count."""

    def __repr__(self) -> str:
        b = self.budget
        return (
            f"{type(self).__name__}(max_evaluations={b.max_evaluations}, "
            f"max_seconds={b.max_seconds})"
        )
