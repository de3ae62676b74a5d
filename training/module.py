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

import logging
import pickle
import signal
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.utilities import rank_zero_warn
from lightning.pytorch.utilities.rank_zero import rank_prefixed_message
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from chainnet import Surrogate
from chainnet.models import ChainNet, GATBaseline, GCNBaseline, MLPBaseline
from chainnet.schema import DEVICE, FEATURES, SERVICE, TARGETS
from chainnet.surrogate import ratios_to_metrics
from datagen.validation import is_int
from training.metrics import service_errors, summarize

__all__ = ["PerfPredictorModule", "LOSS_EPS"]

#: Offset of the log-loss term (loss ratios below it count as equal).
LOSS_EPS: float = 1e-3
#: The trainable predictors: the type of ``--model.predictor`` (a union of the ChainNet family
#: rather than ``nn.Module``, so that ``fit --help`` lists these four classes, not every
#: ``torch.nn.Module`` subclass).
Predictor = ChainNet | GCNBaseline | GATBaseline | MLPBaseline
_LOG_FLOOR = 1e-6


def _target(store: Any, node_type: str, head: str) -> Tensor:
    """Column ``head`` of a node store's targets ``y`` (order: :data:`chainnet.schema.TARGETS`)."""
    return store.y[:, TARGETS[node_type].index(head)]


def _masked_error(
    pred: Tensor, target: Tensor, error: Callable[[Tensor, Tensor], Tensor]
) -> Tensor:
    """Mean of ``error(pred, target)`` over the finite targets.

    Missing targets (NaN) are replaced *before* the error is computed: masking afterwards
    would still send ``0 * NaN = NaN`` gradients back through the masked entries. The mean is
    the masked sum over the count (no boolean indexing, no host sync); with no finite target
    it is 0, with zero gradients.
    """
    ok = torch.isfinite(target)
    safe = torch.where(ok, target, torch.ones_like(target))
    err = torch.where(ok, error(pred, safe), 0.0)
    return err.sum() / ok.sum().clamp_min(1)


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


def _fused_on_cpu(optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """Switch the CPU parameter groups of an Adam or AdamW optimizer to ``fused=True``.

    The fused kernel updates every parameter tensor in one C++ loop: an AdamW step of the
    default model (53 tensors) takes about 0.4 ms against 1.6 ms for the multi-tensor
    implementation, whose ``_foreach_*`` operations fall back to one kernel per tensor on the
    CPU. Its arithmetic is AdamW's, with rounding that may differ in the last bits. Groups
    whose ``fused`` or ``foreach`` was set explicitly, differentiable groups, groups with a
    parameter off the CPU or not floating point, and other optimizers are left alone
    (:func:`_multi_tensor_on_cpu` then applies).

    Args:
        optimizer: A built optimizer.

    Returns:
        The same optimizer (changed in place).
    """
    if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW):
        return optimizer
    for group in optimizer.param_groups:
        if group.get("fused", False) is not None or group.get("foreach") is not None:
            continue
        if group.get("differentiable") or group.get("capturable"):
            continue
        if all(isinstance(p, Tensor) and p.device.type == "cpu" and p.is_floating_point()
               for p in group["params"]):
            group["fused"] = True
    return optimizer


