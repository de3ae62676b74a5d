"""Placement requests from YAML files: the cluster, the services to deploy, the running ones.

The three files of ``python -m placement place`` (annotated examples in ``examples/``):

``cluster.yaml``
    ``devices``: a list of devices, each with a ``name`` and either a catalog ``kind``
    (:func:`datagen.catalog.list_devices`: speed, memory and power from the catalog, each
    overridable) or a ``speed`` (MAC/s) and ``memory`` (bytes); optional ``capacity`` (K,
    requests present, default 10), ``servers`` (default 1), ``idle_power``/``busy_power`` (W)
    and ``reserved_share`` (in [0, 1)).
    ``network`` (optional): a link preset of :func:`datagen.catalog.list_links` (``wifi``,
    ``ethernet``, ``4g_uplink``, ``5g_uplink``) joining every device to one access point, or
    ``{star: PRESET, access: {DEVICE: PRESET}}`` to give some devices another access link
    (see :func:`datagen.catalog.star_links`). Without it transfers are instantaneous.
    ``links`` (optional): point-to-point links ``{a, b, link: PRESET}`` or
    ``{a, b, bandwidth: bytes/s, delay: s}``, replacing the network's link of that pair.

``services.yaml``
    ``services``: a list of new services, each with ``name``, ``profile`` (a zoo DNN of
    :func:`datagen.zoo.list_profiles`), ``arrival_rate`` (requests/s) and optional ``sla``
    (s, default none), ``splits`` (allowed: ``[layer, semantic]``), ``k`` (fragments of a
    layer split), ``branches`` (of a semantic split) and ``scv`` (service-time variability).

``running.yaml``
    ``running``: services already deployed, with the fields of a new service plus ``split``
    (the one deployed) and ``devices`` (one device name per fragment). A decision file
    written by ``place`` is accepted too: all its services then count as running.

Every error is a :class:`InputFileError` (a :class:`ValueError`) whose one-line message names
the file, the field (e.g. ``services[1].arrival_rate``) and the value.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from datagen.validation import as_real, is_int

__all__ = [
    "InputFileError",
    "load_cluster",
    "load_request",
    "load_running",
    "load_services",
    "read_yaml",
    "yaml_error",
]

DEVICE_KEYS = ("name", "kind", "speed", "memory", "capacity", "servers", "idle_power",
               "busy_power", "reserved_share")
SERVICE_KEYS = ("name", "profile", "arrival_rate", "sla", "splits", "k", "branches", "scv")
RUNNING_KEYS = ("name", "profile", "arrival_rate", "sla", "split", "k", "branches", "scv",
                "devices")
LINK_KEYS = ("a", "b", "link", "bandwidth", "delay")


class InputFileError(ValueError):
    """An input file is invalid; the message names the file, the field and the value."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def yaml_error(exc: Exception) -> str:
    """A YAML error as ``" at line L, column C: problem"`` (one line)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or exc
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {_one_line(problem)}"


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse a YAML (or JSON) file.

    Args:
        path: The file.
        what: What the file holds, for messages (e.g. ``"cluster"``).

    Raises:
        InputFileError: If the file is missing, unreadable, empty or not valid YAML.
    """
    import yaml

    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise InputFileError(f"{what} file {str(p)!r} does not exist; see examples/{what}.yaml"
                             ) from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputFileError(f"cannot read {what} file {str(p)!r}: {reason}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputFileError(f"{p}: not valid YAML{yaml_error(exc)}") from None
    if data is None:
        raise InputFileError(f"{p}: the file is empty; see examples/{what}.yaml")
    return data


class _Entry:
    """One mapping of a file, read with paths to the field in every message."""

    def __init__(self, data: Any, file: str, path: str, keys: Sequence[str]) -> None:
        if not isinstance(data, Mapping):
            raise InputFileError(
                f"{file}: {path} must be a mapping with keys {list(keys)}, got "
                f"{type(data).__name__} {data!r:.60}")
        unknown = [str(k) for k in data if k not in keys]
        if unknown:
            close = difflib.get_close_matches(unknown[0], keys, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputFileError(
                f"{file}: {path}.{unknown[0]} is not a known field{hint} (known: {list(keys)})")
        self.data, self.file, self.path = data, file, path

    def where(self, key: str) -> str:
        return f"{self.file}: {self.path}.{key}"

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, required: bool = False) -> Any:
        if required and not self.has(key):
            raise InputFileError(f"{self.where(key)} is missing; add it")
        return self.data.get(key)

    def string(self, key: str, required: bool = False) -> str | None:
        v = self.raw(key, required)
        if v is None:
            return None
        if not (isinstance(v, str) or is_int(v)):
            raise InputFileError(f"{self.where(key)} must be a name, got {v!r:.60}")
        return str(v)

    def number(self, key: str, required: bool = False) -> float | None:
        v = self.raw(key, required)
        if v is None:
            return None
        if isinstance(v, str):  # YAML 1.1 reads 1e9 (no dot) as a string
            try:
                v = float(v)
            except ValueError:
                raise InputFileError(f"{self.where(key)} must be a number, got {v!r:.60}"
                                     ) from None
        number = as_real(v)
        if number is None:
            raise InputFileError(f"{self.where(key)} must be a number, got {v!r:.60}")
        return number

    def integer(self, key: str) -> int | None:
        v = self.raw(key)
        if v is None:
            return None
        if is_int(v) or (isinstance(v, float) and v.is_integer()):
            return int(v)
        raise InputFileError(f"{self.where(key)} must be an integer, got {v!r:.60}")

    def names(self, key: str, required: bool = False) -> list[str] | None:
        v = self.raw(key, required)
        if v is None:
            return None
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise InputFileError(f"{self.where(key)} must be a list of names, got {v!r:.60}")
        return v


def _items(data: Any, file: str, key: str) -> list[Any]:
    """The list under ``key`` (or the file's top-level list)."""
    if isinstance(data, Mapping):
        unknown = [str(k) for k in data if k != key]
        if key not in data:
            found = f"; found {unknown}" if unknown else ""
            raise InputFileError(f"{file}: {key} is missing; the file must hold '{key}: [...]'"
                                 f"{found} (see examples/)")
        if unknown:
            raise InputFileError(f"{file}: {unknown[0]} is not a known field (known: [{key!r}])")
        data = data[key]
    if not isinstance(data, list) or not data:
        raise InputFileError(f"{file}: {key} must be a non-empty list, got {data!r:.60}")
    return data


def _call(where: str, ctor: Any, *args: Any, **kwargs: Any) -> Any:
    """``ctor(*args, **kwargs)`` with the file and field in front of a ValueError's message."""
    try:
        return ctor(*args, **kwargs)
    except ValueError as exc:
        raise InputFileError(f"{where}: {_one_line(exc)}") from None


def load_cluster(path: str | Path) -> tuple[list[Any], list[Any]]:
    """Read ``cluster.yaml``: the devices and the links of the network.

    Args:
        path: The file (schema in the module docstring and ``examples/cluster.yaml``).

    Returns:
        ``(devices, links)``: :class:`datagen.Device` and :class:`datagen.Link` lists.

    Raises:
        InputFileError: Naming the file, the field and the value.
    """
    import dataclasses

    from datagen.catalog import DEVICE_CATALOG, get_device, get_link, list_devices, star_links
    from datagen.world import Device, Link

    file = str(path)
    data = read_yaml(path, "cluster")
    if not isinstance(data, Mapping):
        raise InputFileError(f"{file}: must be a mapping with keys ['devices', 'network', "
                             f"'links'], got {type(data).__name__}")
    top = _Entry(data, file, "cluster", ("devices", "network", "links"))
    raw = top.raw("devices", required=True)
    if not isinstance(raw, list) or not raw:
        raise InputFileError(f"{file}: devices must be a non-empty list, got {raw!r:.60}")
    devices = []
    for i, item in enumerate(raw):
        e = _Entry(item, file, f"devices[{i}]", DEVICE_KEYS)
        name = e.string("name", required=True)
        kind = e.string("kind")
        where = f"{file}: devices[{i}] ({name})"
        opts = {k: c for k in ("capacity", "servers") if (c := e.integer(k)) is not None}
        nums = {k: x for k in ("speed", "memory", "idle_power", "busy_power", "reserved_share")
                if (x := e.number(k)) is not None}
        if kind is not None and (kind in DEVICE_CATALOG or kind in ("rpi3b+", "rpi3b", "rpi4b")):
            share = nums.pop("reserved_share", 0.0)
            dev = _call(where, get_device, kind, name, reserved_share=share, **opts)
            if nums:
                dev = _call(where, dataclasses.replace, dev, **nums)
        elif "speed" in nums:
            dev = _call(where, Device, name, kind=kind or "generic", **opts, **nums)
        elif kind is not None:
            raise InputFileError(
                f"{e.where('kind')} must be a catalog device kind or come with a speed (MAC/s), "
                f"got {kind!r}; known kinds: {list_devices()}")
        else:
            raise InputFileError(
                f"{where}: give a catalog kind ({', '.join(list_devices())}) or a speed (MAC/s)")
        devices.append(dev)
    names = [d.name for d in devices]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputFileError(f"{file}: devices: names must be unique, got duplicates {dup}")
    links: dict[frozenset[str], Any] = {}
    net = top.raw("network")
    if net is not None:
        if isinstance(net, str):
            net = {"star": net}
        n = _Entry(net, file, "network", ("star", "access"))
        preset = n.string("star", required=True)
        access = n.raw("access")
        if access is not None and not isinstance(access, Mapping):
            raise InputFileError(f"{n.where('access')} must map device -> link preset, got "
                                 f"{access!r:.60}")
        star = _call(f"{file}: network.star", star_links, names, preset,
                     {str(k): str(v) for k, v in (access or {}).items()})
        links.update((x.key, x) for x in star)
    for i, item in enumerate(top.raw("links") or []):
        e = _Entry(item, file, f"links[{i}]", LINK_KEYS)
        a, b = e.string("a", required=True), e.string("b", required=True)
        where = f"{file}: links[{i}] ({a}-{b})"
        for end, key in ((a, "a"), (b, "b")):
            if end not in names:
                raise InputFileError(f"{e.where(key)} must name a device, got {end!r}; known: "
                                     f"{names}")
        if e.has("link"):
            if e.has("bandwidth") or e.has("delay"):
                raise InputFileError(f"{where}: give either link (a preset) or bandwidth/delay, "
                                     f"not both")
            link = _call(where, get_link, e.string("link"), a, b)
        else:
            bw = e.number("bandwidth", required=True)
            link = _call(where, Link, a, b, bw, e.number("delay") or 0.0)
        links[link.key] = link
    return devices, list(links.values())


def _service_request(e: _Entry, splits: Any) -> Any:
    from datagen.zoo import get_profile, list_profiles
    from placement.request import ServiceRequest

    name = e.string("name", required=True)
    profile = e.string("profile", required=True)
    where = f"{e.file}: {e.path} ({name})"
    if profile not in list_profiles():
        raise InputFileError(f"{e.where('profile')} must be a zoo profile, got {profile!r}; "
                             f"known: {list_profiles()}")
    sla = e.number("sla")
    kwargs: dict[str, Any] = {
        "sla": math.inf if sla is None else sla,
        "k": e.integer("k"),
        "branches": e.integer("branches"),
        "scv": e.number("scv") or 0.0,
    }
    if splits is not None:
        kwargs["splits"] = tuple(splits)
    return _call(where, ServiceRequest, name, get_profile(profile),
                 e.number("arrival_rate", required=True), **kwargs)


def load_services(path: str | Path) -> list[Any]:
    """Read ``services.yaml``: the new services to deploy.

    Args:
        path: The file (schema in the module docstring and ``examples/services.yaml``).

    Returns:
        The :class:`placement.ServiceRequest` list.

    Raises:
        InputFileError: Naming the file, the field and the value.
    """
    file = str(path)
    out = []
    for i, item in enumerate(_items(read_yaml(path, "services"), file, "services")):
        e = _Entry(item, file, f"services[{i}]", SERVICE_KEYS)
        out.append(_service_request(e, e.names("splits")))
    return out


def load_running(path: str | Path) -> list[Any]:
    """Read ``running.yaml`` (or a decision file): the services already deployed.

    Args:
        path: The file (schema in the module docstring and ``examples/running.yaml``), or a
            decision written by ``python -m placement place`` (its services all count as
            running).

    Returns:
        :class:`placement.RunningService` objects.

    Raises:
        InputFileError: Naming the file, the field and the value.
    """
    from placement.candidates import build_service
    from placement.request import RunningService

    file = str(path)
    data = read_yaml(path, "running")
    if isinstance(data, Mapping) and "format" in data:
        from placement.decision import Decision

        scenario = Decision.from_dict(data, where=file).scenario
        return [RunningService(s, scenario.placement[s.name]) for s in scenario.services]
    out = []
    for i, item in enumerate(_items(data, file, "running")):
        e = _Entry(item, file, f"running[{i}]", RUNNING_KEYS)
        split = e.string("split") or "layer"
        req = _service_request(e, [split])
        devices = e.names("devices", required=True)
        where = f"{file}: running[{i}] ({req.name})"
        service = _call(where, build_service, req, split)
        out.append(_call(where, RunningService, service, tuple(devices or ())))
    return out


def load_request(
    cluster: str | Path, services: str | Path, running: str | Path | None = None
) -> Any:
    """Read the three files into a :class:`placement.PlacementRequest`.

    Args:
        cluster: ``cluster.yaml``.
        services: ``services.yaml``.
        running: ``running.yaml`` or a decision file (default: ``None`` = nothing running).

    Returns:
        The validated request.

    Raises:
        InputFileError: Naming the file, the field and the value (cross-file problems, such as
            a running service on an unknown device, name the running file).
    """
    from placement.request import PlacementRequest

    devices, links = load_cluster(cluster)
    new = load_services(services)
    old = load_running(running) if running is not None else []
    where = str(running) if running is not None else f"{cluster} + {services}"
    return _call(where, PlacementRequest, devices=tuple(devices), links=tuple(links),
                 services=tuple(new), running=tuple(old))
