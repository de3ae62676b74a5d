r"""INFIDA: online model allocation in an inference delivery network.

Implements the serving cost and allocation gain (both forms), the subgradient, per-node online
mirror ascent with the weighted negative-entropy mirror map, the Bregman projection onto the
weighted capped simplex, size-weighted DepRound, the cost-benefit greedy baseline with a
refresh period, the NTAG and model-update metrics, the regret-optimal step size, and a bridge
from a per-slot allocation on an edge path to a :class:`~datagen.Scenario`, so the simulator can
judge it under queueing load. Everything follows ``specs/analytical.md`` section 3.

Source: Si Salem, Castellano, Neglia, Pianese, Araldo, "Towards Inference Delivery Networks:
Distributing Machine Learning with Optimality Guarantees", arXiv 2105.02510 (IEEE/ACM ToN 2023).
DepRound: Gandhi et al., JACM 2006; Uchiya et al., ALT 2010.

Open points of spec section 5 decided here (each a parameter where it matters):

* **Feasible set.** ``projection="equality"`` (default): :math:`\sum_ms_my_m=\min(b,\lVert
  s\rVert_1)` (budget saturated, matches the regret bound); ``"inequality"`` returns
  :math:`\min(1,h)` when it already fits.
* **DepRound with unequal sizes.** ``budget="expected"`` (default): the last fractional
  coordinate is a Bernoulli draw, so marginals are exact and the budget holds in expectation
  (it can be exceeded by less than :math:`s_{\max}`); ``"strict"`` rounds it down, which
  always fits but biases that coordinate's marginal down.
* **Greedy baseline.** Cost-benefit greedy (largest :math:`\Delta G/s^v_m` first) refreshed every
  ``refresh`` slots from the requests of the previous period (their summed gain), starting
  from the repository-only allocation :math:`\boldsymbol\omega`.
* **NTAG.** :math:`\sum_tG_t/\sum_t\lVert\mathbf r_t\rVert_1` (1-second slots).
* **Cost units.** :math:`C^v_{\mathbf p,m}=` path latency (s) :math:`+\,d^v_m` (s)
  :math:`+\,\alpha(1-A_m)` with accuracy :math:`A_m\in[0,1]`, so :math:`\alpha` is in seconds per
  unit of inaccuracy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

from datagen.world import Device, Fragment, Link, Placement, Scenario, Service

__all__ = [
    "Allocation",
    "BudgetMode",
    "ProjectionMode",
    "Candidate",
    "RequestType",
    "InferenceNetwork",
    "PolicyRun",
    "ModelVariant",
    "DeliveryProblem",
    "serving_cost",
    "served_amounts",
    "gain",
    "subgradient",
    "initial_allocation",
    "project",
    "mirror_step",
    "depround",
    "greedy_allocation",
    "best_allocation",
    "run_infida",
    "run_greedy",
    "ntag",
    "model_updates",
    "optimal_step_size",
    "regret_bound",
    "path_delivery_problem",
    "allocation_scenario",
]

#: Allocation of the optimizable nodes: node -> vector over ``InferenceNetwork.models``.
Allocation = Mapping[str, np.ndarray]
BudgetMode = Literal["expected", "strict"]
ProjectionMode = Literal["equality", "inequality"]

_TOL = 1e-9


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must not be NaN")
    return v


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


class Candidate(NamedTuple):
    r"""A (node, model) pair able to serve a request type, with its cost and capacity.

    Attributes:
        node: Node name.
        model: Model name.
        cost: Cost :math:`C^v_{\mathbf p,m}` of serving one request there (>= 0).
        capacity: Potential capacity :math:`l^v_{\rho,m}` (requests per slot; ``inf`` allowed).
    """

    node: str
    model: str
    cost: float
    capacity: float


@dataclass(frozen=True)
class RequestType:
    r"""A request type :math:`\rho=(i,\mathbf p)`: a task and its routing path's candidates.

    The candidates are ranked by increasing cost at construction (stable for ties), giving
    :math:`\gamma^k_\rho` and :math:`\lambda^k_\rho`, :math:`k=1..K_\rho`. In a network the
    ranking ends at the cheapest repository pair, which absorbs every request not served
    earlier.

    Args:
        name: Unique name.
        candidates: The (node, model, cost, capacity) candidates, any order.

    Raises:
        ValueError: On no candidates, a negative or NaN cost, a negative capacity, or a
            duplicate (node, model) pair.
    """

    name: str
    candidates: tuple[Candidate, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        cands = [Candidate(*c) for c in self.candidates]
        if not cands:
            raise ValueError(f"candidates of request type {self.name!r} must not be empty")
        for c in cands:
            if _finite("cost", c.cost) < 0 or math.isinf(c.cost):
                raise ValueError(
                    f"cost must be finite and >= 0 for candidate {c.node}/{c.model} of request "
                    f"type {self.name!r}, got {c.cost!r}"
                )
            if _finite("capacity", c.capacity) < 0:
                raise ValueError(
                    f"capacity must be >= 0 for candidate {c.node}/{c.model} of request type "
                    f"{self.name!r}, got {c.capacity!r}"
                )
        pairs = [(c.node, c.model) for c in cands]
        if len(set(pairs)) != len(pairs):
            raise ValueError(f"candidates of request type {self.name!r} repeat a (node, model)")
        order = sorted(range(len(cands)), key=lambda k: cands[k].cost)
        object.__setattr__(self, "candidates", tuple(cands[k] for k in order))

    @property
    def costs(self) -> np.ndarray:
        r"""Ranked costs :math:`\gamma^k_\rho`, shape ``(K,)``."""
        return np.array([c.cost for c in self.candidates], dtype=float)

    @property
    def capacities(self) -> np.ndarray:
        r"""Ranked potential capacities :math:`\lambda^k_\rho`, shape ``(K,)``."""
        return np.array([c.capacity for c in self.candidates], dtype=float)


@dataclass(frozen=True)
class InferenceNetwork:
    r"""An inference delivery network: models, optimizable nodes and request types.

    Args:
        models: Model names; allocation vectors follow this order.
        sizes: Optimizable node -> model sizes :math:`s^v_m > 0` (one per model, any unit shared
            with ``budgets``).
        budgets: Optimizable node -> budget :math:`b^v`, at least the smallest model size.
        request_types: The request types. Each ranking is cut after its cheapest repository
            pair (costlier candidates never serve); per-slot ``capacities`` arrays follow the
            cut rankings in ``network.request_types``.
        repository: Pairs :math:`(v,m)` permanently hosted (the allocation
            :math:`\boldsymbol\omega`), e.g. the cloud's full model.

    Raises:
        ValueError: On mismatched lengths, non-positive sizes, a budget below the smallest
            model, an unknown node or model, or a request type without a repository pair.
    """

    models: tuple[str, ...]
    sizes: Mapping[str, np.ndarray]
    budgets: Mapping[str, float]
    request_types: tuple[RequestType, ...]
    repository: frozenset[tuple[str, str]]
    _index: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        models = tuple(self.models)
        if not models or len(set(models)) != len(models):
            raise ValueError(f"models must be non-empty and unique, got {list(models)}")
        object.__setattr__(self, "models", models)
        sizes: dict[str, np.ndarray] = {}
        for v, s in self.sizes.items():
            a = np.asarray(s, dtype=float)
            if a.shape != (len(models),):
                raise ValueError(
                    f"sizes[{v!r}] must have one entry per model ({len(models)}), got shape "
                    f"{a.shape}"
                )
            if not np.all(np.isfinite(a)) or np.any(a <= 0):
                raise ValueError(f"sizes[{v!r}] must be finite and > 0, got {a.tolist()}")
            sizes[v] = a
        if set(self.budgets) != set(sizes):
            raise ValueError(
                f"budgets and sizes must name the same nodes, got {sorted(self.budgets)} and "
                f"{sorted(sizes)}"
            )
        budgets: dict[str, float] = {}
        for v, b in self.budgets.items():
            bv = _finite(f"budgets[{v!r}]", b)
            if bv < sizes[v].min():
                raise ValueError(
                    f"budgets[{v!r}]={bv} is below the smallest model size {sizes[v].min()}; "
                    f"raise the budget or drop the node"
                )
            budgets[v] = bv
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "budgets", budgets)
        repo = frozenset((str(v), str(m)) for v, m in self.repository)
        object.__setattr__(self, "repository", repo)
        rts = tuple(self.request_types)
        if not rts:
            raise ValueError("request_types must not be empty")
        # The cheapest repository pair absorbs every remaining request, so costlier candidates
        # never serve: truncate each ranking there (spec 3.1, rank K_rho = the repository).
        trunc = []
        for rt in rts:
            ks = [k for k, c in enumerate(rt.candidates) if (c.node, c.model) in repo]
            if not ks:
                raise ValueError(
                    f"request type {rt.name!r} has no repository candidate to absorb the rest; "
                    f"add one of its (node, model) pairs to repository"
                )
            trunc.append(
                rt
                if ks[0] == len(rt.candidates) - 1
                else RequestType(rt.name, rt.candidates[: ks[0] + 1])
            )
        rts = tuple(trunc)
        names = [rt.name for rt in rts]
        if len(set(names)) != len(names):
            raise ValueError(f"request type names must be unique, got {names}")
        object.__setattr__(self, "request_types", rts)
        midx = {m: i for i, m in enumerate(models)}
        nodes = list(sizes)
        for rt in rts:
            node_i, model_i = [], []
            for c in rt.candidates:
                if (c.node, c.model) in repo:
                    node_i.append(-1)
                    model_i.append(midx.get(c.model, -1))
                    continue
                if math.isinf(c.capacity):
                    raise ValueError(
                        f"capacity must be finite for non-repository candidate {c.node}/"
                        f"{c.model} of request type {rt.name!r}; only repository pairs may be "
                        f"unlimited"
                    )
                if c.node not in sizes:
                    raise ValueError(
                        f"candidate node {c.node!r} of request type {rt.name!r} is neither an "
                        f"optimizable node {nodes} nor a repository pair"
                    )
                if c.model not in midx:
                    raise ValueError(
                        f"candidate model {c.model!r} of request type {rt.name!r} is not in "
                        f"models {list(models)}"
                    )
                node_i.append(nodes.index(c.node))
                model_i.append(midx[c.model])
            self._index[rt.name] = (np.array(node_i), np.array(model_i), rt.costs)

    @property
    def nodes(self) -> tuple[str, ...]:
        """Optimizable node names."""
        return tuple(self.sizes)

    def effective_budget(self, node: str) -> float:
        r""":math:`\min(b^v,\lVert s^v\rVert_1)`."""
        return min(self.budgets[node], float(self.sizes[node].sum()))

    def empty_allocation(self) -> dict[str, np.ndarray]:
        r"""The repository-only allocation :math:`\boldsymbol\omega` (zeros at every node)."""
        return {v: np.zeros(len(self.models)) for v in self.nodes}

    def check_allocation(self, x: Allocation, name: str = "x") -> dict[str, np.ndarray]:
        """Validate an allocation (one vector per node, entries in [0, 1]) and copy it."""
        out: dict[str, np.ndarray] = {}
        for v in self.nodes:
            if v not in x:
                raise ValueError(f"{name} is missing node {v!r}")
            a = np.asarray(x[v], dtype=float)
            if a.shape != (len(self.models),):
                raise ValueError(
                    f"{name}[{v!r}] must have one entry per model ({len(self.models)}), got "
                    f"shape {a.shape}"
                )
            if np.any(a < -_TOL) or np.any(a > 1 + _TOL) or not np.all(np.isfinite(a)):
                raise ValueError(f"{name}[{v!r}] must lie in [0, 1], got {a.tolist()}")
            out[v] = np.clip(a, 0.0, 1.0)
        return out

    def check_requests(self, r: Sequence[float] | np.ndarray) -> np.ndarray:
        """Validate a request batch (one non-negative count per request type)."""
        a = np.asarray(r, dtype=float)
        if a.shape != (len(self.request_types),):
            raise ValueError(
                f"r must have one entry per request type ({len(self.request_types)}), got "
                f"shape {a.shape}"
            )
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"r must be finite and >= 0, got {a.tolist()}")
        return a


def _capacities(net: InferenceNetwork, capacities: Sequence[np.ndarray] | None) -> list[np.ndarray]:
    if capacities is None:
        return [rt.capacities for rt in net.request_types]
    if len(capacities) != len(net.request_types):
        raise ValueError(
            f"capacities must hold one array per request type ({len(net.request_types)}), got "
            f"{len(capacities)}"
        )
    out = []
    for rt, c in zip(net.request_types, capacities):
        a = np.asarray(c, dtype=float)
        if a.shape != (len(rt.candidates),) or np.any(a < 0):
            raise ValueError(
                f"capacities for request type {rt.name!r} must be {len(rt.candidates)} values "
                f">= 0 in ranked order, got {a.tolist()}"
            )
        out.append(a)
    return out


def _effective(
    net: InferenceNetwork, rt: RequestType, lam: np.ndarray, x: Allocation
) -> np.ndarray:
    r"""Effective capacities :math:`z^k_\rho=x^v_m\,l^v_{\rho,m}` (repository pairs: ``x = 1``)."""
    node_i, model_i, _ = net._index[rt.name]
    nodes = net.nodes
    z = np.empty(len(lam))
    for k in range(len(lam)):
        xk = 1.0 if node_i[k] < 0 else float(x[nodes[node_i[k]]][model_i[k]])
        z[k] = 0.0 if xk == 0.0 else xk * lam[k]  # 0 * inf must be 0, not NaN
    return z


# --------------------------------------------------------------------------------------------
# Cost, gain, subgradient (spec 3.2-3.3)
# --------------------------------------------------------------------------------------------


def served_amounts(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    x: Allocation,
    capacities: Sequence[np.ndarray] | None = None,
) -> list[np.ndarray]:
    r"""Requests served by each ranked candidate when the cheapest allocated models serve first.

    .. math::
        \text{served}^k_\rho=\min\Big\{r_\rho-\sum_{k'<k}z^{k'}_\rho,\ z^k_\rho\Big\}^+
        ,\qquad \text{served}^{K_\rho}_\rho=r_\rho-\sum_{k<K_\rho}\text{served}^k_\rho

    Args:
        net: The network.
        r: Requests per type in the slot, shape ``(R,)``.
        x: Allocation (fractional allowed).
        capacities: Per-type ranked capacities :math:`l_t` (default: the candidates' ones).

    Returns:
        One array per request type, in ranked order; each sums to :math:`r_\rho`.
    """
    ra = net.check_requests(r)
    xa = net.check_allocation(x)
    out = []
    for rt, lam, rho in zip(net.request_types, _capacities(net, capacities), ra):
        z = _effective(net, rt, lam, xa)
        reach = np.minimum(np.cumsum(z[:-1]), rho)
        served = np.diff(np.concatenate(([0.0], reach)))
        out.append(np.append(served, rho - (reach[-1] if len(reach) else 0.0)))
    return out


def serving_cost(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    x: Allocation,
    capacities: Sequence[np.ndarray] | None = None,
) -> float:
    r"""Serving cost of a slot, INFIDA spec 3.2 [S].

    .. math::
        C(\mathbf r_t,\mathbf l_t,\mathbf x)=\sum_\rho\sum_{k=1}^{K_\rho}\gamma^k_\rho
        \min\Big\{r^t_\rho-\sum_{k'<k}z^{k'}_\rho,\ z^k_\rho\Big\}\,
        \mathbb 1\Big\{\sum_{k'<k}z^{k'}_\rho<r^t_\rho\Big\}

    with the repository (rank :math:`K_\rho`) absorbing what is left.

    Args:
        net: The network.
        r: Requests per type, shape ``(R,)``.
        x: Allocation (fractional allowed: :math:`z=y\,l`).
        capacities: Per-type ranked capacities (default: static ones).

    Returns:
        The cost (same unit as the candidates' costs, times requests).
    """
    served = served_amounts(net, r, x, capacities)
    return float(sum(float(rt.costs @ s) for rt, s in zip(net.request_types, served)))


def gain(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    x: Allocation,
    capacities: Sequence[np.ndarray] | None = None,
    form: Literal["difference", "telescoped"] = "difference",
) -> float:
    r"""Allocation gain over the repository-only allocation, INFIDA spec 3.2 [S, D].

    .. math::
        G=C(\mathbf r,\mathbf l,\boldsymbol\omega)-C(\mathbf r,\mathbf l,\mathbf x)
         =\sum_\rho\sum_{k=1}^{K_\rho-1}(\gamma^{k+1}_\rho-\gamma^k_\rho)
          \big(Z^k_\rho(\mathbf x)-Z^k_\rho(\boldsymbol\omega)\big),
        \quad Z^k_\rho=\min\Big\{r_\rho,\sum_{k'\le k}z^{k'}_\rho\Big\}

    Both forms are equal (summation by parts); the telescoped one shows that :math:`G` is a
    weighted sum of threshold potentials, hence concave in a fractional :math:`\mathbf y`.

    Args:
        net: The network.
        r: Requests per type, shape ``(R,)``.
        x: Allocation (fractional allowed).
        capacities: Per-type ranked capacities (default: static ones).
        form: ``"difference"`` or ``"telescoped"`` (default: ``"difference"``).

    Returns:
        The gain (>= 0).

    Raises:
        ValueError: On an unknown ``form`` or invalid inputs.
    """
    if form == "difference":
        return serving_cost(net, r, net.empty_allocation(), capacities) - serving_cost(
            net, r, x, capacities
        )
    if form != "telescoped":
        raise ValueError(f"form must be 'difference' or 'telescoped', got {form!r}")
    ra = net.check_requests(r)
    xa = net.check_allocation(x)
    omega = net.empty_allocation()
    total = 0.0
    for rt, lam, rho in zip(net.request_types, _capacities(net, capacities), ra):
        gam = rt.costs
        zx = np.minimum(np.cumsum(_effective(net, rt, lam, xa))[:-1], rho)
        zw = np.minimum(np.cumsum(_effective(net, rt, lam, omega))[:-1], rho)
        total += float(np.diff(gam) @ (zx - zw))
    return total


def subgradient(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    y: Allocation,
    capacities: Sequence[np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    r"""A subgradient of the gain at :math:`\mathbf y`, INFIDA spec 3.3 [S].

    .. math::
        g^v_{t,m}=\sum_\rho l^{t,v}_{\rho,m}\big(\gamma^{K^*_\rho(\mathbf y)}_\rho-
        C^v_{\mathbf p,m}\big)\,\mathbb 1\{\kappa_\rho(v,m)<K^*_\rho(\mathbf y)\},\quad
        K^*_\rho=\min\Big\{k\le K_\rho-1:\sum_{k'\le k}z^{k'}_\rho\ge r_\rho\Big\}

    (:math:`K^*_\rho=K_\rho` if no such ``k``). Cost :math:`O(\sum_\rho K_\rho)`.

    Args:
        net: The network.
        r: Requests per type, shape ``(R,)``.
        y: Fractional allocation.
        capacities: Per-type ranked capacities (default: static ones).

    Returns:
        Node -> subgradient vector over the models (zeros for pairs on no path).
    """
    ra = net.check_requests(r)
    ya = net.check_allocation(y, "y")
    g = {v: np.zeros(len(net.models)) for v in net.nodes}
    nodes = net.nodes
    for rt, lam, rho in zip(net.request_types, _capacities(net, capacities), ra):
        node_i, model_i, gam = net._index[rt.name]
        cum = np.cumsum(_effective(net, rt, lam, ya))[:-1]
        hit = np.flatnonzero(cum >= rho - _TOL)
        kstar = int(hit[0]) if len(hit) else len(gam) - 1  # 0-based rank
        for k in range(kstar):
            if node_i[k] >= 0 and lam[k] > 0:
                g[nodes[node_i[k]]][model_i[k]] += lam[k] * (gam[kstar] - gam[k])
    return g


# --------------------------------------------------------------------------------------------
# Mirror ascent, projection, rounding (spec 3.4-3.6)
# --------------------------------------------------------------------------------------------


def initial_allocation(net: InferenceNetwork) -> dict[str, np.ndarray]:
    r"""INFIDA's starting point, the mirror map's minimiser on :math:`\mathcal Y^v` (spec 3.4).

    .. math::
        \mathbf y_1^v=\frac{\min(b^v,\lVert s^v\rVert_1)}{\lVert s^v\rVert_1}\,\mathbf 1
    """
    return {
        v: np.full(len(net.models), net.effective_budget(v) / float(net.sizes[v].sum()))
        for v in net.nodes
    }


def project(
    h: Sequence[float] | np.ndarray,
    s: Sequence[float] | np.ndarray,
    b: float,
    *,
    inequality: bool = False,
) -> np.ndarray:
    r"""Bregman projection onto the weighted capped simplex, INFIDA spec 3.5 [D].

    Solves :math:`\min_{\mathbf y}\sum_ms_m(y_m\ln\frac{y_m}{h_m}-y_m+h_m)` s.t.
    :math:`0\le y\le1`, :math:`\sum_ms_my_m=b`. KKT gives

    .. math::
        y_m=\min\{1,\beta h_m\}

    with one scalar :math:`\beta>0`, found after sorting :math:`h` (:math:`O(n\log n)`). With
    ``inequality=True`` the constraint is :math:`\sum s_my_m\le b` and :math:`\min(1,h)` is
    returned when it fits. If :math:`b\ge\lVert s\rVert_1` the answer is all ones.

    Args:
        h: Point to project, :math:`h_m\ge0` with at least one positive entry.
        s: Sizes :math:`s_m>0`.
        b: Budget :math:`b>0`.
        inequality: Use the inequality-constrained set (default: ``False``).

    Returns:
        The projection, shape ``(n,)``.

    Raises:
        ValueError: On mismatched lengths, negative or non-finite ``h``, non-positive sizes
            or budget.
    """
    ha = np.asarray(h, dtype=float)
    sa = np.asarray(s, dtype=float)
    if ha.shape != sa.shape or ha.ndim != 1 or len(ha) == 0:
        raise ValueError(f"h and s must be 1-D of equal length, got {ha.shape} and {sa.shape}")
    if not np.all(np.isfinite(ha)) or np.any(ha < 0):
        raise ValueError(f"h must be finite and >= 0, got {ha.tolist()}")
    if not np.all(np.isfinite(sa)) or np.any(sa <= 0):
        raise ValueError(f"s must be finite and > 0, got {sa.tolist()}")
    bb = _finite("b", b)
    if bb <= 0:
        raise ValueError(f"b must be > 0, got {b!r}")
    if bb >= sa.sum():
        return np.ones_like(ha)
    if inequality:
        y0 = np.minimum(1.0, ha)
        if float(sa @ y0) <= bb:
            return y0
    # the divergence is only defined on h > 0; a zero coordinate gets the smallest weight
    hp = np.maximum(ha, np.finfo(float).tiny * max(1.0, float(ha.max())))
    order = np.argsort(-hp, kind="stable")
    hs, ss = hp[order], sa[order]
    tail = np.cumsum((ss * hs)[::-1])[::-1]  # sum_{j>=k} s_j h_j
    head = np.concatenate(([0.0], np.cumsum(ss)))  # sum_{j<k} s_j
    ys = None
    for k in range(len(hs)):
        beta = (bb - head[k]) / tail[k]
        # ties (beta * h_k == 1) make k and k + 1 both valid; the tolerance accepts either
        if beta * hs[k] <= 1.0 + 1e-12 and (k == 0 or beta * hs[k - 1] >= 1.0 - 1e-12):
            ys = np.minimum(1.0, beta * hs)
            ys[:k] = 1.0
            break
    if ys is None:  # round-off defeated the scan: solve sum s min(1, beta h) = b by bisection
        lo, hi = 0.0, 1.0 / hs[-1]
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if float(ss @ np.minimum(1.0, mid * hs)) < bb else (lo, mid)
        ys = np.minimum(1.0, hi * hs)
    y = np.empty_like(ys)
    y[order] = ys
    return y


def mirror_step(
    y: Allocation,
    g: Allocation,
    net: InferenceNetwork,
    eta: float,
    projection: ProjectionMode = "equality",
) -> dict[str, np.ndarray]:
    r"""One INFIDA mirror-ascent step at every node, spec 3.4 [S structure, R mirror map].

    Mirror map :math:`\Phi^v(\mathbf y)=\sum_ms^v_my_m\ln y_m`, so the dual step and the
    Bregman projection are

    .. math::
        h^v_m=y^v_m\exp(\eta\,g^v_m/s^v_m),\qquad \mathbf y^v\leftarrow
        \mathrm{PROJECT}(\mathbf h^v,\mathbf s^v,\min(b^v,\lVert s^v\rVert_1))

    The equality projection is scale-free, so :math:`\ln h` is shifted by its maximum first to
    avoid overflow.

    Args:
        y: Current fractional allocation.
        g: Subgradient (:func:`subgradient`).
        net: The network.
        eta: Step size :math:`\eta>0`.
        projection: ``"equality"`` or ``"inequality"`` (default: ``"equality"``).

    Returns:
        The next fractional allocation.

    Raises:
        ValueError: On a non-positive ``eta`` or an unknown projection.
    """
    if _finite("eta", eta) <= 0 or math.isinf(eta):
        raise ValueError(f"eta must be finite and > 0, got {eta!r}")
    if projection not in ("equality", "inequality"):
        raise ValueError(f"projection must be 'equality' or 'inequality', got {projection!r}")
    ya = net.check_allocation(y, "y")
    out = {}
    for v in net.nodes:
        s = net.sizes[v]
        with np.errstate(divide="ignore"):
            log_h = np.log(ya[v]) + eta * np.asarray(g[v], dtype=float) / s
        if projection == "equality":
            log_h -= np.max(log_h)
        h = np.exp(log_h)
        out[v] = project(h, s, net.effective_budget(v), inequality=projection == "inequality")
    return out


def depround(
    y: Sequence[float] | np.ndarray,
    s: Sequence[float] | np.ndarray | None,
    rng: np.random.Generator,
    budget: BudgetMode = "expected",
) -> np.ndarray:
    r"""Dependent rounding of a fractional allocation, size-weighted (spec 3.6) [S use, D variant].

    While two coordinates :math:`i\ne j` are fractional:

    .. math::
        a=\min\Big(1-y_i,\ \frac{s_j}{s_i}y_j\Big),\quad c=\min\Big(y_i,\ \frac{s_j}{s_i}(1-y_j)
        \Big);\quad
        \begin{cases}y_i\mathrel{+}=a,\ y_j\mathrel{-}=\frac{s_i}{s_j}a & \text{w.p. }
        \frac{c}{a+c}\\ y_i\mathrel{-}=c,\ y_j\mathrel{+}=\frac{s_i}{s_j}c & \text{otherwise}
        \end{cases}

    Each step keeps :math:`\sum s_my_m` and :math:`\mathbb E[y]`, and makes one coordinate
    integral (pairs are the two lowest-index fractional coordinates). With unit sizes and an
    integral budget nothing fractional remains. Otherwise one coordinate may remain:
    ``budget="expected"`` draws it as a Bernoulli (exact marginals; the budget can be exceeded
    by less than :math:`s_{\max}`), ``"strict"`` rounds it down (never exceeds the budget;
    that coordinate's marginal is biased down).

    Args:
        y: Fractional allocation in [0, 1].
        s: Sizes :math:`s_m>0` (default: ``None`` = unit sizes, the classic DepRound).
        rng: Random generator.
        budget: ``"expected"`` or ``"strict"`` (default: ``"expected"``).

    Returns:
        A 0/1 vector (float dtype).

    Raises:
        ValueError: On entries outside [0, 1], mismatched lengths, non-positive sizes or an
            unknown ``budget``.
    """
    ya = np.array(y, dtype=float)
    if ya.ndim != 1 or np.any(ya < -_TOL) or np.any(ya > 1 + _TOL) or not np.all(np.isfinite(ya)):
        raise ValueError(f"y must be a 1-D vector in [0, 1], got {ya.tolist()}")
    sa = np.ones_like(ya) if s is None else np.asarray(s, dtype=float)
    if sa.shape != ya.shape or np.any(sa <= 0):
        raise ValueError(f"s must have the shape of y and be > 0, got {sa.tolist()}")
    if budget not in ("expected", "strict"):
        raise ValueError(f"budget must be 'expected' or 'strict', got {budget!r}")
    ya = np.clip(ya, 0.0, 1.0)

    def snap(k: int) -> None:
        if ya[k] < _TOL:
            ya[k] = 0.0
        elif ya[k] > 1 - _TOL:
            ya[k] = 1.0

    for k in range(len(ya)):
        snap(k)
    while True:
        frac = np.flatnonzero((ya > 0.0) & (ya < 1.0))
        if len(frac) < 2:
            break
        i, j = int(frac[0]), int(frac[1])
        ratio = sa[j] / sa[i]
        a = min(1.0 - ya[i], ratio * ya[j])
        c = min(ya[i], ratio * (1.0 - ya[j]))
        if rng.random() < c / (a + c):
            ya[i] += a
            ya[j] -= a / ratio
        else:
            ya[i] -= c
            ya[j] += c / ratio
        snap(i)
        snap(j)
    for k in np.flatnonzero((ya > 0.0) & (ya < 1.0)).tolist():
        ya[k] = float(rng.random() < ya[k]) if budget == "expected" else 0.0
    return ya


# --------------------------------------------------------------------------------------------
# Baselines and offline optimum (spec 3.8)
# --------------------------------------------------------------------------------------------


def _gain_rows(
    net: InferenceNetwork,
    r: np.ndarray,
    x: Allocation,
    capacities: Sequence[np.ndarray] | None,
) -> float:
    rows = r.reshape(-1, len(net.request_types))
    return sum(gain(net, row, x, capacities) for row in rows)


def greedy_allocation(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    capacities: Sequence[np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    r"""Cost-benefit greedy allocation (INFIDA's greedy baseline, spec 3.8) [R].

    Starting from :math:`\boldsymbol\omega`, repeatedly add the feasible pair with the largest

    .. math::
        \frac{G(\mathbf x+\mathbf e^v_m)-G(\mathbf x)}{s^v_m}

    until no feasible pair has a positive gain. Ties go to the first node, then the first model.

    Args:
        net: The network.
        r: Requests, shape ``(R,)``, or a window of slots ``(W, R)`` whose gains are summed.
        capacities: Per-type ranked capacities (default: static ones).

    Returns:
        An integral allocation.
    """
    ra = np.asarray(r, dtype=float)
    for row in ra.reshape(-1, len(net.request_types)) if ra.size else []:
        net.check_requests(row)
    x = net.empty_allocation()
    used = {v: 0.0 for v in net.nodes}
    current = _gain_rows(net, ra, x, capacities)
    while True:
        best, best_ratio, best_gain = None, 0.0, current
        for v in net.nodes:
            for m in range(len(net.models)):
                s = net.sizes[v][m]
                if x[v][m] == 1.0 or used[v] + s > net.budgets[v] + _TOL:
                    continue
                x[v][m] = 1.0
                gnew = _gain_rows(net, ra, x, capacities)
                x[v][m] = 0.0
                ratio = (gnew - current) / s
                if ratio > best_ratio + 1e-12:
                    best, best_ratio, best_gain = (v, m), ratio, gnew
        if best is None:
            return x
        x[best[0]][best[1]] = 1.0
        used[best[0]] += net.sizes[best[0]][best[1]]
        current = best_gain


def best_allocation(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    capacities: Sequence[np.ndarray] | None = None,
    max_combinations: int = 200_000,
) -> tuple[dict[str, np.ndarray], float]:
    """Best integral allocation by brute force (small instances; the regret benchmark).

    Args:
        net: The network.
        r: Requests ``(R,)`` or a trace ``(T, R)``: maximises the summed gain (the best static
            allocation in hindsight).
        capacities: Per-type ranked capacities (default: static ones).
        max_combinations: Refuse larger searches (default: ``200_000``).

    Returns:
        ``(allocation, gain)``; ties go to the first allocation in enumeration order.

    Raises:
        ValueError: If the search space exceeds ``max_combinations``.
    """
    ra = np.asarray(r, dtype=float)
    per_node = []
    for v in net.nodes:
        s, b = net.sizes[v], net.budgets[v]
        opts = [
            np.array(bits, dtype=float)
            for bits in itertools.product((0, 1), repeat=len(net.models))
            if float(s @ np.array(bits)) <= b + _TOL
        ]
        per_node.append(opts)
    total = math.prod(len(o) for o in per_node)
    if total > max_combinations:
        raise ValueError(
            f"brute force would try {total} allocations > max_combinations={max_combinations}"
        )
    best: dict[str, np.ndarray] = net.empty_allocation()
    best_gain = -math.inf
    for combo in itertools.product(*per_node):
        x = dict(zip(net.nodes, combo))
        gx = _gain_rows(net, ra, x, capacities)
        if gx > best_gain + 1e-12:
            best, best_gain = {v: a.copy() for v, a in x.items()}, gx
    return best, float(best_gain)


# --------------------------------------------------------------------------------------------
# Runners and metrics
# --------------------------------------------------------------------------------------------


class PolicyRun(NamedTuple):
    """Trajectory of an allocation policy over a request trace."""

    allocations: list[dict[str, np.ndarray]]
    """Integral allocation used in each slot."""
    gains: np.ndarray
    """Gain of the integral allocation per slot, shape ``(T,)``."""
    fractional: list[dict[str, np.ndarray]]
    r"""Fractional state per slot (INFIDA's :math:`\mathbf y_t`; equal to ``allocations`` for
    greedy)."""
    fractional_gains: np.ndarray
    """Gain of the fractional state per slot, shape ``(T,)``."""
    ntag: float
    """Normalised time-averaged gain (:func:`ntag`)."""
    updates: int
    """Model fetches (:func:`model_updates`)."""


def _check_trace(
    net: InferenceNetwork, requests: Sequence[Sequence[float]] | np.ndarray
) -> np.ndarray:
    ra = np.asarray(requests, dtype=float)
    if ra.ndim != 2 or ra.shape[1] != len(net.request_types):
        raise ValueError(f"requests must have shape (T, {len(net.request_types)}), got {ra.shape}")
    if ra.shape[0] < 1:
        raise ValueError(f"requests must cover T >= 1 slots, got T={ra.shape[0]}")
    for row in ra:
        net.check_requests(row)
    return ra


def _check_period(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def run_infida(
    net: InferenceNetwork,
    requests: Sequence[Sequence[float]] | np.ndarray,
    eta: float,
    rng: np.random.Generator,
    *,
    refresh: int = 1,
    budget: BudgetMode = "expected",
    projection: ProjectionMode = "equality",
    capacities: Sequence[np.ndarray] | None = None,
) -> PolicyRun:
    r"""Run INFIDA at every node over a request trace (spec 3.4).

    .. code-block:: text

        y_1 = initial_allocation
        for t = 1..T:
            if (t - 1) % refresh == 0: x_t = DepRound(y_t, s)   # else x_t = x_{t-1}
            g_t = subgradient(y_t);  y_{t+1} = PROJECT(y_t * exp(eta g_t / s), s, b)

    Args:
        net: The network.
        requests: Trace :math:`\mathbf r_t`, shape ``(T, R)``, ``T >= 1``.
        eta: Step size (see :func:`optimal_step_size`).
        rng: Random generator for DepRound.
        refresh: Slots between physical re-allocations :math:`B` (default: ``1``).
        budget: DepRound budget handling (default: ``"expected"``).
        projection: Feasible set (default: ``"equality"``).
        capacities: Static per-type ranked capacities (default: the candidates' ones).

    Returns:
        The :class:`PolicyRun`.

    Raises:
        ValueError: On ``T < 1``, a bad ``refresh`` or ``eta``, or mismatched shapes.
    """
    ra = _check_trace(net, requests)
    period = _check_period("refresh", refresh)
    y = initial_allocation(net)
    x: dict[str, np.ndarray] = net.empty_allocation()
    xs, ys, gx, gy = [], [], [], []
    for t, r in enumerate(ra):
        if t % period == 0:
            x = {v: depround(y[v], net.sizes[v], rng, budget) for v in net.nodes}
        xs.append(x)
        ys.append(y)
        gx.append(gain(net, r, x, capacities))
        gy.append(gain(net, r, y, capacities))
        y = mirror_step(y, subgradient(net, r, y, capacities), net, eta, projection)
    return PolicyRun(xs, np.array(gx), ys, np.array(gy), ntag(gx, ra), int(model_updates(xs)))


def run_greedy(
    net: InferenceNetwork,
    requests: Sequence[Sequence[float]] | np.ndarray,
    *,
    refresh: int = 8,
    capacities: Sequence[np.ndarray] | None = None,
) -> PolicyRun:
    r"""Run the greedy baseline with refresh period :math:`B` (spec 3.8) [R].

    Slots ``0..B-1`` use :math:`\boldsymbol\omega` (nothing observed yet); at every slot
    ``t = kB`` (``k >= 1``) each node re-runs :func:`greedy_allocation` on the requests of
    slots ``t-B..t-1``.

    Args:
        net: The network.
        requests: Trace, shape ``(T, R)``, ``T >= 1``.
        refresh: Refresh period :math:`B` (default: ``8``; the paper uses 4, 8, 16).
        capacities: Static per-type ranked capacities (default: the candidates' ones).

    Returns:
        The :class:`PolicyRun` (fractional fields equal the integral ones).
    """
    ra = _check_trace(net, requests)
    period = _check_period("refresh", refresh)
    x = net.empty_allocation()
    xs, gx = [], []
    for t, r in enumerate(ra):
        if t > 0 and t % period == 0:
            x = greedy_allocation(net, ra[t - period : t], capacities)
        xs.append(x)
        gx.append(gain(net, r, x, capacities))
    g = np.array(gx)
    return PolicyRun(xs, g, xs, g, ntag(g, ra), int(model_updates(xs)))


def ntag(
    gains: Sequence[float] | np.ndarray, requests: Sequence[Sequence[float]] | np.ndarray
) -> float:
    r"""Normalised time-averaged gain, INFIDA spec 3.8 [S wording, R formula].

    .. math::
        \mathrm{NTAG}=\frac{\frac1T\sum_tG_t}{\bar\lambda}=\frac{\sum_tG_t}{\sum_t\lVert
        \mathbf r_t\rVert_1}\quad\text{(1-second slots)}

    Args:
        gains: Per-slot gains, shape ``(T,)``.
        requests: Per-slot requests, shape ``(T, R)``.

    Raises:
        ValueError: On mismatched ``T`` or no requests at all.
    """
    g = np.asarray(gains, dtype=float)
    if g.ndim != 1 or len(g) < 1:
        raise ValueError(f"gains must be 1-D and cover T >= 1 slots, got shape {g.shape}")
    ra = np.asarray(requests, dtype=float)
    if len(ra) != len(g):
        raise ValueError(f"requests must cover the same T={len(g)} slots, got {len(ra)}")
    total = float(ra.sum())
    if total <= 0:
        raise ValueError("requests must contain at least one request to normalise by")
    return float(g.sum()) / total


def model_updates(
    allocations: Sequence[Allocation], *, count_initial: bool = False, per_slot: bool = False
) -> float:
    r"""Model fetches, INFIDA spec 3.8 [R].

    .. math::
        \mathrm{MU}=\sum_{t}\sum_{v,m}\mathbb 1\{x^v_{t,m}=1,\ x^v_{t-1,m}=0\}

    Args:
        allocations: Integral allocations per slot.
        count_initial: Count the first slot's models as fetched from :math:`\boldsymbol\omega`
            (default: ``False``).
        per_slot: Return the average per slot instead of the total (default: ``False``).

    Returns:
        The count (an ``int`` value) or the per-slot average.
    """
    if not allocations:
        raise ValueError("allocations must cover T >= 1 slots")
    total = 0
    prev = {v: np.zeros_like(np.asarray(a)) for v, a in allocations[0].items()}
    for t, x in enumerate(allocations):
        if t > 0 or count_initial:
            total += sum(int(np.sum((np.asarray(x[v]) > 0.5) & (prev[v] < 0.5))) for v in x)
        prev = {v: np.asarray(a) for v, a in x.items()}
    return total / len(allocations) if per_slot else total


def _regret_terms(
    sizes: Mapping[str, np.ndarray], budgets: Mapping[str, float]
) -> tuple[float, float, float, int, int]:
    if set(sizes) != set(budgets) or not sizes:
        raise ValueError("sizes and budgets must name the same, non-empty set of nodes")
    d = 0.0
    for v, s in sizes.items():
        tot = float(np.sum(s))
        b = min(float(budgets[v]), tot)
        if b <= 0:
            raise ValueError(f"budgets[{v!r}] must be > 0, got {budgets[v]}")
        d += b * math.log(tot / b)
    allsz = np.concatenate([np.asarray(s, dtype=float) for s in sizes.values()])
    n_models = max(len(s) for s in sizes.values())
    return d, float(allsz.min()), float(allsz.max()), len(sizes), n_models


def optimal_step_size(
    num_request_types: int,
    max_capacity: float,
    cost_gap: float,
    sizes: Mapping[str, np.ndarray],
    budgets: Mapping[str, float],
    T: int,
) -> float:
    r"""Step size minimising INFIDA's regret bound, spec 3.7 [D].

    .. math::
        \eta^*=\frac{s_{\min}}{R\,L_{\max}\,\Delta_C}\sqrt{\frac{2D}{s_{\max}|\mathcal V|
        |\mathcal M|\,T}},\quad D=\sum_v\min\{b^v,\lVert s^v\rVert_1\}\ln\frac{\lVert s^v
        \rVert_1}{\min\{b^v,\lVert s^v\rVert_1\}}

    Args:
        num_request_types: :math:`R`.
        max_capacity: :math:`L_{\max}` (requests per slot).
        cost_gap: :math:`\Delta_C`, largest cost gap between repository and cheapest model.
        sizes: Node -> model sizes.
        budgets: Node -> budget.
        T: Horizon ``>= 1``.

    Returns:
        :math:`\eta^*` (``0.0`` when every budget holds every model: nothing to learn).

    Raises:
        ValueError: On ``T < 1`` or non-positive ``R``, :math:`L_{\max}`, :math:`\Delta_C`.
    """
    T = _check_period("T", T)
    for name, val in (
        ("num_request_types", num_request_types),
        ("max_capacity", max_capacity),
        ("cost_gap", cost_gap),
    ):
        if _finite(name, val) <= 0 or math.isinf(val):
            raise ValueError(f"{name} must be finite and > 0, got {val!r}")
    d, s_min, s_max, n_v, n_m = _regret_terms(sizes, budgets)
    scale = s_min / (num_request_types * max_capacity * cost_gap)
    return scale * math.sqrt(2.0 * d / (s_max * n_v * n_m * T))


def regret_bound(
    num_request_types: int,
    max_capacity: float,
    cost_gap: float,
    sizes: Mapping[str, np.ndarray],
    budgets: Mapping[str, float],
    T: int,
) -> float:
    r"""INFIDA's :math:`\psi`-regret bound at :math:`\eta^*`, spec 3.7 [S].

    .. math::
        \psi\frac{R\,L_{\max}\Delta_C}{s_{\min}}\sqrt{2\,s_{\max}|\mathcal V||\mathcal M|\,D\,T},
        \qquad\psi=1-\tfrac1e

    Args:
        num_request_types: :math:`R`.
        max_capacity: :math:`L_{\max}`.
        cost_gap: :math:`\Delta_C`.
        sizes: Node -> model sizes.
        budgets: Node -> budget.
        T: Horizon ``>= 1``.

    Returns:
        The bound (gain units); :math:`O(\sqrt T)`.
    """
    T = _check_period("T", T)
    d, s_min, s_max, n_v, n_m = _regret_terms(sizes, budgets)
    psi = 1.0 - 1.0 / math.e
    g = num_request_types * max_capacity * cost_gap
    return psi * g / s_min * math.sqrt(2.0 * s_max * n_v * n_m * d * T)


# --------------------------------------------------------------------------------------------
# Inference-delivery scenarios on an edge path
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelVariant:
    """A model variant of the task.

    Args:
        name: Unique name.
        size: Memory footprint (bytes).
        macs: Compute of one inference (MAC).
        accuracy: Accuracy :math:`A_m` in [0, 1].
    """

    name: str
    size: float
    macs: float
    accuracy: float

    def __post_init__(self) -> None:
        if _finite("size", self.size) <= 0:
            raise ValueError(f"size must be > 0 bytes for model {self.name!r}, got {self.size}")
        if _finite("macs", self.macs) <= 0:
            raise ValueError(f"macs must be > 0 for model {self.name!r}, got {self.macs}")
        if not 0 <= _finite("accuracy", self.accuracy) <= 1:
            raise ValueError(
                f"accuracy must be in [0, 1] for model {self.name!r}, got {self.accuracy}"
            )


@dataclass(frozen=True)
class DeliveryProblem:
    """An inference-delivery instance on an edge path plus its physical description.

    Built by :func:`path_delivery_problem`.

    Args:
        network: The INFIDA network (sizes and budgets in ``size_unit`` bytes).
        devices: Edge devices in path order, then the cloud.
        links: Physical links between consecutive devices.
        variants: The model variants.
        entries: Entry device of each request type (``network.request_types`` order).
        input_bytes: Bytes of one request's input (bytes).
        slot: Slot length (s).
        size_unit: Bytes per size unit of the network (bytes).
    """

    network: InferenceNetwork
    devices: tuple[Device, ...]
    links: tuple[Link, ...]
    variants: tuple[ModelVariant, ...]
    entries: tuple[str, ...]
    input_bytes: int
    slot: float
    size_unit: float


def path_delivery_problem(
    variants: Sequence[ModelVariant],
    edge_devices: Sequence[Device],
    cloud: Device,
    *,
    bandwidth: float = 12.5e6,
    delay: float = 0.005,
    budgets: Sequence[float] | None = None,
    alpha: float = 1.0,
    slot: float = 1.0,
    input_bytes: int = 150_528,
    repository_model: str | None = None,
    size_unit: float = 1e6,
) -> DeliveryProblem:
    r"""Build an inference-delivery instance on a path ``edge_0 - ... - edge_{n-1} - cloud``.

    Requests enter at each edge device and travel towards the cloud, which permanently hosts
    ``repository_model``. Serving a request entering at :math:`e_j` with model :math:`m` on
    :math:`v` (``v`` at or after :math:`e_j`) costs (spec 3.1) [R]

    .. math::
        C^v_{\mathbf p,m}=\sum_{\text{links } e_j\to v}\Big(\delta+\frac{\text{input}}{B}\Big)
        +\frac{o_m}{\text{speed}_v}+\alpha(1-A_m)

    and its potential capacity is :math:`l^v_m=\text{slot}\cdot\text{speed}_v/o_m` requests per
    slot (the cloud: unlimited).

    Args:
        variants: Model variants (sizes in bytes).
        edge_devices: Edge devices in path order (their ``memory`` is replaced by the budget).
        cloud: The cloud repository device.
        bandwidth: Bandwidth of every link (bytes/s) (default: ``12.5e6``, 100 Mbit/s).
        delay: Propagation delay of every link (s) (default: ``0.005``).
        budgets: Memory budget of each edge device (bytes) (default: the device's ``memory``).
        alpha: Cost of inaccuracy :math:`\alpha` (s per unit of :math:`1-A`) (default: ``1.0``).
        slot: Slot length (s) (default: ``1.0``).
        input_bytes: Bytes of one input (default: ``150_528``, a 224x224x3 uint8 image).
        repository_model: Variant hosted by the cloud (default: the most accurate).
        size_unit: Bytes per unit of the INFIDA sizes (default: ``1e6``, MB).

    Returns:
        The :class:`DeliveryProblem`.

    Raises:
        ValueError: On empty lists, a negative ``alpha``, a non-positive bandwidth or slot, an
            unknown repository model, or a budget below the smallest model.
    """
    vs = tuple(variants)
    edges = tuple(edge_devices)
    if not vs or not edges:
        raise ValueError("variants and edge_devices must not be empty")
    if _finite("alpha", alpha) < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    for name, val in (("bandwidth", bandwidth), ("slot", slot), ("size_unit", size_unit)):
        if _finite(name, val) <= 0:
            raise ValueError(f"{name} must be > 0, got {val}")
    if _finite("delay", delay) < 0:
        raise ValueError(f"delay must be >= 0, got {delay}")
    bud = [d.memory for d in edges] if budgets is None else list(budgets)
    if len(bud) != len(edges):
        raise ValueError(
            f"budgets must have one entry per edge device ({len(edges)}), got {len(bud)}"
        )
    repo_m = repository_model or max(vs, key=lambda m: m.accuracy).name
    if repo_m not in {m.name for m in vs}:
        raise ValueError(f"repository_model {repo_m!r} is not among the variants")
    edges = tuple(
        Device(
            d.name,
            d.speed,
            b,
            d.capacity,
            d.servers,
            d.kind,
            d.idle_power,
            d.busy_power,
            d.reserved_share,
        )
        for d, b in zip(edges, bud)
    )
    path = (*edges, cloud)
    links = tuple(Link(a.name, b.name, bandwidth, delay) for a, b in zip(path[:-1], path[1:]))
    hop = delay + input_bytes / bandwidth
    rts = []
    for j, entry in enumerate(edges):
        cands = []
        for k in range(j, len(path)):
            dev = path[k]
            for m in vs:
                if dev is cloud and m.name != repo_m:
                    continue
                cost = (k - j) * hop + m.macs / dev.effective_speed + alpha * (1 - m.accuracy)
                cap = math.inf if dev is cloud else slot * dev.effective_speed / m.macs
                cands.append(Candidate(dev.name, m.name, cost, cap))
        rts.append(RequestType(f"from_{entry.name}", tuple(cands)))
    sizes = {d.name: np.array([m.size / size_unit for m in vs]) for d in edges}
    net = InferenceNetwork(
        tuple(m.name for m in vs),
        sizes,
        {d.name: b / size_unit for d, b in zip(edges, bud)},
        tuple(rts),
        frozenset({(cloud.name, repo_m)}),
    )
    return DeliveryProblem(
        net,
        path,
        links,
        vs,
        tuple(d.name for d in edges),
        int(input_bytes),
        float(slot),
        float(size_unit),
    )


def allocation_scenario(
    problem: DeliveryProblem,
    x: Allocation,
    r: Sequence[float] | np.ndarray,
    *,
    scv: float = 0.0,
    sla: float = math.inf,
) -> Scenario:
    """Turn one slot's integral allocation and requests into a :class:`~datagen.Scenario`.

    Requests of each type are split among the allocated candidates as INFIDA's cost model
    serves them (cheapest first, up to capacity; the cloud takes the rest, see
    :func:`served_amounts`). Each (request type, host, model) with a positive share becomes a
    one-fragment service with arrival rate ``share / slot``, input ``input_bytes`` sent from the
    entry device, MACs of the model, and the model's weights counted once per host. A
    multi-hop transfer is one virtual link per (entry, host) pair with the bottleneck bandwidth
    and the summed delay (the world model has no routing), so transfers of different pairs do
    not queue together on shared hops.

    Args:
        problem: The instance.
        x: Integral allocation at the edge devices.
        r: Requests per type in the slot, shape ``(R,)``.
        scv: Service-time SCV (default: ``0``).
        sla: Deadline (s) (default: ``inf``).

    Returns:
        A validated :class:`~datagen.Scenario` (device memory = the budgets).

    Raises:
        ValueError: If ``x`` is not integral, or on invalid inputs.
    """
    net = problem.network
    xa = net.check_allocation(x)
    for v, a in xa.items():
        if not np.all((a == 0) | (a == 1)):
            raise ValueError(f"x[{v!r}] must be integral (0/1); round it with depround first")
    served = served_amounts(net, r, xa)
    variants = {m.name: m for m in problem.variants}
    order = {d.name: i for i, d in enumerate(problem.devices)}
    link_by_pos = {i: lk for i, lk in enumerate(problem.links)}
    services, place, loaded = [], {}, set()
    virtual: dict[tuple[str, str], Link] = {}
    for rt, entry, share in zip(net.request_types, problem.entries, served):
        for c, amount in zip(rt.candidates, share):
            if amount <= _TOL:
                continue
            m = variants[c.model]
            first_use = (c.node, c.model) not in loaded
            loaded.add((c.node, c.model))
            name = f"{rt.name}@{c.node}/{c.model}"
            frag = Fragment("f0", m.macs, int(m.size) if first_use else 0, 0)
            services.append(
                Service(
                    name,
                    (frag,),
                    amount / problem.slot,
                    sla=sla,
                    scv=scv,
                    accuracy=m.accuracy,
                    source=entry,
                    input_bytes=problem.input_bytes,
                )
            )
            place[name] = (c.node,)
            i, k = order[entry], order[c.node]
            if k > i and (entry, c.node) not in virtual:
                hops = [link_by_pos[h] for h in range(i, k)]
                virtual[(entry, c.node)] = Link(
                    entry, c.node, min(h.bandwidth for h in hops), sum(h.delay for h in hops)
                )
    if not services:
        raise ValueError("r holds no requests: nothing to simulate")
    return Scenario(problem.devices, tuple(services), Placement(place), tuple(virtual.values()))
