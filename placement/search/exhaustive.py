"""Exhaustive search for tiny instances: every memory-feasible assignment, in batches."""

from __future__ import annotations

import numpy as np

from placement.search.base import Evaluator, SearchMethod

__all__ = ["ExhaustiveSearch"]


class ExhaustiveSearch(SearchMethod):
    """Score every memory-feasible assignment (``D ** F`` of them) in batches.

    Args:
        max_candidates: Largest ``D ** F`` accepted (default: ``100_000``).
        chunk: Assignments enumerated (and scored) per batch (default: ``1024``).
        max_evaluations: Evaluation budget (default: ``None`` = all).
        max_seconds: Time budget (s) (default: ``None``).

    Raises:
        ValueError: From :meth:`search` when the space holds more than ``max_candidates``.
    """

    name = "exhaustive"

    def __init__(
        self,
        max_candidates: int = 100_000,
        chunk: int = 1024,
        max_evaluations: int | None = None,
        max_seconds: float | None = None,
    ) -> None:
        super().__init__(max_evaluations, max_seconds)
        if max_candidates < 1 or chunk < 1:
            raise ValueError(
                f"max_candidates and chunk must be >= 1, got {max_candidates}, {chunk}"
            )
        self.max_candidates = int(max_candidates)
        self.chunk = int(chunk)

    def _run(self, ev: Evaluator, rng: np.random.Generator, initial: list[np.ndarray]) -> int:
        space = ev.space
        f, d = space.num_fragments, space.num_devices
        total = d**f
        if total > self.max_candidates:
            raise ValueError(
                f"exhaustive search would enumerate {d}^{f} = {total} assignments, more than "
                f"max_candidates={self.max_candidates}; use LocalSearch or raise max_candidates"
            )
        powers = d ** np.arange(f - 1, -1, -1, dtype=np.int64)
        chunks = 0
        for start in range(0, total, self.chunk):
            if ev.exhausted():
                break
            codes = np.arange(start, min(total, start + self.chunk), dtype=np.int64)
            batch = (codes[:, None] // powers[None, :]) % d
            batch = batch[space.feasible_batch(batch)]
            if batch.shape[0]:
                ev.evaluate(batch)
            chunks += 1
        return chunks
