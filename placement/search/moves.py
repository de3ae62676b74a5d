"""Neighbourhoods of an assignment: single-fragment moves, service moves and swaps."""

from __future__ import annotations

import numpy as np

from placement.candidates import CandidateSpace

__all__ = ["neighbours", "random_neighbour", "unique_rows"]


def unique_rows(a: np.ndarray) -> np.ndarray:
    """``np.unique(a, axis=0)`` of a 2-D integer array: its distinct rows, in lexicographic order.

    A lexicographic sort (:func:`numpy.lexsort`, first column first) and a comparison of
    neighbours, several times faster than :func:`numpy.unique`'s structured view.
    """
    if a.shape[0] < 2:
        return a.copy()
    a = a[np.lexsort(a.T[::-1])]
    keep = np.empty(a.shape[0], dtype=bool)
    keep[0] = True
    np.any(a[1:] != a[:-1], axis=1, out=keep[1:])
    return a[keep]


def neighbours(
    space: CandidateSpace, x: np.ndarray, rng: np.random.Generator, max_size: int | None = None
) -> np.ndarray:
    """All (or a random subset of the) neighbours of an assignment.

    Three move types: move one fragment to another device (``F (D-1)`` moves); put all
    fragments of one service on one device (``S D`` moves, which removes its transfers);
    swap the devices of two fragments on different devices.

    Args:
        space: The candidate space.
        x: The assignment, shape ``(F,)``.
        rng: Random generator (used to subsample).
        max_size: Most neighbours returned; a uniform subset (moves first) is drawn when
            there are more (default: ``None`` = all).

    Returns:
        Distinct neighbours different from ``x``, shape ``(n, F)`` (memory not checked).
    """
    f, d = space.num_fragments, space.num_devices
    moves = np.repeat(x[None, :], f * d, axis=0)
    moves[np.arange(f * d), np.repeat(np.arange(f), d)] = np.tile(np.arange(d), f)
    groups = []
    for i in range(len(space.services)):
        lo, hi = space.offsets[i], space.offsets[i + 1]
        if hi - lo > 1:
            g = np.repeat(x[None, :], d, axis=0)
            g[:, lo:hi] = np.arange(d)[:, None]
            groups.append(g)
    iu, ju = np.triu_indices(f, 1)
    diff = x[iu] != x[ju]
    iu, ju = iu[diff], ju[diff]
    swaps = np.repeat(x[None, :], iu.size, axis=0)
    rows = np.arange(iu.size)
    swaps[rows, iu] = x[ju]
    swaps[rows, ju] = x[iu]
    allc = np.concatenate([moves, *groups, swaps], axis=0)
    allc = allc[np.any(allc != x[None, :], axis=1)]
    allc = unique_rows(allc)
    if max_size is not None and allc.shape[0] > max_size:
        allc = allc[rng.choice(allc.shape[0], size=max_size, replace=False)]
    return allc


def random_neighbour(space: CandidateSpace, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random neighbour (a fragment move with probability 0.6, else a swap or service move).

    Args:
        space: The candidate space.
        x: The assignment, shape ``(F,)``.
        rng: Random generator.

    Returns:
        A new assignment, shape ``(F,)`` (memory not checked; may equal ``x`` when a swap
        draws two fragments on the same device).
    """
    y = x.copy()
    f, d = space.num_fragments, space.num_devices
    u = rng.random()
    if u < 0.6 or f < 2:
        j = int(rng.integers(f))
        y[j] = (y[j] + 1 + int(rng.integers(max(1, d - 1)))) % d if d > 1 else 0
    elif u < 0.85:
        i, j = rng.choice(f, size=2, replace=False)
        y[i], y[j] = x[j], x[i]
    else:
        s = int(rng.integers(len(space.services)))
        y[space.offsets[s] : space.offsets[s + 1]] = int(rng.integers(d))
    return y
