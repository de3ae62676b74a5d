"""The labelled graphs of a whole dataset in the collated layout of the graph cache.

:class:`training.data.ScenarioGraphDataset` caches its graphs in PyG's ``InMemoryDataset``
layout: every attribute of all graphs concatenated, plus ``slices`` (where each graph starts)
and no index offsets (each graph keeps its own node numbering). The reference path builds one
:class:`~torch_geometric.data.HeteroData` per sample (:func:`chainnet.build_graph`), labels it
with seven pandas ``reindex`` calls (:func:`training.data.attach_targets`) and collates the
list. :func:`collate_graphs` writes the same tensors directly: the features and priors of each
scenario come from :func:`chainnet.features.compute_features` on that scenario alone, and
everything else (index tensors, slices, labels from :func:`training.targets.target_arrays`) is
concatenated once for all graphs, with no graph object per sample.

Features stay per scenario on purpose: computed on one batch of many scenarios
(:func:`chainnet.build_batch`) they differ from the per-graph values in the last bits (path
prefix sums taken over the whole batch, SIMD kernels that round by position), and the cache
must hold the very tensors of the reference path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from chainnet.builder import graph_edges, node_counts, scenarios_to_arrays
from chainnet.features import compute_features, compute_structure
from chainnet.schema import DEVICE, FRAGMENT, LINK, SERVICE
from chainnet.typing import EdgeType
from datagen.world import Scenario
from training.targets import TargetArrays

__all__ = ["SlicesType", "collate_graphs", "label_graphs"]

#: ``slices[store key][attribute]``: start of every graph's rows, ``[num_graphs + 1]``.
SlicesType = dict[Any, dict[str, Tensor]]


def _cumsum0(counts: Tensor) -> Tensor:
    """``[0, c0, c0 + c1, ...]`` (PyG's ``cumsum``), int64."""
    out = torch.zeros(counts.numel() + 1, dtype=torch.int64)
    torch.cumsum(counts, 0, out=out[1:])
    return out


def label_graphs(data: HeteroData, targets: TargetArrays) -> None:
    """Set the label attributes of (batched or collated) graphs from :class:`TargetArrays`.

    The same attributes, dtypes and order as :func:`training.data.attach_targets`.

    Args:
        data: Graphs whose services and devices are those of ``targets``, in order.
        targets: The labels (:func:`training.targets.target_arrays`).
    """
    data[SERVICE].y = torch.tensor(targets.service_y, dtype=torch.float32)
    data[SERVICE].loss_true = torch.tensor(targets.loss_true, dtype=torch.float32)
    data[SERVICE].latency_true = torch.tensor(targets.latency_true, dtype=torch.float64)
    data[SERVICE].p95_true = torch.tensor(targets.p95_true, dtype=torch.float64)
    data[DEVICE].y = torch.tensor(targets.device_y, dtype=torch.float32)


def _t(parts: list[np.ndarray], dtype: torch.dtype = torch.float32) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.concatenate(parts))).to(dtype)


def _pair(src: list[np.ndarray], dst: list[np.ndarray]) -> Tensor:
    return torch.from_numpy(np.stack([np.concatenate(src), np.concatenate(dst)]).astype(np.int64))


