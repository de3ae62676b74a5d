r"""Split a DNN profile into the fragments of a service: layer split or semantic split.

- **Layer split** (:func:`layer_split`): ``k`` contiguous fragments run one after another.
  By default the cut points minimise the largest fragment's MACs (the pipeline bottleneck):

  .. math::
      \min_{0 = c_0 < c_1 < \dots < c_k = L}\ \max_{i} \sum_{l = c_{i-1}}^{c_i - 1} o_l,

  ties broken by the smallest sum of squared fragment MACs (the most even split), then by
  the latest cuts (so zero-MAC layers such as a batch norm or an activation stay with the
  layer they follow). Every fragment must have positive MACs (a fragment of only zero-MAC
  layers, e.g. a lone flatten, would take no time and is not a valid
  :class:`~datagen.world.Fragment`). Fragment ``i`` has the MACs and weight bytes of its
  layers and ships the output activation of its last layer.
- **Semantic split** (:func:`semantic_split`): ``B`` independent branches, each a narrower
  model predicting a disjoint ``1/B`` of the classes, run in parallel on the same input. Each
  branch is one fragment (``branch = b``) with

  .. math::
      o_b = \frac{\phi\, O}{B}, \qquad w_b = \frac{\phi\, W}{B}, \qquad
      a_b = \left\lceil \frac{a_L}{B} \right\rceil,

  where :math:`O` and :math:`W` are the layer model's MACs and weight bytes, :math:`a_L` its
  output elements and :math:`\phi` the profile's ``semantic_macs_fraction`` (0.36 for the
  SplitPlace CNNs). When the profile has none, :math:`\phi = 1`: each branch is the layer model
  with every channel width scaled by :math:`1/\sqrt{B}`, which scales conv and linear MACs and
  weights by :math:`1/B`, so the branches together cost what the layer model costs.
- **Accuracy** (:func:`split_accuracy`): a layer split keeps the model's accuracy. A semantic
  split has the profile's ``semantic_accuracy`` or, when unknown, the model's accuracy times
  :data:`SEMANTIC_ACCURACY_RATIO` = 0.966, the mean semantic/layer accuracy ratio of
  SplitPlace's three published applications (95.7/97.5, 91.7/95.7, 94.0/98.0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from datagen.validation import is_int, show_value
from datagen.world import MMPP2, DNNProfile, Fragment, Service

__all__ = [
    "DEFAULT_LAYER_FRAGMENTS",
    "MAX_BRANCHES",
    "SEMANTIC_ACCURACY_RATIO",
    "balanced_cuts",
    "layer_split",
    "semantic_split",
    "split_accuracy",
    "make_service",
]

#: Fragments of a layer split when neither ``k`` nor ``cuts`` is given (SplitPlace uses 4),
#: capped at the number of layers with positive MACs.
DEFAULT_LAYER_FRAGMENTS = 4

#: Most branches of a semantic split. The layer split's ``k`` is bounded by the profile's layers
#: with MACs > 0 (at most 22 in the zoo); branches get a bound of the same order. Every branch is
#: a fragment the placer must assign, so the search grows with it: 1000 branches took the placer
#: minutes and gigabytes, while SplitPlace uses 5.
MAX_BRANCHES = 64

#: Semantic/layer accuracy ratio used when a profile has no ``semantic_accuracy``: the mean of
#: SplitPlace's published ratios (MNIST 95.7/97.5, FashionMNIST 91.7/95.7, CIFAR100 94.0/98.0).
SEMANTIC_ACCURACY_RATIO = round((0.957 / 0.975 + 0.917 / 0.957 + 0.940 / 0.980) / 3, 3)


def _check_profile(profile: object) -> DNNProfile:
    if not isinstance(profile, DNNProfile):
        raise ValueError(
            f"profile must be a DNNProfile (e.g. datagen.zoo.get_profile('resnet50')), got "
            f"{type(profile).__name__}"
        )
    return profile


def _fragments_from_bounds(profile: DNNProfile, bounds: Sequence[int]) -> tuple[Fragment, ...]:
    frags = []
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        layers = profile.layers[a:b]
        macs = sum(layer.macs for layer in layers)
        if macs <= 0:
            raise ValueError(
                f"fragment {i} (layers {a}..{b - 1}: {[x.name for x in layers]}) of profile "
                f"{profile.name!r} has 0 MACs; move the cut so that every fragment holds a layer "
                f"with MACs > 0"
            )
        frags.append(
            Fragment(
                name=f"f{i}",
                macs=float(macs),
                weight_bytes=sum(layer.weight_bytes for layer in layers),
                output_bytes=layers[-1].output_bytes,
            )
        )
    return tuple(frags)


def _balanced_bounds(macs: np.ndarray, k: int) -> list[int]:
    """Cut ``macs`` into ``k`` contiguous positive groups minimising (max, sum of squares)."""
    n = len(macs)
    prefix = np.concatenate(([0.0], np.cumsum(macs, dtype=np.float64)))
    inf = math.inf
    # Pass 1: the smallest achievable bottleneck. best[i] = min over partitions of layers[:i]
    # into j groups of the largest group.
    best = np.full(n + 1, inf)
    best[0] = 0.0
    for _ in range(k):
        new = np.full(n + 1, inf)
        for i in range(1, n + 1):
            seg = prefix[i] - prefix[:i]
            cand = np.where(seg > 0, np.maximum(best[:i], seg), inf)
            new[i] = cand.min()
        best = new
    bottleneck = best[n]
    # Pass 2: among partitions whose groups are all <= bottleneck, the smallest sum of squares.
    cost = np.full(n + 1, inf)
    cost[0] = 0.0
    choice = np.zeros((k, n + 1), dtype=np.int64)
    for j in range(k):
        new = np.full(n + 1, inf)
        for i in range(1, n + 1):
            seg = prefix[i] - prefix[:i]
            ok = (seg > 0) & (seg <= bottleneck)
            cand = np.where(ok, cost[:i] + seg * seg, inf)
            l_best = i - 1 - int(np.argmin(cand[::-1]))  # the latest of equal starts
            new[i] = cand[l_best]
            choice[j, i] = l_best
        cost = new
    bounds = [n]
    for j in range(k - 1, -1, -1):
        bounds.append(int(choice[j, bounds[-1]]))
    return bounds[::-1]


def balanced_cuts(profile: DNNProfile, k: int) -> tuple[int, ...]:
    """Cut indices of the balanced ``k``-fragment layer split (see the module docstring).

    Args:
        profile: The DNN profile.
        k: Number of fragments, in ``1..(layers with MACs > 0)``.

    Returns:
        ``k - 1`` strictly increasing layer indices where a new fragment starts, such that
        ``layer_split(profile, cuts=balanced_cuts(profile, k)) == layer_split(profile, k=k)``.

    Raises:
        ValueError: If ``k`` is out of range or the profile has 0 MACs.
    """
    profile = _check_profile(profile)
    macs = np.array([layer.macs for layer in profile.layers], dtype=np.float64)
    positive = int((macs > 0).sum())
    if positive == 0:
        raise ValueError(f"profile {profile.name!r} has 0 MACs in total; nothing to split")
    if not is_int(k) or k < 1:
        raise ValueError(f"k must be an integer >= 1 (number of fragments), got {show_value(k)}")
    if k > positive:
        raise ValueError(
            f"k must be <= {positive} for profile {profile.name!r} (the number of its layers "
            f"with MACs > 0; each fragment needs one), got k={show_value(k)}"
        )
    return tuple(_balanced_bounds(macs, int(k))[1:-1])


def layer_split(
    profile: DNNProfile, k: int | None = None, cuts: Sequence[int] | None = None
) -> tuple[Fragment, ...]:
    """Cut a profile into contiguous fragments (a layer split).

    Args:
        profile: The DNN profile.
        k: Number of fragments; the cuts minimise the largest fragment's MACs (see the module
            docstring) (default: ``None`` = :data:`DEFAULT_LAYER_FRAGMENTS`, capped at the
            number of layers with MACs > 0, or ``len(cuts) + 1`` when ``cuts`` is given).
        cuts: Layer indices where a new fragment starts, strictly increasing in
            ``1..len(profile) - 1``; ``cuts=(3, 7)`` gives layers ``[0:3], [3:7], [7:]``
            (default: ``None`` = balanced).

    Returns:
        The fragments ``f0, f1, ...`` (branch 0), in order. Together they hold every layer's
        MACs and weights exactly once.

    Raises:
        ValueError: If ``k`` is not an integer in ``1..(layers with MACs > 0)``, if ``cuts`` is
            not strictly increasing inside ``1..len(profile) - 1``, if ``k`` disagrees with
            ``cuts``, or if a cut leaves a fragment with 0 MACs.

    Example:
        >>> from datagen.zoo import get_profile
        >>> [f.macs for f in layer_split(get_profile("qpart_mlp"), cuts=[1, 3])]
        [401408.0, 163840.0, 10560.0]
    """
    profile = _check_profile(profile)
    n = len(profile)
    if cuts is not None:
        cut_list = list(cuts)
        if not all(is_int(c) for c in cut_list):
            raise ValueError(f"cuts must be layer indices (integers), got {cuts!r}")
        cut_list = [int(c) for c in cut_list]
        if any(c < 1 or c > n - 1 for c in cut_list):
            raise ValueError(
                f"cuts must lie in 1..{n - 1} for profile {profile.name!r} ({n} layers), got "
                f"{cut_list}"
            )
        if any(b <= a for a, b in zip(cut_list, cut_list[1:])):
            raise ValueError(f"cuts must be strictly increasing, got {cut_list}")
        if k is not None and k != len(cut_list) + 1:
            raise ValueError(
                f"k must equal len(cuts) + 1 = {len(cut_list) + 1} when both are given, got "
                f"k={k!r}; pass only one of them"
            )
        return _fragments_from_bounds(profile, [0, *cut_list, n])
    if k is None:
        positive = sum(1 for layer in profile.layers if layer.macs > 0)
        k = max(1, min(DEFAULT_LAYER_FRAGMENTS, positive))
    cuts_found = balanced_cuts(profile, k)
    return _fragments_from_bounds(profile, [0, *cuts_found, n])


def semantic_split(profile: DNNProfile, branches: int = 5) -> tuple[Fragment, ...]:
    """Replace a profile by ``B`` parallel branches (a semantic split), one fragment each.

    Compute and weights follow the module docstring: each branch gets ``phi / B`` of the layer
    model's MACs and weight bytes, with ``phi = profile.semantic_macs_fraction`` or 1 when the
    profile has none (width-scaling rule), and ships ``1/B`` of the output activation.

    Args:
        profile: The DNN profile.
        branches: Number of branches, ``2 <= B <=`` :data:`MAX_BRANCHES` (default: ``5``, as in
            SplitPlace).

    Returns:
        Fragments ``b0 .. b{B-1}`` with ``branch = 0 .. B-1``.

    Raises:
        ValueError: If ``branches`` is not an integer in ``[2, MAX_BRANCHES]`` or the profile
            has 0 MACs.
    """
    profile = _check_profile(profile)
    if not is_int(branches) or branches < 2:
        raise ValueError(
            f"branches must be an integer >= 2 for a semantic split, got "
            f"{show_value(branches)}; use layer_split for a single chain"
        )
    if branches > MAX_BRANCHES:
        raise ValueError(
            f"branches must be <= {MAX_BRANCHES} (MAX_BRANCHES) for a semantic split of profile "
            f"{profile.name!r}, got {show_value(branches)}; every branch is a fragment to place"
        )
    if profile.total_macs <= 0:
        raise ValueError(f"profile {profile.name!r} has 0 MACs in total; nothing to split")
    b = int(branches)
    phi = 1.0 if profile.semantic_macs_fraction is None else profile.semantic_macs_fraction
    last = profile.layers[-1]
    out_bytes = math.ceil(last.out_elems / b) * last.bytes_per_elem
    weight = round(phi * profile.weight_bytes / b)
    return tuple(
        Fragment(
            name=f"b{i}",
            macs=phi * profile.total_macs / b,
            weight_bytes=weight,
            output_bytes=out_bytes,
            branch=i,
        )
        for i in range(b)
    )


def split_accuracy(profile: DNNProfile, split: str) -> float:
    """Accuracy of a profile under a split type, in [0, 1].

    Args:
        profile: The DNN profile.
        split: ``"layer"`` (the model's accuracy) or ``"semantic"`` (``semantic_accuracy``, or
            ``accuracy * SEMANTIC_ACCURACY_RATIO`` when unknown).

    Returns:
        The accuracy.

    Raises:
        ValueError: If ``split`` is not ``"layer"`` or ``"semantic"``.
    """
    profile = _check_profile(profile)
    if split == "layer":
        return profile.accuracy
    if split == "semantic":
        if profile.semantic_accuracy is not None:
            return profile.semantic_accuracy
        return profile.accuracy * SEMANTIC_ACCURACY_RATIO
    raise ValueError(f"split must be 'layer' or 'semantic', got {split!r}")


def make_service(
    name: str,
    profile: DNNProfile | str,
    split: str,
    arrival_rate: float,
    sla: float = math.inf,
    *,
    k: int | None = None,
    cuts: Sequence[int] | None = None,
    branches: int = 5,
    scv: float = 0.0,
    mmpp: MMPP2 | None = None,
    source: str | None = None,
) -> Service:
    """Build a :class:`~datagen.world.Service` from a DNN profile and a split type.

    Args:
        name: Service name.
        profile: A profile, or a zoo name passed to :func:`datagen.zoo.get_profile`.
        split: ``"layer"`` or ``"semantic"``.
        arrival_rate: Mean arrival rate (requests/s).
        sla: Deadline of one request (s) (default: ``inf``).
        k: Fragments of a layer split (default: ``None``, see :func:`layer_split`).
        cuts: Cut indices of a layer split (default: ``None``).
        branches: Branches of a semantic split, at most :data:`MAX_BRANCHES` (default: ``5``).
        scv: Service-time SCV (default: ``0.0``, deterministic).
        mmpp: Optional bursty arrivals (default: ``None``).
        source: Device where requests originate (default: ``None``).

    Returns:
        The service, with ``profile``, ``accuracy`` (:func:`split_accuracy`) and
        ``input_bytes`` (the profile's input activation) filled in.

    Raises:
        ValueError: On an unknown split or profile, on ``k``/``cuts`` given for a semantic
            split, and on anything :class:`~datagen.world.Service` rejects.
    """
    if isinstance(profile, str):
        from datagen.zoo import get_profile

        profile = get_profile(profile)
    profile = _check_profile(profile)
    if split == "layer":
        fragments = layer_split(profile, k=k, cuts=cuts)
    elif split == "semantic":
        if k is not None or cuts is not None:
            raise ValueError(
                "k and cuts apply to split='layer' only; use branches for split='semantic'"
            )
        fragments = semantic_split(profile, branches)
    else:
        raise ValueError(f"split must be 'layer' or 'semantic', got {split!r}")
    return Service(
        name=name,
        fragments=fragments,
        arrival_rate=arrival_rate,
        sla=sla,
        split=split,
        scv=scv,
        mmpp=mmpp,
        profile=profile.name,
        accuracy=split_accuracy(profile, split),
        source=source,
        input_bytes=profile.input_elems * profile.layers[0].bytes_per_elem,
    )
