r"""INFIDA's experiments at small scale: topologies, the alpha trade-off, popularity, refresh, rate.

The paper (Si Salem et al., arXiv 2105.02510; spec ``shared/specs/analytical.md`` section 3.8)
compares INFIDA with a greedy allocator refreshed every :math:`B` slots on two network
topologies, under fixed and sliding popularity profiles, for a range of the inaccuracy weight
:math:`\alpha`, and reports NTAG, model updates and the latency / inaccuracy trade-off. This
module builds the two topologies as :class:`~placement.baselines.infida.InferenceNetwork`
instances with several tasks and model variants each, generates seeded Poisson traces, and
runs the policies of :mod:`placement.baselines.infida`.

* **Topologies.** ``"line"``: edge nodes ``e0 - e1 - e2 - cloud``, requests entering at every
  edge node. ``"tree"``: four leaves ``l0..l3`` under two aggregation nodes ``a0, a1`` under
  the cloud, requests entering at the leaves. Nodes nearer the cloud are faster and hold more.
* **Tasks and models.** ``tasks`` tasks, each with three variants (:data:`VARIANTS`); the cloud
  (repository) hosts every task's largest variant.
* **Costs** (spec 3.1 [R]), in the paper's units: path latency in ms (``hop`` per edge link,
  ``cloud_hop`` for the link into the cloud) + inference latency in ms (MACs / node speed) +
  :math:`\alpha` x inaccuracy in percentage points, so :math:`\alpha` is in ms per point of
  accuracy and the paper's range :math:`\alpha\in\{0.5,\dots,6\}` spans latency-dominated to
  accuracy-dominated costs; capacity = node speed x slot / MACs. Gains and NTAG are in ms.
* **Popularity.** Task popularity is Zipf with exponent 1.2. ``"fixed"``: the same ranking in
  every slot; ``"sliding"``: the ranking rotates by one task every ``T / tasks`` slots.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

from placement.baselines import infida

__all__ = [
    "VARIANTS",
    "Topology",
    "Popularity",
    "IDNInstance",
    "build_instance",
    "popularity_trace",
    "served_breakdown",
    "PolicyScore",
    "score_policies",
    "run_greedy_mean",
]

Topology = Literal["line", "tree"]
Popularity = Literal["fixed", "sliding"]

#: Model variants of every task: (name, size in MB, GMAC per inference, accuracy).
VARIANTS: tuple[tuple[str, float, float, float], ...] = (
    ("tiny", 4.0, 0.05, 0.62),
    ("small", 12.0, 0.2, 0.74),
    ("large", 40.0, 1.0, 0.82),
)


class IDNInstance(NamedTuple):
    """An inference-delivery instance and what the metrics need beyond the network."""

    network: infida.InferenceNetwork
    """The INFIDA network."""
    entries: tuple[str, ...]
    """Entry node of each request type (``network.request_types`` order)."""
    tasks: tuple[int, ...]
    """Task of each request type."""
    latency: dict[tuple[str, str, str], float]
    """(request type, node, model) -> latency of serving there (s)."""
    inaccuracy: dict[tuple[str, str, str], float]
    """(request type, node, model) -> inaccuracy :math:`1-A_m`."""


def _tree(kind: Topology) -> tuple[dict[str, str], dict[str, float], dict[str, float],
                                   tuple[str, ...]]:
    """Parent, speed (GMAC/s) and budget (MB) of each node, and the entry nodes."""
    if kind == "line":
        parent = {"e0": "e1", "e1": "e2", "e2": "cloud"}
        speed = {"e0": 2.0, "e1": 4.0, "e2": 8.0}
        budget = {"e0": 16.0, "e1": 30.0, "e2": 60.0}
        return parent, speed, budget, ("e0", "e1", "e2")
    if kind == "tree":
        parent = {"l0": "a0", "l1": "a0", "l2": "a1", "l3": "a1", "a0": "cloud", "a1": "cloud"}
        speed = {"l0": 2.0, "l1": 2.0, "l2": 2.0, "l3": 2.0, "a0": 8.0, "a1": 8.0}
        budget = {"l0": 16.0, "l1": 16.0, "l2": 16.0, "l3": 16.0, "a0": 60.0, "a1": 60.0}
        return parent, speed, budget, ("l0", "l1", "l2", "l3")
    raise ValueError(f"kind must be 'line' or 'tree', got {kind!r}")


def build_instance(
    kind: Topology,
    *,
    alpha: float = 1.0,
    tasks: int = 3,
    hop: float = 0.01,
    cloud_hop: float = 0.1,
    cloud_speed: float = 200.0,
    slot: float = 1.0,
) -> IDNInstance:
    r"""Build the line or tree inference-delivery network.

    Args:
        kind: ``"line"`` or ``"tree"``.
        alpha: Weight of inaccuracy :math:`\alpha` (ms per percentage point of :math:`1-A`),
            ``>= 0`` (default: ``1.0``).
        tasks: Number of tasks, ``>= 1`` (default: ``3``).
        hop: Latency of one link between edge nodes (s), ``>= 0`` (default: ``0.01``).
        cloud_hop: Latency of the link into the cloud (s), ``>= 0`` (default: ``0.1``).
        cloud_speed: Cloud speed (GMAC/s), ``> 0`` (default: ``200``).
        slot: Slot length (s), ``> 0`` (default: ``1.0``).

    Returns:
        The :class:`IDNInstance`.

    Raises:
        ValueError: On an unknown topology or a parameter outside its range.
    """
    if not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0 (ms per point), got {alpha!r}")
    if isinstance(tasks, bool) or int(tasks) != tasks or tasks < 1:
        raise ValueError(f"tasks must be an integer >= 1, got {tasks!r}")
    for name, v, low_ok in (("hop", hop, True), ("cloud_hop", cloud_hop, True),
                            ("cloud_speed", cloud_speed, False),
                            ("slot", slot, False)):
        if not math.isfinite(v) or v < 0 or (v == 0 and not low_ok):
            raise ValueError(f"{name} must be a finite number {'>=' if low_ok else '>'} 0, "
                             f"got {v!r}")
    parent, speed, budget, entries = _tree(kind)
    models = tuple(f"t{i}:{v[0]}" for i in range(int(tasks)) for v in VARIANTS)
    info = {f"t{i}:{v[0]}": v for i in range(int(tasks)) for v in VARIANTS}
    sizes = {v: np.array([info[m][1] for m in models]) for v in speed}
    repo = frozenset(("cloud", f"t{i}:{VARIANTS[-1][0]}") for i in range(int(tasks)))
    rts, ent, tsk = [], [], []
    lat: dict[tuple[str, str, str], float] = {}
    inacc: dict[tuple[str, str, str], float] = {}
    for e in entries:
        path = [e]
        while path[-1] != "cloud":
            path.append(parent[path[-1]])
        for i in range(int(tasks)):
            name = f"{e}/t{i}"
            cands = []
            for hops, node in enumerate(path):
                wire = (hops - 1) * hop + cloud_hop if node == "cloud" else hops * hop
                for var in VARIANTS:
                    m = f"t{i}:{var[0]}"
                    if node == "cloud" and (node, m) not in repo:
                        continue
                    sp = cloud_speed if node == "cloud" else speed[node]
                    latency = wire + var[2] / sp
                    cap = math.inf if node == "cloud" else slot * sp / var[2]
                    cost = 1e3 * latency + alpha * 100.0 * (1 - var[3])
                    cands.append(infida.Candidate(node, m, cost, cap))
                    lat[(name, node, m)] = latency
                    inacc[(name, node, m)] = 1 - var[3]
            rts.append(infida.RequestType(name, tuple(cands)))
            ent.append(e)
            tsk.append(i)
    net = infida.InferenceNetwork(models, sizes, budget, tuple(rts), repo)
    return IDNInstance(net, tuple(ent), tuple(tsk), lat, inacc)


def popularity_trace(
    instance: IDNInstance,
    T: int,
    rate: float,
    rng: np.random.Generator,
    profile: Popularity = "fixed",
    *,
    zipf: float = 1.2,
) -> np.ndarray:
    r"""Seeded Poisson request counts per slot and request type.

    .. math::
        r_{t,\rho}\sim\mathrm{Poisson}\Big(\frac{\text{rate}}{|\text{entries}|}\,
        \pi_{t}(\text{task}_\rho)\Big),\qquad \pi_t(i)\propto(1+(i+k_t)\bmod N)^{-z}

    with :math:`k_t=0` (``"fixed"``) or :math:`k_t=\lfloor tN/T\rfloor` (``"sliding"``: the
    most popular task changes every :math:`T/N` slots).

    Args:
        instance: The network.
        T: Slots, ``>= 1``.
        rate: Total requests per slot over all entries, ``> 0``.
        rng: Random generator.
        profile: ``"fixed"`` or ``"sliding"`` (default: ``"fixed"``).
        zipf: Zipf exponent :math:`z` (default: ``1.2``).

    Returns:
        Counts, shape ``(T, R)``.

    Raises:
        ValueError: On ``T < 1``, a non-positive rate or an unknown profile.
    """
    if isinstance(T, bool) or int(T) != T or T < 1:
        raise ValueError(f"T must be an integer >= 1 (slots), got {T!r}")
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"rate must be a finite number > 0 (requests per slot), got {rate!r}")
    if profile not in ("fixed", "sliding"):
        raise ValueError(f"profile must be 'fixed' or 'sliding', got {profile!r}")
    n_tasks = max(instance.tasks) + 1
    n_entries = len(set(instance.entries))
    task = np.array(instance.tasks)
    out = np.zeros((int(T), len(task)))
    for t in range(int(T)):
        k = 0 if profile == "fixed" else (t * n_tasks) // int(T)
        w = (1.0 + (np.arange(n_tasks) + k) % n_tasks) ** (-float(zipf))
        pi = w / w.sum()
        out[t] = rng.poisson(rate / n_entries * pi[task])
    return out


def served_breakdown(
    instance: IDNInstance, requests: np.ndarray, allocations: Sequence[infida.Allocation]
) -> tuple[float, float]:
    r"""Mean latency (s) and mean inaccuracy of the served requests over a run.

    Each slot's requests are served by the cheapest allocated models first
    (:func:`~placement.baselines.infida.served_amounts`); the averages weight every served
    request equally.

    Args:
        instance: The network.
        requests: Trace, shape ``(T, R)``.
        allocations: Integral allocation of each slot.

    Returns:
        ``(mean latency in s, mean inaccuracy 1 - A)``.
    """
    net = instance.network
    if len(allocations) != len(requests):
        raise ValueError(
            f"allocations must cover the trace's {len(requests)} slots, got {len(allocations)}"
        )
    lat = inacc = total = 0.0
    for r, x in zip(requests, allocations):
        for rt, served in zip(net.request_types, infida.served_amounts(net, r, x)):
            for c, n in zip(rt.candidates, served):
                key = (rt.name, c.node, c.model)
                lat += n * instance.latency[key]
                inacc += n * instance.inaccuracy[key]
                total += n
    if total <= 0:
        raise ValueError("requests must contain at least one request")
    return lat / total, inacc / total


class PolicyScore(NamedTuple):
    """NTAG, model updates and the served latency / inaccuracy of one run."""

    ntag: float
    """Normalised time-averaged gain (cost units saved per request: ms)."""
    updates: int
    """Model fetches over the run."""
    latency: float
    """Mean latency of the served requests (s)."""
    inaccuracy: float
    """Mean inaccuracy :math:`1-A` of the served requests."""


def run_greedy_mean(
    net: infida.InferenceNetwork, requests: np.ndarray, *, refresh: int = 8
) -> infida.PolicyRun:
    r"""Greedy refreshed every :math:`B` slots from the *mean* request vector of the last period.

    Like :func:`~placement.baselines.infida.run_greedy` (repository-only allocation for the
    first :math:`B` slots, then :func:`~placement.baselines.infida.greedy_allocation` every
    :math:`B` slots), but each refresh optimises the gain of the period's mean request vector
    :math:`\bar{\mathbf r}` instead of the sum of its per-slot gains: one gain evaluation per
    candidate instead of :math:`B`, so its cost does not grow with :math:`B`.

    Args:
        net: The network.
        requests: Trace, shape ``(T, R)``.
        refresh: Refresh period :math:`B` (slots), ``>= 1`` (default: ``8``).

    Returns:
        The :class:`~placement.baselines.infida.PolicyRun`.

    Raises:
        ValueError: On a bad ``refresh`` or trace.
    """
    ra = np.asarray(requests, dtype=float)
    if ra.ndim != 2 or ra.shape[0] < 1 or ra.shape[1] != len(net.request_types):
        raise ValueError(
            f"requests must have shape (T >= 1, {len(net.request_types)}), got {ra.shape}"
        )
    if isinstance(refresh, bool) or int(refresh) != refresh or refresh < 1:
        raise ValueError(f"refresh must be an integer >= 1 (slots), got {refresh!r}")
    B = int(refresh)
    x = net.empty_allocation()
    xs, gx = [], []
    for t, r in enumerate(ra):
        if t > 0 and t % B == 0:
            x = infida.greedy_allocation(net, ra[t - B : t].mean(axis=0))
        xs.append(x)
        gx.append(infida.gain(net, r, x))
    g = np.array(gx)
    return infida.PolicyRun(xs, g, xs, g, infida.ntag(g, ra), int(infida.model_updates(xs)))


def score_policies(
    instance: IDNInstance,
    requests: np.ndarray,
    rng: np.random.Generator,
    *,
    eta: float = 2e-4,
    refresh: int = 1,
    greedy_refresh: int = 8,
    breakdown: bool = False,
) -> dict[str, PolicyScore]:
    """Run INFIDA (refresh period ``refresh``) and greedy (:func:`run_greedy_mean`).

    Args:
        instance: The network.
        requests: Trace, shape ``(T, R)``.
        rng: Random generator of INFIDA's DepRound.
        eta: INFIDA's step size, a constant as in the paper's experiments (default: ``2e-4``).
        refresh: INFIDA's physical refresh period :math:`B` (slots) (default: ``1``).
        greedy_refresh: Greedy's refresh period :math:`B` (slots) (default: ``8``).
        breakdown: Also compute the served latency and inaccuracy (slower) (default:
            ``False``; ``nan`` then).

    Returns:
        ``{"INFIDA": PolicyScore, "greedy": PolicyScore}``.
    """
    net = instance.network
    runs = {
        "INFIDA": infida.run_infida(net, requests, eta, rng, refresh=refresh),
        "greedy": run_greedy_mean(net, requests, refresh=greedy_refresh),
    }
    out = {}
    for name, r in runs.items():
        lat, inacc = (served_breakdown(instance, requests, r.allocations) if breakdown
                      else (math.nan, math.nan))
        out[name] = PolicyScore(float(r.ntag), int(r.updates), lat, inacc)
    return out
