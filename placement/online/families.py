"""Named settings of the online loop and the split policies compared on them.

The policy benchmark (``benchmarks/bench_policies.py``), the policy pre-training script and the
report run every policy of :data:`COMPARED_POLICIES` on the settings of
:data:`ONLINE_FAMILIES` through :func:`run_compared_policy`, so they compare the same runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from chainnet.predictor import Predictor
from datagen.world import Device
from placement.decision import PlacementMethod
from placement.online.config import DEFAULT_EDGE_DEVICES, OnlineConfig
from placement.online.estimates import PlacementFn
from placement.online.experiment import OnlineExperiment
from placement.policies import Reward, SplitPolicy

__all__ = [
    "COMPARED_POLICIES",
    "ONLINE_FAMILIES",
    "compared_policy",
    "online_family",
    "run_compared_policy",
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
    predictor: Predictor | None = None,
    placer: PlacementMethod | PlacementFn | str | None = None,
    replica_requests: int = 0,
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
        replica_requests: Requests of the replica simulations that measure pseudo-regret
            (:class:`OnlineConfig`; default: ``0``, none).

    Returns:
        :meth:`OnlineExperiment.log`.
    """
    devices, config = online_family(family, sim_requests=sim_requests, reward=reward,
                                    replica_requests=replica_requests)
    probe = OnlineExperiment(compared_policy("layer_only", {}, seed, {}), devices=devices,
                             config=config)
    policy = compared_policy(name, kwargs, seed, probe.reference_latency)
    exp = OnlineExperiment(policy, placer=placer, devices=devices, config=config,
                           predictor=predictor, seed=seed)
    return exp.run(steps)
