"""Local search with restarts: steepest descent over batched neighbourhoods (the default)."""

from __future__ import annotations

import numpy as np

from placement.search.base import Evaluator, SearchMethod
from placement.search.moves import neighbours

__all__ = ["LocalSearch"]


class LocalSearch(SearchMethod):
    """Steepest-descent local search with restarts, one predictor call per neighbourhood.

    The first descent starts from the given initial assignments or, by default, the
    load-balancing greedy assignment; later ones from random feasible assignments. Each step
    scores a batch of up to ``max_neighbours`` neighbours (fragment moves, whole-service
    moves, swaps; see :func:`~placement.search.moves.neighbours`) and moves to the best if it
    improves by more than ``tol``; a descent stops at a local optimum. Restarts continue while
    the budget lasts, up to ``restarts`` descents.

    Args:
        restarts: Most descents (default: ``4``).
        max_neighbours: Neighbours scored per step (default: ``256``).
        tol: Smallest improvement that counts (objective units) (default: ``1e-9``).
        max_evaluations: Evaluation budget (default: ``4000``).
        max_seconds: Time budget (s) (default: ``0.8``).
    """

    name = "local"

    def __init__(
        self,
        restarts: int = 4,
        max_neighbours: int = 256,
        tol: float = 1e-9,
        max_evaluations: int | None = 4000,
        max_seconds: float | None = 0.8,
    ) -> None:
        super().__init__(max_evaluations, max_seconds)
        if restarts < 1:
            raise ValueError(f"restarts must be >= 1, got {restarts}")
        if max_neighbours < 1:
            raise ValueError(f"max_neighbours must be >= 1, got {max_neighbours}")
        self.restarts = int(restarts)
        self.max_neighbours = int(max_neighbours)
        self.tol = float(tol)

    def _run(self, ev: Evaluator, rng: np.random.Generator, initial: list[np.ndarray]) -> int:
        space = ev.space
        starts = list(initial) or [space.greedy_assignment()]
        steps = 0
        for r in range(self.restarts):
            if ev.exhausted():
                break
            x = starts[r] if r < len(starts) else space.random_assignment(rng)
            fx = float(ev.evaluate(x[None, :])[0])
            while not ev.exhausted():
                nb = neighbours(space, x, rng, self.max_neighbours)
                nb = nb[space.feasible_batch(nb)]
                if nb.shape[0] == 0:
                    break
                vals = ev.evaluate(nb)
                steps += 1
                i = int(np.argmin(vals))
                if not vals[i] < fx - self.tol:
                    break
                x, fx = nb[i], float(vals[i])
        return steps
