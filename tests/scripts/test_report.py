"""Tests of the evaluation report: section functions on tiny budgets, determinism, the CLI.

The default tests run every section once on tiny budgets (``scale``) and check the Markdown,
the plots and the numbers; the ``slow`` test runs the real ``--quick`` report twice.
"""

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from scripts import report
from scripts.report_sections import plotting
from scripts.report_sections.base import ReportContext, Section, fmt, md_table

TINY = 0.05


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Section]]:
    out = tmp_path_factory.mktemp("tiny")
    ctx = ReportContext(out, quick=True, seed=3, scale=TINY)
    return report.build_report(ctx, log=lambda m: None)


# ------------------------------------------------------------------------------ helpers


def test_fmt_and_md_table() -> None:
    assert fmt(float("nan")) == "n/a" and fmt(math.inf) == "inf" and fmt(3) == "3"
    assert fmt(0.123456) == "0.1235" and fmt(True) == "yes" and fmt(0.0) == "0"
    df = pd.DataFrame({"a": [0.5, np.nan], "b": ["x", "y"]}, index=pd.Index([1, 2], name="k"))
    text = md_table(df, percent=("a",))
    lines = text.splitlines()
    assert lines[0] == "| k | a | b |" and lines[1] == "|---|---|---|"
    assert lines[2] == "| 1 | 50.00% | x |" and lines[3] == "| 2 | n/a | y |"


def test_context_pick() -> None:
    ctx = ReportContext(Path("."), quick=True, scale=0.1)
    assert ctx.pick(100, 1000) == 10 and ctx.pick(5, 50, minimum=2) == 2
    assert ReportContext(Path("."), quick=False).pick(3, 7) == 7


def test_plot_without_labels_is_refused(tmp_path: Path) -> None:
    fig, ax = plotting.figure()
    ax.plot([0, 1], [0, 1], label="x")
    with pytest.raises(plotting.PlotError, match="title, x label, y label, legend"):
        plotting.save(fig, tmp_path, "bad.png")
    assert not (tmp_path / "bad.png").exists()
    fig, ax = plotting.figure()
    ax.plot([0, 1], [0, 1], label="x")
    ax.set(title="t", xlabel="x (s)", ylabel="y (s)")
    ax.legend()
    assert plotting.save(fig, tmp_path, "ok.png") == "ok.png"
    assert (tmp_path / "ok.png").stat().st_size > 0
    assert not plt.get_fignums()


def test_simulator_theory_oracles() -> None:
    from scripts.report_sections.simulator import CAPACITY, single_queue, theory

    loss, tput, lat = theory(1.0, 1.0)
    assert loss == pytest.approx(1 / (CAPACITY + 1))
    assert tput == pytest.approx(1 - 1 / (CAPACITY + 1))
    loss_d, _, _ = theory(0.3, 0.0)
    assert 0 < loss_d < theory(0.3, 1.0)[0]  # deterministic service loses less
    sc = single_queue(0.7, 0.0)
    assert sc.services[0].arrival_rate == 0.7 and sc.devices[0].capacity == CAPACITY
    with pytest.raises(ValueError, match="scv must be 0"):
        theory(0.5, 0.5)


# ------------------------------------------------------------------------------ sections


def test_report_has_every_section_with_figures(tiny_report) -> None:
    path, sections = tiny_report
    text = path.read_text()
    assert [s.key for s in sections] == list(report.SECTIONS)
    for s in sections:
        assert f"## {s.title}" in text
        assert s.figures, s.key
        for name in s.figures:
            assert (path.parent / name).stat().st_size > 1000
            assert f"![{name}]({name})" in text
        assert "section total" in s.timings
    timings = (path.parent / "timings.md").read_text()
    assert "section total" in timings
    # no wall-clock numbers leak into report.md
    assert "wall_s" not in text and "section total" not in text


