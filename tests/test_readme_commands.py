"""Every command of the README works as written, with small sizes, in a subprocess (issue 19).

The commands run in a "fresh clone": a temporary folder holding the tracked folders the
commands name (``training``, ``chainnet``, ``benchmarks``, ``examples``, as links) but no
``data/`` or ``runs/``. A command that needs something not there yet must stop in under 2 s
with one line on stderr that says what to run first. ``make`` targets run as dry runs
(``make -n``) in the repository. The slow tests (``-m slow``) train, predict, fine-tune and
run the reports, the demo and the benchmarks.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DEFAULT_CKPT = "chainnet/checkpoints/default.pt"

# README command -> the test that runs it
TESTED = {
    "make demo": "test_make_targets_dry_run",
    "make test": "test_make_targets_dry_run",
    "make lint": "test_make_targets_dry_run",
    "make default-model": "test_make_targets_dry_run",
    "make placer-model": "test_make_targets_dry_run",
    "python -m training calibrate": "test_calibrate",
    "python -m datagen generate --config chainnet_like --out DIR --num_samples N --workers W "
    "--seed S": "test_generate_and_export_chainnet",
    "python -m datagen export-chainnet DIR --out OUT": "test_generate_and_export_chainnet",
    "python -m datagen generate --config chainnet_like --out data/chainnet_like --num_samples "
    "2000 --workers 2": "test_fit_on_a_fresh_clone_then_predict_without_training_data",
    "python -m training fit --config training/configs/chainnet.yaml":
        "test_fit_on_a_fresh_clone_then_predict_without_training_data",
    "python -m training fit --config training/configs/default_model.yaml --model.init_from "
    "MEMBER.pt --data.train DIR --data.test null --model.export_path TUNED.pt":
        "test_fine_tune_a_member",
    "python -c 'from chainnet import Surrogate; "
    "Surrogate(Surrogate.default().model.members[0]).save(\"MEMBER.pt\")'": "member",
    "python -m training ensemble --model A.pt B.pt [--critics OLD.pt] --out C.pt": "test_ensemble",
    "python -m training predict --config training/configs/chainnet.yaml --model.init_from PATH "
    "--data.predict DIR --trainer.callbacks+=training.PredictionWriter "
    "--trainer.callbacks.output=predictions.csv":
        "test_fit_on_a_fresh_clone_then_predict_without_training_data",
    "python -m training evaluate --model PATH --data.test DIR [--data.format chainnet]":
        "test_evaluate",
    "python -m training evaluate --model PATH --data.test DIR --worst N --errors FILE.csv":
        "test_evaluate_worst_services",
    "python -m training calibrate --model PATH --data.val DIR [--recall 0.9]": "test_calibrate",
    "python -m scripts.active_learning --model PATH --out DIR --requests N --seed S":
        "test_active_learning",
    "python -m scripts.hard_examples --model PATH --data DIR --out DIR_HARD":
        "test_hard_examples",
    "python -m scripts.pretrain_policy --steps N --seed S --out FILE.json":
        "test_pretrain_policy",
    "python -m scripts.report --out reports/NAME [--quick] [--seed S] [--chainnet DIR] "
    "[--model PATH]": "test_report",
    "python -m placement place --cluster examples/cluster.yaml --services examples/services.yaml "
    "--out decision.json": "test_placement_cli",
    "python -m placement explain decision.json": "test_placement_cli",
    "python -m placement plot decision.json --out decision.png": "test_placement_cli",
    "python -m placement place --cluster CLUSTER.yaml --services SERVICES.yaml [--running "
    "RUNNING.yaml] --out decision.json": "test_placement_cli",
    "python -m scripts.demo": "test_demo",
    "python benchmarks/bench_sim.py": "test_bench_sim_and_datagen",
    "python benchmarks/bench_datagen.py --num_samples 2000 --workers 2":
        "test_bench_sim_and_datagen",
    "python benchmarks/bench_surrogate.py --checkpoint chainnet/checkpoints/default.pt":
        "test_slow_benchmarks",
    "python benchmarks/bench_placement.py": "test_slow_benchmarks",
    "python benchmarks/bench_policies.py": "test_slow_benchmarks",
    "python benchmarks/bench_demo.py": "test_slow_benchmarks",
    "python benchmarks/bench_training.py": "test_slow_benchmarks",
    ".venv/bin/python -m pytest -m slow": "test_slow_suite_collects",
}


def readme_commands() -> list[str]:
    """The shell commands of the README: ``bash`` blocks and inline code that runs something."""
    text = README.read_text()
    found = [m for m in re.findall(r"`([^`\n]+)`", text)
             if re.match(r"(python|make|\.venv/bin/python)\b", m)]
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        found += [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]
    return list(dict.fromkeys(found))


def command(readme: str, subs: dict[str, str] | None = None, optional: bool = False,
            extra: tuple[str, ...] = ()) -> list[str]:
    """The argv of a README command: placeholders replaced, ``[...]`` parts kept or dropped."""
    assert readme in TESTED, readme
    text = re.sub(r"\[(--[^\]]*)\]", r"\1" if optional else "", readme)
    argv = [(subs or {}).get(tok, tok) for tok in shlex.split(text)]
    if argv[0] in ("python", ".venv/bin/python"):
        argv[0] = sys.executable
    return argv + list(extra)


def run(argv: list[str], cwd: Path, timeout: float = 300) -> tuple[subprocess.CompletedProcess,
                                                                   float]:
    """Run ``argv`` in ``cwd``; return the finished process (text output) and its seconds."""
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return proc, time.perf_counter() - start


def ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, (proc.args, proc.stdout[-2000:], proc.stderr[-3000:])


def fails_fast(proc: subprocess.CompletedProcess, seconds: float) -> str:
    """Assert the one-line, under-2-s failure and return the line."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.args, proc.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert proc.stdout == ""
    assert seconds < 2.0, f"took {seconds:.2f} s"
    return lines[0]


