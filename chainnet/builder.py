"""Build ChainNet heterographs from scenarios.

:func:`build_batch` builds ONE batched graph for many scenarios directly from concatenated numpy
arrays: the only per-scenario Python work is reading a few attributes into flat lists
(:func:`scenarios_to_arrays`); structure, features and priors are then computed vectorised
(:mod:`chainnet.features`). :func:`build_graph` builds and validates the graph of one scenario;
:meth:`torch_geometric.data.Batch.from_data_list` over such graphs gives the same tensors as
:func:`build_batch` (offsets included, ``path_batch`` is offset because its name contains
``batch``), so datasets of single graphs and the fast batched path agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch_geometric.data import Batch, HeteroData

from chainnet.features import (
    GraphFeatures,
    GraphStructure,
    ScenarioArrays,
    compute_features,
    compute_structure,
)
from chainnet.nn.stacked import GraphTensors
from chainnet.schema import (
    DEVICE,
    DEVICE_HOSTS_FRAGMENT,
    FRAGMENT,
    FRAGMENT_NEXT_FRAGMENT,
    FRAGMENT_PART_OF_SERVICE,
    FRAGMENT_RUNS_ON_DEVICE,
    FRAGMENT_SENDS_OVER_LINK,
    LINK,
    LINK_CARRIES_FRAGMENT,
    SERVICE,
    SERVICE_HAS_FRAGMENT,
)
from chainnet.typing import EdgeType
from datagen.world import Scenario

__all__ = ["scenarios_to_arrays", "build_graph", "build_batch", "batch_from_arrays",
           "build_tensors", "tensors_from_arrays", "tile_arrays", "node_counts", "graph_edges"]


def scenarios_to_arrays(scenarios: Sequence[Scenario]) -> ScenarioArrays:
    """Read the attributes of many scenarios into flat arrays with global indices.

    Args:
        scenarios: The scenarios (at least one).

    Returns:
        The :class:`~chainnet.features.ScenarioArrays`.

    Raises:
        ValueError: If ``scenarios`` is empty or holds something other than a ``Scenario``.
    """
    if len(scenarios) == 0:
        raise ValueError("scenarios must hold at least one Scenario, got an empty sequence")
    d_graph: list[int] = []
    d_speed: list[float] = []
    d_cap: list[int] = []
    d_srv: list[int] = []
    d_res: list[float] = []
    s_graph: list[int] = []
    s_rate: list[float] = []
    s_sla: list[float] = []
    s_scv: list[float] = []
    s_peak: list[float] = []
    s_frac: list[float] = []
    s_dur: list[float] = []
    s_nb: list[int] = []
    s_src: list[int] = []
    s_inb: list[int] = []
    f_svc: list[int] = []
    f_dev: list[int] = []
    f_macs: list[float] = []
    f_out: list[int] = []
    f_br: list[int] = []
    l_graph: list[int] = []
    l_a: list[int] = []
    l_b: list[int] = []
    l_bw: list[float] = []
    l_delay: list[float] = []
    for g, sc in enumerate(scenarios):
        if not isinstance(sc, Scenario):
            raise ValueError(f"scenarios[{g}] must be a Scenario, got {type(sc).__name__}")
        base = len(d_speed)
        index = {d.name: base + i for i, d in enumerate(sc.devices)}
        for d in sc.devices:
            d_speed.append(d.speed * (1.0 - d.reserved_share))
            d_cap.append(d.capacity)
            d_srv.append(d.servers)
            d_res.append(d.reserved_share)
        d_graph.extend([g] * len(sc.devices))
        placement = sc.placement.devices
        for svc in sc.services:
            sid = len(s_rate)
            frags = svc.fragments
            s_rate.append(svc.arrival_rate)
            s_sla.append(svc.sla)
            s_scv.append(svc.scv)
            mm = svc.mmpp
            if mm is None:
                s_peak.append(1.0)
                s_frac.append(0.0)
                s_dur.append(0.0)
            else:
                s_peak.append(mm.peak_factor)
                s_frac.append(mm.high_fraction)
                s_dur.append(mm.mean_high_duration)
            s_src.append(-1 if svc.source is None else index[svc.source])
            s_inb.append(svc.input_bytes)
            nb = 1
            for f in frags:
                f_macs.append(f.macs)
                f_out.append(f.output_bytes)
                f_br.append(f.branch)
                if f.branch >= nb:
                    nb = f.branch + 1
            s_nb.append(nb)
            f_svc.extend([sid] * len(frags))
            f_dev.extend([index[name] for name in placement[svc.name]])
        s_graph.extend([g] * len(sc.services))
        for link in sc.links:
            l_a.append(index[link.a])
            l_b.append(index[link.b])
            l_bw.append(link.bandwidth)
            l_delay.append(link.delay)
        l_graph.extend([g] * len(sc.links))

    def i64(v: Sequence[int]) -> np.ndarray:
        return np.asarray(v, dtype=np.int64)

    def f64(v: Sequence[float]) -> np.ndarray:
        return np.asarray(v, dtype=np.float64)

    return ScenarioArrays(
        num_graphs=len(scenarios),
        device_graph=i64(d_graph),
        device_speed=f64(d_speed),
        device_capacity=i64(d_cap),
        device_servers=i64(d_srv),
        device_reserved=f64(d_res),
        service_graph=i64(s_graph),
        service_rate=f64(s_rate),
        service_sla=f64(s_sla),
        service_scv=f64(s_scv),
        service_peak=f64(s_peak),
        service_high_fraction=f64(s_frac),
        service_high_duration=f64(s_dur),
        service_num_branches=i64(s_nb),
        service_source=i64(s_src),
        service_input_bytes=f64(s_inb),
        fragment_service=i64(f_svc),
        fragment_device=i64(f_dev),
        fragment_macs=f64(f_macs),
        fragment_output_bytes=f64(f_out),
        fragment_branch=i64(f_br),
        link_graph=i64(l_graph),
        link_a=i64(l_a),
        link_b=i64(l_b),
        link_bandwidth=f64(l_bw),
        link_delay=f64(l_delay),
    )


def _t(a: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(dtype)


def _pair(src: np.ndarray, dst: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack([src, dst]).astype(np.int64))


def node_counts(a: ScenarioArrays) -> dict[str, int]:
    """Number of nodes of every node type, in the order the graphs create their stores.

    Args:
        a: The scenario arrays (:func:`scenarios_to_arrays`).

    Returns:
        ``{SERVICE: ..., FRAGMENT: ..., DEVICE: ..., LINK: ...}``.
    """
    return {
        SERVICE: a.service_rate.shape[0],
        FRAGMENT: a.fragment_service.shape[0],
        DEVICE: a.device_speed.shape[0],
        LINK: a.link_bandwidth.shape[0],
    }


def graph_edges(
    a: ScenarioArrays, s: GraphStructure
) -> dict[EdgeType, tuple[np.ndarray, np.ndarray]]:
    """Source and destination indices of every edge type: the schema's edges, in one place.

    Args:
        a: The scenario arrays (:func:`scenarios_to_arrays`).
        s: Their structure (:func:`~chainnet.features.compute_structure`).

    Returns:
        ``{edge type: (src, dst)}`` in the order the graphs create their edge stores.

    Shapes:
        ``src``, ``dst``: ``[num_edges]`` of that type.
    """
    frag = np.arange(a.fragment_service.shape[0], dtype=np.int64)
    moved = s.fragment_in_link >= 0
    return {
        FRAGMENT_NEXT_FRAGMENT: (s.next_src, s.next_dst),
        FRAGMENT_RUNS_ON_DEVICE: (frag, a.fragment_device),
        DEVICE_HOSTS_FRAGMENT: (a.fragment_device, frag),
        FRAGMENT_PART_OF_SERVICE: (frag, a.fragment_service),
        SERVICE_HAS_FRAGMENT: (a.fragment_service, frag),
        FRAGMENT_SENDS_OVER_LINK: (frag[moved], s.fragment_in_link[moved]),
        LINK_CARRIES_FRAGMENT: (s.fragment_in_link[moved], frag[moved]),
    }


def _fill(data: HeteroData, a: ScenarioArrays, s: GraphStructure, f: GraphFeatures) -> None:
    for nt, n in node_counts(a).items():
        data[nt].x = _t(f.x[nt])
        data[nt].num_nodes = n
    data[SERVICE].prior = _t(f.prior[SERVICE])
    data[DEVICE].prior = _t(f.prior[DEVICE])
    data[SERVICE].arrival_rate = _t(a.service_rate, torch.float64)
    data[SERVICE].time_scale = _t(f.service_time_scale, torch.float64)
    data[FRAGMENT].path_batch = _t(s.fragment_path, torch.int64)
    data[FRAGMENT].path_pos = _t(s.fragment_pos, torch.int64)
    for et, (src, dst) in graph_edges(a, s).items():
        data[et].edge_index = _pair(src, dst)


def _build(scenarios: Sequence[Scenario], data: HeteroData) -> ScenarioArrays:
    a = scenarios_to_arrays(scenarios)
    _fill_arrays(data, a, None)
    return a


def _fill_arrays(data: HeteroData, a: ScenarioArrays, structure: GraphStructure | None) -> None:
    s = compute_structure(a) if structure is None else structure
    _fill(data, a, s, compute_features(a, s))


def build_graph(scenario: Scenario) -> HeteroData:
    """Build the validated heterograph of one scenario.

    Args:
        scenario: The scenario.

    Returns:
        A :class:`~torch_geometric.data.HeteroData` following :mod:`chainnet.schema`.

    Raises:
        ValueError: If ``scenario`` is not a ``Scenario`` or the graph fails validation.
    """
    data = HeteroData()
    _build([scenario], data)
    data.validate(raise_on_error=True)
    return data


def build_batch(scenarios: Sequence[Scenario], *, validate: bool = False) -> Batch:
    """Build ONE batched heterograph for many scenarios, vectorised.

    Equivalent to ``Batch.from_data_list([build_graph(s) for s in scenarios])`` but without
    per-scenario graphs: every node store gets the ``batch`` (graph of each node) and ``ptr``
    vectors that PyG batching would add.

    Args:
        scenarios: The scenarios (at least one).
        validate: Also run :meth:`HeteroData.validate` on the batch (default: ``False``).

    Returns:
        A :class:`torch_geometric.data.Batch` of :class:`HeteroData` with ``num_graphs``.

    Raises:
        ValueError: If ``scenarios`` is empty or holds a non-``Scenario``.

    Shapes:
        ``batch[nt].batch``: ``[num_nodes(nt)]``; ``batch[nt].ptr``: ``[num_graphs + 1]``.
    """
    return batch_from_arrays(scenarios_to_arrays(scenarios), validate=validate)


def batch_from_arrays(a: ScenarioArrays, structure: GraphStructure | None = None, *,
                      validate: bool = False) -> Batch:
    """:func:`build_batch` of scenarios already read into flat arrays.

    Args:
        a: The arrays (:func:`scenarios_to_arrays`).
        structure: Their :func:`~chainnet.features.compute_structure`, when the caller has it
            already (default: ``None`` = computed here).
        validate: Also run :meth:`HeteroData.validate` on the batch (default: ``False``).

    Returns:
        The batch of :func:`build_batch` (the same tensors).
    """
    data = Batch(_base_cls=HeteroData)
    _fill_arrays(data, a, structure)
    graphs = {
        SERVICE: a.service_graph,
        FRAGMENT: a.service_graph[a.fragment_service],
        DEVICE: a.device_graph,
        LINK: a.link_graph,
    }
    for nt, g in graphs.items():
        counts = np.bincount(g, minlength=a.num_graphs)
        data[nt].batch = _t(g, torch.int64)
        data[nt].ptr = torch.from_numpy(np.concatenate(([0], np.cumsum(counts))).astype(np.int64))
    data._num_graphs = a.num_graphs
    if validate:
        data.validate(raise_on_error=True)
    return data


def tile_arrays(base: ScenarioArrays, fragment_device: np.ndarray) -> ScenarioArrays:
    """Copies of one scenario's arrays that differ only in the device of each fragment.

    The fixed part (devices, services, links, fragment sizes) of ``base`` is repeated with
    the index offsets of a batch; only ``fragment_device`` comes from the caller. No
    :class:`~datagen.world.Scenario` is built.

    Args:
        base: The arrays of ONE scenario (``num_graphs == 1``).
        fragment_device: Device (index into ``base``'s devices) of every fragment of every
            copy, shape ``(B, F)`` with ``F`` the fragments of ``base`` in its order.

    Returns:
        The arrays of the ``B`` copies, global indices as :func:`scenarios_to_arrays` gives.

    Raises:
        ValueError: If ``base`` holds more than one scenario or the shape does not match.
    """
    fd = np.asarray(fragment_device, dtype=np.int64)
    num_frag = base.fragment_service.shape[0]
    if base.num_graphs != 1 or fd.ndim != 2 or fd.shape[1] != num_frag:
        raise ValueError(
            f"tile_arrays needs the arrays of one scenario and a (B, {num_frag}) device array, "
            f"got num_graphs={base.num_graphs} and shape {fd.shape}"
        )
    B = fd.shape[0]
    nd, ns = base.device_speed.shape[0], base.service_rate.shape[0]
    graph = np.arange(B, dtype=np.int64)
    d_off = (graph * nd)[:, None]
    s_off = (graph * ns)[:, None]

    def rep(v: np.ndarray) -> np.ndarray:
        return np.tile(v, B)

    def idx(v: np.ndarray, off: np.ndarray) -> np.ndarray:
        return (v[None, :] + off).ravel()

    src = base.service_source
    return ScenarioArrays(
        num_graphs=B,
        device_graph=np.repeat(graph, nd),
        device_speed=rep(base.device_speed),
        device_capacity=rep(base.device_capacity),
        device_servers=rep(base.device_servers),
        device_reserved=rep(base.device_reserved),
        service_graph=np.repeat(graph, ns),
        service_rate=rep(base.service_rate),
        service_sla=rep(base.service_sla),
        service_scv=rep(base.service_scv),
        service_peak=rep(base.service_peak),
        service_high_fraction=rep(base.service_high_fraction),
        service_high_duration=rep(base.service_high_duration),
        service_num_branches=rep(base.service_num_branches),
        service_source=np.where(src[None, :] >= 0, src[None, :] + d_off, -1).ravel(),
        service_input_bytes=rep(base.service_input_bytes),
        fragment_service=idx(base.fragment_service, s_off),
        fragment_device=(fd + d_off).ravel(),
        fragment_macs=rep(base.fragment_macs),
        fragment_output_bytes=rep(base.fragment_output_bytes),
        fragment_branch=rep(base.fragment_branch),
        link_graph=np.repeat(graph, base.link_a.shape[0]),
        link_a=idx(base.link_a, d_off),
        link_b=idx(base.link_b, d_off),
        link_bandwidth=rep(base.link_bandwidth),
        link_delay=rep(base.link_delay),
    )


def tensors_from_arrays(a: ScenarioArrays,
                        structure: GraphStructure | None = None) -> GraphTensors | None:
    """Compute features and priors of flat arrays and pack them for the stacked model.

    Fragments are permuted into the time-major packed order of the path GRU and paths sorted
    by decreasing length (see :class:`chainnet.nn.stacked.GraphTensors`).

    Args:
        a: Flat arrays of one or more scenarios (:func:`scenarios_to_arrays`,
            :func:`tile_arrays`).
        structure: Their :func:`~chainnet.features.compute_structure`, when the caller has it
            already (default: ``None`` = computed here).

    Returns:
        The :class:`~chainnet.nn.stacked.GraphTensors`, or ``None`` when there is no
        fragment or some path has none (use :func:`build_batch` then).
    """
    s = compute_structure(a) if structure is None else structure
    length = s.path_length
    if a.fragment_service.shape[0] == 0 or length.size == 0 or length.min() == 0:
        return None
    f = compute_features(a, s)
    num_paths = length.shape[0]
    sorted_paths = np.argsort(-length, kind="stable")
    rank = np.empty(num_paths, dtype=np.int64)
    rank[sorted_paths] = np.arange(num_paths)
    batch_sizes = (length[None, :] > np.arange(int(length.max()))[:, None]).sum(axis=1)
    step_start = np.cumsum(batch_sizes) - batch_sizes
    row = step_start[s.fragment_pos] + rank[s.fragment_path]
    order = np.empty_like(row)
    order[row] = np.arange(row.shape[0])
    in_link = s.fragment_in_link[order]
    send = np.flatnonzero(in_link >= 0)
    x = {nt: _t(v) for nt, v in f.x.items()}
    x[FRAGMENT] = _t(f.x[FRAGMENT][order])
    i64 = torch.int64
    return GraphTensors(
        x=x,
        service_prior=_t(f.prior[SERVICE]),
        device_prior=_t(f.prior[DEVICE]),
        host=_t(a.fragment_device[order], i64),
        fragment_service=_t(a.fragment_service[order], i64),
        path_service=_t(s.path_service[sorted_paths], i64),
        batch_sizes=_t(batch_sizes, i64),
        send_fragment=_t(send, i64),
        send_link=_t(in_link[send], i64),
        service_graph=_t(a.service_graph, i64),
        num_graphs=a.num_graphs,
        arrival_rate=_t(a.service_rate, torch.float64),
        time_scale=_t(f.service_time_scale, torch.float64),
    )


def build_tensors(scenarios: Sequence[Scenario]) -> GraphTensors | None:
    """Build the :class:`~chainnet.nn.stacked.GraphTensors` of many scenarios, vectorised.

    The fast input of :class:`chainnet.nn.stacked.StackedChainNet`: the same features and
    priors as :func:`build_batch`, without a :class:`~torch_geometric.data.HeteroData`.

    Args:
        scenarios: The scenarios (at least one).

    Returns:
        The tensors, or ``None`` when some path has no fragment (see
        :func:`tensors_from_arrays`).

    Raises:
        ValueError: If ``scenarios`` is empty or holds a non-``Scenario``.
    """
    return tensors_from_arrays(scenarios_to_arrays(scenarios))