def test_simulator_section(tiny_report) -> None:
    sec = {s.key: s for s in tiny_report[1]}["simulator"]
    df = sec.data["points"]
    assert set(df.model) == {"M/M/1/K", "M/D/1/K"}
    assert np.all((df.loss_sim >= 0) & (df.loss_sim <= 1))
    # even tiny runs are in the right ballpark of theory
    assert df.lat_rel_err.max() < 0.5 and df.loss_abs_err.max() < 0.2


def test_surrogate_section(tiny_report) -> None:
    sec = {s.key: s for s in tiny_report[1]}["surrogate"]
    overall = sec.data["overall"]
    assert set(overall.regime) == {"chainnet_like", "edge", "large"}
    assert "AnalyticSurrogate" in overall.index
    assert np.all(overall["combined_mape"].dropna() >= 0)
    from chainnet.surrogate import DEFAULT_CHECKPOINT

    if not DEFAULT_CHECKPOINT.is_file():
        assert "No trained model is packaged" in sec.body
        assert "untrained GCNBaseline" in overall.index
    assert "No `--chainnet DIR` was given" in sec.body


def test_surrogate_section_reads_chainnet_folder(tmp_path: Path) -> None:
    from datagen.chainnet_format import write_chainnet
    from scripts.report_sections import surrogate

    samples = surrogate.make_samples("chainnet_like", 3, 300, 0, tmp_path)
    raw = write_chainnet([(sc, lab) for sc, lab, _ in samples], tmp_path / "cn" / "raw")
    ctx = ReportContext(tmp_path, quick=True, seed=0, chainnet=raw, scale=TINY)
    timings: dict[str, float] = {}
    data: dict = {}
    specs, _ = surrogate.load_predictors(ctx, samples)
    analytic = [s for s in specs if s.name == "AnalyticSurrogate"]
    lines = surrogate._chainnet_part(ctx, analytic, timings, data)
    assert "3 graphs read" in "\n".join(lines)
    assert data["chainnet"].loc["AnalyticSurrogate", "services"] == sum(
        len(s[0].services) for s in samples)


def test_surrogate_uses_given_checkpoints(tmp_path: Path) -> None:
    from chainnet import ChainNet, GCNBaseline, Surrogate, build_batch
    from scripts.report_sections import surrogate

    samples = surrogate.make_samples("edge", 2, 300, 1, tmp_path)
    paths = []
    for cls, name in ((ChainNet, "m.pt"), (GCNBaseline, "gcn.pt")):
        model = cls(hidden_channels=8)
        model.normalizer.fit(build_batch([s[0] for s in samples]))
        paths.append(Surrogate(model).save(tmp_path / name))
    ctx = ReportContext(tmp_path, quick=True, model=paths[0], baselines=(paths[1],))
    specs, note = surrogate.load_predictors(ctx, samples)
    names = [s.name for s in specs]
    assert names[0] == "learned ChainNet" and "trained GCNBaseline" in names
    assert "untrained GATBaseline" in names and "untrained GCNBaseline" not in names
    assert "No trained model is packaged" not in note


def test_placement_section(tiny_report) -> None:
    sec = {s.key: s for s in tiny_report[1]}["placement"]
    base = sec.data["baselines"]
    assert set(base.method) == {"placer", "random", "round_robin", "greedy", "neurosurgeon",
                                "ilp"}
    assert np.all(base.objective >= 0)
    gap = sec.data["gap"]
    assert len(gap) >= 1 and np.all(np.isfinite(gap["gap (req/s)"]))
    budget = sec.data["budget"]
    assert set(budget.search) == {"surrogate-driven", "simulation-driven"}
    assert np.all(budget["evaluations used"] <= budget["budget (evaluations)"] + 256)


