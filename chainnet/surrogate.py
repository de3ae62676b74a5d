r"""The learned surrogate: a trained ChainNet-family model behind the ``predict`` interface.

A checkpoint is ``torch.save`` of a plain dict (no Lightning, no pickled classes)::

    {"format": "edgechain.surrogate", "schema_version": int, "model_class": str,
     "model_kwargs": dict, "state_dict": dict, "normalizer": dict, "metadata": dict}

(``normalizer``, informative only, is a list of dicts for an :class:`~chainnet.Ensemble`.)

Predicted ratios become seconds and requests/s in ONE place, :func:`ratios_to_metrics`:

.. math::
    X = \hat y_{tput}\,\lambda, \qquad \text{loss} = 1 - \hat y_{tput}, \qquad
    \bar R = \frac{T_c}{\hat y_{respt}}, \qquad R_{95} = \hat y_{p95}\,\bar R

with :math:`T_c` the no-queue latency of the service (slowest branch; compute, transfers, delays)
(``data['service'].time_scale``, see :mod:`chainnet.features`).

**Uncertainty.** Every prediction carries three more columns (:data:`UNCERTAINTY_COLUMNS`):

- ``uncertainty``: an estimate of the loss-ratio error, in loss-ratio units,

  .. math::
      u = (\max_m \ell^{(m)} - \min_m \ell^{(m)}) + w_\pi\,|\hat\ell - \ell^{\pi}|
          + w_a\,|\hat\ell - \ell^{a}|

  the spread of the ensemble members' loss ratios (0 for a single model; critics, members of
  weight 0 in :class:`chainnet.Ensemble`, count here and nowhere else) plus ``prior_weight``
  :math:`w_\pi` times the gap between the prediction and the graph's one-step analytic prior
  :math:`\ell^{\pi}` (the learned model corrects the prior most where it is least sure),
  plus ``analytic_weight`` :math:`w_a` times the gap to the loss ratio :math:`\ell^{a}` of
  :class:`chainnet.AnalyticSurrogate` (the whole-network decomposition with batch arrivals
  and re-entries: where two independent models disagree, one of them is wrong). The last
  term costs an analytic solve per scenario, started from the flat arrays the prediction
  builds anyway (:func:`chainnet.analytic_paths.compile_arrays`), so both
  :meth:`Surrogate.predict` and :meth:`Surrogate.predict_arrays` add it, with the same
  numbers; ``predict_arrays(..., analytic=False)`` leaves it out, for callers that rank on
  the predictions alone (the placer's search, :class:`placement.search.base.Evaluator`), and
  :meth:`Surrogate.predict_with_uncertainty` (tensors) leaves it out too;
- ``out_of_range``: some feature of the service, of one of its fragments, of a device
  hosting them or of a link they use lies outside the range seen in training by a member
  that predicts (not a critic) (widened by
  ``range_margin`` standard deviations; :meth:`chainnet.nn.FeatureNormalizer.out_of_range`);
- ``uncertain``: ``out_of_range`` or ``uncertainty > uncertainty_threshold``: do not trust
  this prediction without a simulation.

With ``out_of_range="prior"`` (the default) a service that is out of range gets the analytic
prior the model would have corrected (:data:`chainnet.schema.PRIORS`) instead of the
extrapolated correction: far outside its training data (e.g. a ResNet-50 at 300 requests/s on
a Raspberry Pi) a learned head can saturate at "no loss", while the queueing prior stays
physical.

The three settings default to the calibration stored in the checkpoint's
``metadata["uncertainty"]`` (see the model card).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData
from torch_geometric.utils import scatter

from chainnet.builder import batch_from_arrays, scenarios_to_arrays, tensors_from_arrays
from chainnet.features import GraphStructure, ScenarioArrays, compute_structure
from chainnet.models import MODEL_CLASSES, Ensemble, mean_members
from chainnet.nn.stacked import GraphTensors, StackedChainNet
from chainnet.predictor import PREDICT_COLUMNS, UNCERTAINTY_COLUMNS
from chainnet.schema import (
    DEVICE,
    FRAGMENT,
    FRAGMENT_PART_OF_SERVICE,
    FRAGMENT_RUNS_ON_DEVICE,
    FRAGMENT_SENDS_OVER_LINK,
    LINK,
    PRIORS,
    SCHEMA_VERSION,
    SERVICE,
)
from chainnet.typing import TensorDict
from datagen.validation import finite_float
from datagen.world import Scenario

__all__ = [
    "CheckpointError",
    "Surrogate",
    "service_out_of_range",
    "ratios_to_metrics",
    "DEFAULT_CHECKPOINT",
    "PREDICTION_COLUMNS",
    "UNCERTAINTY_COLUMNS",
    "CHECKPOINT_FORMAT",
]

#: The packaged default checkpoint (trained and shipped by the training issue).
DEFAULT_CHECKPOINT: Path = Path(__file__).resolve().parent / "checkpoints" / "default.pt"
#: Columns of :meth:`Surrogate.predict`, the agreed predictor interface.
PREDICTION_COLUMNS: tuple[str, ...] = PREDICT_COLUMNS
#: Columns :meth:`Surrogate.predict` adds after :data:`PREDICTION_COLUMNS`.
CHECKPOINT_FORMAT = "edgechain.surrogate"
#: Calibration used when a checkpoint records none (loss-ratio units, standard deviations).
_DEFAULT_CALIBRATION: dict[str, float] = {
    "threshold": 0.05, "prior_weight": 0.0, "range_margin": 0.5, "analytic_weight": 0.0,
}


class CheckpointError(ValueError):
    """A checkpoint is missing, malformed or does not match this code's schema."""


