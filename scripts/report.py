"""The evaluation report: Markdown + PNG plots comparing everything the project ships.

Covers, each with numbers measured at run time:

- (a) the simulator against exact M/M/1/K and M/D/1/K theory;
- (b) surrogate accuracy (learned, analytic, GCN/GAT) on freshly generated datasets of three
  regimes, and on a ChainNet-format dataset given with ``--chainnet``;
- (c) placement against every baseline, the optimality gap against exhaustive search, and
  the objective against the budget for surrogate- and simulation-driven search;
- (d) split policies: reward and regret curves, split chosen per context;
- (e) the analytical baselines ORRIC, QPART and INFIDA.

To run::

    python -m scripts.report --out reports/quick --quick            # a few minutes
    python -m scripts.report --out reports/full --seed 1 --chainnet data/test/raw
    python -m scripts.report --out reports/mine --model my_model.pt gcn.pt gat.pt

``--model`` names checkpoints as in ``python -m training evaluate``: the first is the learned
surrogate (``default`` = the packaged one), any further ones are compared as trained baselines
(GCN/GAT). ``--baseline PATH`` still works, with a deprecation note.

The report opens with a summary generated from the sections' numbers
(:mod:`scripts.report_sections.summary`: the headline figures and where a method loses to a
simpler one) and the definitions of the terms it uses. The same seed gives the same
``report.md``; wall-clock timings go to ``timings.md``.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from scripts._cli import parse_command_line
from scripts.report_sections.base import ReportContext, Section
from scripts.report_sections.summary import glossary_markdown, summary_markdown

__all__ = ["SECTIONS", "build_parser", "build_report", "main"]

PROG = "python -m scripts.report"

#: Section keys in report order (modules of :mod:`scripts.report_sections`).
SECTIONS: tuple[str, ...] = ("simulator", "surrogate", "placement", "policies", "analytical")


def _default_log(msg: str) -> None:
    print(msg, flush=True)


def build_report(
    ctx: ReportContext,
    sections: Sequence[str] = SECTIONS,
    log: Callable[[str], None] = _default_log,
) -> tuple[Path, list[Section]]:
    """Run the sections and write ``report.md`` and ``timings.md`` into ``ctx.out``.

    Args:
        ctx: The report settings.
        sections: Section keys to run, in order (default: all of :data:`SECTIONS`).
        log: Progress callback (default: print).

    Returns:
        ``(path of report.md, the sections)``.

    Raises:
        ValueError: On an unknown section key.
    """
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown report sections {unknown}; choose from {list(SECTIONS)}")
    out = Path(ctx.out)
    out.mkdir(parents=True, exist_ok=True)
    done: list[Section] = []
    for key in sections:
        module = importlib.import_module(f"scripts.report_sections.{key}")
        log(f"[report] section {key} ...")
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            section = module.run(ctx)
        section.timings = {"section total": time.perf_counter() - t0, **section.timings}
        log(f"[report] section {key} done in {section.timings['section total']:.1f} s")
        done.append(section)
    header = [
        "# edgechain evaluation report",
        "",
        f"Mode: **{'quick' if ctx.quick else 'full'}**, seed **{ctx.seed}**. Every number below "
        "was computed when this report was generated; the same seed gives the same report. "
        "Wall-clock timings are in [timings.md](timings.md).",
        "",
        summary_markdown(done),
        "",
        "Sections: " + ", ".join(f"[{s.title}](#{_anchor(s.title)})" for s in done) + ".",
        "",
        glossary_markdown(),
        "",
    ]
    report = out / "report.md"
    report.write_text("\n".join(header + [s.markdown() for s in done]).rstrip() + "\n")
    lines = ["# Timings (wall clock, s; not reproducible, kept out of report.md)", ""]
    for s in done:
        lines += [f"## {s.title}", "", "| step | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in s.timings.items()]
        lines.append("")
    (out / "timings.md").write_text("\n".join(lines))
    return report, done


def _anchor(title: str) -> str:
    keep = "".join(c for c in title.lower() if c.isalnum() or c in " -")
    return keep.replace(" ", "-")


def _check_out(out: Path) -> str | None:
    """Why ``out`` cannot receive the report (``None`` if it can): created if missing, probed."""
    if out.exists() and not out.is_dir():
        return f"--out {str(out)!r} is a file, not a folder; name a folder"
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".report-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        return f"--out {str(out)!r} is not a writable folder: {exc.strerror or exc}"
    return None


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    import argparse

    from datagen.cli_common import tool_parser

    ap = tool_parser(PROG, __doc__, keep_layout=True)
    ap.add_argument("--out", type=str, required=True, help="report folder (created if needed)")
    ap.add_argument("--quick", action="store_true", help="small budgets (a few minutes)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the whole report (default: 0)")
    ap.add_argument("--chainnet", type=str | None, default=None,
                    help="ChainNet-format raw folder to evaluate on")
    ap.add_argument("--model", type=str, nargs="+", default=["default"], metavar="PATH",
                    help="learned surrogate checkpoint ('default': the packaged one, if any), "
                         "then trained GCN/GAT checkpoints to compare (default: default)")
    ap.add_argument("--baseline", action="append", default=[], help=argparse.SUPPRESS)
    ap.add_argument("--sections", type=str, default=",".join(SECTIONS),
                    help=f"comma list of sections (default: all: {','.join(SECTIONS)})")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``python -m scripts.report``).

    Errors in the arguments or the output folder end it with one line on stderr (exit status
    2) before any section runs.
    """
    args = parse_command_line(build_parser(), argv)

    def fail(msg: str) -> NoReturn:
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        raise SystemExit(2)

    if args.seed < 0:
        fail(f"--seed must be >= 0, got {args.seed}")
    if args.baseline:
        print(f"note: {PROG}: --baseline is deprecated; use --model MODEL "
              f"{' '.join(args.baseline)} (after the first, --model's checkpoints are "
              "baselines)", file=sys.stderr)
    model = None if args.model[0] == "default" else args.model[0]
    baselines = [*args.model[1:], *args.baseline]
    for flag, path in (("--chainnet", args.chainnet), ("--model", model),
                       *(("--model", b) for b in baselines)):
        if path is not None and not Path(path).exists():
            fail(f"{flag} {path!r} does not exist")
    sections = list(dict.fromkeys(s.strip() for s in args.sections.split(",") if s.strip()))
    if not sections:
        fail(f"--sections {args.sections!r} names no section; choose from {','.join(SECTIONS)}")
    for key in sections:
        if key not in SECTIONS:
            close = difflib.get_close_matches(key, SECTIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            fail(f"--sections: unknown section {key!r}{hint}; choose from {','.join(SECTIONS)}")
    problem = _check_out(Path(args.out))
    if problem is not None:
        fail(problem)
    logging.basicConfig(level=logging.WARNING)
    ctx = ReportContext(
        Path(args.out), quick=args.quick, seed=args.seed,
        chainnet=Path(args.chainnet) if args.chainnet else None,
        model=Path(model) if model else None,
        baselines=tuple(Path(b) for b in baselines),
    )
    t0 = time.perf_counter()
    try:
        report, _ = build_report(ctx, sections)
    except (ValueError, OSError) as exc:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        fail(lines[0])
    print(f"[report] wrote {report} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
