r"""Dimensionless, time-scale-free features and analytic priors for the ChainNet graph.

Everything here is vectorised numpy over the flat arrays of many scenarios at once
(:class:`ScenarioArrays`, produced by :mod:`chainnet.builder`); nothing loops over nodes. The
paths, transfers and device loads are the scenario walker's (:mod:`datagen.walk`, array form).

Notation, per fragment :math:`f` of service :math:`c` placed on device :math:`d`:

.. math::
    S_f = \frac{\text{macs}_f}{v_d (1 - r_d)}, \qquad
    \rho_d = \frac{1}{c_d}\sum_{f \to d} \lambda_c S_f, \qquad
    T_c = \max_{\text{branch } b \in c} \sum_{f \in b} \big(S_f + t^{tx}_f + \delta_f\big)

with :math:`v_d` the speed, :math:`r_d` the ``reserved_share`` (it lowers the effective speed in
every feature) and :math:`c_d` the number of servers. :math:`T_c`, the time scale used to turn
predicted ratios into seconds, is the simulator's no-queue latency :math:`R^0_c`
(:mod:`datagen.sim.compiled`): the largest over branches of the sum of compute times, link
transfer times (bytes / bandwidth) and propagation delays, so that
``respt_ratio`` :math:`= T_c / \bar R_c` as in the simulator.
Every time is divided by another time of the same scenario (:math:`T_c`, the SLA, a mean service
time) and every rate is multiplied by a time, so multiplying every time of a scenario by a
constant leaves every feature unchanged.

Analytic priors (a one-step thinned-flow decomposition):

1. Device loss by MacGregor Smith, :math:`L_d = P_{MGS}(\rho_d, s^2_d, K_d)` with the mixed SCV
   :math:`s^2_d = E[S^2]/E[S]^2 - 1` of the fragments it hosts (weights :math:`\lambda_c`).
2. Each fragment's upstream survival :math:`u_f = \prod_{g \prec f} (1 - L_{d(g)})` along its
   branch thins its arrival rate to :math:`\lambda_c u_f`; the loads and losses are computed again
   with the thinned rates (:math:`\tilde\rho_d`, :math:`\tilde L_d`), a few fixed-point steps.
3. Service throughput ratio prior :math:`\prod_{f \in c}(1-\tilde L_{d(f)})` (fork-join: losing one
   branch loses the request). Mean latency prior: per branch the sum of :math:`S_f`, the device
   waiting time and the transfer time, maximised over branches, and at least, for every device
   :math:`d`, :math:`W_d + \sum_{f \in c, f \to d} S_f / c_d` (a fork-join request's branches
   arrive together, so those on one device are served one after the other; schema 6); the
   response-time ratio prior is :math:`T_c` over it.
4. Arrival variability (QNA-style, Whitt 1983), for features only: a path's first fragment sees
   SCV-1 (Poisson) arrivals; a device's arrival SCV is the rate-weighted mix of its visits'
   (superposition), its departure SCV :math:`c_d^2 = u^2 s^2_d + (1-u^2) c_a^2` with the
   utilisation :math:`u`, and a visit leaving it with share :math:`p` of the departures
   carries :math:`p\,c_d^2 + 1 - p` to the next fragment (links pass it through). The device
   loss is then also evaluated by :func:`~chainnet.queueing.gg1k_loss_two_moment` (smooth input
   from a deterministic upstream server loses less than Poisson input).
5. Tail ratio prior: each branch's latency is a gamma law with the branch mean and the sum of
   its visits' variances (:math:`S_f^2 s^2_c` plus :math:`\bar W^2(2-u)/u` per wait), its
   quantile from the Wilson-Hilferty formula; a fork-join of :math:`B` branches takes the
   largest branch quantile at level :math:`0.95^{1/B}`; the prior is that over the mean.
6. Arrival timing (features only): a visit whose predecessor ran on device :math:`u` reaches
   its device :math:`d` at least :math:`S_{prev}` after :math:`u`'s previous departure. When
   :math:`d` is fed mostly by :math:`u` (the co-source share) and :math:`u` is busy, that gap
   frees :math:`S_{prev}/\bar S_d` places at a full :math:`d`, so visits with long
   predecessors are dropped less than the device's average: a full station does not drop
   every class alike. At a capacity-1 station what matters is whether the job sent just before
   is still in service, hence the share of the station's arrivals whose service there outlasts
   the visit's gap.
7. Class-by-class blocking (features only): the job of another visit :math:`o` on :math:`d` is
   in service when visit :math:`f` arrives if it arrived within the last :math:`S_o`. When
   the paths of :math:`f` and :math:`o` share an earlier FCFS station :math:`a` (the nearest
   one; :math:`f` paired with itself stands for its previous request), their departures from
   :math:`a` are at least :math:`S_{a,f}` or :math:`S_{a,o}` apart, which with the no-queue
   delays from :math:`a` to :math:`d` leaves only a window :math:`w_{fo} \le S_o` of departure
   gaps in which they collide (:func:`_collision_windows`); otherwise :math:`w_{fo} = S_o`.
   With admitted rates :math:`x_o = \tilde\lambda_o (1 - \tilde L_d)` the seen-busy share
   :math:`r_f = \sum_o x_o w_{fo} / \sum_o x_o S_o \in [0, 1]` is 1 for Poisson arrivals
   (which see the time average) and below 1 for visits spaced by shared upstream servers; the
   visit's loss estimate is :math:`\tilde L_d r_f` and the service's throughput estimate
   :math:`\prod_f (1 - \tilde L_d r_f)`. At a capacity-1 station :math:`\tilde L_d r_f` is the
   share of time busy with a job the visit can collide with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import ndtri

from chainnet.queueing import gg1k_loss_two_moment, mg1k_loss_mgs, mm1k_wait_ratio
from chainnet.queueing.batched import WAIT_CAP as _WAIT_CAP
from chainnet.schema import DEVICE, FEATURES, FRAGMENT, LINK, PRIORS, SERVICE
from chainnet.structure import GraphFeatures, GraphStructure, ScenarioArrays, compute_structure
from datagen.walk import offered_load_arrays

__all__ = ["ScenarioArrays", "GraphStructure", "GraphFeatures", "compute_structure",
           "compute_features", "mm1k_wait_ratio"]

_EPS = 1e-12
#: Thinning iterations of the flow fixed point (exact after ``depth`` steps on feed-forward
#: placements; chainnet_like paths have at most 6 fragments, and later steps change little).
_THINNING_STEPS = 3


def _columns(cols: dict[str, np.ndarray], names: Sequence[str], size: int) -> np.ndarray:
    """Stack the named columns (each ``[size]`` or broadcastable to it) into ``[size, len]``."""
    out = np.empty((size, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        out[:, j] = cols[name]
    return out


def _segment_max(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.float64)
    np.maximum.at(out, index, values)
    return out


class _PathPrefix:
    """Sums over the fragments before each fragment on its path (sorting done once)."""

    def __init__(self, s: GraphStructure) -> None:
        self.order = np.lexsort((s.fragment_pos, s.fragment_path))
        self.start = np.concatenate(([0], np.cumsum(s.path_length)[:-1]))
        self.path_sorted = s.fragment_path[self.order]

    def exclusive_sum(self, values: np.ndarray) -> np.ndarray:
        csum = np.cumsum(values[self.order])
        start_sum = np.where(self.start > 0, csum[np.maximum(self.start - 1, 0)], 0.0)
        incl = np.empty_like(values)
        incl[self.order] = csum - start_sum[self.path_sorted]
        return incl - values


def _wait_variance(wait: np.ndarray, util: np.ndarray) -> np.ndarray:
    r"""Waiting-time variance, an atom at 0 plus an exponential tail (exact for M/M/1).

    .. math:: \mathrm{Var}[W] = \bar W^2 (2 - u) / u
    """
    u = np.clip(util, 1e-6, 1.0)
    return wait**2 * (2.0 - u) / u


def _mixed_scv(weight: np.ndarray, time: np.ndarray, scv: np.ndarray, index: np.ndarray,
               size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SCV of a mixture of service times per station (weights = rates)."""
    w = np.bincount(index, weight, minlength=size)
    m1 = np.bincount(index, weight * time, minlength=size)
    m2 = np.bincount(index, weight * time**2 * (1.0 + scv), minlength=size)
    safe = np.where(w > 0, w, 1.0)
    mean = m1 / safe
    scv_mix = np.where(mean > 0, (m2 / safe) / np.where(mean > 0, mean, 1.0) ** 2 - 1.0, 0.0)
    return mean, np.maximum(scv_mix, 0.0)


