r"""The online split-decision loop: deployments arrive, a policy splits, a placer places.

This reproduces the SplitPlace setting (``shared/specs/splitplace.md``) on the project's
simulator. At every step ``t``:

1. deployments whose lifetime is over leave the cluster;
2. a new service deployment request arrives: a DNN profile (by default the three SplitPlace
   edge profiles from :mod:`datagen.zoo`), an arrival rate and a deadline
   :math:`SLA = u \cdot L^{ref}` with :math:`u \sim U(\text{sla\_factor\_range})` and
   :math:`L^{ref}` the profile's compute divided by the cluster's mean device speed;
3. both split types are built (:func:`datagen.splitting.make_service`) and placed next to the
   running services (by the placer), and their latency is predicted;
4. the policy sees the context (:func:`~placement.policies.build_context` for the learned
   policies: the normalised slack of each split and the cluster load; the SLA and the
   application for ``splitplace``) and chooses a split;
5. both deployments are simulated with the same seed (common random numbers), which gives the
   reward of the chosen split and the oracle's (the best split of this request);
6. the policy is updated, and the chosen deployment joins the running services.

The reward of a deployment is the mean over its requests (arrived after warm-up) of the
published per-request reward, a dropped request earning nothing:

.. math::
    r = \frac{1}{n}\sum_{i} \mathbb{1}[\text{served}_i]\Big(
        0.5\,\mathbb{1}[RT_i \le SLA] + 0.5 \cdot 10 \cdot \max(0, acc - 0.9)\Big)

and the regret of step ``t`` is :math:`\max_a r_t(a) - r_t(a_t) \ge 0`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from chainnet.queueing import mg1_wait
from datagen.validation import is_int
from datagen.walk import offered_load, walk_service
from datagen.world import Device, DNNProfile, Placement, Scenario, Service
from placement.policies import (
    ARMS,
    Reward,
    SplitPolicy,
    build_reward_context,
    load_features,
)

__all__ = [
    "COMPARED_POLICIES",
    "DEFAULT_EDGE_DEVICES",
    "DEFAULT_EDGE_PROFILES",
    "ONLINE_FAMILIES",
    "OnlineConfig",
    "OnlineExperiment",
    "PlacementFn",
    "compared_policy",
    "deployment_reward",
    "estimate_latency",
    "greedy_placement",
    "online_family",
    "regret_growth_exponent",
    "run_compared_policy",
    "summarize_log",
]

#: The SplitPlace edge applications (MNIST, FashionMNIST, CIFAR100 CNNs) in :mod:`datagen.zoo`.
DEFAULT_EDGE_PROFILES: tuple[str, ...] = (
    "splitplace_mnist",
    "splitplace_fashionmnist",
    "splitplace_cifar100",
)

#: Device kinds (:mod:`datagen.catalog`) of the default edge cluster: Raspberry-Pi class.
DEFAULT_EDGE_DEVICES: tuple[str, ...] = ("rpi4", "rpi4", "rpi3", "rpi3", "rpi3", "orangepi_zero")

#: A placement function: ``(devices, running, service) -> device of each fragment``, where
#: ``running`` lists the ``(Service, devices)`` pairs already deployed. Return ``None`` when
#: the service cannot be placed.
PlacementFn = Callable[
    [Sequence[Device], Sequence[tuple[Service, tuple[str, ...]]], Service],
    "tuple[str, ...] | None",
]


#: Named settings of the online loop used by the policy benchmark and the report: the model
#: family (SplitPlace's CNNs on a Raspberry-Pi cluster, or ImageNet zoo models on a Jetson /
#: Raspberry-Pi cluster) times the deadline tightness (``tight``: SLA factor 0.2-0.8 of the
#: reference latency, ``loose``: 1-3). Values: ``(device kinds, OnlineConfig fields)``.
ONLINE_FAMILIES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "splitplace_tight": (DEFAULT_EDGE_DEVICES, {"sla_factor_range": (0.2, 0.8)}),
    "splitplace_loose": (DEFAULT_EDGE_DEVICES, {"sla_factor_range": (1.0, 3.0)}),
    "zoo_tight": (
        ("jetson_nano", "jetson_nano", "rpi4", "rpi4", "rpi3"),
        {
            "profiles": ("mobilenet_v2", "resnet18", "resnet50"),
            "arrival_rate_range": (2.0, 20.0),
            "sla_factor_range": (0.2, 0.8),
        },
    ),
    "zoo_loose": (
        ("jetson_nano", "jetson_nano", "rpi4", "rpi4", "rpi3"),
        {
            "profiles": ("mobilenet_v2", "resnet18", "resnet50"),
            "arrival_rate_range": (2.0, 20.0),
            "sla_factor_range": (1.0, 3.0),
        },
    ),
}


def online_family(name: str, **overrides: Any) -> tuple[tuple[Device, ...], OnlineConfig]:
    """The cluster and config of a named setting of :data:`ONLINE_FAMILIES`.

    Args:
        name: A key of :data:`ONLINE_FAMILIES`.
        **overrides: Further :class:`OnlineConfig` fields (e.g. ``sim_requests=300``).

    Returns:
        ``(devices, config)`` for :class:`OnlineExperiment` (devices named ``d0, d1, ...``).

    Raises:
        ValueError: On an unknown name.
    """
    if name not in ONLINE_FAMILIES:
        raise ValueError(f"unknown online family {name!r}; choose one of {sorted(ONLINE_FAMILIES)}")
    from datagen.catalog import get_device

    kinds, fields = ONLINE_FAMILIES[name]
    devices = tuple(get_device(kind, f"d{i}") for i, kind in enumerate(kinds))
    return devices, OnlineConfig(**{**fields, **overrides}).validate()


class _Placer(Protocol):
    def place(self, request: Any) -> Any: ...  # pragma: no cover


# ------------------------------------------------------------------------------------------
# Placement, prediction and reward helpers
# ------------------------------------------------------------------------------------------


def _device_loads(
    devices: Sequence[Device], running: Sequence[tuple[Service, tuple[str, ...]]]
) -> tuple[dict[str, float], dict[str, float]]:
    """Offered utilisation and free memory (bytes) of each device."""
    free = {d.name: d.memory for d in devices}
    for svc, devs in running:
        for frag, dev in zip(svc.fragments, devs):
            if dev in free:
                free[dev] -= frag.weight_bytes
    return offered_load(devices, running), free


def greedy_placement(
    devices: Sequence[Device],
    running: Sequence[tuple[Service, tuple[str, ...]]],
    service: Service,
) -> tuple[str, ...] | None:
    r"""Place fragments one by one where they finish soonest under the current load.

    Fragment :math:`f` goes to the device with free memory that minimises its M/M/1-style
    sojourn estimate given the load already placed (running services and earlier fragments):

    .. math::
        d^* = \arg\min_d \frac{m_f / s_d}{\max(\epsilon, 1 - \rho_d - \lambda m_f / s_d)}

    with :math:`s_d` the device's effective speed times its servers (MAC/s). Ties go to the
    first device. A lightweight stand-in for :class:`placement.Placer`.

    Args:
        devices: The cluster.
        running: ``(Service, devices)`` pairs already deployed.
        service: The service to place.

    Returns:
        One device name per fragment, or ``None`` if some fragment fits on no device.
    """
    rho, free = _device_loads(devices, running)
    speed = {d.name: d.effective_speed * d.servers for d in devices}
    out: list[str] = []
    for frag in service.fragments:
        best, best_cost = None, math.inf
        for d in devices:
            if free[d.name] < frag.weight_bytes:
                continue
            m = frag.macs / speed[d.name]
            cost = m / max(1e-3, 1.0 - rho[d.name] - service.arrival_rate * m)
            if cost < best_cost:
                best, best_cost = d.name, cost
        if best is None:
            return None
        out.append(best)
        rho[best] += service.arrival_rate * frag.macs / speed[best]
        free[best] -= frag.weight_bytes
    return tuple(out)


def estimate_latency(scenario: Scenario, service: str) -> float:
    r"""Analytic mean latency of one service (s): M/G/1 waits per device, fork-join by max.

    Every device is treated as one M/G/1 FCFS queue fed by all fragments placed on it
    (Pollaczek-Khinchine with per-fragment second moments); the latency of a branch is the sum
    of its fragments' sojourn times plus link transfers (bytes / bandwidth + delay), and a
    semantic split takes the slowest branch:

    .. math::
        W_d = \frac{\sum_f \lambda_f (1 + c^2_f)\, m_f^2}{2 (1 - \rho_d)}, \qquad
        L = \max_b \sum_{f \in b} (W_{d(f)} + m_f)

    with :math:`m_f` the mean service time (s) and :math:`\rho_d = \sum_f \lambda_f m_f`.
    Capacity limits are ignored. Used to build contexts when no predictor is given.

    Args:
        scenario: The deployment.
        service: Name of the service whose latency to estimate.

    Returns:
        The estimate (s), ``inf`` if a device it uses is overloaded (:math:`\rho_d \ge 1`).
    """
    speed = {d.name: d.effective_speed * d.servers for d in scenario.devices}
    rho = dict.fromkeys(speed, 0.0)
    second = dict.fromkeys(speed, 0.0)
    for svc in scenario.services:
        for frag, dev in zip(svc.fragments, scenario.placement[svc.name]):
            m = frag.macs / speed[dev]
            rho[dev] += svc.arrival_rate * m
            second[dev] += svc.arrival_rate * (1.0 + svc.scv) * m * m
    svc = scenario.service(service)
    worst = 0.0
    for hops in walk_service(scenario, svc).branches:
        total = 0.0
        for hop in hops:
            dev, link = hop.device, hop.link
            if link is not None:
                total += hop.nbytes / link.bandwidth + link.delay
                continue
            if rho[dev] >= 1.0:
                return math.inf
            frag = svc.fragments[hop.fragment]
            total += mg1_wait(second[dev], rho[dev]) + frag.macs / speed[dev]
        worst = max(worst, total)
    return worst


def deployment_reward(
    arrival: np.ndarray,
    completion: np.ndarray,
    served: np.ndarray,
    sla: float,
    accuracy: float,
    *,
    reward: Reward | str | None = "published",
    reference_accuracy: float | None = None,
) -> tuple[float, float, float]:
    r"""Mean per-request reward of one deployment, dropped requests earning 0.

    With the published reward:

    .. math::
        r = \frac{1}{n}\sum_i \mathbb{1}[\text{served}_i]\big(0.5\,\mathbb{1}[RT_i \le SLA]
            + 0.5 \cdot 10 \cdot \max(0, acc - 0.9)\big)

    and any :class:`~placement.policies.Reward` likewise (its per-request reward, averaged
    over all requests).

    Args:
        arrival: Arrival times of the requests (s), shape ``(n,)``.
        completion: Completion times (s), shape ``(n,)``; ignored where not served.
        served: Whether each request was served, bool shape ``(n,)``.
        sla: Deadline (s).
        accuracy: Accuracy of the deployed split in [0, 1].
        reward: The reward (default: ``"published"``, SplitPlace's).
        reference_accuracy: Accuracy of the unsplit model, for the relative reward
            (default: ``None`` = ``accuracy``).

    Returns:
        ``(reward, sla_compliance, mean_latency)``: the mean reward, the fraction of requests
        served within the SLA, and the mean latency of served requests (s, ``nan`` if none).
    """
    n = len(arrival)
    if n == 0:
        return 0.0, 0.0, math.nan
    rw = Reward.coerce(reward)
    ref = accuracy if reference_accuracy is None else reference_accuracy
    rt = np.where(served, completion - arrival, np.inf)
    met = served & (rt <= sla)
    compliance = float(met.mean())
    value = float(rw.expected(compliance / max(float(served.mean()), 1e-300),
                              1.0 - float(served.mean()), accuracy, ref))
    mean_latency = float(rt[served].mean()) if served.any() else math.nan
    return value, compliance, mean_latency


def regret_growth_exponent(cumulative_regret: Sequence[float] | np.ndarray) -> float:
    r"""Fitted growth exponent :math:`\beta` of cumulative regret, :math:`R(t) \approx c\,t^\beta`.

    Least squares of :math:`\log R(t)` on :math:`\log t` over the second half of the run
    (where :math:`R(t) > 0`); :math:`\beta < 1` means sublinear regret.

    Args:
        cumulative_regret: :math:`R(1), \dots, R(T)`.

    Returns:
        :math:`\beta`, or ``0.0`` when the regret is zero throughout the fitted range.

    Raises:
        ValueError: If fewer than 4 values are given.
    """
    r = np.asarray(cumulative_regret, dtype=float)
    if r.size < 4:
        raise ValueError(f"cumulative_regret needs at least 4 values, got {r.size}")
    t = np.arange(1, r.size + 1, dtype=float)
    keep = (t > r.size / 2) & (r > 0)
    if keep.sum() < 2:
        return 0.0
    slope, _ = np.polyfit(np.log(t[keep]), np.log(r[keep]), 1)
    return float(slope)


# ------------------------------------------------------------------------------------------
# The experiment
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnlineConfig:
    r"""Settings of an :class:`OnlineExperiment` (time in seconds, rates in requests/s).

    Args:
        profiles: DNN profiles of the arriving deployments: zoo names or
            :class:`~datagen.DNNProfile` objects, drawn uniformly (default:
            :data:`DEFAULT_EDGE_PROFILES`).
        arrival_rate_range: Range of the uniform arrival rate of a new deployment
            (requests/s) (default: ``(20.0, 100.0)``).
        sla_factor_range: Range of the uniform factor :math:`u` of the deadline
            :math:`u \cdot L^{ref}` (default: ``(0.2, 2.0)``).
        lifetime_range: Inclusive range of a deployment's lifetime in steps (default:
            ``(2, 6)``).
        max_running: At most this many deployments run at once; the oldest leave first
            (default: ``4``).
        sim_requests: ``num_requests`` of each simulation (default: ``1000``).
        update_every: Steps per decision interval: the policy is updated every this many
            steps with the interval's observations (default: ``1``).
        slack_clip: Clip range of the normalised slack (default: ``(-2.0, 1.0)``).
        reward: The reward of a deployment: a :class:`~placement.policies.Reward` or its kind,
            ``"relative"`` (accuracy credit relative to the unsplit model, meaningful for any
            model) or ``"published"`` (SplitPlace's) (default: ``"relative"``).
    """

    profiles: tuple[str | DNNProfile, ...] = DEFAULT_EDGE_PROFILES
    arrival_rate_range: tuple[float, float] = (20.0, 100.0)
    sla_factor_range: tuple[float, float] = (0.2, 2.0)
    lifetime_range: tuple[int, int] = (2, 6)
    max_running: int = 4
    sim_requests: int = 1000
    update_every: int = 1
    slack_clip: tuple[float, float] = (-2.0, 1.0)
    reward: Reward | str = "relative"

    def validate(self) -> OnlineConfig:
        """Check every field; return ``self``.

        Raises:
            ValueError: Naming the field, its value and the valid range.
        """
        if not self.profiles:
            raise ValueError("profiles must name at least one DNN profile, got ()")
        for name, (lo, hi) in (
            ("arrival_rate_range", self.arrival_rate_range),
            ("sla_factor_range", self.sla_factor_range),
        ):
            if not (0 < lo <= hi < math.inf):
                raise ValueError(f"{name} must be (lo, hi) with 0 < lo <= hi, got {(lo, hi)}")
        lo, hi = self.lifetime_range
        if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
            raise ValueError(
                f"lifetime_range must be integers (lo, hi) with 1 <= lo <= hi, got {(lo, hi)}"
            )
        for name in ("max_running", "update_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not isinstance(self.sim_requests, int) or self.sim_requests < 50:
            raise ValueError(f"sim_requests must be an integer >= 50, got {self.sim_requests!r}")
        Reward.coerce(self.reward)
        return self


@dataclass
class _Running:
    service: Service
    devices: tuple[str, ...]
    end_step: int


@dataclass
class _Arm:
    service: Service
    scenario: Scenario | None
    predicted_latency: float
    #: Predicted latency_mean (s), latency_p95 (s, nan if unknown) and loss_ratio.
    predicted: dict[str, float] = field(default_factory=dict)
    #: Accuracy of the unsplit model (the layer split).
    reference_accuracy: float = math.nan
    reward: float = 0.0
    compliance: float = 0.0
    latency: float = math.nan

    @property
    def accuracy(self) -> float:
        """Accuracy of this split (0 when the profile gives none)."""
        acc = self.service.accuracy
        return float(acc) if acc is not None else 0.0


@dataclass(frozen=True)
class _Feedback:
    """One decision waiting for the next policy update."""

    context: np.ndarray
    arm: int
    reward: float
    key: str
    response_time: float


def _service_metrics(rows: pd.DataFrame) -> dict[str, float] | None:
    """latency_mean, latency_p95 and loss_ratio of the first row, or None if none is usable."""
    if not len(rows):
        return None
    row = rows.iloc[0]
    lat = float(row["latency_mean"])
    if math.isnan(lat) or lat < 0:
        return None
    p95 = float(row["latency_p95"]) if "latency_p95" in rows.columns else math.nan
    loss = float(row["loss_ratio"]) if "loss_ratio" in rows.columns else 0.0
    loss = min(1.0, max(0.0, loss)) if math.isfinite(loss) else 1.0
    return {"latency_mean": lat, "latency_p95": p95, "loss_ratio": loss}


@dataclass
class OnlineExperiment:
    """Run a split policy online against simulated edge deployments.

    Args:
        policy: The split policy (see :func:`placement.policies.make_policy`). Policies with
            ``context_type == "sla"`` (``splitplace``) receive ``[[SLA]]`` and the
            application (profile name) as key; the others receive the slack context. Give
            ``splitplace`` initial thresholds on this loop's time scale (milliseconds for the
            edge profiles), e.g. ``initial_thresholds=exp.reference_latency``; its 10 s
            default classifies every request as ``low`` for a long time.
        placer: How to place a split service: ``None`` or ``"greedy"`` (default) uses
            :func:`greedy_placement` (fast: about 40 ms a step with the simulations);
            ``"placer"`` builds ``placement.Placer(predictor=AnalyticSurrogate(),
            verify_top_k=0)`` (about 0.5 s a step); a :data:`PlacementFn`; or any object
            with ``place(request) -> Decision`` (such as :class:`placement.Placer`), called
            with a one-service :class:`~placement.request.PlacementRequest` restricted to the
            split, whose decision's ``scenario`` is simulated.
        devices: The cluster (default: ``None`` = :data:`DEFAULT_EDGE_DEVICES` from
            :mod:`datagen.catalog`, named ``d0, d1, ...``).
        config: Settings (default: ``OnlineConfig()``).
        predictor: Optional predictor with ``predict(scenarios) -> DataFrame`` (columns
            ``scenario, service, latency_mean``) for the predicted latencies; ``None`` uses the
            placer decision's prediction when it has one, else :func:`estimate_latency`.
        simulator: ``simulate(scenario, *, num_requests, seed, keep_records)`` (default:
            ``None`` = :func:`datagen.sim.simulate`).
        seed: Seed of the request stream and of the simulations (default: ``0``). The policy
            has its own generator: seed both for a reproducible run.

    Example:
        >>> from placement.policies import make_policy
        >>> exp = OnlineExperiment(make_policy("linucb", per_service=True), seed=0)
        >>> log = exp.run(20)   # DataFrame, one row per step
        >>> log[["arm", "reward", "oracle_reward", "regret"]].sum()  # doctest: +SKIP
    """

    policy: SplitPolicy
    placer: Any = None
    devices: Sequence[Device] | None = None
    config: OnlineConfig = field(default_factory=OnlineConfig)
    predictor: Any = None
    simulator: Callable[..., Any] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.policy, SplitPolicy):
            raise ValueError(
                "policy must be a placement.policies.SplitPolicy, got "
                f"{type(self.policy).__name__}; use placement.policies.make_policy(name)"
            )
        self.config.validate()
        if self.devices is None:
            from datagen.catalog import get_device

            self.devices = tuple(
                get_device(kind, f"d{i}") for i, kind in enumerate(DEFAULT_EDGE_DEVICES)
            )
        self.devices = tuple(self.devices)
        if not self.devices:
            raise ValueError("devices must hold at least one datagen.Device, got []")
        if self.simulator is None:
            try:
                from datagen.sim import simulate
            except ImportError:  # the package __init__ may not export it yet
                from datagen.sim.runner import simulate
            self.simulator = simulate
        if isinstance(self.placer, str):
            if self.placer == "greedy":
                self.placer = None
            elif self.placer == "placer":
                from chainnet.analytic import AnalyticSurrogate
                from placement.placer import Placer

                self.placer = Placer(
                    predictor=AnalyticSurrogate(), verify_top_k=0, seed=int(self.seed)
                )
            else:
                raise ValueError(
                    f"placer must be 'greedy' or 'placer' by name, got {self.placer!r}"
                )
        if self.placer is not None and not (callable(self.placer) or hasattr(self.placer, "place")):
            raise ValueError(
                "placer must be None, a placement function (devices, running, service) -> "
                f"devices, or an object with place(request); got {type(self.placer).__name__}"
            )
        self._devices: tuple[Device, ...] = tuple(self.devices)
        self._reward = Reward.coerce(self.config.reward)
        self._profiles = tuple(self._resolve(p) for p in self.config.profiles)
        mean_speed = float(np.mean([d.effective_speed for d in self._devices]))
        self._ref_latency = {p.name: p.total_macs / mean_speed for p in self._profiles}
        self.reset()

    # -- public API -----------------------------------------------------------------------------

    def reset(self) -> OnlineExperiment:
        """Restart the request stream and the cluster (the policy is left as it is)."""
        seq = np.random.SeedSequence(self.seed)
        self._rng = np.random.default_rng(seq)
        self._running: list[_Running] = []
        self._step = 0
        self._pending: list[_Feedback] = []
        self._rows: list[dict[str, Any]] = []
        return self

    @property
    def reference_latency(self) -> dict[str, float]:
        """:math:`L^{ref}` per profile: its MACs over the mean device speed (s)."""
        return dict(self._ref_latency)

    def run(self, num_steps: int) -> pd.DataFrame:
        """Run ``num_steps`` more steps and return the whole log so far.

        Args:
            num_steps: Number of deployment requests to process, ``>= 0``.

        Returns:
            The log (see :meth:`log`).

        Raises:
            ValueError: If ``num_steps`` is negative.
        """
        if not is_int(num_steps) or num_steps < 0:
            raise ValueError(f"num_steps must be an integer >= 0, got {num_steps!r}")
        for _ in range(num_steps):
            self.step()
        self._flush()
        return self.log()

    def log(self) -> pd.DataFrame:
        """The per-step log, one row per deployment request.

        Columns: ``step, service, profile, arrival_rate, sla, context`` (the policy's context
        row, a tuple), ``arm`` (name), ``arm_index, reward, reward_layer, reward_semantic,
        oracle_arm, oracle_reward, regret, cumulative_regret, compliance`` (share of the
        deployment's requests served within the SLA), ``sla_violation`` (1 - compliance),
        ``latency`` (simulated mean, s), ``accuracy`` (of the chosen split),
        ``oracle_sla_violation, oracle_accuracy`` (the same for the oracle's split),
        ``expected_reward_layer, expected_reward_semantic`` (the predicted expected reward of
        each split, the prior of the ``informed`` policy), ``predicted_latency_layer,
        predicted_latency_semantic`` (s), ``running`` (deployments already running at
        decision time).
        """
        df = pd.DataFrame(self._rows, columns=_LOG_COLUMNS)
        df["cumulative_regret"] = df["regret"].cumsum()
        return df

    def step(self) -> dict[str, Any]:
        """Process one deployment request; returns its log row."""
        cfg = self.config
        t = self._step
        self._running = [r for r in self._running if r.end_step > t]
        rng = self._rng
        profile = self._profiles[int(rng.integers(len(self._profiles)))]
        rate = float(rng.uniform(*cfg.arrival_rate_range))
        sla = float(rng.uniform(*cfg.sla_factor_range)) * self._ref_latency[profile.name]
        lifetime = int(rng.integers(cfg.lifetime_range[0], cfg.lifetime_range[1] + 1))
        sim_seed = int(rng.integers(2**31 - 1))
        name = f"s{t}"

        arms = [self._build_arm(name, profile, split, rate, sla) for split in ARMS]
        running_sc = self._running_scenario()
        load = load_features(self._devices, running_sc)
        accuracy = {a: arms[i].accuracy for i, a in enumerate(ARMS)}
        prior = build_reward_context(
            sla,
            {a: arms[i].predicted for i, a in enumerate(ARMS)},
            accuracy,
            profile.accuracy,
            load,
            reward=self._reward,
            slack_clip=cfg.slack_clip,
        )
        if self.policy.context_type == "sla":
            context = np.array([sla])
        elif self.policy.context_type == "reward":
            context = prior
        else:
            context = prior[len(ARMS):]
        key = profile.name
        arm = int(self.policy.select(context.reshape(1, -1), keys=[key])[0])
        for a in arms:
            self._simulate(a, name, sla, sim_seed)
        chosen = arms[arm]
        rewards = [a.reward for a in arms]
        oracle = int(np.argmax(rewards))
        self._pending.append(_Feedback(context, arm, chosen.reward, key, chosen.latency))
        if len(self._pending) >= cfg.update_every:
            self._flush()
        row = {
            "step": t,
            "service": name,
            "profile": profile.name,
            "arrival_rate": rate,
            "sla": sla,
            "context": tuple(float(v) for v in context),
            "arm": ARMS[arm],
            "arm_index": arm,
            "reward": chosen.reward,
            "reward_layer": rewards[0],
            "reward_semantic": rewards[1],
            "oracle_arm": ARMS[oracle],
            "oracle_reward": rewards[oracle],
            "regret": rewards[oracle] - chosen.reward,
            "compliance": chosen.compliance,
            "sla_violation": 1.0 - chosen.compliance,
            "latency": chosen.latency,
            "accuracy": chosen.accuracy,
            "oracle_sla_violation": 1.0 - arms[oracle].compliance,
            "oracle_accuracy": arms[oracle].accuracy,
            "expected_reward_layer": float(prior[0]),
            "expected_reward_semantic": float(prior[1]),
            "predicted_latency_layer": arms[0].predicted_latency,
            "predicted_latency_semantic": arms[1].predicted_latency,
            "running": len(self._running),
        }
        self._rows.append(row)
        if chosen.scenario is not None:
            self._running.append(
                _Running(chosen.service, chosen.scenario.placement[name], t + lifetime)
            )
            if len(self._running) > cfg.max_running:
                self._running.pop(0)
        self._step += 1
        return row

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _resolve(profile: str | DNNProfile) -> DNNProfile:
        if isinstance(profile, DNNProfile):
            return profile
        from datagen.zoo import get_profile

        return get_profile(profile)

    def _running_pairs(self) -> list[tuple[Service, tuple[str, ...]]]:
        return [(r.service, r.devices) for r in self._running]

    def _running_scenario(self) -> Scenario | None:
        if not self._running:
            return None
        return Scenario(
            self._devices,
            tuple(r.service for r in self._running),
            Placement({r.service.name: r.devices for r in self._running}),
        )

    def _build_arm(
        self, name: str, profile: DNNProfile, split: str, rate: float, sla: float
    ) -> _Arm:
        from datagen.splitting import make_service

        service = make_service(name, profile, split, rate, sla)
        metrics: dict[str, float] | None = None
        scenario: Scenario | None
        if self.placer is not None and hasattr(self.placer, "place"):
            scenario, metrics = self._place_with_placer(service, profile, split)
        else:
            place_fn = self.placer if self.placer is not None else greedy_placement
            devs = place_fn(self._devices, self._running_pairs(), service)
            scenario = None
            if devs is not None:
                pairs = [*self._running_pairs(), (service, tuple(devs))]
                scenario = Scenario(
                    self._devices,
                    tuple(s for s, _ in pairs),
                    Placement({s.name: d for s, d in pairs}),
                )
        if scenario is None:
            return _Arm(service, None, math.inf, {"latency_mean": math.inf, "loss_ratio": 1.0},
                        profile.accuracy)
        if self.predictor is not None:
            pred = self.predictor.predict([scenario])
            metrics = _service_metrics(pred[pred["service"] == name])
        if metrics is None:
            lat = estimate_latency(scenario, name)
            metrics = {
                "latency_mean": lat,
                "latency_p95": math.nan,
                "loss_ratio": 0.0 if math.isfinite(lat) else 1.0,
            }
        return _Arm(service, scenario, metrics["latency_mean"], metrics, profile.accuracy)

    def _place_with_placer(
        self, service: Service, profile: DNNProfile, split: str
    ) -> tuple[Scenario | None, dict[str, float] | None]:
        from placement.request import PlacementRequest, RunningService, ServiceRequest

        req = PlacementRequest(
            devices=tuple(self._devices),
            services=(
                ServiceRequest(
                    service.name, profile, service.arrival_rate, service.sla, splits=(split,)
                ),
            ),
            running=tuple(RunningService(s, d) for s, d in self._running_pairs()),
        )
        try:
            decision = self.placer.place(req)
        except ValueError:  # an infeasible request: this split cannot be deployed
            return None, None
        table = getattr(decision, "predicted", None)
        metrics = None
        if isinstance(table, pd.DataFrame) and "latency_mean" in table.columns:
            if service.name in table.index:
                metrics = _service_metrics(table.loc[[service.name]])
            elif "service" in table.columns:
                metrics = _service_metrics(table[table["service"] == service.name])
        return decision.scenario, metrics

    def _simulate(self, arm: _Arm, name: str, sla: float, seed: int) -> None:
        if arm.scenario is None:
            arm.reward, arm.compliance, arm.latency = 0.0, 0.0, math.nan
            return
        assert self.simulator is not None
        res = self.simulator(
            arm.scenario, num_requests=self.config.sim_requests, seed=seed, keep_records=True
        )
        rec = res.records
        mine = rec[(rec["service"] == name) & (rec["arrival"] >= res.warmup_time)]
        arm.reward, arm.compliance, arm.latency = deployment_reward(
            mine["arrival"].to_numpy(float),
            mine["completion"].to_numpy(float),
            (mine["record_type"] == "served").to_numpy(bool),
            sla,
            arm.accuracy,
            reward=self._reward,
            reference_accuracy=arm.reference_accuracy,
        )

    def _flush(self) -> None:
        if not self._pending:
            return
        pending = self._pending
        self.policy.update(
            np.vstack([p.context for p in pending]),
            np.array([p.arm for p in pending]),
            np.array([p.reward for p in pending]),
            keys=[p.key for p in pending],
            response_times=np.array([p.response_time for p in pending]),
        )
        self._pending = []


_LOG_COLUMNS = [
    "step",
    "service",
    "profile",
    "arrival_rate",
    "sla",
    "context",
    "arm",
    "arm_index",
    "reward",
    "reward_layer",
    "reward_semantic",
    "oracle_arm",
    "oracle_reward",
    "regret",
    "compliance",
    "sla_violation",
    "latency",
    "accuracy",
    "oracle_sla_violation",
    "oracle_accuracy",
    "expected_reward_layer",
    "expected_reward_semantic",
    "predicted_latency_layer",
    "predicted_latency_semantic",
    "running",
]


# ------------------------------------------------------------------------------------------
# Comparing policies (shared by benchmarks/bench_policies.py and the report)
# ------------------------------------------------------------------------------------------

#: ``(label, policy name, config)`` of the policies compared by the benchmark and the report;
#: ``"default"`` is the packaged pre-warmed policy that ``placement.Placer()`` loads.
COMPARED_POLICIES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("default", "default", {}),
    ("informed", "informed", {}),
    ("splitplace", "splitplace", {}),
    ("linucb", "linucb", {"per_service": True}),
    ("thompson", "thompson", {"per_service": True}),
    ("layer_only", "layer_only", {}),
    ("semantic_only", "semantic_only", {}),
    ("random", "random", {}),
)


def compared_policy(
    name: str, kwargs: dict[str, Any], seed: int, reference_latency: dict[str, float]
) -> SplitPolicy:
    """Build one policy of :data:`COMPARED_POLICIES` for a run.

    ``"default"`` loads the packaged pre-warmed policy (its generator reseeded with ``seed``);
    ``"splitplace"`` starts its thresholds ``T[app]`` at each application's reference latency
    (the published 5, 8, 15 were on their setup's time scale, and the 10 s default would
    classify every request as ``low`` for a long time).

    Args:
        name: ``"default"`` or a name of :data:`placement.policies.POLICIES`.
        kwargs: Config fields.
        seed: Seed of the policy's generator.
        reference_latency: :attr:`OnlineExperiment.reference_latency` of the run (s).

    Returns:
        A fresh policy.
    """
    from placement.policies import DEFAULT_POLICY_PATH, load_policy, make_policy

    if name == "default":
        policy = load_policy(DEFAULT_POLICY_PATH)
        policy.rng = np.random.default_rng(seed)
        return policy
    if name == "splitplace" and "initial_thresholds" not in kwargs:
        kwargs = {**kwargs, "initial_thresholds": dict(reference_latency)}
    return make_policy(name, seed=seed, **kwargs)


def run_compared_policy(
    name: str,
    kwargs: dict[str, Any],
    family: str,
    steps: int,
    seed: int,
    *,
    sim_requests: int = 1000,
    reward: Reward | str = "relative",
    predictor: Any = None,
    placer: Any = None,
) -> pd.DataFrame:
    """Run one policy of :data:`COMPARED_POLICIES` on one online family; return the log.

    Args:
        name: Policy name (see :func:`compared_policy`).
        kwargs: Its config fields.
        family: A key of :data:`ONLINE_FAMILIES`.
        steps: Deployment requests.
        seed: Seed of the request stream, the simulations and the policy.
        sim_requests: Requests per simulated deployment (default: ``1000``).
        reward: The reward (default: ``"relative"``).
        predictor: Predictor of the per-split metrics (default: ``None``: the analytic
            estimate of :func:`estimate_latency`).
        placer: How to place each split (see :class:`OnlineExperiment`) (default: greedy).

    Returns:
        :meth:`OnlineExperiment.log`.
    """
    devices, config = online_family(family, sim_requests=sim_requests, reward=reward)
    probe = OnlineExperiment(compared_policy("layer_only", {}, seed, {}), devices=devices,
                             config=config)
    policy = compared_policy(name, kwargs, seed, probe.reference_latency)
    exp = OnlineExperiment(policy, placer=placer, devices=devices, config=config,
                           predictor=predictor, seed=seed)
    return exp.run(steps)


def summarize_log(log: pd.DataFrame, first: int = 100) -> dict[str, float]:
    """Figures of one run of :class:`OnlineExperiment` (one policy).

    Args:
        log: :meth:`OnlineExperiment.log`.
        first: Length of the early window of ``reward_over_oracle_first`` (default: ``100``).

    Returns:
        ``mean_reward``, ``reward_over_oracle`` (sum of rewards over the per-request oracle's),
        ``reward_over_oracle_first`` (the same over the first ``first`` requests),
        ``final_regret``, ``beta`` (regret growth exponent, ``nan`` under 8 steps),
        ``late_over_early_regret`` (regret of the second half of the run over that of the
        first half; below 1 the regret grows sublinearly, ``nan`` when the first half has
        none),
        ``semantic_share``, ``oracle_semantic_share``, ``agrees_with_oracle``,
        ``response_time`` (mean simulated latency of served requests, s),
        ``sla_violation`` (share of requests not served within the SLA), ``accuracy``
        (mean accuracy of the chosen splits), and ``oracle_sla_violation`` and
        ``oracle_accuracy`` (the same for the per-request oracle's splits).
    """
    head = log.iloc[:first]
    cr = log["cumulative_regret"].to_numpy(float)
    return {
        "mean_reward": float(log.reward.mean()),
        "reward_over_oracle": float(log.reward.sum() / max(log.oracle_reward.sum(), 1e-12)),
        "reward_over_oracle_first": float(
            head.reward.sum() / max(head.oracle_reward.sum(), 1e-12)
        ),
        "final_regret": float(cr[-1]) if len(cr) else 0.0,
        "beta": regret_growth_exponent(cr) if len(cr) >= 8 else math.nan,
        "late_over_early_regret": _late_over_early(cr),
        "semantic_share": float((log.arm == "semantic").mean()),
        "oracle_semantic_share": float((log.oracle_arm == "semantic").mean()),
        "agrees_with_oracle": float((log.arm == log.oracle_arm).mean()),
        "response_time": float(np.nanmean(log.latency.to_numpy(float))),
        "sla_violation": float(log.sla_violation.mean()),
        "accuracy": float(log.accuracy.mean()),
        "oracle_sla_violation": float(log.oracle_sla_violation.mean()),
        "oracle_accuracy": float(log.oracle_accuracy.mean()),
    }


def _late_over_early(cumulative: np.ndarray) -> float:
    """Regret of the second half of a run over that of the first half (``nan`` if none)."""
    if len(cumulative) < 2:
        return math.nan
    half = float(cumulative[len(cumulative) // 2 - 1])
    total = float(cumulative[-1])
    return (total - half) / half if half > 0 else math.nan
