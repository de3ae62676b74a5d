"""Scenarios flattened into the analytic predictor's stations, visits, paths, runs and batches.

:func:`compile_scenarios` walks every scenario of a batch (:func:`datagen.walk.walk`)
into global arrays (:class:`Compiled`): devices and links, one path per branch, and per path its
*visits* in order: a link visit before a fragment whose input crosses a link (``bytes /
bandwidth`` seconds plus the delay), then the device visit (``macs / effective_speed``
seconds). Consecutive visits of a path to one device form a *run*
(:mod:`chainnet.queueing.reentry`), and the first visits of a service's branches that start
on the same device form a *batch* (:mod:`chainnet.queueing.bulk`). :mod:`chainnet.analytic`
solves the stations from these arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from chainnet.queueing import run_scv
from datagen.walk import walk
from datagen.world import Scenario

__all__ = ["Compiled", "compile_scenarios", "segment_starts", "subset"]


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
    mean = np.asarray(v_mean, dtype=f)
    run = np.asarray(v_run, dtype=i64)
    run_mean = np.bincount(run, weights=mean, minlength=mean.size)
    run_sq = np.bincount(run, weights=mean**2, minlength=mean.size)
    scv = np.asarray(v_scv, dtype=f)
    bsize = np.asarray(v_bsize, dtype=i64)
    bidx = np.asarray(v_bidx, dtype=i64)
    return Compiled(
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
        v_mean=mean,
        v_scv=scv,
        v_delay=np.asarray(v_delay, dtype=f),
        v_cont=np.asarray(v_cont, dtype=bool),
        v_run_mean=run_mean,
        v_run_scv=run_scv(scv, run_mean, run_sq),
        v_bsize=bsize,
        v_bidx=bidx,
        v_ahead=_batch_ahead(mean.size, batches, run_mean),
        b_max=int(bsize.max()) if bsize.size else 1,
        v_ahead_var=_batch_ahead(mean.size, batches, run_mean**2 * run_scv(scv, run_mean, run_sq)),
        svc_scn=np.asarray(svc_scn, dtype=i64),
        svc_name=svc_name,
        svc_rate=np.asarray(svc_rate, dtype=f),
        svc_branches=np.asarray(svc_branches, dtype=i64),
    )


def _batch_ahead(n: int, groups: list[list[int]], per_run: np.ndarray) -> np.ndarray:
    """Per visit, ``per_run`` summed over the members of its batch served before it.

    Args:
        n: Number of visits.
        groups: Each batch's first visits, in branch order (the order they are admitted).
        per_run: A per-visit quantity of the visit's run (its mean time in s, or the variance
            of that time in s^2), read at each run's first visit.
    """
    ahead = np.zeros(n)
    if not groups:
        return ahead
    flat = np.fromiter((v for g in groups for v in g), dtype=np.int64)
    sizes = np.fromiter((len(g) for g in groups), dtype=np.int64)
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
