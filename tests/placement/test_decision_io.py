"""Decision files, repr, summary, tidy tables and the decision picture (issue 21)."""

import dataclasses
import json
import math

import pandas as pd
import pytest

from chainnet.analytic import AnalyticSurrogate
from datagen.world import Device, DNNProfile, LayerProfile
from placement import Decision, PlacementRequest, Placer, ServiceRequest
from placement.decision import DECISION_FORMAT, DecisionFileError
from placement.search import LocalSearch

METRICS = ("throughput", "loss_ratio", "latency_mean", "latency_p95")


def _profile(name: str) -> DNNProfile:
    layers = tuple(LayerProfile(f"l{i}", "conv", macs=50_000_000, params=250_000, out_elems=20_000)
                   for i in range(6))
    return DNNProfile(name, layers, accuracy=0.9, semantic_accuracy=0.85)


def _decide(verify_top_k: int = 2) -> Decision:
    devices = [Device("slow", 1e9, memory=5e6, capacity=4, kind="rpi4"),
               Device("mid", 2e9, memory=5e6, capacity=4),
               Device("fast", 4e9, memory=8e6, capacity=4)]
    services = [ServiceRequest("a", _profile("pa"), 20.0, sla=0.5, k=3, splits=("layer",)),
                ServiceRequest("b", _profile("pb"), 10.0, k=2)]
    request = PlacementRequest.star(devices, "wifi", services=services, access={"fast": "lan"})
    placer = Placer(predictor=AnalyticSurrogate(), verify_top_k=verify_top_k,
                    verify_requests=300, refine_evaluations=0,
                    search=LocalSearch(max_seconds=None, max_evaluations=150))
    return placer.place(request)


@pytest.fixture(scope="module")
def decision() -> Decision:
    return _decide()


