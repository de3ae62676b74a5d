r"""An analytic predictor: per-station M/G/1/K decomposition with loss-thinned flows.

:class:`AnalyticSurrogate` has the predictor interface of the learned surrogate
(``predict(scenarios) -> DataFrame``) but no parameters: it decomposes the network of a
:class:`~datagen.world.Scenario` into independent stations and solves each one exactly.

**Paths.** Each branch of each service is a path of *visits* (the simulator's convention,
``datagen.sim.compiled``): before fragment ``i``, if the previous device (the previous
fragment's, or ``service.source`` for the first) differs and a link joins the two, the path
visits the link for ``bytes / bandwidth`` seconds (skipped when no bytes are sent) and waits
``link.delay``; then it visits the fragment's device for ``macs / effective_speed`` seconds.
The paths come from the one scenario walker, :func:`datagen.walk.walk` (or its array
form for :meth:`AnalyticSurrogate.loss_ratios_arrays`); the station
formulas from :mod:`chainnet.queueing`.

**Flows (fixed point).** A visit's arrival rate is the service's rate thinned by the losses
of the devices earlier on the same path,

.. math::
    \lambda_v = \lambda_c \prod_{u \prec v} (1 - L_{d(u)}),

and a device's arrival rate is the sum over its visits, :math:`\Lambda_d=\sum_{v\to d}
\lambda_v`. Since the losses depend on the flows, the pair is iterated to a fixed point:
plain substitution (exact after ``depth`` steps on feed-forward paths) with a per-device step
that is halved whenever the device's update changes sign (flows that revisit a device make
the plain map oscillate), and each scenario leaves the iteration once its own losses moved
less than ``tol``.

**Runs.** Consecutive visits of a path to one device (no transfer between them) form a
*run*: the request re-joins the queue as it leaves it, so only the run's first visit can be
dropped and the queue sees one job per run, of the run's total time and a processor-sharing-like
SCV (:mod:`chainnet.queueing.reentry`). The product above and the survival below skip the
continuations; every visit of a run still waits (Little's law over the accepted visits).

**Devices.** The service time at device ``d`` is the mixture of its visits' times, weighted by
:math:`\lambda_v/\Lambda_d`; each visit's time is gamma with the visit's mean and the
service's SCV (deterministic at SCV 0, as in the simulator). One-server devices are solved by
the exact M/G/1/K embedded chain (:func:`chainnet.queueing.mg1k_exact`, here through its
stable level-crossing recursion, compiled with numba) with the mixture's arrival
probabilities

.. math::
    a_k = \sum_{v\to d} \frac{\lambda_v}{\Lambda_d}\,
          \mathrm{NB}\!\left(k;\ \frac{1}{s^2_v},\ \frac{1}{1 + \Lambda_d m_v s^2_v}\right),

which is exact for Poisson input, whatever the mixture (chosen over MacGregor Smith's closed
form, which is off by up to 17 % at high SCV, and because the chain also gives the mean
number present). Devices with ``c > 1`` servers use an M/M/c/K correction: the M/M/c/K loss
and queue length, each multiplied by the ratio of the M/G/1/K to the M/M/1/K value for one
server ``c`` times faster with the same ``K`` (both ratios are 1 for exponential service, so
M/M/c/K is exact; for ``K = c`` the Erlang loss is used as is, exact by insensitivity).
Loss is by PASTA the same for every visit of a device; the mean wait of an accepted job is
:math:`W_d = N_d / X_d - E[S_d]` (Little's law).

**Links** are M/G/1 stations with unlimited room and deterministic transfer times
(Pollaczek-Khinchine): :math:`W = \Lambda E[S^2] / (2 (1 - \rho))`, infinite when
:math:`\rho \ge 1` (the steady-state answer: a finite simulation reports a horizon-dependent
large latency instead); they lose nothing, and their output is not throttled.

**Batches.** The branches of a semantic split whose first fragment runs on the same device
reach it at the same instant: a *batch* with partial admission, and the request survives
only if the whole batch fits. Such a device is solved as M\ :sup:`X`/G/1/K
(:mod:`chainnet.queueing.bulk`): the ``i``-th member of a batch is dropped with
:math:`P(n > K - i)` under the time-average law a batch finds (PASTA), the request with
:math:`P(n > K - B)`. Treating the branches as independent arrivals lost 0.25% of the
requests where the simulation loses 22% (five branches, K = 6, load 0.3), and 97% where it
loses 83% (three times the capacity); on ``placer_test`` the analytic loss MAE of the services
with such batches fell from 0.081 to 0.020. The waits at such a device are the smaller of two
estimates: what an admitted batch (or single job) finds, :math:`E[n \mid n \le K - B]`
jobs of the device's mean time (the one in service counting its mean residual), and the
single-arrival Little's-law wait scaled by the same conditional mean. The first is right for
alike jobs; the second where a rare long job fills the queue with short ones, so that the
short jobs that get in find it without the long one (the mixture's mean time would charge
them for it); both overestimate, one or the other. A batch member also waits for the members
ahead of it (branch order).

**Services.** A path's latency is the sum over its visits of wait + mean service + delay, its
survival the product of :math:`1-L` over its device visits (a batch counted once). A request
of a semantic split survives if all branches survive (branches are otherwise treated as
independent: ``tput_ratio`` = product of the branch survivals); its mean latency is
approximated by the largest branch mean (a lower bound of the expected maximum), and at
least, for every device, the device's wait plus the summed service times of the request's
branches placed there (they arrive together and are served one after the other). Latencies
are those of accepted requests, ignoring that survivors saw slightly shorter queues.

**p95.** A path's latency is approximated by a gamma law with the path's mean and the sum of
the visits' variances, where a visit's variance is :math:`m_v^2 s_v^2 + \mathrm{Var}[W]`. At a
device, a job that finds ``n`` jobs waits about ``n`` service times, so with the law of the
number found by an accepted arrival (the chain's :math:`\pi`)
:math:`\mathrm{Var}[W] \approx W^2\,(\mathrm{Var}[n] + E[n]\,s_d^2)/E[n]^2` (exact for
M/M/1, and it captures the nearly constant wait of a saturated finite queue); at a link, the
M/G/1 wait is an atom at 0 plus an exponential tail, :math:`\mathrm{Var}[W] = W^2(2-\rho)/\rho`.
A fork-join takes the largest of its branches' p95 (the comonotone bound: the branches of one
request start together and queue behind the same earlier requests, so they are strongly
correlated; the independent-branch level :math:`0.95^{1/B}` over-predicted the p95 of the
semantic splits of ``placer_test`` by 114% on average, this rule by 13%). For a single M/M/1
station with ample room this is the exact exponential p95.

``respt_ratio`` is the no-queue latency (the simulator's nominal: the largest over branches of
the summed mean service, transfer and delay times) divided by the predicted mean latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import pandas as pd
from scipy.special import gammaincinv

from chainnet.analytic_paths import (
    Compiled,
    compile_arrays,
    compile_scenarios,
    segment_starts,
    subset,
)
from chainnet.predictor import PREDICT_COLUMNS
from chainnet.queueing import (
    arrival_pmf_matrix,
    bulk_arrival_pmf_matrix,
    mg1_wait,
    mg1k_chains,
    mgck_correction,
    mxg1k_chains,
)
from chainnet.queueing.batched import _arrival_pmf_kernel, _chains_kernel, mgck_one
from chainnet.structure import GraphStructure, ScenarioArrays
from datagen.world import Scenario

__all__ = ["AnalyticSurrogate", "PREDICT_COLUMNS", "DEVICE_COLUMNS"]

DEVICE_COLUMNS: tuple[str, ...] = (
    "scenario",
    "device",
    "arrival_rate",
    "throughput",
    "utilization",
    "mean_present",
    "loss_ratio",
    "response_time",
)

_MAX_LOSS = 1.0 - 1e-15


class AnalyticSurrogate:
    """Analytic predictor: M/G/1/K decomposition with loss-thinned flows (see module doc).

    Args:
        max_iter: Maximum fixed-point iterations over the flows (default: ``200``).
        tol: Convergence tolerance on the largest change of a device loss (default: ``1e-10``).
        quantile: Latency quantile reported as ``latency_p95`` (default: ``0.95``).

    Example:
        >>> preds = AnalyticSurrogate().predict([scenario])  # doctest: +SKIP
    """

    def __init__(self, max_iter: int = 200, tol: float = 1e-10, quantile: float = 0.95) -> None:
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        if not tol > 0:
            raise ValueError(f"tol must be > 0, got {tol}")
        if not 0 < quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {quantile}")
        self.max_iter = max_iter
        self.tol = tol
        self.quantile = quantile

    def __repr__(self) -> str:
        return (
            f"AnalyticSurrogate(max_iter={self.max_iter}, tol={self.tol}, quantile={self.quantile})"
        )

    # -- public API ----------------------------------------------------------------------------

    def predict(self, scenarios: Sequence[Scenario] | Scenario) -> pd.DataFrame:
        """Predict per-service throughput, loss and latency.

        Args:
            scenarios: The scenarios (a single :class:`~datagen.world.Scenario` is accepted).

        Returns:
            One row per (scenario index, service) with the columns :data:`PREDICT_COLUMNS`:
            ``throughput`` (requests/s), ``loss_ratio``, ``latency_mean`` and ``latency_p95``
            (s), ``tput_ratio`` = throughput / arrival rate, ``respt_ratio`` = no-queue latency
            / mean latency.

        Raises:
            ValueError: If an element is not a Scenario.
        """
        return pd.DataFrame(self._run(scenarios)[0], columns=list(PREDICT_COLUMNS))

    def predict_arrays(self, arrays: ScenarioArrays,
                       service_names: Sequence[str]) -> pd.DataFrame:
        """:meth:`predict` of scenarios given as flat arrays (no Scenario objects).

        The entry point of placement searches driven by this predictor (as
        :meth:`chainnet.Surrogate.predict_arrays` is for the learned one): the arrays are
        flattened by :func:`chainnet.analytic_paths.compile_arrays`, which gives the
        :func:`~chainnet.analytic_paths.compile_scenarios` arrays bit for bit, so the table
        equals :meth:`predict` on the equivalent scenarios.

        Args:
            arrays: Flat arrays of ``arrays.num_graphs`` scenarios
                (:func:`chainnet.builder.scenarios_to_arrays`,
                :func:`chainnet.builder.tile_arrays`).
            service_names: Name of each service row of ``arrays`` (length ``S``).

        Returns:
            The table of :meth:`predict`: one row per (scenario, service).

        Raises:
            ValueError: If ``arrays`` is not a :class:`~chainnet.structure.ScenarioArrays`
                or ``service_names`` does not name each of its services.
        """
        if not isinstance(arrays, ScenarioArrays):
            raise ValueError(
                f"arrays must be chainnet.structure.ScenarioArrays, got "
                f"{type(arrays).__name__}; use predict for Scenario objects"
            )
        if len(service_names) != arrays.service_rate.shape[0]:
            raise ValueError(
                f"service_names must name each of the {arrays.service_rate.shape[0]} services "
                f"of arrays, got {len(service_names)} names"
            )
        if arrays.service_rate.shape[0] == 0:
            return pd.DataFrame({c: [] for c in PREDICT_COLUMNS}, columns=list(PREDICT_COLUMNS))
        cs = compile_arrays(arrays, service_names=list(service_names))
        return pd.DataFrame(self._solve(cs)[0], columns=list(PREDICT_COLUMNS))

    def loss_ratios(self, scenarios: Sequence[Scenario] | Scenario) -> np.ndarray:
        """The ``loss_ratio`` column of :meth:`predict` alone, as a float64 array.

        Skips the latencies and the table (about half the time of :meth:`predict` for one
        scenario); :meth:`loss_ratios_arrays` does the same from flat arrays (what
        :class:`chainnet.Surrogate` uses for its ``uncertainty``). Without batch arrivals
        the last evaluation of the device losses comes from the compiled fixed point rather
        than from numpy, so the two agree to about 1e-15, not bit for bit.

        Args:
            scenarios: The scenarios (a single :class:`~datagen.world.Scenario` is accepted).

        Returns:
            One loss ratio per (scenario, service), in the row order of :meth:`predict`.
        """
        return np.asarray(self._run(scenarios, loss_only=True)[0]["loss_ratio"], np.float64)

    def loss_ratios_arrays(self, arrays: ScenarioArrays,
                           structure: GraphStructure | None = None) -> np.ndarray:
        """:meth:`loss_ratios` of scenarios given as flat arrays (no Scenario objects).

        The same numbers as :meth:`loss_ratios` on the equivalent scenarios (the arrays are
        flattened by :func:`chainnet.analytic_paths.compile_arrays`, which gives the
        :func:`~chainnet.analytic_paths.compile_scenarios` arrays bit for bit).

        Args:
            arrays: Flat arrays of ``arrays.num_graphs`` scenarios
                (:func:`chainnet.builder.scenarios_to_arrays`,
                :func:`chainnet.builder.tile_arrays`).
            structure: Their :func:`chainnet.structure.compute_structure`, when the caller
                has it already (default: ``None`` = computed here).

        Returns:
            One loss ratio per service row of ``arrays``, float64 ``[S]``.

        Raises:
            ValueError: If ``arrays`` is not a :class:`~chainnet.structure.ScenarioArrays`.
        """
        if not isinstance(arrays, ScenarioArrays):
            raise ValueError(
                f"arrays must be chainnet.structure.ScenarioArrays, got "
                f"{type(arrays).__name__}; use loss_ratios for Scenario objects"
            )
        if arrays.service_rate.shape[0] == 0:
            return np.zeros(0)
        cs = compile_arrays(arrays, structure)
        return np.asarray(self._solve(cs, loss_only=True)[0]["loss_ratio"], np.float64)

    def predict_devices(self, scenarios: Sequence[Scenario] | Scenario) -> pd.DataFrame:
        """Predict per-device load, utilisation and loss.

        Args:
            scenarios: The scenarios (a single :class:`~datagen.world.Scenario` is accepted).

        Returns:
            One row per (scenario index, device) with the columns :data:`DEVICE_COLUMNS`:
            ``arrival_rate`` and ``throughput`` (visits/s, thinned by upstream loss),
            ``utilization`` (fraction of busy servers), ``mean_present`` (jobs, in service
            included), ``loss_ratio`` (drop probability of an arriving visit) and
            ``response_time`` (s, mean sojourn of an accepted visit).
        """
        return pd.DataFrame(self._run(scenarios)[1], columns=list(DEVICE_COLUMNS))

    # -- internals -----------------------------------------------------------------------------

    def _run(
        self, scenarios: Sequence[Scenario] | Scenario, loss_only: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if isinstance(scenarios, Scenario):
            scenarios = [scenarios]
        scenarios = list(scenarios)
        if not scenarios:
            return {c: [] for c in PREDICT_COLUMNS}, {c: [] for c in DEVICE_COLUMNS}
        return self._solve(compile_scenarios(scenarios), loss_only)

    def _solve(
        self, cs: Compiled, loss_only: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Solve the compiled stations: the service and device tables of :meth:`_run`."""
        n_paths = cs.path_svc.size
        dv = cs.v_is_dev
        seg_start = segment_starts(cs.v_path)
        loss, at_flows = self._fixed_point(cs, evaluate=loss_only)
        if at_flows is None:
            flow = self._flows(cs, loss, seg_start)
            st = self._devices(cs, flow)
            loss = st["loss"]
        else:  # the device losses at the fixed point's flows, from the compiled kernel
            loss = at_flows
        # a request survives its batch iff the batch's last member gets in: the other members
        # add nothing to the survival (their own flows are thinned in _flows)
        dst = np.where(dv, cs.v_station, 0)
        counted = dv & ~cs.v_cont & (cs.v_bidx == cs.v_bsize)
        v_logs = np.where(
            counted, np.log1p(-np.minimum(loss[dst, cs.v_bidx - 1], _MAX_LOSS)), 0.0
        )
        p_logs = np.bincount(cs.v_path, weights=v_logs, minlength=n_paths)
        n_svc = cs.svc_rate.size
        surv = np.exp(np.bincount(cs.path_svc, weights=p_logs, minlength=n_svc))
        if loss_only:
            return {"loss_ratio": 1.0 - surv}, {}

        # links: M/G/1 with unlimited room (Pollaczek-Khinchine), deterministic transfers
        lv = ~dv
        l_lam = np.bincount(cs.v_station[lv], weights=flow[lv], minlength=cs.n_links)
        l_s1 = np.bincount(cs.v_station[lv], weights=flow[lv] * cs.v_mean[lv], minlength=cs.n_links)
        l_s2 = np.bincount(
            cs.v_station[lv], weights=flow[lv] * cs.v_mean[lv] ** 2, minlength=cs.n_links
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            l_rho = l_s1
            l_wait = np.where(l_rho < 1.0, mg1_wait(l_s2, l_rho), np.inf)
            l_wait = np.where(l_lam > 0, l_wait, 0.0)

        # per-visit waits and variances; a batch's members wait for what the batch found,
        # then for the members ahead of it (chainnet.queueing.bulk)
        wait = np.where(dv, st["wait"][dst], 0.0)
        w_var = np.where(dv, st["wait_var"][dst], 0.0)
        batch = dv & (cs.v_bsize > 1)
        if np.any(batch):
            found = st["batch_wait"][dst[batch], cs.v_bsize[batch] - 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(wait[batch] > 0, found / np.where(wait[batch] > 0,
                                                                   wait[batch], 1.0), 0.0)
            wait[batch] = found
            w_var[batch] *= scale**2
        wait_found = wait.copy()  # without the members ahead: the fork-join floor adds them
        if np.any(batch):
            wait[batch] += cs.v_ahead[batch] / cs.dev_c[dst[batch]]
            w_var[batch] += cs.v_ahead_var[batch] / cs.dev_c[dst[batch]] ** 2
        if cs.n_links:
            lst = np.where(dv, 0, cs.v_station)
            wait = np.where(dv, wait, l_wait[lst])
            # M/G/1 wait: an atom at 0 plus an exponential tail, Var = W^2 (2 - rho) / rho
            with np.errstate(divide="ignore", invalid="ignore"):
                u = np.clip(l_rho[lst], 1e-12, 1.0)
                l_var = np.where(wait > 0, wait**2 * (2.0 - u) / u, 0.0)
            w_var = np.where(dv, w_var, l_var)
        v_lat = wait + cs.v_mean + cs.v_delay
        v_var = cs.v_mean**2 * cs.v_scv + w_var

        p_lat = np.bincount(cs.v_path, weights=v_lat, minlength=n_paths)
        p_var = np.bincount(cs.v_path, weights=v_var, minlength=n_paths)
        # inf weights make bincount produce nan when mixed; recompute those sums robustly
        inf_path = np.zeros(n_paths, dtype=bool)
        np.logical_or.at(inf_path, cs.v_path, ~np.isfinite(v_lat))
        p_lat[inf_path] = np.inf
        p_var[inf_path] = np.inf

        lat = np.full(n_svc, -np.inf)
        np.maximum.at(lat, cs.path_svc, p_lat)
        lat = np.maximum(lat, self._fork_serial(cs, dv, wait_found, n_svc,
                                                l_wait if cs.n_links else None))
        nominal = np.zeros(n_svc)
        np.maximum.at(nominal, cs.path_svc, cs.path_nominal)
        level = np.full(cs.path_svc.size, self.quantile)  # comonotone branches (module doc)
        p_q = _gamma_quantile(level, p_lat, p_var)
        q = np.full(n_svc, -np.inf)
        np.maximum.at(q, cs.path_svc, p_q)
        q = np.maximum(q, lat)

        with np.errstate(divide="ignore", invalid="ignore"):
            respt = np.where(lat > 0, nominal / lat, 1.0)
        services = {
            "scenario": cs.svc_scn,
            "service": cs.svc_name,
            "throughput": cs.svc_rate * surv,
            "loss_ratio": 1.0 - surv,
            "latency_mean": lat,
            "latency_p95": q,
            "tput_ratio": surv,
            "respt_ratio": np.clip(respt, 0.0, 1.0),
        }
        devices = {
            "scenario": cs.dev_scn,
            "device": cs.dev_name,
            "arrival_rate": st["lam"],
            "throughput": st["X"],
            "utilization": st["util"],
            "mean_present": st["N"],
            "loss_ratio": st["drop"],
            "response_time": st["wait"] + st["mean"],
        }
        return services, devices

    @staticmethod
    def _fork_serial(cs: Compiled, dv: np.ndarray, v_wait: np.ndarray, n_svc: int,
                     link_wait: np.ndarray | None = None) -> np.ndarray:
        r"""Per service, the latency floor of its own branches queueing at one station.

        The branches of a fork-join request leave at once; those placed on the same
        one-server device are served one after the other, so the request cannot complete
        before :math:`W_d + \min t^{in} + \sum_{v \to d} m_v` (``v_wait``: the wait of each
        visit, a batch's what the batch finds; the earliest input transfer,
        then its visits' mean service times at ``d``). Their inputs crossing the same link
        are sent one after the other too: :math:`W_l + \delta_l + \sum_{v \to l} m_v +
        \min m_{next}` (the transfers, then at least the shortest computation that follows).
        """
        floor = np.zeros(n_svc)
        v_svc = cs.path_svc[cs.v_path]
        branched = cs.svc_branches[v_svc] > 1
        forked = dv & branched
        if not forked.any():
            return floor
        n_dev = cs.dev_K.size
        # the transfer into each device visit (the link visit just before it on its path)
        prev_link = np.zeros(dv.size, dtype=bool)
        prev_link[1:] = ~dv[:-1] & (cs.v_path[:-1] == cs.v_path[1:])
        lead = np.zeros(dv.size)
        lead[1:] = np.where(prev_link[1:], cs.v_mean[:-1] + cs.v_delay[:-1], 0.0)
        key = v_svc[forked] * n_dev + cs.v_station[forked]
        uniq, inv = np.unique(key, return_inverse=True)
        serial = np.bincount(inv, weights=cs.v_mean[forked])
        first_in = np.full(uniq.size, np.inf)
        np.minimum.at(first_in, inv, lead[forked])
        found = np.zeros(uniq.size)  # the device's wait (a batch's: what it found)
        np.maximum.at(found, inv, v_wait[forked])
        dev = uniq % n_dev
        # servers share the burst: c servers finish it about c times sooner
        np.maximum.at(floor, uniq // n_dev, found + first_in + serial / cs.dev_c[dev])
        if link_wait is None or not cs.n_links:
            return floor
        # a link visit is always followed by the device visit it feeds
        sent_v = ~dv & branched & (cs.v_mean > 0)
        if not sent_v.any():
            return floor
        idx = np.flatnonzero(sent_v)
        key = v_svc[idx] * cs.n_links + cs.v_station[idx]
        uniq, inv = np.unique(key, return_inverse=True)
        sent = np.bincount(inv, weights=cs.v_mean[idx])
        delay = np.zeros(uniq.size)
        np.maximum.at(delay, inv, cs.v_delay[idx])
        nxt = idx + 1
        after = np.full(uniq.size, np.inf)
        np.minimum.at(after, inv, cs.v_mean[nxt] / cs.dev_c[cs.v_station[nxt]])
        wait = np.nan_to_num(link_wait[uniq % cs.n_links], nan=np.inf)
        np.maximum.at(floor, uniq // cs.n_links, wait + delay + sent + after)
        return floor

    def _fixed_point(self, cs: Compiled, evaluate: bool = False
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        """Iterate device losses and visit flows to a fixed point; return the device losses.

        Per-device relaxation: a device's step is halved when its update changes sign (an
        oscillation, typical of flows that revisit a device) and grows back otherwise. A
        scenario leaves the iteration as soon as its own losses have converged, so a batch
        costs about the sum, not the maximum, of its scenarios' iteration counts. Without
        batch arrivals (``b_max == 1``) the iteration runs in one compiled kernel
        (:func:`_single_fixed_point`: the same steps; sums along each path rather than across
        the batch, so losses agree to about 1e-15).

        Returns:
            The relaxed losses ``(devices, b_max)``, and with ``evaluate`` on the compiled
            kernel the losses evaluated once more at their flows (``(devices, 1)``, what
            :meth:`_devices` gives there), else ``None``.
        """
        n_dev = cs.dev_K.size
        n_scn = int(cs.dev_scn.max()) + 1 if n_dev else 0
        if cs.b_max == 1 and n_dev:  # no batch arrivals: the whole iteration compiled
            v_scn = np.where(cs.v_is_dev, cs.dev_scn[np.where(cs.v_is_dev, cs.v_station, 0)],
                             -1)
            loss, at_flows = _single_fixed_point(
                cs.v_is_dev & ~cs.v_cont, cs.v_station, cs.v_path, v_scn, cs.path_rate,
                cs.v_run_mean, cs.v_run_scv, cs.dev_c.astype(np.float64),
                cs.dev_K.astype(np.int64), cs.dev_scn, n_scn, self.max_iter, self.tol,
                evaluate,
            )
            return loss[:, None], (at_flows[:, None] if evaluate else None)
        return self._fixed_point_numpy(cs), None

    def _fixed_point_numpy(self, cs: Compiled) -> np.ndarray:
        """:meth:`_fixed_point` in numpy, batch arrivals included (any ``b_max``)."""
        n_dev = cs.dev_K.size
        n_scn = int(cs.dev_scn.max()) + 1 if n_dev else 0
        shape = (n_dev, cs.b_max)
        loss = np.zeros(shape)
        omega = np.ones(shape)
        prev = np.zeros(shape)
        sub, ids = cs, np.arange(n_dev)  # the active sub-problem and its global device ids
        seg = segment_starts(sub.v_path)
        for _ in range(self.max_iter):
            if ids.size == 0:
                break
            st = self._devices(sub, self._flows(sub, loss[ids], seg), losses_only=True)
            step = np.minimum(st["loss"], _MAX_LOSS) - loss[ids]
            flip = step * prev[ids] < 0
            w = omega[ids]
            omega[ids] = np.where(flip, np.maximum(w * 0.5, 0.05), np.minimum(w * 1.5, 1.0))
            worst = np.zeros(n_scn)
            np.maximum.at(worst, sub.dev_scn, np.abs(step).max(axis=1))
            done = worst < self.tol
            moving = ~done[sub.dev_scn]
            loss[ids[moving]] += omega[ids[moving]] * step[moving]
            prev[ids] = step
            if np.any(done[sub.dev_scn]):
                sub, keep = subset(sub, ~done)
                ids = ids[keep]
                seg = segment_starts(sub.v_path)
        return loss

    @staticmethod
    def _flows(cs: Compiled, loss: np.ndarray, seg_start: np.ndarray) -> np.ndarray:
        """Arrival rate of every visit, thinned by the upstream device losses on its path.

        ``loss`` is the ``(devices, b_max)`` matrix of :meth:`_devices`: a run's first visit
        at place ``i`` of its batch is dropped with ``loss[d, i - 1]``.
        """
        dv = cs.v_is_dev & ~cs.v_cont
        x = np.where(dv, np.log1p(-loss[np.where(dv, cs.v_station, 0), cs.v_bidx - 1]), 0.0)
        cum = np.cumsum(x)
        before = cum - x
        upstream = before - before[seg_start]
        return cs.path_rate[cs.v_path] * np.exp(upstream)

    @staticmethod
    def _devices(cs: Compiled, flow: np.ndarray,
                 losses_only: bool = False) -> dict[str, np.ndarray]:
        """Solve every device station for the given visit flows.

        With ``losses_only`` (the fixed point's iterations) only ``loss`` is returned.

        The station's queue sees *runs* (:mod:`chainnet.queueing.reentry`): only the first
        visit of a run arrives from outside, with the run's total time and queueing SCV; its
        continuations re-join at once and are never dropped. Waits come from Little's law
        over the accepted visits, so every visit of a run waits (a re-entry joins the back of
        the queue).

        A device that receives batches (:mod:`chainnet.queueing.bulk`) is solved as
        M^X/G/1/K for its losses: ``loss[d, i - 1]`` is the probability that the ``i``-th job
        of a batch finds no room (column 0: a single arrival's loss). Its waits are the
        smaller of two estimates (module docstring, *Batches*), in ``wait`` (a single
        arrival) and ``batch_wait[d, B - 1]`` (a batch of ``B``, before its members ahead).
        """
        n_dev = cs.dev_K.size
        dv = cs.v_is_dev
        entry = dv & ~cs.v_cont
        ve = cs.v_station[entry]
        fe = flow[entry]
        me = cs.v_run_mean[entry]
        se = cs.v_run_scv[entry]
        be = cs.v_bsize[entry]
        lam_e = np.bincount(ve, weights=fe, minlength=n_dev)
        s1 = np.bincount(ve, weights=fe * me, minlength=n_dev)
        with np.errstate(divide="ignore", invalid="ignore"):
            run_mean = np.where(lam_e > 0, s1 / np.where(lam_e > 0, lam_e, 1.0), 0.0)
        rho = s1  # offered work per second = lam * E[S]
        c = cs.dev_c.astype(float)
        # a_k of the mixture at a server c times faster (c = 1: the device itself)
        Kmax = int(cs.dev_K.max())
        n_a = max(Kmax - 1, 1)
        pmf = arrival_pmf_matrix(lam_e[ve], me / c[ve], se, n_a)
        a = _mix_pmf(ve, fe, lam_e, pmf, n_dev)
        rho1 = rho / c
        loss, N, seen_mean, seen_var = mg1k_chains(a, rho1, cs.dev_K)
        multi = cs.dev_c > 1
        if np.any(multi):
            loss[multi], N[multi] = mgck_correction(
                lam_e[multi], run_mean[multi], c[multi], cs.dev_K[multi], loss[multi], N[multi]
            )
        # visits: a first visit is kept with 1 - loss, a continuation always
        vd = cs.v_station[dv]
        fl = flow[dv]
        m = cs.v_mean[dv]
        if losses_only:
            if cs.b_max == 1:
                return {"loss": loss[:, None]}
            wait = wait_var = np.zeros(n_dev)
        else:
            kept = np.where(cs.v_cont[dv], fl, fl * (1.0 - loss[vd]))
            X = np.bincount(vd, weights=kept, minlength=n_dev)
            x1 = np.bincount(vd, weights=kept * m, minlength=n_dev)
            x2 = np.bincount(vd, weights=kept * m**2 * (1.0 + cs.v_scv[dv]), minlength=n_dev)
            with np.errstate(divide="ignore", invalid="ignore"):
                wait = np.where(X > 0, N / np.where(X > 0, X, 1.0)
                                - x1 / np.where(X > 0, X, 1.0), 0.0)
            wait = np.maximum(wait, 0.0)
            # wait variance: a job finding n jobs waits ~ n service times (exact for M/M/1),
            # so Var[W] ~ (E[S]/c)^2 (Var[n] + E[n] s^2), rescaled to the Little's-law wait
            with np.errstate(divide="ignore", invalid="ignore"):
                scv_d = np.where(x1 > 0, x2 * X / np.where(x1 > 0, x1, 1.0) ** 2 - 1.0, 0.0)
                ratio = (seen_var + seen_mean * np.maximum(scv_d, 0.0)) / seen_mean**2
                wait_var = np.where((seen_mean > 0) & (wait > 0), wait**2 * ratio, 0.0)

        place_loss = np.repeat(loss[:, None], cs.b_max, axis=1)
        batch_wait = np.repeat(wait[:, None], cs.b_max, axis=1)
        if cs.b_max > 1:
            # batch rates by size: a batch of b jobs counts once (b members, flow / b each)
            rates = np.bincount(ve * cs.b_max + be - 1, weights=fe / be,
                                minlength=n_dev * cs.b_max).reshape(n_dev, cs.b_max)
            bulk = rates[:, 1:].sum(axis=1) > 0
            if np.any(bulk):
                on = bulk[ve]
                pmf[on] = bulk_arrival_pmf_matrix(rates[ve[on]], me[on] / c[ve[on]], se[on], n_a)
                loss, N, place_loss, batch_wait, wait = _bulk_devices(
                    bulk, rates, _mix_pmf(ve, fe, lam_e, pmf, n_dev), rho1, cs.dev_K, c,
                    (lam_e, s1, np.bincount(ve, weights=fe * me**2 * (1.0 + se),
                                            minlength=n_dev)),
                    (loss, N, place_loss, batch_wait, wait), multi, run_mean)
            if losses_only:
                return {"loss": place_loss}
            if np.any(bulk):
                kept = np.where(cs.v_cont[dv], fl,
                                fl * (1.0 - place_loss[vd, cs.v_bidx[dv] - 1]))
                X = np.bincount(vd, weights=kept, minlength=n_dev)
                x1 = np.bincount(vd, weights=kept * m, minlength=n_dev)
        lam = np.bincount(vd, weights=fl, minlength=n_dev)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(X > 0, x1 / np.where(X > 0, X, 1.0), 0.0)
            drop = np.where(lam > 0, (lam - X) / np.where(lam > 0, lam, 1.0), 0.0)
        return {
            "lam": lam,
            "X": X,
            "mean": mean,
            "loss": place_loss,
            "drop": np.maximum(drop, 0.0),
            "N": N,
            "util": lam_e * (1.0 - loss) * run_mean / c,
            "wait": wait,
            "wait_var": wait_var,
            "batch_wait": batch_wait,
        }


def _mix_pmf(ve: np.ndarray, fe: np.ndarray, lam_e: np.ndarray, pmf: np.ndarray,
             n_dev: int) -> np.ndarray:
    """Per device, the arrival pmf of its job mixture (weights: each entry's share of jobs)."""
    w = np.where(lam_e[ve] > 0, fe / np.where(lam_e[ve] > 0, lam_e[ve], 1.0), 0.0)
    a = _mix_kernel(np.ascontiguousarray(ve, dtype=np.int64), w,
                    np.ascontiguousarray(pmf, dtype=np.float64), n_dev)
    a[lam_e == 0, 0] = 1.0
    return a


@numba.njit(cache=True)
def _mix_kernel(ve: np.ndarray, w: np.ndarray, pmf: np.ndarray,
                n_dev: int) -> np.ndarray:  # pragma: no cover - compiled
    """``a[d, k] = sum over entries v of device d of w[v] * pmf[v, k]``, in entry order."""
    n_a = pmf.shape[1]
    a = np.zeros((n_dev, n_a))
    for v in range(ve.size):
        d = ve[v]
        for k in range(n_a):
            a[d, k] += w[v] * pmf[v, k]
    return a


def _bulk_devices(
    bulk: np.ndarray, rates: np.ndarray, a: np.ndarray, rho1: np.ndarray, K: np.ndarray,
    c: np.ndarray, moments: tuple[np.ndarray, np.ndarray, np.ndarray],
    single: tuple[np.ndarray, ...], multi: np.ndarray, run_mean: np.ndarray,
) -> tuple[np.ndarray, ...]:
    r"""Losses and waits of the devices that receive batches (module docstring, *Batches*).

    Args:
        bulk: Devices with batch arrivals, bool ``(D,)``.
        rates: Batch arrival rates by size (batches/s), ``(D, b_max)``.
        a: The devices' job-arrival pmfs during a service, batches included, ``(D, n_a)``.
        rho1: Offered work per server (jobs/s x s / c), ``(D,)``.
        K: Capacities (jobs), ``(D,)``.
        c: Servers (float), ``(D,)``.
        moments: Per device, the job arrival rate (1/s), the offered work (s/s) and the
            offered second moment (s^2/s) of the job times.
        single: ``(loss, N, place_loss, batch_wait, wait)`` of the single-arrival solution,
            updated in place on the ``bulk`` rows and returned.
        multi: Devices with more than one server, bool ``(D,)``.
        run_mean: Mean job time per device (s), ``(D,)``.

    Returns:
        ``(loss, N, place_loss, batch_wait, wait)``.
    """
    loss, N, place_loss, batch_wait, wait = (x.copy() for x in single)
    b_max = rates.shape[1]
    x = rates[bulk] / rates[bulk].sum(axis=1, keepdims=True)
    K_b = K[bulk]
    job_loss, N[bulk], _, _, p = mxg1k_chains(a[bulk], x, rho1[bulk], K_b)
    if np.any(multi[bulk]):
        # M/M/c/K ratios as for single arrivals (mgck_correction), applied to every column
        m_b = multi[bulk]
        lam_e, s1, _ = moments
        idx = np.flatnonzero(bulk)[m_b]
        corr, N[idx] = mgck_correction(lam_e[idx], run_mean[idx], c[idx], K[idx],
                                       job_loss[m_b], N[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(job_loss[m_b] > 0, corr / np.where(job_loss[m_b] > 0,
                                                                 job_loss[m_b], 1.0), 1.0)
        job_loss[m_b] = corr
    else:
        factor = None
    loss[bulk] = job_loss
    # the i-th job of a batch fits iff the batch finds n <= K - i (PASTA)
    n_found = np.arange(p.shape[1])[None, :]
    found = np.zeros((K_b.size, b_max))
    for i in range(1, b_max + 1):
        fits = n_found <= (K_b - i)[:, None]
        admitted = np.where(fits, p, 0.0).sum(axis=1)
        place_loss[bulk, i - 1] = np.clip(1.0 - admitted, 0.0, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            found[:, i - 1] = np.where(admitted > 0, np.where(fits, p * n_found, 0.0).sum(
                axis=1) / np.where(admitted > 0, admitted, 1.0), 0.0)
    if factor is not None:
        rows = np.flatnonzero(multi[bulk])
        place_loss[np.flatnonzero(bulk)[rows]] = np.clip(
            place_loss[np.flatnonzero(bulk)[rows]] * factor[:, None], 0.0, 1.0)
    # estimate 1: what an admitted batch of B finds, times the mean job time, the job in
    # service counting its mean residual E[S^2] / 2E[S]
    _, s1, s2 = moments
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = np.where(s1 > 0, s2 / (2.0 * np.where(s1 > 0, s1, 1.0)), 0.0)[bulk]
        busy = np.minimum(found, 1.0)
        by_found = ((found - busy) * run_mean[bulk, None] + busy * resid[:, None]) / c[bulk, None]
        # estimate 2: the single-arrival Little's-law wait, scaled by what a batch finds
        scale = np.where(found[:, :1] > 0, found / np.where(found[:, :1] > 0, found[:, :1], 1.0),
                         1.0)
    by_little = wait[bulk, None] * scale
    batch_wait[bulk] = np.minimum(by_found, by_little)
    wait[bulk] = batch_wait[bulk, 0]
    return loss, N, place_loss, batch_wait, wait


def _gamma_quantile(level: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Quantile of a gamma law with the given mean and variance (a point mass if var = 0)."""
    out = mean.copy()
    ok = np.isfinite(mean) & np.isfinite(var) & (var > 0) & (mean > 0)
    if np.any(ok):
        shape = mean[ok] ** 2 / var[ok]
        scale = var[ok] / mean[ok]
        out[ok] = gammaincinv(shape, level[ok]) * scale  # = scipy.stats.gamma.ppf
    out[~np.isfinite(var) | ~np.isfinite(mean)] = np.inf
    return out


@numba.njit(cache=True)
def _evaluate_devices(loss: np.ndarray, active: np.ndarray, entry: np.ndarray,
                      v_station: np.ndarray, v_path: np.ndarray, v_scn: np.ndarray,
                      path_rate: np.ndarray, run_mean: np.ndarray, run_scv: np.ndarray,
                      c: np.ndarray, K: np.ndarray, dev_scn: np.ndarray, ve: np.ndarray,
                      idx: np.ndarray, n_a: int) -> np.ndarray:  # pragma: no cover - compiled
    """One step of :func:`_single_fixed_point`: the device losses at the flows of ``loss``.

    Every path's flow is thinned by the losses of its upstream device entries; each device
    of an ``active`` scenario is solved as M/G/1/K with the mixture of its entries' arrival
    pmfs (the M/M/c/K correction of :func:`chainnet.queueing.mgck_correction` for
    ``c > 1``); the other devices get 0.
    """
    n_dev = K.size
    V = v_path.size
    n_entry = ve.size
    fe = np.zeros(n_entry)
    row = np.zeros(n_dev, dtype=np.int64)
    ad = np.empty(n_dev, dtype=np.int64)
    ae = np.empty(n_entry, dtype=np.int64)
    lam_v = np.empty(n_entry)
    mean_v = np.empty(n_entry)
    scv_v = np.empty(n_entry)
    # flows: a visit's path rate thinned by the entries before it on its path
    j = 0
    acc = 0.0
    for v in range(V):
        if v == 0 or v_path[v] != v_path[v - 1]:
            acc = 0.0
        if entry[v]:
            if active[v_scn[v]]:
                fe[j] = path_rate[v_path[v]] * np.exp(acc)
            acc += np.log1p(-loss[v_station[v]])
            j += 1
    # the active devices and entries, in order: only they are solved again
    n_ad = 0
    for d in range(n_dev):
        if active[dev_scn[d]]:
            row[d] = n_ad
            ad[n_ad] = d
            n_ad += 1
    lam = np.zeros(n_dev)
    s1 = np.zeros(n_dev)
    n_ae = 0
    for j in range(n_entry):
        d = ve[j]
        if active[dev_scn[d]]:
            lam[d] += fe[j]
            s1[d] += fe[j] * run_mean[idx[j]]
            ae[n_ae] = j
            n_ae += 1
    for i in range(n_ae):
        j = ae[i]
        d = ve[j]
        lam_v[i] = lam[d]
        mean_v[i] = run_mean[idx[j]] / c[d]
        scv_v[i] = run_scv[idx[j]]
    pmf = _arrival_pmf_kernel(lam_v[:n_ae], mean_v[:n_ae], scv_v[:n_ae], n_a)
    rows = np.empty(n_ae, dtype=np.int64)
    w = np.zeros(n_ae)
    for i in range(n_ae):
        j = ae[i]
        d = ve[j]
        rows[i] = row[d]
        if lam[d] > 0:
            w[i] = fe[j] / lam[d]
    a = _mix_kernel(rows, w, pmf, n_ad)
    rho1 = np.empty(n_ad)
    k_sub = np.empty(n_ad, dtype=np.int64)
    for r in range(n_ad):
        d = ad[r]
        if lam[d] == 0:
            a[r, 0] = 1.0
        rho1[r] = s1[d] / c[d]
        k_sub[r] = K[d]
    solved, _, _, _ = _chains_kernel(a, rho1, k_sub)
    new = np.zeros(n_dev)
    for r in range(n_ad):
        d = ad[r]
        new[d] = solved[r]
        if c[d] > 1:  # the mean number does not matter here: its input is a placeholder
            run = s1[d] / lam[d] if lam[d] > 0 else 0.0
            new[d] = mgck_one(lam[d], run, c[d], K[d], solved[r], 0.0)[0]
    return new


@numba.njit(cache=True)
def _single_fixed_point(entry: np.ndarray, v_station: np.ndarray, v_path: np.ndarray,
                        v_scn: np.ndarray, path_rate: np.ndarray, run_mean: np.ndarray,
                        run_scv: np.ndarray, c: np.ndarray, K: np.ndarray, dev_scn: np.ndarray,
                        n_scn: int, max_iter: int, tol: float, evaluate: bool
                        ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """:meth:`AnalyticSurrogate._fixed_point` without batch arrivals.

    Returns the relaxed device losses and, with ``evaluate``, the losses evaluated once more
    at their flows (what :meth:`AnalyticSurrogate._solve` reads; else an empty array).
    Each step is :func:`_evaluate_devices`; converged scenarios stop moving.
    """
    n_dev = K.size
    loss = np.zeros(n_dev)
    omega = np.ones(n_dev)
    prev = np.zeros(n_dev)
    active = np.ones(n_scn, dtype=np.bool_)
    kmax = 1
    for d in range(n_dev):
        kmax = max(kmax, K[d])
    n_a = max(kmax - 1, 1)
    n_entry = 0
    for v in range(v_path.size):
        if entry[v]:
            n_entry += 1
    ve = np.empty(n_entry, dtype=np.int64)
    idx = np.empty(n_entry, dtype=np.int64)
    j = 0
    for v in range(v_path.size):
        if entry[v]:
            ve[j] = v_station[v]
            idx[j] = v
            j += 1
    for _ in range(max_iter):
        any_active = False
        for s in range(n_scn):
            any_active = any_active or active[s]
        if not any_active:
            break
        new = _evaluate_devices(loss, active, entry, v_station, v_path, v_scn, path_rate,
                                run_mean, run_scv, c, K, dev_scn, ve, idx, n_a)
        # relaxation, per device; a scenario stops once its largest step is below tol
        worst = np.zeros(n_scn)
        step = np.zeros(n_dev)
        for d in range(n_dev):
            s = dev_scn[d]
            if not active[s]:
                continue
            step[d] = min(new[d], _MAX_LOSS) - loss[d]
            if step[d] * prev[d] < 0:
                omega[d] = max(omega[d] * 0.5, 0.05)
            else:
                omega[d] = min(omega[d] * 1.5, 1.0)
            worst[s] = max(worst[s], abs(step[d]))
        for d in range(n_dev):
            s = dev_scn[d]
            if not active[s]:
                continue
            if worst[s] >= tol:
                loss[d] += omega[d] * step[d]
            prev[d] = step[d]
        for s in range(n_scn):
            if active[s] and worst[s] < tol:
                active[s] = False
    if not evaluate:
        return loss, np.zeros(0)
    active[:] = True
    final = _evaluate_devices(loss, active, entry, v_station, v_path, v_scn, path_rate,
                              run_mean, run_scv, c, K, dev_scn, ve, idx, n_a)
    return loss, final
