"""Tests of ``python -m datagen`` (generate, export-chainnet, configs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datagen.chainnet_format import LABEL_COLUMNS, read_chainnet
from datagen.cli import main
from datagen.dataset import label_scenario, load_dataset


@pytest.fixture(scope="module")
def chain_ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "ds"
    rc = main(["generate", "--config", "chainnet_like", "--out", str(root), "--num_samples", "6",
               "--shard_size", "3", "--seed", "11", "--num_requests", "2000", "--no_progress"])
    assert rc == 0
    return root


def test_configs_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["configs"]) == 0
    assert capsys.readouterr().out.split() == ["chainnet_like", "edge", "large", "placer"]


def test_cli_import_is_light() -> None:
    code = ("import sys, datagen.cli, datagen.dataset, datagen.chainnet_format, datagen.sampling; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_help_names_the_flags_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert all(c in text for c in ("generate", "export-chainnet", "configs", "--cli_config"))
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--cli_config" in text and "--print_config" in text and "sampler config" in text


def test_generate_reports_progress_and_counts(chain_ds: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["generate", "--config", "chainnet_like", "--out", str(chain_ds),
               "--num_samples", "6", "--shard_size", "3", "--seed", "11",
               "--num_requests", "2000", "--no_progress"])
    assert rc == 0  # resume of a finished dataset: nothing to do
    assert "6/6 samples in 2/2 shards" in capsys.readouterr().out


def test_generate_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--config", "nope", "--out", str(tmp_path / "x"),
                 "--num_samples", "2"]) == 2
    assert "unknown sampler config 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["generate", "--out", str(tmp_path / "x")])


def test_print_config_round_trip(chain_ds: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The YAML of ``--print_config``, read back by ``--cli_config``, reruns the same dataset."""
    out = tmp_path / "again"
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--config", "chainnet_like", "--out", str(out), "--num_samples", "6",
              "--shard_size", "3", "--seed", "11", "--num_requests", "2000", "--no_progress",
              "--print_config"])
    assert exc.value.code == 0 and not out.exists()
    printed = capsys.readouterr().out
    assert "config: chainnet_like\n" in printed and "no_progress: true\n" in printed
    flags = tmp_path / "generate.yaml"
    flags.write_text(printed)
    assert main(["generate", "--cli_config", str(flags)]) == 0
    assert "6/6 samples in 2/2 shards" in capsys.readouterr().out
    first, again = load_dataset(chain_ds), load_dataset(out)
    assert first.scenario_ids == again.scenario_ids
    for (sc, lab), (sc2, lab2) in zip(first.samples, again.samples):
        assert sc == sc2
        pd.testing.assert_frame_equal(lab, lab2)
    # later flags override the file
    with pytest.raises(SystemExit):
        main(["generate", "--cli_config", str(flags), "--seed", "12", "--print_config"])
    assert "seed: 12\n" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "expected"), [
    (["generate", "--config", "chainnet_like", "--out", "x", "--num_samples", "four"],
     "python -m datagen generate: error: --num_samples: expected an integer. Got value: four "
     "(see python -m datagen generate --help)"),
    (["generate", "--config", "chainnet_like", "--out", "x", "--num_samples", "2",
      "--executor", "threads"],
     "--executor: expected one of 'process', 'dask'. Got value: threads"),
    (["generate", "--config", "chainnet_like", "--out", "x"],
     "the following arguments are required: --num_samples"),
    (["generate", "--cli_config", "no_such_flags.yaml"], "--cli_config: File does not exist"),
    (["export-chainnet", "ds", "--out", "o", "--workers", "2"], "--workers"),
], ids=["int", "choice", "required", "flags-file", "unknown-flag"])
def test_bad_flags_print_one_line_and_exit_2(args: list[str], expected: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err


def test_bad_value_in_the_flags_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags = tmp_path / "generate.yaml"
    flags.write_text(f"config: chainnet_like\nout: {tmp_path / 'x'}\nnum_samples: four\n")
    with pytest.raises(SystemExit):
        main(["generate", "--cli_config", str(flags)])
    assert "--num_samples: expected an integer. Got value: four" in capsys.readouterr().err


def test_export_chainnet_round_trip_and_resimulation(chain_ds: Path, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    assert main(["export-chainnet", str(chain_ds), "--out", str(out)]) == 0
    ds = load_dataset(chain_ds)
    read = read_chainnet(out)
    assert len(read) == len(ds)
    sim = ds.config.simulation
    for i, ((sc, lab), (sc2, lab2)) in enumerate(zip(ds.samples, read)):
        assert sc == sc2
        pd.testing.assert_frame_equal(lab[list(LABEL_COLUMNS)], lab2)
        # Simulating the read-back scenario with a new seed reproduces the labels within
        # their confidence intervals (95% half-widths -> SEs; 4 SEs of the difference).
        again, _, _, _ = label_scenario(sc2, sim, seed=1000 + i)
        for name in lab.index:
            a, b = lab.loc[name], again.loc[name]
            se = np.hypot(a["latency_mean_ci"], b["latency_mean_ci"]) / 1.96
            assert abs(a["latency_mean"] - b["latency_mean"]) <= 4 * se + 1e-9, (i, name)
            se = np.hypot(a["loss_ratio_ci"], b["loss_ratio_ci"]) / 1.96
            assert abs(a["tput_ratio"] - b["tput_ratio"]) <= 4 * se + 2e-3, (i, name)


def test_export_refuses_edge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "edge"
    assert main(["generate", "--config", "edge", "--out", str(root), "--num_samples", "2",
                 "--num_requests", "200", "--no_progress"]) == 0
    assert len(load_dataset(root)) == 2
    assert main(["export-chainnet", str(root), "--out", str(tmp_path / "raw")]) == 2
    err = capsys.readouterr().err
    assert "'edge' regime" in err and "does not fit the ChainNet format" in err
    assert not (tmp_path / "raw").exists()


def test_export_missing_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-chainnet", str(tmp_path / "none"), "--out", str(tmp_path / "raw")]) == 2
    assert "manifest.json is missing" in capsys.readouterr().err


def test_old_flag_spellings_still_work_with_a_note(chain_ds: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["generate", "--config", "chainnet_like", "--out", str(chain_ds),
               "--num-samples", "6", "--shard-size=3", "--seed", "11", "--num-requests", "2000",
               "--no-progress"])
    assert rc == 0  # the finished dataset, resumed: the same flags under their old names
    captured = capsys.readouterr()
    assert "6/6 samples" in captured.out
    assert "note: python -m datagen: --num-samples is deprecated; use --num_samples" in (
        captured.err)
    assert captured.err.count("is deprecated") == 4
    out = tmp_path / "raw"
    assert main(["export-chainnet", str(chain_ds), str(out)]) == 0  # the old positional OUT
    assert "the positional OUT is deprecated; use --out" in capsys.readouterr().err
    assert len(list(out.glob("*.txt"))) == 14
    with pytest.raises(SystemExit):
        main(["export-chainnet", str(chain_ds), str(out), "--out", str(out)])
    with pytest.raises(SystemExit):
        main(["export-chainnet", str(chain_ds)])
    assert "required: --out" in capsys.readouterr().err
