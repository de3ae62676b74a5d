"""What the placer returns: split types, a validated scenario, predicted and simulated metrics.

A :class:`Decision` can be stored and loaded back (:meth:`Decision.to_json` /
:meth:`Decision.from_json`, also YAML), printed (:meth:`Decision.summary`) and drawn
(:meth:`Decision.plot`). Its tables (the attributes ``predicted``, ``simulated`` and
``candidates``, :meth:`Decision.table` and the stored file) have one tidy shape: one row per
(``scenario``, ``service``) with a plain index, where ``scenario`` is the candidate's position in
the verification set (the ``scenario`` column of :attr:`Decision.candidates`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from datagen.sim.metrics import SERVICE_COLUMNS
from datagen.validation import as_real
from datagen.walk import offered_load, placed_services
from datagen.world import Placement, Scenario

if TYPE_CHECKING:  # matplotlib is imported only by Decision.plot
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from placement.request import PlacementRequest

__all__ = [
    "DECISION_FORMAT", "DECISION_VERSION", "Decision", "DecisionFileError", "PlacementMethod",
]

#: ``format`` key of a stored decision; :data:`DECISION_VERSION` is its ``version``.
DECISION_FORMAT = "edgechain.decision"
DECISION_VERSION = 1
#: Names accepted by :meth:`Decision.table`.
TableName = Literal["predicted", "simulated", "candidates", "fragments", "devices"]
#: Metric columns shown by :meth:`Decision.summary`, in order, when present.
#: The simulator's service metrics (no arrival rate, no half-widths) plus the uncertainty.
SUMMARY_METRICS = (
    *(c for c in SERVICE_COLUMNS if c != "arrival_rate" and not c.endswith("_ci")),
    "uncertainty",
)


class DecisionFileError(ValueError):
    """A stored decision cannot be read; the message names the file, the field and the value."""


@dataclass(frozen=True, repr=False, eq=False)
class Decision:
    """A placement decision.

    ``print(decision)`` shows :meth:`summary`. The tables below are tidy: a plain
    ``RangeIndex``, first columns ``scenario`` and (per-service tables) ``service``;
    :meth:`table` gives copies of them, and of the fragment and device tables, in the shape
    :meth:`to_json` stores. Tables given in the shape used before issue 21 (``predicted``
    indexed by service name, a ``rank`` column instead of ``scenario``) are converted on
    construction.

    Example:
        >>> decision = Placer().place(request)  # doctest: +SKIP
        >>> decision.to_json("decision.json")  # doctest: +SKIP
        >>> Decision.from_json("decision.json").plot().savefig("decision.png")  # doctest: +SKIP

    Attributes:
        splits: Split type of every new service (``{name: "layer" | "semantic"}``).
        scenario: The chosen deployment (new and running services), validated and ready for
            :func:`datagen.sim.simulate`.
        predicted: Predicted metrics of the chosen deployment, one row per service:
            ``scenario`` (:attr:`chosen_scenario`), ``service``, then ``throughput``,
            ``loss_ratio``, ``latency_mean``, ``latency_p95``... (empty, with only ``scenario``
            and ``service``, when neither a predictor nor a simulation gave metrics).
        candidates: One row per candidate of the verification set: ``scenario`` (position in
            it: the search's best first, by predicted objective, then the safe alternatives),
            ``source`` (see :attr:`source`), ``predicted_objective``,
            ``simulated_objective`` (NaN when not simulated), ``uncertain`` (the predictor
            flagged it), ``chosen`` and ``placement`` (JSON of the new services' placement).
        simulated: Simulated metrics of the top candidates, one row per (``scenario``,
            ``service``), or ``None`` when verification was off or the simulator is missing.
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

    def __post_init__(self) -> None:
        # Frozen: the tidy copies replace the given frames through object.__setattr__.
        candidates = _tidy(self.candidates)
        if "scenario" not in candidates.columns:
            candidates.insert(0, "scenario", np.arange(len(candidates)))
        object.__setattr__(self, "candidates", candidates)
        object.__setattr__(
            self, "predicted", _tidy(self.predicted, scenario=self.chosen_scenario))
        if self.simulated is not None:
            object.__setattr__(self, "simulated", _tidy(self.simulated))

    @property
    def placement(self) -> Placement:
        """The placement of every service (new and running)."""
        return self.scenario.placement

    def devices_of(self, service: str) -> tuple[str, ...]:
        """Device of each fragment of a service."""
        return self.scenario.placement[service]

    @property
    def chosen_scenario(self) -> int:
        """Position of the chosen plan in :attr:`candidates`: its ``scenario`` in every table.

        ``0`` when no candidate is marked ``chosen``.
        """
        if "chosen" in self.candidates.columns and self.candidates["chosen"].astype(bool).any():
            row = self.candidates[self.candidates["chosen"].astype(bool)].iloc[0]
            return int(row["scenario"])
        return 0

    @property
    def chosen_rank(self) -> int:
        """Alias of :attr:`chosen_scenario`, the name used before the tables were tidy."""
        return self.chosen_scenario

    @property
    def uncertainty(self) -> float | None:
        """The predictor's largest per-service ``uncertainty`` of the chosen plan.

        In loss-ratio units (see :meth:`chainnet.Surrogate.predict`), or ``None`` when the
        predictor reports none (the analytic predictor, the simulator).
        """
        if "uncertainty" not in self.predicted.columns or self.predicted.empty:
            return None
        value = float(pd.to_numeric(self.predicted["uncertainty"]).max())
        return None if math.isnan(value) else value

    # -- display ---------------------------------------------------------------------------------

    def __repr__(self) -> str:
        splits = [f"{k}={v}" for k, v in self.splits.items()]
        if len(splits) > 4:
            splits = [*splits[:3], f"+{len(splits) - 3} more"]
        sim = "" if self.simulated_objective is None else f", {self.simulated_objective:.4g} sim"
        source = f"/{self.source}" if self.source and self.source != self.method else ""
        flag = ", uncertain" if self.uncertain else ""
        return (
            f"Decision({self.method}{source}: {len(self.scenario.services)} services on "
            f"{len(self.scenario.devices)} devices, objective {self.objective:.4g}{sim}{flag}; "
            f"{', '.join(splits)})"
        )

    def __str__(self) -> str:
        return self.summary()

    def metrics(self) -> pd.DataFrame:
        """Per-service metrics of the chosen plan, predicted and (where simulated) simulated.

        Returns:
            A tidy frame, one row per (``service``, ``source``), ``source`` being
            ``"predicted"`` or ``"simulated"``, with the service's ``split``,
            ``arrival_rate`` (requests/s) and ``sla`` (s), then the metrics of
            :data:`SUMMARY_METRICS` present (throughput in requests/s, latencies in s, ratios
            in [0, 1], ``uncertainty`` in loss-ratio units).
        """
        services = self.scenario.services
        names = [s.name for s in services]
        base = pd.DataFrame(
            {
                "service": names,
                "split": [s.split for s in services],
                "arrival_rate": [s.arrival_rate for s in services],
                "sla": [s.sla for s in services],
            }
        )
        sim = self.table("simulated")
        sim = sim[sim["scenario"] == self.chosen_scenario].set_index("service")
        parts = []
        for source, frame in (("predicted", self.predicted.set_index("service")),
                              ("simulated", sim)):
            cols = [c for c in SUMMARY_METRICS if c in frame.columns]
            if not cols or frame.empty:
                continue
            part = frame[cols].reindex(names).reset_index(drop=True)
            part.insert(0, "source", source)
            parts.append(pd.concat([base, part], axis=1))
        if not parts:
            return base.assign(source=pd.Series(dtype=object))
        order = {n: i for i, n in enumerate(names)}
        out = pd.concat(parts, ignore_index=True)
        out = out.sort_values("service", key=lambda c: c.map(order), kind="stable")
        columns = [*base.columns, "source", *[c for c in SUMMARY_METRICS if c in out.columns]]
        return out[columns].reset_index(drop=True)

    def summary(self) -> str:
        """A readable summary: the objective, warnings, each service's devices and metrics.

        The metric table has every column of :meth:`metrics` (no truncation); print it with
        ``print(decision.summary())`` (or ``print(decision)``).
        """
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
        running = [s for s in self.scenario.services if s.name not in self.splits]
        for s in running:
            lines.append(f"  {s.name} [{s.split}, running] -> "
                         f"{', '.join(self.scenario.placement[s.name])}")
        if self.scenario.links:
            lines.append(f"  network: {len(self.scenario.links)} links")
        if self.predictor_fallback:
            lines.append(f"  predictor fallback: {self.predictor_fallback}")
        table = self.metrics()
        text = table.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")
        lines.append("")
        lines.extend(text.splitlines())
        return "\n".join(lines)

    # -- tidy tables -----------------------------------------------------------------------------

    def table(self, name: TableName = "predicted") -> pd.DataFrame:
        """A copy of one of the decision's tables, with named columns and a plain index.

        Args:
            name: ``"predicted"`` (the chosen plan, one row per service), ``"simulated"`` (every
                simulated candidate, one row per (scenario, service); empty when nothing was
                simulated), ``"candidates"`` (one row per scenario), ``"fragments"`` (the chosen
                plan's fragment -> device mapping, one row per fragment) or ``"devices"`` (one
                row per device: memory used in bytes, offered load) (default:
                ``"predicted"``). The first three are copies of the attributes of those names.

        Returns:
            A new frame whose first columns are ``scenario`` (the candidate's position in the
            verification set) and, for per-service tables, ``service``.

        Raises:
            ValueError: On an unknown table name.
        """
        if name == "predicted":
            return self.predicted.copy()
        if name == "simulated":
            if self.simulated is None:
                return pd.DataFrame(columns=["scenario", "service"])
            return self.simulated.copy()
        if name == "candidates":
            return self.candidates.copy()
        if name == "fragments":
            rows = [
                {
                    "scenario": self.chosen_scenario,
                    "service": svc.name,
                    "fragment": frag.name,
                    "position": i,
                    "branch": frag.branch,
                    "device": dev,
                    "macs": frag.macs,
                    "weight_bytes": frag.weight_bytes,
                    "output_bytes": frag.output_bytes,
                }
                for svc in self.scenario.services
                for i, (frag, dev) in enumerate(
                    zip(svc.fragments, self.scenario.placement[svc.name])
                )
            ]
            return pd.DataFrame(rows)
        if name == "devices":
            return self._device_table()
        raise ValueError(
            f"name must be one of 'predicted', 'simulated', 'candidates', 'fragments', "
            f"'devices', got {name!r}"
        )

    def _device_table(self) -> pd.DataFrame:
        sc = self.scenario
        used = sc.memory_used()
        # offered load: arrival rate x service time, per server (may exceed 1)
        load = offered_load(sc.devices, placed_services(sc))
        count = dict.fromkeys(used, 0)
        for svc in sc.services:
            for dev in sc.placement[svc.name]:
                count[dev] += 1
        return pd.DataFrame(
            {
                "scenario": self.chosen_scenario,
                "device": [d.name for d in sc.devices],
                "kind": [d.kind for d in sc.devices],
                "speed": [d.speed for d in sc.devices],
                "memory": [d.memory for d in sc.devices],
                "memory_used": [used[d.name] for d in sc.devices],
                "offered_load": [load[d.name] for d in sc.devices],
                "fragments": [count[d.name] for d in sc.devices],
            }
        )

    # -- files -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole decision; :meth:`from_dict` inverts it.

        Keys: ``format``/``version``; ``method``, ``source`` (the winning candidate's route),
        ``predictor``, ``predictor_fallback``, ``uncertain``, ``out_of_range``, ``uncertainty``
        (loss-ratio units or ``null``); ``objective`` and ``simulated_objective``; ``splits``
        (service -> split); ``fragments`` (fragment -> device rows); the tidy tables
        ``predicted``, ``simulated``, ``candidates`` and ``split_context`` (each
        ``{"dtypes": {column: dtype}, "rows": [{column: value}, ...]}``); ``stats``; and the
        full ``scenario`` (:meth:`datagen.Scenario.to_dict`). Non-finite numbers are written as
        ``null`` (NaN) or ``"inf"``/``"-inf"``.
        """
        return {
            "format": DECISION_FORMAT,
            "version": DECISION_VERSION,
            "method": self.method,
            "source": self.source,
            "predictor": self.predictor,
            "predictor_fallback": self.predictor_fallback,
            "uncertain": bool(self.uncertain),
            "out_of_range": bool(self.out_of_range),
            "uncertainty": _encode(self.uncertainty),
            "objective": _encode(self.objective),
            "simulated_objective": _encode(self.simulated_objective),
            "splits": dict(self.splits),
            "fragments": _encode_table(
                self.table("fragments")[["service", "fragment", "position", "branch", "device"]]
            )["rows"],
            "predicted": _encode_table(self.table("predicted")),
            "simulated": None if self.simulated is None else _encode_table(
                self.table("simulated")),
            "candidates": _encode_table(self.table("candidates")),
            "split_context": None if self.split_context is None else _encode_table(
                self.split_context.rename_axis("service").reset_index()),
            "stats": {str(k): _encode(v) for k, v in self.stats.items()},
            "scenario": self.scenario.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "decision") -> Decision:
        """Build a decision from :meth:`to_dict` output.

        Args:
            data: The dict.
            where: Name of the source, used in error messages (default: ``"decision"``).

        Raises:
            DecisionFileError: Naming the source, the field and the value, on a wrong
                ``format``/``version``, a missing key, a value of the wrong type or an invalid
                scenario.
        """
        if not isinstance(data, Mapping):
            raise DecisionFileError(
                f"{where}: must hold an object with the keys of Decision.to_dict(), got "
                f"{type(data).__name__}"
            )
        fmt = data.get("format")
        if fmt != DECISION_FORMAT:
            raise DecisionFileError(
                f"{where}: format must be {DECISION_FORMAT!r}, got {fmt!r}; is this a file "
                f"written by Decision.to_json or `python -m placement place`?"
            )
        version = data.get("version")
        if version != DECISION_VERSION:
            raise DecisionFileError(
                f"{where}: version must be {DECISION_VERSION}, got {version!r}; write it again "
                f"with this version of edgechain"
            )
        r = _Fields(data, where)
        try:
            scenario = Scenario.from_dict(r.get("scenario", Mapping))
        except ValueError as exc:
            raise DecisionFileError(f"{where}: scenario: {exc}") from None
        splits = r.get("splits", Mapping)
        for name, split in splits.items():
            if not isinstance(split, str):
                raise DecisionFileError(
                    f"{where}: splits.{name} must be a split name, got {split!r}")
        predicted = r.table("predicted")
        if predicted is None:
            raise DecisionFileError(f"{where}: predicted must be a table, got null")
        simulated = r.table("simulated")
        for key, table in (("predicted", predicted), ("simulated", simulated)):
            if table is not None and "service" not in table.columns:
                raise DecisionFileError(
                    f"{where}: {key} must have a service column, got columns "
                    f"{list(table.columns)}; is this a file written by Decision.to_json?")
        candidates = r.table("candidates")
        if candidates is None:
            raise DecisionFileError(f"{where}: candidates must be a table, got null")
        context = r.table("split_context")
        if context is not None:
            if "allowed" in context.columns:
                context["allowed"] = [tuple(v) if isinstance(v, list) else v
                                      for v in context["allowed"]]
            context = context.set_index("service") if "service" in context.columns else context
        stats = {k: _decode(v) for k, v in r.get("stats", Mapping).items()}
        sim_obj = r.number("simulated_objective", optional=True)
        objective = r.number("objective", optional=True)  # NaN is stored as null
        fallback = r.get("predictor_fallback", (str, type(None)))
        return cls(
            splits=dict(splits),
            scenario=scenario,
            predicted=predicted,
            candidates=candidates,
            simulated=simulated,
            objective=math.nan if objective is None else objective,
            simulated_objective=sim_obj,
            stats=stats,
            predictor=r.get("predictor", str),
            predictor_fallback=fallback,
            split_context=context,
            method=r.get("method", str),
            source=r.get("source", str),
            uncertain=r.get("uncertain", bool),
            out_of_range=r.get("out_of_range", bool),
        )

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 1) -> str:
        """Serialise to JSON text (see :meth:`to_dict`); also write it to ``path`` if given.

        Args:
            path: File to write (default: ``None`` = only return the text).
            indent: JSON indentation (default: ``1``; ``None`` = one line).

        Returns:
            The JSON text.
        """
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    @classmethod
    def from_json(cls, source: str | Path) -> Decision:
        """Read a decision from a JSON (or YAML) file path or from JSON text.

        Raises:
            DecisionFileError: If the file cannot be read, is not JSON/YAML or not a decision
                (the message names the file, the field and the value).
        """
        return cls._load(source, "json")

    def to_yaml(self, path: str | Path | None = None) -> str:
        """Serialise to YAML text (same content as :meth:`to_json`); also write it to ``path``."""
        import yaml

        text = yaml.safe_dump(self.to_dict(), sort_keys=False, width=100)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_yaml(cls, source: str | Path) -> Decision:
        """Read a decision from a YAML (or JSON) file path or YAML text.

        Raises:
            DecisionFileError: As :meth:`from_json`.
        """
        return cls._load(source, "yaml")

    @classmethod
    def _load(cls, source: str | Path, fmt: str) -> Decision:
        if not isinstance(source, (str, Path)):
            raise DecisionFileError(
                f"source must be a file path or text, got {type(source).__name__}")
        is_text = isinstance(source, str) and (
            source.lstrip().startswith("{") or "\n" in source)
        where = "decision text" if is_text else str(source)
        if is_text:
            text = str(source)
        else:
            path = Path(source)
            try:
                text = path.read_text()
            except (OSError, ValueError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise DecisionFileError(f"cannot read decision file {where!r}: {reason}") from None
            if path.suffix.lower() in (".yaml", ".yml"):
                fmt = "yaml"
            elif path.suffix.lower() == ".json":
                fmt = "json"
        try:
            if fmt == "json":
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except (ValueError, RecursionError) as exc:
            msg = " ".join(str(exc).split())
            raise DecisionFileError(f"{where}: not valid {fmt.upper()}: {msg}") from None
        except Exception as exc:  # yaml.YAMLError, without importing yaml up front
            from placement.files import yaml_error

            raise DecisionFileError(f"{where}: not valid YAML{yaml_error(exc)}") from None
        return cls.from_dict(data, where=where)

    # -- picture ---------------------------------------------------------------------------------

    def plot(self, ax: Axes | None = None) -> Figure:
        """Draw the decision: devices, fragments and links, with per-service loss and latency.

        Four panels: the deployment map (devices as boxes with each service's fragments in
        them, links as lines, the chains as arrows), device offered load and memory use, and
        per-service loss ratio and latency (predicted and simulated, with the SLA). Uses
        matplotlib's Agg backend when no figure is open, so it works without a display.

        Args:
            ax: Axes to draw only the deployment map on (default: ``None`` = a new figure with
                all four panels).

        Returns:
            The figure; save it with ``fig.savefig("decision.png")``.
        """
        from placement.plotting import plot_decision

        return plot_decision(self, ax=ax)


# -- JSON helpers ------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    """A JSON-ready copy of ``value``: numpy scalars and arrays, tuples, NaN and inf handled."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _decode(value: Any) -> Any:
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return value


def _tidy(frame: pd.DataFrame, scenario: int | None = None) -> pd.DataFrame:
    """``frame`` with a plain index and ``scenario`` and ``service`` as its first columns.

    Accepts the shapes used before the tables were tidy: a ``rank`` column (renamed
    ``scenario``) and a per-service table indexed by service name (the index becomes the
    ``service`` column, as text). With ``scenario`` given, the ``scenario`` column is set to it.
    """
    out = frame.rename(columns={"rank": "scenario"})
    if "service" not in out.columns and scenario is not None:
        out = out.copy()
        out.index = out.index.astype(str)
        out = out.rename_axis("service").reset_index()
    else:
        out = out.reset_index(drop=True)
    if scenario is not None:
        out = out.drop(columns="scenario", errors="ignore")
        out.insert(0, "scenario", scenario)
        out["service"] = out["service"].astype(str)
    first = [c for c in ("scenario", "service") if c in out.columns]
    return out[[*first, *[c for c in out.columns if c not in first]]]


def _encode_table(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
        "rows": [
            {str(c): _encode(v) for c, v in zip(frame.columns, row)}
            for row in frame.itertuples(index=False, name=None)
        ],
    }


class _Fields:
    """Reads the fields of a stored decision; errors name the source, the field and the value."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def get(self, key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in self.data:
            raise DecisionFileError(f"{self.where}: {key} is missing; add it")
        value = self.data[key]
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(
                k.__name__ for k in kind)
            raise DecisionFileError(
                f"{self.where}: {key} must be {names}, got {type(value).__name__} {value!r:.80}")
        return value

    def number(self, key: str, optional: bool = False) -> Any:
        value = self.data.get(key)
        if value is None and optional:
            return None
        value = _decode(value)
        number = as_real(value)
        if number is None:
            raise DecisionFileError(
                f"{self.where}: {key} must be a number, got {value!r:.80}")
        return number

    def table(self, key: str) -> pd.DataFrame | None:
        raw = self.data.get(key)
        if raw is None:
            return None
        if not isinstance(raw, Mapping) or not isinstance(raw.get("rows"), list) or not \
                isinstance(raw.get("dtypes"), Mapping):
            raise DecisionFileError(
                f"{self.where}: {key} must be a table {{dtypes: {{column: dtype}}, rows: "
                f"[...]}}, got {raw!r:.80}")
        dtypes = {str(c): str(t) for c, t in raw["dtypes"].items()}
        rows = raw["rows"]
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise DecisionFileError(
                    f"{self.where}: {key}.rows[{i}] must be an object, got {row!r:.80}")
        frame = pd.DataFrame.from_records(rows, columns=list(dtypes))
        for col, dtype in dtypes.items():
            try:
                if dtype.startswith(("float", "int")):
                    values = [math.nan if v is None else _decode(v) for v in frame[col]]
                    frame[col] = pd.Series(values, index=frame.index, dtype=dtype)
                elif dtype == "bool":
                    bad = [v for v in frame[col] if not isinstance(v, bool)]
                    if bad:
                        raise ValueError(f"expected true/false, got {bad[0]!r}")
                    frame[col] = frame[col].astype(bool)
                elif dtype != "object":
                    frame[col] = frame[col].astype(dtype)
            except (ValueError, TypeError) as exc:
                raise DecisionFileError(
                    f"{self.where}: {key} column {col!r} must hold {dtype} values: {exc}"
                ) from None
        return frame


@runtime_checkable
class PlacementMethod(Protocol):
    """The placer contract: anything that answers a request with a :class:`Decision`.

    :class:`placement.Placer` and the classic baselines of :mod:`placement.baselines.classic`
    (random, round-robin, greedy, Neurosurgeon, ILP) satisfy it; so does any object of yours
    with the same method (structural typing). The online loop
    (:class:`placement.online.OnlineExperiment`) and the benchmarks take any of them.
    """

    def place(self, request: PlacementRequest) -> Decision:  # pragma: no cover
        """Choose split types and a placement for the request's new services."""
        ...
