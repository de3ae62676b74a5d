"""Report section (b): surrogate accuracy against the simulator.

Small labelled datasets are generated on the fly with :func:`datagen.dataset.generate` in
three regimes (``chainnet_like``, ``edge``, ``large``), and every predictor is scored with
:func:`training.evaluate.evaluate` (the ChainNet combined MAPE of throughput and
response-time ratios, the loss-ratio MAE, latency MAPE and p95 APE):

- the learned surrogate: ``--model PATH``, else the packaged ``chainnet/checkpoints/default.pt``
  (:meth:`chainnet.Surrogate.default`) when it exists;
- :class:`chainnet.AnalyticSurrogate`;
- the GCN and GAT baselines: trained checkpoints given after the first ``--model`` path
  (``--model MODEL GCN.pt GAT.pt``; the deprecated ``--baseline PATH`` too); otherwise
  untrained models (seeded random weights, normaliser fitted on the evaluation graphs),
  clearly labelled as such: they show what the architectures output before training (their
  analytic priors), not a trained accuracy.

A ChainNet-format folder given with ``--chainnet DIR`` is read with
:func:`datagen.read_chainnet` and scored the same way.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scripts.report_sections import plotting
from scripts.report_sections.base import ReportContext, Section, md_table, seed_for

__all__ = ["REGIMES", "run", "make_samples", "load_predictors", "PredictorSpec"]

#: Regimes generated for the accuracy tables.
REGIMES: tuple[str, ...] = ("chainnet_like", "edge", "large")
_KEY = 2
_PCT = ("tput_mape", "respt_mape", "combined_mape", "latency_mape", "p95_ape", "flag_recall",
        "flag_share")


@dataclasses.dataclass
class PredictorSpec:
    """A predictor of the comparison.

    Args:
        name: Label in the tables.
        predictor: Object with ``predict(scenarios) -> DataFrame``.
        note: How it was obtained (checkpoint, untrained...).
        trained: Whether it is a trained (or analytic) predictor rather than an untrained
            network.
    """

    name: str
    predictor: Any
    note: str
    trained: bool = True


def make_samples(regime: str, n: int, num_requests: int, seed: int, root: Path
                 ) -> list[tuple[Any, pd.DataFrame, Any]]:
    """Generate ``n`` labelled scenarios of a regime with one simulation run each.

    Args:
        regime: A packaged sampler config name.
        n: Number of scenarios.
        num_requests: Requests of the slowest service per simulation.
        seed: Dataset seed.
        root: Folder for the dataset files.

    Returns:
        ``(scenario, service labels, device labels)`` triples.
    """
    from datagen.dataset import generate
    from datagen.sampling import load_sampler_config
    from training.samples import load_samples

    cfg = load_sampler_config(regime)
    sim = dataclasses.replace(cfg.simulation, num_requests=num_requests, max_rounds=1,
                              max_num_requests=max(num_requests, cfg.simulation.num_requests))
    cfg = dataclasses.replace(cfg, simulation=sim)
    out = root / regime
    generate(cfg, out, n, seed=seed, progress=False)
    return load_samples(out)


def _untrained(cls: Any, samples: list[Any], seed: int) -> Any:
    import torch

    from chainnet import Surrogate, build_batch

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = cls()
    model.normalizer.fit(build_batch([s[0] for s in samples]))
    return Surrogate(model)


def load_predictors(ctx: ReportContext, samples: list[Any]) -> tuple[list[PredictorSpec], str]:
    """The predictors to compare and a Markdown note on where each came from.

    Args:
        ctx: The report context (``model`` and ``baselines`` checkpoints).
        samples: Evaluation samples (to fit the normaliser of untrained networks).

    Returns:
        ``(predictors, note)``.
    """
    from chainnet import AnalyticSurrogate, GATBaseline, GCNBaseline, Surrogate
    from chainnet.surrogate import DEFAULT_CHECKPOINT

    specs: list[PredictorSpec] = []
    notes: list[str] = []
    if ctx.model is not None:
        sur = Surrogate.load(ctx.model)
        specs.append(PredictorSpec(f"learned {type(sur.model).__name__}", sur,
                                   f"checkpoint `{Path(ctx.model).name}`"))
    elif DEFAULT_CHECKPOINT.is_file():
        sur = Surrogate.default()
        specs.append(PredictorSpec(f"learned {type(sur.model).__name__}", sur,
                                   "packaged `chainnet/checkpoints/default.pt`"))
    else:
        notes.append(
            "**No trained model is packaged** (`chainnet/checkpoints/default.pt` does not exist "
            "and no `--model` was given): the learned ChainNet cannot be scored. The tables "
            "show the analytic surrogate and *untrained* networks instead."
        )
    specs.append(PredictorSpec("AnalyticSurrogate", AnalyticSurrogate(), "analytic, no training"))
    trained_classes = set()
    for path in ctx.baselines:
        sur = Surrogate.load(path)
        name = type(sur.model).__name__
        trained_classes.add(name)
        specs.append(PredictorSpec(f"trained {name}", sur, f"checkpoint `{Path(path).name}`"))
    untrained = []
    recorded = bool(specs and recorded_evaluation(specs[0].predictor))
    for k, cls in enumerate((GCNBaseline, GATBaseline)):
        if cls.__name__ in trained_classes or recorded:
            # a packaged model that records its held-out comparison (trained GCN/GAT included)
            # makes untrained networks pointless: the recorded table is shown instead
            continue
        specs.append(PredictorSpec(f"untrained {cls.__name__}", _untrained(cls, samples,
                                   ctx.seed + k), "random weights (seeded)", trained=False))
        untrained.append(cls.__name__)
    if ctx.model is None and not DEFAULT_CHECKPOINT.is_file():
        from chainnet import ChainNet

        specs.append(PredictorSpec("untrained ChainNet", _untrained(ChainNet, samples,
                                   ctx.seed + 7), "random weights (seeded)", trained=False))
        untrained.append("ChainNet")
    if untrained:
        notes.append(
            f"**No trained {', '.join(untrained)} checkpoint** was given (`--model MODEL PATH`): "
            "these rows are untrained networks (seeded random weights, feature normaliser fitted "
            "on the evaluation graphs). Their numbers show what the architecture outputs before "
            "training, not a trained accuracy."
        )
    return specs, "\n\n".join(notes)


def recorded_evaluation(predictor: Any) -> dict[str, dict[str, dict[str, float]]]:
    """The held-out comparison stored in a checkpoint (``metadata["evaluation"]``), if any.

    Written by ``python -m training evaluate ... --record CHECKPOINT`` (see the model card).
    """
    metadata = getattr(predictor, "metadata", None) or {}
    return dict(metadata.get("evaluation") or {})


def _recorded_part(spec: PredictorSpec) -> list[str]:
    """Markdown of the comparison recorded in the learned model's checkpoint."""
    record = recorded_evaluation(spec.predictor)
    if not record:
        return []
    rows = [{"dataset": data, "predictor": model, **metrics}
            for data, models in record.items() for model, metrics in models.items()]
    frame = pd.DataFrame(rows).set_index("dataset")
    frame["services"] = frame["services"].astype(int)
    return ["### Held-out scores recorded with the learned model", "",
            f"Measured when **{spec.name}** ({spec.note}) was trained, on the larger held-out "
            "sets of its model card (`chainnet/checkpoints/MODEL_CARD.md`), next to the analytic "
            "surrogate (and any baselines recorded; their training data: see the model card):", "",
            md_table(frame, percent=_PCT), ""]