def ratios_to_metrics(out: Mapping[str, Tensor], data: HeteroData) -> dict[str, np.ndarray]:
    """Convert predicted ratios of every service into throughput, loss and latency.

    Args:
        out: Model output with ``tput_ratio``, ``respt_ratio`` and ``p95_ratio`` ``[S]``.
        data: The graph the output belongs to (for ``arrival_rate`` and ``time_scale``).

    Returns:
        ``throughput`` (requests/s), ``loss_ratio``, ``latency_mean`` (s), ``latency_p95``
        (s), ``tput_ratio`` and ``respt_ratio``, each a float64 array ``[S]``.
    """
    return _metrics(out, data[SERVICE].arrival_rate, data[SERVICE].time_scale)


def _metrics(out: Mapping[str, Tensor | np.ndarray], rate: Tensor | np.ndarray,
             scale: Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """:func:`ratios_to_metrics` with the arrival rates (1/s) and time scales (s) ``[S]``.

    Tensors or numpy arrays; the arithmetic is float64 numpy either way.
    """
    tput, respt, p95, rate, scale = (
        _float64(v) for v in (out["tput_ratio"], out["respt_ratio"], out["p95_ratio"], rate,
                              scale))
    latency = scale / np.maximum(respt, 1e-12)
    return {
        "throughput": tput * rate,
        "loss_ratio": 1.0 - tput,
        "latency_mean": latency,
        "latency_p95": p95 * latency,
        "tput_ratio": tput,
        "respt_ratio": respt,
    }


def _float64(v: Tensor | np.ndarray) -> np.ndarray:
    """A float64 numpy copy (or view) of a tensor or an array."""
    if isinstance(v, Tensor):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float64)


_TABLE_LAYOUT: dict[tuple[str, ...], tuple[pd.Index, Any]] = {}