def make_clone(root: Path) -> Path:
    """A working folder like a fresh clone: the tracked folders, no data/ or runs/."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("training", "chainnet", "benchmarks", "examples"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    return root


@pytest.fixture()
def clone(tmp_path: Path) -> Path:
    return make_clone(tmp_path / "clone")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-sample chainnet_like dataset made by the README's generate command."""
    where = make_clone(tmp_path_factory.mktemp("gen"))
    argv = command(
        "python -m datagen generate --config chainnet_like --out DIR --num_samples N --workers W "
        "--seed S", {"DIR": "tiny", "N": "12", "W": "2", "S": "3"}, extra=("--no_progress",))
    proc, _ = run(argv, where)
    ok(proc)
    assert "12/12 samples" in proc.stdout
    return where / "tiny"


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``MEMBER.pt`` written by the README's one-liner (a member of the packaged ensemble)."""
    where = make_clone(tmp_path_factory.mktemp("member"))
    readme = next(c for c, t in TESTED.items() if t == "member")
    proc, _ = run(command(readme), where)
    ok(proc)
    assert (where / "MEMBER.pt").is_file()
    return where / "MEMBER.pt"


# ---------------------------------------------------------------------------------------------
# the default suite


def test_every_readme_command_has_a_test() -> None:
    found = readme_commands()
    assert set(found) == set(TESTED), (
        f"README commands without a test: {sorted(set(found) - set(TESTED))}; "
        f"tested commands no longer in the README: {sorted(set(TESTED) - set(found))}")


FIT = "python -m training fit --config training/configs/chainnet.yaml"
FINE_TUNE = next(c for c in TESTED if "default_model.yaml" in c)
PREDICT = next(c for c in TESTED if c.startswith("python -m training predict"))
EVALUATE = "python -m training evaluate --model PATH --data.test DIR [--data.format chainnet]"
CALIBRATE = "python -m training calibrate --model PATH --data.val DIR [--recall 0.9]"
ENSEMBLE = "python -m training ensemble --model A.pt B.pt [--critics OLD.pt] --out C.pt"


