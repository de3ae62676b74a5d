"""The flat arrays of many scenarios and the path structure derived from them.

:class:`ScenarioArrays` holds the per-entity attributes of a list of scenarios with global
indices (filled by :func:`chainnet.builder.scenarios_to_arrays`); :func:`compute_structure`
derives the paths, the ``next`` edges and the link transfers with the array form of the scenario
walker (:func:`datagen.walk.walk_arrays`); :class:`GraphFeatures` holds what
:func:`chainnet.features.compute_features` makes of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.walk import walk_arrays

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

    The paths and transfers are those of the scenario walker (:func:`datagen.walk.walk_arrays`,
    the array form of :func:`datagen.walk.walk`).

    Args:
        a: The flat arrays.

    Returns:
        The :class:`GraphStructure`.
    """
    w = walk_arrays(
        fragment_service=a.fragment_service,
        fragment_branch=a.fragment_branch,
        fragment_device=a.fragment_device,
        fragment_output_bytes=a.fragment_output_bytes,
        service_num_branches=a.service_num_branches,
        service_source=a.service_source,
        service_input_bytes=a.service_input_bytes,
        link_a=a.link_a,
        link_b=a.link_b,
        num_devices=a.device_speed.shape[0],
    )
    has_prev = w.fragment_prev >= 0
    return GraphStructure(
        fragment_path=w.fragment_path,
        fragment_pos=w.fragment_pos,
        path_length=w.path_length,
        path_service=w.path_service,
        next_src=w.fragment_prev[has_prev],
        next_dst=np.flatnonzero(has_prev),
        fragment_in_link=w.fragment_in_link,
        fragment_in_bytes=w.fragment_in_bytes,
    )
