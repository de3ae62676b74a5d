"""Tiny-budget smoke test of benchmarks/bench_policies.py."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benchmarks._load import load_bench


def test_bench_policies_smoke(tmp_path: Path) -> None:
    mod = load_bench("bench_policies")
    out = mod.main(
        ["--steps", "8", "--seeds", "0", "--families", "splitplace_tight", "zoo_loose",
         "--policies", "default", "splitplace", "layer_only", "semantic_only",
         "--predictor", "analytic", "--sim-requests", "200", "--out", str(tmp_path / "r.json")]
    )
    rows = out["rows"]
    assert [(r["family"], r["policy"]) for r in rows[:4]] == [
        ("splitplace_tight", p) for p in ("default", "splitplace", "layer_only", "semantic_only")
    ]
    assert len(rows) == 8
    for r in rows:
        assert 0.0 <= r["reward_over_oracle"] <= 1.0 + 1e-12
        for key in ("response_time", "sla_violation", "accuracy", "mean_reward",
                    "oracle_sla_violation", "oracle_accuracy"):
            assert key in r
    assert 0.0 < out["default_first_min"] <= 1.0
    assert set(out["published_claim"]) == {"splitplace_tight", "zoo_loose"}
    saved = json.loads((tmp_path / "r.json").read_text())
    assert len(saved["rows"]) == 8
