"""Save and load a split policy's learned state as JSON (no pickle: loading runs no code).

A deployment keeps what its policy learned across restarts::

    save_policy(placer.split_policy, "policy.json")
    policy = load_policy("policy.json")      # same class, config, state and generator

The file holds the registry name, the config fields, every learned attribute (names ending in
``_``), the generator state and free-form ``metadata``. Arrays are stored as nested lists with
their dtype, dictionaries as ``[key, value]`` pairs so that non-string keys survive.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from placement.policies._linear import LinearArms, _ArmStats
from placement.policies.base import SplitPolicy
from placement.policies.fixed import FixedArmPolicy

__all__ = ["POLICY_FORMAT", "PolicyFileError", "load_policy", "policy_state", "save_policy"]

#: The ``format`` tag of a policy file.
POLICY_FORMAT = "edgechain-split-policy"
_VERSION = 1


class PolicyFileError(ValueError):
    """A policy file is missing, not JSON, or not a policy file this version can read."""


def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, LinearArms):
        return {
            "__linear_arms__": {
                "n_arms": obj.n_arms,
                "dim": obj.dim,
                "l2_lambda": obj.l2_lambda,
                "discount": obj.discount,
                "window": obj.window,
                "stats": [
                    [_encode(k), [_encode_arm(s) for s in arms]] for k, arms in obj.stats.items()
                ],
            }
        }
    if isinstance(obj, Mapping):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v) for v in obj]}
    if isinstance(obj, (list, deque)):
        return [_encode(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.integer, np.floating)):  # numbers pass the config checks as numpy
        return obj.item()
    raise TypeError(f"cannot store a {type(obj).__name__} in a policy file")


def _encode_arm(s: _ArmStats) -> dict[str, Any]:
    hist = None if s.history is None else [[_encode(x), r] for x, r in s.history]
    return {"gram": _encode(s.gram), "xy": _encode(s.xy), "history": hist}


def _decode(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__ndarray__" in obj:
        arr = np.array(obj["__ndarray__"], dtype=np.dtype(obj["dtype"]))
        return arr.reshape(obj["shape"])
    if "__tuple__" in obj:
        return tuple(_decode(v) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {_hashable(_decode(k)): _decode(v) for k, v in obj["__dict__"]}
    if "__linear_arms__" in obj:
        d = obj["__linear_arms__"]
        arms = LinearArms(d["n_arms"], d["dim"], d["l2_lambda"], d["discount"], d["window"])
        for key, stats in d["stats"]:
            arms.stats[_hashable(_decode(key))] = [_decode_arm(s, arms.window) for s in stats]
        return arms
    raise PolicyFileError(f"unknown object in policy file: keys {sorted(obj)}")


def _decode_arm(d: dict[str, Any], window: int | None) -> _ArmStats:
    hist: deque[tuple[np.ndarray, float]] | None = None
    if d["history"] is not None:
        hist = deque(((_decode(x), float(r)) for x, r in d["history"]), maxlen=window)
    return _ArmStats(_decode(d["gram"]), _decode(d["xy"]), hist)


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def policy_state(policy: SplitPolicy, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-ready state of a policy (see the module docstring).

    Args:
        policy: A split policy of :data:`placement.policies.POLICIES`.
        metadata: Free-form JSON-serialisable notes (data, steps, figures) (default: none).

    Returns:
        A dictionary that :func:`json.dumps` accepts.

    Raises:
        ValueError: If ``policy`` is not a :class:`SplitPolicy` or holds state that cannot
            be stored.
    """
    if not isinstance(policy, SplitPolicy):
        raise ValueError(f"policy must be a SplitPolicy, got {type(policy).__name__}")
    learned = {k: v for k, v in vars(policy).items() if k.endswith("_") and not k.startswith("_")}
    try:
        return {
            "format": POLICY_FORMAT,
            "version": _VERSION,
            "policy": policy.name,
            "config": _encode(dataclasses.asdict(policy.config)),
            "state": _encode(learned),
            "rng": _encode(policy.rng.bit_generator.state),
            "metadata": dict(metadata or {}),
        }
    except TypeError as exc:
        raise ValueError(f"cannot save policy {policy.name!r}: {exc}") from exc


def save_policy(
    policy: SplitPolicy, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None
) -> Path:
    """Write a policy's state to a JSON file (atomically: a crash leaves the old file).

    Args:
        policy: The policy.
        path: Destination file; its folder must exist.
        metadata: Free-form notes stored with it (default: none).

    Returns:
        The path written.

    Raises:
        ValueError: If the folder does not exist or the state cannot be stored.
    """
    out = Path(path)
    if not out.parent.is_dir():
        raise ValueError(f"path {str(out)!r}: folder {str(out.parent)!r} does not exist")
    text = json.dumps(policy_state(policy, metadata), indent=1)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a policy file is shared data
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def load_policy(
    path: str | os.PathLike[str] | None = None, *, state: Mapping[str, Any] | None = None
) -> SplitPolicy:
    """Rebuild a policy saved by :func:`save_policy` (JSON only: nothing is executed).

    Args:
        path: The policy file (default: ``None``: use ``state``).
        state: A state dictionary from :func:`policy_state` instead of a file.

    Returns:
        A policy of the saved class with the saved config, learned state and generator;
        ``policy.metadata_`` is not set, read ``state["metadata"]`` for the notes.

    Raises:
        PolicyFileError: If the file is missing, not JSON, or not a policy file.
    """
    from placement.policies import POLICIES

    if (path is None) == (state is None):
        raise ValueError("pass a policy file path or a state dictionary, exactly one")
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise PolicyFileError(f"policy file {str(p)!r} does not exist")
        try:
            state = json.loads(p.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PolicyFileError(f"policy file {str(p)!r} is not readable JSON: {exc}") from exc
    assert state is not None
    where = f"policy file {str(path)!r}" if path is not None else "policy state"
    if not isinstance(state, Mapping) or state.get("format") != POLICY_FORMAT:
        raise PolicyFileError(f"{where} is not an {POLICY_FORMAT} file (format tag missing)")
    if state.get("version") != _VERSION:
        raise PolicyFileError(
            f"{where} has version {state.get('version')!r}; this package reads {_VERSION}"
        )
    name = state.get("policy")
    if name not in POLICIES:
        raise PolicyFileError(f"{where} names unknown policy {name!r}; known: {sorted(POLICIES)}")
    cls = POLICIES[name]
    try:
        fields = _decode(state["config"])
        config = cls.config_class(**{k: _config_value(v) for k, v in fields.items()})
        policy: SplitPolicy
        if issubclass(cls, FixedArmPolicy) and cls.implied_arm is not None:
            policy = cls()  # a fixed-arm policy: its config is implied by its class
            if policy.config != config:
                raise ValueError(f"config {config!r} does not match policy {name!r}")
        else:
            policy = cls(config)
        for attr, value in _decode(state["state"]).items():
            setattr(policy, attr, value)
        policy.rng.bit_generator.state = _decode(state["rng"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyFileError(f"{where} is damaged: {type(exc).__name__}: {exc}") from exc
    return policy


def _config_value(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v
