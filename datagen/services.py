"""DNN profiles, fragments and services: what runs (the demand side of the world model).

A :class:`DNNProfile` is an ordered list of :class:`LayerProfile` s; splitting it
(:mod:`datagen.splitting`) gives the :class:`Fragment` s of a :class:`Service`, one DNN
inference service with its arrival process (Poisson, or bursty with :class:`MMPP2`), its
service-time variability and its deadline. Every class is a frozen dataclass in SI units whose
constructor raises a :class:`~datagen.validation.ScenarioError` naming the field, the value and
the fix. Re-exported by :mod:`datagen.world`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from datagen.validation import (
    ScenarioError,
    check_field,
    check_finite,
    check_int,
    check_name,
    check_nonneg,
    check_positive,
    check_probability,
    named_owner,
    set_field,
    to_float,
    where,
)

__all__ = [
    "LayerProfile",
    "DNNProfile",
    "Fragment",
    "MMPP2",
    "Service",
    "SplitType",
    "SPLIT_TYPES",
]

SplitType = Literal["layer", "semantic"]
SPLIT_TYPES: tuple[str, ...] = ("layer", "semantic")


# --------------------------------------------------------------------------------------------
# DNN profiles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerProfile:
    """One layer of a DNN.

    Args:
        name: Layer name, e.g. ``"conv1"``.
        kind: Layer kind, e.g. ``"conv"``, ``"dwconv"``, ``"linear"``, ``"pool"``.
        macs: Multiply-accumulate operations per inference (MAC).
        params: Number of weights (parameters).
        out_elems: Number of elements of the output activation.
        bytes_per_elem: Bytes per weight and per activation element (default: ``4``, float32).
    """

    name: str
    kind: str
    macs: int
    params: int
    out_elems: int
    bytes_per_elem: int = 4

    def __post_init__(self) -> None:
        owner = named_owner(self, "layer", error=ScenarioError)
        check_name("kind", self.kind, owner, error=ScenarioError)
        check_field(self, "macs", check_int, 0, owner=owner, error=ScenarioError)
        check_field(self, "params", check_int, 0, owner=owner, error=ScenarioError)
        check_field(self, "out_elems", check_int, 1, owner=owner, error=ScenarioError)
        check_field(self, "bytes_per_elem", check_int, 1, owner=owner, error=ScenarioError)

    @property
    def weight_bytes(self) -> int:
        """Bytes taken by the weights (bytes)."""
        return self.params * self.bytes_per_elem

    @property
    def output_bytes(self) -> int:
        """Bytes of the output activation (bytes)."""
        return self.out_elems * self.bytes_per_elem


@dataclass(frozen=True)
class DNNProfile:
    """An ordered list of layers plus accuracy figures.

    Args:
        name: Profile name, e.g. ``"resnet50"``.
        layers: The layers in execution order.
        accuracy: Top-1 accuracy of the whole model in [0, 1].
        input_elems: Elements of the input tensor (default: ``0`` = unknown).
        semantic_accuracy: Accuracy of the semantic-split variant in [0, 1], if known
            (default: ``None``).
        semantic_macs_fraction: Total compute of the semantic variant (all branches) as a
            fraction of the layer model's compute, if known (default: ``None``).
    """

    name: str
    layers: tuple[LayerProfile, ...]
    accuracy: float
    input_elems: int = 0
    semantic_accuracy: float | None = None
    semantic_macs_fraction: float | None = None

    def __post_init__(self) -> None:
        owner = named_owner(self, "profile", error=ScenarioError)
        layers = tuple(self.layers)
        if not layers:
            raise ScenarioError(f"layers must hold at least one layer{where(owner)}, got []")
        for i, layer in enumerate(layers):
            if not isinstance(layer, LayerProfile):
                raise ScenarioError(f"layers[{i}] must be a LayerProfile{where(owner)}")
        set_field(self, "layers", layers)
        check_field(self, "accuracy", check_probability, owner=owner, error=ScenarioError)
        check_field(self, "input_elems", check_int, 0, owner=owner, error=ScenarioError)
        if self.semantic_accuracy is not None:
            check_field(
                self, "semantic_accuracy", check_probability, owner=owner, error=ScenarioError
            )
        if self.semantic_macs_fraction is not None:
            check_field(
                self, "semantic_macs_fraction", check_positive, owner=owner, error=ScenarioError
            )

    @property
    def total_macs(self) -> int:
        """Total MACs of one inference (MAC)."""
        return sum(layer.macs for layer in self.layers)

    @property
    def total_params(self) -> int:
        """Total number of parameters."""
        return sum(layer.params for layer in self.layers)

    @property
    def weight_bytes(self) -> int:
        """Total bytes of weights (bytes)."""
        return sum(layer.weight_bytes for layer in self.layers)

    def __len__(self) -> int:
        return len(self.layers)


# --------------------------------------------------------------------------------------------
# Services and their fragments
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fragment:
    """A contiguous slice of a DNN, executed as one unit on one device.

    Args:
        name: Fragment name, unique within its service (e.g. ``"f0"``).
        macs: Compute demand of one request (MAC). Service time on device ``d`` is
            ``macs / d.effective_speed`` times a unit-mean random factor.
        weight_bytes: Memory taken by the fragment's weights on its device (bytes)
            (default: ``0``).
        output_bytes: Size of the activation sent to the next fragment (bytes) (default: ``0``).
        branch: Branch index for a semantic split (``0..B-1``); always ``0`` for a layer split
            (default: ``0``).
    """

    name: str
    macs: float
    weight_bytes: int = 0
    output_bytes: int = 0
    branch: int = 0

    def __post_init__(self) -> None:
        owner = named_owner(self, "fragment", error=ScenarioError)
        check_field(self, "macs", check_positive, owner=owner, error=ScenarioError)
        check_field(self, "weight_bytes", check_int, 0, owner=owner, error=ScenarioError)
        check_field(self, "output_bytes", check_int, 0, owner=owner, error=ScenarioError)
        check_field(self, "branch", check_int, 0, owner=owner, error=ScenarioError)


@dataclass(frozen=True)
class MMPP2:
    r"""A two-state Markov-modulated Poisson process that keeps the service's mean rate.

    In the high state requests arrive at ``peak_factor * lambda``; the process spends a
    fraction ``high_fraction`` of the time there, in exponential sojourns of mean
    ``mean_high_duration``. The low-state rate is set so that the long-run mean rate is
    ``lambda``:

    .. math::
        \lambda_{low} = \lambda \frac{1 - p\,\phi}{1 - p}, \qquad
        \bar d_{low} = \bar d_{high}\,\frac{1-p}{p}

    Args:
        peak_factor: Ratio of the high-state rate to the mean rate, ``phi >= 1``.
        high_fraction: Long-run fraction of time in the high state, ``p`` in (0, 1), with
            ``p * phi <= 1``.
        mean_high_duration: Mean sojourn in the high state (s).
    """

    peak_factor: float
    high_fraction: float
    mean_high_duration: float

    def __post_init__(self) -> None:
        phi = check_finite("peak_factor", self.peak_factor, "mmpp", error=ScenarioError)
        p = check_finite("high_fraction", self.high_fraction, "mmpp", error=ScenarioError)
        duration = check_positive(
            "mean_high_duration", self.mean_high_duration, "mmpp", error=ScenarioError
        )
        if phi < 1:
            raise ScenarioError(f"peak_factor must be >= 1 for mmpp, got {phi}")
        if not 0 < p < 1:
            raise ScenarioError(f"high_fraction must be in (0, 1) for mmpp, got {p}")
        if p * phi > 1 + 1e-12:
            raise ScenarioError(
                f"high_fraction * peak_factor must be <= 1 for mmpp (the low-state rate would be "
                f"negative), got {p} * {phi} = {p * phi}; lower one of them"
            )
        set_field(self, "peak_factor", phi)
        set_field(self, "high_fraction", p)
        set_field(self, "mean_high_duration", duration)

    def rates(self, mean_rate: float) -> tuple[float, float]:
        """Return ``(high_rate, low_rate)`` in requests/s for a given mean rate (requests/s)."""
        p, phi = self.high_fraction, self.peak_factor
        return mean_rate * phi, max(0.0, mean_rate * (1 - p * phi) / (1 - p))

    def mean_durations(self) -> tuple[float, float]:
        """Return the mean sojourn times ``(high, low)`` (s)."""
        p = self.high_fraction
        return self.mean_high_duration, self.mean_high_duration * (1 - p) / p


@dataclass(frozen=True)
class Service:
    """One DNN inference service (a "chain" or "class" in ChainNet's terms).

    Args:
        name: Unique service name.
        fragments: The fragments. A layer split visits them in order; a semantic split runs
            each branch (fragments sharing a ``branch`` index, in order) in parallel and joins
            when the last branch completes.
        arrival_rate: Mean Poisson arrival rate (requests/s).
        sla: Deadline of one request (s) (default: ``inf``).
        split: ``"layer"`` or ``"semantic"`` (default: ``"layer"``).
        scv: Squared coefficient of variation of service times: 0 = deterministic,
            1 = exponential, other = gamma (default: ``0.0``).
        mmpp: Optional burstiness; ``None`` means plain Poisson arrivals (default: ``None``).
        profile: Name of the DNN profile the fragments came from, if any (default: ``None``).
        accuracy: Accuracy of this split of the DNN in [0, 1], if known (default: ``None``).
        source: Device where requests originate; with links, the input travels from there to
            the first fragment of each branch (default: ``None`` = no input transfer).
        input_bytes: Bytes of the input sent from ``source`` (bytes) (default: ``0``).
    """

    name: str
    fragments: tuple[Fragment, ...]
    arrival_rate: float
    sla: float = math.inf
    split: str = "layer"
    scv: float = 0.0
    mmpp: MMPP2 | None = None
    profile: str | None = None
    accuracy: float | None = None
    source: str | None = None
    input_bytes: int = 0

    def __post_init__(self) -> None:
        owner = named_owner(self, "service", error=ScenarioError)
        frags = tuple(self.fragments)
        if not frags:
            raise ScenarioError(f"fragments must hold at least one fragment{where(owner)}")
        for i, f in enumerate(frags):
            if not isinstance(f, Fragment):
                raise ScenarioError(f"fragments[{i}] must be a Fragment{where(owner)}, got {f!r}")
        names = [f.name for f in frags]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ScenarioError(
                f"fragment names must be unique{where(owner)}, got duplicates {sorted(dup)}"
            )
        set_field(self, "fragments", frags)
        rate = check_finite("arrival_rate", self.arrival_rate, owner, error=ScenarioError)
        if rate <= 0:
            raise ScenarioError(
                f"arrival_rate must be > 0 requests/s{where(owner)}, got {self.arrival_rate!r}"
            )
        set_field(self, "arrival_rate", rate)
        sla = to_float("sla", self.sla, owner, "a number of seconds", error=ScenarioError)
        if math.isnan(sla) or sla <= 0:
            raise ScenarioError(f"sla must be > 0 s{where(owner)}, got {self.sla!r}")
        set_field(self, "sla", sla)
        if self.split not in SPLIT_TYPES:
            raise ScenarioError(
                f"split must be one of {SPLIT_TYPES}{where(owner)}, got {self.split!r}"
            )
        check_field(self, "scv", check_nonneg, owner=owner, error=ScenarioError)
        if self.mmpp is not None and not isinstance(self.mmpp, MMPP2):
            raise ScenarioError(f"mmpp must be an MMPP2 or None{where(owner)}, got {self.mmpp!r}")
        branches = sorted({f.branch for f in frags})
        if self.split == "layer" and branches != [0]:
            raise ScenarioError(
                f"a layer split has one branch: every fragment.branch must be 0{where(owner)}, "
                f"got branches {branches}; use split='semantic' for parallel branches"
            )
        if branches != list(range(len(branches))):
            raise ScenarioError(
                f"branch indices must be 0..B-1 without gaps{where(owner)}, got {branches}"
            )
        if self.accuracy is not None:
            check_field(self, "accuracy", check_probability, owner=owner, error=ScenarioError)
        if self.profile is not None:
            check_name("profile", self.profile, owner, error=ScenarioError)
        if self.source is not None:
            check_name("source", self.source, owner, error=ScenarioError)
        check_field(self, "input_bytes", check_int, 0, owner=owner, error=ScenarioError)

    @property
    def num_branches(self) -> int:
        """Number of parallel branches (1 for a layer split)."""
        return 1 + max(f.branch for f in self.fragments)

    def branch_indices(self) -> list[list[int]]:
        """Fragment indices of each branch, in visiting order."""
        out: list[list[int]] = [[] for _ in range(self.num_branches)]
        for i, f in enumerate(self.fragments):
            out[f.branch].append(i)
        return out

    @property
    def total_macs(self) -> float:
        """Compute of one request over all fragments (MAC)."""
        return sum(f.macs for f in self.fragments)