@pytest.mark.parametrize(("readme", "subs", "expected"), [
    (FIT, {}, "data.train folder 'data/chainnet_like' does not exist; generate it first: "
              "python -m datagen generate --config chainnet_like --out data/chainnet_like "),
    (FINE_TUNE, {"DIR": "mine"}, "data.train folder 'mine' does not exist; generate it first: "
                                 "python -m datagen generate"),
    (PREDICT, {"DIR": "mine", "PATH": "m.pt"}, "data.predict folder 'mine' does not exist; "
                                               "generate it first: python -m datagen generate"),
    (EVALUATE, {"DIR": "mine", "PATH": "m.pt"}, "--model 'm.pt': no such checkpoint file"),
    (EVALUATE, {"DIR": "mine", "PATH": DEFAULT_CKPT}, "--data.test folder 'mine' does not "
                                                      "exist; write it first: python -m "
                                                      "datagen export-chainnet DATASET_DIR "
                                                      "--out mine"),
    (CALIBRATE, {"DIR": "mine", "PATH": "m.pt"}, "--model 'm.pt': no such checkpoint file"),
    (ENSEMBLE, {}, "--model 'A.pt': no such checkpoint file; train one first"),
], ids=["fit", "fine-tune", "predict", "evaluate-model", "evaluate-data", "calibrate",
        "ensemble"])
def test_missing_inputs_fail_fast_with_one_line(clone: Path, readme: str, subs: dict[str, str],
                                                expected: str) -> None:
    line = fails_fast(*run(command(readme, subs, optional=True), clone))
    assert expected in line


def test_missing_checkpoint_of_fine_tuning_and_predict_fails_fast(clone: Path,
                                                                   dataset: Path) -> None:
    line = fails_fast(*run(command(FINE_TUNE, {"DIR": str(dataset)}), clone))
    assert "model.init_from file 'MEMBER.pt' does not exist" in line
    assert "Surrogate.default().model.members[0]).save('MEMBER.pt')" in line  # how to write it
    # predicting needs no data.train (data/chainnet_like is missing here), only the model
    line = fails_fast(*run(command(PREDICT, {"DIR": str(dataset), "PATH": "m.pt"}), clone))
    assert line.startswith("error: model.init_from file 'm.pt' does not exist")
    # the fine-tuning config's own test folder, without --data.test null
    argv = [a for a in command(FINE_TUNE, {"DIR": str(dataset)}) if a not in ("--data.test",
                                                                             "null")]
    line = fails_fast(*run(argv, clone))
    assert "data.test folder 'data/chainnet_like_test' does not exist" in line
    assert "--data.test null" in line


def test_precheck_reads_configs_and_command_line_like_lightning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.precheck import precheck

    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    config = str(REPO / "training/configs/chainnet.yaml")

    def fails(args: list[str]) -> str:
        with pytest.raises(SystemExit) as exc:
            precheck(args)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1
        return err

    for passing in (
        ["fit", "--config", config, "--data.train=[d]"],  # the command line wins
        ["fit", "-c", config, "--data", "{train: d}"],
        ["predict", "--config", config, "--data.predict", "d"],  # no data.train needed
        ["fit", "--config", config, "--print_config"],
        ["fit", "--help"],
        ["evaluate", "--model", "default", "analytic", "--data.test", "d"],
        ["evaluate", "--model", "default", "--data", "d"],  # the deprecated spelling
    ):
        precheck(passing)
    assert "'e'" in fails(["fit", "--data.train", "d", "--data.train+=e"])
    assert "'data/chainnet_like'" in fails(["validate", "--config", config])
    assert "'nope'" in fails(["fit", "--data", "{train: d, test: nope}"])
    (tmp_path / "data.yaml").write_text("class_path: training.SimDataModule\n"
                                        "init_args: {train: [d, gone]}\n")
    assert "data.train folder 'gone'" in fails(["fit", "--data", "data.yaml"])
    assert "export-chainnet" in fails(["fit", "--data.train", "x", "--data.format", "chainnet"])
    assert "config file 'no.yaml'" in fails(["fit", "--config", "no.yaml"])
    assert "ckpt_path file 'x.ckpt'" in fails(["test", "--data.train", "d", "--ckpt_path",
                                               "x.ckpt"])
    assert "--record 'r.pt'" in fails(["evaluate", "--model", "default", "--data.test", "d",
                                       "--record", "r.pt"])
    assert "--data.test folder 'gone'" in fails(["evaluate", "--model", "default", "--data",
                                                 "gone"])  # the old spelling is checked too
    assert "--data.val folder 'gone'" in fails(["calibrate", "--model", config, "--data",
                                                "gone"])  # old spelling of --data.val
    assert "--model 'x.pt'" in fails(["ensemble", "--models", "x.pt", "y.pt", "--out", "z"])


