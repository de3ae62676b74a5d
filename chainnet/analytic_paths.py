"""Scenarios flattened into the analytic predictor's stations, visits, paths, runs and batches.

:func:`compile_scenarios` walks every scenario of a batch (:func:`datagen.walk.walk`)
into global arrays (:class:`Compiled`): devices and links, one path per branch, and per path its
*visits* in order: a link visit before a fragment whose input crosses a link (``bytes /
bandwidth`` seconds plus the delay), then the device visit (``macs / effective_speed``
seconds). Consecutive visits of a path to one device form a *run*
(:mod:`chainnet.queueing.reentry`), and the first visits of a service's branches that start
on the same device form a *batch* (:mod:`chainnet.queueing.bulk`). :mod:`chainnet.analytic`
solves the stations from these arrays.

:func:`compile_arrays` builds the same :class:`Compiled`, bit for bit, from the flat arrays of
:mod:`chainnet.structure` (vectorised, through :func:`datagen.walk.walk_arrays`), for callers
that hold no Scenario (:meth:`chainnet.Surrogate.predict_arrays`) or have built the arrays
already (:meth:`chainnet.Surrogate.predict`): about 20x faster than :func:`compile_scenarios`
for 600 scenarios, about 1.4x slower for one (numpy's per-call overhead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from chainnet.queueing import run_scv
from chainnet.structure import GraphStructure, ScenarioArrays, compute_structure
from datagen.walk import walk
from datagen.world import Scenario

__all__ = ["Compiled", "compile_arrays", "compile_scenarios", "segment_starts", "subset"]


@dataclass
class Compiled:
    """Every scenario of a batch flattened into global station/visit/path arrays."""

    # devices (global index over the batch)
    dev_scn: np.ndarray
    dev_name: list[str]
    dev_K: np.ndarray
    dev_c: np.ndarray
    # links
    n_links: int
    # paths (branches)
    path_svc: np.ndarray
    path_rate: np.ndarray
    path_nominal: np.ndarray
    # visits, grouped by path in order
    v_path: np.ndarray
    v_is_dev: np.ndarray
    v_station: np.ndarray  # device index or link index
    v_mean: np.ndarray
    v_scv: np.ndarray
    v_delay: np.ndarray
    # runs of consecutive visits to one device (chainnet.queueing.reentry): a continuation is
    # never dropped; the first visit of a run carries the run's total time and queueing SCV
    v_cont: np.ndarray
    v_run_mean: np.ndarray
    v_run_scv: np.ndarray
    # batch arrivals (chainnet.queueing.bulk): branches of one request whose first visit is
    # the same device arrive together; size of the visit's batch and its place in it (1-based),
    # 1 and 1 for every other visit, and the mean run times of the batch members ahead of it
    v_bsize: np.ndarray
    v_bidx: np.ndarray
    v_ahead: np.ndarray
    v_ahead_var: np.ndarray
    b_max: int  # the largest batch of the whole batch of scenarios (kept by subset)
    # services
    svc_scn: np.ndarray
    svc_name: list[str]
    svc_rate: np.ndarray
    svc_branches: np.ndarray


def compile_scenarios(scenarios: Sequence[Scenario]) -> Compiled:
    """Flatten ``scenarios`` into global station, path and visit arrays (module docstring).

    Args:
        scenarios: The scenarios of one prediction batch.

    Returns:
        The arrays of every scenario, devices and services numbered across the batch.

    Raises:
        ValueError: If an element is not a :class:`~datagen.world.Scenario`.
    """
    dev_name: list[str] = []
    svc_name: list[str] = []
    dev_scn: list[int] = []
    dev_K: list[int] = []
    dev_c: list[int] = []
    path_svc: list[int] = []
    path_rate: list[float] = []
    path_nominal: list[float] = []
    v_path: list[int] = []
    v_is_dev: list[bool] = []
    v_station: list[int] = []
    v_mean: list[float] = []
    v_scv: list[float] = []
    v_delay: list[float] = []
    v_cont: list[bool] = []
    v_run: list[int] = []  # index of the first visit of the visit's run
    v_bsize: list[int] = []
    v_bidx: list[int] = []
    batches: list[list[int]] = []
    svc_scn: list[int] = []
    svc_rate: list[float] = []
    svc_branches: list[int] = []
    n_links = 0
    for si, scn in enumerate(scenarios):
        if not isinstance(scn, Scenario):
            raise ValueError(f"scenarios[{si}] must be a datagen.Scenario, got {type(scn)!r}")
        dev0 = len(dev_name)
        dev_idx = {d.name: dev0 + i for i, d in enumerate(scn.devices)}
        speed = {d.name: d.effective_speed for d in scn.devices}
        for d in scn.devices:
            dev_scn.append(si)
            dev_name.append(d.name)
            dev_K.append(d.capacity)
            dev_c.append(d.servers)
        link_idx = {lk.key: n_links + j for j, lk in enumerate(scn.links)}
        n_links += len(scn.links)
        for svc, _, branches in walk(scn):
            g = len(svc_name)
            svc_scn.append(si)
            svc_name.append(svc.name)
            svc_rate.append(svc.arrival_rate)
            svc_branches.append(len(branches))
            starts: dict[int, list[int]] = {}  # first device -> the first visits starting there
            for hops in branches:
                p = len(path_svc)
                v_first = len(v_path)
                path_svc.append(g)
                path_rate.append(svc.arrival_rate)
                nominal = 0.0
                for hop in hops:
                    link = hop.link
                    if link is not None:
                        nbytes = hop.nbytes
                        if nbytes > 0 or link.delay > 0:
                            t = nbytes / link.bandwidth
                            v_path.append(p)
                            v_is_dev.append(False)
                            v_station.append(link_idx[link.key])
                            v_mean.append(t)
                            v_scv.append(0.0)
                            v_delay.append(link.delay)
                            v_bsize.append(1)
                            v_bidx.append(1)
                            v_cont.append(False)
                            v_run.append(len(v_run))
                            nominal += t + link.delay
                        continue
                    dev = hop.device
                    t = svc.fragments[hop.fragment].macs / speed[dev]
                    cont = bool(v_path and v_path[-1] == p and v_is_dev[-1]
                                and v_station[-1] == dev_idx[dev])
                    v_cont.append(cont)
                    v_run.append(v_run[-1] if cont else len(v_run))
                    v_path.append(p)
                    v_is_dev.append(True)
                    v_station.append(dev_idx[dev])
                    v_mean.append(t)
                    v_scv.append(svc.scv)
                    v_delay.append(0.0)
                    v_bsize.append(1)
                    v_bidx.append(1)
                    if len(v_path) - 1 == v_first:
                        starts.setdefault(dev_idx[dev], []).append(v_first)
                    nominal += t
                path_nominal.append(nominal)
            for firsts in starts.values():
                if len(firsts) > 1:
                    batches.append(firsts)
                for i, v in enumerate(firsts):
                    v_bsize[v] = len(firsts)
                    v_bidx[v] = i + 1
    f, i64 = np.float64, np.int64
    flat = np.fromiter((v for g in batches for v in g), dtype=i64)
    sizes = np.fromiter((len(g) for g in batches), dtype=i64)
    return _assemble(
        dev_scn=np.asarray(dev_scn, dtype=i64),
        dev_name=dev_name,
        dev_K=np.asarray(dev_K, dtype=i64),
        dev_c=np.asarray(dev_c, dtype=i64),
        n_links=n_links,
        path_svc=np.asarray(path_svc, dtype=i64),
        path_rate=np.asarray(path_rate, dtype=f),
        path_nominal=np.asarray(path_nominal, dtype=f),
        v_path=np.asarray(v_path, dtype=i64),
        v_is_dev=np.asarray(v_is_dev, dtype=bool),
        v_station=np.asarray(v_station, dtype=i64),
        v_mean=np.asarray(v_mean, dtype=f),
        v_scv=np.asarray(v_scv, dtype=f),
        v_delay=np.asarray(v_delay, dtype=f),
        v_cont=np.asarray(v_cont, dtype=bool),
        v_run=np.asarray(v_run, dtype=i64),
        v_bsize=np.asarray(v_bsize, dtype=i64),
        v_bidx=np.asarray(v_bidx, dtype=i64),
        batch_flat=flat,
        batch_sizes=sizes,
        svc_scn=np.asarray(svc_scn, dtype=i64),
        svc_name=svc_name,
        svc_rate=np.asarray(svc_rate, dtype=f),
        svc_branches=np.asarray(svc_branches, dtype=i64),
    )


def compile_arrays(a: ScenarioArrays, structure: GraphStructure | None = None, *,
                   device_names: Sequence[str] | None = None,
                   service_names: Sequence[str] | None = None) -> Compiled:
    """Flatten scenarios given as flat arrays, vectorised: :func:`compile_scenarios` without them.

    The same visits, in the same order, with the same arithmetic, as
    :func:`compile_scenarios` on the equivalent scenarios, so every array field (and
    ``n_links``, ``b_max``) is equal bit for bit (``tests/chainnet/test_analytic_arrays.py``):
    the path structure is that of :func:`datagen.walk.walk_arrays` (the array form of the
    walker), a fragment's input crosses its link as a visit only when it sends bytes or the
    link has a delay, the nominal latency of a path is summed visit by visit in path order,
    and batches are met service by service in the order of their first branch.

    Args:
        a: The flat arrays (:func:`chainnet.builder.scenarios_to_arrays`,
            :func:`chainnet.builder.tile_arrays`).
        structure: Their :func:`~chainnet.structure.compute_structure`, when the caller has
            it already (default: ``None`` = computed here).
        device_names: Name of each device ``[D]`` (default: ``None`` = placeholders
            ``"device<i>"`` with ``i`` the global index; only
            :meth:`chainnet.AnalyticSurrogate.predict_devices` reports them).
        service_names: Name of each service ``[S]`` (default: ``None`` = placeholders
            ``"service<i>"``).

    Returns:
        The :class:`Compiled` arrays.

    Raises:
        ValueError: If ``a`` is not a :class:`~chainnet.structure.ScenarioArrays`, the
            fragment arrays differ in length, or a name list does not have one name per
            device or service.

    Shapes:
        ``a``: devices ``[D]``, services ``[S]``, fragments ``[F]``, links ``[E]``.
    """
    if not isinstance(a, ScenarioArrays):
        raise ValueError(
            f"a must be chainnet.structure.ScenarioArrays, got {type(a).__name__}; build it "
            f"with chainnet.builder.scenarios_to_arrays"
        )
    num_dev, num_svc = a.device_speed.shape[0], a.service_rate.shape[0]
    num_frag = a.fragment_service.shape[0]
    for name in ("fragment_device", "fragment_macs", "fragment_output_bytes",
                 "fragment_branch"):
        if getattr(a, name).shape[0] != num_frag:
            raise ValueError(
                f"a.{name} must have one entry per fragment ({num_frag}), got "
                f"{getattr(a, name).shape[0]}; build the arrays with scenarios_to_arrays"
            )
    for label, names, n in (("device_names", device_names, num_dev),
                            ("service_names", service_names, num_svc)):
        if names is not None and len(names) != n:
            raise ValueError(f"{label} must hold {n} names, got {len(names)}")
    s = compute_structure(a) if structure is None else structure
    i64 = np.int64
    prev = np.full(num_frag, -1, dtype=i64)
    prev[s.next_dst] = s.next_src
    # fragments in visiting order: path by path (paths are numbered service by service,
    # branch by branch), each path's fragments in fragment order
    order = np.argsort(s.fragment_path, kind="stable")
    path = s.fragment_path[order]
    dev = a.fragment_device[order]
    link = s.fragment_in_link[order]
    moved = link >= 0
    nbytes = s.fragment_in_bytes[order]
    delay = a.link_delay[link] if a.link_delay.size else np.zeros(num_frag)
    delay[~moved] = 0.0
    sent = moved & ((nbytes > 0) | (delay > 0))
    # each fragment: its input transfer (when sent), then its device visit
    dev_v = np.cumsum(1 + sent.astype(i64)) - 1
    link_v = dev_v[sent] - 1
    n_visits = num_frag + int(sent.sum())
    svc = a.fragment_service[order]
    t_dev = a.fragment_macs[order] / a.device_speed[dev]
    t_link = nbytes[sent] / a.link_bandwidth[link[sent]]

    v_path = np.empty(n_visits, dtype=i64)
    v_path[dev_v] = path
    v_path[link_v] = path[sent]
    v_is_dev = np.zeros(n_visits, dtype=bool)
    v_is_dev[dev_v] = True
    v_station = np.empty(n_visits, dtype=i64)
    v_station[dev_v] = dev
    v_station[link_v] = link[sent]
    v_mean = np.empty(n_visits)
    v_mean[dev_v] = t_dev
    v_mean[link_v] = t_link
    v_scv = np.zeros(n_visits)
    v_scv[dev_v] = a.service_scv[svc]
    v_delay = np.zeros(n_visits)
    v_delay[link_v] = delay[sent]
    # a run continues when the previous fragment of the path ran on the same device (no
    # transfer between them: links only join different devices)
    p_prev = prev[order]
    has_prev = p_prev >= 0
    cont = has_prev & (a.fragment_device[np.maximum(p_prev, 0)] == dev)
    v_cont = np.zeros(n_visits, dtype=bool)
    v_cont[dev_v] = cont
    v_run = np.maximum.accumulate(np.where(v_cont, 0, np.arange(n_visits, dtype=i64)))

    # nominal latency, summed visit by visit from 0 as the walk does (bincount adds in index
    # order): transfer + delay, or compute + 0
    nominal = np.bincount(v_path, weights=v_mean + v_delay, minlength=s.path_service.shape[0])

    # batches: the paths whose first visit is a device visit, grouped by (service, device);
    # a service's batches in the order of their first branch, members in branch order (only
    # services with several branches can have one)
    v_bsize = np.ones(n_visits, dtype=i64)
    v_bidx = np.ones(n_visits, dtype=i64)
    starts = (s.fragment_pos[order] == 0) & ~sent & (a.service_num_branches[svc] > 1)
    first_v = dev_v[starts]
    st_path = path[starts]
    key = svc[starts] * i64(max(num_dev, 1)) + dev[starts]
    flat = np.zeros(0, dtype=i64)
    sizes = np.zeros(0, dtype=i64)
    by_key = np.argsort(key, kind="stable")  # groups contiguous, members in branch order
    sorted_key = key[by_key]
    new_group = np.ones(key.size, dtype=bool)
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=new_group[1:])
    if not new_group.all():  # some batch has several members
        g_start = np.flatnonzero(new_group)
        g_size = np.diff(g_start, append=key.size)
        gid = np.cumsum(new_group) - 1
        member = first_v[by_key]
        v_bsize[member] = g_size[gid]
        v_bidx[member] = np.arange(key.size) - g_start[gid] + 1
        # batches in the order of their first branch (each path starts one batch at most)
        g_rank = np.empty(g_start.size, dtype=i64)
        g_rank[np.argsort(st_path[by_key][g_start])] = np.arange(g_start.size)
        in_order = np.argsort(g_rank[gid], kind="stable")
        multi = g_size[gid[in_order]] > 1
        flat = member[in_order][multi]
        sizes = g_size[np.argsort(g_rank)]
        sizes = sizes[sizes > 1]

    f = np.float64
    return _assemble(
        dev_scn=a.device_graph.astype(i64),
        dev_name=(list(device_names) if device_names is not None
                  else [f"device{i}" for i in range(num_dev)]),
        dev_K=a.device_capacity.astype(i64),
        dev_c=a.device_servers.astype(i64),
        n_links=int(a.link_a.shape[0]),
        path_svc=s.path_service.astype(i64),
        path_rate=a.service_rate[s.path_service].astype(f),
        path_nominal=nominal,
        v_path=v_path,
        v_is_dev=v_is_dev,
        v_station=v_station,
        v_mean=v_mean,
        v_scv=v_scv,
        v_delay=v_delay,
        v_cont=v_cont,
        v_run=v_run,
        v_bsize=v_bsize,
        v_bidx=v_bidx,
        batch_flat=flat,
        batch_sizes=sizes,
        svc_scn=a.service_graph.astype(i64),
        svc_name=(list(service_names) if service_names is not None
                  else [f"service{i}" for i in range(num_svc)]),
        svc_rate=a.service_rate.astype(f),
        svc_branches=a.service_num_branches.astype(i64),
    )


def _assemble(
    *, v_mean: np.ndarray, v_scv: np.ndarray, v_run: np.ndarray, v_bsize: np.ndarray,
    batch_flat: np.ndarray, batch_sizes: np.ndarray, **fields: Any,
) -> Compiled:
    """The :class:`Compiled` of the per-visit arrays, with the run and batch sums added.

    Shared by :func:`compile_scenarios` and :func:`compile_arrays`, so that both derive the
    runs' and batches' sums with the same operations in the same order.

    Args:
        v_mean: Mean time of each visit (s) ``[V]``.
        v_scv: SCV of each visit's time ``[V]``.
        v_run: Index of the first visit of each visit's run ``[V]``.
        v_bsize: Size of each visit's batch (1 outside batches) ``[V]``.
        batch_flat: The first visits of every batch of more than one member, batch after
            batch (in the order the walk meets them), members in branch order ``[M]``.
        batch_sizes: Members of each of those batches ``[G]``.
        **fields: The other fields of :class:`Compiled`.
    """
    run_mean = np.bincount(v_run, weights=v_mean, minlength=v_mean.size)
    run_sq = np.bincount(v_run, weights=v_mean**2, minlength=v_mean.size)
    run_s = run_scv(v_scv, run_mean, run_sq)
    return Compiled(
        v_mean=v_mean,
        v_scv=v_scv,
        v_run_mean=run_mean,
        v_run_scv=run_s,
        v_bsize=v_bsize,
        v_ahead=_batch_ahead(v_mean.size, batch_flat, batch_sizes, run_mean),
        b_max=int(v_bsize.max()) if v_bsize.size else 1,
        v_ahead_var=_batch_ahead(v_mean.size, batch_flat, batch_sizes, run_mean**2 * run_s),
        **fields,
    )


def _batch_ahead(n: int, flat: np.ndarray, sizes: np.ndarray,
                 per_run: np.ndarray) -> np.ndarray:
    """Per visit, ``per_run`` summed over the members of its batch served before it.

    Args:
        n: Number of visits.
        flat: Each batch's first visits, batch after batch, in branch order (the order they
            are admitted) ``[M]``.
        sizes: Members of each batch ``[G]``.
        per_run: A per-visit quantity of the visit's run (its mean time in s, or the variance
            of that time in s^2), read at each run's first visit ``[n]``.
    """
    ahead = np.zeros(n)
    if sizes.size == 0:
        return ahead
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    cum = np.cumsum(per_run[flat])
    before = cum - per_run[flat]  # exclusive running sum over all groups
    ahead[flat] = before - before[first]
    return ahead


def segment_starts(v_path: np.ndarray) -> np.ndarray:
    """Index of the first visit of each visit's path (visits are contiguous per path)."""
    if v_path.size == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.r_[True, v_path[1:] != v_path[:-1]]
    return np.maximum.accumulate(np.where(first, np.arange(v_path.size), 0))