def _same(a: Decision, b: Decision) -> None:
    assert a.splits == b.splits and a.scenario == b.scenario
    pd.testing.assert_frame_equal(a.predicted, b.predicted)
    pd.testing.assert_frame_equal(a.candidates, b.candidates)
    if a.simulated is None:
        assert b.simulated is None
    else:
        pd.testing.assert_frame_equal(a.simulated, b.simulated)
    for name in ("predictor", "predictor_fallback", "method", "source", "uncertain",
                 "out_of_range", "simulated_objective", "stats"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.objective == b.objective or math.isnan(a.objective) and math.isnan(b.objective)
    if a.split_context is not None:
        plain = [c for c in a.split_context.columns if a.split_context[c].dtype != object]
        pd.testing.assert_frame_equal(a.split_context[plain], b.split_context[plain])
        assert list(b.split_context["allowed"]) == list(a.split_context["allowed"])


def test_json_round_trip(decision: Decision, tmp_path) -> None:
    text = decision.to_json(tmp_path / "d.json")
    data = json.loads(text)
    assert data["format"] == DECISION_FORMAT and data["source"] == decision.source
    assert data["predictor"].startswith("AnalyticSurrogate")
    assert data["uncertain"] is False and data["out_of_range"] is False
    # the fragment -> device mapping, readable without pandas
    mapping = {(r["service"], r["position"]): r["device"] for r in data["fragments"]}
    for svc in decision.scenario.services:
        assert [mapping[(svc.name, i)] for i in range(len(svc.fragments))] == list(
            decision.placement[svc.name])
    # tidy tables: one row per (scenario, service)
    rows = data["simulated"]["rows"]
    assert list(rows[0])[:2] == ["scenario", "service"] and len(rows) == 2 * len(
        decision.candidates)
    _same(decision, Decision.from_json(tmp_path / "d.json"))
    _same(decision, Decision.from_json(text))  # JSON text works too


def test_yaml_round_trip_and_no_verification(tmp_path) -> None:
    d = _decide(verify_top_k=0)
    assert d.simulated is None
    d.to_yaml(tmp_path / "d.yaml")
    assert (tmp_path / "d.yaml").read_text().startswith(f"format: {DECISION_FORMAT}")
    back = Decision.from_json(tmp_path / "d.yaml")  # the suffix picks the parser
    _same(d, back)
    _same(d, Decision.from_yaml(d.to_yaml()))


def test_repr_is_short(decision: Decision) -> None:
    text = repr(decision)
    assert len(text) < 200 and "\n" not in text
    assert text.startswith("Decision(placer") and "a=layer" in text


def test_summary_shows_every_metric_untruncated(decision: Decision) -> None:
    text = decision.summary()
    assert str(decision) == text
    assert "a [layer]" in text and "network: 3 links" in text
    table = text.split("\n\n", 1)[1]
    assert "..." not in table
    for col in (*METRICS, "latency_p99", "tput_ratio", "respt_ratio", "arrival_rate", "sla"):
        assert col in table, col
    assert table.count("predicted") == 2 and table.count("simulated") == 2


def test_tidy_tables(decision: Decision) -> None:
    rank = decision.chosen_scenario
    assert decision.chosen_rank == rank  # the older name
    for name in ("predicted", "simulated", "fragments"):
        t = decision.table(name)
        assert list(t.columns[:2]) == ["scenario", "service"], name
        assert isinstance(t.index, pd.RangeIndex)
    assert set(decision.table("predicted")["scenario"]) == {rank}
    assert list(decision.table("candidates").columns[:2]) == ["scenario", "source"]
    # the attributes have the same shape; table() returns copies of them
    for name in ("predicted", "simulated", "candidates"):
        attr = getattr(decision, name)
        pd.testing.assert_frame_equal(decision.table(name), attr)
        assert decision.table(name) is not attr
    assert set(decision.predicted["service"]) == {"a", "b"}
    assert set(decision.simulated["scenario"]) == set(decision.candidates["scenario"])
    m = decision.metrics()
    assert set(m["source"]) == {"predicted", "simulated"} and len(m) == 4
    dev = decision.table("devices")
    assert dev["memory_used"].sum() == pytest.approx(sum(decision.scenario.memory_used().values()))
    assert (dev["offered_load"] >= 0).all()
    with pytest.raises(ValueError, match="name must be one of .*got 'nope'"):
        decision.table("nope")  # type: ignore[arg-type]


def test_tables_in_the_old_shape_are_made_tidy(decision: Decision) -> None:
    # before issue 21: predicted indexed by service name, a rank column instead of scenario
    assert decision.simulated is not None
    old = dataclasses.replace(
        decision,
        predicted=decision.predicted.drop(columns="scenario").set_index("service"),
        candidates=decision.candidates.rename(columns={"scenario": "rank"}),
        simulated=decision.simulated.rename(columns={"scenario": "rank"}),
    )
    for name in ("predicted", "simulated", "candidates"):
        pd.testing.assert_frame_equal(getattr(old, name), getattr(decision, name))
    assert old.to_json() == decision.to_json()


def test_plot_writes_a_picture(decision: Decision, tmp_path) -> None:
    fig = decision.plot()
    assert len(fig.axes) == 4
    fig.savefig(tmp_path / "d.png", dpi=60)
    assert (tmp_path / "d.png").stat().st_size > 10_000
    from matplotlib.figure import Figure

    other = Figure()
    ax = other.subplots()
    assert decision.plot(ax=ax) is other
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes"):
        decision.plot(ax="left")  # type: ignore[arg-type]


def _drop_column(table: dict, column: str) -> None:
    table["dtypes"].pop(column)
    for row in table["rows"]:
        row.pop(column)


@pytest.mark.parametrize(("edit", "match"), [
    (lambda d: d.update(format="other"), r"format must be 'edgechain.decision', got 'other'"),
    (lambda d: d.update(version=99), "version must be 1, got 99"),
    (lambda d: d.pop("splits"), "splits is missing"),
    (lambda d: d.update(uncertain="yes"), "uncertain must be bool, got str 'yes'"),
    (lambda d: d.update(objective="low"), "objective must be a number, got 'low'"),
    (lambda d: d["scenario"]["devices"][0].update(speed=-1),
     r"scenario: devices\[0\].*speed must be > 0"),
    (lambda d: d["predicted"]["rows"][0].update(loss_ratio="x"),
     "predicted column 'loss_ratio' must hold float64 values"),
    (lambda d: d.update(candidates=[1]), "candidates must be a table"),
    (lambda d: _drop_column(d["simulated"], "service"), "simulated must have a service column"),
], ids=["format", "version", "missing", "bool", "number", "scenario", "column", "table",
        "no-service"])
def test_bad_files_name_the_file_field_and_value(decision: Decision, tmp_path, edit,
                                                 match) -> None:
    data = decision.to_dict()
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DecisionFileError, match=match) as exc:
        Decision.from_json(path)
    assert str(path) in str(exc.value)


def test_unreadable_sources(tmp_path) -> None:
    with pytest.raises(DecisionFileError, match="cannot read decision file .*missing.json"):
        Decision.from_json(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(DecisionFileError, match="x.json: not valid JSON"):
        Decision.from_json(tmp_path / "x.json")
    (tmp_path / "x.yaml").write_text("a: [1,\n")
    with pytest.raises(DecisionFileError, match=r"x.yaml: not valid YAML at line \d"):
        Decision.from_json(tmp_path / "x.yaml")
    with pytest.raises(DecisionFileError, match="source must be a file path or text, got int"):
        Decision.from_json(3)  # type: ignore[arg-type]
