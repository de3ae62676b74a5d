r"""Command line of :mod:`placement`: ``python -m placement <command> ...``.

Commands:

- ``place --cluster cluster.yaml --services services.yaml [--running running.yaml]
  [--out decision.json] [--format auto|json|yaml] [--predictor default|analytic|PATH]
  [--seed S] [--verify_top_k K] [--verify_requests R] [--refine_evaluations E]``: decide the
  split and the devices of every new service and write the decision (JSON or YAML; to stdout
  without ``--out``). The file schemas are in :mod:`placement.files` and ``examples/``.
- ``explain decision.json``: print a readable summary of a stored decision.
- ``plot decision.json [--out decision.png]``: draw a stored decision.

Flags follow LightningCLI (jsonargparse): ``--config FILE.yaml`` reads a command's flags from
YAML and ``--print_config`` prints them. This module imports only :mod:`jsonargparse` at load
time, so ``--help`` is quick; every command imports what it needs. Every input error prints one
line ``error: ...`` naming the file, the field and the value and exits with status 2; a request
that cannot be placed (not enough memory on the devices) exits with status 1.

To run::

    python -m placement place --cluster examples/cluster.yaml \
        --services examples/services.yaml --out decision.json
    python -m placement explain decision.json
    python -m placement plot decision.json --out decision.png
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

__all__ = ["build_parser", "explain_text", "main"]

PROG = "python -m placement"
COMMANDS = ("place", "explain", "plot")


def build_parser() -> Any:
    """Build the jsonargparse parser of ``python -m placement`` (three subcommands)."""
    from jsonargparse import ActionConfigFile, ArgumentParser

    def sub(description: str) -> ArgumentParser:
        p = ArgumentParser(description=description, exit_on_error=False)
        p.add_argument("--config", action=ActionConfigFile,
                       help="read these flags from a YAML file (see --print_config)")
        return p

    parser = ArgumentParser(
        prog=PROG, exit_on_error=False,
        description="Place split DNN services on an edge cluster: YAML in, a decision file out.")
    commands = parser.add_subcommands(required=True, dest="command")

    place = sub("Decide the split type and the devices of every new service.")
    place.add_argument("--cluster", type=str, required=True,
                       help="devices and network (YAML; see examples/cluster.yaml)")
    place.add_argument("--services", type=str, required=True,
                       help="new services (YAML; see examples/services.yaml)")
    place.add_argument("--running", type=str | None, default=None,
                       help="services already deployed (YAML, or a decision file)")
    place.add_argument("--out", type=str | None, default=None,
                       help="decision file to write (null: print the decision)")
    place.add_argument("--format", type=Literal["auto", "json", "yaml"], default="auto",
                       help="decision file format (auto: from --out's suffix, else json)")
    place.add_argument("--predictor", type=str, default="default",
                       help="default (packaged surrogate), analytic, or a surrogate .pt path")
    place.add_argument("--seed", type=int, default=0, help="seed of the search and simulations")
    place.add_argument("--verify_top_k", type=int, default=5,
                       help="best plans re-checked by simulation (0 = none)")
    place.add_argument("--verify_requests", type=int, default=10_000,
                       help="requests per service in each verification simulation")
    place.add_argument("--refine_evaluations", type=int, default=24,
                       help="simulated neighbours of the simulator polish (0 = off)")
    commands.add_subcommand("place", place, help="place services: YAML in, decision file out")

    explain = sub("Print a readable summary of a decision file.")
    explain.add_argument("decision", type=str, help="decision file (JSON or YAML)")
    commands.add_subcommand("explain", explain, help="summarise a decision file")

    plot = sub("Draw a decision: devices, fragments, links, loss and latency.")
    plot.add_argument("decision", type=str, help="decision file (JSON or YAML)")
    plot.add_argument("--out", type=str | None, default=None,
                      help="image to write (null: the decision file name with .png)")
    plot.add_argument("--dpi", type=int, default=120, help="resolution (dots per inch)")
    commands.add_subcommand("plot", plot, help="draw a decision file as an image")
    return parser


def _parse_error(exc: BaseException) -> str:
    """Jsonargparse's multi-line parse error as one line that names the flag."""
    msg = " ".join(str(exc).split())
    msg = re.sub(r'Parser key "(?:(?:place|explain|plot)\.)?([\w.]+)":', r"--\1:", msg)
    msg = re.sub(r"\b(?:place|explain|plot)\.(\w+)", r"--\1", msg)
    msg = msg.replace("Expected a <class 'int'>", "expected an integer")
    msg = msg.replace("Expected a <class 'str'>", "expected a string")
    if 'expected "command" to be one of' in msg:
        msg = f"give a command: {', '.join(COMMANDS)} (see {PROG} --help)"
    return msg


