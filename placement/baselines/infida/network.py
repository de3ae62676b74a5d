r"""The inference delivery network: candidates, request types, nodes, budgets and allocations.

Spec ``shared/specs/analytical.md`` section 3.1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

from datagen.validation import is_real

__all__ = [
    "Allocation",
    "BudgetMode",
    "ProjectionMode",
    "Candidate",
    "RequestType",
    "InferenceNetwork",
]

#: Allocation of the optimizable nodes: node -> vector over ``InferenceNetwork.models``.
Allocation = Mapping[str, np.ndarray]
BudgetMode = Literal["expected", "strict"]
ProjectionMode = Literal["equality", "inequality"]

_TOL = 1e-9


def _finite(name: str, value: float) -> float:
    if not is_real(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must not be NaN")
    return v


def _check_period(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


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

    def fits(self, node: str) -> np.ndarray:
        r"""Models that fit node ``node`` on their own, :math:`s^v_m\le b^v`, shape ``(M,)``.

        A model larger than the budget can never be allocated there, so it gets no fractional
        mass either: INFIDA's feasible set :math:`\mathcal Y^v` fixes :math:`y^v_m=0` for it.

        Raises:
            ValueError: If ``node`` is not an optimizable node.
        """
        if node not in self.sizes:
            raise ValueError(f"node must be one of {list(self.nodes)}, got {node!r}")
        return self.sizes[node] <= self.budgets[node] * (1 + _TOL)

    def effective_budget(self, node: str) -> float:
        r""":math:`\min(b^v,\sum_{m:\,s^v_m\le b^v}s^v_m)`, the mass INFIDA spreads at ``node``.

        Models larger than :math:`b^v` are left out of the sum (:meth:`fits`); in size units.
        """
        return min(self.budgets[node], float(self.sizes[node][self.fits(node)].sum()))

    def allocated_size(self, x: Allocation) -> dict[str, float]:
        r"""Size allocated at each node, :math:`\sum_ms^v_mx^v_m` (size units).

        An allocation is feasible when this is at most :math:`b^v` at every node.
        """
        xa = self.check_allocation(x)
        return {v: float(self.sizes[v] @ xa[v]) for v in self.nodes}

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
