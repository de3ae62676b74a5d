r"""Scenario samplers: random deployments to label by simulation, configured by YAML.

Four regimes ship under ``datagen/configs/`` (load them by name or pass a path):

- ``chainnet_like``: the generator of the public ChainNet dataset (Niu, Roveri, Casale,
  DSN 2024). 1-3 services, 2-10 devices, 2-6 fragments per service, capacity
  :math:`K \sim U\{1..50\}`, :math:`1/\lambda \sim U(0.1, 10)`, :math:`S \sim U(0, 2)`;
  at most 3 fragments per device, every device hosts at least one fragment, a service never
  visits a device twice; deterministic service, one server, no links. Time is unitless: every
  device has speed 1 MAC/s and a fragment's MACs equal its service time ``S``.
- ``large``: the same rules scaled up (the public ``test_TypeII`` split): up to 12 services,
  up to 67 devices, 12 fragments per service, ``K`` up to 100.
- ``edge``: realistic deployments: DNN profiles from :mod:`datagen.zoo`, layer and semantic
  splits from :mod:`datagen.splitting`, devices from :mod:`datagen.catalog`, memory-feasible
  placements, links with bandwidth and delay, gamma service times with SCV in [0, 2], and
  arrival rates scaled so that the bottleneck (device or link) utilisation

  .. math::
      \rho_{\max} = \max_{r} \sum_{c} \lambda_c \, \sum_{k:\, r_k = r} \tau_{c,k},

  with :math:`\tau` the mean service (or transfer) time at resource :math:`r`, is drawn
  uniformly between a light and an overloaded level.
- ``placer``: what the placer (:mod:`placement`) evaluates, bad candidates included: the
  requests it is given (jittered catalog devices, sometimes tight memory, zoo DNNs split as it
  splits them, cluster utilisation up to saturation and beyond) and placements drawn from its
  search (random, greedy, local-search trajectories with poor moves, colocated runs of
  fragments, work piled on slow devices). See :class:`PlacerConfig`.

Each YAML file holds a ``regime`` key, the sampler fields of that regime and a ``simulation``
section (``num_requests``, ``warmup``) used by :func:`datagen.dataset.generate`.

Sampling of the ``chainnet_like``/``large`` structure: draw the number of services ``C``
and each length ``L_c``; then draw the number of devices ``N`` uniformly over the values that
admit a valid placement, i.e. :math:`\max(N_{\min}, \lceil \sum L / 3 \rceil, \max L)
\le N \le \min(N_{\max}, \sum L)` (redrawing ``C`` and ``L`` if that range is empty).
Fragments are then dealt to devices: a random permutation of ``N`` fragments covers every
device once, and the other fragments go to a uniformly chosen device that the service has not
visited yet and that holds fewer than 3 fragments (restarting on a dead end).

The configs live in :mod:`datagen.sampler_configs`, the samplers in :mod:`datagen.samplers`
and the ``placer`` regime's placement strategies in :mod:`datagen.packing`; this module loads
configs (YAML, dicts) and dispatches :func:`sample_scenario`, and re-exports the rest.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from datagen.sampler_configs import (
    MAX_CONFIG_INT,
    PLACER_STRATEGIES,
    REGIMES,
    ChainLikeConfig,
    EdgeConfig,
    PlacerConfig,
    SamplerConfig,
    SimulationConfig,
)
from datagen.samplers import (
    chainnet_device_name,
    chainnet_fragment_name,
    chainnet_service_name,
    sample_chainlike,
    sample_edge,
    sample_placer,
)
from datagen.samplers import unit_loads as _unit_loads  # noqa: F401 (tests)
from datagen.validation import finite_float, is_int, is_real, show_value
from datagen.world import Scenario

__all__ = [
    "REGIMES",
    "SimulationConfig",
    "ChainLikeConfig",
    "EdgeConfig",
    "PlacerConfig",
    "PLACER_STRATEGIES",
    "SamplerConfig",
    "load_sampler_config",
    "config_from_dict",
    "config_to_dict",
    "list_configs",
    "sample_scenario",
    "chainnet_device_name",
    "chainnet_service_name",
    "chainnet_fragment_name",
    "MAX_CONFIG_INT",
]


def config_to_dict(config: SamplerConfig) -> dict[str, Any]:
    """Return a YAML/JSON-ready dict of ``config``; :func:`config_from_dict` inverts it."""
    out = asdict(config)
    for key, value in out.items():
        if isinstance(value, tuple):
            out[key] = list(value)
    return out


def config_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> SamplerConfig:
    """Build a sampler config from a mapping (parsed YAML).

    Args:
        data: Mapping with a ``regime`` key, sampler fields and an optional ``simulation``
            mapping.
        source: Where the mapping came from, for error messages (default: ``"<dict>"``).

    Returns:
        A :class:`ChainLikeConfig`, an :class:`EdgeConfig` or a :class:`PlacerConfig`.

    Raises:
        ValueError: On an unknown regime, an unknown key or an invalid value.
    """
    if not isinstance(data, Mapping):
        raise ValueError(
            f"sampler config {source} must be a mapping with a 'regime' key, got "
            f"{type(data).__name__}"
        )
    if "regime" not in data:
        close = difflib.get_close_matches("regime", [str(k) for k in data], n=1)
        hint = f" (is {close[0]!r} a misspelling?)" if close else ""
        raise ValueError(
            f"regime is missing in sampler config {source}{hint}; add regime: one of {REGIMES}"
        )
    regime = data["regime"]
    if not isinstance(regime, str) or regime not in REGIMES:
        raise ValueError(
            f"regime in sampler config {source} must be one of {REGIMES}, got {regime!r}"
            + _did_you_mean(regime, REGIMES)
        )
    cls: type[ChainLikeConfig] | type[EdgeConfig] | type[PlacerConfig] = {
        "edge": EdgeConfig, "placer": PlacerConfig
    }.get(regime, ChainLikeConfig)
    _check_keys(data, [f.name for f in fields(cls)], f"sampler config {source} (regime "
                f"{regime!r})")
    kwargs = dict(data)
    sim = kwargs.pop("simulation", None) or {}
    if not isinstance(sim, Mapping):
        raise ValueError(f"simulation in sampler config {source} must be a mapping, got {sim!r}")
    _check_keys(sim, [f.name for f in fields(SimulationConfig)],
                f"the simulation section of sampler config {source}")
    defaults = cls()
    for key, value in kwargs.items():
        kwargs[key] = _coerce(source, key, getattr(defaults, key), value)
    sim_defaults = SimulationConfig()
    sim = {k: _coerce(source, f"simulation.{k}", getattr(sim_defaults, k), v)
           for k, v in sim.items()}
    try:
        return cls(**kwargs, simulation=SimulationConfig(**sim))
    except TypeError as exc:
        raise ValueError(f"invalid sampler config {source}: {exc}") from exc


def _did_you_mean(word: Any, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_keys(data: Mapping[Any, Any], known: Sequence[str], where: str) -> None:
    """Refuse keys not in ``known``, naming each and the closest known key."""
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, list(known), n=1)
            if close:
                hints.append(f"{close[0]!r} for {key!r}")
        hint = f"; did you mean {', '.join(hints)}?" if hints else ""
        raise ValueError(f"unknown keys {unknown} in {where}{hint} (known keys: {sorted(known)})")


def _coerce(source: str, key: str, default: Any, value: Any) -> Any:
    """Check ``value`` against the type of the field's default (ints are accepted as floats).

    Numpy scalars are accepted where Python numbers are; a number beyond the float range, NaN
    or inf is refused.
    """
    if isinstance(default, bool) or isinstance(default, str):
        if not isinstance(value, type(default)):
            raise ValueError(f"{key} in sampler config {source} must be a "
                             f"{type(default).__name__}, got {value!r}")
        return value
    if isinstance(default, int):
        if not is_int(value):
            raise ValueError(f"{key} in sampler config {source} must be an integer, got {value!r}")
        return int(value)
    if default is None:
        if value is None:
            return None
        x = finite_float(value)
        if x is None:
            raise ValueError(f"{key} in sampler config {source} must be a finite number or null, "
                             f"got {show_value(value)}")
        return x
    if isinstance(default, float):
        if not is_real(value):
            raise ValueError(
                f"{key} in sampler config {source} must be a number, got {value!r} (write "
                f"exponents with a sign and a dot, e.g. 1.25e+6, or YAML reads a string)"
            )
        x = finite_float(value)
        if x is None:
            raise ValueError(
                f"{key} in sampler config {source} must be a finite number, got {show_value(value)}"
            )
        return x
    if isinstance(default, tuple):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError(f"{key} in sampler config {source} must be a list, got {value!r}")
        return tuple(value)
    return value


def list_configs() -> list[str]:
    """Names of the packaged sampler configs (``datagen/configs/*.yaml``)."""
    root = resources.files("datagen") / "configs"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_sampler_config(path_or_name: str | Path) -> SamplerConfig:
    """Load a sampler config from a YAML file or by packaged name.

    Args:
        path_or_name: A path to a YAML file, or the name of a packaged config
            (``"chainnet_like"``, ``"large"``, ``"edge"``, ``"placer"``).

    Returns:
        The validated config.

    Raises:
        ValueError: If the file does not exist, is not valid YAML or holds an invalid config.
    """
    import yaml

    text: str
    source = str(path_or_name)
    path = Path(path_or_name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        try:
            text = path.read_text()
        except OSError as exc:
            raise ValueError(f"cannot read sampler config {source!r}: {exc}") from exc
    else:
        res = resources.files("datagen") / "configs" / f"{source}.yaml"
        if not res.is_file():
            raise ValueError(
                f"unknown sampler config {source!r}: not a file and not one of the packaged "
                f"configs {list_configs()}"
            )
        text = res.read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"sampler config {source!r} is not valid YAML: {exc}") from exc
    return config_from_dict(data, source=repr(source))


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def sample_scenario(config: SamplerConfig, rng: np.random.Generator) -> Scenario:
    """Draw one scenario.

    Args:
        config: A :class:`ChainLikeConfig`, an :class:`EdgeConfig` or a :class:`PlacerConfig`.
        rng: The random generator (advanced in place).

    Returns:
        A valid :class:`~datagen.world.Scenario`.

    Raises:
        ValueError: If ``config`` is not a sampler config, or no valid scenario is found in
            1000 draws (the ranges are infeasible).
    """
    if isinstance(config, ChainLikeConfig):
        return sample_chainlike(config, rng)
    if isinstance(config, EdgeConfig):
        return sample_edge(config, rng)
    if isinstance(config, PlacerConfig):
        return sample_placer(config, rng)
    raise ValueError(
        f"config must be a ChainLikeConfig, EdgeConfig or PlacerConfig, got "
        f"{type(config).__name__}"
    )
