"""Fast checks of benchmarks/bench_placement.py part (a): the small-instance families."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from datagen.catalog import list_devices
from datagen.zoo import list_profiles
from placement.candidates import CandidateSpace, check_fit
from placement.request import PlacementRequest
from tests.benchmarks._load import load_bench

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("bench_placement")


def _signature(req: PlacementRequest) -> tuple:
    devs = tuple((d.kind, d.speed, d.memory, d.capacity) for d in req.devices)
    svcs = tuple((s.profile.name, s.arrival_rate, s.k) for s in req.services)
    return devs, svcs


def test_family_names_exist(bench: ModuleType) -> None:
    assert list(bench.FAMILIES) == [
        "base",
        "three_devices",
        "tight_memory",
        "mixed_zoo",
        "high_load",
    ]
    for spec in bench.FAMILIES.values():
        if spec is not None:
            assert set(spec.kinds) <= set(list_devices())
            assert set(spec.profiles) <= set(list_profiles())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "family", ["base", "three_devices", "tight_memory", "mixed_zoo", "high_load"]
)
def test_family_requests_valid_and_feasible(bench: ModuleType, family: str, seed: int) -> None:
    req = bench.make_family_request(family, bench.family_rng(family, seed))
    assert isinstance(req, PlacementRequest)
    assert len(req.services) == 2
    assert all(s.splits == ("layer",) for s in req.services)
    assert all(2 <= d.capacity <= 8 for d in req.devices)
    check_fit(req)
    space = CandidateSpace(req, {s.name: "layer" for s in req.services})
    assert space.feasible(space.greedy_assignment())
    space.to_scenario(space.greedy_assignment())  # validated scenario
    total_w = float(space.weights.sum())
    work = sum(s.arrival_rate * s.profile.total_macs for s in req.services)
    util = work / sum(d.effective_speed for d in req.devices)
    spec = bench.FAMILIES[family]
    if spec is None:  # base: today's family
        assert len(req.devices) == 4 and space.num_fragments == 6
        assert 0.2 - 1e-9 <= util <= 0.7 + 1e-9
        return
    assert spec.devices[0] <= len(req.devices) <= spec.devices[1]
    assert all(spec.k[0] <= s.k <= spec.k[1] for s in req.services)
    assert spec.util[0] - 1e-9 <= util <= spec.util[1] + 1e-9
    lo, hi = spec.memory
    assert all(
        lo * total_w * (1 - 1e-9) <= d.memory <= hi * total_w * (1 + 1e-9) for d in req.devices
    )
    if family == "tight_memory":
        assert all(d.memory < total_w for d in req.devices)  # no device holds everything


@pytest.mark.parametrize("family", ["base", "three_devices", "mixed_zoo"])
def test_families_reproducible(bench: ModuleType, family: str) -> None:
    def draws(seed: int) -> list[tuple]:
        rng = bench.family_rng(family, seed)
        return [_signature(bench.make_family_request(family, rng)) for _ in range(3)]

    first = draws(7)
    assert draws(7) == first
    assert len(set(first)) == 3  # successive instances differ
    assert draws(8)[0] != first[0]


def test_families_independent(bench: ModuleType) -> None:
    firsts = {f: bench.make_family_request(f, bench.family_rng(f, 0)) for f in bench.FAMILIES}
    sigs = [_signature(r) for r in firsts.values()]
    assert len(set(sigs)) == len(sigs)
    # Same seed, different family streams.
    draws = {f: bench.family_rng(f, 0).random() for f in bench.FAMILIES}
    assert len(set(draws.values())) == len(draws)


def test_unknown_family(bench: ModuleType) -> None:
    with pytest.raises(ValueError, match="unknown family"):
        bench.make_family_request("nope", np.random.default_rng(0))
    with pytest.raises(ValueError, match="--families"):
        bench.parse_families("base,nope")


def test_tolerance(bench: ModuleType) -> None:
    assert bench.tolerance(10.0, 50.0) == pytest.approx(0.2)
    assert bench.tolerance(0.0, 50.0) == pytest.approx(0.05)


def test_main_part_a_smoke(bench: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    rc = bench.main(
        [
            "--quick",
            "--parts",
            "a",
            "--predictor",
            "analytic",
            "--families",
            "three_devices",
            "--small",
            "1",
            "--exhaustive-requests",
            "200",
            "--eval-requests",
            "500",
            "--judge-top",
            "2",
            "--refine-seconds",
            "0",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    res = json.loads(out.read_text())
    fam = res["a"]["families"]["three_devices"]
    assert fam["instances"] == 1
    assert 0.0 <= fam["fraction_within"] <= 1.0
    row = res["a"]["instances"][0]
    assert row["family"] == "three_devices" and row["devices"] == 3
    assert row["ok"] == (row["placer_obj"] - row["opt_obj"] <= row["tol"])
    assert 1 <= len(row["top_obj"]) <= 2 and row["opt_obj"] == min(row["top_obj"])
