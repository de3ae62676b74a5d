"""The ChainNet heterograph schema, declared once.

Builders, models, the normaliser, the surrogate and the tests all import the names below; no
other module spells a node type, an edge type or a feature position by hand.

Node types:

- ``service``: one per service (a "chain"). Targets: ``tput_ratio``, ``respt_ratio``,
  ``p95_ratio``.
- ``fragment``: one per fragment. Carries the path structure the path GRU needs:
  ``path_batch`` (global id of the fragment's path, i.e. its branch; named ``*_batch`` so that
  :meth:`torch_geometric.data.Batch.from_data_list` offsets it) and ``path_pos`` (position of
  the fragment along its path, ``0..L-1``).
- ``device``: one per device. Auxiliary targets: ``utilization``, ``drop_prob``.
- ``link``: one per link (zero rows when a scenario has no links).

Edge types are named for the direction a message travels (``src -> dst``).

Besides ``x`` (the features of :data:`FEATURES`) each node store holds:

- ``service.prior`` / ``device.prior``: analytic priors of :data:`PRIORS` (raw, never
  normalised), which the physics-informed heads correct;
- ``service.arrival_rate`` (requests/s) and ``service.time_scale`` (s, the no-queue latency
  :math:`R^0_c` of the simulator: the slowest branch's sum of compute, transfer and delay
  times): used only to convert predicted ratios back to seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the aliases module imports torch
    from chainnet.typing import EdgeType, NodeType

__all__ = [
    "SCHEMA_VERSION",
    "NODE_TYPES",
    "EDGE_TYPES",
    "FEATURES",
    "PRIORS",
    "TARGETS",
    "SERVICE",
    "FRAGMENT",
    "DEVICE",
    "LINK",
    "FRAGMENT_NEXT_FRAGMENT",
    "FRAGMENT_RUNS_ON_DEVICE",
    "DEVICE_HOSTS_FRAGMENT",
    "FRAGMENT_PART_OF_SERVICE",
    "SERVICE_HAS_FRAGMENT",
    "FRAGMENT_SENDS_OVER_LINK",
    "LINK_CARRIES_FRAGMENT",
    "metadata",
    "num_features",
]

#: Bumped whenever a feature, a prior or an edge type changes; checkpoints carry it.
#: 6: the latency prior of a fork-join service is at least the summed service times of its
#: branches sharing a device; 7: also the summed transfer times of its branch inputs sharing
#: a link, and the device floor starts after the earliest input transfer.
SCHEMA_VERSION: Final[int] = 7

SERVICE: Final[NodeType] = "service"
FRAGMENT: Final[NodeType] = "fragment"
DEVICE: Final[NodeType] = "device"
LINK: Final[NodeType] = "link"

NODE_TYPES: Final[tuple[NodeType, ...]] = (SERVICE, FRAGMENT, DEVICE, LINK)

FRAGMENT_NEXT_FRAGMENT: Final[EdgeType] = (FRAGMENT, "next", FRAGMENT)
FRAGMENT_RUNS_ON_DEVICE: Final[EdgeType] = (FRAGMENT, "runs_on", DEVICE)
DEVICE_HOSTS_FRAGMENT: Final[EdgeType] = (DEVICE, "hosts", FRAGMENT)
FRAGMENT_PART_OF_SERVICE: Final[EdgeType] = (FRAGMENT, "part_of", SERVICE)
SERVICE_HAS_FRAGMENT: Final[EdgeType] = (SERVICE, "has", FRAGMENT)
FRAGMENT_SENDS_OVER_LINK: Final[EdgeType] = (FRAGMENT, "sends_over", LINK)
LINK_CARRIES_FRAGMENT: Final[EdgeType] = (LINK, "carries", FRAGMENT)

EDGE_TYPES: Final[tuple[EdgeType, ...]] = (
    FRAGMENT_NEXT_FRAGMENT,
    FRAGMENT_RUNS_ON_DEVICE,
    DEVICE_HOSTS_FRAGMENT,
    FRAGMENT_PART_OF_SERVICE,
    SERVICE_HAS_FRAGMENT,
    FRAGMENT_SENDS_OVER_LINK,
    LINK_CARRIES_FRAGMENT,
)

#: Feature names per node type, in column order of ``data[node_type].x``. Every feature is
#: dimensionless and invariant to a change of time unit (see :mod:`chainnet.features`).
FEATURES: Final[dict[NodeType, tuple[str, ...]]] = {
    SERVICE: (
        "num_branches",
        "inv_num_branches",
        "num_fragments",
        "sla_is_inf",
        "critical_time_over_sla",
        "total_compute_share",
        "transfer_share",
        "offered_load",
        "scv",
        "mmpp_peak_factor",
        "mmpp_high_fraction",
        "mmpp_duration_x_rate",
        "tput_prior",
        "respt_prior",
        "p95_prior",
        "latency_prior_over_sla",
        "max_host_load",
        "tput_prior_two_moment",
        "tput_prior_timing",
    ),
    FRAGMENT: (
        "offered_load",
        "load_share",
        "compute_share",
        "compute_over_sla",
        "transfer_share",
        "transfer_over_sla",
        "has_transfer",
        "position_fraction",
        "is_first",
        "is_last",
        "upstream_survival",
        "scv",
        "host_loss",
        "wait_share",
        "arrival_scv",
        "prev_time_share",
        "gap_over_host_service",
        "co_source_share",
        "upstream_utilization",
        "longer_than_gap_share",
        "seen_busy_share",
        "host_loss_timing",
    ),
    DEVICE: (
        "load",
        "load_thinned",
        "inv_capacity",
        "servers",
        "scv_mix",
        "loss_mgs",
        "loss_thinned",
        "utilization_prior",
        "wait_ratio",
        "num_fragments",
        "num_services",
        "reserved_share",
        "arrival_scv",
        "loss_two_moment",
        "input_concentration",
    ),
    LINK: (
        "load",
        "wait_ratio",
        "delay_share",
        "num_transfers",
    ),
}

#: Analytic priors stored raw in ``data[node_type].prior`` (column order).
PRIORS: Final[dict[NodeType, tuple[str, ...]]] = {
    SERVICE: ("tput_ratio", "respt_ratio", "p95_ratio"),
    DEVICE: ("utilization", "drop_prob"),
}

#: Learning targets per node type (names of the model's output heads).
TARGETS: Final[dict[NodeType, tuple[str, ...]]] = {
    SERVICE: ("tput_ratio", "respt_ratio", "p95_ratio"),
    DEVICE: ("utilization", "drop_prob"),
}


def num_features(node_type: NodeType) -> int:
    """Return the number of feature columns of ``node_type``.

    Raises:
        ValueError: If ``node_type`` is not one of :data:`NODE_TYPES`.
    """
    if node_type not in FEATURES:
        raise ValueError(f"node_type must be one of {NODE_TYPES}, got {node_type!r}")
    return len(FEATURES[node_type])


def metadata() -> tuple[list[NodeType], list[EdgeType]]:
    """Return ``(node_types, edge_types)`` in the form of :meth:`HeteroData.metadata`."""
    return list(NODE_TYPES), list(EDGE_TYPES)
