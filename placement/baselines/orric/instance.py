"""ORRIC's problem instance: the lists, their validation and the result of a run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

from datagen.validation import is_real

__all__ = ["Floats", "Policy", "POLICIES", "OrricRun"]

#: A list of numbers: a sequence or a 1-D array.
Floats = Sequence[float] | np.ndarray

Policy = Literal[
    "orric", "inference_only", "inference_greedy", "knowledge_distillation", "focus_shift"
]
POLICIES: tuple[str, ...] = (
    "orric",
    "inference_only",
    "inference_greedy",
    "knowledge_distillation",
    "focus_shift",
)


class OrricRun(NamedTuple):
    """Result of a multi-slot run.

    Attributes:
        choices: ``(i_t, j_t)`` per slot: 0-based indices into the retraining and inference
            lists as given.
        values: Per-slot (Dt) value :math:`V_t A^T_{i_t} + W_t A^I_{j_t}` with ORRIC's
            coefficients (``nan`` for brute force).
        V: ORRIC's :math:`V_t` per slot.
        W: ORRIC's :math:`W_t` per slot.
        objective: The objective of (P) for these choices.
    """

    choices: list[tuple[int, int]]
    values: list[float]
    V: list[float]
    W: list[float]
    objective: float





def _vector(name: str, values: Floats, *, nonneg: bool = False) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D list of numbers, got {values!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers, got {arr.tolist()}")
    if nonneg and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (costs are MAC per sample), got {arr.tolist()}")
    return arr


def _pair(
    acc_name: str, acc: Floats, cost_name: str, cost: Floats
) -> tuple[np.ndarray, np.ndarray]:
    a = _vector(acc_name, acc)
    c = _vector(cost_name, cost, nonneg=True)
    if a.size != c.size:
        raise ValueError(
            f"{acc_name} and {cost_name} must have the same length (one entry per "
            f"configuration), got {a.size} and {c.size}"
        )
    return a, c


def _scalar(name: str, value: float) -> float:
    if not is_real(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v



def _samples(D: Floats) -> np.ndarray:
    d = np.asarray(D, dtype=float)
    if d.ndim != 1 or d.size < 1:
        raise ValueError(f"D must list the samples of each slot, T = len(D) >= 1, got {D!r}")
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise ValueError(f"D must hold samples per slot > 0, got {d.tolist()}")
    return d


def _budgets(C: Floats, d: np.ndarray) -> np.ndarray:
    c = np.asarray(C, dtype=float)
    if c.shape != d.shape:
        raise ValueError(f"C must have one budget per slot ({d.size}), got {np.shape(c)}")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"C must hold budgets >= 0 (MAC per slot), got {c.tolist()}")
    return c / d


def _instance(
    AT: Floats, CT: Floats, AI: Floats, CI: Floats, D: Floats, C: Floats
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(at, ct, ai, ci, d, U)`` of an instance, ``U = C / D`` per sample."""
    at, ct = _pair("AT", AT, "CT", CT)
    ai, ci = _pair("AI", AI, "CI", CI)
    d = _samples(D)
    return at, ct, ai, ci, d, _budgets(C, d)
