import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from chainnet import Surrogate
from training import PredictionWriter, cli_main, load_samples
from training.__main__ import main as training_main
from training.evaluate import main as evaluate_main


def test_fit_fast_dev_run_saves_config_and_exports_surrogate(tiny_args, tmp_path, capsys):
    cli = cli_main(["fit", *tiny_args, "--trainer.fast_dev_run=true"])
    assert cli.trainer.state.finished
    assert cli.model.hparams.feature_dims == cli.datamodule.feature_dims  # linked from data
    surrogate = Surrogate.load(tmp_path / "surrogate.pt")
    assert type(surrogate.model).__name__ == "ChainNet"
    # training says where it wrote the model
    out = capsys.readouterr().out
    assert f"exported surrogate checkpoint to {tmp_path / 'surrogate.pt'}" in out


def test_fit_then_test_logs_stable_metric_keys(tiny_args, tmp_path):
    cli = cli_main(["fit", *tiny_args, "--trainer.logger=true",
                    "--model.lr_scheduler=torch.optim.lr_scheduler.CosineAnnealingLR",
                    "--model.lr_scheduler.T_max=2"])
    assert cli.trainer.lr_scheduler_configs  # the scheduler came in from config
    assert list((tmp_path / "runs").rglob("config.yaml"))  # every run keeps its config
    cli.trainer.test(cli.model, datamodule=cli.datamodule)
    metrics = cli.trainer.callback_metrics
    for key in ("test/combined_mape", "test/loss_mae", "test/latency_mape", "test/p95_ape"):
        assert key in metrics
    assert any(k.startswith("test/combined_mape_ns") for k in metrics)


def test_evaluate_prints_table(tiny_args, tiny_dataset, tmp_path, capsys):
    cli_main(["fit", *tiny_args, "--trainer.fast_dev_run=true"])
    table = evaluate_main(["--model", str(tmp_path / "surrogate.pt"), "--data.test",
                           tiny_dataset])
    out = capsys.readouterr().out
    assert "combined_mape" in out
    assert re.search(r"\s\d+\.\d%", out)  # percentages with one decimal
    assert table.loc["all", "services"] > 0
    analytic = evaluate_main(["--model", "analytic", "--data", tiny_dataset])  # old spelling
    assert "--data is deprecated; use --data.test" in capsys.readouterr().err
    assert analytic.loc["all", "combined_mape"] < 0.5
    ckpt = str(tmp_path / "surrogate.pt")
    summary = evaluate_main(["--model", ckpt, "analytic", "--data.test", tiny_dataset,
                             tiny_dataset, "--record", ckpt])
    assert summary.index.names == ["data", "model"] and len(summary) == 2  # data given once
    assert summary.loc[(Path(tiny_dataset).name, "analytic"), "combined_mape"] == pytest.approx(
        analytic.loc["all", "combined_mape"])
    recorded = Surrogate.load(ckpt).metadata["evaluation"][Path(tiny_dataset).name]
    assert recorded["analytic"]["services"] == analytic.loc["all", "services"]


def test_ensemble_combines_checkpoints(tiny_args, tiny_dataset, tmp_path, capsys):
    cli_main(["fit", *tiny_args, "--trainer.fast_dev_run=true"])
    ckpt = str(tmp_path / "surrogate.pt")
    out = str(tmp_path / "ens.pt")
    training_main(["ensemble", "--model", ckpt, ckpt, "--out", out])
    assert "2 members" in capsys.readouterr().out
    training_main(["ensemble", "--models", ckpt, ckpt, "--out", out])  # the old spelling
    captured = capsys.readouterr()
    assert "2 members" in captured.out
    assert "note: python -m training ensemble: --models is deprecated; use --model" in (
        captured.err)
    ens = Surrogate.load(out)
    assert type(ens.model).__name__ == "Ensemble" and len(ens.metadata["members"]) == 2
    one = evaluate_main(["--model", ckpt, "--data.test", tiny_dataset])
    two = evaluate_main(["--model", out, "--data.test", tiny_dataset])  # identical members
    assert two.loc["all", "combined_mape"] == pytest.approx(one.loc["all", "combined_mape"])
    with pytest.raises(SystemExit):
        training_main(["ensemble", "--model", ckpt, "--out", out])
    # one member and a critic: the critic's weight is 0, the prediction is the member's
    training_main(["ensemble", "--model", ckpt, "--critics", ckpt, "--out", out])
    assert "1 members and 1 critics" in capsys.readouterr().out
    critic = Surrogate.load(out)
    assert critic.model.weights == (1.0, 0.0)
    assert [m["critic"] for m in critic.metadata["members"]] == [False, True]
    with pytest.raises(SystemExit):
        training_main(["ensemble", "--model", ckpt, "--critics", str(tmp_path / "no.pt"),
                       "--out", out])