def collate_graphs(
    scenarios: Sequence[Scenario], targets: TargetArrays
) -> tuple[HeteroData, SlicesType | None]:
    """Build the collated, labelled graphs of many scenarios.

    Equal, tensor for tensor, to ``InMemoryDataset.collate([attach_targets(build_graph(sc),
    ...) for sc in scenarios])``: the same attributes in the same order, as
    :func:`chainnet.build_graph` fills them, with the labels of :func:`label_graphs`.

    Args:
        scenarios: The scenarios (at least one), in dataset order.
        targets: Their labels (:func:`training.targets.target_arrays`).

    Returns:
        The collated :class:`~torch_geometric.data.HeteroData` (node stores carry
        ``_num_nodes``, the node count of every graph) and its ``slices``; for one scenario,
        its graph and ``None``, as PyG collates a list of one.

    Raises:
        ValueError: If ``scenarios`` is empty or holds a non-``Scenario``, the graphs fail
            validation, or ``targets`` does not match the scenarios' services and devices.

    Shapes:
        ``slices[key][attr]``: ``[num_graphs + 1]``.
    """
    if len(scenarios) == 0:
        raise ValueError("scenarios must hold at least one Scenario, got an empty sequence")
    node_types = (SERVICE, FRAGMENT, DEVICE, LINK)
    x: dict[str, list[np.ndarray]] = {nt: [] for nt in node_types}
    count: dict[str, list[int]] = {nt: [] for nt in node_types}
    svc_prior, dev_prior, rate, scale = [], [], [], []
    path_batch, path_pos = [], []
    edges: dict[EdgeType, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for g, sc in enumerate(scenarios):
        if not isinstance(sc, Scenario):
            raise ValueError(f"scenarios[{g}] must be a Scenario, got {type(sc).__name__}")
        # one scenario at a time: the features of the reference path, bit for bit
        a = scenarios_to_arrays([sc])
        s = compute_structure(a)
        f = compute_features(a, s)
        for nt, n in node_counts(a).items():
            x[nt].append(f.x[nt])
            count[nt].append(n)
        svc_prior.append(f.prior[SERVICE])
        dev_prior.append(f.prior[DEVICE])
        rate.append(a.service_rate)
        scale.append(f.service_time_scale)
        path_batch.append(s.fragment_path)
        path_pos.append(s.fragment_pos)
        for et, (src_g, dst_g) in graph_edges(a, s).items():
            src_parts, dst_parts = edges.setdefault(et, ([], []))
            src_parts.append(src_g)
            dst_parts.append(dst_g)

    data = HeteroData()
    for nt in node_types:
        data[nt].x = _t(x[nt])
        data[nt].num_nodes = sum(count[nt])
        data[nt]._num_nodes = count[nt]
        if nt == SERVICE:
            data[SERVICE].prior = _t(svc_prior)
            data[SERVICE].arrival_rate = _t(rate, torch.float64)
            data[SERVICE].time_scale = _t(scale, torch.float64)
        elif nt == FRAGMENT:
            data[FRAGMENT].path_batch = _t(path_batch, torch.int64)
            data[FRAGMENT].path_pos = _t(path_pos, torch.int64)
        elif nt == DEVICE:
            data[DEVICE].prior = _t(dev_prior)
    for et, (src, dst) in edges.items():
        data[et].edge_index = _pair(src, dst)
    num_services, num_devices = data[SERVICE].num_nodes, data[DEVICE].num_nodes
    if targets.service_y.shape[0] != num_services or targets.device_y.shape[0] != num_devices:
        raise ValueError(
            f"targets hold {targets.service_y.shape[0]} services and "
            f"{targets.device_y.shape[0]} devices, the scenarios {num_services} and "
            f"{num_devices}; compute them with target_arrays over the same scenarios"
        )
    label_graphs(data, targets)
    data.validate(raise_on_error=True)
    if len(scenarios) == 1:  # InMemoryDataset.collate keeps a single graph as it is
        for store in data.node_stores:
            del store._num_nodes
        return data, None
    slices: SlicesType = {}
    for nt in node_types:
        ptr = _cumsum0(torch.tensor(count[nt], dtype=torch.int64))
        slices[nt] = {attr: ptr for attr in data[nt].keys() if attr != "num_nodes"}
    num_graphs = len(scenarios)
    for et, (src, _) in edges.items():
        edge_count = torch.tensor([len(v) for v in src], dtype=torch.int64)
        slices[et] = {"edge_index": _cumsum0(edge_count)}
        # what validate() checks per graph: every index within its own graph's nodes
        graph = torch.repeat_interleave(torch.arange(num_graphs), edge_count)
        bound = torch.stack([torch.tensor(count[et[0]])[graph], torch.tensor(count[et[2]])[graph]])
        edge_index = data[et].edge_index
        if bool(((edge_index < 0) | (edge_index >= bound)).any()):
            raise ValueError(f"edge type {et} has an index outside the nodes of its graph")
    return data, slices
