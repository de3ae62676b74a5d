"""Placement strategies of the ``placer`` regime: how its sampled fragments are placed.

A :class:`Packing` is what the strategies see (fragment weights and offered work, device
speed, memory and capacity); :func:`place_fragments` runs one of
:data:`~datagen.sampler_configs.PLACER_STRATEGIES`: a randomised first fit, the greedy load
balancer, a local-search walk with good and bad moves, colocated runs of fragments, or work
piled on slow devices. Used by :func:`datagen.samplers.sample_placer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.sampler_configs import PlacerConfig
from datagen.walk import load_share

__all__ = ["FIT_TRIES", "Packing", "first_fit", "greedy", "place_fragments"]

#: Restarts of a randomised first fit before a placement strategy gives up.
FIT_TRIES = 5


@dataclass(frozen=True)
class Packing:
    """What the placement strategies see: fragments (weights, offered work) and devices.

    Args:
        weights: Weight bytes of each fragment, services in order, shape ``(F,)``.
        work: Offered work of each fragment, rate x MACs (MAC/s), shape ``(F,)``.
        speed: Device speed x servers (MAC/s), :func:`datagen.walk.device_capacity`, shape
            ``(D,)``.
        memory: Device memory (bytes), shape ``(D,)``.
        capacity: Device capacity ``K``, shape ``(D,)``.
        offsets: First fragment of each service, then ``F``, length ``S + 1``.
        semantic: Whether each service is a semantic split, length ``S``.
    """

    weights: np.ndarray
    work: np.ndarray
    speed: np.ndarray
    memory: np.ndarray
    capacity: np.ndarray
    offsets: tuple[int, ...]
    semantic: tuple[bool, ...]

    def used(self, a: np.ndarray) -> np.ndarray:
        """Weight bytes placed on each device by assignment ``a`` (bytes), shape ``(D,)``."""
        # Weights are integers, so these sums are exact and agree with Scenario.validate.
        return np.bincount(a, weights=self.weights, minlength=self.speed.size)

    def can_complete(self, a: np.ndarray) -> bool:
        """Whether no service is lost for certain.

        A semantic split's branches reach their devices at once, so ``K`` or more of them on
        one device lose every request (or nearly, with the room taken by other work), and such
        a scenario has no latency label.
        """
        for s, semantic in enumerate(self.semantic):
            if semantic:
                hosted = np.bincount(a[self.offsets[s] : self.offsets[s + 1]],
                                     minlength=self.capacity.size)
                if np.any(hosted >= self.capacity):
                    return False
        return True


def first_fit(
    p: Packing, rng: np.random.Generator, preference: np.ndarray | None = None
) -> np.ndarray | None:
    """Randomised first fit: fragments in random order, each to a device with room left.

    The device is uniform among those with room (``preference=None``, like the placer's
    ``CandidateSpace.random_assignment``) or drawn with probability proportional to
    ``preference``. Returns ``None`` after :data:`FIT_TRIES` dead ends.
    """
    n_frag = p.weights.size
    for _ in range(FIT_TRIES):
        used = np.zeros(p.speed.size)
        a = np.empty(n_frag, dtype=np.int64)
        for j in rng.permutation(n_frag):
            room = np.flatnonzero(used + p.weights[j] <= p.memory)
            if room.size == 0:
                break
            if preference is None:
                d = int(room[rng.integers(room.size)])
            else:
                cum = np.cumsum(preference[room])
                pos = int(np.searchsorted(cum, rng.random() * cum[-1], side="right"))
                d = int(room[min(pos, room.size - 1)])
            a[j] = d
            used[d] += p.weights[j]
        else:
            return a
    return None


def greedy(p: Packing) -> np.ndarray | None:
    """Load balancing: heaviest work first, to the least utilised device after it (with room).

    The rule of the placer's ``CandidateSpace.greedy_assignment``; ``None`` if a fragment fits
    nowhere.
    """
    used = np.zeros(p.speed.size)
    util = np.zeros(p.speed.size)
    a = np.empty(p.weights.size, dtype=np.int64)
    for j in np.argsort(-p.work, kind="stable"):
        room = used + p.weights[j] <= p.memory
        if not room.any():
            return None
        d = int(np.argmin(np.where(room, util + load_share(p.work[j], p.speed), np.inf)))
        a[j] = d
        used[d] += p.weights[j]
        util[d] += load_share(p.work[j], p.speed[d])
    return a


def _random_walk(p: Packing, moves: int, rng: np.random.Generator) -> np.ndarray | None:
    """A local-search trajectory: ``moves`` single-fragment moves, good or bad.

    The start is a random or (with probability 1/2) the greedy placement; each move sends a
    uniformly drawn fragment to a uniformly drawn other device with memory room.
    """
    a = greedy(p) if rng.random() < 0.5 else first_fit(p, rng)
    if a is None:
        return None
    used = p.used(a)
    devices = np.arange(p.speed.size)
    for _ in range(moves):
        j = int(rng.integers(a.size))
        cand = np.flatnonzero((used + p.weights[j] <= p.memory) & (devices != a[j]))
        if cand.size:
            d = int(cand[rng.integers(cand.size)])
            used[a[j]] -= p.weights[j]
            used[d] += p.weights[j]
            a[j] = d
    return a


def _colocated(p: Packing, rng: np.random.Generator) -> np.ndarray | None:
    """Runs of consecutive fragments on one device.

    From a random placement, one service (and each other with probability 1/2) gets a run of
    2 or more of its fragments (possibly all of them) moved together to a device with room.
    """
    a = first_fit(p, rng)
    if a is None:
        return None
    used = p.used(a)
    n_svc = len(p.offsets) - 1
    first = int(rng.integers(n_svc))
    for s in range(n_svc):
        if s != first and rng.random() >= 0.5:
            continue
        lo, hi = p.offsets[s], p.offsets[s + 1]
        if hi - lo < 2:
            continue
        r = int(rng.integers(2, hi - lo + 1))
        start = lo + int(rng.integers(hi - lo - r + 1))
        run = slice(start, start + r)
        rest = used - np.bincount(a[run], weights=p.weights[run], minlength=used.size)
        need = float(p.weights[run].sum())
        cand = np.flatnonzero(rest + need <= p.memory)
        if cand.size:
            d = int(cand[rng.integers(cand.size)])
            a[run] = d
            used = rest
            used[d] += need
    return a


def place_fragments(
    p: Packing, strategy: int, config: PlacerConfig, rng: np.random.Generator
) -> np.ndarray | None:
    """Assignment of one of :data:`PLACER_STRATEGIES` (index ``strategy``), ``None`` if stuck."""
    if strategy == 0:
        return first_fit(p, rng)
    if strategy == 1:
        return greedy(p)
    if strategy == 2:
        moves = int(rng.integers(config.min_walk_moves, config.max_walk_moves + 1))
        return _random_walk(p, moves, rng)
    if strategy == 3:
        return _colocated(p, rng)
    return first_fit(p, rng, preference=1.0 / p.speed**2)


