"""The flat arrays of many scenarios and the path structure derived from them.

:class:`ScenarioArrays` holds the per-entity attributes of a list of scenarios with global
indices (filled by :func:`chainnet.builder.scenarios_to_arrays`); :func:`compute_structure`
derives the paths, the ``next`` edges and the link transfers, vectorised; :class:`GraphFeatures`
holds what :func:`chainnet.features.compute_features` makes of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ScenarioArrays", "GraphStructure", "GraphFeatures", "compute_structure"]


@dataclass
class ScenarioArrays:
    """Flat per-entity arrays of a list of scenarios (global indices, SI units).

    Fragments are listed service by service, in each service's fragment order. Device, service
    and link indices are global over the whole list (offset by the earlier scenarios).

    Shapes:
        devices ``[D]``, services ``[S]``, fragments ``[F]``, links ``[E]``.
    """

    num_graphs: int
    device_graph: np.ndarray
    device_speed: np.ndarray  # effective speed (MAC/s), reserved share already removed
    device_capacity: np.ndarray
    device_servers: np.ndarray
    device_reserved: np.ndarray
    service_graph: np.ndarray
    service_rate: np.ndarray  # requests/s
    service_sla: np.ndarray  # s, may be inf
    service_scv: np.ndarray
    service_peak: np.ndarray  # MMPP peak factor (1 = Poisson)
    service_high_fraction: np.ndarray  # MMPP high-state time fraction (0 = Poisson)
    service_high_duration: np.ndarray  # s, MMPP mean high sojourn (0 = Poisson)
    service_num_branches: np.ndarray
    service_source: np.ndarray  # global device index or -1
    service_input_bytes: np.ndarray
    fragment_service: np.ndarray
    fragment_device: np.ndarray
    fragment_macs: np.ndarray
    fragment_output_bytes: np.ndarray
    fragment_branch: np.ndarray
    link_graph: np.ndarray
    link_a: np.ndarray
    link_b: np.ndarray
    link_bandwidth: np.ndarray  # bytes/s
    link_delay: np.ndarray  # s


@dataclass
class GraphStructure:
    """Path structure and transfers derived from :class:`ScenarioArrays`.

    Attributes:
        fragment_path: Global path (branch) id of each fragment ``[F]``.
        fragment_pos: Position of each fragment along its path ``[F]``.
        path_length: Number of fragments of each path ``[P]``.
        path_service: Service of each path ``[P]``.
        next_src: Source fragments of ``fragment -> next fragment`` edges ``[N]``.
        next_dst: Destination fragments of those edges ``[N]``.
        fragment_in_link: Link carrying the fragment's input, or ``-1`` ``[F]``.
        fragment_in_bytes: Bytes of the fragment's input (previous output or service input) ``[F]``.
    """

    fragment_path: np.ndarray
    fragment_pos: np.ndarray
    path_length: np.ndarray
    path_service: np.ndarray
    next_src: np.ndarray
    next_dst: np.ndarray
    fragment_in_link: np.ndarray
    fragment_in_bytes: np.ndarray


@dataclass
class GraphFeatures:
    """Feature matrices (columns as :data:`chainnet.schema.FEATURES`) and priors.

    Attributes:
        x: Node type -> float64 array ``[N_type, num_features(type)]``.
        prior: ``service`` and ``device`` -> float64 array of :data:`chainnet.schema.PRIORS`.
        service_time_scale: No-queue latency :math:`T_c` of each service (s) ``[S]``.
    """

    x: dict[str, np.ndarray]
    prior: dict[str, np.ndarray]
    service_time_scale: np.ndarray


def compute_structure(a: ScenarioArrays) -> GraphStructure:
    """Derive paths, positions, ``next`` edges and link transfers, vectorised.

    Args:
        a: The flat arrays.

    Returns:
        The :class:`GraphStructure`.
    """
    num_frag = a.fragment_service.shape[0]
    path_offset = np.concatenate(([0], np.cumsum(a.service_num_branches)[:-1])).astype(np.int64)
    num_paths = int(a.service_num_branches.sum())
    path = path_offset[a.fragment_service] + a.fragment_branch
    order = np.argsort(path, kind="stable")
    sorted_path = path[order]
    path_length = np.bincount(path, minlength=num_paths).astype(np.int64)
    path_start = np.concatenate(([0], np.cumsum(path_length)[:-1]))
    pos = np.empty(num_frag, dtype=np.int64)
    pos[order] = np.arange(num_frag) - path_start[sorted_path]
    path_service = np.repeat(np.arange(a.service_rate.shape[0]), a.service_num_branches)

    # previous fragment along the path (in sorted order it is the preceding entry)
    has_prev_sorted = np.zeros(num_frag, dtype=bool)
    has_prev_sorted[1:] = sorted_path[1:] == sorted_path[:-1]
    prev = np.full(num_frag, -1, dtype=np.int64)
    prev[order[has_prev_sorted]] = order[np.flatnonzero(has_prev_sorted) - 1]
    has_prev = prev >= 0
    next_src = prev[has_prev]
    next_dst = np.flatnonzero(has_prev)

    src_dev = np.where(has_prev, a.fragment_device[np.maximum(prev, 0)],
                       a.service_source[a.fragment_service])
    in_bytes = np.where(has_prev, a.fragment_output_bytes[np.maximum(prev, 0)],
                        a.service_input_bytes[a.fragment_service]).astype(np.float64)
    in_link = np.full(num_frag, -1, dtype=np.int64)
    if a.link_a.shape[0] > 0:
        num_dev = np.int64(a.device_speed.shape[0])
        lo, hi = np.minimum(a.link_a, a.link_b), np.maximum(a.link_a, a.link_b)
        keys = lo * num_dev + hi
        key_order = np.argsort(keys)
        sorted_keys = keys[key_order]
        moves = (src_dev >= 0) & (src_dev != a.fragment_device)
        q = (np.minimum(src_dev, a.fragment_device) * num_dev
             + np.maximum(src_dev, a.fragment_device))
        hit = np.clip(np.searchsorted(sorted_keys, q), 0, len(sorted_keys) - 1)
        found = moves & (sorted_keys[hit] == q)
        in_link = np.where(found, key_order[hit], -1)
    return GraphStructure(
        fragment_path=path,
        fragment_pos=pos,
        path_length=path_length,
        path_service=path_service,
        next_src=next_src,
        next_dst=next_dst,
        fragment_in_link=in_link,
        fragment_in_bytes=in_bytes,
    )
