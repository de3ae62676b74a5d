"""``python -m placement``: place, explain and plot; one-line errors (issue 21).

Three subprocess calls check the entry point, its import cost and a one-line failure; the rest
calls :func:`placement.cli.main` in-process.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from placement import Decision
from placement.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CLUSTER = str(EXAMPLES / "cluster.yaml")
SERVICES = str(EXAMPLES / "services.yaml")
RUNNING = str(EXAMPLES / "running.yaml")
FAST = ("--predictor", "analytic", "--verify_top_k", "1", "--verify_requests", "300",
        "--refine_evaluations", "0")


def _python(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_help_through_the_module_is_light() -> None:
    proc = _python("-m", "placement", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage: python -m placement" in proc.stdout
    for command in ("place", "explain", "plot"):
        assert command in proc.stdout
    # --help imports neither torch nor numpy or pandas, the simulator or matplotlib (the
    # package datagen's lazy exports, standard library only, are all it loads of datagen)
    code = ("import sys\nfrom placement.cli import main\nmain(['place', '--help'])\n"
            "print(sorted(m for m in ('torch', 'numpy', 'pandas', 'datagen.sim', "
            "'datagen.world', 'matplotlib', 'chainnet') if m in sys.modules))")
    proc = _python("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert "--verify_top_k" in proc.stdout and proc.stdout.strip().endswith("[]")


def test_bad_input_fails_with_one_line_through_the_module(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("services:\n  - {name: cam, profile: resnet18, "
                                     "arrival_rate: -3}\n")
    proc = _python("-m", "placement", "place", "--cluster", CLUSTER, "--services", "s.yaml",
                   cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: s.yaml: services[0] (cam): arrival_rate must be > 0")
    assert "-3" in proc.stderr


def test_place_explain_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.json"
    assert main(["place", "--cluster", CLUSTER, "--services", SERVICES, "--running", RUNNING,
                 "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert "old-cam [layer, running]" in text and f"wrote {out} (json)" in text
    decision = Decision.from_json(out)
    assert set(decision.splits) == {"cam", "doc"} and decision.splits["doc"] == "layer"
    assert len(decision.scenario.links) == 6  # the Wi-Fi star of examples/cluster.yaml
    assert decision.scenario.link_between("pi-1", "pi-2").bandwidth == pytest.approx(117.5e6)

    assert main(["explain", str(out)]) == 0
    text = capsys.readouterr().out
    for part in ("fragments -> devices", "network (6 links)", "candidates", "latency_p95",
                 "predictor: AnalyticSurrogate"):
        assert part in text, part

    assert main(["plot", str(out)]) == 0  # default: next to the decision, .png
    assert (tmp_path / "d.png").stat().st_size > 10_000

    # a previous decision counts as running; YAML out; the suffix picks the format
    (tmp_path / "more.yaml").write_text(
        "services:\n  - {name: extra, profile: mobilenet_v2, arrival_rate: 1.0, splits: "
        "[layer]}\n")
    assert main(["place", "--cluster", CLUSTER, "--services", str(tmp_path / "more.yaml"),
                 "--running", str(out), "--out", str(tmp_path / "e.yaml"), *FAST]) == 0
    capsys.readouterr()
    more = Decision.from_yaml(tmp_path / "e.yaml")
    assert list(more.splits) == ["extra"]
    for name in ("cam", "doc", "old-cam"):
        assert more.placement[name] == decision.placement[name]


def test_stdout_config_and_print_config(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "place.yaml"
    config.write_text(f"cluster: {CLUSTER}\nservices: {SERVICES}\nformat: yaml\n")
    assert main(["place", "--config", str(config), "--print_config"]) == 0
    printed = capsys.readouterr().out
    assert f"cluster: {CLUSTER}" in printed and "verify_top_k: 5" in printed
    assert main(["place", "--config", str(config), *FAST]) == 0  # no --out: the document
    document = capsys.readouterr().out
    assert document.startswith("format: edgechain.decision")
    assert Decision.from_yaml(document).splits.keys() == {"cam", "doc"}


def _write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


BAD = [
    ("cluster", "devices:\n  - {name: a, kind: rpi9}\n", "devices[0].kind", "'rpi9'"),
    ("cluster", "devices:\n  - {name: a, kind: rpi4, capcity: 3}\n", "devices[0].capcity",
     "did you mean 'capacity'"),
    ("cluster", "devices:\n  - {name: a, speed: fast}\n", "devices[0].speed", "'fast'"),
    ("cluster", "devices:\n  - {name: a, speed: -1.0e9}\n", "devices[0] (a)", "-1000000000"),
    ("cluster", "devices:\n  - {name: a, kind: rpi4}\nnetwork: {star: pigeon}\n",
     "network.star", "'pigeon'"),
    ("cluster", "devices:\n  - {name: a, kind: rpi4}\nlinks:\n  - {a: a, b: zz, link: wifi}\n",
     "links[0].b", "'zz'"),
    ("cluster", "devices: [\n", "not valid YAML at line 2", "column"),
    ("services", "services:\n  - {name: x, profile: alexnet, arrival_rate: 1.0}\n",
     "services[0].profile", "'alexnet'"),
    ("services", "services:\n  - {name: x, profile: resnet18, arrival_rate: 1.0, "
     "splits: [diagonal]}\n", "services[0] (x)", "'diagonal'"),
    ("services", "services:\n  - {name: x, profile: resnet18}\n", "services[0].arrival_rate",
     "missing"),
    ("services", "jobs: []\n", "services is missing", "'jobs'"),
    ("running", "running:\n  - {name: r, profile: resnet18, arrival_rate: 1.0, k: 2, "
     "devices: [pi-1, mars]}\n", "running.yaml", "'mars'"),
    ("running", "running:\n  - {name: r, profile: resnet18, arrival_rate: 1.0, k: 2, "
     "devices: [pi-1]}\n", "running[0] (r)", "got 1"),
]


@pytest.mark.parametrize(("kind", "text", "field", "value"), BAD,
                         ids=[f"{k}-{i}" for i, (k, *_) in enumerate(BAD)])
def test_input_errors_name_file_field_and_value(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str], kind: str,
                                                text: str, field: str, value: str) -> None:
    files = {"cluster": CLUSTER, "services": SERVICES}
    files[kind] = _write(tmp_path, f"{kind}.yaml", text)
    argv = ["place", "--cluster", files["cluster"], "--services", files["services"], *FAST]
    if kind == "running":
        argv += ["--running", files["running"]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert f"{kind}.yaml" in err and field in err and value in err, err


@pytest.mark.parametrize(("argv", "expected"), [
    (["place", "--cluster", CLUSTER, "--services", SERVICES, "--verify_top_k", "x"],
     "--verify_top_k: expected an integer"),
    (["place", "--cluster", CLUSTER], "required: --services"),
    (["place", "--cluster", CLUSTER, "--services", SERVICES, "--format", "xml"],
     "--format: Expected a typing.Literal['auto', 'json', 'yaml']. Got value: xml"),
    (["place", "--cluster", "nope.yaml", "--services", SERVICES],
     "cluster file 'nope.yaml' does not exist; see examples/cluster.yaml"),
    (["place", "--cluster", CLUSTER, "--services", SERVICES, "--out", "/no/such/d.json"],
     "--out '/no/such/d.json': folder '/no/such' does not exist"),
    (["place", "--cluster", CLUSTER, "--services", SERVICES, "--verify_requests", "0"],
     "--verify_requests must be >= 1, got 0"),
    (["place", "--cluster", CLUSTER, "--services", SERVICES, "--predictor", "m.pt"],
     "--predictor must be default, analytic or a surrogate file, got 'm.pt'"),
    (["explain", "missing.json"], "cannot read decision file 'missing.json'"),
    (["explain", SERVICES], "format must be 'edgechain.decision', got None"),
    ([], "give a command: place, explain, plot"),
    (["frob"], "invalid choice: 'frob'"),
])
def test_usage_errors_are_one_line(argv: list[str], expected: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err


def test_infeasible_request_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cluster = _write(tmp_path, "cluster.yaml",
                     "devices:\n  - {name: tiny, speed: 1.0e9, memory: 1000}\n")
    assert main(["place", "--cluster", cluster, "--services", SERVICES, *FAST]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be placed" in err, err


def test_plot_checks_its_output_folder_before_loading(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", "decision.json", "--out", str(tmp_path / "no_dir" / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
