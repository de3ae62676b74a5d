"""The training entry point: ``python -m training {fit,validate,test,predict} --config ...``.

To run::

    python -m training fit --config training/configs/chainnet.yaml
    python -m training test --config training/configs/chainnet.yaml --ckpt_path best
    python -m training fit --help   # short: --model.predictor lists the ChainNet family only

``fit`` needs the folders of ``data.train`` (generate them first with
``python -m datagen generate``); ``predict`` with ``data.predict`` needs only that folder.

Configs compose (repeat ``--config``); every run saves its resolved ``config.yaml`` next to its
logs; the seed defaults to 0 and is part of the run's name. ``validate`` and ``test`` print
their metrics as :mod:`training.evaluate` does (percentages with one decimal); the logged values
(``test/combined_mape`` ...) stay fractions.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI

from training.data import SimDataModule
from training.module import PerfPredictorModule

__all__ = ["PROG", "TrainingCLI", "cli_main", "metrics_table"]

PROG = "python -m training"


def metrics_table(results: dict[str, float], stage: str) -> Any:
    """The logged ``{stage}/metric[_nsK]`` values as :func:`training.evaluate.evaluate`'s table.

    Args:
        results: One dict of logged metrics, as ``Trainer.test`` returns them.
        stage: ``"test"`` or ``"val"``.

    Returns:
        A DataFrame indexed like :func:`training.metrics.evaluation_table` (``all``, then
        ``"K services"``), one column per metric (fractions); empty without metrics of
        ``stage``.
    """
    import pandas as pd

    rows: dict[str, dict[str, float]] = {}
    prefix = f"{stage}/"
    for key, value in results.items():
        if not key.startswith(prefix) or key == f"{prefix}loss":
            continue
        name, _, group = key[len(prefix):].rpartition("_ns")
        if not name or not group.isdigit():
            name, group = key[len(prefix):], "all"
        rows.setdefault(group, {})[name] = float(value)
    order = [g for g in ["all", *sorted((g for g in rows if g != "all"), key=int)] if g in rows]
    return pd.DataFrame([rows[g] for g in order],
                        index=[g if g == "all" else f"{g} services" for g in order])


class TrainingCLI(LightningCLI):
    """LightningCLI that links what the data knows (feature sizes) into the model."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link ``data.feature_dims`` into ``model.feature_dims`` at instantiation."""
        parser.link_arguments("data.feature_dims", "model.feature_dims", apply_on="instantiate")

    def _check_ckpt_path(self) -> None:
        """Refuse a ``ckpt_path`` that Lightning would unpickle without ``weights_only``.

        Lightning loads a URL with ``weights_only=False``, and a local file with torch's
        default, which is unsafe before torch 2.6; so a URL is refused and a local file must
        load with ``weights_only=True`` first (nothing in it can run code).

        Raises:
            ValueError: If ``ckpt_path`` is a URL or holds more than tensors and plain data.
        """
        import pickle

        import torch

        config = self.config.get(self.subcommand, {}) if self.subcommand else {}
        ckpt = config.get("ckpt_path") if hasattr(config, "get") else None
        if ckpt is None or str(ckpt) in ("best", "last", "hpc", "registry"):
            return
        if "://" in str(ckpt):
            raise ValueError(
                f"ckpt_path must be a local checkpoint file, got the URL {str(ckpt)!r}: "
                "download it first (Lightning would unpickle a URL without weights_only)"
            )
        try:
            torch.load(str(ckpt), map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError) as exc:
            raise ValueError(
                f"ckpt_path {str(ckpt)!r} holds objects beyond tensors and plain data, which "
                f"could run code when loaded; refusing it ({type(exc).__name__})"
            ) from exc

    def _print_metrics(self, results: Any, stage: str) -> None:
        from training.evaluate import shown_table

        for i, result in enumerate(results or []):
            table = metrics_table(result, stage)
            if table.empty:
                continue
            where = "" if len(results) == 1 else f" (dataloader {i})"
            print(f"{stage} metrics{where} (percentages of relative errors; loss ratios "
                  f"absolute):\n{shown_table(table).to_string()}", flush=True)

    def validate(self, verbose: bool = True, **kwargs: Any) -> Any:
        """Run ``Trainer.validate`` and print its metrics as ``evaluate`` does."""
        results = self.trainer.validate(verbose=False, **kwargs)
        if verbose and self.trainer.is_global_zero:
            self._print_metrics(results, "val")
        return results

    def test(self, verbose: bool = True, **kwargs: Any) -> Any:
        """Run ``Trainer.test`` and print its metrics as ``evaluate`` does."""
        results = self.trainer.test(verbose=False, **kwargs)
        if verbose and self.trainer.is_global_zero:
            self._print_metrics(results, "test")
        return results

    def before_fit(self) -> None:
        """Check ``ckpt_path`` (see :meth:`_check_ckpt_path`)."""
        self._check_ckpt_path()

    def before_validate(self) -> None:
        """Check ``ckpt_path`` (see :meth:`_check_ckpt_path`)."""
        self._check_ckpt_path()

    def before_test(self) -> None:
        """Check ``ckpt_path`` (see :meth:`_check_ckpt_path`)."""
        self._check_ckpt_path()

    def before_predict(self) -> None:
        """Predict with ``data.predict`` reads only that: ``data.train`` may be missing.

        The training and test folders are not needed to predict, so they are neither cached
        nor loaded (``python -m training`` does not require them either, see
        :func:`training.__main__.precheck`).
        """
        self._check_ckpt_path()
        data = self.datamodule
        predict = list(getattr(data, "predict_sources", None) or [])
        if predict:
            data.train_sources = predict
            data.test_sources = []


def cli_main(args: ArgsType = None, run: bool = True) -> TrainingCLI:
    """Build (and by default run) the training CLI.

    Args:
        args: Arguments as a list or dict instead of ``sys.argv`` (default: ``None``).
        run: Run the subcommand (default: ``True``); ``False`` only instantiates.

    Returns:
        The CLI, with ``.trainer``, ``.model`` and ``.datamodule``.
    """
    return TrainingCLI(
        PerfPredictorModule,
        SimDataModule,
        seed_everything_default=0,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"prog": PROG},
        args=args,
        run=run,
    )
