"""Verification by simulation and decision assembly, shared by the Placer and the baselines.

A placement method ranks candidates with a predictor; :func:`make_decision` then simulates the
best few plus the safe alternatives (:func:`verify_candidates`), re-ranks them on the simulated
objective and packages the winner into a :class:`~placement.decision.Decision`. Every method
(:class:`~placement.placer.Placer`, the classic baselines of
:mod:`placement.baselines.classic`) goes through here, so "never worse than a simple plan it
could have checked" is implemented once.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from chainnet.predictor import Predictor
from datagen.sim import NoCompletionError, simulate
from datagen.world import Scenario
from placement.candidates import CandidateSpace
from placement.decision import Decision
from placement.objective import Objective, metrics_frame
from placement.search.simulation import all_lost, capped_horizon

__all__ = ["VerifySettings", "decide", "diverse_top", "make_decision", "verify_candidates"]


def diverse_top(
    assignments: np.ndarray, k: int, min_distance: int = 2, plain: int = 0
) -> np.ndarray:
    """The best ``plain`` candidates, then the best that differ in ``min_distance`` fragments.

    Candidates from different basins hedge against predictor error, but near saturation the
    optimum is often a one-move neighbour of the predicted best, so the first ``plain`` are
    kept as ranked. The rest of the walk down the ranked list keeps a candidate if its
    Hamming distance to every kept one is at least ``min_distance``, and fills up with the
    best skipped ones if fewer than ``k`` qualify.

    Args:
        assignments: Candidates, best first, shape ``(n, F)``.
        k: Number to return.
        min_distance: Least number of fragments on different devices (default: ``2``).
        plain: Number of best candidates kept whatever their distance (default: ``0``).

    Returns:
        Shape ``(min(k, n), F)``, in ranked order.
    """
    kept: list[int] = list(range(min(plain, k, assignments.shape[0])))
    for i in range(len(kept), assignments.shape[0]):
        if len(kept) == k:
            break
        if all(np.sum(assignments[i] != assignments[j]) >= min_distance for j in kept):
            kept.append(i)
    for i in range(assignments.shape[0]):
        if len(kept) >= k:
            break
        if i not in kept:
            kept.append(i)
    return assignments[sorted(kept)]


def verify_candidates(
    scenarios: Sequence[Scenario],
    objective: Objective,
    *,
    num_requests: int = 5_000,
    seed: int = 0,
    **sim_kwargs: Any,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Simulate candidates and score them with the objective.

    A candidate in which some service completes no request in the window
    (:class:`datagen.sim.NoCompletionError`) is scored as losing all its traffic, objective
    ``inf``.

    Args:
        scenarios: The candidates.
        objective: The cost.
        num_requests: Requests per service and simulation; the horizon is
            :func:`~placement.search.simulation.capped_horizon` (default: ``5_000``).
        seed: Simulation seed, the same for every candidate (default: ``0``).
        **sim_kwargs: Further keyword arguments of :func:`datagen.sim.simulate`.

    Returns:
        ``(simulated objective per candidate, long frame of simulated metrics)``.
    """
    tables = []
    failed = []
    for i, sc in enumerate(scenarios):
        kwargs = dict(sim_kwargs)
        kwargs.setdefault("horizon", capped_horizon(sc, num_requests))
        try:
            tables.append(simulate(sc, num_requests=num_requests, seed=seed, **kwargs).services)
        except NoCompletionError:
            failed.append(i)
            tables.append(all_lost(sc))
    frame = metrics_frame(tables)
    values = np.asarray(objective(list(scenarios), frame), dtype=float)
    values[failed] = math.inf
    return values, frame


class VerifySettings(Protocol):
    """What :func:`decide` reads from a placement method: its predictor and verification.

    :class:`~placement.placer.Placer` and :class:`~placement.baselines.classic.ClassicPlacer`
    both hold these attributes (see :func:`make_decision` for their meaning).
    """

    @property
    def predictor(self) -> Predictor | None:
        """Predictor for the reported metrics, or ``None``."""

    @property
    def objective(self) -> Objective:
        """The cost."""

    @property
    def verify_top_k(self) -> int:
        """Candidates to simulate (``0`` = none)."""

    @property
    def verify_requests(self) -> int:
        """Requests per verification simulation."""

    @property
    def seed(self) -> int:
        """Simulation seed."""


def decide(
    placer: VerifySettings,
    space: CandidateSpace,
    ranked: np.ndarray,
    *,
    stats: Mapping[str, Any],
    method: str,
    **options: Any,
) -> Decision:
    """:func:`make_decision` with the predictor, objective and verification settings of a placer.

    Args:
        placer: The placement method; its ``predictor``, ``objective``, ``verify_top_k``,
            ``verify_requests`` and ``seed`` are passed on.
        space: The candidate space.
        ranked: Feasible assignments, best predicted first, shape ``(n, F)``.
        stats: Search statistics to report.
        method: Name of the method.
        **options: The other keyword arguments of :func:`make_decision` (``started``,
            ``sources``, ``alternatives``...).

    Returns:
        The decision.
    """
    return make_decision(
        space,
        ranked,
        placer.predictor,
        placer.objective,
        verify_top_k=placer.verify_top_k,
        verify_requests=placer.verify_requests,
        seed=placer.seed,
        stats=stats,
        method=method,
        **options,
    )


