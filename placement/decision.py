"""What the placer returns: split types, a validated scenario, predicted and simulated metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from datagen.world import Placement, Scenario

__all__ = ["Decision"]


@dataclass(frozen=True)
class Decision:
    """A placement decision.

    Attributes:
        splits: Split type of every new service (``{name: "layer" | "semantic"}``).
        scenario: The chosen deployment (new and running services), validated and ready for
            :func:`datagen.sim.simulate`.
        predicted: Predicted metrics of the chosen deployment, one row per service (indexed by
            service name): ``throughput``, ``loss_ratio``, ``latency_mean``, ``latency_p95``...
        candidates: One row per candidate of the verification set (``rank`` = position in
            it: the search's best first, by predicted objective, then the safe alternatives):
            ``source`` (see :attr:`source`), ``predicted_objective``,
            ``simulated_objective`` (NaN when not simulated), ``uncertain`` (the predictor
            flagged it), ``chosen`` and ``placement`` (JSON of the new services' placement).
        simulated: Simulated metrics of the top candidates, one row per (``rank``, service),
            or ``None`` when verification was off or the simulator is missing.
        objective: Predicted objective of the chosen deployment.
        simulated_objective: Its simulated objective, or ``None``.
        stats: Search statistics: ``evaluations``, ``predictor_calls``, ``wall_time`` (s)...
        predictor: Description of the predictor used (e.g. ``"AnalyticSurrogate(...)"``).
        predictor_fallback: Why the default learned surrogate was replaced by the analytic one
            (``None`` when it was not).
        split_context: Per new service: the allowed splits, predicted latency per split, the
            context given to the split policy and the arm chosen.
        method: Name of the method that produced the decision (``"placer"``, ``"greedy"``...).
        source: Which route proposed the chosen plan: ``"surrogate"`` (the search driven by
            the predictor), ``"refined"`` (the simulator polish), ``"analytic"`` (the search
            driven by :class:`chainnet.AnalyticSurrogate`), ``"greedy"``, or the method name
            for the baselines.
        uncertain: The predictor marked the chosen plan's prediction ``uncertain`` (ensemble
            disagreement or features outside its training range): trust
            :attr:`simulated_objective` over :attr:`objective`.
        out_of_range: Some feature of the chosen plan lies outside the range the predictor
            was trained on.
    """

    splits: dict[str, str]
    scenario: Scenario
    predicted: pd.DataFrame
    candidates: pd.DataFrame
    simulated: pd.DataFrame | None = None
    objective: float = float("nan")
    simulated_objective: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    predictor: str = ""
    predictor_fallback: str | None = None
    split_context: pd.DataFrame | None = None
    method: str = "placer"
    source: str = ""
    uncertain: bool = False
    out_of_range: bool = False

    @property
    def placement(self) -> Placement:
        """The placement of every service (new and running)."""
        return self.scenario.placement

    def devices_of(self, service: str) -> tuple[str, ...]:
        """Device of each fragment of a service."""
        return self.scenario.placement[service]

    def summary(self) -> str:
        """A short human-readable summary."""
        lines = [f"{self.method}: objective {self.objective:.4g} (predicted)"]
        if self.simulated_objective is not None:
            lines[0] += f", {self.simulated_objective:.4g} (simulated)"
        if self.source and self.source != self.method:
            lines[0] += f"; plan from {self.source}"
        if self.uncertain:
            why = "outside its training range" if self.out_of_range else "members disagree"
            lines.append(f"  warning: the predictor is unsure of this plan ({why}); "
                         f"trust the simulated objective")
        for name, split in self.splits.items():
            lines.append(f"  {name} [{split}] -> {', '.join(self.scenario.placement[name])}")
        if self.predictor_fallback:
            lines.append(f"  predictor fallback: {self.predictor_fallback}")
        return "\n".join(lines)
