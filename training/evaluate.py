r"""Score any predictor on any labelled dataset and print the metrics table.

To run::

    python -m training evaluate --model chainnet/checkpoints/default.pt --data.test data/test
    python -m training evaluate --model analytic --data.test chainnet/test_TypeI/raw \
        --data.format chainnet
    python -m training evaluate --model default analytic runs/gcn/surrogate.pt \
        --data.test data/chainnet_like_test data/large_test --record chainnet/checkpoints/default.pt
    python -m training evaluate --model default --data.test data/placer_test --worst 10 \
        --errors runs/placer_test_errors.csv

``--model`` is a surrogate checkpoint (:meth:`chainnet.Surrogate.load`), ``default`` (the
packaged model) or ``analytic`` (:class:`chainnet.AnalyticSurrogate`); several compare.
``--data.test`` and ``--data.format`` mean what they mean in ``python -m training test``
(``--data`` and ``--format`` still work, with a deprecation note). Flags can come from YAML
(``--config``, ``--print_config``). Relative errors print as percentages with one decimal
(:func:`shown_table`); the returned tables and ``--record`` keep fractions. No Lightning import.
``--worst N`` prints, below each table, the ``N`` services with the largest loss-ratio error
(:func:`worst_services`: labels, predictions, and the model's ``uncertainty`` and flag, to see
whether it knew); ``--errors FILE`` writes every service's row (:func:`service_predictions`)
to a CSV or Parquet file for analyses of one's own.

An error the package raises on purpose (a bad checkpoint or dataset folder, a model that
predicts NaN) ends the command with one line on stderr and exit status 1; a metric without
labels (e.g. the flag columns of a model without uncertainty) prints as ``n/a``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from training.metrics import evaluation_table, service_errors

__all__ = ["build_parser", "evaluate", "load_predictor", "main", "record_evaluation",
           "service_labels", "service_predictions", "shown_table", "worst_services"]

PROG = "python -m training evaluate"
#: The metrics compared per service, as columns ``true_<k>`` and ``pred_<k>``.
_KEYS = ("tput_ratio", "respt_ratio", "loss_ratio", "latency_mean", "latency_p95")


def load_predictor(spec: str) -> Any:
    """Return a predictor from ``"default"``, ``"analytic"`` or a checkpoint path.

    Raises:
        FileNotFoundError: If the checkpoint does not exist.
    """
    from chainnet import AnalyticSurrogate, Surrogate

    if spec == "analytic":
        return AnalyticSurrogate()
    if spec == "default":
        return Surrogate.default()
    return Surrogate.load(spec)


def service_labels(samples: Sequence[tuple[Any, pd.DataFrame, Any]]) -> pd.DataFrame:
    """The simulated labels of every service, in the row order of ``predictor.predict``.

    Args:
        samples: ``(scenario, service labels, device labels)`` triples
            (:func:`training.samples.load_samples`).

    Returns:
        One row per (scenario, service), the label columns plus ``scenario`` (index in
        ``samples``) and ``num_services`` (services in that scenario).
    """
    return pd.concat(
        [
            labels.reindex([svc.name for svc in sc.services]).assign(
                scenario=i, num_services=len(sc.services)
            )
            for i, (sc, labels, _) in enumerate(samples)
        ],
        ignore_index=True,
    )


def service_predictions(
    predictor: Any,
    samples: Sequence[tuple[Any, pd.DataFrame, Any]],
    *,
    require_finite: bool = False,
) -> pd.DataFrame:
    """Every service's simulated labels beside the predictor's values, one row per service.

    The table behind :func:`evaluate`, for a look at single services (the largest errors,
    whether the model flagged them): ``scenario`` (index in ``samples``), ``service``,
    ``num_services``, then ``true_<metric>`` and ``pred_<metric>`` for the ratios
    (``tput_ratio``, ``respt_ratio``, ``loss_ratio``) and the latencies (``latency_mean``,
    ``latency_p95``, s), ``loss_error`` (predicted minus simulated loss ratio) and, for a
    predictor that reports them, ``uncertainty``, ``out_of_range`` and ``uncertain``.

    Args:
        predictor: Anything with ``predict(scenarios) -> DataFrame`` (the predictor interface).
        samples: ``(scenario, service labels, device labels)`` triples
            (:func:`training.samples.load_samples`).
        require_finite: Refuse NaN predictions where a label exists (default: ``False``).

    Raises:
        ValueError: If ``samples`` is empty, or with ``require_finite`` if a prediction is NaN.
    """
    if not samples:
        raise ValueError("samples is empty: nothing to evaluate")
    scenarios = [s for s, _, _ in samples]
    pred = predictor.predict(scenarios)
    truth = service_labels(samples)
    table = pd.DataFrame({
        "scenario": truth["scenario"].to_numpy(),
        "service": [svc.name for sc in scenarios for svc in sc.services],
        "num_services": truth["num_services"].to_numpy(),
    })
    for k in _KEYS:
        true = truth[k].to_numpy(np.float64) if k in truth else np.full(len(truth), np.nan)
        got = pred[k].to_numpy(np.float64)
        if require_finite:
            bad = int(np.isnan(got[np.isfinite(true)]).sum())
            if bad:
                raise ValueError(
                    f"the model predicted NaN {k} for {bad} of {int(np.isfinite(true).sum())} "
                    f"labelled services (are its weights NaN?); its errors cannot be scored"
                )
        table[f"true_{k}"], table[f"pred_{k}"] = true, got
    table["loss_error"] = table["pred_loss_ratio"] - table["true_loss_ratio"]
    for k in ("uncertainty", "out_of_range", "uncertain"):
        if k in pred:
            table[k] = pred[k].to_numpy()
    return table


def evaluate(
    predictor: Any,
    samples: Sequence[tuple[Any, pd.DataFrame, Any]],
    *,
    require_finite: bool = False,
    services: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score ``predictor`` on labelled samples.

    Args:
        predictor: Anything with ``predict(scenarios) -> DataFrame`` (the predictor interface).
        samples: ``(scenario, service labels, device labels)`` triples
            (:func:`training.samples.load_samples`).
        require_finite: Refuse NaN predictions where a label exists, instead of skipping them
            like missing labels (default: ``False``).
        services: Its :func:`service_predictions` on ``samples``, when the caller has them
            already (default: ``None``: predicted here).

    Returns:
        :func:`training.metrics.evaluation_table` (overall and by services per graph).

    Raises:
        ValueError: If ``samples`` is empty, or with ``require_finite`` if a prediction is NaN.
    """
    if services is None:
        services = service_predictions(predictor, samples, require_finite=require_finite)
    true = {k: services[f"true_{k}"].to_numpy() for k in _KEYS}
    true["num_services"] = services["num_services"].to_numpy(np.float64)
    got = {k: services[f"pred_{k}"].to_numpy() for k in _KEYS}
    if "uncertain" in services:
        got["uncertain"] = services["uncertain"].to_numpy(dtype=np.float64)
    return evaluation_table(service_errors(got, true))


