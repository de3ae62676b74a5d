r"""Read and write the text format of the public ChainNet dataset.

The format (``shared/specs/chainnet-format.md``) stores each split as 14 whitespace-separated
text files: per-sample files (one line per deployment) and per-chain files (one line per
chain, chains concatenated in sample order). Its model is an open multiclass queueing network
with Poisson arrivals, one FCFS single-server station of capacity ``K`` per device,
deterministic service and no network. Time is unitless; we map it onto the world model with
device speed 1 MAC/s and fragment MACs equal to the service time ``S``, so that

.. math::
    \text{service time} = \frac{\text{macs}}{\text{speed}} = S, \qquad
    \lambda_c = \frac{1}{\texttt{arrival}_c}.

Names are canonical: devices ``d1..dN`` (the file's device numbers), services ``s1..sC`` and
fragments ``f1..fL`` in file order (see :func:`datagen.sampling.chainnet_device_name`), so
``read_chainnet(write_chainnet(x, d)) == x`` holds exactly for samples with canonical names and
``loss_ratio = 1 - tput_ratio`` (any output of :func:`read_chainnet` or of the
``chainnet_like`` sampler). The writer picks, for each rate, the decimal inter-arrival time
whose reciprocal gives back the same float, so rates survive the round trip bit for bit.

Labels are a DataFrame per sample, indexed by service name, with the columns
:data:`LABEL_COLUMNS`: ``throughput`` (requests per time unit), ``tput_ratio``,
``latency_mean`` (time units), ``respt_ratio`` = :math:`\sum_k S_k / R_c` and
``loss_ratio`` = ``1 - tput_ratio``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from datagen.sampling import chainnet_device_name, chainnet_fragment_name, chainnet_service_name
from datagen.world import Device, Fragment, Placement, Scenario, Service

__all__ = [
    "CHAINNET_FILES",
    "LABEL_COLUMNS",
    "ChainNetFormatError",
    "read_chainnet",
    "write_chainnet",
    "chainnet_incompatibilities",
    "check_chainnet_compatible",
]

CHAINNET_FILES: tuple[str, ...] = (
    "numClasses.txt",
    "numNodes.txt",
    "capacity.txt",
    "capacityRatio.txt",
    "arrival.txt",
    "path.txt",
    "service.txt",
    "serRatio.txt",
    "serStatProp.txt",
    "classCapacityRatio.txt",
    "throughput.txt",
    "tputRatio.txt",
    "responseTime.txt",
    "resptRatio.txt",
)
LABEL_COLUMNS: tuple[str, ...] = (
    "throughput",
    "tput_ratio",
    "latency_mean",
    "respt_ratio",
    "loss_ratio",
)

# Redundant files are cross-checked against the values rebuilt from the primary files with
# this tolerance: loose enough for copies printed with few digits, tight enough to catch a
# shifted line (values are random, so a misaligned line is off by far more).
_RTOL = 1e-2
_ATOL = 1e-3


class ChainNetFormatError(ValueError):
    """A ChainNet file is missing, misaligned or garbled; the message names file and line."""


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class _File:
    """The tokens of one text file, with errors that name the file and the line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ChainNetFormatError(f"cannot read {self.name}: {exc}") from exc
        lines = [ln.split() for ln in text.splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        for i, toks in enumerate(lines):
            if not toks:
                raise ChainNetFormatError(
                    f"{self.name} line {i + 1}: empty line inside the file; every line must hold "
                    f"values (lines would be misaligned)"
                )
        self.lines = lines

    def expect_lines(self, n: int, what: str) -> None:
        if len(self.lines) != n:
            hint = (
                f"line {len(self.lines) + 1} is missing" if len(self.lines) < n
                else f"line {n + 1} is extra"
            )
            raise ChainNetFormatError(
                f"{self.name} has {len(self.lines)} lines but {what} requires {n} ({hint}); the "
                f"files are misaligned"
            )

    def err(self, line: int, msg: str) -> ChainNetFormatError:
        return ChainNetFormatError(f"{self.name} line {line + 1}: {msg}")

    def floats(self, line: int, count: int | None, *, allow_nan: bool = False) -> list[float]:
        toks = self.lines[line]
        if count is not None and len(toks) != count:
            raise self.err(line, f"expected {count} values, got {len(toks)} ({' '.join(toks)!r})")
        out = []
        for t in toks:
            try:
                v = float(t)
            except ValueError:
                raise self.err(line, f"cannot parse {t!r} as a number") from None
            if math.isinf(v) or (math.isnan(v) and not allow_nan):
                raise self.err(line, f"value {t!r} must be finite")
            out.append(v)
        return out

    def ints(self, line: int, count: int | None, minimum: int = 1) -> list[int]:
        out = []
        for v, t in zip(self.floats(line, count), self.lines[line]):
            if not float(v).is_integer():
                raise self.err(line, f"expected an integer, got {t!r}")
            if v < minimum:
                raise self.err(line, f"value {t} must be >= {minimum}")
            out.append(int(v))
        return out


def _load(raw: Path, name: str) -> _File | None:
    path = raw / name
    return _File(path) if path.is_file() else None


def _check_close(f: _File, line: int, got: list[float], want: list[float], what: str) -> None:
    if len(got) != len(want) or any(
        abs(g - w) > _ATOL + _RTOL * abs(w) for g, w in zip(got, want)
    ):
        raise f.err(
            line,
            f"values {got} disagree with {what} = {[float(f'{w:.6g}') for w in want]}; the files "
            f"are misaligned or garbled",
        )


def read_chainnet(
    raw_dir: str | Path, *, require_labels: bool = True
) -> list[tuple[Scenario, pd.DataFrame]]:
    """Read a ChainNet split folder (e.g. ``train/raw``).

    Missing derived files are rebuilt: ``numNodes`` from ``capacity``; ``capacity`` from
    ``capacityRatio`` and ``path``; ``service`` from ``serRatio * arrival``; ``throughput`` from
    ``tputRatio / arrival`` and back; ``responseTime`` from ``sum(S) / resptRatio`` and back.
    ``capacityRatio``, ``classCapacityRatio``, ``serRatio`` and ``serStatProp`` are not needed;
    when present they are cross-checked against the primary files.

    Args:
        raw_dir: The folder holding the ``*.txt`` files.
        require_labels: Raise if the label files are missing; otherwise fill labels with NaN
            (default: ``True``).

    Returns:
        One ``(Scenario, labels)`` per sample, labels indexed by service name with the columns
        :data:`LABEL_COLUMNS`.

    Raises:
        ChainNetFormatError: If a needed file is missing and cannot be rebuilt (naming the
            sample field), or a file is misaligned or garbled (naming the file and the line).
    """
    raw = Path(raw_dir)
    if not raw.is_dir():
        raise ChainNetFormatError(f"ChainNet folder {str(raw)!r} does not exist")
    files = {name: _load(raw, name) for name in CHAINNET_FILES}

    def need(name: str, field: str) -> _File:
        f = files[name]
        if f is None:
            raise ChainNetFormatError(
                f"{name} is missing in {raw} and cannot be rebuilt: the {field} of every "
                f"sample is unknown"
            )
        return f

    ncls_f = need("numClasses.txt", "number of chains")
    num_samples = len(ncls_f.lines)
    ncls = [ncls_f.ints(i, 1)[0] for i in range(num_samples)]
    num_chains = sum(ncls)
    first_chain = np.concatenate([[0], np.cumsum(ncls)]).astype(int)
    what_s = f"numClasses.txt ({num_samples} samples)"
    what_c = f"numClasses.txt (sum = {num_chains} chains)"

    arr_f = need("arrival.txt", "mean inter-arrival time of each chain")
    arr_f.expect_lines(num_chains, what_c)
    interarrival = []
    for j in range(num_chains):
        t = arr_f.floats(j, 1)[0]
        if t <= 0:
            raise arr_f.err(j, f"mean inter-arrival time must be > 0, got {t}")
        interarrival.append(t)

    path_f = need("path.txt", "device path of each chain")
    path_f.expect_lines(num_chains, what_c)
    paths = [path_f.ints(j, None) for j in range(num_chains)]

    # Device counts and capacities.
    cap_f, capr_f, nn_f = files["capacity.txt"], files["capacityRatio.txt"], files["numNodes.txt"]
    for f in (cap_f, capr_f, nn_f):
        if f is not None:
            f.expect_lines(num_samples, what_s)
    nodes: list[int] = []
    for s in range(num_samples):
        if nn_f is not None:
            nodes.append(nn_f.ints(s, 1)[0])
        elif cap_f is not None:
            nodes.append(len(cap_f.lines[s]))
        elif capr_f is not None:
            nodes.append(len(capr_f.lines[s]))
        else:
            raise ChainNetFormatError(
                f"numNodes.txt, capacity.txt and capacityRatio.txt are all missing in {raw}: "
                f"the number of devices and their capacities cannot be rebuilt"
            )
    hosted: list[list[int]] = []
    for s in range(num_samples):
        count = [0] * nodes[s]
        for j in range(first_chain[s], first_chain[s + 1]):
            for d in paths[j]:
                if not 1 <= d <= nodes[s]:
                    raise path_f.err(
                        j, f"device {d} is out of range 1..{nodes[s]} (numNodes of sample {s + 1})"
                    )
                count[d - 1] += 1
        hosted.append(count)
    caps: list[list[int]] = []
    for s in range(num_samples):
        if cap_f is not None:
            k = cap_f.ints(s, nodes[s])
        elif capr_f is not None:
            ratio = capr_f.floats(s, nodes[s])
            if any(r <= 0 for r in ratio):
                raise capr_f.err(
                    s, "capacity.txt is missing and a device with ratio 0 hosts no fragment, so "
                    "its capacity cannot be rebuilt"
                )
            k = [max(1, round(n / r)) for n, r in zip(hosted[s], ratio)]
        else:
            raise ChainNetFormatError(
                f"capacity.txt and capacityRatio.txt are both missing in {raw}: the device "
                f"capacities K cannot be rebuilt"
            )
        caps.append(k)
    if cap_f is not None and capr_f is not None:
        for s in range(num_samples):
            want = [n / k for n, k in zip(hosted[s], caps[s])]
            _check_close(capr_f, s, capr_f.floats(s, nodes[s]), want,
                         "(fragments hosted) / capacity")

    # Service times.
    svc_f, serr_f = files["service.txt"], files["serRatio.txt"]
    for f in (svc_f, serr_f):
        if f is not None:
            f.expect_lines(num_chains, what_c)
    service: list[list[float]] = []
    for j in range(num_chains):
        n = len(paths[j])
        if svc_f is not None:
            st = svc_f.floats(j, n)
            src = svc_f
        elif serr_f is not None:
            st = [r * interarrival[j] for r in serr_f.floats(j, n)]
            src = serr_f
        else:
            raise ChainNetFormatError(
                f"service.txt and serRatio.txt are both missing in {raw}: the service times of "
                f"the fragments cannot be rebuilt"
            )
        for v in st:
            if v <= 0:
                raise src.err(j, f"service times must be > 0, got {v}")
        service.append(st)
        if svc_f is not None and serr_f is not None:
            _check_close(serr_f, j, serr_f.floats(j, n), [v / interarrival[j] for v in st],
                         "service / arrival")

    # Optional derived per-chain files: cross-check only.
    ssp_f, ccr_f = files["serStatProp.txt"], files["classCapacityRatio.txt"]
    for f in (ssp_f, ccr_f):
        if f is not None:
            f.expect_lines(num_chains, what_c)
    if ssp_f is not None or ccr_f is not None:
        for s in range(num_samples):
            total = [0.0] * nodes[s]
            for j in range(first_chain[s], first_chain[s + 1]):
                for d, v in zip(paths[j], service[j]):
                    total[d - 1] += v
            for j in range(first_chain[s], first_chain[s + 1]):
                n = len(paths[j])
                if ssp_f is not None:
                    want = [v / total[d - 1] for d, v in zip(paths[j], service[j])]
                    _check_close(ssp_f, j, ssp_f.floats(j, n), want,
                                 "service / (service summed over the device)")
                if ccr_f is not None:
                    want = [1.0 / caps[s][d - 1] for d in paths[j]]
                    _check_close(ccr_f, j, ccr_f.floats(j, n), want, "1 / capacity of the device")

    labels = _read_labels(files, raw, num_chains, what_c, interarrival, service, require_labels)

    out: list[tuple[Scenario, pd.DataFrame]] = []
    columns = pd.Index(LABEL_COLUMNS)
    for s in range(num_samples):
        devices = tuple(
            Device(name=chainnet_device_name(d + 1), speed=1.0, capacity=caps[s][d])
            for d in range(nodes[s])
        )
        services = []
        placement: dict[str, tuple[str, ...]] = {}
        names = []
        for c, j in enumerate(range(first_chain[s], first_chain[s + 1])):
            name = chainnet_service_name(c + 1)
            names.append(name)
            frags = tuple(
                Fragment(name=chainnet_fragment_name(k + 1), macs=v)
                for k, v in enumerate(service[j])
            )
            services.append(Service(name=name, fragments=frags, arrival_rate=1.0 / interarrival[j]))
            placement[name] = tuple(chainnet_device_name(d) for d in paths[j])
        scenario = Scenario(devices=devices, services=tuple(services),
                            placement=Placement(placement))
        lab = pd.DataFrame(
            labels[first_chain[s]:first_chain[s + 1]], index=pd.Index(names), columns=columns
        )
        out.append((scenario, lab))
    return out


def _read_labels(
    files: dict[str, _File | None],
    raw: Path,
    num_chains: int,
    what_c: str,
    interarrival: list[float],
    service: list[list[float]],
    require_labels: bool,
) -> np.ndarray:
    def col(name: str) -> list[float] | None:
        f = files[name]
        if f is None:
            return None
        f.expect_lines(num_chains, what_c)
        return [f.floats(j, 1, allow_nan=True)[0] for j in range(num_chains)]

    tput, ratio = col("throughput.txt"), col("tputRatio.txt")
    resp, rratio = col("responseTime.txt"), col("resptRatio.txt")
    nan = [math.nan] * num_chains
    missing = []
    if tput is None and ratio is None:
        missing.append("throughput (throughput.txt and tputRatio.txt)")
        tput = ratio = nan
    elif tput is None:
        assert ratio is not None
        tput = [r / t for r, t in zip(ratio, interarrival)]
    elif ratio is None:
        ratio = [x * t for x, t in zip(tput, interarrival)]
    total = [sum(s) for s in service]
    if resp is None and rratio is None:
        missing.append("response time (responseTime.txt and resptRatio.txt)")
        resp = rratio = nan
    elif resp is None:
        assert rratio is not None
        resp = [tot / r if r > 0 else math.inf for tot, r in zip(total, rratio)]
    elif rratio is None:
        rratio = [tot / r if r > 0 else math.nan for tot, r in zip(total, resp)]
    if missing and require_labels:
        raise ChainNetFormatError(
            f"the labels {', '.join(missing)} are missing in {raw} and cannot be rebuilt; pass "
            f"require_labels=False to read unlabelled samples"
        )
    out = np.empty((num_chains, len(LABEL_COLUMNS)))
    out[:, 0] = tput
    out[:, 1] = ratio
    out[:, 2] = resp
    out[:, 3] = rratio
    out[:, 4] = 1.0 - out[:, 1]
    return out


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def chainnet_incompatibilities(scenario: Scenario) -> list[str]:
    """List why ``scenario`` falls outside the ChainNet model (empty if it fits).

    The model has single-server devices, deterministic service, Poisson arrivals, layer splits
    and no network, and a chain never visits a device twice.
    """
    reasons = []
    if scenario.links:
        reasons.append(f"it has {len(scenario.links)} network links (the format has no network)")
    for d in scenario.devices:
        if d.servers != 1:
            reasons.append(f"device {d.name!r} has {d.servers} servers (the format has 1)")
    for svc in scenario.services:
        if svc.split != "layer":
            reasons.append(f"service {svc.name!r} uses a {svc.split} split (parallel branches)")
        if svc.scv != 0:
            reasons.append(f"service {svc.name!r} has service-time SCV {svc.scv} (format: 0)")
        if svc.mmpp is not None:
            reasons.append(f"service {svc.name!r} has MMPP arrivals (format: Poisson)")
        devs = scenario.placement[svc.name]
        if len(set(devs)) != len(devs):
            reasons.append(f"service {svc.name!r} visits a device twice ({list(devs)})")
    return reasons


def check_chainnet_compatible(scenario: Scenario, where: str = "scenario") -> None:
    """Raise a :class:`ValueError` naming every reason ``scenario`` does not fit the format."""
    reasons = chainnet_incompatibilities(scenario)
    if reasons:
        raise ValueError(
            f"{where} cannot be written in the ChainNet format: " + "; ".join(reasons)
            + ". Only deterministic, single-server, link-free layer-split scenarios fit it "
            "(e.g. the chainnet_like and large regimes)"
        )


def _fmt(x: float) -> str:
    return repr(float(x))


def _interarrival_text(rate: float) -> str:
    """Decimal text of ``1/rate`` that reads back (``1/float(text)``) as exactly ``rate``."""
    t = 1.0 / rate
    cand = t
    for _ in range(4):
        if 1.0 / cand == rate:
            return repr(cand)
        cand = float(np.nextafter(cand, math.inf))
    cand = t
    for _ in range(4):
        cand = float(np.nextafter(cand, 0.0))
        if 1.0 / cand == rate:
            return repr(cand)
    return repr(t)


def write_chainnet(
    samples: Iterable[tuple[Scenario, pd.DataFrame]], raw_dir: str | Path
) -> Path:
    """Write samples as the 14 ChainNet text files.

    Devices are numbered by their order in ``scenario.devices``; service times are
    ``macs / effective_speed``.

    Args:
        samples: ``(Scenario, labels)`` pairs; labels indexed by service name with at least
            ``throughput``, ``tput_ratio``, ``latency_mean`` and ``respt_ratio``.
        raw_dir: Output folder (created if needed; existing files are overwritten).

    Returns:
        ``raw_dir`` as a :class:`~pathlib.Path`, so ``read_chainnet(write_chainnet(x, d))``
        reads back what was written.

    Raises:
        ValueError: If a scenario does not fit the format (naming the sample and the reasons),
            its labels lack a column or a service, or ``raw_dir`` cannot be written (a file,
            or not writable).
    """
    lines: dict[str, list[str]] = {name: [] for name in CHAINNET_FILES}
    need = ("throughput", "tput_ratio", "latency_mean", "respt_ratio")
    for i, (scenario, labels) in enumerate(samples):
        check_chainnet_compatible(scenario, f"sample {i}")
        missing_cols = [c for c in need if c not in labels.columns]
        if missing_cols:
            raise ValueError(
                f"labels of sample {i} lack the columns {missing_cols}; they need {list(need)}"
            )
        index = {d.name: k + 1 for k, d in enumerate(scenario.devices)}
        hosted = dict.fromkeys(index, 0)
        total = dict.fromkeys(index, 0.0)
        times: dict[str, list[float]] = {}
        for svc in scenario.services:
            devs = scenario.placement[svc.name]
            times[svc.name] = [
                f.macs / scenario.device(d).effective_speed for f, d in zip(svc.fragments, devs)
            ]
            for d, v in zip(devs, times[svc.name]):
                hosted[d] += 1
                total[d] += v
        lines["numClasses.txt"].append(str(len(scenario.services)))
        lines["numNodes.txt"].append(str(len(scenario.devices)))
        lines["capacity.txt"].append(" ".join(str(d.capacity) for d in scenario.devices))
        lines["capacityRatio.txt"].append(
            " ".join(_fmt(hosted[d.name] / d.capacity) for d in scenario.devices)
        )
        names = [svc.name for svc in scenario.services]
        pos = labels.index.get_indexer(names)
        if (pos < 0).any():
            absent = [n for n, p in zip(names, pos) if p < 0]
            raise ValueError(f"labels of sample {i} have no row for services {absent}")
        values = np.column_stack([labels[c].to_numpy(dtype=float) for c in need])[pos]
        for svc, row in zip(scenario.services, values):
            devs = scenario.placement[svc.name]
            st = times[svc.name]
            lam = svc.arrival_rate
            lines["arrival.txt"].append(_interarrival_text(lam))
            lines["path.txt"].append(" ".join(str(index[d]) for d in devs))
            lines["service.txt"].append(" ".join(_fmt(v) for v in st))
            lines["serRatio.txt"].append(" ".join(_fmt(lam * v) for v in st))
            lines["serStatProp.txt"].append(
                " ".join(_fmt(v / total[d]) for d, v in zip(devs, st))
            )
            lines["classCapacityRatio.txt"].append(
                " ".join(_fmt(1.0 / scenario.device(d).capacity) for d in devs)
            )
            lines["throughput.txt"].append(_fmt(row[0]))
            lines["tputRatio.txt"].append(_fmt(row[1]))
            lines["responseTime.txt"].append(_fmt(row[2]))
            lines["resptRatio.txt"].append(_fmt(row[3]))
    raw = Path(raw_dir)
    try:
        raw.mkdir(parents=True, exist_ok=True)
        for name, content in lines.items():
            (raw / name).write_text("".join(f"{ln}\n" for ln in content))
    except OSError as exc:
        raise ValueError(
            f"cannot write the ChainNet files to {str(raw)!r}: {exc.strerror or exc}; choose a "
            f"writable folder path"
        ) from None
    return raw

