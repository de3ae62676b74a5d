"""The training entry point: ``python -m training {fit,validate,test,predict} --config ...``.

To run::

    python -m training fit --config training/configs/chainnet.yaml
    python -m training test --config training/configs/chainnet.yaml --ckpt_path best

``fit`` needs the folders of ``data.train`` (generate them first with
``python -m datagen generate``); ``predict`` with ``data.predict`` needs only that folder.

Configs compose (repeat ``--config``); every run saves its resolved ``config.yaml`` next to its
logs; the seed defaults to 0 and is part of the run's name.
"""

from __future__ import annotations

from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI

from training.data import SimDataModule
from training.module import PerfPredictorModule

__all__ = ["TrainingCLI", "cli_main"]


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
        args=args,
        run=run,
    )