def make_decision(
    space: CandidateSpace,
    ranked: np.ndarray,
    predictor: Predictor | None,
    objective: Objective,
    *,
    verify_top_k: int,
    verify_requests: int,
    seed: int,
    stats: Mapping[str, Any],
    method: str,
    started: float | None = None,
    predictor_fallback: str | None = None,
    split_context: pd.DataFrame | None = None,
    sources: Sequence[str] | None = None,
    alternatives: Sequence[tuple[str, np.ndarray]] = (),
) -> Decision:
    """Predict, verify and package ranked candidates into a :class:`Decision`.

    The verification set is the ``verify_top_k`` best ranked candidates plus every
    alternative (a plan from a predictor-free or analytic route, e.g. greedy), without
    duplicates. Every candidate of the set is simulated with the same seed and the one with
    the lowest simulated objective wins, so the decision is never worse, in that simulation,
    than any alternative. With ``verify_top_k=0`` the best predicted candidate wins unless the
    predictor marks it ``uncertain`` (a column of :meth:`chainnet.Surrogate.predict`); then
    the whole set is simulated before anything can win.

    Args:
        space: The candidate space.
        ranked: Feasible assignments, best predicted first, shape ``(n, F)``.
        predictor: Predictor for the reported metrics, or ``None`` (metrics then come from
            the simulation only).
        objective: The cost.
        verify_top_k: Candidates to simulate (``0`` = none).
        verify_requests: Requests per verification simulation.
        seed: Simulation seed.
        stats: Search statistics to report; the decision's ``stats`` is a new dict with
            these plus ``predictor_calls``, ``verify_time`` and ``total_time`` (s).
        method: Name of the method.
        started: :func:`time.perf_counter` value when the method started, for
            ``total_time`` (default: ``None`` = when this function started).
        predictor_fallback: Why the analytic predictor replaced the learned one, if it did.
        split_context: Split-policy context table, if any.
        sources: Where each ranked candidate came from (default: ``None`` = ``method``).
        alternatives: ``(source, assignment)`` pairs always added to the verification set
            (default: none).

    Returns:
        The decision: among the simulated candidates the one with the lowest simulated
        objective (ties: the earlier in the set), else the best predicted.
    """
    t_start = time.perf_counter() if started is None else started
    stats = dict(stats)
    n = ranked.shape[0]
    if n == 0:
        raise RuntimeError("no feasible candidate was scored; this is a bug, please report it")
    k = min(n, max(1, verify_top_k))
    pool = [np.asarray(x) for x in ranked[:k]]
    origin = list(sources[:k]) if sources is not None else [method] * k
    for source, assignment in alternatives:
        assignment = np.asarray(assignment)
        if not any(np.array_equal(assignment, x) for x in pool):
            pool.append(assignment)
            origin.append(source)
    m = len(pool)
    scenarios = [space.to_scenario(x) for x in pool]
    uncertain = np.zeros(m, dtype=bool)
    out_of_range = np.zeros(m, dtype=bool)
    if predictor is not None:
        pframe = predictor.predict(scenarios)
        stats["predictor_calls"] = stats.get("predictor_calls", 0) + 1
        pred_obj = np.asarray(objective(scenarios, pframe), dtype=float)
        for col, flags in (("uncertain", uncertain), ("out_of_range", out_of_range)):
            if col in pframe.columns:
                hit = pframe.loc[pframe[col].astype(bool), "scenario"].to_numpy(dtype=np.int64)
                flags[hit] = True
    else:
        pred_obj = np.full(m, math.nan)
    sim_obj = np.full(m, math.nan)
    simulated: pd.DataFrame | None = None
    # Without verification the best predicted candidate wins, unless it is uncertain.
    chosen = int(np.nanargmin(pred_obj)) if np.isfinite(pred_obj).any() else 0
    check = verify_top_k > 0 or (m > 1 and bool(uncertain[chosen]))
    if check:
        t0 = time.perf_counter()
        sim_obj, simulated = verify_candidates(
            scenarios, objective, num_requests=verify_requests, seed=seed
        )
        stats["verify_time"] = time.perf_counter() - t0
        # Stable: equal simulated objectives keep the order of the set.
        chosen = int(np.argsort(sim_obj, kind="stable")[0])
    new_names = [s.name for s in space.services]
    cand = pd.DataFrame(
        {
            "scenario": np.arange(m),
            "source": origin,
            "predicted_objective": pred_obj,
            "simulated_objective": sim_obj,
            "uncertain": uncertain,
            "chosen": np.arange(m) == chosen,
            "placement": [
                json.dumps({s: list(sc.placement[s]) for s in new_names}) for sc in scenarios
            ],
        }
    )
    sim_value = None if math.isnan(sim_obj[chosen]) else float(sim_obj[chosen])
    # One row per service of the chosen plan: predicted, else simulated, else none.
    predicted = pd.DataFrame(columns=["scenario", "service"])
    if predictor is not None:
        predicted = pframe[pframe["scenario"] == chosen]
    elif simulated is not None:
        predicted = simulated[simulated["scenario"] == chosen]
    stats["total_time"] = time.perf_counter() - t_start
    return Decision(
        source=origin[chosen],
        uncertain=bool(uncertain[chosen]),
        out_of_range=bool(out_of_range[chosen]),
        splits={s.name: s.split for s in space.services},
        scenario=scenarios[chosen],
        predicted=predicted,
        candidates=cand,
        simulated=simulated,
        objective=float(pred_obj[chosen]),
        simulated_objective=sim_value,
        stats=stats,
        predictor=repr(predictor),
        predictor_fallback=predictor_fallback,
        split_context=split_context,
        method=method,
    )


