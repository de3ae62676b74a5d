"""Tests of the scenario samplers and their YAML configs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from datagen.sampling import (
    ChainLikeConfig,
    EdgeConfig,
    config_from_dict,
    config_to_dict,
    list_configs,
    load_sampler_config,
    sample_scenario,
)
from datagen.sampling import _unit_loads as unit_loads


def test_packaged_configs_load() -> None:
    assert list_configs() == ["chainnet_like", "edge", "large"]
    cl = load_sampler_config("chainnet_like")
    assert isinstance(cl, ChainLikeConfig)
    assert (cl.min_services, cl.max_services, cl.min_devices, cl.max_devices) == (1, 3, 2, 10)
    assert (cl.min_capacity, cl.max_capacity, cl.max_fragments_per_device) == (1, 50, 3)
    assert isinstance(load_sampler_config("edge"), EdgeConfig)
    assert load_sampler_config("large").max_devices >= 60


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
