"""Smoke test of benchmarks/bench_label_noise.py on a tiny generated dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks._load import load_bench


def _bench():
    return load_bench("bench_label_noise")


def test_label_noise_floor_on_a_tiny_dataset(tmp_path: Path) -> None:
    from datagen.dataset import generate

    generate("placer", tmp_path / "ds", 3, seed=5, num_requests=2000, progress=False)
    mod = _bench()
    df = mod.relabel(str(tmp_path / "ds"), None, 3, seed=11)
    assert len(df) >= 3 and set(df["scenario"]) <= {0, 1, 2}
    floor = mod.noise_floor(df)
    for k in mod.APE_METRICS:
        # fresh seeds: the labels differ, but both estimate the same quantity
        assert 0.0 <= floor[f"{k}_noise"] < 50.0
        assert floor[f"{k}_noise"] == pytest.approx(floor[f"{k}_two_label_ape"] / 2 ** 0.5)
    assert floor["respt_ratio_two_label_ape"] > 0
    # relabelling with the stored seeds' settings but the same seed twice gives equal labels
    again = mod.relabel(str(tmp_path / "ds"), None, 3, seed=11)
    assert again.equals(df)


def test_label_noise_rejects_a_bad_count(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        _bench().main(["--data", str(tmp_path), "--num_samples", "0"])