def _multi_tensor_on_cpu(optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """Switch the parameter groups of ``optimizer`` that sit on the CPU to ``foreach=True``.

    PyTorch resolves ``foreach=None`` to the per-parameter loop on the CPU (one Python
    dispatch per operation *and* parameter tensor: some 50 tensors for ChainNet). The
    multi-tensor (``_foreach_*``) implementation applies the same operations to every
    element in the same order (AdamW's steps are bitwise identical), with one dispatch per
    operation; it saves about 0.6 ms of a 20 ms training step of the default model. Groups
    whose ``foreach`` was set explicitly, groups with a parameter off the CPU and optimizers
    without the option are left alone.

    Args:
        optimizer: A built optimizer.

    Returns:
        The same optimizer (changed in place).
    """
    for group in optimizer.param_groups:
        if "foreach" not in group or group["foreach"] is not None:
            continue
        if group.get("fused") or group.get("differentiable"):
            continue
        if all(isinstance(p, Tensor) and p.device.type == "cpu" for p in group["params"]):
            group["foreach"] = True
    return optimizer


class PerfPredictorModule(L.LightningModule):
    r"""Train, validate and test a performance predictor (the network is injected).

    Args:
        predictor: The network to train: ``chainnet.ChainNet``, ``GCNBaseline``,
            ``GATBaseline`` or ``MLPBaseline`` (an ``Ensemble`` is combined from trained
            members with ``python -m training ensemble``, not trained).
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
        num_threads: Torch intra-op threads while a run (``fit``, ``validate``, ``test``,
            ``predict``) executes on the CPU, restored when it ends; ``None`` leaves torch's
            setting alone (default: ``None``). ``training/configs/default_model.yaml`` sets
            ``1``, as its recipe (``make default-model``, ``OMP_NUM_THREADS=1``) and
            :class:`chainnet.Surrogate` do: the default model's tensors (a few hundred rows of
            48 to 144 columns) are too small for intra-op parallelism to pay much (on a lightly
            loaded 2-core machine two threads were about 5% faster), and two threads made
            training about eight times slower whenever another process held a core (OpenMP's
            threads wait for each other). The thread count changes the order of some
            floating-point sums, so weights trained with 1 and with 2 threads differ in the
            last bits (about 1e-6 after a few epochs).

    Raises:
        ValueError: If a weight is negative, ``feature_dims`` disagrees with the schema,
            ``num_threads < 1`` or ``init_from`` holds another model.
        FileNotFoundError: If ``init_from`` does not exist.
    """

    def __init__(
        self,
        predictor: Predictor,
        optimizer: OptimizerCallable = _default_optimizer,
        lr_scheduler: LRSchedulerCallable | None = None,
        loss_weight: float = 0.2,
        p95_weight: float = 0.2,
        loss_abs_weight: float = 0.0,
        aux_weight: float = 0.5,
        feature_dims: dict[str, int] | None = None,
        export_path: str | None = None,
        init_from: str | None = None,
        num_threads: int | None = None,
    ) -> None:
        super().__init__()
        if num_threads is not None and (not is_int(num_threads) or num_threads < 1):
            raise ValueError(f"num_threads must be an integer >= 1 or None, got {num_threads!r}; "
                             f"pass e.g. num_threads=1")
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
        self._epoch_errors: list[Any] = []
        self._sigterm_handled = False
        self._sigterm_pending = False
        self.num_threads = num_threads
        self._threads_before: int | None = None
        if init_from is not None:
            _load_weights(predictor, init_from)

    def setup(self, stage: str) -> None:
        """Set torch's intra-op threads to ``num_threads`` for a run on the CPU.

        Args:
            stage: ``"fit"``, ``"validate"``, ``"test"`` or ``"predict"``.
        """
        if self.num_threads is None or self._threads_before is not None or self._trainer is None:
            return
        if self._trainer.strategy.root_device.type != "cpu":
            return
        self._threads_before = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)

    def teardown(self, stage: str) -> None:
        """Restore torch's intra-op threads of before :meth:`setup`.

        Args:
            stage: ``"fit"``, ``"validate"``, ``"test"`` or ``"predict"``.
        """
        if self._threads_before is not None:
            torch.set_num_threads(self._threads_before)
            self._threads_before = None

    def forward(self, batch: HeteroData) -> dict[str, Tensor]:
        """Run the predictor."""
        return self.predictor(batch)

    # -- loss and metrics ------------------------------------------------------------------------

    def compute_loss(self, out: Mapping[str, Tensor], batch: HeteroData) -> Tensor:
        """The training objective of the module docstring."""
        svc, dev = batch[SERVICE], batch[DEVICE]
        w = self.hparams
        loss = _masked_error(out["tput_ratio"], _target(svc, SERVICE, "tput_ratio"), _log_error)
        loss = loss + _masked_error(
            out["respt_ratio"], _target(svc, SERVICE, "respt_ratio"), _log_error
        )
        pred_loss = (1.0 - out["tput_ratio"]).clamp_min(0.0)
        true_loss = batch[SERVICE].loss_true.clamp(0.0, 1.0)
        loss = loss + w["loss_weight"] * _masked_error(pred_loss, true_loss, _log_loss_error)
        if w.get("loss_abs_weight", 0.0) > 0:
            loss = loss + w["loss_abs_weight"] * _masked_error(pred_loss, true_loss, _abs_error)
        loss = loss + w["p95_weight"] * _masked_error(
            out["p95_ratio"], _target(svc, SERVICE, "p95_ratio"), _log_error
        )
        aux = _masked_error(out["utilization"], _target(dev, DEVICE, "utilization"), _square)
        aux = aux + _masked_error(out["drop_prob"], _target(dev, DEVICE, "drop_prob"), _square)
        return loss + w["aux_weight"] * aux

    @staticmethod
    def batch_errors(out: Mapping[str, Tensor], batch: HeteroData) -> Any:
        """Per-service errors of one batch (:func:`training.metrics.service_errors`)."""
        pred = ratios_to_metrics(out, batch)
        svc = batch[SERVICE]
        counts = torch.bincount(svc.batch)[svc.batch]
        true = {
            head: _target(svc, SERVICE, head).detach().cpu().double().numpy()
            for head in ("tput_ratio", "respt_ratio")
        }
        true.update({
            "loss_ratio": svc.loss_true.detach().cpu().double().numpy(),
            "latency_mean": svc.latency_true.cpu().numpy(),
            "latency_p95": svc.p95_true.cpu().numpy(),
            "num_services": counts.cpu().numpy().astype(np.float64),
        })
        return service_errors(pred, true)

    def _shared_step(self, batch: HeteroData, stage: str) -> Tensor:
        out = self(batch)
        loss = self.compute_loss(out, batch)
        self.log(f"{stage}/loss", loss, batch_size=batch.num_graphs, sync_dist=True,
                 prog_bar=stage != "test")
        if stage != "train":
            self._epoch_errors.append(self.batch_errors(out, batch))
        return loss

    def _every_parameter_term(self) -> Tensor:
        """``0 * sum(parameters)``: a zero that gives every parameter a (zero) gradient.

        DDP all-reduces a gradient for every parameter and fails on a step that leaves one
        without: a batch with no link nodes (``chainnet_like`` data) or the link update of the
        last message-passing iteration, whose output no head reads.
        """
        params = [p.sum() for p in self.parameters() if p.requires_grad]
        return 0.0 * torch.stack(params).sum() if params else torch.zeros((), device=self.device)

    def _log_epoch_metrics(self, stage: str) -> None:
        """Log the metrics of every service the epoch saw, overall and by services per graph.

        The per-service errors are gathered from every rank first, so that every rank logs
        the same keys (``_ns{k}`` groups and NaN-able metrics such as ``loss_mae_lossy``
        depend on the data a rank holds; a key logged with ``sync_dist`` on some ranks only
        deadlocks DDP) and the values are exact means over all services, not means of batches.
        """
        frames: list[Any] = self._epoch_errors
        self._epoch_errors = []
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            local = pd.concat(frames, ignore_index=True) if frames else None
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, local)
            frames = [f for f in gathered if f is not None]
        if not frames:
            return
        errors = pd.concat(frames, ignore_index=True)
        groups = [("", errors)] + [
            (f"_ns{int(k)}", g) for k, g in errors.groupby("num_services", sort=True)
        ]
        for suffix, g in groups:
            for key, value in summarize(g).items():
                if key in ("services", "bad_services") or not np.isfinite(value):
                    continue
                # every rank holds the same value: the mean over ranks changes nothing, but
                # keeps Lightning's epoch-level reduction consistent across ranks
                self.log(f"{stage}/{key}{suffix}", float(value), batch_size=1, sync_dist=True,
                         prog_bar=(key == "combined_mape" and not suffix))

    def training_step(self, batch: HeteroData, batch_idx: int) -> Tensor:
        """One optimisation step."""
        loss = self._shared_step(batch, "train")
        if self.trainer.world_size > 1:
            loss = loss + self._every_parameter_term()
        return loss

    def _take_over_sigterm(self) -> None:
        """Under DDP, replace Lightning's SIGTERM handler by one that all ranks act on together.

        Lightning's handler broadcasts a flag from inside the signal handler, which pairs with
        whatever collective call another rank is blocked in (a gradient all-reduce, a metric
        sync) and hangs both ranks; and each rank then stops on its own flag, so a rank that
        saw the signal one batch earlier leaves the other blocked. This handler only forwards
        the signal to the ranks this process launched and notes it; at the start of every
        batch the ranks agree (:meth:`_agree_on_sigterm`) and all raise Lightning's stop at the
        end of the same batch. Lightning restores the previous handlers when the run ends.
        """
        trainer = self.trainer
        if trainer.world_size <= 1 or threading.current_thread() is not threading.main_thread():
            return

        def on_sigterm(signum: int, frame: Any) -> None:
            logging.getLogger("lightning.pytorch").info(
                rank_prefixed_message(f"Received SIGTERM: {signum}", trainer.local_rank))
            launcher = trainer.strategy.launcher
            if not self._sigterm_pending and launcher is not None:
                launcher.kill(signum)
            self._sigterm_pending = True

        signal.signal(signal.SIGTERM, on_sigterm)
        self._sigterm_handled = True

    def _agree_on_sigterm(self) -> None:
        """Stop every rank at the end of this batch if any rank received SIGTERM."""
        if not (self._sigterm_handled and dist.is_available() and dist.is_initialized()):
            return
        flag = torch.tensor([float(self._sigterm_pending)], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item() > 0:
            self.trainer._signal_connector.received_sigterm = True

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        """Agree on stopping (SIGTERM) before the batch."""
        self._agree_on_sigterm()

    def on_validation_batch_start(self, batch: Any, batch_idx: int,
                                  dataloader_idx: int = 0) -> None:
        """Agree on stopping (SIGTERM) before the batch."""
        self._agree_on_sigterm()

    def on_test_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Agree on stopping (SIGTERM) before the batch."""
        self._agree_on_sigterm()

    def on_train_start(self) -> None:
        """Take over SIGTERM (after Lightning installed its handler)."""
        self._take_over_sigterm()

    def on_validation_start(self) -> None:
        """Take over SIGTERM (the sanity check runs before ``on_train_start``)."""
        self._take_over_sigterm()

    def on_validation_epoch_start(self) -> None:
        """Start collecting per-service validation errors."""
        self._epoch_errors = []

    def validation_step(self, batch: HeteroData, batch_idx: int) -> None:
        """Log the validation loss; collect per-service errors."""
        self._shared_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        """Log the validation metrics of the epoch."""
        self._log_epoch_metrics("val")

    def on_test_start(self) -> None:
        """Take over SIGTERM."""
        self._take_over_sigterm()

    def on_test_epoch_start(self) -> None:
        """Start collecting per-service test errors."""
        self._epoch_errors = []

    def test_step(self, batch: HeteroData, batch_idx: int) -> None:
        """Log the test loss; collect per-service errors."""
        self._shared_step(batch, "test")

    def on_test_epoch_end(self) -> None:
        """Log the test metrics of the epoch."""
        self._log_epoch_metrics("test")

    def predict_step(self, batch: HeteroData, batch_idx: int) -> dict[str, np.ndarray]:
        """Predicted throughput, loss and latency of every service of the batch."""
        out = ratios_to_metrics(self(batch), batch)
        out["scenario"] = batch[SERVICE].batch.cpu().numpy()
        return out

    # -- set-up and export -------------------------------------------------------------------------

    def configure_optimizers(self) -> Any:
        """Build the injected optimizer (and scheduler, if any) over the parameters.

        On the CPU, Adam and AdamW left at PyTorch's ``fused=None`` and ``foreach=None`` run
        their fused kernel (:func:`_fused_on_cpu`); other optimizers left at ``foreach=None``
        run their multi-tensor implementation (:func:`_multi_tensor_on_cpu`).
        """
        optimizer = _multi_tensor_on_cpu(_fused_on_cpu(self.optimizer_factory(self.parameters())))
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

    def _best_state(self) -> tuple[dict[str, Tensor] | None, str]:
        """The predictor weights of the best checkpoint of this run, loaded safely.

        The path comes from the checkpoint callback, which a resumed checkpoint restores, so it
        is accepted only inside this run's checkpoint folder and loaded with
        ``weights_only=True`` (tensors and plain containers only: nothing in it can run).

        Returns:
            The weights (``None`` if there is no best checkpoint or it is refused, with a
            warning) and the path they came from (``""`` if none).

        Raises:
            pickle.UnpicklingError: If the checkpoint holds objects a safe load refuses.
        """
        callback = self.trainer.checkpoint_callback
        best = str(getattr(callback, "best_model_path", "") or "")
        if not best:
            return None, ""
        folder = getattr(callback, "dirpath", None)
        path = Path(best).resolve()
        if folder is None or not path.is_relative_to(Path(folder).resolve()):
            rank_zero_warn(
                f"ignoring best checkpoint {best!r} (restored from a resumed checkpoint?): it is "
                f"not inside this run's checkpoint folder {folder!r}; exporting the final weights"
            )
            return None, ""
        if not path.is_file():
            rank_zero_warn(f"best checkpoint {best!r} does not exist; exporting the final weights")
            return None, ""
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            raise pickle.UnpicklingError(
                f"best checkpoint {best!r} holds objects that a safe load refuses, so it was not "
                f"written by Lightning or was altered; it was not loaded and nothing was exported "
                f"(the safe loader said: {str(e).splitlines()[0]})"
            ) from None
        state = ckpt.get("state_dict") if isinstance(ckpt, dict) else None
        if not isinstance(state, dict):
            raise ValueError(f"best checkpoint {best!r} holds no 'state_dict'")
        prefix = "predictor."
        return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}, best

    def on_fit_end(self) -> None:
        """Export the trained predictor (the best checkpoint's weights, if any).

        Every rank takes the best weights and asks for the log folder (a collective call);
        rank 0 alone writes the :class:`chainnet.Surrogate` checkpoint and prints its path.
        """
        model = self.predictor
        log_dir = self.trainer.log_dir  # broadcast from rank 0: every rank must call it
        state, best = self._best_state()
        if state is not None:
            model.load_state_dict(state)
        if not self.trainer.is_global_zero:
            return
        path = Path(self.export_path or Path(log_dir or ".") / "surrogate.pt")
        metadata = {
            "trained_with": "training.PerfPredictorModule",
            "best_checkpoint": best,
            "hparams": {k: v for k, v in self.hparams.items() if k != "feature_dims"},
            "callback_metrics": {k: float(v) for k, v in self.trainer.callback_metrics.items()},
        }
        device = next(model.parameters()).device
        Surrogate(model.cpu(), metadata=metadata).save(path)
        model.to(device)
        # a plain print: Lightning's self.print goes through the progress bar, closed by now
        print(f"exported surrogate checkpoint to {path}", flush=True)
