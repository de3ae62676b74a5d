"""Tiny-budget smoke test of benchmarks/bench_policies.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_policies.py"


def test_bench_policies_smoke(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_policies", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main(
        ["--steps", "8", "--seeds", "0", "--policies", "linucb", "layer_only",
         "--sim-requests", "200", "--out", str(tmp_path / "r.json")]
    )
    assert [r["policy"] for r in out["rows"]] == ["linucb", "layer_only"]
    assert (tmp_path / "r.json").exists()
    assert 0.0 < out["linucb_ratio_min"] <= 1.0