def test_generate_and_export_chainnet(dataset: Path, tmp_path: Path) -> None:
    argv = command("python -m datagen export-chainnet DIR --out OUT",
                   {"DIR": str(dataset), "OUT": str(tmp_path / "cn")})
    proc, _ = run(argv, tmp_path)
    ok(proc)
    assert "wrote 12 samples" in proc.stdout
    assert len(list((tmp_path / "cn").glob("*.txt"))) == 14


def test_evaluate(clone: Path, dataset: Path) -> None:
    proc, _ = run(command(EVALUATE, {"PATH": DEFAULT_CKPT, "DIR": str(dataset)}), clone)
    ok(proc)
    assert "combined_mape" in proc.stdout


def test_evaluate_worst_services(clone: Path, dataset: Path) -> None:
    argv = command("python -m training evaluate --model PATH --data.test DIR --worst N "
                   "--errors FILE.csv", {"PATH": DEFAULT_CKPT, "DIR": str(dataset), "N": "3",
                                         "FILE.csv": "errors.csv"})
    proc, _ = run(argv, clone)
    ok(proc)
    assert "the 3 largest loss-ratio errors" in proc.stdout
    header = (clone / "errors.csv").read_text().splitlines()[0].split(",")
    assert {"service", "loss_error", "uncertainty", "uncertain"} <= set(header)


def test_calibrate(clone: Path, dataset: Path) -> None:
    shutil.copy(REPO / DEFAULT_CKPT, clone / "model.pt")
    proc, _ = run(command(CALIBRATE, {"PATH": "model.pt", "DIR": str(dataset)}, optional=True),
                  clone)
    ok(proc)
    assert (REPO / DEFAULT_CKPT).read_bytes() != (clone / "model.pt").read_bytes()  # stored


def test_ensemble(clone: Path, member: Path) -> None:
    shutil.copy(member, clone / "A.pt")
    shutil.copy(member, clone / "B.pt")
    proc, _ = run(command(ENSEMBLE), clone)
    ok(proc)
    assert "2 members" in proc.stdout and (clone / "C.pt").is_file()
    shutil.copy(member, clone / "OLD.pt")
    proc, _ = run(command(ENSEMBLE, optional=True), clone)
    ok(proc)
    assert "2 members and 1 critics" in proc.stdout


def test_ten_lines_of_python(clone: Path) -> None:
    code = re.search(r"## Ten lines of Python\n+```python\n(.*?)```", README.read_text(),
                     flags=re.S)
    assert code is not None
    proc, _ = run([sys.executable, "-c", code.group(1)], clone)
    ok(proc)
    assert "loss_ratio" in proc.stdout