def _arrival_variability(
    s: GraphStructure, dev: np.ndarray, lam: np.ndarray, stime: np.ndarray,
    scv_mix: np.ndarray, rho: np.ndarray, cap: np.ndarray, num_dev: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """QNA propagation of arrival SCVs along paths (item 4 of the module docstring).

    Returns:
        Device arrival SCV ``[D]``, device two-moment loss ``[D]``, fragment arrival SCV ``[F]``.
    """
    frag_ca2 = np.ones_like(stime)
    total = np.bincount(dev, lam, minlength=num_dev)
    share = lam / np.maximum(total[dev], _EPS)
    dev_ca2: np.ndarray = np.zeros(num_dev)
    loss: np.ndarray = np.zeros(num_dev)
    for _ in range(_THINNING_STEPS):
        dev_ca2 = np.bincount(dev, share * frag_ca2, minlength=num_dev)
        loss = gg1k_loss_two_moment(rho, dev_ca2, scv_mix, cap)
        util = np.clip(rho * (1.0 - loss), 0.0, 1.0)
        dep_ca2 = util**2 * scv_mix + (1.0 - util**2) * dev_ca2
        leaving = share * dep_ca2[dev] + 1.0 - share
        frag_ca2 = np.ones_like(stime)
        frag_ca2[s.next_dst] = leaving[s.next_src]
    return dev_ca2, np.asarray(loss, dtype=np.float64), frag_ca2


def _service_survival(drop: np.ndarray, service: np.ndarray, num_svc: int) -> np.ndarray:
    """Product over each service's visits of ``1 - drop`` (visits lost independently)."""
    log_keep = np.log(np.clip(1.0 - drop, _EPS, 1.0))
    return np.exp(np.bincount(service, log_keep, minlength=num_svc))


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``i`` repeated ``counts[i]`` times, and their offsets ``0 .. counts[i] - 1``."""
    row = np.repeat(np.arange(counts.shape[0]), counts)
    offset = np.arange(row.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    return row, offset


def _collision_windows(
    s: GraphStructure, prefix: _PathPrefix, dev: np.ndarray, stime: np.ndarray,
    arrive: np.ndarray, owner: np.ndarray, other: np.ndarray, num_dev: int,
) -> np.ndarray:
    r"""Length of the departure-time window in which ``other`` collides with ``owner`` (item 7).

    For each pair of visits ``(f, o)`` on one device, with :math:`a` the device of the nearest
    common ancestor station of their paths (the latest earlier visit of :math:`f` whose device
    also hosts an earlier visit of :math:`o`), :math:`D_f, D_o` the no-queue delays from leaving
    :math:`a` to reaching the device and :math:`\delta = D_o - D_f`: :math:`o`'s job is in
    service when :math:`f`'s arrives iff their departures from :math:`a` are :math:`g` apart with
    :math:`g \in [\delta, \delta + S_o)` (``o`` first, :math:`g \ge S_{a,f}` as :math:`a` is
    FCFS) or :math:`g \in (-\delta - S_o, -\delta]` (``f`` first, :math:`g \ge S_{a,o}`). The
    window is the length of those admissible sets; without a common ancestor it is :math:`S_o`.

    Args:
        s: The structure.
        prefix: Its path order (:class:`_PathPrefix`).
        dev: Device of each fragment ``[F]``.
        stime: Compute time of each fragment on its device ``[F]`` (s).
        arrive: No-queue arrival time of each fragment since its request started ``[F]`` (s).
        owner: The visit :math:`f` of each pair ``[P]``.
        other: The visit :math:`o` of each pair, on the same device ``[P]``.
        num_dev: Number of devices.

    Returns:
        The window of each pair ``[P]`` (s), in ``[0, S_o]``.
    """
    num_pairs = owner.shape[0]
    window = stime[other].astype(np.float64)
    if num_pairs == 0 or s.next_dst.size == 0:
        return window
    # earlier visits on the path of every fragment: (fragment, ancestor) rows
    n_anc = s.fragment_pos
    frag, offset = _ragged(n_anc)
    anc = prefix.order[prefix.start[s.fragment_path][frag] + offset]
    anc_start = np.cumsum(n_anc) - n_anc

    def rows(frag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # (pair, ancestor) rows for the given fragment of every pair
        pair, offset = _ragged(n_anc[frag])
        return pair, anc[anc_start[frag][pair] + offset]

    pf, af = rows(owner)
    po, ao = rows(other)
    if pf.size == 0 or po.size == 0:
        return window
    key_o = po.astype(np.int64) * num_dev + dev[ao]
    # per (pair, device) keep o's latest visit there; sort by key then position
    srt = np.lexsort((s.fragment_pos[ao], key_o))
    key_sorted, ao_sorted = key_o[srt], ao[srt]
    last = np.r_[key_sorted[1:] != key_sorted[:-1], True]
    key_u, ao_u = key_sorted[last], ao_sorted[last]
    key_f = pf.astype(np.int64) * num_dev + dev[af]
    hit = np.clip(np.searchsorted(key_u, key_f), 0, key_u.size - 1)
    match = key_u[hit] == key_f
    if not match.any():
        return window
    pf, af, ah = pf[match], af[match], ao_u[hit[match]]
    # per pair the nearest ancestor of f (largest position)
    srt = np.lexsort((s.fragment_pos[af], pf))
    pf, af, ah = pf[srt], af[srt], ah[srt]
    last = np.r_[pf[1:] != pf[:-1], True]
    pf, af, ah = pf[last], af[last], ah[last]
    f, o = owner[pf], other[pf]
    d_f = arrive[f] - arrive[af] - stime[af]
    d_o = arrive[o] - arrive[ah] - stime[ah]
    delta, s_o = d_o - d_f, stime[o]
    first_o = np.maximum(delta + s_o - np.maximum(delta, stime[af]), 0.0)
    first_f = np.maximum(-delta - np.maximum(-delta - s_o, stime[ah]), 0.0)
    window[pf] = np.minimum(first_o + first_f, s_o)
    return window


def _arrival_timing(
    s: GraphStructure, dev: np.ndarray, lam_thin: np.ndarray, stime: np.ndarray,
    prev_time: np.ndarray, dev_mean: np.ndarray, util: np.ndarray, keep: np.ndarray,
    prefix: _PathPrefix, arrive: np.ndarray, num_dev: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""When a visit arrives relative to the other arrivals at its device (item 6).

    Returns:
        Per fragment ``[F]``, all 0 for the first fragment of a path:

        - the guaranteed gap share :math:`S_{prev}/(S_{prev}+\bar S_d)`;
        - the co-source share: the part of the device's thinned arrival rate sent by the same
          upstream device, the visit's own included;
        - the upstream device's utilisation prior;
        - the longer-than-gap share: the part of the device's thinned arrival rate (the
          visit's own included) whose service time there exceeds :math:`S_{prev}`, i.e. a
          job sent just before by the same upstream device is still in service when the
          visit arrives, which blocks a capacity-1 station;
        - the seen-busy share :math:`r_f` (item 7), 1 for the first fragment of a path.
    """
    num_frag = dev.shape[0]
    total_in = np.maximum(np.bincount(dev, lam_thin, minlength=num_dev), _EPS)
    gap_share = prev_time / np.maximum(prev_time + dev_mean[dev], _EPS)
    co_source = np.zeros(num_frag)
    upstream_util = np.zeros(num_frag)
    dst, up = s.next_dst, dev[s.next_src]
    if dst.size:
        _, pair = np.unique(up.astype(np.int64) * num_dev + dev[dst], return_inverse=True)
        pair_rate = np.bincount(pair.ravel(), lam_thin[dst])
        co_source[dst] = pair_rate[pair.ravel()] / total_in[dev[dst]]
        upstream_util[dst] = util[up]
    # every (visit, visit on the same device) pair, the visit itself included
    order = np.argsort(dev, kind="stable")
    counts = np.bincount(dev, minlength=num_dev)
    per_frag = counts[dev]
    owner, offset = _ragged(per_frag)
    other = order[(np.cumsum(counts) - counts)[dev][owner] + offset]
    longer = stime[other] > prev_time[owner]
    longer_share = np.bincount(owner, lam_thin[other] * longer, minlength=num_frag)
    longer_share = np.where(s.fragment_pos == 0, 0.0, longer_share / total_in[dev])
    window = _collision_windows(s, prefix, dev, stime, arrive, owner, other, num_dev)
    admitted = lam_thin[other] * keep[dev[other]]
    seen = np.bincount(owner, admitted * window, minlength=num_frag)
    busy = np.bincount(owner, admitted * stime[other], minlength=num_frag)
    seen_share = np.where(busy > _EPS, seen / np.maximum(busy, _EPS), 1.0)
    return gap_share, co_source, upstream_util, longer_share, np.clip(seen_share, 0.0, 1.0)


def _fork_serial_floor(
    a: ScenarioArrays, svc: np.ndarray, dev: np.ndarray, serial_time: np.ndarray,
    dev_wait: np.ndarray, num_dev: int, num_svc: int,
    link: np.ndarray | None = None, tx_serv: np.ndarray | None = None,
    tx_delay: np.ndarray | None = None, link_wait: np.ndarray | None = None,
) -> np.ndarray:
    r"""Per fork-join service, the latency floor of its own branches queueing one after another.

    The branches of one request leave together, so those that share a station are served in
    turn. At a device :math:`d`: its wait, the earliest input transfer of those branches and
    their summed service times. On a link :math:`l` (the transfers of a request's branch
    inputs are queued FCFS): its wait and delay, the summed transfer times, then at least the
    shortest computation that follows:

    .. math::
        F_d = W_d + \min_{f \to d} t^{in}_f + \sum_{f \to d} s_f, \qquad
        F_l = W_l + \delta_l + \sum_{f \text{ over } l} t^{tx}_f + \min_{f \text{ over } l} s_f

    Args:
        a: The flat arrays.
        svc: Service of each fragment.
        dev: Device of each fragment.
        serial_time: Service time of each fragment at its device (s, per server).
        dev_wait: Mean wait per device (s).
        num_dev: Number of devices.
        num_svc: Number of services.
        link: Input link of each fragment (``-1`` = none) (default: ``None`` = no links).
        tx_serv: Transfer time of each fragment's input over its link (s).
        tx_delay: Delay of that link (s).
        link_wait: Mean wait per link (s).

    Returns:
        The floor per service (s; 0 for services without branches).
    """
    floor = np.zeros(num_svc)
    forked = a.service_num_branches[svc] > 1
    if not forked.any():
        return floor
    no_tx = tx_serv is None or tx_delay is None
    lead = np.zeros(svc.shape[0]) if no_tx else tx_serv + tx_delay  # type: ignore[operator]
    key = svc[forked].astype(np.int64) * num_dev + dev[forked]
    uniq, inv = np.unique(key, return_inverse=True)
    inv = inv.ravel()
    serial = np.bincount(inv, serial_time[forked])
    first_in = np.full(uniq.shape[0], np.inf)
    np.minimum.at(first_in, inv, lead[forked])
    np.maximum.at(floor, uniq // num_dev, dev_wait[uniq % num_dev] + first_in + serial)
    if link is None or tx_serv is None or tx_delay is None or link_wait is None \
            or link_wait.size == 0:
        return floor
    on_link = forked & (link >= 0) & (tx_serv > 0)
    if not on_link.any():
        return floor
    num_link = link_wait.shape[0]
    key = svc[on_link].astype(np.int64) * num_link + link[on_link]
    uniq, inv = np.unique(key, return_inverse=True)
    inv = inv.ravel()
    sent = np.bincount(inv, tx_serv[on_link])
    delay = np.zeros(uniq.shape[0])
    np.maximum.at(delay, inv, tx_delay[on_link])
    after = np.full(uniq.shape[0], np.inf)
    np.minimum.at(after, inv, serial_time[on_link])
    np.maximum.at(floor, uniq // num_link, link_wait[uniq % num_link] + delay + sent + after)
    return floor


def compute_features(a: ScenarioArrays, s: GraphStructure) -> GraphFeatures:
    """Compute every feature and prior of :mod:`chainnet.schema`, vectorised.

    Args:
        a: The flat arrays.
        s: Their structure from :func:`compute_structure`.

    Returns:
        The :class:`GraphFeatures` (float64).
    """
    num_dev, num_svc = a.device_speed.shape[0], a.service_rate.shape[0]
    num_link = a.link_bandwidth.shape[0]
    num_paths = s.path_length.shape[0]
    svc, dev = a.fragment_service, a.fragment_device
    lam = a.service_rate[svc]
    scv = a.service_scv[svc]
    sla = a.service_sla
    sla_finite = np.isfinite(sla)
    inv_sla = np.where(sla_finite, 1.0 / np.where(sla_finite, sla, 1.0), 0.0)
    servers = a.device_servers.astype(np.float64)
    cap = a.device_capacity.astype(np.float64)

    # -- compute and transfer times, nominal (no-queue) latency -------------------------------
    stime = a.fragment_macs / a.device_speed[dev]
    has_link = s.fragment_in_link >= 0
    link_idx = np.where(has_link, s.fragment_in_link, 0)
    if num_link > 0:
        tx_serv = np.where(has_link, s.fragment_in_bytes / a.link_bandwidth[link_idx], 0.0)
        tx_delay = np.where(has_link, a.link_delay[link_idx], 0.0)
    else:
        tx_serv = tx_delay = np.zeros_like(stime)
    path_nominal = np.bincount(s.fragment_path, stime + tx_serv + tx_delay, minlength=num_paths)
    t_svc = _segment_max(path_nominal, s.path_service, num_svc)
    total_compute = np.bincount(svc, stime, minlength=num_svc)

    # -- devices: loads, mixed SCV, MGS loss, one thinning step -------------------------------
    load_f = lam * stime
    dev_load_raw, rho = offered_load_arrays(dev, load_f, servers)
    dev_mean, scv_mix = _mixed_scv(lam, stime, scv, dev, num_dev)
    loss = np.asarray(mg1k_loss_mgs(rho, scv_mix, cap), dtype=np.float64)
    prefix = _PathPrefix(s)
    upstream_thin = np.exp(prefix.exclusive_sum(np.log(np.clip(1.0 - loss, _EPS, 1.0))[dev]))
    for _ in range(_THINNING_STEPS):
        lam_thin = lam * upstream_thin
        rho_thin = np.bincount(dev, lam_thin * stime, minlength=num_dev) / servers
        loss_thin = np.asarray(mg1k_loss_mgs(rho_thin, scv_mix, cap), dtype=np.float64)
        log_keep_thin = np.log(np.clip(1.0 - loss_thin, _EPS, 1.0))
        upstream_thin = np.exp(prefix.exclusive_sum(log_keep_thin[dev]))
    lam_thin = lam * upstream_thin
    util_prior = np.clip(rho_thin * (1.0 - loss_thin), 0.0, 1.0)
    dev_ca2, loss_qna, frag_ca2 = _arrival_variability(
        s, dev, lam_thin, stime, scv_mix, rho_thin, cap, num_dev
    )
    # multi-server stations are folded into one server of c-fold speed, hence the 1/c
    wait_ratio = mm1k_wait_ratio(rho_thin, cap) * (1.0 + scv_mix) / 2.0 / servers
    dev_wait = wait_ratio * dev_mean  # s

    # -- links: FCFS stations with infinite room, visited by transfers of > 0 bytes ------------
    link_load: np.ndarray
    link_wait_ratio: np.ndarray
    delay_share: np.ndarray
    link_count: np.ndarray
    if num_link > 0:
        visits = has_link & (s.fragment_in_bytes > 0)
        lidx = s.fragment_in_link[visits]
        lam_l = lam_thin[visits]  # the input reaches the link once upstream stations kept it
        link_load = np.bincount(lidx, lam_l * tx_serv[visits], minlength=num_link)
        link_mean, link_scv = _mixed_scv(lam_l, tx_serv[visits], np.zeros_like(lam_l), lidx,
                                         num_link)
        with np.errstate(divide="ignore", invalid="ignore"):
            link_wait_ratio = np.where(
                link_load < 1.0,
                link_load * (1.0 + link_scv) / (2.0 * np.maximum(1.0 - link_load, _EPS)),
                _WAIT_CAP,
            )
        link_wait_ratio = np.minimum(link_wait_ratio, _WAIT_CAP)
        link_wait = link_wait_ratio * link_mean
        denom = a.link_delay + link_mean
        delay_share = np.where(denom > 0, a.link_delay / np.where(denom > 0, denom, 1.0), 0.0)
        link_count = np.bincount(lidx, minlength=num_link).astype(np.float64)
        tx_time = tx_serv + tx_delay + np.where(visits, link_wait[link_idx], 0.0)
        tx_var = np.where(visits, _wait_variance(link_wait, link_load)[link_idx], 0.0)
    else:
        link_load = link_wait_ratio = delay_share = link_count = np.zeros(0, dtype=np.float64)
        link_wait = np.zeros(0, dtype=np.float64)
        tx_time = tx_var = np.zeros_like(stime)

    # -- latency and throughput priors ---------------------------------------------------------
    frag_latency = stime + dev_wait[dev] + tx_time
    path_latency = np.bincount(s.fragment_path, frag_latency, minlength=num_paths)
    svc_latency = np.maximum(
        _segment_max(path_latency, s.path_service, num_svc),
        _fork_serial_floor(a, svc, dev, stime / servers[dev], dev_wait, num_dev, num_svc,
                           np.where(has_link, s.fragment_in_link, -1), tx_serv, tx_delay,
                           link_wait),
    )
    tput_prior = _service_survival(loss_thin[dev], svc, num_svc)
    respt_prior = np.clip(t_svc / svc_latency, 0.0, 1.0)
    # p95: gamma law per path (Wilson-Hilferty quantile), largest branch at level 0.95^(1/B)
    frag_var = stime**2 * scv + _wait_variance(dev_wait, util_prior)[dev] + tx_var
    path_cv2 = np.bincount(s.fragment_path, frag_var, minlength=num_paths) / path_latency**2
    z = ndtri(0.95 ** (1.0 / a.service_num_branches.astype(np.float64)))[s.path_service]
    root = np.sqrt(path_cv2 / 9.0)
    path_q = path_latency * np.maximum(1.0 - root**2 + z * root, 0.0) ** 3
    p95_prior = np.maximum(_segment_max(path_q, s.path_service, num_svc) / svc_latency, 1.0)
    path_tx = np.bincount(s.fragment_path, tx_time, minlength=num_paths)
    svc_tx = _segment_max(path_tx, s.path_service, num_svc)
    max_host_load = _segment_max(rho_thin[dev], svc, num_svc)

    # -- assemble ------------------------------------------------------------------------------
    # share of the previous visit in (previous + own) compute time: a fragment whose
    # predecessor is slower receives inputs spaced at least that far apart (0 for the first)
    prev_time = np.zeros_like(stime)
    prev_time[s.next_dst] = stime[s.next_src]
    prev_time_share = prev_time / np.maximum(prev_time + stime, _EPS)
    tx_in = tx_serv + tx_delay
    arrive = prefix.exclusive_sum(stime + tx_in) + tx_in
    gap_share, co_source, upstream_util, longer_share, seen_share = _arrival_timing(
        s, dev, lam_thin, stime, prev_time, dev_mean, util_prior, 1.0 - loss_thin, prefix,
        arrive, num_dev,
    )
    host_loss_timing = loss_thin[dev] * seen_share
    t_f = t_svc[svc]
    last = s.fragment_pos == s.path_length[s.fragment_path] - 1
    plen = s.path_length[s.fragment_path]
    frag_cols = {
        "offered_load": load_f / servers[dev],
        "load_share": load_f / np.maximum(dev_load_raw[dev], _EPS),
        "compute_share": stime / t_f,
        "compute_over_sla": stime * inv_sla[svc],
        "transfer_share": tx_time / t_f,
        "transfer_over_sla": tx_time * inv_sla[svc],
        "has_transfer": has_link.astype(np.float64),
        "position_fraction": np.where(plen > 1, s.fragment_pos / np.maximum(plen - 1, 1), 0.0),
        "is_first": (s.fragment_pos == 0).astype(np.float64),
        "is_last": last.astype(np.float64),
        "upstream_survival": upstream_thin,
        "scv": scv,
        "host_loss": loss_thin[dev],
        "wait_share": dev_wait[dev] / t_f,
        "arrival_scv": frag_ca2,
        "prev_time_share": prev_time_share,
        "gap_over_host_service": gap_share,
        "co_source_share": co_source,
        "upstream_utilization": upstream_util,
        "longer_than_gap_share": longer_share,
        "seen_busy_share": seen_share,
        "host_loss_timing": host_loss_timing,
    }
    num_frag_dev = np.bincount(dev, minlength=num_dev).astype(np.float64)
    pair = np.unique(svc.astype(np.int64) * num_dev + dev)
    num_svc_dev = np.bincount(pair % max(num_dev, 1), minlength=num_dev).astype(np.float64)
    dev_cols = {
        "load": rho,
        "load_thinned": rho_thin,
        "inv_capacity": 1.0 / cap,
        "servers": servers,
        "scv_mix": scv_mix,
        "loss_mgs": loss,
        "loss_thinned": loss_thin,
        "utilization_prior": util_prior,
        "wait_ratio": wait_ratio,
        "num_fragments": num_frag_dev,
        "num_services": num_svc_dev,
        "reserved_share": a.device_reserved.astype(np.float64),
        "arrival_scv": dev_ca2,
        "loss_two_moment": loss_qna,
        "input_concentration": _segment_max(co_source, dev, num_dev),
    }
    nb = a.service_num_branches.astype(np.float64)
    svc_cols = {
        "num_branches": nb,
        "inv_num_branches": 1.0 / nb,
        "num_fragments": np.bincount(svc, minlength=num_svc).astype(np.float64),
        "sla_is_inf": (~sla_finite).astype(np.float64),
        "critical_time_over_sla": t_svc * inv_sla,
        "total_compute_share": total_compute / t_svc,
        "transfer_share": svc_tx / t_svc,
        "offered_load": a.service_rate * t_svc,
        "scv": a.service_scv,
        "mmpp_peak_factor": a.service_peak,
        "mmpp_high_fraction": a.service_high_fraction,
        "mmpp_duration_x_rate": a.service_high_duration * a.service_rate,
        "tput_prior": tput_prior,
        "respt_prior": respt_prior,
        "p95_prior": p95_prior,
        "latency_prior_over_sla": svc_latency * inv_sla,
        "max_host_load": max_host_load,
        "tput_prior_two_moment": _service_survival(loss_qna[dev], svc, num_svc),
        "tput_prior_timing": _service_survival(host_loss_timing, svc, num_svc),
    }
    link_cols = {
        "load": link_load,
        "wait_ratio": link_wait_ratio,
        "delay_share": delay_share,
        "num_transfers": link_count,
    }
    cols = {SERVICE: svc_cols, FRAGMENT: frag_cols, DEVICE: dev_cols, LINK: link_cols}
    sizes = {SERVICE: num_svc, FRAGMENT: stime.shape[0], DEVICE: num_dev, LINK: num_link}
    prior_cols = {
        SERVICE: {"tput_ratio": tput_prior, "respt_ratio": respt_prior, "p95_ratio": p95_prior},
        DEVICE: {"utilization": util_prior, "drop_prob": loss_thin},
    }
    x = {nt: _columns(cols[nt], FEATURES[nt], sizes[nt]) for nt in FEATURES}
    prior = {nt: _columns(prior_cols[nt], PRIORS[nt], sizes[nt]) for nt in PRIORS}
    return GraphFeatures(x=x, prior=prior, service_time_scale=t_svc)