# the per-visit arrays that subset() only filters (the visits' path and station are renumbered)
_PER_VISIT = ("v_mean", "v_scv", "v_delay", "v_cont", "v_run_mean", "v_run_scv", "v_bsize",
              "v_bidx", "v_ahead", "v_ahead_var")


def subset(cs: Compiled, keep_scn: np.ndarray) -> tuple[Compiled, np.ndarray]:
    """Restrict the iteration arrays to the scenarios flagged in ``keep_scn`` (global ids).

    Only the fields the fixed point reads are kept consistent (devices, paths, visits).

    Returns:
        The sub-problem and the boolean mask of the kept devices.
    """
    dev_keep = keep_scn[cs.dev_scn]
    dev_new = np.cumsum(dev_keep) - 1
    path_keep = keep_scn[cs.svc_scn[cs.path_svc]]
    path_new = np.cumsum(path_keep) - 1
    v_keep = path_keep[cs.v_path]
    v_dev = cs.v_is_dev[v_keep]
    v_station = cs.v_station[v_keep]
    sub = replace(
        cs,
        dev_scn=cs.dev_scn[dev_keep],
        dev_K=cs.dev_K[dev_keep],
        dev_c=cs.dev_c[dev_keep],
        path_svc=cs.path_svc[path_keep],
        path_rate=cs.path_rate[path_keep],
        path_nominal=cs.path_nominal[path_keep],
        v_path=path_new[cs.v_path[v_keep]],
        v_is_dev=v_dev,
        v_station=np.where(v_dev, dev_new[np.where(v_dev, v_station, 0)], v_station),
        **{name: getattr(cs, name)[v_keep] for name in _PER_VISIT},
    )
    return sub, dev_keep