def test_placement_cli(clone: Path) -> None:
    # the analytic predictor and short simulations keep it quick; the flow is the README's
    fast = ("--predictor", "analytic", "--verify_requests", "1000", "--refine_evaluations", "0")
    place, explain, plot, table = (c for c in TESTED if c.startswith("python -m placement"))
    proc, _ = run(command(place, extra=fast), clone)
    ok(proc)
    assert "wrote decision.json" in proc.stdout and (clone / "decision.json").is_file()
    proc, _ = run(command(explain), clone)
    ok(proc)
    assert "fragments -> devices" in proc.stdout and "loss_ratio" in proc.stdout
    proc, _ = run(command(plot), clone)
    ok(proc)
    assert (clone / "decision.png").stat().st_size > 10_000
    subs = {"CLUSTER.yaml": "examples/cluster.yaml", "SERVICES.yaml": "examples/services.yaml",
            "RUNNING.yaml": "examples/running.yaml", "decision.json": "next.yaml"}
    proc, _ = run(command(table, subs, optional=True, extra=fast), clone)
    ok(proc)
    assert "old-cam [layer, running]" in proc.stdout
    assert (clone / "next.yaml").read_text().startswith("format: edgechain.decision")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_targets_dry_run() -> None:
    for target, expect in (("demo", "-m scripts.demo"), ("test", "-m pytest"),
                           ("lint", "-m ruff check"), ("default-model", "-m training fit"),
                           ("placer-model", "-m training calibrate")):
        assert f"make {target}" in TESTED
        proc, _ = run(["make", "-n", target], REPO, timeout=60)
        ok(proc)
        assert expect in proc.stdout, (target, proc.stdout[-2000:])


def test_bench_sim_and_datagen(clone: Path) -> None:
    proc, _ = run(command("python benchmarks/bench_sim.py",
                          extra=("--arrivals", "5000", "--simpy_arrivals", "1000")), clone)
    ok(proc)
    proc, _ = run(command("python benchmarks/bench_datagen.py --num_samples 2000 --workers 2",
                          extra=("--num_samples", "8", "--shard_size", "4")), clone)
    ok(proc)


# ---------------------------------------------------------------------------------------------
# slow: training, predicting, reports, demo, benchmarks


@pytest.mark.slow
def test_fit_on_a_fresh_clone_then_predict_without_training_data(clone: Path,
                                                                  dataset: Path) -> None:
    # as written on a fresh clone: one line that says what to generate first
    line = fails_fast(*run(command(FIT), clone))
    first = line.split("generate it first: ", 1)[1]
    readme_gen = next(c for c in TESTED if "--out data/chainnet_like " in c)
    assert first == readme_gen  # the README's own first step, word for word
    proc, _ = run(command(readme_gen, {"2000": "24"}, extra=("--no_progress",)), clone)
    ok(proc)
    proc, _ = run(command(FIT, extra=("--trainer.max_epochs", "1")), clone)
    ok(proc)
    surrogate = clone / "runs/chainnet/lightning_logs/version_0/surrogate.pt"
    assert surrogate.is_file()
    # predict with the model fit wrote, the training folder gone
    (clone / "data/chainnet_like").rename(clone / "data/elsewhere")
    proc, _ = run(command(PREDICT, {"PATH": str(surrogate), "DIR": str(dataset)}), clone)
    ok(proc)
    table = (clone / "predictions.csv").read_text().splitlines()
    assert table[0].startswith("scenario,service,throughput,loss_ratio") and len(table) > 12


@pytest.mark.slow
def test_fine_tune_a_member(clone: Path, dataset: Path, member: Path) -> None:
    shutil.copy(member, clone / "MEMBER.pt")
    proc, _ = run(command(FINE_TUNE, {"DIR": str(dataset)}, extra=("--trainer.max_epochs", "1")),
                  clone)
    ok(proc)
    assert (clone / "TUNED.pt").is_file()


@pytest.mark.slow
def test_evaluate_a_chainnet_format_folder(clone: Path, dataset: Path) -> None:
    proc, _ = run(command("python -m datagen export-chainnet DIR --out OUT",
                          {"DIR": str(dataset), "OUT": "cn"}), clone)
    ok(proc)
    proc, _ = run(command(EVALUATE, {"PATH": DEFAULT_CKPT, "DIR": "cn"}, optional=True), clone)
    ok(proc)
    assert "combined_mape" in proc.stdout