def _table(cols: Mapping[str, np.ndarray], columns: tuple[str, ...]) -> pd.DataFrame:
    """``pd.DataFrame({c: cols[c] for c in columns})``, built without the dict's inference.

    The column index and the dtype pandas gives the ``service`` names are worked out once;
    the frame is then assembled from its arrays (:meth:`pandas.DataFrame._from_arrays`, a
    tenth of a millisecond less per call), falling back to the dict constructor if this
    pandas lacks it. Both give equal frames (``tests/chainnet/test_surrogate.py``).
    """
    layout = _TABLE_LAYOUT.get(columns)
    if layout is None:
        probe = pd.DataFrame({"service": np.array(["a"], dtype=object)})
        layout = _TABLE_LAYOUT[columns] = (pd.Index(list(columns)), probe["service"].dtype)
    index, text = layout
    as_text = text != np.dtype(object)
    arrays = [pd.array(cols[c], dtype=text) if c == "service" and as_text else cols[c]
              for c in columns]
    try:
        return pd.DataFrame._from_arrays(  # type: ignore[attr-defined]
            arrays, columns=index, index=pd.RangeIndex(len(arrays[0])), verify_integrity=False)
    except (AttributeError, TypeError):
        return pd.DataFrame({c: cols[c] for c in columns})


def service_out_of_range(data: HeteroData, normalizer: Any, margin: float) -> Tensor:
    """Per service: does a feature of it, its fragments, their hosts or links leave the range?

    Args:
        data: A (batched) ChainNet graph.
        normalizer: A fitted :class:`chainnet.nn.FeatureNormalizer`.
        margin: Widening of the training range, in standard deviations.

    Returns:
        Bool ``[S]``.
    """
    x_dict = {nt: data[nt].x for nt in (SERVICE, FRAGMENT, DEVICE, LINK)
              if nt in data.node_types and "x" in data[nt]}
    oor = {nt: flag.long() for nt, flag in normalizer.out_of_range(x_dict, margin).items()}
    if FRAGMENT not in oor:
        return oor[SERVICE].bool()
    frag = oor[FRAGMENT]
    num_f = frag.shape[0]
    # a fragment is out of range with its host device or any link it sends over
    for edge_type, node_type in ((FRAGMENT_RUNS_ON_DEVICE, DEVICE),
                                 (FRAGMENT_SENDS_OVER_LINK, LINK)):
        if node_type in oor and edge_type in data.edge_types:
            src, dst = data[edge_type].edge_index
            frag = frag.maximum(scatter(oor[node_type][dst], src, dim_size=num_f, reduce="max"))
    src, dst = data[FRAGMENT_PART_OF_SERVICE].edge_index
    hit = scatter(frag[src], dst, dim_size=data[SERVICE].num_nodes, reduce="max")
    return (oor[SERVICE].maximum(hit)).bool()


