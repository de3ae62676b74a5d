r"""Simulated annealing with batched proposals.

Each step draws ``batch_size`` random neighbours of the current assignment, scores them in
one predictor call, and considers the best of them with the Metropolis rule

.. math::
    P(\text{accept}) = \min\big(1, e^{-(J_{new} - J)/T}\big), \qquad T_{t+1} = \alpha T_t
"""

from __future__ import annotations

import math

import numpy as np

from placement.search.base import Evaluator, SearchMethod
from placement.search.moves import random_neighbour

__all__ = ["SimulatedAnnealing"]


class SimulatedAnnealing(SearchMethod):
    """Simulated annealing over assignments, proposals scored in batches.

    Args:
        batch_size: Proposals per step (default: ``32``).
        initial_temperature: Start temperature (objective units); ``None`` sets it to 10% of
            the initial objective (plus 1e-3) (default: ``None``).
        cooling: Geometric cooling factor per step, in (0, 1) (default: ``0.95``).
        max_steps: Most steps (default: ``500``).
        max_evaluations: Evaluation budget (default: ``4000``).
        max_seconds: Time budget (s) (default: ``1.0``).
    """

    name = "annealing"

    def __init__(
        self,
        batch_size: int = 32,
        initial_temperature: float | None = None,
        cooling: float = 0.95,
        max_steps: int = 500,
        max_evaluations: int | None = 4000,
        max_seconds: float | None = 1.0,
    ) -> None:
        super().__init__(max_evaluations, max_seconds)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 < cooling < 1:
            raise ValueError(f"cooling must be in (0, 1), got {cooling}")
        if initial_temperature is not None and not initial_temperature > 0:
            raise ValueError(f"initial_temperature must be > 0, got {initial_temperature}")
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.batch_size = int(batch_size)
        self.initial_temperature = initial_temperature
        self.cooling = float(cooling)
        self.max_steps = int(max_steps)

    def _run(self, ev: Evaluator, rng: np.random.Generator, initial: list[np.ndarray]) -> int:
        space = ev.space
        x = initial[0] if initial else space.greedy_assignment()
        fx = float(ev.evaluate(x[None, :])[0])
        temp = self.initial_temperature
        if temp is None:
            temp = 0.1 * abs(fx) + 1e-3 if math.isfinite(fx) else 1.0
        steps = 0
        while steps < self.max_steps and not ev.exhausted():
            props = np.stack([random_neighbour(space, x, rng) for _ in range(self.batch_size)])
            props = props[space.feasible_batch(props)]
            steps += 1
            if props.shape[0] == 0:
                continue
            vals = ev.evaluate(props)
            i = int(np.argmin(vals))
            delta = float(vals[i]) - fx
            if math.isfinite(vals[i]) and (delta <= 0 or rng.random() < math.exp(-delta / temp)):
                x, fx = props[i], float(vals[i])
            temp *= self.cooling
        return steps
