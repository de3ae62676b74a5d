r"""Compile a :class:`~datagen.world.Scenario` into the flat arrays both engines walk.

The simulator sees a scenario as *stations* and *paths*:

- **Stations** ``0..D-1`` are the devices (FCFS, ``servers`` servers, capacity ``K`` counting
  the ones in service); stations ``D..D+L-1`` are the links (FCFS, one server, unlimited room).
- A service has one **path** per branch (a layer split has one). A path is a list of **hops**:
  a *station hop* (service at a station, mean time ``hop_time``; fragment hops multiply it by
  the request's pre-drawn factor of fragment ``hop_frag``) or a *delay hop*
  (``hop_station == -1``: a pure propagation delay of ``hop_time`` seconds).
- Transfers: before fragment ``i`` of a branch, if the previous device (the previous fragment's,
  or ``service.source`` for the first fragment) differs and a link joins the two devices, the
  path gets a link hop of ``bytes / bandwidth`` seconds (skipped when no bytes are sent) and a
  delay hop of ``link.delay`` seconds (skipped when the delay is 0). The bytes are the previous
  fragment's ``output_bytes`` (``service.input_bytes`` for the first). The last fragment's
  output is not sent anywhere. Pairs of devices without a link transfer instantly.
  The hops come from the one scenario walker, :func:`datagen.walk.walk`.

The no-queueing latency of a path is the sum of its hop mean times; the service's is the
largest over its paths (the slowest branch of a fork-join), the numerator of ``respt_ratio``:

.. math::
    R^{0}_c = \max_{b} \sum_{h \in \text{path}(c, b)} \bar t_h.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from datagen.walk import walk
from datagen.world import Scenario, ScenarioError

__all__ = ["CompiledScenario", "compile_scenario", "INFINITE_CAPACITY"]

INFINITE_CAPACITY: int = 2**62
"""Capacity used for links (unlimited waiting room)."""


@dataclass(frozen=True, eq=False)
class CompiledScenario:
    """Flat, read-only arrays describing a scenario for the event loops.

    Args:
        scenario: The source scenario.
        station_names: Device names then link names (``"a-b"``).
        num_devices: Number of device stations ``D`` (the first ``D`` stations).
        st_servers: Servers per station, shape ``(S,)``.
        st_capacity: Capacity ``K`` per station (``INFINITE_CAPACITY`` for links), shape ``(S,)``.
        service_names: Service names in scenario order.
        rates: Mean arrival rate per service (requests/s), shape ``(C,)``.
        num_frags: Fragments per service, shape ``(C,)``.
        svc_path_start: First path of each service, shape ``(C,)``.
        svc_npaths: Number of paths (branches) per service, shape ``(C,)``.
        path_hop_start: First hop of each path, shape ``(P,)``.
        path_hop_end: One past the last hop of each path, shape ``(P,)``.
        hop_station: Station of each hop, ``-1`` for a delay hop, shape ``(H,)``.
        hop_time: Mean service time or delay of each hop (s), shape ``(H,)``.
        hop_frag: Fragment index whose factor scales the hop, ``-1`` for none, shape ``(H,)``.
        hop_vofs: Offset of a station hop in its request's visit block (``-1`` for delays).
        svc_nvisits: Station hops per request of each service, shape ``(C,)``.
        nominal_latency: No-queueing latency per service (s), shape ``(C,)``.
        visit_station: Station of each visit slot of a request, service after service.
        svc_visit_start: Offset of each service's slots in ``visit_station``, shape ``(C+1,)``.
    """

    scenario: Scenario
    station_names: tuple[str, ...]
    num_devices: int
    st_servers: np.ndarray
    st_capacity: np.ndarray
    service_names: tuple[str, ...]
    rates: np.ndarray
    num_frags: np.ndarray
    svc_path_start: np.ndarray
    svc_npaths: np.ndarray
    path_hop_start: np.ndarray
    path_hop_end: np.ndarray
    hop_station: np.ndarray
    hop_time: np.ndarray
    hop_frag: np.ndarray
    hop_vofs: np.ndarray
    svc_nvisits: np.ndarray
    nominal_latency: np.ndarray
    visit_station: np.ndarray
    svc_visit_start: np.ndarray

    @property
    def num_stations(self) -> int:
        """Number of stations (devices + links)."""
        return len(self.station_names)

    @property
    def num_services(self) -> int:
        """Number of services."""
        return len(self.service_names)

    def station_visits_per_request(self) -> np.ndarray:
        """Station hops at each station per request of each service, shape ``(C, S)``."""
        out = np.zeros((self.num_services, self.num_stations), dtype=np.int64)
        for c in range(self.num_services):
            p0 = self.svc_path_start[c]
            for p in range(p0, p0 + self.svc_npaths[c]):
                for h in range(self.path_hop_start[p], self.path_hop_end[p]):
                    if self.hop_station[h] >= 0:
                        out[c, self.hop_station[h]] += 1
        return out


def _infinite_time(what: str, service: str) -> ScenarioError:
    # Finite inputs can still give an infinite time (1e300 MAC at 1e-10 MAC/s): refuse it
    # with the culprit named instead of simulating events at t = inf.
    return ScenarioError(
        f"{what} of service {service!r} takes inf s (the float range is exceeded); use units "
        f"that keep every service and transfer time finite"
    )


def compile_scenario(scenario: Scenario) -> CompiledScenario:
    """Turn a validated scenario into :class:`CompiledScenario` arrays.

    Args:
        scenario: The scenario (validated on construction).

    Returns:
        The compiled arrays.

    Raises:
        ScenarioError: If ``scenario`` is not a :class:`~datagen.world.Scenario`, or a service
            or transfer time overflows to ``inf``.
    """
    if not isinstance(scenario, Scenario):
        raise ScenarioError(f"scenario must be a datagen.Scenario, got {type(scenario).__name__}")
    devices = scenario.devices
    dev_index = {d.name: i for i, d in enumerate(devices)}
    link_index = {link.key: len(devices) + j for j, link in enumerate(scenario.links)}
    names = tuple(d.name for d in devices) + tuple(link.name for link in scenario.links)
    servers = [d.servers for d in devices] + [1] * len(scenario.links)
    caps = [d.capacity for d in devices] + [INFINITE_CAPACITY] * len(scenario.links)

    path_start: list[int] = []
    path_end: list[int] = []
    svc_path_start: list[int] = []
    svc_npaths: list[int] = []
    hop_station: list[int] = []
    hop_time: list[float] = []
    hop_frag: list[int] = []
    hop_vofs: list[int] = []
    svc_nvisits: list[int] = []
    nominal: list[float] = []

    for svc, _, branches in walk(scenario):
        svc_path_start.append(len(path_start))
        svc_npaths.append(len(branches))
        nvis = 0
        worst = 0.0
        for hops in branches:
            path_start.append(len(hop_station))
            total = 0.0
            for hop in hops:
                link = hop.link
                if link is not None:  # a transfer: the link station (if bytes), then the delay
                    nbytes = hop.nbytes
                    if nbytes > 0:
                        t = nbytes / link.bandwidth
                        if not math.isfinite(t):
                            raise _infinite_time(
                                f"sending {nbytes} bytes over link {link.name!r} "
                                f"({link.bandwidth!r} bytes/s)", svc.name
                            )
                        hop_station.append(link_index[link.key])
                        hop_time.append(t)
                        hop_frag.append(-1)
                        hop_vofs.append(nvis)
                        nvis += 1
                        total += t
                    if link.delay > 0:
                        hop_station.append(-1)
                        hop_time.append(link.delay)
                        hop_frag.append(-1)
                        hop_vofs.append(-1)
                        total += link.delay
                    continue
                frag = svc.fragments[hop.fragment]
                d = dev_index[hop.device]
                t = frag.macs / devices[d].effective_speed
                if not math.isfinite(t):
                    raise _infinite_time(
                        f"fragment {frag.name!r} ({frag.macs!r} MAC) on device {hop.device!r} "
                        f"({devices[d].effective_speed!r} MAC/s)", svc.name
                    )
                hop_station.append(d)
                hop_time.append(t)
                hop_frag.append(hop.fragment)
                hop_vofs.append(nvis)
                nvis += 1
                total += t
            path_end.append(len(hop_station))
            worst = max(worst, total)
        svc_nvisits.append(nvis)
        nominal.append(worst)

    i64 = np.int64
    hs = np.asarray(hop_station, dtype=i64)
    return CompiledScenario(
        scenario=scenario,
        station_names=names,
        num_devices=len(devices),
        st_servers=np.asarray(servers, dtype=i64),
        st_capacity=np.asarray(caps, dtype=i64),
        service_names=tuple(s.name for s in scenario.services),
        rates=np.asarray([s.arrival_rate for s in scenario.services], dtype=np.float64),
        num_frags=np.asarray([len(s.fragments) for s in scenario.services], dtype=i64),
        svc_path_start=np.asarray(svc_path_start, dtype=i64),
        svc_npaths=np.asarray(svc_npaths, dtype=i64),
        path_hop_start=np.asarray(path_start, dtype=i64),
        path_hop_end=np.asarray(path_end, dtype=i64),
        hop_station=hs,
        hop_time=np.asarray(hop_time, dtype=np.float64),
        hop_frag=np.asarray(hop_frag, dtype=i64),
        hop_vofs=np.asarray(hop_vofs, dtype=i64),
        svc_nvisits=np.asarray(svc_nvisits, dtype=i64),
        nominal_latency=np.asarray(nominal, dtype=np.float64),
        visit_station=hs[hs >= 0],
        svc_visit_start=np.concatenate([[0], np.cumsum(svc_nvisits)]).astype(i64),
    )
