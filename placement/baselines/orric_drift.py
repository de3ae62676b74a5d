r"""ORRIC on real drift: measured accuracy of a retrained CNN on drifting handwritten digits.

The paper (Cai, Zhou, Huang, arXiv 2405.16029; spec ``shared/specs/analytical.md`` section 1.8)
deploys a model on CIFAR-10-C, whose corruptions grow more severe over time, and splits each
slot's compute between retraining on a share of the uploaded samples and inference at one of
several input resolutions. This module reproduces that set-up at CPU scale on scikit-learn's 8x8
digits (:mod:`placement.baselines.digits`), and scores every policy on **measured** accuracy,
not on an assumed accuracy function :math:`f`:

1. A small CNN is trained on clean digits at several resolutions (the inference
   configurations; :math:`C^I_j` = its MACs there).
2. Slot ``t = 1..T`` brings ``D`` images corrupted at severity :math:`s_t` rising linearly
   from 0 to ``max_severity`` (rotation, blur, Gaussian noise: :func:`~placement.baselines.
   digits.corrupt`).
3. **The table.** Following problem (P), the deployed model of slot ``t`` depends on the
   average retraining level :math:`\bar x_t` (the share of the samples of slots ``1..t-1``
   used for retraining). For each slot and each :math:`\bar x` on a grid, the base model is
   fine-tuned on that share of the drifted samples seen so far, and its accuracy on test images
   corrupted at :math:`s_t` is measured at every resolution:
   ``accuracy[t, g, j]``. Between grid points it is interpolated linearly in :math:`\bar x`.
4. ORRIC and the heuristics decide with what ORRIC is given in the paper (:math:`A^I_j` =
   clean accuracy per resolution normalised to 1, :math:`f(A^T_{\max})`, :math:`L`, the
   costs), and every choice sequence is scored on the table:

.. math::
    \mathrm{acc}=\frac{\sum_t D_t\,\mathrm{accuracy}_t(\bar x_t, j_t)}{\sum_t D_t},\qquad
    \bar x_t=\frac{\sum_{\tau<t}D_\tau A^T_{i_\tau}}{\sum_{\tau<t}D_\tau}

5. OPT is the offline optimum of the same measured objective (it knows the whole table), by
   dynamic programming over the cumulative retraining (:func:`table_opt`).

The retraining cost of a sample is ``epochs * train_factor`` forward passes at the full
resolution (:math:`C^T_i` = ratio times that).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from placement.baselines import orric
from placement.baselines.digits import (
    accuracy,
    build_cnn,
    cnn_macs,
    corrupt,
    load_digits_split,
    seed_states,
    single_thread,
    train_classifier,
)

__all__ = [
    "DriftConfig",
    "DriftTable",
    "DriftRun",
    "measure_drift_table",
    "orric_inputs",
    "measured_accuracy",
    "table_opt",
    "fitted_L",
    "run_policies",
]


@dataclass(frozen=True)
class DriftConfig:
    """Settings of the drift experiment (all sizes small: seconds on one CPU thread).

    Args:
        slots: Horizon :math:`T`, ``>= 2`` (default: ``8``).
        samples_per_slot: Images :math:`D` arriving per slot (default: ``100``).
        ratios: Retraining sample ratios :math:`A^T_i` in ``[0, 1]``, with 0 (the paper's
            list) (default: ``(0, 0.1, 0.2, 0.3, 0.5, 1)``).
        grid: Average retraining levels at which accuracy is measured, from 0 to 1
            (default: ``(0, 0.1, 0.2, 0.3, 0.5, 0.75, 1)``).
        resolutions: Inference input resolutions (pixels), largest first
            (default: ``(8, 6, 5, 4)``).
        max_severity: Drift severity of the last slot, in ``(0, 1]`` (default: ``1.0``).
        base_epochs: Epochs of the initial training (default: ``20``).
        finetune_epochs: Epochs of each retraining (default: ``5``).
        lr: Adam learning rate of the initial training (default: ``1e-2``).
        finetune_lr: Adam learning rate of each retraining (default: ``3e-3``).
        train_factor: Cost of one training pass of a sample in forward passes (default:
            ``3``: forward plus backward).
        max_noise: Noise standard deviation at severity 1 (default: ``0.15``).
        max_rotation_deg: Rotation at severity 1 (degrees) (default: ``30``).
        max_blur: Blur mass at severity 1 (default: ``0.3``).
    """

    slots: int = 8
    samples_per_slot: int = 100
    ratios: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
    grid: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
    resolutions: tuple[int, ...] = (8, 6, 5, 4)
    max_severity: float = 1.0
    base_epochs: int = 20
    finetune_epochs: int = 5
    lr: float = 1e-2
    finetune_lr: float = 3e-3
    train_factor: float = 3.0
    max_noise: float = 0.15
    max_rotation_deg: float = 30.0
    max_blur: float = 0.3

    def validate(self) -> DriftConfig:
        """Check every field; returns ``self``.

        Raises:
            ValueError: Naming the field, its value and the fix.
        """
        for name in ("slots", "samples_per_slot", "base_epochs", "finetune_epochs"):
            v = getattr(self, name)
            low = 2 if name == "slots" else (1 if name == "samples_per_slot" else 0)
            if isinstance(v, bool) or int(v) != v or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
        r = np.asarray(self.ratios, dtype=float)
        if r.ndim != 1 or r.size < 1 or np.any(r < 0) or np.any(r > 1) or 0.0 not in r:
            raise ValueError(f"ratios must lie in [0, 1] and include 0, got {self.ratios!r}")
        g = np.asarray(self.grid, dtype=float)
        if g.size < 2 or g[0] != 0.0 or g[-1] != 1.0 or np.any(np.diff(g) <= 0):
            raise ValueError(
                f"grid must ascend strictly from 0 to 1 (average retraining levels), got "
                f"{self.grid!r}"
            )
        res = list(self.resolutions)
        if not res or any(int(x) != x or x < 2 for x in res) or res != sorted(res, reverse=True):
            raise ValueError(
                f"resolutions must be integers >= 2, largest first, got {self.resolutions!r}"
            )
        if not 0.0 < float(self.max_severity) <= 1.0:
            raise ValueError(f"max_severity must be in (0, 1], got {self.max_severity!r}")
        for name in ("lr", "finetune_lr", "train_factor"):
            v = float(getattr(self, name))
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        return self


class DriftTable(NamedTuple):
    """Measured accuracy of the deployed model per slot, retraining level and resolution.

    Shapes:
        ``severity``: ``(T,)``; ``grid``: ``(G,)``; ``accuracy``: ``(T, G, N)``;
        ``clean_accuracy``, ``inference_macs``: ``(N,)``.
    """

    severity: np.ndarray
    """Drift severity of each slot, in ``[0, 1]``."""
    grid: np.ndarray
    r"""Average retraining levels :math:`\bar x` of the measurements."""
    resolutions: tuple[int, ...]
    """Inference resolutions (pixels), largest first."""
    accuracy: np.ndarray
    """Measured top-1 accuracy in ``[0, 1]``."""
    clean_accuracy: np.ndarray
    """Accuracy of the initial model on clean test images at each resolution."""
    inference_macs: np.ndarray
    r""":math:`C^I_j`: MACs of one inference at each resolution (MAC per sample)."""
    retrain_macs: float
    """MACs of retraining on one sample (``epochs * train_factor`` forward passes)."""
    samples_per_slot: int
    """Images per slot :math:`D`."""

    def at(self, t: int, xbar: float, j: int) -> float:
        r"""Accuracy in slot ``t`` (0-based) at average retraining level ``xbar``, resolution ``j``.

        Linear interpolation of the measurements in :math:`\bar x`.

        Raises:
            ValueError: If ``t`` or ``j`` is out of range or ``xbar`` outside ``[0, 1]``.
        """
        T, _, N = self.accuracy.shape
        if not 0 <= t < T or not 0 <= j < N:
            raise ValueError(f"slot t must be in 0..{T - 1} and j in 0..{N - 1}, got {t}, {j}")
        if not -1e-9 <= xbar <= 1 + 1e-9:
            raise ValueError(f"xbar must be in [0, 1] (an average ratio), got {xbar}")
        return float(np.interp(xbar, self.grid, self.accuracy[t, :, j]))


class DriftRun(NamedTuple):
    """One policy's choices on the drift table and their measured accuracy."""

    choices: list[tuple[int, int]]
    """``(i_t, j_t)`` per slot: retraining ratio index and resolution index."""
    accuracy: float
    """Sample-weighted mean measured accuracy over the horizon, in ``[0, 1]``."""
    per_slot: np.ndarray
    """Measured accuracy of each slot, shape ``(T,)``."""


