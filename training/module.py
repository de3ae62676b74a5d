r"""The LightningModule that trains any ChainNet-family predictor.

The loss per service :math:`c` (masked where a label is missing) is

.. math::
    \mathcal L = \overline{|\log\hat\tau_c-\log\tau_c|}
        + \overline{|\log\hat r_c-\log r_c|}
        + w_\ell\,\overline{\big|\log(\hat\ell_c+\delta)-\log(\ell_c+\delta)\big|}
        + w_{abs}\,\overline{|\hat\ell_c-\ell_c|}
        + w_{95}\,\overline{|\log\hat q_c-\log q_c|}
        + w_{aux}\,\overline{(\hat u_d-u_d)^2 + (\hat p_d-p_d)^2}

with :math:`\tau` = ``tput_ratio``, :math:`r` = ``respt_ratio`` (the two ChainNet ratios),
:math:`\ell = 1-\tau` the loss ratio (so that small losses are learned well, :math:`\delta =
10^{-3}`; the optional absolute term targets the loss-ratio MAE, whose error comes mostly from
heavily overloaded chains), :math:`q` the p95/mean latency ratio and the auxiliary per-device
utilisation :math:`u` and drop probability :math:`p`. The log error equals ChainNet's relative
error to first order, but its gradient with respect to a sigmoid head's logit is bounded
(:math:`\partial \log\sigma(z) / \partial z = 1-\sigma(z)`), whereas the relative error
:math:`|\hat y-y|/(y+10^{-5})` weighs a service with :math:`y \approx 10^{-5}` (a chain losing
almost everything) ten thousand times more than a healthy one and derails training.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from chainnet import Surrogate
from chainnet.schema import DEVICE, FEATURES, SERVICE
from chainnet.surrogate import ratios_to_metrics
from training.metrics import service_errors, summarize

__all__ = ["PerfPredictorModule", "LOSS_EPS"]

#: Offset of the log-loss term (loss ratios below it count as equal).
LOSS_EPS: float = 1e-3
_LOG_FLOOR = 1e-6


def _masked_error(
    pred: Tensor, target: Tensor, error: Callable[[Tensor, Tensor], Tensor]
) -> Tensor:
    """Mean of ``error(pred, target)`` over the finite targets.

    Missing targets (NaN) are replaced *before* the error is computed: masking afterwards
    would still send ``0 * NaN = NaN`` gradients back through the masked entries.
    """
    ok = torch.isfinite(target)
    if not bool(ok.any()):
        return pred.sum() * 0.0
    safe = torch.where(ok, target, torch.ones_like(target))
    return error(pred, safe)[ok].mean()


def _log_error(pred: Tensor, target: Tensor) -> Tensor:
    return (torch.log(pred.clamp_min(_LOG_FLOOR)) - torch.log(target.clamp_min(_LOG_FLOOR))).abs()


def _log_loss_error(pred_loss: Tensor, true_loss: Tensor) -> Tensor:
    return (torch.log(pred_loss + LOSS_EPS) - torch.log(true_loss + LOSS_EPS)).abs()


def _abs_error(pred: Tensor, target: Tensor) -> Tensor:
    return (pred - target).abs()


def _square(pred: Tensor, target: Tensor) -> Tensor:
    return (pred - target).square()


def _default_optimizer(params: Any) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-5)


def _load_weights(predictor: nn.Module, path: str) -> None:
    """Copy the weights and normaliser of the surrogate checkpoint ``path`` into ``predictor``.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the checkpoint holds another model class or other arguments.
    """
    source = Surrogate.load(path).model
    mine: Any = predictor
    theirs: Any = source
    if type(source) is not type(predictor) or theirs.init_kwargs != mine.init_kwargs:
        raise ValueError(
            f"init_from {path!r} holds {theirs!r} but the model to train is {mine!r}; "
            f"configure model.predictor with the checkpoint's class and arguments (an ensemble "
            f"checkpoint cannot start a single model: fine-tune its members)"
        )
    predictor.load_state_dict(source.state_dict())


class PerfPredictorModule(L.LightningModule):
    r"""Train, validate and test a performance predictor (the network is injected).

    Args:
        predictor: A ChainNet-family ``nn.Module`` (``chainnet.ChainNet``, ``GCNBaseline``, ...).
        optimizer: Optimizer factory (default: AdamW, lr 1e-3, weight decay 1e-5).
        lr_scheduler: Optional learning-rate scheduler factory, stepped once per epoch
            (``ReduceLROnPlateau`` watches ``val/loss``) (default: ``None``).
        loss_weight: Weight :math:`w_\ell` of the log-loss term (default: ``0.2``).
        loss_abs_weight: Weight :math:`w_{abs}` of the absolute loss-ratio error
            (default: ``0.0``).
        p95_weight: Weight :math:`w_{95}` of the tail-ratio term (default: ``0.2``).
        aux_weight: Weight :math:`w_{aux}` of the per-device auxiliary terms (default: ``0.5``).
        feature_dims: Feature columns per node type of the data (linked from the data module);
            checked against the predictor's schema (default: ``None`` = not checked).
        export_path: Where to write the :class:`chainnet.Surrogate` checkpoint at the end of
            ``fit`` (default: ``None`` = ``<log_dir>/surrogate.pt``).
        init_from: A :class:`chainnet.Surrogate` checkpoint of the same model class and
            arguments whose weights and fitted normaliser start the training (fine-tuning,
            e.g. a member of the packaged model on one's own data) (default: ``None`` = fresh
            weights, normaliser fitted on the training split).

    Raises:
        ValueError: If a weight is negative, ``feature_dims`` disagrees with the schema or
            ``init_from`` holds another model.
        FileNotFoundError: If ``init_from`` does not exist.
    """

    def __init__(
        self,
        predictor: nn.Module,
        optimizer: OptimizerCallable = _default_optimizer,
        lr_scheduler: LRSchedulerCallable | None = None,
        loss_weight: float = 0.2,
        p95_weight: float = 0.2,
        loss_abs_weight: float = 0.0,
        aux_weight: float = 0.5,
        feature_dims: dict[str, int] | None = None,
        export_path: str | None = None,
        init_from: str | None = None,
    ) -> None:
        super().__init__()
        for name, w in (("loss_weight", loss_weight), ("p95_weight", p95_weight),
                        ("loss_abs_weight", loss_abs_weight), ("aux_weight", aux_weight)):
            if w < 0:
                raise ValueError(f"{name} must be >= 0, got {w}")
        if feature_dims is not None:
            expected = {nt: len(f) for nt, f in FEATURES.items()}
            if dict(feature_dims) != expected:
                raise ValueError(
                    f"feature_dims of the data {dict(feature_dims)} do not match the model's "
                    f"graph schema {expected}; rebuild the processed cache with this version"
                )
        self.save_hyperparameters(ignore=["predictor", "optimizer", "lr_scheduler"])
        self.predictor = predictor
        self.optimizer_factory = optimizer
        self.scheduler_factory = lr_scheduler
        self.export_path = export_path
        if init_from is not None:
            _load_weights(predictor, init_from)

    def forward(self, batch: HeteroData) -> dict[str, Tensor]:
        """Run the predictor."""
        return self.predictor(batch)

    # -- loss and metrics ------------------------------------------------------------------------

    def compute_loss(self, out: Mapping[str, Tensor], batch: HeteroData) -> Tensor:
        """The training objective of the module docstring."""
        y = batch[SERVICE].y
        w = self.hparams
        loss = _masked_error(out["tput_ratio"], y[:, 0], _log_error)
        loss = loss + _masked_error(out["respt_ratio"], y[:, 1], _log_error)
        pred_loss = (1.0 - out["tput_ratio"]).clamp_min(0.0)
        true_loss = batch[SERVICE].loss_true.clamp(0.0, 1.0)
        loss = loss + w["loss_weight"] * _masked_error(pred_loss, true_loss, _log_loss_error)
        if w.get("loss_abs_weight", 0.0) > 0:
            loss = loss + w["loss_abs_weight"] * _masked_error(pred_loss, true_loss, _abs_error)
        loss = loss + w["p95_weight"] * _masked_error(out["p95_ratio"], y[:, 2], _log_error)
        dev = batch[DEVICE].y
        aux = _masked_error(out["utilization"], dev[:, 0], _square)
        aux = aux + _masked_error(out["drop_prob"], dev[:, 1], _square)
        return loss + w["aux_weight"] * aux

    @staticmethod
    def batch_errors(out: Mapping[str, Tensor], batch: HeteroData) -> Any:
        """Per-service errors of one batch (:func:`training.metrics.service_errors`)."""
        pred = ratios_to_metrics(out, batch)
        svc = batch[SERVICE]
        counts = torch.bincount(svc.batch)[svc.batch]
        y = svc.y.detach().cpu().double().numpy()
        true = {
            "tput_ratio": y[:, 0],
            "respt_ratio": y[:, 1],
            "loss_ratio": svc.loss_true.detach().cpu().double().numpy(),
            "latency_mean": svc.latency_true.cpu().numpy(),
            "latency_p95": svc.p95_true.cpu().numpy(),
            "num_services": counts.cpu().numpy().astype(np.float64),
        }
        return service_errors(pred, true)

    def _shared_step(self, batch: HeteroData, stage: str) -> Tensor:
        out = self(batch)
        loss = self.compute_loss(out, batch)
        self.log(f"{stage}/loss", loss, batch_size=batch.num_graphs, sync_dist=True,
                 prog_bar=stage != "test")
        if stage != "train":
            self._log_metrics(out, batch, stage)
        return loss

    def _log_metrics(self, out: Mapping[str, Tensor], batch: HeteroData, stage: str) -> None:
        errors = self.batch_errors(out, batch)
        groups = [("", errors)] + [
            (f"_ns{int(k)}", g) for k, g in errors.groupby("num_services", sort=True)
        ]
        for suffix, g in groups:
            # means over services, so each batch is weighted by its number of services
            for key, value in summarize(g).items():
                if key == "services" or not np.isfinite(value):
                    continue
                n = int(g["true_loss"].gt(0.01).sum()) if key == "loss_mae_lossy" else len(g)
                self.log(f"{stage}/{key}{suffix}", float(value), batch_size=max(n, 1),
                         sync_dist=True, prog_bar=(key == "combined_mape" and not suffix))

    def training_step(self, batch: HeteroData, batch_idx: int) -> Tensor:
        """One optimisation step."""
        return self._shared_step(batch, "train")

    def validation_step(self, batch: HeteroData, batch_idx: int) -> None:
        """Log validation loss and metrics."""
        self._shared_step(batch, "val")

    def test_step(self, batch: HeteroData, batch_idx: int) -> None:
        """Log test loss and metrics."""
        self._shared_step(batch, "test")

    def predict_step(self, batch: HeteroData, batch_idx: int) -> dict[str, np.ndarray]:
        """Predicted throughput, loss and latency of every service of the batch."""
        out = ratios_to_metrics(self(batch), batch)
        out["scenario"] = batch[SERVICE].batch.cpu().numpy()
        return out

    # -- set-up and export -------------------------------------------------------------------------

    def configure_optimizers(self) -> Any:
        """Build the injected optimizer (and scheduler, if any) over the parameters."""
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch", "monitor": "val/loss"},
        }

    def on_fit_start(self) -> None:
        """Fit the feature normaliser on the training split (once, before the first step).

        A normaliser fitted already (fine-tuning from ``init_from``) keeps its mean and
        standard deviation, which the weights were trained with, and only takes the feature
        range of the new training split (checked by
        :meth:`chainnet.nn.FeatureNormalizer.out_of_range`).
        """
        norm = getattr(self.predictor, "normalizer", None)
        if norm is None:
            return
        loader = self.trainer.datamodule.train_dataloader()  # type: ignore[attr-defined]
        if bool(norm.fitted):
            norm.fit_range(batch.to(self.device) for batch in loader)
        else:
            norm.fit(batch.to(self.device) for batch in loader)

    def on_fit_end(self) -> None:
        """Export the trained predictor as a :class:`chainnet.Surrogate` checkpoint."""
        if not self.trainer.is_global_zero:
            return
        model = self.predictor
        best = getattr(self.trainer.checkpoint_callback, "best_model_path", "")
        if best:
            state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
            prefix = "predictor."
            model.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                                   if k.startswith(prefix)})
        path = Path(self.export_path or Path(self.trainer.log_dir or ".") / "surrogate.pt")
        metadata = {
            "trained_with": "training.PerfPredictorModule",
            "best_checkpoint": best,
            "hparams": {k: v for k, v in self.hparams.items() if k != "feature_dims"},
            "callback_metrics": {k: float(v) for k, v in self.trainer.callback_metrics.items()},
        }
        Surrogate(model.cpu(), metadata=metadata).save(path)
        model.to(self.device)
        self.print(f"exported surrogate checkpoint to {path}")
