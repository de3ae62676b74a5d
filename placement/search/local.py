"""Local search with restarts: batched steepest descents (the default search)."""

from __future__ import annotations

import numpy as np

from datagen.validation import is_int
from placement.candidates import CandidateSpace
from placement.search.base import Evaluator, SearchMethod
from placement.search.moves import neighbours, random_neighbour

__all__ = ["LocalSearch"]


class LocalSearch(SearchMethod):
    """Steepest-descent local search with restarts; several descents share each predictor call.

    ``parallel`` descents run side by side: every step gathers each descent's neighbourhood
    (fragment moves, whole-service moves and swaps, see
    :func:`~placement.search.moves.neighbours`; at most ``max_neighbours // parallel`` each,
    subsampled at random) into one batch, scores it with one predictor call (batched
    predictors are much cheaper per candidate in large batches), and moves every descent to
    its best neighbour if that improves by more than ``tol``. A descent that reaches a local
    optimum is replaced by a new start while the budget and ``restarts`` last. The first
    starts are the given initial assignments or the load-balancing greedy assignment; later
    ones alternate between a *kick* of the best assignment so far (``kick`` random feasible
    moves, as in iterated local search, to leave plateaus no single move can cross) and a
    random feasible assignment.

    Args:
        restarts: Most descents in total (default: ``32``).
        parallel: Descents run side by side (default: ``4``).
        kick: Random moves applied to the best assignment for a kicked start (default: ``3``).
        max_neighbours: Candidates scored per step over all descents (default: ``512``).
        tol: Smallest improvement that counts (objective units) (default: ``1e-9``).
        max_evaluations: Evaluation budget (default: ``2500``).
        max_seconds: Time budget (s) (default: ``None``: none, so that a search is the same
            for a seed on any machine, under any load; pass e.g. ``0.8`` to bound the wall
            time at the price of machine-dependent results).
    """

    name = "local"

    def __init__(
        self,
        restarts: int = 32,
        parallel: int = 4,
        kick: int = 3,
        max_neighbours: int = 512,
        tol: float = 1e-9,
        max_evaluations: int | None = 2500,
        max_seconds: float | None = None,
    ) -> None:
        super().__init__(max_evaluations, max_seconds)
        for name, value in (
            ("restarts", restarts),
            ("parallel", parallel),
            ("kick", kick),
            ("max_neighbours", max_neighbours),
        ):
            if not is_int(value) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        self.restarts = int(restarts)
        self.parallel = int(parallel)
        self.kick = int(kick)
        self.max_neighbours = int(max_neighbours)
        self.tol = float(tol)

    def _run(self, ev: Evaluator, rng: np.random.Generator, initial: list[np.ndarray]) -> int:
        space = ev.space
        starts = list(initial) or [space.greedy_assignment()]
        started = 0
        best, fbest = starts[0], np.inf

        def next_start() -> np.ndarray:
            nonlocal started
            k = started
            started += 1
            if k < len(starts):
                return starts[k]
            if (k - len(starts)) % 2 == 0:
                return self._kicked(space, best, rng)
            return space.random_assignment(rng)

        # Each descent: [assignment, value (inf until scored)].
        pool: list[list] = []
        while len(pool) < self.parallel and started < self.restarts:
            pool.append([next_start(), np.inf])
        per = max(1, self.max_neighbours // self.parallel)
        steps = 0
        while pool and not ev.exhausted():
            parts = []
            for x, fx in pool:
                nb = neighbours(space, x, rng, per)
                nb = nb[space.feasible_batch(nb)]
                parts.append(nb if np.isfinite(fx) else np.vstack([x[None, :], nb]))
            vals = ev.evaluate(np.vstack(parts))
            steps += 1
            lo = 0
            keep: list[list] = []
            for (x, fx), nb in zip(pool, parts):
                v = vals[lo : lo + nb.shape[0]]
                lo += nb.shape[0]
                if not np.isfinite(fx):
                    fx, nb, v = float(v[0]), nb[1:], v[1:]
                i = int(np.argmin(v)) if v.size else -1
                if i >= 0 and v[i] < fx - self.tol:
                    keep.append([nb[i], float(v[i])])
                    if v[i] < fbest:
                        best, fbest = nb[i], float(v[i])
                    continue
                if fx < fbest:
                    best, fbest = x, fx
                if started < self.restarts:
                    keep.append([next_start(), np.inf])
            pool = keep
        return steps

    def _kicked(
        self, space: CandidateSpace, x: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        y = x
        for _ in range(self.kick):
            for _ in range(20):
                z = random_neighbour(space, y, rng)
                if space.feasible(z):
                    y = z
                    break
        return y
