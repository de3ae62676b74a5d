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
configured per-request reward (:class:`~placement.policies.Reward`, the relative reward by
default; ``OnlineConfig(reward="published")`` for SplitPlace's), a dropped request earning
nothing:

.. math::
    r = \frac{1}{n}\sum_{i} \mathbb{1}[\text{served}_i]\Big(
        w\,\mathbb{1}[RT_i \le SLA] + (1 - w)\, c(acc)\Big)

and the regret of step ``t`` is :math:`\max_a r_t(a) - r_t(a_t) \ge 0`: against an oracle that
sees each request's outcome, which no policy can match where the two splits are within
simulation noise of each other, so this regret grows linearly for any policy.

**Pseudo-regret** (``OnlineConfig(replica_requests=n)``): both splits are simulated once more
with an independent seed; the split of the higher replica reward, :math:`a^*_t`, estimates the
split of higher *expected* reward, and the pseudo-regret of step ``t`` is
:math:`r_t(a^*_t) - r_t(a_t)`, scored on the main simulation (independent of the choice of
:math:`a^*_t`, so its mean is the expected-reward gap; single steps can be negative). This is
the bandit literature's regret, the one that a learning policy can make sublinear.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chainnet.predictor import Predictor
from datagen.validation import is_int
from datagen.world import Device, DNNProfile, Placement, Scenario, Service
from placement.decision import PlacementMethod
from placement.online.config import DEFAULT_EDGE_DEVICES, OnlineConfig
from placement.online.estimates import PlacementFn, estimate_latency, greedy_placement
from placement.online.metrics import deployment_reward
from placement.policies import (
    ARMS,
    Reward,
    SplitPolicy,
    build_reward_context,
    load_features,
    split_metrics,
)
from placement.request import RunningService

__all__ = ["OnlineExperiment"]


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
    """:func:`split_metrics` of the first row, or None if there is none or it is unusable."""
    return split_metrics(rows.iloc[0]) if len(rows) else None


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
    placer: PlacementMethod | PlacementFn | str | None = None
    devices: Sequence[Device] | None = None
    config: OnlineConfig = field(default_factory=OnlineConfig)
    predictor: Predictor | None = None
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
            from datagen.sim import simulate

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
        # what is deployed, and the step at which each of its services leaves
        self._running: list[RunningService] = []
        self._leaves_at: dict[str, int] = {}
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
        ``sla_violation_layer, sla_violation_semantic, accuracy_layer, accuracy_semantic``
        (the same for each split, both simulated at every step),
        ``expected_reward_layer, expected_reward_semantic`` (the predicted expected reward of
        each split, the prior of the ``informed`` policy), ``predicted_latency_layer,
        predicted_latency_semantic`` (s), ``running`` (deployments already running at
        decision time), ``replica_reward_layer, replica_reward_semantic, mean_best_arm,
        pseudo_regret, cumulative_pseudo_regret`` (module docstring; NaN / ``None`` without
        ``replica_requests``).
        """
        df = pd.DataFrame(self._rows, columns=_LOG_COLUMNS)
        df["cumulative_regret"] = df["regret"].cumsum()
        df["cumulative_pseudo_regret"] = df["pseudo_regret"].cumsum()
        return df

    def step(self) -> dict[str, Any]:
        """Process one deployment request; returns its log row."""
        cfg = self.config
        t = self._step
        self._running = [r for r in self._running if self._leaves_at[r.name] > t]
        rng = self._rng
        profile = self._profiles[int(rng.integers(len(self._profiles)))]
        rate = float(rng.uniform(*cfg.arrival_rate_range))
        sla = float(rng.uniform(*cfg.sla_factor_range)) * self._ref_latency[profile.name]
        lifetime = int(rng.integers(cfg.lifetime_range[0], cfg.lifetime_range[1] + 1))
        sim_seed = int(rng.integers(2**31 - 1))
        name = f"s{t}"

        arms = [self._build_arm(name, profile, split, rate, sla) for split in ARMS]
        load = load_features(self._devices, self._running)
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
        replica = [math.nan] * len(arms)
        if cfg.replica_requests:
            # a seed derived from this step's, so the run's own draws stay the same
            replica_seed = int(np.random.SeedSequence([sim_seed, 1]).generate_state(1)[0])
            replica = [self._measure(a, name, sla, replica_seed, cfg.replica_requests)[0]
                       for a in arms]
        mean_best = int(np.argmax(replica)) if cfg.replica_requests else -1
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
            "sla_violation_layer": 1.0 - arms[0].compliance,
            "sla_violation_semantic": 1.0 - arms[1].compliance,
            "accuracy_layer": arms[0].accuracy,
            "accuracy_semantic": arms[1].accuracy,
            "expected_reward_layer": float(prior[0]),
            "expected_reward_semantic": float(prior[1]),
            "predicted_latency_layer": arms[0].predicted_latency,
            "predicted_latency_semantic": arms[1].predicted_latency,
            "running": len(self._running),
            "replica_reward_layer": replica[0],
            "replica_reward_semantic": replica[1],
            "mean_best_arm": ARMS[mean_best] if mean_best >= 0 else None,
            "pseudo_regret": rewards[mean_best] - chosen.reward if mean_best >= 0 else math.nan,
        }
        self._rows.append(row)
        if chosen.scenario is not None:
            self._running.append(RunningService(chosen.service, chosen.scenario.placement[name]))
            self._leaves_at[name] = t + lifetime
            if len(self._running) > cfg.max_running:
                del self._leaves_at[self._running.pop(0).name]
        self._step += 1
        return row

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _resolve(profile: str | DNNProfile) -> DNNProfile:
        if isinstance(profile, DNNProfile):
            return profile
        from datagen.zoo import get_profile

        return get_profile(profile)

    def _build_arm(
        self, name: str, profile: DNNProfile, split: str, rate: float, sla: float
    ) -> _Arm:
        from datagen.splitting import make_service

        service = make_service(name, profile, split, rate, sla)
        metrics: dict[str, float] | None = None
        scenario: Scenario | None
        placer = self.placer
        assert not isinstance(placer, str)  # __post_init__ resolved the names
        if isinstance(placer, PlacementMethod):
            scenario, metrics = self._place_with_placer(placer, service, profile, split)
        else:
            place_fn = placer if placer is not None else greedy_placement
            devs = place_fn(self._devices, tuple(self._running), service)
            scenario = None
            if devs is not None:
                deployed = [*self._running, RunningService(service, tuple(devs))]
                scenario = Scenario(
                    self._devices,
                    tuple(r.service for r in deployed),
                    Placement({r.name: r.devices for r in deployed}),
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
        self, placer: PlacementMethod, service: Service, profile: DNNProfile, split: str
    ) -> tuple[Scenario | None, dict[str, float] | None]:
        from placement.request import PlacementRequest, ServiceRequest

        req = PlacementRequest(
            devices=tuple(self._devices),
            services=(
                ServiceRequest(
                    service.name, profile, service.arrival_rate, service.sla, splits=(split,)
                ),
            ),
            running=tuple(self._running),
        )
        try:
            decision = placer.place(req)
        except ValueError:  # an infeasible request: this split cannot be deployed
            return None, None
        table = getattr(decision, "predicted", None)
        metrics = None
        if isinstance(table, pd.DataFrame) and "latency_mean" in table.columns:
            if "service" in table.columns:  # a Decision's tidy table
                metrics = _service_metrics(table[table["service"] == service.name])
            elif service.name in table.index:  # another placer's table, indexed by service
                metrics = _service_metrics(table.loc[[service.name]])
        return decision.scenario, metrics

    def _simulate(self, arm: _Arm, name: str, sla: float, seed: int) -> None:
        arm.reward, arm.compliance, arm.latency = self._measure(
            arm, name, sla, seed, self.config.sim_requests)

    def _measure(self, arm: _Arm, name: str, sla: float, seed: int,
                 num_requests: int) -> tuple[float, float, float]:
        """Simulate ``arm``'s deployment: its reward, SLA compliance and mean latency (s)."""
        if arm.scenario is None:
            return 0.0, 0.0, math.nan
        assert self.simulator is not None
        res = self.simulator(arm.scenario, num_requests=num_requests, seed=seed,
                             keep_records=True)
        rec = res.records
        mine = rec[(rec["service"] == name) & (rec["arrival"] >= res.warmup_time)]
        return deployment_reward(
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
    "sla_violation_layer",
    "sla_violation_semantic",
    "accuracy_layer",
    "accuracy_semantic",
    "expected_reward_layer",
    "expected_reward_semantic",
    "predicted_latency_layer",
    "predicted_latency_semantic",
    "running",
    "replica_reward_layer",
    "replica_reward_semantic",
    "mean_best_arm",
    "pseudo_regret",
]