def test_policies_section(tiny_report) -> None:
    sec = {s.key: s for s in tiny_report[1]}["policies"]
    table = sec.data["table"]
    families = set(table.index.get_level_values("family"))
    assert families == {"splitplace_tight", "splitplace_loose", "zoo_tight", "zoo_loose"}
    policies = set(table.index.get_level_values("policy"))
    assert policies >= {"default", "informed", "linucb", "splitplace", "layer_only",
                        "semantic_only", "thompson", "random"}
    assert (table.xs("layer_only", level="policy")["semantic share"] == 0.0).all()
    assert (table.xs("semantic_only", level="policy")["semantic share"] == 1.0).all()
    assert np.all(table["final regret"] >= -1e-12)
    assert np.all(table["reward / oracle"] <= 1 + 1e-12)
    for col in ("response time (ms)", "SLA violations", "accuracy", "mean reward"):
        assert np.all(np.isfinite(table[col])), col
    # the semantic split costs accuracy on every family
    acc = table["accuracy"]
    assert (acc.xs("semantic_only", level="policy") < acc.xs("layer_only", level="policy")).all()


def test_analytical_section(tiny_report) -> None:
    sec = {s.key: s for s in tiny_report[1]}["analytical"]
    ratio = sec.data["orric"]
    assert np.all(ratio.to_numpy() <= 1 + 1e-9)  # nobody beats the offline optimum
    curve = sec.data["qpart_curve"]
    assert list(curve.index) == list(range(len(curve)))
    assert curve["server MAC"].iloc[-1] == 0 and curve["device MAC"].iloc[0] == 0
    sim = sec.data["qpart_sim"]
    assert np.all((sim["loss ratio"] >= 0) & (sim["loss ratio"] <= 1))
    infida = sec.data["infida"]
    assert np.all(infida["NTAG"] >= 0)
    assert np.all(infida.loc[[i for i in infida.index if i.startswith("INFIDA")], "NTAG"] > 0)


def test_same_seed_same_report(tiny_report, tmp_path: Path) -> None:
    path, _ = tiny_report
    again, _ = report.build_report(ReportContext(tmp_path, quick=True, seed=3, scale=TINY),
                                   log=lambda m: None)
    assert again.read_text() == path.read_text()