def test_fit_is_reproducible_from_the_seed(tiny_args, tmp_path):
    """Two fits with the same ``seed_everything`` export the same weights; another seed not."""
    def fit(seed: int, name: str) -> dict[str, torch.Tensor]:
        out = tmp_path / f"{name}.pt"
        cli_main(["fit", *tiny_args, f"--seed_everything={seed}", "--trainer.max_epochs=2",
                  f"--model.export_path={out}"])
        return Surrogate.load(out).model.state_dict()

    first, again, other = fit(5, "first"), fit(5, "again"), fit(6, "other")
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_validate_and_predict_subcommands_write_what_the_surrogate_predicts(
        tiny_args, tiny_dataset, tmp_path):
    cli_main(["fit", *tiny_args, "--trainer.fast_dev_run=true"])
    ckpt = tmp_path / "surrogate.pt"
    cli = cli_main(["validate", *tiny_args, f"--model.init_from={ckpt}"])
    assert "val/combined_mape" in cli.trainer.callback_metrics
    out = tmp_path / "pred" / "predictions.csv"
    cli_main(["predict", *tiny_args, f"--model.init_from={ckpt}", f"--data.predict={tiny_dataset}",
              "--trainer.callbacks+=training.PredictionWriter",
              f"--trainer.callbacks.output={out}"])
    table = pd.read_csv(out)
    samples = load_samples(tiny_dataset)
    assert len(table) == sum(len(sc.services) for sc, _, _ in samples)
    assert table["scenario"].nunique() == len(samples)
    expected = Surrogate.load(ckpt).predict([sc for sc, _, _ in samples])
    # one tidy shape: the same (scenario, service name) rows as Surrogate.predict
    both = expected.merge(table, on=["scenario", "service"], suffixes=("", "_written"),
                          validate="one_to_one")
    assert len(both) == len(table)
    np.testing.assert_allclose(both["loss_ratio_written"], both["loss_ratio"], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(both["latency_mean_written"], both["latency_mean"], rtol=1e-5)
    with pytest.raises(ValueError, match="output"):
        PredictionWriter(tmp_path / "predictions.txt")


def test_evaluate_and_the_package_namespace_do_not_import_lightning():
    code = ("import sys, training; from training.evaluate import main; training.load_samples; "
            "assert sorted(training.__all__) == sorted(training._HOME); "
            "assert 'lightning' not in sys.modules, 'lightning imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_fit_init_from_starts_with_the_checkpoint_weights(tiny_args, tmp_path):
    cli_main(["fit", *tiny_args, "--trainer.fast_dev_run=true"])
    first = Surrogate.load(tmp_path / "surrogate.pt").model
    cli = cli_main([*tiny_args, f"--model.init_from={tmp_path / 'surrogate.pt'}"], run=False)
    for key, value in first.state_dict().items():  # weights and fitted normaliser copied
        assert torch.equal(cli.model.predictor.state_dict()[key], value), key
    assert bool(cli.model.predictor.normalizer.fitted)  # so fit does not refit it
    with pytest.raises(ValueError, match="init_from"):
        cli_main([*tiny_args, f"--model.init_from={tmp_path / 'surrogate.pt'}",
                  "--model.predictor.init_args.hidden_channels=16"], run=False)


def test_evaluate_lists_the_worst_services_and_writes_every_error(tiny_dataset, tmp_path,
                                                                   capsys):
    from training.evaluate import service_predictions, worst_services

    out = tmp_path / "errors" / "analytic.csv"
    table = evaluate_main(["--model", "analytic", "--data.test", tiny_dataset, "--worst", "3",
                           "--errors", str(out)])
    printed = capsys.readouterr().out
    assert "the 3 largest loss-ratio errors" in printed
    assert f"wrote the errors of every service to {out}" in printed
    errors = pd.read_csv(out)
    assert len(errors) == table.loc["all", "services"]
    assert set(errors["model"]) == {"analytic"}
    assert set(errors["data"]) == {Path(tiny_dataset).name}
    np.testing.assert_allclose(errors["loss_error"],
                               errors["pred_loss_ratio"] - errors["true_loss_ratio"])
    # the table's largest error is the largest row of the file
    assert errors["loss_error"].abs().max() == pytest.approx(table.loc["all", "loss_max_ae"])
    services = service_predictions(__import__("chainnet").AnalyticSurrogate(),
                                   load_samples(tiny_dataset))
    worst = worst_services(services, 2)
    assert len(worst) == 2
    assert worst["loss_error"].abs().iloc[0] == pytest.approx(errors["loss_error"].abs().max())
    assert (worst["loss_error"].abs().iloc[0] >= worst["loss_error"].abs().iloc[1])
    with pytest.raises(ValueError, match="n must be >= 0"):
        worst_services(services, -1)
    for bad in (["--worst", "-1"], ["--errors", str(tmp_path / "e.txt")]):
        with pytest.raises(SystemExit) as exc:
            evaluate_main(["--model", "analytic", "--data.test", tiny_dataset, *bad])
        assert exc.value.code == 2
    assert "give a .csv or .parquet file name" in capsys.readouterr().err


def test_evaluate_rejects_missing_checkpoint(tiny_dataset):
    with pytest.raises(SystemExit):
        evaluate_main(["--model", "nope.pt", "--data.test", tiny_dataset])


def test_ddp_with_two_cpu_processes_from_config(tiny_args, tmp_path):
    """Lightning DDP (gloo) works from config alone: one subprocess, two ranks."""
    args = [*tiny_args, "--config", "training/configs/ddp_cpu.yaml"]
    proc = subprocess.run(
        [sys.executable, "-m", "training", "fit", *args],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "surrogate.pt").is_file()
    assert "MEMBER: 2/2" in proc.stderr + proc.stdout  # rank 1 of 2 joined the group


def test_python_m_training_ends_a_checked_error_with_one_line(tiny_dataset, tmp_path, capsys):
    """A corrupt dataset found inside fit: one line and exit 1, no traceback."""
    import shutil

    from training.__main__ import main

    bad = tmp_path / "bad"
    shutil.copytree(tiny_dataset, bad)
    (bad / "shard-00000" / "services.parquet").write_bytes(b"not parquet")
    with pytest.raises(SystemExit) as exc:
        main(["fit", "--config", "training/configs/chainnet.yaml",
              "--config", "training/configs/tiny.yaml", f"--data.train={bad}",
              "--data.test=null", f"--data.cache_dir={tmp_path / 'cache'}",
              f"--trainer.default_root_dir={tmp_path / 'runs'}"])
    assert exc.value.code == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "shard-00000" in err[0]


def test_top_level_help_lists_every_command_without_importing_lightning():
    """``python -m training --help``: every subcommand, one line each, in well under a second."""
    from training.__main__ import COMMANDS

    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "training", "--help"],
                          capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: python -m training ")
    for name in ("fit", "validate", "test", "predict", "evaluate", "ensemble", "calibrate"):
        assert name in COMMANDS
        assert re.search(rf"^  {name} +\S", proc.stdout, flags=re.M), name
    imported = proc.stderr  # -X importtime lists every imported module on stderr
    for heavy in ("lightning", "torch", "torch_geometric", "jsonargparse", "pandas"):
        assert f" {heavy}\n" not in imported and f"| {heavy}\n" not in imported, heavy
    assert seconds < 5.0, f"took {seconds:.1f} s"
    bad = subprocess.run([sys.executable, "-m", "training", "evalute"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "did you mean 'evaluate'" in bad.stderr


@pytest.mark.parametrize("command", ["evaluate", "ensemble", "calibrate"])
def test_tools_share_the_jsonargparse_style(command, tmp_path):
    """``--help`` names the program, ``--print_config`` prints the flags as YAML."""
    args = {"evaluate": ["--model", "analytic", "--data.test", str(tmp_path)],
            "ensemble": ["--model", "a.pt", "b.pt", "--out", "c.pt"],
            "calibrate": ["--model", "a.pt", "--data.val", str(tmp_path)]}[command]
    proc = subprocess.run([sys.executable, "-m", "training", command, "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: python -m training {command}")
    assert "--config" in proc.stdout and "--print_config" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "training", command, *args, "--print_config"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("model:")


def test_fit_help_is_short_and_names_the_predictor_family():
    proc = subprocess.run([sys.executable, "-m", "training", "fit", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: python -m training [options] fit")
    for name in ("chainnet.ChainNet", "chainnet.GCNBaseline", "chainnet.GATBaseline",
                 "chainnet.MLPBaseline"):
        assert name in proc.stdout
    assert "torch.nn.Identity" not in proc.stdout  # no list of every nn.Module subclass
    assert len(proc.stdout.splitlines()) < 800


def test_test_and_validate_print_percentages_like_evaluate(tiny_args, tmp_path, capsys):
    cli_main(["fit", *tiny_args, "--trainer.fast_dev_run=true"])
    capsys.readouterr()
    cli_main(["test", *tiny_args, f"--model.init_from={tmp_path / 'surrogate.pt'}",
              "--data.test=null"])
    out = capsys.readouterr().out
    assert "test metrics" in out and "combined_mape" in out
    assert re.search(r"\s\d+\.\d%", out)  # one decimal, as evaluate prints
    assert "test/combined_mape" not in out  # Lightning's table of fractions is not printed
