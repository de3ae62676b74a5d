"""Settings of the online loop: the default edge cluster and profiles, and :class:`OnlineConfig`."""

from __future__ import annotations

import math
from dataclasses import dataclass

from datagen.validation import is_int
from datagen.world import DNNProfile
from placement.policies import Reward

__all__ = ["DEFAULT_EDGE_DEVICES", "DEFAULT_EDGE_PROFILES", "OnlineConfig"]

#: The SplitPlace edge applications (MNIST, FashionMNIST, CIFAR100 CNNs) in :mod:`datagen.zoo`.
DEFAULT_EDGE_PROFILES: tuple[str, ...] = (
    "splitplace_mnist",
    "splitplace_fashionmnist",
    "splitplace_cifar100",
)

#: Device kinds (:mod:`datagen.catalog`) of the default edge cluster: Raspberry-Pi class.
DEFAULT_EDGE_DEVICES: tuple[str, ...] = ("rpi4", "rpi4", "rpi3", "rpi3", "rpi3", "orangepi_zero")


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
        replica_requests: ``num_requests`` of a second, independent simulation of both splits
            at every step (another seed), which names the split of higher *expected* reward
            and so measures pseudo-regret (:meth:`OnlineExperiment.log`); ``0`` skips it
            (default: ``0``). It does not change the decisions or the other figures.
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
    replica_requests: int = 0

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
        if not (is_int(lo) and is_int(hi) and 1 <= lo <= hi):
            raise ValueError(
                f"lifetime_range must be integers (lo, hi) with 1 <= lo <= hi, got {(lo, hi)}"
            )
        for name in ("max_running", "update_every"):
            v = getattr(self, name)
            if not is_int(v) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not is_int(self.sim_requests) or self.sim_requests < 50:
            raise ValueError(f"sim_requests must be an integer >= 50, got {self.sim_requests!r}")
        if not is_int(self.replica_requests) or not (
                self.replica_requests == 0 or self.replica_requests >= 50):
            raise ValueError(f"replica_requests must be 0 (off) or an integer >= 50, got "
                             f"{self.replica_requests!r}")
        Reward.coerce(self.reward)
        return self