def test_cli_errors(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        report.main(["--out", str(tmp_path), "--chainnet", str(tmp_path / "missing")])
    with pytest.raises(SystemExit):
        report.main(["--out", str(tmp_path), "--sections", "nope"])
    with pytest.raises(ValueError, match="unknown report sections"):
        report.build_report(ReportContext(tmp_path), ["nope"])


@pytest.mark.slow
def test_quick_report_cli_is_deterministic(tmp_path: Path) -> None:
    assert report.main(["--out", str(tmp_path / "a"), "--quick", "--seed", "0"]) == 0
    assert report.main(["--out", str(tmp_path / "b"), "--quick", "--seed", "0"]) == 0
    a = (tmp_path / "a" / "report.md").read_text()
    assert a == (tmp_path / "b" / "report.md").read_text()
    for key in ("(a) Simulator", "(b) Surrogate", "(c) Placement", "(d) Split policies",
                "(e) Analytical"):
        assert key in a


def test_recorded_evaluation_replaces_untrained_baselines(tmp_path: Path) -> None:
    from chainnet import ChainNet, Surrogate, build_batch
    from scripts.report_sections import surrogate

    samples = surrogate.make_samples("edge", 2, 300, 1, tmp_path)
    model = ChainNet(hidden_channels=8)
    model.normalizer.fit(build_batch([s[0] for s in samples]))
    metrics = {"services": 10, "combined_mape": 0.02, "loss_mae": 0.004}
    record = {"chainnet_like_test": {"default": metrics, "analytic": metrics}}
    path = Surrogate(model, metadata={"evaluation": record}).save(tmp_path / "m.pt")
    specs, _ = surrogate.load_predictors(ReportContext(tmp_path, quick=True, model=path), samples)
    assert [s.name for s in specs] == ["learned ChainNet", "AnalyticSurrogate"]
    text = "\n".join(surrogate._recorded_part(specs[0]))
    assert "chainnet_like_test" in text and "2.00%" in text
    assert surrogate._recorded_part(specs[1]) == []


# ------------------------------------------------------------------------------ summary, plots


def test_report_opens_with_a_summary_built_from_the_numbers(tiny_report) -> None:
    path, sections = tiny_report
    text = path.read_text()
    assert text.index("## Summary") < text.index("### Terms") < text.index("## (a)")
    summary = text[text.index("## Summary"):text.index("### Terms")]
    assert len(summary.splitlines()) < 40  # one screen
    for key in ("Simulator", "Placement", "Split policies", "ORRIC", "INFIDA", "QPART"):
        assert key in summary, key
    for term in ("NTAG", "(P)", "spec O4", "SLA tertile", "OPT", "objective"):
        assert f"- **{term}" in text, term
    # the summary changes with the numbers: a baseline that beats the placer is called out
    from scripts.report_sections.summary import summary_markdown

    placement = {s.key: s for s in sections}["placement"]
    base = placement.data["baselines"].copy()
    base.loc[base.method == "greedy", "objective"] = -1.0
    fake = Section("placement", "x", "", data={**placement.data, "baselines": base})
    assert "**a simpler baseline has a lower mean objective**: greedy" in summary_markdown([fake])


def test_split_per_context_is_a_heatmap_and_baselines_use_markers(tiny_report) -> None:
    path, _ = tiny_report
    from PIL import Image

    with Image.open(path.parent / "policies_split_per_context.png") as img:
        assert img.size[0] > 300
    text = path.read_text()
    assert "objective of exactly 0" in text  # the placement plot says where zeros sit
    assert "Error bars in the plot: 95% confidence half-widths" in text


def test_heatmap_counts_its_colorbar_as_legend(tmp_path: Path) -> None:
    fig, ax = plotting.figure()
    plotting.heatmap(ax, np.array([[0.0, 50.0], [100.0, np.nan]]), ["a", "b"], ["x", "y"],
                     colorbar_label="share (%)")
    ax.set(title="t", xlabel="x", ylabel="y")
    assert plotting.save(fig, tmp_path, "heat.png") == "heat.png"
    fig, ax = plotting.figure()
    ax.imshow(np.eye(2))
    ax.set(title="t", xlabel="x", ylabel="y")
    with pytest.raises(plotting.PlotError, match="legend"):
        plotting.save(fig, tmp_path, "bad.png")


def test_coinciding_lines_are_restyled_and_labelled(tmp_path: Path) -> None:
    fig, ax = plotting.figure()
    x = np.arange(20)
    ax.plot(x, x * 0.5, label="a")
    ax.plot(x, x * 0.5, label="b")
    ax.plot(x, x * 0.5 + 1e-15, label="c")
    ax.plot(x, x * 2.0, label="d")
    ax.set(title="t", xlabel="x (s)", ylabel="y (s)")
    ax.legend(fontsize=7)
    groups = plotting.coinciding_lines(ax)
    assert [[ln.get_label() for ln in g] for g in groups] == [["a", "b", "c"]]
    assert plotting.distinguish_coinciding(fig) == 2
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a", "b (= a)", "c (= a)", "d"]
    styles = {ln.get_label(): (str(ln.get_linestyle()), ln.get_marker()) for ln in ax.lines}
    assert len({styles["a"], styles["b (= a)"], styles["c (= a)"]}) == 3
    plt.close(fig)


def test_cli_model_takes_baselines_and_the_old_flag_still_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[ReportContext] = []

    def fake_build(ctx: ReportContext, sections: list[str]) -> tuple[Path, list[Section]]:
        seen.append(ctx)
        return ctx.out / "report.md", []

    monkeypatch.setattr(report, "build_report", fake_build)
    a, b, c = (tmp_path / n for n in ("a.pt", "b.pt", "c.pt"))
    for f in (a, b, c):
        f.write_bytes(b"")
    assert report.main(["--out", str(tmp_path / "r"), "--model", str(a), str(b)]) == 0
    assert seen[-1].model == a and seen[-1].baselines == (b,)
    assert report.main(["--out", str(tmp_path / "r"), "--model", "default",
                        "--baseline", str(c)]) == 0
    assert seen[-1].model is None and seen[-1].baselines == (c,)
    assert "--baseline is deprecated" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        report.main(["--out", str(tmp_path / "r"), "--model", str(a), "missing.pt"])
