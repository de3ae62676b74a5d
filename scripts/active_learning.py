r"""Active learning for the surrogate: label what the placer ranks best and what it is unsure of.

A surrogate driving a search must be right where the search goes. One round:

1. draw fresh placement problems from the ``placer`` regime (devices, services, links);
2. run the placer's search (:class:`placement.search.LocalSearch`) driven by the surrogate
   under test and keep its ``--pool`` best distinct candidates;
3. from them take the ``--top`` best predicted and the ``--disagree`` with the largest
   predicted ``uncertainty`` (ensemble spread plus prior gap, see :class:`chainnet.Surrogate`);
4. label those by simulation into a dataset (:func:`datagen.dataset.label_scenarios`).

Retrain (or fine-tune) on the old data plus the new folder, and repeat. Usage::

    python -m scripts.active_learning --model runs/ft0.pt --out data/placer_al1 \
        --requests 250 --seed 81 --workers 2

``--workers`` processes label side by side; the labels do not depend on their number.

As in LightningCLI, ``--print_config`` prints the flags as YAML and ``--cli_config FILE.yaml``
reads them back (later flags override it); the file option is not ``--config``, which names the
sampler config of the problems here, as in ``python -m datagen generate``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scripts._cli import parse_command_line, usage_error

__all__ = ["RENAMED", "build_parser", "request_from_scenario", "select_candidates", "main"]

PROG = "python -m scripts.active_learning"
#: Deprecated flag spelling -> current one.
RENAMED: dict[str, str] = {"--num-requests": "--num_requests"}


def request_from_scenario(scenario: Any) -> Any:
    """The placement request whose services (split fixed) and cluster are those of a scenario.

    Args:
        scenario: A :class:`datagen.Scenario` drawn by the ``placer`` regime (services built
            from zoo profiles with :func:`datagen.splitting.make_service`).

    Returns:
        A :class:`placement.PlacementRequest`, or ``None`` when a service cannot be rebuilt
        from its profile exactly (its fragments would differ).
    """
    from datagen.zoo import get_profile
    from placement.candidates import build_service
    from placement.request import PlacementRequest, ServiceRequest

    services = []
    for svc in scenario.services:
        if svc.profile is None or svc.mmpp is not None:
            return None
        n = len(svc.fragments)
        req = ServiceRequest(
            svc.name, get_profile(svc.profile), svc.arrival_rate, sla=svc.sla,
            splits=(svc.split,), k=n if svc.split == "layer" else None,
            branches=n if svc.split == "semantic" else None, scv=svc.scv,
        )
        if build_service(req, svc.split).fragments != svc.fragments:
            return None
        services.append(req)
    return PlacementRequest(devices=scenario.devices, services=tuple(services),
                            links=scenario.links)


def select_candidates(
    request: Any, surrogate: Any, rng: np.random.Generator, *, pool: int, top: int,
    disagree: int,
) -> tuple[list[Any], list[str]]:
    """The surrogate's best candidates and its most uncertain ones for one request.

    Returns:
        ``(scenarios, reasons)`` with reasons ``"top"`` or ``"uncertain"``.
    """
    from placement.candidates import CandidateSpace
    from placement.objective import Objective
    from placement.search import LocalSearch

    objective = Objective()
    space = CandidateSpace(request, {s.name: s.splits[0] for s in request.services})
    res = LocalSearch().search(space, surrogate, objective, rng=rng, top_k=pool)
    scenarios = [space.to_scenario(a) for a in res.assignments]
    frame = surrogate.predict(scenarios)
    pred = np.asarray(objective(scenarios, frame), dtype=float)
    unc = frame.groupby("scenario")["uncertainty"].max().reindex(
        range(len(scenarios))).to_numpy()
    order = list(np.argsort(pred, kind="stable")[:top])
    rest = [i for i in np.argsort(-unc, kind="stable") if i not in order][:disagree]
    picked = [int(i) for i in order] + [int(i) for i in rest]
    reasons = ["top"] * len(order) + ["uncertain"] * len(rest)
    return [scenarios[i] for i in picked], reasons


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    from datagen.cli_common import tool_parser

    ap = tool_parser(PROG, __doc__, config_flag="--cli_config", keep_layout=True,
                     config_help="read these flags from a YAML file written by --print_config "
                                 "(not --config: that is the sampler config of the problems)")
    ap.add_argument("--model", type=str, required=True,
                    help="surrogate checkpoint driving the search")
    ap.add_argument("--out", type=str, required=True, help="dataset folder to write")
    ap.add_argument("--config", type=str, default="placer", help="sampler config of the problems")
    ap.add_argument("--requests", type=int, default=250, help="placement problems (default 250)")
    ap.add_argument("--pool", type=int, default=32, help="best candidates kept per search")
    ap.add_argument("--top", type=int, default=3, help="best predicted labelled per problem")
    ap.add_argument("--disagree", type=int, default=3, help="most uncertain labelled per problem")
    ap.add_argument("--num_requests", type=int | None, default=None,
                    help="simulated requests per label (default: the config's)")
    ap.add_argument("--seed", type=int, default=0, help="seed of problems, search and labels")
    ap.add_argument("--workers", type=int, default=1,
                    help="processes that label side by side (default 1; labels do not depend "
                         "on it)")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run one round (``python -m scripts.active_learning``): search, pick, label.

    Returns:
        The exit status: 0, or 2 when the ``--model`` file does not exist.

    Raises:
        SystemExit: Status 2 after one line on stderr for a bad flag or value; status 0 after
            ``--help`` or ``--print_config``.
    """
    args = parse_command_line(build_parser(), argv, RENAMED)
    for name in ("requests", "pool", "top", "workers"):
        if getattr(args, name) < 1:
            usage_error(PROG, f"--{name} must be >= 1")
    if args.disagree < 0 or args.seed < 0:
        usage_error(PROG, "--disagree and --seed must be >= 0")
    if not Path(args.model).is_file():
        print(f"error: --model {args.model!r} does not exist; train one (python -m training fit "
              "...) or use chainnet/checkpoints/default.pt", file=sys.stderr)
        return 2

    from tqdm.auto import tqdm

    from chainnet import Surrogate
    from datagen.dataset import label_scenarios
    from datagen.sampling import load_sampler_config, sample_scenario

    t0 = time.perf_counter()
    cfg = load_sampler_config(args.config)
    if args.num_requests is not None:
        cfg = dataclasses.replace(cfg, simulation=dataclasses.replace(
            cfg.simulation, num_requests=args.num_requests))
    surrogate = Surrogate.load(args.model)
    problem_ss, search_ss = np.random.SeedSequence(args.seed).spawn(2)
    problems = np.random.default_rng(problem_ss)
    searches = np.random.default_rng(search_ss)
    chosen: list[Any] = []
    reasons: list[str] = []
    made = 0
    with tqdm(total=args.requests, desc="active learning", unit="problem") as bar:
        while made < args.requests:
            request = request_from_scenario(sample_scenario(cfg, problems))
            if request is None:
                continue
            scen, why = select_candidates(request, surrogate, searches, pool=args.pool,
                                          top=args.top, disagree=args.disagree)
            chosen.extend(scen)
            reasons.extend(why)
            made += 1
            bar.update(1)
    t_search = time.perf_counter() - t0
    manifest = label_scenarios(chosen, args.out, simulation=cfg.simulation, seed=args.seed,
                               config=cfg, source=f"active_learning(model={args.model})",
                               workers=args.workers)
    summary = {
        "problems": made, "candidates": len(chosen), "labelled": manifest["num_samples"],
        "skipped": manifest["skipped"], "top": reasons.count("top"),
        "uncertain": reasons.count("uncertain"), "search_s": round(t_search, 1),
        "total_s": round(time.perf_counter() - t0, 1),
    }
    Path(args.out, "active_learning.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    return 0


def _cli() -> int:
    """Run :func:`main`; an error the package raises on purpose is one line, exit 2."""
    try:
        return main()
    except ValueError as exc:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        print(f"error: {lines[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(_cli())
