"""Tests of the scenario samplers and their YAML configs."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from datagen.catalog import DEVICE_CATALOG
from datagen.sampling import (
    PLACER_STRATEGIES,
    ChainLikeConfig,
    EdgeConfig,
    PlacerConfig,
    config_from_dict,
    config_to_dict,
    list_configs,
    load_sampler_config,
    sample_scenario,
)
from datagen.sampling import _unit_loads as unit_loads
from datagen.walk import offered_load, placed_services, walk
from datagen.world import Scenario


def test_packaged_configs_load() -> None:
    assert list_configs() == ["chainnet_like", "edge", "large", "placer"]
    cl = load_sampler_config("chainnet_like")
    assert isinstance(cl, ChainLikeConfig)
    assert (cl.min_services, cl.max_services, cl.min_devices, cl.max_devices) == (1, 3, 2, 10)
    assert (cl.min_capacity, cl.max_capacity, cl.max_fragments_per_device) == (1, 50, 3)
    assert isinstance(load_sampler_config("edge"), EdgeConfig)
    assert load_sampler_config("large").max_devices >= 60
    # the packaged YAML spells out the documented defaults
    assert load_sampler_config("placer") == PlacerConfig()


def test_config_dict_round_trip_and_yaml_path(tmp_path: Path) -> None:
    import yaml

    for name in list_configs():
        cfg = load_sampler_config(name)
        assert config_from_dict(config_to_dict(cfg)) == cfg
        p = tmp_path / f"{name}.yaml"
        p.write_text(yaml.safe_dump(config_to_dict(cfg)))
        assert load_sampler_config(p) == cfg


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"regime": "nope"}, "regime .* must be one of"),
        ({"regime": "chainnet_like", "max_devicez": 3}, r"unknown keys \['max_devicez'\]"),
        ({"regime": "chainnet_like", "min_devices": 5, "max_devices": 4}, "max_devices must be >="),
        ({"regime": "chainnet_like", "max_capacity": 2.5}, "max_capacity .* must be an integer"),
        ({"regime": "edge", "min_bandwidth": "1e6"}, "min_bandwidth .* must be a number"),
        ({"regime": "edge", "semantic_probability": 2.0}, "semantic_probability must be in"),
        ({"regime": "chainnet_like", "simulation": {"num_requests": 5}}, "num_requests must be >="),
        ({"regime": "chainnet_like", "simulation": {"seeds": 5}}, "unknown keys .* simulation"),
        ({"regime": "placer", "random_probability": 0.5}, "_probability must sum to 1 .*got 1.3"),
        ({"regime": "placer", "greedy_probability": -0.1}, "greedy_probability must be in"),
        ({"regime": "placer", "profiles": ["resnet5O"]}, "profiles must be .*zoo profile names"),
        ({"regime": "placer", "device_kinds": ["toaster"]}, "device_kinds .*unknown device kind"),
        ({"regime": "placer", "min_branches": 1}, "min_branches must be >= 2"),
        ({"regime": "placer", "min_capacity": 9, "max_capacity": 8}, "max_capacity must be >="),
        ({"regime": "placer", "saturation_utilization": 1.5}, "saturation_utilization must be in"),
        ({"regime": "placer", "max_link_utilization": 1.0}, "max_link_utilization must be in"),
        ({"regime": "placer", "max_rate_ratio": 0.5}, "max_rate_ratio must be >= 1"),
        ({"regime": "placer", "max_bottleneck_utilization": 0}, "max_bottleneck_utilization"),
        ({"regime": "placer", "max_scv": "1e0"}, "max_scv .* must be a number"),
        ({"regime": "placer", "min_devicez": 1}, r"unknown keys \['min_devicez'\] .*'placer'"),
    ],
)
def test_bad_configs_are_named(data: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        config_from_dict(data)


def test_unknown_config_name() -> None:
    with pytest.raises(ValueError, match="unknown sampler config 'foo'.*chainnet_like"):
        load_sampler_config("foo")


@pytest.mark.parametrize("name", ["chainnet_like", "large"])
def test_chainlike_rules_hold(name: str) -> None:
    cfg = load_sampler_config(name)
    rng = np.random.default_rng(1)
    n_dev, n_svc, n_frag, caps = Counter(), Counter(), Counter(), []
    for _ in range(300 if name == "chainnet_like" else 40):
        sc = sample_scenario(cfg, rng)
        assert cfg.min_devices <= len(sc.devices) <= cfg.max_devices
        assert cfg.min_services <= len(sc.services) <= cfg.max_services
        assert [d.name for d in sc.devices] == [f"d{i + 1}" for i in range(len(sc.devices))]
        hosted = Counter()
        for svc in sc.services:
            path = sc.placement[svc.name]
            assert len(set(path)) == len(path), "a service never visits a device twice"
            assert cfg.min_fragments <= len(path) <= cfg.max_fragments
            hosted.update(path)
            assert svc.scv == 0 and svc.split == "layer" and svc.mmpp is None
            assert cfg.min_interarrival < 1 / svc.arrival_rate < cfg.max_interarrival
            for f in svc.fragments:
                assert 0 < f.macs < cfg.max_service_time
            n_frag[len(path)] += 1
        assert set(hosted) == {d.name for d in sc.devices}, "every device hosts a fragment"
        assert max(hosted.values()) <= cfg.max_fragments_per_device
        for d in sc.devices:
            assert d.speed == 1.0 and d.servers == 1 and d.reserved_share == 0
            caps.append(d.capacity)
        assert not sc.links
        n_dev[len(sc.devices)] += 1
        n_svc[len(sc.services)] += 1
    if name == "chainnet_like":
        # The whole ranges are reached.
        assert set(n_svc) == {1, 2, 3}
        assert set(n_frag) == set(range(2, 7))
        assert min(n_dev) == 2 and max(n_dev) == 10
        assert min(caps) <= 3 and max(caps) >= 48
    else:
        assert max(n_dev) >= 40


def test_sampling_is_deterministic() -> None:
    cfg = load_sampler_config("chainnet_like")
    a = [sample_scenario(cfg, np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    assert sample_scenario(cfg, np.random.default_rng(8)) != a[0]


def test_infeasible_structure_raises() -> None:
    cfg = ChainLikeConfig(min_services=1, max_services=1, min_fragments=2, max_fragments=2,
                          min_devices=2, max_devices=2, max_fragments_per_device=1)
    sc = sample_scenario(cfg, np.random.default_rng(0))
    assert len(sc.devices) == 2
    with pytest.raises(ValueError, match="exceeds max_devices"):
        ChainLikeConfig(min_fragments=5, max_devices=4)
    with pytest.raises(ValueError, match="min_devices=3 cannot be covered"):
        ChainLikeConfig(min_services=1, max_services=1, min_fragments=2, max_fragments=2,
                        min_devices=3, max_devices=3)
    bad = ChainLikeConfig(min_services=2, max_services=2, min_fragments=2, max_fragments=2,
                          min_devices=2, max_devices=3, max_fragments_per_device=1)
    with pytest.raises(ValueError, match="no valid structure"):
        sample_scenario(bad, np.random.default_rng(0))


def test_edge_regime() -> None:
    cfg = load_sampler_config("edge")
    rng = np.random.default_rng(2)
    splits, utils = Counter(), []
    for _ in range(40):
        sc = sample_scenario(cfg, rng)
        assert sc.links, "edge scenarios have links"
        used = sc.memory_used()
        for d in sc.devices:
            assert used[d.name] <= d.memory
            assert cfg.min_capacity <= d.capacity <= cfg.max_capacity
        for link in sc.links:
            assert cfg.min_bandwidth <= link.bandwidth <= cfg.max_bandwidth
            assert cfg.min_delay <= link.delay <= cfg.max_delay
        for svc in sc.services:
            assert 0 <= svc.scv <= cfg.max_scv
            assert svc.profile in cfg.profiles
            assert svc.source is not None and svc.sla < float("inf")
            splits[svc.split] += 1
        load, _ = unit_loads(sc)
        utils.append(max(load.values()))
        link_loads = [load.get(link.name, 0.0) for link in sc.links]
        assert max(link_loads) <= cfg.max_link_utilization + 1e-9  # links stay stable
    assert splits["layer"] and splits["semantic"]
    assert min(utils) >= cfg.min_bottleneck_utilization - 1e-9
    assert max(utils) <= cfg.max_bottleneck_utilization + 1e-9
    assert max(utils) > 1.0 and min(utils) < 0.5


# Scenarios drawn before the placer regime was added: adding a regime and sharing helpers must
# not move the existing regimes' draws (datasets stay reproducible from their seed).
_GOLDEN_FIRST_SCENARIO = {
    "chainnet_like": ("8f15794cb37aaf3b359af4659784d2fc3d5738ec0adaf5e6a6ffeb782e7cc4a5",
                      0.5943000301996968),
    "edge": ("4bfc712a62634992cfb55701a3c2009e8012f1097048a8044f0ab126443c18f3",
             0.42522862484907553),
}


@pytest.mark.parametrize("name", ["edge", "placer", "chainnet_like"])
def test_unit_loads_are_the_walkers(name: str) -> None:
    rng = np.random.default_rng(5)
    for _ in range(8):
        sc = sample_scenario(load_sampler_config(name), rng)
        load, _ = unit_loads(sc)
        # devices: the walker's offered load, bit for bit, idle ones included
        rho = offered_load(sc.devices, placed_services(sc))
        assert {d.name: load[d.name] for d in sc.devices} == rho
        # links: each crossing of the walk brings rate x transfer time
        crossed = {link.name: 0.0 for link in sc.links}
        for sw in walk(sc):
            for hops in sw.branches:
                for hop in hops:
                    if hop.link is not None:
                        crossed[hop.link.name] += (
                            sw.service.arrival_rate * (hop.nbytes / hop.link.bandwidth))
        assert set(load) <= set(rho) | set(crossed)
        for link, value in crossed.items():
            assert load.get(link, 0.0) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("name", sorted(_GOLDEN_FIRST_SCENARIO))
def test_existing_regimes_draw_unchanged(name: str) -> None:
    rng = np.random.default_rng(0)
    text = sample_scenario(load_sampler_config(name), rng).to_json()
    digest, next_draw = _GOLDEN_FIRST_SCENARIO[name]
    assert hashlib.sha256(text.encode()).hexdigest() == digest
    assert float(rng.random()) == next_draw  # the same number of draws was consumed


def test_placer_config_checks() -> None:
    with pytest.raises(ValueError, match="regime must be 'placer' for PlacerConfig"):
        PlacerConfig(regime="edge")
    cfg = PlacerConfig(profiles=["resnet18"], device_kinds=["rpi4"])
    assert cfg.profiles == ("resnet18",) and cfg.device_kinds == ("rpi4",)
    assert config_from_dict(config_to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match="config must be a ChainLikeConfig, EdgeConfig or Placer"):
        sample_scenario({"regime": "placer"}, np.random.default_rng(0))  # type: ignore[arg-type]


def _consecutive_on_one_device(sc) -> bool:  # type: ignore[no-untyped-def]
    for svc in sc.services:
        devs = sc.placement[svc.name]
        for branch in svc.branch_indices():
            if any(devs[i] == devs[j] for i, j in zip(branch, branch[1:])):
                return True
    return False


def test_placer_regime() -> None:
    cfg = load_sampler_config("placer")
    rng = np.random.default_rng(3)
    seen: Counter[str] = Counter()
    for _ in range(200):
        sc = sample_scenario(cfg, rng)
        assert Scenario.from_json(sc.to_json()) == sc
        assert cfg.min_devices <= len(sc.devices) <= cfg.max_devices
        assert cfg.min_services <= len(sc.services) <= cfg.max_services
        used = sc.memory_used()
        for d in sc.devices:
            assert d.kind in cfg.device_kinds and d.servers == 1
            assert used[d.name] <= d.memory
            assert cfg.min_capacity <= d.capacity <= cfg.max_capacity
            ratio = d.speed / DEVICE_CATALOG[d.kind].speed
            assert cfg.min_speed_factor <= ratio <= cfg.max_speed_factor
            seen["tight memory"] += d.memory != DEVICE_CATALOG[d.kind].memory
            seen["small K"] += d.capacity <= 4
        for link in sc.links:
            assert cfg.min_bandwidth <= link.bandwidth <= cfg.max_bandwidth
            assert cfg.min_delay <= link.delay <= cfg.max_delay
        n = len(sc.devices)
        assert len(sc.links) in (0, n * (n - 1) // 2)  # all pairs or none
        seen["links" if sc.links else "no links"] += 1
        for svc in sc.services:
            assert svc.profile in cfg.profiles and svc.source is None
            assert 0 <= svc.scv <= cfg.max_scv
            seen["scv 0"] += svc.scv == 0
            seen["no SLA"] += svc.sla == math.inf
            seen[svc.split] += 1
            k = len(svc.fragments)
            if svc.split == "layer":
                assert cfg.min_fragments <= k <= cfg.max_fragments
                seen["k=1"] += k == 1
                seen["k>=4"] += k >= 4
            else:
                assert k == 5 or cfg.min_branches <= k <= cfg.max_branches
                # never K branches of one request on a device: that loses every request
                hosted = Counter(sc.placement[svc.name])
                assert all(hosted[d.name] < d.capacity for d in sc.devices)
        seen["consecutive on one device"] += _consecutive_on_one_device(sc)
        load, _ = unit_loads(sc)
        device_load = max(load.get(d.name, 0.0) for d in sc.devices)
        assert device_load <= cfg.max_bottleneck_utilization + 1e-9
        seen["overloaded device"] += device_load > 1.0
        seen["light"] += device_load < 0.5
        for link in sc.links:
            assert load.get(link.name, 0.0) <= cfg.max_link_utilization + 1e-9
    for what in ("tight memory", "small K", "links", "no links", "scv 0", "no SLA", "layer",
                 "semantic", "k=1", "k>=4", "consecutive on one device", "overloaded device",
                 "light"):
        assert seen[what] > 0, what
    assert 0.2 < seen["scv 0"] / (seen["layer"] + seen["semantic"]) < 0.8


@pytest.mark.parametrize("strategy", PLACER_STRATEGIES)
def test_placer_strategies_alone(strategy: str) -> None:
    probs = {f"{s}_probability": float(s == strategy) for s in PLACER_STRATEGIES}
    cfg = PlacerConfig(**probs)
    rng = np.random.default_rng(4)
    scenarios = [sample_scenario(cfg, rng) for _ in range(30)]
    colocated = sum(_consecutive_on_one_device(sc) for sc in scenarios)
    if strategy == "colocated":
        assert colocated >= 15
    if strategy == "slow_device":
        # work goes preferentially to the slowest device of the cluster
        slowest = sum(
            min(sc.devices, key=lambda d: d.speed).name
            in {d for devs in sc.placement.devices.values() for d in devs}
            for sc in scenarios
        )
        assert slowest >= 25


def test_placer_sampling_is_deterministic() -> None:
    cfg = load_sampler_config("placer")
    a = [sample_scenario(cfg, np.random.default_rng(11)).to_json() for _ in range(2)]
    assert a[0] == a[1]
    assert sample_scenario(cfg, np.random.default_rng(12)).to_json() != a[0]


def test_placer_infeasible_memory_raises() -> None:
    cfg = PlacerConfig(profiles=("resnet50",), tight_memory_probability=1.0,
                       min_memory_factor=1e-3, max_memory_factor=1e-3, max_devices=2)
    with pytest.raises(ValueError, match="no memory-feasible placer scenario .*memory"):
        sample_scenario(cfg, np.random.default_rng(0))


def test_placer_dataset_end_to_end(tmp_path: Path) -> None:
    from datagen.dataset import generate, load_dataset

    manifest = generate("placer", tmp_path / "ds", 6, seed=1, num_requests=2000, progress=False)
    assert manifest["config"]["regime"] == "placer"
    ds = load_dataset(tmp_path / "ds")
    assert len(ds) == 6
    for sc, labels in ds:
        assert set(labels.index) == {s.name for s in sc.services}
        assert labels["loss_ratio"].between(0, 1).all()
        assert (labels["throughput"] > 0).all()
