"""The online split-decision loop (SplitPlace's setting) and what the benchmarks compare on it.

Deployments arrive one per step, a split policy chooses each one's split type, a placer (or
the greedy stand-in) places it next to the running services, and both splits are simulated
with common random numbers to score the choice against the per-request oracle.

One concept per module:

- :mod:`placement.online.config`: :class:`OnlineConfig` and the default edge cluster and
  profiles;
- :mod:`placement.online.experiment`: :class:`OnlineExperiment`, the loop and its log;
- :mod:`placement.online.estimates`: :func:`greedy_placement` and :func:`estimate_latency`,
  used when no placer or predictor is given;
- :mod:`placement.online.metrics`: :func:`deployment_reward`, :func:`regret_growth_exponent`
  and :func:`summarize_log`;
- :mod:`placement.online.families`: the named settings (:data:`ONLINE_FAMILIES`) and the
  compared policies (:data:`COMPARED_POLICIES`, :func:`run_compared_policy`) shared by the
  policy benchmark, the pre-training script and the report.

Every public name is importable from ``placement.online``.
"""

from placement.online.config import DEFAULT_EDGE_DEVICES, DEFAULT_EDGE_PROFILES, OnlineConfig
from placement.online.estimates import PlacementFn, estimate_latency, greedy_placement
from placement.online.experiment import OnlineExperiment
from placement.online.families import (
    COMPARED_POLICIES,
    ONLINE_FAMILIES,
    compared_policy,
    online_family,
    run_compared_policy,
)
from placement.online.metrics import (
    deployment_reward,
    regret_growth_exponent,
    split_tradeoff,
    summarize_log,
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
    "split_tradeoff",
    "summarize_log",
]