def measure_drift_table(config: DriftConfig, seed: int) -> DriftTable:
    """Train, drift, fine-tune and measure: the accuracy table of the experiment.

    Deterministic for a given seed on a given machine (one torch thread, seeded generators).

    Args:
        config: The :class:`DriftConfig`.
        seed: Seed of the data split, the initial weights, the corruptions and the retraining
            subsets (``>= 0``).

    Returns:
        The :class:`DriftTable`: accuracy per slot, retraining level and resolution.

    Raises:
        ValueError: On an invalid config or seed.
    """
    import torch

    cfg = config.validate()
    T, D = int(cfg.slots), int(cfg.samples_per_slot)
    res = tuple(int(r) for r in cfg.resolutions)
    grid = np.asarray(cfg.grid, dtype=float)
    severity = np.linspace(0.0, float(cfg.max_severity), T)
    kw = {"max_noise": cfg.max_noise, "max_rotation_deg": cfg.max_rotation_deg,
          "max_blur": cfg.max_blur}
    seeds = seed_states(seed, 5)

    def gen(k: int, *extra: int) -> torch.Generator:
        s = np.random.SeedSequence([int(seeds[k]), *extra]).generate_state(1)[0]
        return torch.Generator().manual_seed(int(s))

    with single_thread():
        split = load_digits_split(int(seeds[0]) % (2**31))
        base = build_cnn(gen(1))
        train_classifier(base, split.x_train, split.y_train, gen(1, 1),
                         epochs=int(cfg.base_epochs), lr=cfg.lr, resolutions=res)
        clean = np.array([accuracy(base, split.x_test, split.y_test, r) for r in res])
        # the stream: slot tau brings D pool images corrupted at severity[tau]
        n_pool = len(split.y_stream)
        xs, ys = [], []
        for tau in range(T):
            idx = torch.randint(n_pool, (D,), generator=gen(2, tau))
            xs.append(corrupt(split.x_stream[idx], float(severity[tau]), gen(3, tau), **kw))
            ys.append(split.y_stream[idx])
        acc = np.zeros((T, grid.size, len(res)))
        for t in range(T):
            x_test = corrupt(split.x_test, float(severity[t]), gen(4, t), **kw)
            seen_x = torch.cat(xs[:t]) if t else xs[0][:0]
            seen_y = torch.cat(ys[:t]) if t else ys[0][:0]
            order = torch.randperm(len(seen_y), generator=gen(2, 1000 + t))
            for g, level in enumerate(grid):
                n = int(round(level * len(seen_y)))
                model = base
                if n > 0:
                    model = copy.deepcopy(base)
                    sub = order[:n]
                    train_classifier(model, seen_x[sub], seen_y[sub], gen(3, 1000 + t, g),
                                     epochs=int(cfg.finetune_epochs), lr=cfg.finetune_lr,
                                     resolutions=res)
                acc[t, g] = [accuracy(model, x_test, split.y_test, r) for r in res]
    macs = np.array([float(cnn_macs(r)) for r in res])
    retrain = float(cfg.finetune_epochs) * float(cfg.train_factor) * float(cnn_macs(res[0]))
    return DriftTable(severity, grid, res, acc, clean, macs, retrain, D)


