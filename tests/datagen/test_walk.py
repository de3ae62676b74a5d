"""Tests of the one scenario walker (datagen.walk)."""

from __future__ import annotations

import numpy as np
import pytest

from datagen.sampling import load_sampler_config, sample_scenario
from datagen.sim.compiled import compile_scenario
from datagen.walk import Hop, offered_load, placed_services, walk, walk_service
from datagen.world import Device, Fragment, Link, Placement, Scenario, Service


def _scenario() -> Scenario:
    devices = (Device("a", speed=10.0, servers=2, capacity=4), Device("b", speed=5.0))
    layer = Service(
        "s",
        (Fragment("f0", 10.0, output_bytes=100), Fragment("f1", 5.0, output_bytes=7)),
        arrival_rate=2.0,
        source="b",
        input_bytes=50,
    )
    fork = Service(
        "t",
        (Fragment("g0", 4.0, branch=0), Fragment("g1", 6.0, branch=1)),
        arrival_rate=1.0,
        split="semantic",
    )
    return Scenario(
        devices,
        (layer, fork),
        Placement({"s": ("a", "b"), "t": ("a", "b")}),
        (Link("a", "b", bandwidth=1000.0, delay=0.01),),
    )


def test_hops_follow_the_transfer_rule() -> None:
    scn = _scenario()
    link = scn.links[0]
    s, t = walk(scn)
    # input from the source b to a, f0 on a, its output over the link to b, f1 on b
    assert s.branches == (
        (Hop(-1, "a", link, 50), Hop(0, "a"), Hop(-1, "b", link, 100), Hop(1, "b")),
    )
    # a semantic split has one path per branch; no source, so no input transfer
    assert t.branches == ((Hop(0, "a"),), (Hop(1, "b"),))
    assert walk_service(scn, scn.services[1]) == t


def test_offered_load_per_server() -> None:
    scn = _scenario()
    rho = offered_load(scn.devices, placed_services(scn))
    assert rho == pytest.approx({"a": (2 * 10 + 1 * 4) / 20, "b": (2 * 5 + 1 * 6) / 5})
    assert offered_load(scn.devices, placed_services(None)) == {"a": 0.0, "b": 0.0}


@pytest.mark.parametrize("regime", ["edge", "placer"])
def test_compiler_station_visits_match_the_walk(regime: str) -> None:
    scn = sample_scenario(load_sampler_config(regime), np.random.default_rng(3))
    visits = compile_scenario(scn).station_visits_per_request()
    for c, sw in enumerate(walk(scn)):
        hops = [h for branch in sw.branches for h in branch]
        on_devices = sum(1 for h in hops if h.link is None)
        sent = sum(1 for h in hops if h.link is not None and h.nbytes > 0)
        assert visits[c, : len(scn.devices)].sum() == on_devices
        assert visits[c, len(scn.devices):].sum() == sent
