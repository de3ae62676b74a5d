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

    def before_predict(self) -> None:
        """Predict with ``data.predict`` reads only that: ``data.train`` may be missing.

        The training and test folders are not needed to predict, so they are neither cached
        nor loaded (``python -m training`` does not require them either, see
        :func:`training.__main__.precheck`).
        """
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