@pytest.mark.slow
def test_active_learning(clone: Path) -> None:
    argv = command("python -m scripts.active_learning --model PATH --out DIR --requests N "
                   "--seed S", {"PATH": DEFAULT_CKPT, "DIR": "al", "N": "1", "S": "0"})
    proc, _ = run(argv, clone)
    ok(proc)
    assert '"problems": 1' in proc.stdout


def test_hard_examples(clone: Path, dataset: Path) -> None:
    argv = command("python -m scripts.hard_examples --model PATH --data DIR --out DIR_HARD",
                   {"PATH": DEFAULT_CKPT, "DIR": str(dataset), "DIR_HARD": "hard"},
                   extra=("--threshold", "0.0"))
    proc, _ = run(argv, clone)
    ok(proc)
    from datagen.dataset import load_dataset

    assert len(load_dataset(clone / "hard")) > 0


def test_pretrain_policy(clone: Path) -> None:
    argv = command("python -m scripts.pretrain_policy --steps N --seed S --out FILE.json",
                   {"N": "2", "S": "7", "FILE.json": "policy.json"},
                   extra=("--families", "splitplace_tight", "--sim_requests", "100"))
    proc, _ = run(argv, clone)
    ok(proc)
    from placement.policies import load_policy

    policy = load_policy(clone / "policy.json")
    assert policy.name == "informed" and int(policy.counts_.sum()) == 2


@pytest.mark.slow
def test_report(clone: Path, dataset: Path) -> None:
    proc, _ = run(command("python -m datagen export-chainnet DIR --out OUT",
                          {"DIR": str(dataset), "OUT": "cn"}), clone)
    ok(proc)
    readme = next(c for c in TESTED if c.startswith("python -m scripts.report"))
    subs = {"reports/NAME": "reports/quick", "S": "0", "DIR": "cn", "PATH": DEFAULT_CKPT}
    argv = command(readme, subs, optional=True)
    proc, _ = run(argv, clone, timeout=900)
    ok(proc)
    assert (clone / "reports/quick/report.md").is_file()


@pytest.mark.slow
def test_demo(clone: Path) -> None:
    argv = command("python -m scripts.demo", extra=(
        "--num_samples", "4", "--bandit_steps", "4", "--sections", "simulator"))
    proc, _ = run(argv, clone, timeout=900)
    ok(proc)
    assert (clone / "reports/demo/report/report.md").is_file()


@pytest.mark.slow
def test_slow_benchmarks(clone: Path) -> None:
    for readme, extra in (
        ("python benchmarks/bench_surrogate.py --checkpoint chainnet/checkpoints/default.pt",
         ("-n", "200", "--repeats", "1")),
        ("python benchmarks/bench_placement.py",
         ("--small", "1", "--medium", "1", "--families", "base", "--judge_top", "2",
          "--judge_seeds", "1", "--exhaustive_requests", "500", "--search_requests", "500",
          "--eval_requests", "1000", "--refine_seconds", "0")),
        ("python benchmarks/bench_policies.py",
         ("--steps", "8", "--seeds", "0", "--policies", "linucb", "--sim_requests", "200")),
        ("python benchmarks/bench_demo.py", ("--bandit_steps", "0", "--seeds", "0")),
        ("python benchmarks/bench_training.py",
         ("--num_samples", "16", "--epochs", "2", "--repeats", "1", "--rounds", "1")),
    ):
        proc, _ = run(command(readme, extra=extra), clone, timeout=600)
        ok(proc)


@pytest.mark.slow
def test_slow_suite_collects() -> None:
    argv = command(".venv/bin/python -m pytest -m slow", extra=("--collect-only", "-q"))
    proc, _ = run(argv, REPO, timeout=600)
    ok(proc)
    assert "tests collected" in proc.stdout or "selected" in proc.stdout