def orric_inputs(
    table: DriftTable, ratios: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    r"""ORRIC's configuration lists from the table, as the paper builds them (spec 1.8).

    Args:
        table: The measured table.
        ratios: Retraining sample ratios :math:`A^T_i` in ``[0, 1]``.

    Returns:
        ``(AT, CT, AI, CI, f_max)``: :math:`A^T` = the ratios, :math:`C^T_i` = ratio times the
        retraining MACs of a sample, :math:`A^I_j` = clean accuracy at resolution ``j``
        normalised so the largest is 1, :math:`C^I_j` = its MACs, and :math:`f(A^T_{\max})` =
        the best clean accuracy (MAC per sample for the costs).
    """
    at = np.asarray(ratios, dtype=float)
    if at.ndim != 1 or at.size == 0 or np.any(at < 0) or np.any(at > 1):
        raise ValueError(f"ratios must be a non-empty list in [0, 1], got {ratios!r}")
    ct = at * table.retrain_macs
    ai = table.clean_accuracy / table.clean_accuracy.max()
    return at, ct, ai, table.inference_macs.copy(), float(table.clean_accuracy.max())


def _check_choices(table: DriftTable, choices: Sequence[tuple[int, int]], n_ratios: int) -> None:
    T = table.accuracy.shape[0]
    if len(choices) != T:
        raise ValueError(f"choices must have one (i, j) per slot ({T}), got {len(choices)}")
    for t, (i, j) in enumerate(choices):
        if not (0 <= i < n_ratios and 0 <= j < len(table.resolutions)):
            raise ValueError(f"choice {(i, j)} of slot {t + 1} is out of range")


def measured_accuracy(
    table: DriftTable, choices: Sequence[tuple[int, int]], ratios: Sequence[float] | np.ndarray
) -> DriftRun:
    r"""Score a choice sequence on the measured table (:math:`\bar x_1 = 0`).

    .. math::
        \mathrm{acc}=\frac1T\sum_t \mathrm{accuracy}_t(\bar x_t, j_t),\qquad
        \bar x_t=\frac1{t-1}\sum_{\tau<t}A^T_{i_\tau}

    (every slot brings the same :math:`D` samples, so the sample weights cancel).

    Args:
        table: The measured table.
        choices: ``(i_t, j_t)`` per slot (0-based into ``ratios`` and the resolutions).
        ratios: Retraining ratios :math:`A^T_i`.

    Returns:
        The :class:`DriftRun`.

    Raises:
        ValueError: On the wrong number of choices or an index out of range.
    """
    at = np.asarray(ratios, dtype=float)
    _check_choices(table, choices, at.size)
    per = np.zeros(len(choices))
    cum = 0.0
    for t, (i, j) in enumerate(choices):
        per[t] = table.at(t, cum / t if t else 0.0, j)
        cum += float(at[i])
    return DriftRun(list(choices), float(per.mean()), per)


def table_opt(
    table: DriftTable,
    AT: Sequence[float] | np.ndarray,
    CT: Sequence[float] | np.ndarray,
    CI: Sequence[float] | np.ndarray,
    U: Sequence[float] | np.ndarray,
    *,
    max_states: int = 200_000,
) -> DriftRun:
    r"""Offline optimum of the measured objective, by dynamic programming.

    The inference choice of a slot does not affect the future, so in each slot, for each
    retraining choice, OPT takes the feasible resolution with the highest *measured* accuracy.
    The state is the cumulative retraining :math:`\sum_{\tau<t}A^T_{i_\tau}` (exact: keys are
    rounded to 1e-9), so the cost is :math:`O(T\cdot S\cdot M\cdot N)` for ``S`` distinct
    states (at most :math:`10T+1` for ratios on a 0.1 grid).

    Args:
        table: The measured table.
        AT: Retraining ratios.
        CT: Retraining costs (MAC per sample).
        CI: Inference costs (MAC per sample), one per resolution.
        U: Per-sample budget of each slot (MAC per sample), shape ``(T,)``.
        max_states: Refuse instances with more states per slot (default: ``200_000``).

    Returns:
        The optimal :class:`DriftRun`.

    Raises:
        ValueError: On mismatched shapes, an infeasible slot or too many states.
    """
    at, ct, ci = (np.asarray(a, dtype=float) for a in (AT, CT, CI))
    u = np.asarray(U, dtype=float)
    T, _, N = table.accuracy.shape
    if at.shape != ct.shape or ci.shape != (N,) or u.shape != (T,):
        raise ValueError(
            f"AT and CT must match, CI must have {N} entries and U {T}, got shapes "
            f"{at.shape}, {ct.shape}, {ci.shape}, {u.shape}"
        )
    # forward: reachable states; backward: value to go
    layers: list[dict[float, None]] = [{0.0: None}]
    for t in range(T - 1):
        nxt: dict[float, None] = {}
        for s in layers[-1]:
            for i in range(at.size):
                if np.any(ct[i] + ci <= u[t] + 1e-9):
                    nxt[round(s + float(at[i]), 9)] = None
        if not nxt:
            raise ValueError(f"slot {t + 1} has no feasible configuration pair; raise U[{t}]")
        if len(nxt) > max_states:
            raise ValueError(
                f"table_opt needs {len(nxt)} states > max_states={max_states}; shorten the "
                "horizon or use ratios on a coarser grid"
            )
        layers.append(nxt)
    best: list[dict[float, tuple[float, int, int]]] = [dict() for _ in range(T)]
    for t in range(T - 1, -1, -1):
        for s in layers[t]:
            xbar = s / t if t else 0.0
            top: tuple[float, int, int] | None = None
            for i in range(at.size):
                ok = np.nonzero(ct[i] + ci <= u[t] + 1e-9)[0]
                if ok.size == 0:
                    continue
                accs = [table.at(t, min(xbar, 1.0), int(j)) for j in ok]
                k = int(np.argmax(accs))
                if t + 1 < T:
                    nxt_state = round(s + float(at[i]), 9)
                    if nxt_state not in best[t + 1]:
                        continue
                    val = accs[k] + best[t + 1][nxt_state][0]
                else:
                    val = accs[k]
                if top is None or val > top[0] + 1e-12:
                    top = (val, i, int(ok[k]))
            if top is None:
                raise ValueError(f"slot {t + 1} has no feasible configuration pair; raise U[{t}]")
            best[t][s] = top
    choices: list[tuple[int, int]] = []
    s = 0.0
    for t in range(T):
        _, i, j = best[t][s]
        choices.append((i, j))
        s = round(s + float(at[i]), 9)
    return measured_accuracy(table, choices, at)


def fitted_L(table: DriftTable) -> float:
    r"""A measured :math:`L`: the smallest positive slope of accuracy at full retraining.

    .. math::
        \hat L=\min_{t\ge2}\frac{\mathrm{acc}_t(1)-\mathrm{acc}_t(g_{G-1})}{1-g_{G-1}}
        \quad\text{(best clean resolution; floored at 0.001)}

    ORRIC needs :math:`L`, a positive lower bound of :math:`f'(A^T_{\max})`; the paper uses
    0.01. This is the table's own estimate, for comparison.

    Returns:
        :math:`\hat L` (accuracy per unit of average retraining level).
    """
    j = int(np.argmax(table.clean_accuracy))
    g = table.grid
    slopes = (table.accuracy[1:, -1, j] - table.accuracy[1:, -2, j]) / (g[-1] - g[-2])
    pos = slopes[slopes > 0]
    return float(max(pos.min() if pos.size else 0.0, 1e-3))


def run_policies(
    table: DriftTable,
    U: Sequence[float] | np.ndarray,
    ratios: Sequence[float],
    *,
    L: float = 0.01,
    extra_L: Sequence[float] = (),
) -> dict[str, DriftRun]:
    r"""ORRIC, its four heuristics and OPT on one budget sequence, scored on measured accuracy.

    Args:
        table: The measured table.
        U: Per-sample budget of each slot :math:`U_t=C_t/D_t` (MAC per sample), shape ``(T,)``.
        ratios: Retraining ratios :math:`A^T_i`.
        L: ORRIC's :math:`L` (default: ``0.01``, the paper's).
        extra_L: Further values of :math:`L` to run ORRIC with, reported as
            ``"orric (L=...)"`` (default: ``()``).

    Returns:
        ``{policy name: DriftRun}`` with the keys of :data:`~placement.baselines.orric.POLICIES`,
        the extra ORRIC runs and ``"OPT"``.

    Raises:
        ValueError: If a slot's budget is below the cheapest configuration pair.
    """
    at, ct, ai, ci, f_max = orric_inputs(table, ratios)
    u = np.asarray(U, dtype=float)
    T = table.accuracy.shape[0]
    if u.shape != (T,):
        raise ValueError(f"U must have one budget per slot ({T}), got shape {u.shape}")
    D = np.full(T, float(table.samples_per_slot))
    out: dict[str, DriftRun] = {}
    runs: list[tuple[str, str, float]] = [(p, p, L) for p in orric.POLICIES]
    runs += [(f"orric (L={x:.3g})", "orric", float(x)) for x in extra_L]
    for name, pol, ell in runs:
        r = orric.decide(at, ct, ai, ci, D, u * D, L=ell, f_max=f_max,
                         policy=pol)  # type: ignore[arg-type]
        out[name] = measured_accuracy(table, r.choices, at)
    out["OPT"] = table_opt(table, at, ct, ci, u)
    return out