def _predict_frame(pred: Any, samples: list[Any]) -> pd.DataFrame:
    """Predicted and simulated values side by side, one row per service."""
    frame = pred.predict([s[0] for s in samples])
    truth = pd.concat(
        [lab.reindex([svc.name for svc in sc.services]).assign(
            scenario=i, num_services=len(sc.services))
         for i, (sc, lab, _) in enumerate(samples)], ignore_index=True)
    out = pd.DataFrame({"num_services": truth["num_services"].to_numpy()})
    for k in ("tput_ratio", "loss_ratio", "latency_mean", "latency_p95"):
        out[f"{k}_pred"] = frame[k].to_numpy(np.float64)
        out[f"{k}_sim"] = truth[k].to_numpy(np.float64) if k in truth else np.nan
    return out


def _scatter(ctx: ReportContext, pairs: dict[str, dict[str, pd.DataFrame]], name: str) -> str:
    """Predicted-vs-simulated scatter plots, one row per predictor, one column per metric."""
    metrics = (("tput_ratio", "throughput ratio X/lambda (fraction)", False),
               ("loss_ratio", "loss ratio (fraction of arrivals)", False),
               ("latency_mean", "mean latency (s, or time units)", True))
    preds = list(pairs)
    fig, axes = plotting.figure(ncols=3, nrows=len(preds), width=4.2, height=3.6)
    axes = np.asarray(axes).reshape(len(preds), 3)
    for r, p in enumerate(preds):
        for c, (key, label, log) in enumerate(metrics):
            ax = axes[r, c]
            lo, hi = np.inf, -np.inf
            for regime, df in pairs[p].items():
                x, y = df[f"{key}_sim"].to_numpy(), df[f"{key}_pred"].to_numpy()
                ok = np.isfinite(x) & np.isfinite(y) & ((x > 0) & (y > 0) if log else True)
                ax.scatter(x[ok], y[ok], s=9, alpha=0.6, label=regime)
                if ok.any():
                    lo, hi = min(lo, x[ok].min(), y[ok].min()), max(hi, x[ok].max(), y[ok].max())
            if np.isfinite(lo):
                ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="ideal y = x")
            if log:
                ax.set_xscale("log")
                ax.set_yscale("log")
            ax.set_title(f"{p}: {key}", fontsize=9)
            ax.set_xlabel(f"simulated {label}", fontsize=8)
            ax.set_ylabel(f"predicted {label}", fontsize=8)
            ax.legend(fontsize=6)
    return plotting.save(fig, ctx.out, name)


