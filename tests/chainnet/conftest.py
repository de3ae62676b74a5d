"""Shared scenarios for the chainnet graph/model/surrogate tests."""

import numpy as np
import pytest

from datagen.world import MMPP2, Device, Fragment, Link, Placement, Scenario, Service


def make_semantic_scenario() -> Scenario:
    devs = (
        Device("a", speed=1e9, capacity=5),
        Device("b", speed=2e9, capacity=3, servers=2, reserved_share=0.2),
        Device("c", speed=5e8, capacity=10),
        Device("idle", speed=1e9, capacity=4),
    )
    s1 = Service(
        "s1",
        (Fragment("f0", 1e8, output_bytes=1000), Fragment("f1", 2e8, output_bytes=500),
         Fragment("f2", 5e7)),
        arrival_rate=3.0, sla=1.0, scv=0.5, source="a", input_bytes=2000,
        mmpp=MMPP2(peak_factor=2.0, high_fraction=0.25, mean_high_duration=3.0),
    )
    sem = Service(
        "sem",
        (Fragment("g0", 1e8, branch=0, output_bytes=300), Fragment("g1", 1e8, branch=1),
         Fragment("g2", 1e8, branch=0, output_bytes=10)),
        arrival_rate=2.0, split="semantic", scv=1.5,
    )
    return Scenario(
        devs, (s1, sem), Placement({"s1": ("a", "b", "c"), "sem": ("b", "c", "a")}),
        links=(Link("a", "b", 1e6, 0.01), Link("b", "c", 1e5)),
    )


def sample_scenarios(regime: str, n: int, seed: int = 0) -> list[Scenario]:
    from datagen.sampling import load_sampler_config, sample_scenario

    rng = np.random.default_rng(seed)
    cfg = load_sampler_config(regime)
    return [sample_scenario(cfg, rng) for _ in range(n)]


def placed_like(base: Scenario, devices) -> list[Scenario]:
    """``base`` with each row of ``devices`` (device indices, fragments in service order) as
    its placement: the scenarios that ``chainnet.builder.tile_arrays`` describes."""
    names = [d.name for d in base.devices]
    scenarios = []
    for row in devices:
        place, k = {}, 0
        for svc in base.services:
            place[svc.name] = tuple(names[j] for j in row[k:k + len(svc.fragments)])
            k += len(svc.fragments)
        scenarios.append(Scenario(base.devices, base.services, Placement(place), base.links))
    return scenarios


@pytest.fixture
def semantic_scenario() -> Scenario:
    return make_semantic_scenario()


@pytest.fixture(scope="session")
def edge_scenarios() -> list[Scenario]:
    return sample_scenarios("edge", 12, seed=1)


@pytest.fixture(scope="session")
def chainnet_scenarios() -> list[Scenario]:
    return sample_scenarios("chainnet_like", 12, seed=2)
