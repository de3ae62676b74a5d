"""The scripts' command lines follow LightningCLI (issue 21): ``--print_config`` writes their flags
as YAML and the flag-file option reads that YAML back to the same values.

Only the parsers are built (``build_parser``); no script body runs.
"""

from pathlib import Path
from types import ModuleType

import pytest

from scripts import active_learning, demo, pretrain_policy, report

#: (module, its flag-file option, arguments, the flags the printed YAML must hold).
CASES = [
    (demo, "--config", ["--seed", "3", "--num_samples", "5", "--sections", "simulator"],
     ["out", "seed", "num_samples", "bandit_steps", "sections"]),
    (report, "--config", ["--out", "r", "--quick", "--model", "a.pt", "b.pt"],
     ["out", "quick", "seed", "chainnet", "model", "sections"]),
    (active_learning, "--cli_config",
     ["--model", "m.pt", "--out", "al", "--config", "placer", "--num_requests", "100"],
     ["model", "out", "config", "requests", "pool", "top", "disagree", "num_requests", "seed"]),
    (pretrain_policy, "--config",
     ["--out", "p.json", "--families", "splitplace_tight", "--shared", "--l2_lambda", "2.5"],
     ["steps", "seed", "families", "sim_requests", "shared", "l2_lambda", "out"]),
]


@pytest.mark.parametrize("module, option, args, flags", CASES,
                         ids=[c[0].__name__.rsplit(".", 1)[-1] for c in CASES])
def test_print_config_round_trips(module: ModuleType, option: str, args: list[str],
                                  flags: list[str], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        module.build_parser().parse_args([*args, "--print_config"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in flags:
        assert f"\n{flag}:" in f"\n{text}", flag
    path = tmp_path / "flags.yaml"
    path.write_text(text)
    direct = module.build_parser().parse_args(args)
    parser = module.build_parser()
    again = parser.parse_args([option, str(path)])
    key = option.lstrip("-")
    direct_d, again_d = direct.as_dict(), again.as_dict()
    direct_d.pop(key, None)
    again_d.pop(key, None)
    assert again_d == direct_d
    # later flags override the file
    assert parser.parse_args([option, str(path), "--seed", "9"]).seed == 9


def test_active_learning_config_stays_the_sampler_config() -> None:
    ns = active_learning.build_parser().parse_args(["--model", "m", "--out", "o",
                                                    "--config", "edge"])
    assert ns.config == "edge"


def test_pretrain_policy_old_spelling_and_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert pretrain_policy.main(["--out", "p.json", "--sim-requests", "5", "--steps", "0"]) == 2
    err = capsys.readouterr().err
    assert "--sim-requests is deprecated; use --sim_requests" in err
    assert "error: --steps must be >= 1, got 0" in err
    assert pretrain_policy.main(["--out", "p.json", "--shrink", "-1"]) == 2
    assert "error: --shrink must be a finite number >= 0, got -1.0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        pretrain_policy.main(["--out", "p.json", "--families", "nope"])
    assert exc.value.code == 2
    assert "--families" in capsys.readouterr().err


def test_parse_command_line_renames_old_flags_and_usage_error_is_one_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from scripts._cli import parse_command_line, usage_error

    args = parse_command_line(demo.build_parser(), ["--samples", "3"], demo.RENAMED)
    assert args.num_samples == 3
    assert "note: python -m scripts.demo: --samples is deprecated" in capsys.readouterr().err
    monkeypatch.setattr("sys.argv", ["demo", "--seed", "4"])
    assert parse_command_line(demo.build_parser(), None).seed == 4  # None = sys.argv[1:]
    with pytest.raises(SystemExit) as exc:
        usage_error("prog", "--x must be >= 1")
    assert exc.value.code == 2
    assert capsys.readouterr().err == "prog: error: --x must be >= 1 (see prog --help)\n"