def worst_services(services: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` rows of a :func:`service_predictions` table with the largest ``|loss_error|``.

    Raises:
        ValueError: If ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    order = services["loss_error"].abs().sort_values(ascending=False, kind="stable").index
    return services.loc[order[:n]]


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """A metrics table as printed by ``evaluate``, ``validate`` and ``test``.

    Relative errors (``*mape``, ``*ape``) and flag rates (``flag_*``) are fractions in the
    table and print as percentages with one decimal (``5.3%``); loss-ratio errors
    (``loss_*``) are absolute and print with four decimals; missing values print ``n/a``.

    Args:
        table: Metrics as fractions, e.g. :func:`evaluate`'s table.

    Returns:
        A table of strings (for printing only; files keep the fractions).
    """
    shown = table.copy()
    for col in shown.columns:
        if col.endswith("mape") or col.endswith("ape") or col.startswith("flag"):
            shown[col] = shown[col].map(lambda v: "n/a" if np.isnan(v) else f"{100 * v:.1f}%")
        elif col.startswith("loss"):
            shown[col] = shown[col].map(lambda v: "n/a" if np.isnan(v) else f"{v:.4f}")
    return shown


def record_evaluation(checkpoint: str | Path, summary: pd.DataFrame) -> None:
    """Store a comparison summary in a checkpoint's metadata (key ``"evaluation"``).

    Args:
        checkpoint: A :class:`chainnet.Surrogate` checkpoint, rewritten in place.
        summary: Overall rows indexed by ``(data, model)``, as :func:`main` returns them with
            several models or datasets.
    """
    from chainnet import Surrogate

    sur = Surrogate.load(checkpoint)
    record: dict[str, dict[str, dict[str, float]]] = {}
    for (data, model), row in summary.iterrows():
        record.setdefault(str(data), {})[str(model)] = {k: float(v) for k, v in row.items()}
    sur.metadata["evaluation"] = record
    sur.save(checkpoint)


def _one_line(exc: BaseException) -> str:
    """The first line of an exception's message (torch's unpickling errors run to 20)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    """Command-line entry point; prints the tables and returns them.

    Returns:
        With one model and one dataset, the :func:`evaluate` table. With several, one overall
        row per (dataset, model), indexed by ``(data, model)``.

    Raises:
        SystemExit: Status 2 on bad arguments, status 1 with one line on stderr on an error the
            package raises on purpose (a :class:`ValueError`, e.g. ``CheckpointError`` or
            ``DatasetError``, or an :class:`OSError` such as a missing packaged model).
    """
    try:
        return _main(argv)
    except (ValueError, OSError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        raise SystemExit(1) from None


def build_parser() -> Any:
    """The jsonargparse parser of ``python -m training evaluate``."""
    from training.precheck import command_parser

    parser = command_parser(PROG, __doc__)
    parser.add_argument("--model", type=str, nargs="+", required=True,
                        help="checkpoint paths, 'default' or 'analytic' (several compare)")
    parser.add_argument("--data.test", type=str, nargs="+", required=True,
                        help="labelled dataset folders to score on (old spelling: --data)")
    parser.add_argument("--data.format", type=Literal["datagen", "chainnet"], default="datagen",
                        help="format of the folders (old spelling: --format)")
    parser.add_argument("--record", type=str | None, default=None,
                        help="store the overall rows in this checkpoint's metadata "
                             "(key 'evaluation'), e.g. for its model card")
    parser.add_argument("--worst", type=int, default=0,
                        help="also print the N services with the largest loss-ratio error per "
                             "model and dataset, with the model's uncertainty and flag")
    parser.add_argument("--errors", type=str | None, default=None,
                        help="write every service's labels, predictions and errors to this "
                             ".csv or .parquet file (columns 'data' and 'model' added)")
    return parser


def _write_table(table: pd.DataFrame, path: Path) -> None:
    """``table`` to a .csv or .parquet file (parent folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)


def _usage_error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _main(argv: Sequence[str] | None) -> pd.DataFrame:
    from training.precheck import RENAMED, parse_or_exit, rename_deprecated
    from training.samples import load_samples

    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_or_exit(build_parser(), rename_deprecated(raw, RENAMED["evaluate"], PROG))
    folders, fmt = list(args.data.test), args.data.format
    for model in args.model:
        if model not in ("default", "analytic") and not Path(model).is_file():
            _usage_error(f"--model {model!r}: no such checkpoint file")
    if args.record is not None and not Path(args.record).is_file():
        _usage_error(f"--record {args.record!r}: no such checkpoint file")
    if args.worst < 0:
        _usage_error(f"--worst must be >= 0, got {args.worst}")
    if args.errors is not None and Path(args.errors).suffix not in (".csv", ".parquet"):
        _usage_error(f"--errors {args.errors!r}: give a .csv or .parquet file name")
    predictors = {m: load_predictor(m) for m in dict.fromkeys(args.model)}
    if args.record is not None:
        from chainnet import Surrogate

        Surrogate.load(args.record)  # a bad checkpoint fails now, not after the evaluation
    tables: dict[tuple[str, str], pd.DataFrame] = {}
    per_service: list[pd.DataFrame] = []
    for data in dict.fromkeys(folders):  # each dataset once
        samples = load_samples(data, fmt)
        for model, predictor in predictors.items():
            try:
                services = service_predictions(predictor, samples, require_finite=True)
                table = evaluate(predictor, samples, services=services)
            except ValueError as exc:
                raise ValueError(f"model {model} on {data}: {exc}") from exc
            tables[(Path(data).name, model)] = table
            print(f"model {model} on {data} ({len(samples)} graphs)")
            print(shown_table(table).to_string())
            if args.worst > 0:
                print(f"the {min(args.worst, len(services))} largest loss-ratio errors")
                print(worst_services(services, args.worst).drop(
                    columns=[c for c in services if c.startswith(("true_latency", "pred_latency"))]
                ).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
            if args.errors is not None:
                per_service.append(services.assign(data=Path(data).name, model=model))
    summary = pd.DataFrame(
        [t.loc["all"] for t in tables.values()],
        index=pd.MultiIndex.from_tuples(list(tables), names=["data", "model"]),
    ).astype({"services": int, "bad_services": int})
    if len(tables) > 1:
        print("\nsummary (all services)")
        print(shown_table(summary).to_string())
    if args.record is not None:
        record_evaluation(args.record, summary)
        print(f"recorded the summary in {args.record}")
    if args.errors is not None:
        _write_table(pd.concat(per_service, ignore_index=True), Path(args.errors))
        print(f"wrote the errors of every service to {args.errors}")
    return next(iter(tables.values())) if len(tables) == 1 else summary