def _fail(message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def _check_writable(out: str, flag: str = "--out") -> None:
    """Refuse an output path whose folder does not exist or that is a folder, before working."""
    path = Path(out)
    if path.is_dir():
        raise ValueError(f"{flag} {out!r} is a folder; give a file path")
    if not path.parent.is_dir():
        raise ValueError(f"{flag} {out!r}: folder {str(path.parent)!r} does not exist; create it")


def _predictor(name: str) -> Any:
    if name == "default":
        return None  # Placer loads the packaged surrogate (or falls back, saying why)
    if name == "analytic":
        from chainnet.analytic import AnalyticSurrogate

        return AnalyticSurrogate()
    if not Path(name).is_file():
        raise ValueError(f"--predictor must be default, analytic or a surrogate file, got "
                         f"{name!r} (no such file)")
    from chainnet import Surrogate

    return Surrogate.load(name)


def _place(args: Any) -> int:
    fmt = args.format
    if args.out is not None:
        _check_writable(args.out)
        if fmt == "auto":
            fmt = "yaml" if Path(args.out).suffix.lower() in (".yaml", ".yml") else "json"
    if fmt == "auto":
        fmt = "json"
    for flag, value, low in (("--verify_top_k", args.verify_top_k, 0),
                             ("--verify_requests", args.verify_requests, 1),
                             ("--refine_evaluations", args.refine_evaluations, 0)):
        if value < low:
            raise ValueError(f"{flag} must be >= {low}, got {value}")
    from placement.files import load_request

    request = load_request(args.cluster, args.services, args.running)
    from placement.placer import Placer

    placer = Placer(predictor=_predictor(args.predictor), seed=args.seed,
                    verify_top_k=args.verify_top_k, verify_requests=args.verify_requests,
                    refine_evaluations=args.refine_evaluations)
    decision = placer.place(request)
    text = decision.to_yaml() if fmt == "yaml" else decision.to_json()
    if args.out is None:
        print(text)
        return 0
    Path(args.out).write_text(text if text.endswith("\n") else text + "\n")
    print(decision.summary())
    print(f"\nwrote {args.out} ({fmt}); next: {PROG} explain {args.out}")
    return 0


def _load(path: str) -> Any:
    from placement.decision import Decision

    return Decision.from_json(path)


def explain_text(decision: Any) -> str:
    """The text of ``explain``: summary, fragment -> device mapping, devices and candidates.

    Args:
        decision: A :class:`placement.Decision`.

    Returns:
        Several titled tables, each printed in full.
    """
    fmt = {"float_format": lambda v: f"{v:.4g}", "index": False}
    parts = [decision.summary()]
    pred = decision.predictor if len(decision.predictor) <= 100 else (
        decision.predictor[:97] + "...")
    unc = decision.uncertainty
    parts.append(f"\npredictor: {pred}\nplan from: {decision.source or decision.method}; "
                 f"uncertain: {decision.uncertain}; out of range: {decision.out_of_range}"
                 + ("" if unc is None else f"; uncertainty {unc:.3g} (loss-ratio units)"))
    frags = decision.table("fragments").drop(columns="scenario")
    parts.append("\nfragments -> devices (macs in MAC, bytes in bytes):\n" + frags.to_string(**fmt))
    dev = decision.table("devices").drop(columns="scenario")
    parts.append("\ndevices (offered_load = arrival rate x service time per server):\n"
                 + dev.to_string(**fmt))
    links = decision.scenario.links
    if links:
        rows = "\n".join(f"  {x.a} - {x.b}: {x.bandwidth * 8 / 1e6:.4g} Mbit/s, "
                         f"{x.delay * 1e3:.3g} ms" for x in links)
        parts.append(f"\nnetwork ({len(links)} links):\n{rows}")
    else:
        parts.append("\nnetwork: no links (transfers are instantaneous)")
    cand = decision.table("candidates")
    parts.append("\ncandidates (scenario = position in the verification set):\n"
                 + cand.to_string(**fmt))
    return "\n".join(parts)


def _explain(args: Any) -> int:
    print(explain_text(_load(args.decision)))
    return 0


def _plot(args: Any) -> int:
    out = args.out or str(Path(args.decision).with_suffix(".png"))
    _check_writable(out)
    if args.dpi < 10:
        raise ValueError(f"--dpi must be >= 10, got {args.dpi}")
    decision = _load(args.decision)
    fig = decision.plot()
    try:
        fig.savefig(out, dpi=args.dpi)
    except ValueError as exc:  # an image format matplotlib does not know
        raise ValueError(f"--out {out!r}: {exc}") from None
    print(f"wrote {out}")
    return 0


def _one_line_warning(message: Any, category: type[Warning], filename: str, lineno: int,
                      file: Any = None, line: str | None = None) -> None:
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Args:
        argv: Arguments without the program name (default: ``None`` = ``sys.argv[1:]``).

    Returns:
        ``0`` on success, ``1`` when the request cannot be placed (infeasible), ``2`` on any
        input error (one line on stderr naming the file, the field and the value).
    """
    from jsonargparse import ArgumentError

    parser = build_parser()
    try:
        cfg = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except ArgumentError as exc:
        return _fail(_parse_error(exc))
    except SystemExit as exc:  # --help and --print_config
        return exc.code if isinstance(exc.code, int) else 0
    command = cfg.command
    args = cfg[command]
    run = {"place": _place, "explain": _explain, "plot": _plot}[command]
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            return run(args)
        except ValueError as exc:
            from placement.candidates import InfeasibleRequestError

            if isinstance(exc, InfeasibleRequestError):
                print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
                return 1
            return _fail(str(exc))
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            return _fail(f"{exc.strerror or exc}{where}")
        except RuntimeError as exc:
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
            return 1
