"""Classic placement baselines with the :class:`~placement.Placer` interface.

Every baseline takes a :class:`~placement.request.PlacementRequest` and returns a
:class:`~placement.decision.Decision` (``place(request)``), so reports compare like with like:

- :class:`RandomPlacer`: a uniformly drawn memory-feasible placement;
- :class:`RoundRobinPlacer`: fragments dealt to the devices in turn;
- :class:`GreedyPlacer`: each fragment on the fastest device with free memory;
- :class:`NeurosurgeonPlacer`: Neurosurgeon-style single split point (Kang et al., ASPLOS
  2017): a two-fragment layer split, the front on a local device and the back on the fastest
  one, the cut chosen to minimise a load-aware latency estimate;
- :class:`ILPPlacer`: a mixed-integer linear program (:func:`scipy.optimize.milp`) minimising
  the largest device utilisation plus a linearised latency term under memory constraints.

The split type of every service is fixed (default: ``"layer"`` when allowed, else the first
allowed split); none of these methods uses a learned predictor to search.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from chainnet.predictor import Predictor
from datagen.walk import load_share
from datagen.world import Service
from placement.candidates import CandidateSpace, InfeasibleRequestError, check_fit
from placement.decision import Decision
from placement.objective import Objective
from placement.request import PlacementRequest, RequestError
from placement.verify import decide

__all__ = [
    "ClassicPlacer",
    "RandomPlacer",
    "RoundRobinPlacer",
    "GreedyPlacer",
    "NeurosurgeonPlacer",
    "ILPPlacer",
]


class ClassicPlacer:
    """Base class: fixed split types, one constructed placement, optional checks.

    Args:
        predictor: Predictor for the reported metrics (default: ``None`` = report the
            simulated metrics only).
        split: Preferred split type of every service; a service that does not allow it gets
            its first allowed split (default: ``"layer"``).
        objective: Cost used to score the simulated placement (default: ``Objective()``).
        verify_top_k: ``1`` to simulate the placement, ``0`` not to (default: ``1``).
        seed: Seed of the random choices and the simulation (default: ``0``).
        verify_requests: Requests per verification simulation (default: ``3_000``).
    """

    name = "classic"

    def __init__(
        self,
        predictor: Predictor | None = None,
        split: str = "layer",
        objective: Objective | None = None,
        verify_top_k: int = 1,
        seed: int = 0,
        verify_requests: int = 3_000,
    ) -> None:
        if split not in ("layer", "semantic"):
            raise ValueError(f"split must be 'layer' or 'semantic', got {split!r}")
        if verify_top_k not in (0, 1):
            raise ValueError(f"verify_top_k must be 0 or 1 for a baseline, got {verify_top_k!r}")
        if predictor is not None and not hasattr(predictor, "predict"):
            raise ValueError(
                f"predictor must have a predict(scenarios) method, got {type(predictor).__name__}"
            )
        self.predictor = predictor
        self.split = split
        self.objective = objective if objective is not None else Objective()
        self.verify_top_k = verify_top_k
        self.seed = int(seed)
        self.verify_requests = int(verify_requests)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(split={self.split!r}, seed={self.seed})"

    def place(self, request: PlacementRequest) -> Decision:
        """Place the new services of a request.

        Args:
            request: The placement request.

        Returns:
            The decision (its ``candidates`` table holds the one constructed placement).

        Raises:
            RequestError: If ``request`` is not a PlacementRequest.
            InfeasibleRequestError: If some service cannot fit in the free memory.
        """
        t0 = time.perf_counter()
        if not isinstance(request, PlacementRequest):
            raise RequestError(
                f"request must be a PlacementRequest, got {type(request).__name__}"
            )
        allowed = check_fit(request)
        splits = {
            name: (self.split if self.split in opts else opts[0]) for name, opts in allowed.items()
        }
        rng = np.random.default_rng(self.seed)
        space, assignment = self._construct(request, splits, rng)
        if not space.feasible(assignment):  # pragma: no cover - constructions are feasible
            raise InfeasibleRequestError(f"{self.name} built an infeasible placement; report it")
        stats: dict[str, Any] = {
            "evaluations": 0,
            "predictor_calls": 0,
            "wall_time": time.perf_counter() - t0,
            "search": type(self).__name__,
        }
        return decide(self, space, assignment[None, :], stats=stats, method=self.name, started=t0)

    def _construct(
        self, request: PlacementRequest, splits: dict[str, str], rng: np.random.Generator
    ) -> tuple[CandidateSpace, np.ndarray]:
        space = CandidateSpace(request, splits)
        return space, self.assign(space, rng)

    def assign(self, space: CandidateSpace, rng: np.random.Generator) -> np.ndarray:
        """Return a feasible assignment of ``space`` (one device index per fragment)."""
        raise NotImplementedError


class RandomPlacer(ClassicPlacer):
    """Each fragment on a uniformly drawn device with room left (randomised first fit)."""

    name = "random"

    def assign(self, space: CandidateSpace, rng: np.random.Generator) -> np.ndarray:
        """A random feasible assignment."""
        return space.random_assignment(rng)


def _first_fit_in_order(space: CandidateSpace, order: list[int]) -> np.ndarray:
    """Fragments in order, each on the first device of ``order`` (rotating) with room."""
    free = space.free.copy()
    a = np.empty(space.num_fragments, dtype=np.int64)
    pos = 0
    d = len(order)
    for j in range(space.num_fragments):
        for step in range(d):
            dev = order[(pos + step) % d]
            if free[dev] + 1e-6 >= space.weights[j]:
                a[j] = dev
                free[dev] -= space.weights[j]
                pos = (pos + step + 1) % d
                break
        else:
            return space.greedy_assignment()
    return a


class RoundRobinPlacer(ClassicPlacer):
    """Fragments dealt to the devices in turn (request order), skipping full devices."""

    name = "round_robin"

    def assign(self, space: CandidateSpace, rng: np.random.Generator) -> np.ndarray:
        """The round-robin assignment."""
        return _first_fit_in_order(space, list(range(space.num_devices)))


class GreedyPlacer(ClassicPlacer):
    """Each fragment on the fastest device (speed x servers) that still has free memory."""

    name = "greedy"

    def assign(self, space: CandidateSpace, rng: np.random.Generator) -> np.ndarray:
        """The fastest-device-first assignment."""
        free = space.free.copy()
        order = np.argsort(-space.speed, kind="stable")
        a = np.empty(space.num_fragments, dtype=np.int64)
        for j in range(space.num_fragments):
            for dev in order:
                if free[dev] + 1e-6 >= space.weights[j]:
                    a[j] = dev
                    free[dev] -= space.weights[j]
                    break
            else:
                return space.greedy_assignment()
        return a


class NeurosurgeonPlacer(ClassicPlacer):
    r"""Neurosurgeon-style single split point per service (Kang et al., ASPLOS 2017).

    Each service is cut once (or not at all) into a front part on a *local* device and a
    back part on the *remote* device, the fastest device with free memory. Services are
    placed one after another; for every local device and cut point ``c`` (``0`` = all
    remote, ``L`` = all local) the estimated latency is

    .. math::
        T(c) = \frac{S_{front}(c)}{1 - \rho_{loc}} + \frac{o_c}{B} +
               \frac{S_{back}(c)}{1 - \rho_{rem}}

    with :math:`S = \text{MACs}/\text{speed}`, :math:`\rho` the device utilisation after
    adding this service (M/M/1-like inflation; ``inf`` when :math:`\rho \ge 1`), :math:`o_c`
    the activation bytes at the cut and :math:`B` the link bandwidth (0 without a link). The
    lowest :math:`T` wins. Services that do not allow a layer split keep the greedy
    placement of their first split.
    """

    name = "neurosurgeon"

    def _construct(
        self, request: PlacementRequest, splits: dict[str, str], rng: np.random.Generator
    ) -> tuple[CandidateSpace, np.ndarray]:
        from datagen.splitting import make_service

        base = CandidateSpace(request, splits)
        speed = base.speed
        util = base._running_util()
        free = base.free.copy()
        built: dict[str, Service] = {}
        place: dict[str, list[int]] = {}
        for sr, svc in zip(request.services, base.services):
            if "layer" not in sr.splits:
                built[sr.name] = svc
                place[sr.name] = []  # filled by the greedy pass below
                continue
            prof = sr.profile
            macs = np.array([layer.macs for layer in prof.layers], dtype=float)
            wts = np.array([layer.weight_bytes for layer in prof.layers], dtype=float)
            outs = np.array([layer.output_bytes for layer in prof.layers], dtype=float)
            cm = np.concatenate([[0.0], np.cumsum(macs)])
            cw = np.concatenate([[0.0], np.cumsum(wts)])
            n = len(prof.layers)
            best: tuple[float, int, int, int] | None = None
            for rem in np.argsort(-speed, kind="stable"):
                for loc in range(base.num_devices):
                    link = None
                    if loc != rem:
                        link = next(
                            (
                                x
                                for x in request.links
                                if x.key == {base.device_names[loc], base.device_names[rem]}
                            ),
                            None,
                        )
                    for c in range(n + 1):
                        fm, bm = cm[c], cm[n] - cm[c]
                        if 0 < c < n and (fm <= 0 or bm <= 0):
                            continue
                        if loc == rem and 0 < c < n:
                            continue
                        fw, bw = cw[c], cw[n] - cw[c]
                        if loc == rem:
                            if free[loc] + 1e-6 < fw + bw:
                                continue
                        elif free[loc] + 1e-6 < fw or free[rem] + 1e-6 < bw:
                            continue
                        t = self._latency(
                            fm, bm, loc, rem, c, n, outs, link, util, speed, sr.arrival_rate
                        )
                        if best is None or t < best[0]:
                            best = (t, int(loc), int(rem), c)
                if best is not None:
                    break  # the remote is the fastest device that can hold the back part
            if best is None:
                built[sr.name] = svc
                place[sr.name] = []
                continue
            _, loc, rem, c = best
            if c in (0, n):
                dev = rem if c == 0 else loc
                new = make_service(
                    sr.name, prof, "layer", sr.arrival_rate, sr.sla, k=1, scv=sr.scv
                )
                devs = [dev]
            else:
                new = make_service(
                    sr.name, prof, "layer", sr.arrival_rate, sr.sla, cuts=[c], scv=sr.scv
                )
                devs = [loc, rem]
            built[sr.name] = new
            place[sr.name] = devs
            for f, d in zip(new.fragments, devs):
                free[d] -= f.weight_bytes
                util[d] += load_share(sr.arrival_rate * f.macs, speed[d])
        space = CandidateSpace(request, splits, services=built)
        a = np.empty(space.num_fragments, dtype=np.int64)
        rest = space.greedy_assignment()
        for i, svc in enumerate(space.services):
            lo, hi = space.offsets[i], space.offsets[i + 1]
            a[lo:hi] = place[svc.name] if place[svc.name] else rest[lo:hi]
        if not space.feasible(a):
            a = rest
        return space, a

    @staticmethod
    def _latency(
        fm: float,
        bm: float,
        loc: int,
        rem: int,
        c: int,
        n: int,
        outs: np.ndarray,
        link: Any,
        util: np.ndarray,
        speed: np.ndarray,
        rate: float,
    ) -> float:
        u = util.copy()
        u[loc] += load_share(rate * fm, speed[loc])
        u[rem] += load_share(rate * bm, speed[rem])
        t = 0.0
        for m, d in ((fm, loc), (bm, rem)):
            if m > 0:
                if u[d] >= 1:
                    return math.inf
                t += m / speed[d] / (1 - u[d])
        if 0 < c < n and link is not None:
            t += outs[c - 1] / link.bandwidth + link.delay
        return t


class ILPPlacer(ClassicPlacer):
    r"""Mixed-integer program on a linearised load/latency model (:func:`scipy.optimize.milp`).

    Binary :math:`x_{jd}` puts fragment :math:`j` on device :math:`d`; :math:`z` bounds every
    device's utilisation:

    .. math::
        \min\; z + \epsilon \sum_{j,d} \lambda_j \frac{m_j}{v_d} x_{jd}
        \quad\text{s.t.}\quad \sum_d x_{jd} = 1,\;
        \sum_j w_j x_{jd} \le M_d,\;
        \rho^0_d + \sum_j \frac{\lambda_j m_j}{v_d} x_{jd} \le z

    with :math:`m_j` the MACs, :math:`w_j` the weight bytes, :math:`v_d` the speed times
    servers, :math:`M_d` the free memory and :math:`\rho^0_d` the running services' load.
    Minimising the largest utilisation keeps every finite queue away from saturation (the
    loss driver); the small :math:`\epsilon` term (the offered work, i.e. the sum of mean
    service times weighted by the rates) prefers fast devices. Transfers are not modelled.

    Args:
        epsilon: Weight of the latency term (default: ``0.01``).
        time_limit: Solver time limit (s) (default: ``10.0``).
        **kwargs: Arguments of :class:`ClassicPlacer`.
    """

    name = "ilp"

    def __init__(self, epsilon: float = 0.01, time_limit: float = 10.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon!r}")
        if not time_limit > 0:
            raise ValueError(f"time_limit must be > 0 s, got {time_limit!r}")
        self.epsilon = float(epsilon)
        self.time_limit = float(time_limit)

    def assign(self, space: CandidateSpace, rng: np.random.Generator) -> np.ndarray:
        """Solve the MILP; fall back to the greedy load balance if the solver fails."""
        f, d = space.num_fragments, space.num_devices
        nv = f * d + 1  # x (row-major j, d) then z
        load = load_share(space.load[:, None], space.speed[None, :])  # (F, D) load added
        c = np.zeros(nv)
        c[: f * d] = self.epsilon * load.ravel()
        c[-1] = 1.0
        a_eq = lil_matrix((f, nv))
        for j in range(f):
            a_eq[j, j * d : (j + 1) * d] = 1.0
        a_mem = lil_matrix((d, nv))
        a_util = lil_matrix((d, nv))
        for j in range(f):
            for k in range(d):
                a_mem[k, j * d + k] = space.weights[j]
                a_util[k, j * d + k] = load[j, k]
        a_util[:, nv - 1] = -1.0
        rho0 = space._running_util()
        mem_cap = np.where(np.isfinite(space.free), space.free, 1e30)
        cons = [
            LinearConstraint(a_eq.tocsr(), 1.0, 1.0),
            LinearConstraint(a_mem.tocsr(), -np.inf, mem_cap),
            LinearConstraint(a_util.tocsr(), -np.inf, -rho0),
        ]
        integrality = np.ones(nv)
        integrality[-1] = 0
        lb = np.zeros(nv)
        ub = np.ones(nv)
        ub[-1] = np.inf
        res = milp(
            c,
            constraints=cons,
            integrality=integrality,
            bounds=Bounds(lb, ub),
            options={"time_limit": self.time_limit, "disp": False},
        )
        if res.x is None:
            return space.greedy_assignment()
        x = res.x[: f * d].reshape(f, d)
        a = np.argmax(x, axis=1).astype(np.int64)
        return a if space.feasible(a) else space.greedy_assignment()