def run(ctx: ReportContext) -> Section:
    """Generate small datasets, score every predictor, plot and tabulate the errors."""
    from training.evaluate import evaluate

    sizes = {"chainnet_like": ctx.pick(24, 200, 3), "edge": ctx.pick(24, 200, 3),
             "large": ctx.pick(6, 40, 2)}
    requests = {"chainnet_like": ctx.pick(2_000, 10_000, 300),
                "edge": ctx.pick(2_000, 20_000, 300), "large": ctx.pick(1_000, 5_000, 300)}
    timings: dict[str, float] = {}
    samples: dict[str, list[Any]] = {}
    with tempfile.TemporaryDirectory(prefix="report-datasets-") as tmp:
        for k, regime in enumerate(REGIMES):
            t0 = time.perf_counter()
            seed = int(seed_for(ctx.seed, _KEY, k).generate_state(1)[0] % (2**31))
            samples[regime] = make_samples(regime, sizes[regime], requests[regime], seed,
                                           Path(tmp))
            timings[f"generate {regime}"] = time.perf_counter() - t0
    every = [s for r in REGIMES for s in samples[r]]
    specs, note = load_predictors(ctx, every)

    overall_rows = []
    by_services: dict[str, pd.DataFrame] = {}
    pairs: dict[str, dict[str, pd.DataFrame]] = {}
    for spec in specs:
        pairs[spec.name] = {}
        for regime in REGIMES:
            t0 = time.perf_counter()
            table = evaluate(spec.predictor, samples[regime])
            timings[f"evaluate {spec.name} on {regime}"] = time.perf_counter() - t0
            row = table.loc["all"].to_dict()
            overall_rows.append({"predictor": spec.name, "regime": regime, **row})
            if spec.trained:
                pairs[spec.name][regime] = _predict_frame(spec.predictor, samples[regime])
        all_table = evaluate(spec.predictor, every)
        by_services[spec.name] = all_table
    overall = pd.DataFrame(overall_rows).set_index("predictor")
    overall["services"] = overall["services"].astype(int)

    primary = specs[0].name
    figs = [_scatter(ctx, {p: pairs[p] for p in pairs if pairs[p]}, "surrogate_scatter.png")]

    comb = pd.DataFrame({name: t["combined_mape"] for name, t in by_services.items()})
    comb.index.name = "graph size"
    loss = pd.DataFrame({name: t["loss_mae"] for name, t in by_services.items()})
    loss.index.name = "graph size"

    # bar plot of the combined MAPE per regime and predictor
    fig, ax = plotting.figure(width=7.0)
    width = 0.8 / len(specs)
    for i, spec in enumerate(specs):
        part = overall.loc[[spec.name]]
        vals = [float(part[part.regime == r]["combined_mape"].iloc[0]) * 100 for r in REGIMES]
        ax.bar(np.arange(len(REGIMES)) + i * width, vals, width, label=spec.name)
    ax.set_xticks(np.arange(len(REGIMES)) + 0.4 - width / 2, REGIMES)
    plotting.label(ax, "Combined MAPE of tput/respt ratios by regime",
                   "regime (dataset generator)", "combined MAPE (%)")
    ax.legend(fontsize=7)
    figs.append(plotting.save(fig, ctx.out, "surrogate_mape_by_regime.png"))

    lines = [
        "Datasets generated on the fly with `datagen.dataset.generate` (one simulation run per "
        "scenario, no sequential stopping): "
        + ", ".join(f"{r}: {len(samples[r])} scenarios, {requests[r]} requests"
                    for r in REGIMES) + ".",
        "",
    ]
    if note:
        lines += [note, ""]
    lines += ["Predictors: " + "; ".join(f"**{s.name}** ({s.note})" for s in specs) + ".", ""]
    lines += ["### Errors by regime", "",
              md_table(overall, percent=_PCT), "",
              "combined_mape = mean of the throughput-ratio and response-time-ratio MAPEs "
              "(ChainNet's metric); loss_mae = mean absolute error of the loss ratio "
              "(loss_mae_lossy: services with simulated loss > 1%); latency_mape and p95_ape "
              "in seconds.", "",
              "### Combined MAPE by number of services per graph (all regimes)", "",
              md_table(comb, percent=tuple(comb.columns)), "",
              "### Loss-ratio MAE by number of services per graph (all regimes)", "",
              md_table(loss), ""]
    lines += _recorded_part(specs[0])
    untrained = [s.name for s in specs if not s.trained]
    if len(untrained) > 1:
        cols = ["combined_mape", "loss_mae", "latency_mape"]
        ref = overall.loc[[untrained[0]], cols].to_numpy()
        if all(np.allclose(overall.loc[[u], cols].to_numpy(), ref, equal_nan=True)
               for u in untrained[1:]):
            lines += ["The untrained networks give identical numbers: before training, their "
                      "correction heads output zero and every architecture returns its built-in "
                      "analytic prior (the M/G/1/K flow fixed point of the graph features).", ""]
    best = overall.groupby(level=0)["combined_mape"].mean().sort_values()
    lines += [f"Lowest mean combined MAPE over the regimes: **{best.index[0]}** "
              f"({100 * best.iloc[0]:.2f}%). Scatter plots show the trained/analytic predictors "
              f"(first: {primary})."]

    data: dict[str, Any] = {"overall": overall, "by_services": by_services}
    if ctx.chainnet is not None:
        lines += ["", *_chainnet_part(ctx, specs, timings, data)]
    else:
        lines += ["", "### ChainNet-format dataset", "",
                  "No `--chainnet DIR` was given: nothing to report here. Run with "
                  "`--chainnet path/to/test/raw` to score the predictors on a ChainNet split."]
    return Section("surrogate", "(b) Surrogate accuracy", "\n".join(lines), figs, timings, data)


