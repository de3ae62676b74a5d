"""The end-to-end demo: data, surrogate, bandit split, placement, simulation, report.

Covers, on built-in defaults and printing progress as it goes:

1. generate a small labelled dataset (``edge`` regime) with :func:`datagen.dataset.generate`;
2. check the default surrogate on it (:meth:`chainnet.Surrogate.default`, or
   :class:`chainnet.AnalyticSurrogate` with a printed note when no trained model is packaged);
3. place a sample workload of the SplitPlace edge profiles on a sample Raspberry-Pi cluster
   joined by a Wi-Fi network (:meth:`placement.PlacementRequest.star`) with
   :class:`placement.Placer`, its split policy (the packaged pre-warmed ``informed`` bandit,
   optionally warmed up further online with :class:`placement.OnlineExperiment`) choosing
   each service's split from the surrogate's predicted expected reward;
4. verify the placement by simulation (:func:`datagen.sim.simulate`), predicted vs simulated,
   and feed the measurement back to the split policy (:meth:`placement.Placer.observe`);
5. write the quick evaluation report (:mod:`scripts.report`) and print where it is.

To run (about 3-5 minutes on two cores)::

    python -m scripts.demo                      # writes reports/demo/
    python -m scripts.demo --out /tmp/demo --seed 1 --num_samples 40 --bandit_steps 60

Flags are snake_case as everywhere (``--samples``, ``--bandit-steps`` and ``--report-sections``
still work, with a deprecation note: use ``--num_samples``, ``--bandit_steps``, ``--sections``).
As in LightningCLI, ``--print_config`` prints the flags as YAML and ``--config FILE.yaml`` reads
them back (later flags override it).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from scripts._cli import parse_command_line, usage_error

PROG = "python -m scripts.demo"
__all__ = ["RENAMED", "build_parser", "main", "sample_cluster", "sample_workload"]

#: Deprecated flag spelling -> current one.
RENAMED: dict[str, str] = {"--samples": "--num_samples", "--num-samples": "--num_samples",
                           "--bandit-steps": "--bandit_steps", "--report-sections": "--sections",
                           "--report_sections": "--sections"}

#: Device kinds (:mod:`datagen.catalog`) of the sample edge cluster (Raspberry-Pi class, the
#: cluster of the SplitPlace experiments and of :class:`placement.OnlineExperiment`).
CLUSTER = ("rpi4", "rpi4", "rpi3", "rpi3", "rpi3", "orangepi_zero")
#: Link preset of the sample cluster's star network (:data:`datagen.catalog.LINK_CATALOG`).
NETWORK = "wifi"
#: (service name, zoo profile, share of the cluster's compute it offers, SLA factor x
#: reference latency). The shares add up to 65% of the cluster's MAC/s.
WORKLOAD = (
    ("mnist", "splitplace_mnist", 0.25, 3.0),
    ("fashion", "splitplace_fashionmnist", 0.20, 1.0),
    ("cifar", "splitplace_cifar100", 0.20, 2.0),
)


def _say(step: str, msg: str) -> None:
    print(f"[demo {step}] {msg}", flush=True)


def sample_cluster() -> list[Any]:
    """The sample edge cluster: catalog devices named ``d0, d1, ...``."""
    from datagen.catalog import get_device

    return [get_device(kind, f"d{i}", capacity=8) for i, kind in enumerate(CLUSTER)]


def sample_workload(devices: Sequence[Any]) -> list[Any]:
    r"""The sample workload: the SplitPlace edge profiles, both splits allowed, with SLAs.

    The arrival rate of a service offers its share of the cluster's compute,
    :math:`\lambda = u \sum_d s_d / m` (``m`` the profile's MACs); the SLA is a factor times the
    reference latency (profile MACs / mean device speed).
    """
    from datagen.zoo import get_profile
    from placement.request import ServiceRequest

    total_speed = sum(d.effective_speed for d in devices)
    mean_speed = total_speed / len(devices)
    out = []
    for name, prof, share, factor in WORKLOAD:
        p = get_profile(prof)
        rate = share * total_speed / p.total_macs
        out.append(ServiceRequest(name, p, rate, sla=factor * p.total_macs / mean_speed))
    return out


def _fmt_table(frame: pd.DataFrame) -> str:
    return frame.to_string(float_format=lambda v: f"{v:.4g}")


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    from datagen.cli_common import tool_parser

    ap = tool_parser(PROG, __doc__, keep_layout=True)
    ap.add_argument("--out", type=str, default="reports/demo",
                    help="output folder (default: reports/demo)")
    ap.add_argument("--seed", type=int, default=0, help="seed of everything (default: 0)")
    ap.add_argument("--num_samples", type=int, default=40,
                    help="dataset scenarios (default: 40)")
    ap.add_argument("--bandit_steps", type=int, default=60,
                    help="online warm-up steps of the split bandit (default: 60)")
    ap.add_argument("--sections", type=str | None, default=None,
                    help="comma list of report sections (default: all)")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run the five steps of the demo (``python -m scripts.demo``); returns the exit status 0.

    Raises:
        SystemExit: Status 2 after one line on stderr for a bad flag or value; status 0 after
            ``--help`` or ``--print_config``.
    """
    args = parse_command_line(build_parser(), argv, RENAMED)
    if args.num_samples < 1 or args.bandit_steps < 0 or args.seed < 0:
        usage_error(PROG, "--num_samples must be >= 1, --bandit_steps and --seed >= 0")
    warnings.simplefilter("ignore", RuntimeWarning)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    # 1. dataset
    from datagen.dataset import generate
    from datagen.sampling import load_sampler_config

    t0 = time.perf_counter()
    cfg = load_sampler_config("edge")
    cfg = dataclasses.replace(cfg, simulation=dataclasses.replace(
        cfg.simulation, num_requests=3_000, max_rounds=1))
    data_dir = out / "dataset"
    _say("1/5", f"generating {args.num_samples} edge scenarios (simulated) into {data_dir} ...")
    generate(cfg, data_dir, args.num_samples, seed=args.seed, progress=False)
    from training.samples import load_samples

    samples = load_samples(data_dir)
    n_services = sum(len(s[0].services) for s in samples)
    _say("1/5", f"{len(samples)} scenarios, {n_services} services labelled "
                f"({time.perf_counter() - t0:.1f} s)")

    # 2. default surrogate
    from chainnet import AnalyticSurrogate, Surrogate
    from training.evaluate import evaluate

    try:
        predictor: Any = Surrogate.default()
        _say("2/5", f"loaded the packaged surrogate {type(predictor.model).__name__}")
    except FileNotFoundError:
        predictor = AnalyticSurrogate()
        _say("2/5", "NOTE: no trained surrogate is packaged (chainnet/checkpoints/default.pt "
                    "is missing); falling back to chainnet.AnalyticSurrogate()")
    table = evaluate(predictor, samples)
    shown = table.copy()
    for col in ("tput_mape", "respt_mape", "combined_mape", "latency_mape", "p95_ape"):
        shown[col] = shown[col].map(lambda v: f"{100 * v:.2f}%")
    _say("2/5", "accuracy on the new dataset (overall and by services per graph):\n"
         + shown.to_string())

    # 3. bandit + placement
    from placement.online import OnlineExperiment
    from placement.placer import Placer
    from placement.request import PlacementRequest

    t0 = time.perf_counter()
    devices = sample_cluster()
    from placement.policies import SplitPolicy

    placer = Placer(predictor=predictor, seed=args.seed)
    policy = placer.split_policy
    assert isinstance(policy, SplitPolicy)  # the default Placer's policy learns online
    if args.bandit_steps:
        _say("3/5", f"warming up the split bandit ({type(policy).__name__}) online for "
                    f"{args.bandit_steps} deployments (both splits simulated each step) ...")
        log = OnlineExperiment(policy, devices=devices, predictor=predictor,
                               seed=args.seed).run(args.bandit_steps)
        _say("3/5", f"bandit reward {log.reward.sum() / log.oracle_reward.sum():.1%} of the "
                    f"oracle's, regret {log.regret.sum():.2f}")
    # a Wi-Fi star network: activations between devices cost transfer time, so splits are
    # no longer free
    request = PlacementRequest.star(devices, link=NETWORK, services=sample_workload(devices))
    kinds = ", ".join(f"{d.name}={d.kind}" for d in devices)
    _say("3/5", f"placing {len(request.services)} services on {len(devices)} devices "
                f"({kinds}) joined by {NETWORK} ...")
    decision = placer.place(request)
    _say("3/5", f"decision in {time.perf_counter() - t0:.1f} s:\n{decision.summary()}")
    if decision.split_context is not None and len(decision.split_context):
        _say("3/5", "split chosen by the bandit per service:\n"
             + _fmt_table(decision.split_context))

    # 4. verification by simulation
    from datagen.sim import simulate

    t0 = time.perf_counter()
    res = simulate(decision.scenario, num_requests=10_000, seed=args.seed + 1)
    sim = res.services
    cols = ["throughput", "loss_ratio", "latency_mean", "latency_p95"]
    predicted = decision.predicted.set_index("service")
    both = pd.concat({"predicted": predicted[cols], "simulated": sim[cols]}, axis=1)
    sla = pd.Series({s.name: s.sla for s in decision.scenario.services})
    both[("simulated", "p95 <= SLA")] = sim["latency_p95"] <= sla.reindex(sim.index)
    _say("4/5", f"simulated 10000 requests per service ({time.perf_counter() - t0:.1f} s):\n"
         + _fmt_table(both))
    lost = float((sim["arrival_rate"] * sim["loss_ratio"]).sum())
    _say("4/5", f"total lost {lost:.3g} requests/s of {float(sim['arrival_rate'].sum()):.3g}")
    placer.observe(decision, sim)
    _say("4/5", f"fed the measurement back to the split policy "
                f"({int(policy.counts_.sum())} observations so far)")

    # 5. report
    from scripts.report import SECTIONS, build_report
    from scripts.report_sections.base import ReportContext

    sections = SECTIONS if args.sections is None else tuple(
        s.strip() for s in args.sections.split(",") if s.strip())
    _say("5/5", f"writing the quick report ({', '.join(sections)}) ...")
    report, _ = build_report(ReportContext(out / "report", quick=True, seed=args.seed), sections,
                             log=lambda m: _say("5/5", m))
    total = time.perf_counter() - t_start
    _say("done", f"finished in {total:.0f} s ({math.ceil(total / 60)} min)")
    print(f"\nReport: {report.resolve()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
