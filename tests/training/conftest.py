import pytest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A 24-sample chainnet_like dataset simulated with few requests (a few seconds)."""
    from dataclasses import replace

    from datagen.dataset import generate
    from datagen.sampling import SimulationConfig, load_sampler_config

    config = replace(load_sampler_config("chainnet_like"),
                     simulation=SimulationConfig(num_requests=300, max_num_requests=1200))
    out = tmp_path_factory.mktemp("data") / "tiny"
    generate(config, out, 24, seed=3, shard_size=12, progress=False)
    return str(out)


@pytest.fixture()
def tiny_args(tiny_dataset, tmp_path):
    return [
        "--config", "training/configs/chainnet.yaml",
        "--config", "training/configs/tiny.yaml",
        f"--data.train={tiny_dataset}",
        f"--data.cache_dir={tmp_path / 'cache'}",
        f"--trainer.default_root_dir={tmp_path / 'runs'}",
        f"--model.export_path={tmp_path / 'surrogate.pt'}",
    ]