def _chainnet_part(ctx: ReportContext, specs: list[PredictorSpec], timings: dict[str, float],
                   data: dict[str, Any]) -> list[str]:
    from datagen import read_chainnet
    from training.evaluate import evaluate

    assert ctx.chainnet is not None  # checked by the caller
    t0 = time.perf_counter()
    read = read_chainnet(ctx.chainnet)
    timings["read chainnet"] = time.perf_counter() - t0
    limit = ctx.pick(300, 10**9, 5)
    chosen = read[:limit]
    samples = [(sc, lab, None) for sc, lab in chosen]
    rows = []
    for spec in specs:
        t0 = time.perf_counter()
        table = evaluate(spec.predictor, samples)
        timings[f"evaluate {spec.name} on chainnet"] = time.perf_counter() - t0
        rows.append({"predictor": spec.name, **table.loc["all"].to_dict()})
    frame = pd.DataFrame(rows).set_index("predictor")
    frame["services"] = frame["services"].astype(int)
    data["chainnet"] = frame
    return ["### ChainNet-format dataset", "",
            f"`{Path(ctx.chainnet).name}`: {len(read)} graphs read with `datagen.read_chainnet`"
            + (f", the first {len(chosen)} scored." if len(chosen) < len(read) else
               ", all scored."), "",
            md_table(frame, percent=_PCT)]