class Surrogate:
    """A trained model (with its fitted normaliser) that predicts scenario performance.

    Args:
        model: A model of :data:`chainnet.models.MODEL_CLASSES` whose ``normalizer`` is fitted.
        metadata: Free-form information saved with the checkpoint (training data, metrics)
            (default: ``None``).
        batch_size: Scenarios per batched graph in :meth:`predict` (default: ``1000``).
        num_threads: Torch intra-op threads while :meth:`predict` runs, restored afterwards;
            ``None`` leaves torch's setting alone (default: ``1``). One thread is the fast
            choice for these 32-wide layers: on a busy 2-core machine two threads made the
            forward pass about 3x slower (spinning threads fight for the cores).
        uncertainty_threshold: ``uncertainty`` above which a prediction is ``uncertain``
            (loss-ratio units) (default: ``None`` = the checkpoint's calibration, else
            ``0.05``).
        prior_weight: Weight of the gap to the analytic prior in ``uncertainty``
            (default: ``None`` = the checkpoint's calibration, else ``0.0``).
        range_margin: Widening of the training feature range, in standard deviations,
            before a feature counts as ``out_of_range`` (default: ``None`` = the
            checkpoint's calibration, else ``0.5``).
        analytic_weight: Weight of the gap to :class:`chainnet.AnalyticSurrogate`'s loss
            ratio in the ``uncertainty`` of :meth:`predict` and :meth:`predict_arrays`
            (default: ``None`` = the checkpoint's calibration, else ``0.0``; ``0`` skips the
            analytic solve).
        out_of_range: What an out-of-range service gets: ``"prior"`` (the analytic prior)
            or ``"model"`` (the model's extrapolation) (default: ``"prior"``).

    Raises:
        ValueError: If ``model`` is not a known model class, ``batch_size < 1``,
            ``num_threads < 1``, or a calibration setting is negative or not finite.
    """

    def __init__(
        self, model: nn.Module, metadata: Mapping[str, Any] | None = None,
        batch_size: int = 1000, num_threads: int | None = 1,
        uncertainty_threshold: float | None = None, prior_weight: float | None = None,
        range_margin: float | None = None, out_of_range: str = "prior",
        analytic_weight: float | None = None,
    ) -> None:
        if type(model).__name__ not in MODEL_CLASSES:
            raise ValueError(
                f"model must be one of {sorted(MODEL_CLASSES)}, got {type(model).__name__}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if num_threads is not None and num_threads < 1:
            raise ValueError(f"num_threads must be >= 1 or None, got {num_threads}")
        self.model = model.eval()
        self.num_threads = num_threads
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.batch_size = batch_size
        recorded = self.metadata.get("uncertainty")
        calib = dict(_DEFAULT_CALIBRATION)
        if isinstance(recorded, Mapping):
            calib.update({k: float(v) for k, v in recorded.items() if k in calib})
        for key, value in (("threshold", uncertainty_threshold),
                           ("prior_weight", prior_weight), ("range_margin", range_margin),
                           ("analytic_weight", analytic_weight)):
            if value is not None:
                calib[key] = value
        for key, value in calib.items():
            finite = finite_float(value)
            if finite is None or finite < 0:
                raise ValueError(
                    f"uncertainty calibration {key!r} must be a finite number >= 0, got "
                    f"{value!r}; pass e.g. uncertainty_threshold=0.05"
                )
        if out_of_range not in ("prior", "model"):
            raise ValueError(f"out_of_range must be 'prior' or 'model', got {out_of_range!r}")
        #: Predict through the module path (build_batch + the model's forward), as before
        #: the stacked fast path existed; kept for benchmarks and checks.
        self._reference = False
        self._stacked: tuple[nn.Module, StackedChainNet | None, int, list[Tensor],
                             StackedChainNet | None] | None = None
        self.out_of_range = out_of_range
        self.uncertainty_threshold = float(calib["threshold"])
        self.prior_weight = float(calib["prior_weight"])
        self.range_margin = float(calib["range_margin"])
        self.analytic_weight = float(calib["analytic_weight"])
        self._analytic: Any = None

    # -- persistence ---------------------------------------------------------------------------

    def to_checkpoint(self) -> dict[str, Any]:
        """Return the plain checkpoint dict (see the module docstring)."""
        model: Any = self.model
        return {
            "format": CHECKPOINT_FORMAT,
            "schema_version": SCHEMA_VERSION,
            "model_class": type(self.model).__name__,
            "model_kwargs": dict(model.init_kwargs),
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "normalizer": (model.normalizer.stats() if hasattr(model, "normalizer")
                           else [m.normalizer.stats() for m in model.members]),
            "metadata": self.metadata,
        }

    def save(self, path: str | Path) -> Path:
        """Write the checkpoint to ``path`` (parent folders are created) and return it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.to_checkpoint(), path)
        return path

    @classmethod
    def from_checkpoint(cls, ckpt: Mapping[str, Any], *, source: str = "checkpoint",
                        batch_size: int = 1000, num_threads: int | None = 1) -> Surrogate:
        """Rebuild a surrogate from a checkpoint dict.

        Raises:
            CheckpointError: If the dict is malformed, its schema version differs from
                :data:`chainnet.schema.SCHEMA_VERSION`, or its weights do not fit the model.
        """
        if not isinstance(ckpt, Mapping) or ckpt.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"{source} is not an edgechain surrogate checkpoint (expected a dict with "
                f"format={CHECKPOINT_FORMAT!r}); save one with Surrogate(model).save(path)"
            )
        version = ckpt.get("schema_version")
        if version != SCHEMA_VERSION:
            raise CheckpointError(
                f"{source} was saved with graph schema_version {version!r} but this code uses "
                f"schema_version {SCHEMA_VERSION}; retrain the model on graphs of the current "
                f"schema, or use the edgechain version that wrote the checkpoint"
            )
        name = ckpt.get("model_class")
        if name not in MODEL_CLASSES:
            raise CheckpointError(
                f"{source} names model_class {name!r}; known classes: {sorted(MODEL_CLASSES)}"
            )
        kwargs = dict(ckpt.get("model_kwargs", {}))
        try:
            model = MODEL_CLASSES[name](**kwargs)
            model.load_state_dict(ckpt["state_dict"])
        except (TypeError, KeyError, RuntimeError) as exc:
            raise CheckpointError(
                f"{source} does not fit model {name}({kwargs}): {exc}"
            ) from exc
        return cls(model, metadata=ckpt.get("metadata"), batch_size=batch_size,
                   num_threads=num_threads)

    @classmethod
    def load(cls, path: str | Path, *, batch_size: int = 1000,
             num_threads: int | None = 1) -> Surrogate:
        """Load a checkpoint written by :meth:`save` (CPU tensors, no Lightning needed).

        Raises:
            FileNotFoundError: If ``path`` does not exist.
            CheckpointError: If the file is not a matching surrogate checkpoint.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"surrogate checkpoint {str(path)!r} does not exist")
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
            raise CheckpointError(
                f"cannot read surrogate checkpoint {str(path)!r}: {exc}"
            ) from exc
        return cls.from_checkpoint(ckpt, source=f"checkpoint {str(path)!r}",
                                   batch_size=batch_size, num_threads=num_threads)

    @classmethod
    def default(cls) -> Surrogate:
        """Load the packaged checkpoint ``chainnet/checkpoints/default.pt``.

        Raises:
            FileNotFoundError: If it has not been trained yet, with how to make it.
        """
        if not DEFAULT_CHECKPOINT.is_file():
            raise FileNotFoundError(
                f"the packaged surrogate checkpoint {str(DEFAULT_CHECKPOINT)!r} does not exist "
                f"yet: train it with `make default-model` (or `python -m training fit "
                f"--config training/configs/default_model.yaml`, then copy the exported "
                f"checkpoint there); meanwhile use chainnet.AnalyticSurrogate()"
            )
        return cls.load(DEFAULT_CHECKPOINT)

    # -- prediction ----------------------------------------------------------------------------

    def _on_model_device(self, data: HeteroData) -> HeteroData:
        # the surrogate follows wherever the caller put the model; it never picks a device
        if self._reference or self.model.training:
            self.model.eval()
        param = next(self.model.parameters(), None)
        if param is not None and data[SERVICE].x.device != param.device:
            data = data.to(param.device)
        return data

    @torch.no_grad()
    def predict_tensors(self, data: HeteroData) -> TensorDict:
        """Run the model in eval mode on a (batched) graph and return its output dict.

        The graph is moved to the device of the model's parameters (the surrogate follows
        wherever the caller put the model; it never picks a device itself).
        """
        return self.model(self._on_model_device(data))

    @torch.no_grad()
    def predict_with_uncertainty(self, data: HeteroData) -> tuple[TensorDict, dict[str, Tensor]]:
        """Like :meth:`predict_tensors`, plus the per-service uncertainty (module docstring).

        Returns:
            ``(output dict, {"uncertainty": float [S], "out_of_range": bool [S]})``.
        """
        data = self._on_model_device(data)
        model: Any = self.model
        if isinstance(model, Ensemble):
            outs = model.member_outputs(data)
            out = Ensemble.combine(outs, model.weights)
            loss = 1.0 - torch.stack([o["tput_ratio"] for o in outs])
            spread = loss.max(dim=0).values - loss.min(dim=0).values
            # the training range of the members that predict (a critic only adds spread)
            normalizers = [m.normalizer for m, on in zip(model.members, model.predictive)
                           if on and hasattr(m, "normalizer")]
        else:
            out = model(data)
            spread = torch.zeros_like(out["tput_ratio"])
            normalizers = [model.normalizer] if hasattr(model, "normalizer") else []
        prior_loss = 1.0 - data[SERVICE].prior[:, 0].to(spread.dtype)
        gap = ((1.0 - out["tput_ratio"]) - prior_loss).abs()
        unc = spread + self.prior_weight * gap
        oor = torch.zeros_like(unc, dtype=torch.bool)
        for norm in normalizers:
            oor |= service_out_of_range(data, norm, self.range_margin)
        if self.out_of_range == "prior" and bool(oor.any()):
            prior = data[SERVICE].prior.to(out["tput_ratio"].dtype)
            out = dict(out)
            for j, head in enumerate(PRIORS[SERVICE]):
                out[head] = torch.where(oor, prior[:, j], out[head])
        return out, {"uncertainty": unc, "out_of_range": oor}

    def _engine(self, critics: bool = True) -> StackedChainNet | None:
        """The stacked fast path of the current weights, or ``None`` (reference path).

        Rebuilt when ``self.model`` is another object or one of its parameters or buffers
        changed in place (an optimiser step, ``load_state_dict``: their ``_version`` counters
        move); ``None`` for a model that is not (an ensemble of) ChainNet, or not on the CPU.
        With ``critics=False``, the members that predict only (the same predictions, the
        spread without the critics; the same engine when there are none).
        """
        if self._reference:
            return None
        cached = self._stacked
        if cached is None or cached[0] is not self.model or cached[2] != sum(
                t._version for t in cached[3]):
            tensors = list(self.model.parameters()) + list(self.model.buffers())
            engine = ranking = None
            if all(t.device.type == "cpu" for t in tensors):
                engine = ranking = StackedChainNet.from_model(self.model)
                if engine is not None and len(engine.predictive) < engine.num_members:
                    model: Any = self.model  # an Ensemble with critics
                    on, kept = mean_members(model.weights, engine.num_members)
                    ranking = StackedChainNet([model.members[i] for i in on], kept)
            cached = self._stacked = (self.model, engine, sum(t._version for t in tensors),
                                      tensors, ranking)
        return cached[1] if critics else cached[4]

    @torch.no_grad()
    def _predict_stacked(self, engine: StackedChainNet, g: GraphTensors
                         ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The metrics and uncertainty of ``g`` on the stacked fast path (numpy arrays).

        Small inputs run through the compiled kernel (:meth:`StackedChainNet.runs_compiled`),
        larger ones through the batched products; the ensemble mean, the uncertainty terms,
        the range check and the conversion to metrics then take a few numpy operations
        (microseconds each, where a tensor operation costs several).
        """
        if engine.runs_compiled(g):
            from chainnet.nn.compiled import compiled_forward

            z = {nt: np.arcsinh(x.numpy()) for nt, x in g.x.items()}
            outs = compiled_forward(engine, g, z, as_numpy=True, services_only=True)
        else:
            zt = {nt: torch.asinh(x) for nt, x in g.x.items()}
            outs = {k: v.numpy() for k, v in engine(g, zt, services_only=True).items()}
            z = {nt: v.numpy() for nt, v in zt.items()}
        out = engine.combine({k: outs[k] for k in PRIORS[SERVICE]})
        if isinstance(self.model, Ensemble):
            loss = np.float32(1.0) - outs["tput_ratio"]
            spread = loss.max(axis=0) - loss.min(axis=0)
        else:
            spread = np.zeros_like(out["tput_ratio"])
        prior = g.service_prior.numpy()
        gap = np.abs((np.float32(1.0) - out["tput_ratio"]) - (np.float32(1.0) - prior[:, 0]))
        unc = spread + np.float32(self.prior_weight) * gap
        oor = engine.out_of_range(g, z, self.range_margin).numpy()
        if self.out_of_range == "prior" and oor.any():
            for j, head in enumerate(PRIORS[SERVICE]):
                out[head] = np.where(oor, prior[:, j], out[head])
        return _metrics(out, g.arrival_rate, g.time_scale), {"uncertainty": unc,
                                                             "out_of_range": oor}

    def _chunk_metrics(self, chunk: Sequence[Scenario] | None, arrays: ScenarioArrays | None,
                       start: int, analytic: bool = True, critics: bool = True
                       ) -> dict[str, np.ndarray]:
        """Metric columns of one chunk (scenarios or flat arrays), scenario ids from ``start``.

        The chunk's flat arrays and their structure are built once and shared by the model's
        input and, with ``analytic`` and ``analytic_weight > 0``, the analytic gap of the
        ``uncertainty`` (module docstring). ``critics=False`` leaves an ensemble's critic
        members out of the spread (and of the forward pass).
        """
        engine = self._engine(critics)
        if arrays is None:
            if chunk is None:
                raise ValueError("_chunk_metrics needs scenarios or arrays")  # internal misuse
            arrays = scenarios_to_arrays(chunk)
        structure = compute_structure(arrays)
        g = tensors_from_arrays(arrays, structure) if engine is not None else None
        if engine is not None and g is not None:
            if self.model.training:
                self.model.eval()
            metrics, unc = self._predict_stacked(engine, g)
            metrics["scenario"] = g.service_graph.numpy() + start
        else:
            if chunk is None:
                raise ValueError(
                    "this surrogate's model has no stacked fast path for flat arrays; "
                    "predict scenarios with Surrogate.predict instead"
                )
            data = batch_from_arrays(arrays, structure)
            out, unc_t = self.predict_with_uncertainty(data)
            metrics = ratios_to_metrics(out, data)
            metrics["scenario"] = data[SERVICE].batch.numpy() + start
            unc = {k: v.detach().cpu().numpy() for k, v in unc_t.items()}
        metrics["uncertainty"] = unc["uncertainty"].astype(np.float64)
        metrics["out_of_range"] = unc["out_of_range"]
        if analytic and self.analytic_weight > 0:
            metrics["uncertainty"] = metrics["uncertainty"] + self.analytic_weight * (
                self._analytic_gap(arrays, structure, metrics["loss_ratio"]))
        return metrics

    def _analytic_gap(self, arrays: ScenarioArrays, structure: GraphStructure,
                      loss: np.ndarray) -> np.ndarray:
        """``|loss - analytic loss ratio|`` per service row (0 where the analytic one is NaN)."""
        if self._analytic is None:
            from chainnet.analytic import AnalyticSurrogate

            self._analytic = AnalyticSurrogate()
        analytic = self._analytic.loss_ratios_arrays(arrays, structure)
        if analytic.shape != loss.shape:
            raise RuntimeError(
                f"the analytic predictor returned {analytic.shape[0]} rows for {loss.shape[0]} "
                "services; this is a bug, please report it"
            )
        gap = np.abs(loss - analytic)
        return np.where(np.isfinite(gap), gap, 0.0)

    def _frame(self, parts: list[dict[str, np.ndarray]], services: np.ndarray) -> pd.DataFrame:
        """The prediction table of ``parts`` (metric columns of :meth:`_chunk_metrics`)."""
        columns = PREDICTION_COLUMNS + UNCERTAINTY_COLUMNS
        if not parts:
            dtypes = {"scenario": np.int64, "service": object, "out_of_range": bool,
                      "uncertain": bool}
            return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, np.float64))
                                 for c in columns})
        cols = {k: (parts[0][k] if len(parts) == 1 else np.concatenate([p[k] for p in parts]))
                for k in parts[0]}
        cols["service"] = services
        cols["uncertain"] = cols["out_of_range"] | (
            cols["uncertainty"] > self.uncertainty_threshold)
        return _table(cols, columns)

    def predict_arrays(self, arrays: ScenarioArrays, service_names: Sequence[str], *,
                       analytic: bool = True, critics: bool = True) -> pd.DataFrame:
        """Predict scenarios given as flat arrays (no :class:`~datagen.world.Scenario`).

        The entry point of placement searches: :func:`chainnet.builder.tile_arrays` turns
        device assignments into arrays, and this scores them in one batch, with the same
        numbers as :meth:`predict` on the equivalent scenarios (one batch of
        ``arrays.num_graphs`` scenarios), ``uncertainty`` included.

        Args:
            arrays: Flat arrays of ``arrays.num_graphs`` scenarios
                (:class:`~chainnet.features.ScenarioArrays`).
            service_names: Name of each service row of ``arrays`` (length ``S``).
            analytic: Add the analytic term (``analytic_weight`` times the gap to
                :class:`chainnet.AnalyticSurrogate`'s loss ratio) to ``uncertainty``
                (default: ``True``). ``False`` skips the analytic solve and leaves the term
                out: for callers that rank on the predictions alone, such as the placer's
                search (predict the few candidates that matter with the term afterwards).
            critics: Run an ensemble's critic members (weight 0 in
                :class:`chainnet.Ensemble`) for the spread term of ``uncertainty`` (default:
                ``True``). ``False`` skips them: the same predictions, one forward pass less
                per critic, a spread of the predicting members only; for the same callers as
                ``analytic=False``.

        Returns:
            The table of :meth:`predict`: one row per (scenario, service); throughput in
            requests/s, latencies in s, ``uncertainty`` in loss-ratio units.

        Raises:
            ValueError: If ``service_names`` does not have one name per service, or the
                model has no stacked fast path (not an ensemble of ChainNet on the CPU).
        """
        if len(service_names) != arrays.service_rate.shape[0]:
            raise ValueError(
                f"service_names must name each of the {arrays.service_rate.shape[0]} services "
                f"of arrays, got {len(service_names)} names"
            )
        saved = torch.get_num_threads()
        if self.num_threads is not None and saved != self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            parts = [self._chunk_metrics(None, arrays, 0, analytic, critics)]
        finally:
            if torch.get_num_threads() != saved:
                torch.set_num_threads(saved)
        return self._frame(parts, np.asarray(service_names, dtype=object))

    def predict(self, scenarios: Sequence[Scenario], batch_size: int | None = None
                ) -> pd.DataFrame:
        """Predict per-service performance of many scenarios.

        Args:
            scenarios: The scenarios.
            batch_size: Scenarios per batched graph (default: the instance's ``batch_size``).

        Returns:
            One row per (scenario index, service), columns :data:`PREDICTION_COLUMNS`
            then :data:`UNCERTAINTY_COLUMNS`; throughput in requests/s, latencies in s,
            ``uncertainty`` in loss-ratio units.

        Raises:
            ValueError: If ``batch_size < 1`` or a scenario is not a ``Scenario``.
        """
        if isinstance(scenarios, Scenario):
            scenarios = [scenarios]
        bs = self.batch_size if batch_size is None else batch_size
        if bs < 1:
            raise ValueError(f"batch_size must be >= 1, got {bs}")
        parts: list[dict[str, np.ndarray]] = []
        saved = torch.get_num_threads()
        if self.num_threads is not None and saved != self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            for start in range(0, len(scenarios), bs):
                parts.append(self._chunk_metrics(scenarios[start:start + bs], None, start))
        finally:
            if torch.get_num_threads() != saved:
                torch.set_num_threads(saved)
        names = np.array([s.name for sc in scenarios for s in sc.services], dtype=object)
        return self._frame(parts, names)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.model!r}, batch_size={self.batch_size})"
