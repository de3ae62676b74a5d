"""Every benchmark's command line is jsonargparse's: ``--print_config`` and a config file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.benchmarks._load import load_bench

#: Benchmark -> (its config-file flag, arguments it requires).
BENCHMARKS: dict[str, tuple[str, list[str]]] = {
    "bench_datagen": ("--cli_config", []),
    "bench_demo": ("--config", []),
    "bench_label_noise": ("--cli_config", ["--data", "some/dataset"]),
    "bench_placement": ("--config", []),
    "bench_policies": ("--config", []),
    "bench_sim": ("--config", []),
    "bench_surrogate": ("--config", []),
    "bench_training": ("--config", []),
}


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_print_config_round_trip(name: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    config_flag, required = BENCHMARKS[name]
    parser = load_bench(name).build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args([*required, "--print_config"])
    assert exc.value.code in (0, None)
    text = capsys.readouterr().out
    flags = yaml.safe_load(text)
    expected = vars(parser.parse_args(required))
    expected.pop(config_flag[2:])
    assert set(flags) == set(expected), text
    path = tmp_path / "flags.yaml"
    path.write_text(text)
    again = vars(parser.parse_args([config_flag, str(path)]))
    again.pop(config_flag[2:])
    assert again == expected
