"""Labelled graphs for training: a cached PyG dataset and a Lightning data module.

Sources are datasets written by ``python -m datagen generate`` (``format="datagen"``) or folders
in the ChainNet text format (``format="chainnet"``). Each sample becomes one ChainNet heterograph
(:func:`chainnet.build_graph`) with its labels attached (:func:`attach_targets`); the graphs are
processed once and cached under ``cache_dir`` (PyG ``InMemoryDataset``), keyed by the source path,
its files' sizes and modification times, the graph schema version and its feature names, so
training many models reuses one simulation and regenerated data is never served from a stale
cache. The cache is written in one pass over flat arrays (:func:`training.graphs.collate_graphs`
with the labels of :func:`training.targets.target_arrays`), the very tensors that collating the
per-sample graphs gives, and the data module cuts its mini-batches straight out of the cached
tensors (:class:`training.batching.GraphLoader`), a few batches ahead of the model.

A cache file is trusted only as far as a file can be: each has a sidecar manifest
(``<cache>.json``) with its key and SHA-256, written with it; a file whose manifest is missing or
disagrees is rebuilt (with a warning) before anything in it is unpickled, and a verified file is
still loaded with ``torch.load(weights_only=True)`` only (tensors and plain containers; PyG's
loader would retry with ``weights_only=False``), so no file placed in the cache can run code.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import ConcatDataset, Subset
from torch_geometric.data import HeteroData, InMemoryDataset
from torch_geometric.io import fs
from torch_geometric.loader import DataLoader

from chainnet import SCHEMA_VERSION
from chainnet.schema import DEVICE, FEATURES, PRIORS, SERVICE, TARGETS
from datagen.world import Scenario
from training.batching import GraphIndex, GraphLoader, GraphStore
from training.graphs import collate_graphs
from training.samples import FORMATS, load_sample_tables, load_samples
from training.targets import service_targets, target_arrays

__all__ = [
    "FORMATS",
    "ScenarioGraphDataset",
    "SimDataModule",
    "attach_targets",
    "load_samples",
]

log = logging.getLogger(__name__)

def _column(frame: pd.DataFrame | None, names: Sequence[str], key: str) -> np.ndarray:
    if frame is None or key not in frame.columns:
        return np.full(len(names), np.nan)
    return frame[key].reindex(list(names)).to_numpy(dtype=np.float64)


def attach_targets(
    data: HeteroData,
    scenario: Scenario,
    labels: pd.DataFrame,
    device_labels: pd.DataFrame | None = None,
) -> HeteroData:
    """Attach simulated labels to a scenario's graph.

    Sets ``data['service'].y`` ``[S, 3]`` (:data:`chainnet.schema.TARGETS`: ``tput_ratio``,
    ``respt_ratio``, ``p95_ratio = latency_p95 / latency_mean``), ``data['service'].loss_true``,
    ``latency_true`` (s) and ``p95_true`` (s) ``[S]``, and ``data['device'].y`` ``[D, 2]``
    (``utilization``, ``drop_prob``). Labels a source lacks (p95 in the ChainNet format, device
    labels) are NaN and masked out of losses and metrics.

    Args:
        data: The graph of ``scenario`` (:func:`chainnet.build_graph`).
        scenario: The scenario.
        labels: Per-service labels indexed by service name (``SimResult.services`` columns).
        device_labels: Per-device labels indexed by device name, or ``None``.

    Returns:
        ``data``, modified in place.

    Raises:
        ValueError: If a service of the scenario has no label row.
    """
    names = [s.name for s in scenario.services]
    missing = [n for n in names if n not in labels.index]
    if missing:
        raise ValueError(f"labels lack services {missing}; labelled services: {list(labels.index)}")
    y, loss, lat, p95 = service_targets(lambda key: _column(labels, names, key))
    data[SERVICE].y = torch.tensor(y, dtype=torch.float32)
    data[SERVICE].loss_true = torch.tensor(loss, dtype=torch.float32)
    data[SERVICE].latency_true = torch.tensor(lat, dtype=torch.float64)
    data[SERVICE].p95_true = torch.tensor(p95, dtype=torch.float64)
    dev_names = [d.name for d in scenario.devices]
    dev_y = np.stack(
        [_column(device_labels, dev_names, "utilization"), _column(device_labels, dev_names,
                                                                  "drop_prob")],
        axis=1,
    )
    data[DEVICE].y = torch.tensor(dev_y, dtype=torch.float32)
    return data


def _fingerprint(source: Path) -> str:
    """Names, sizes and modification times of the source files.

    Regenerated data thus gets a new cache entry instead of stale graphs.
    """
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    return "|".join(
        f"{p.relative_to(source.parent)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files
    )


class ScenarioGraphDataset(InMemoryDataset):
    """ChainNet graphs with labels of one source folder, processed once and cached.

    Args:
        source: The source folder (see :func:`load_samples`).
        cache_dir: Where processed graphs are stored (default: ``"data/processed"``).
        format: ``"datagen"`` or ``"chainnet"`` (default: ``"datagen"``).
        transform: Optional PyG transform applied on access (default: ``None``).
    """

    def __init__(
        self,
        source: str | Path,
        cache_dir: str | Path = "data/processed",
        format: str = "datagen",
        transform: Any = None,
    ) -> None:
        if format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
        self.source = Path(source).resolve()
        if not self.source.exists():
            raise ValueError(f"source folder {str(self.source)!r} does not exist")
        self.format = format
        # the feature and prior names too: an edit that forgot to bump the schema version
        # must not be served graphs of the old features
        names = repr((FEATURES, PRIORS, TARGETS))
        identity = f"{self.source}|{format}|{SCHEMA_VERSION}|{names}|{_fingerprint(self.source)}"
        key = hashlib.sha1(identity.encode()).hexdigest()[:12]
        self._key = hashlib.sha256(identity.encode()).hexdigest()
        self._file = f"{self.source.name}-{format}-v{SCHEMA_VERSION}-{key}.pt"
        self._loaded: tuple[dict[str, Any], dict[str, Any] | None] | None = None
        super().__init__(str(cache_dir), transform=transform)  # runs _process
        loaded = self._loaded
        assert loaded is not None, "_process loads or builds the graphs"
        self._loaded = None
        self.data, self.slices = HeteroData.from_dict(loaded[0]), loaded[1]

    @property
    def raw_file_names(self) -> list[str]:
        """No raw files: the source folder is read directly."""
        return []

    @property
    def processed_dir(self) -> str:
        """The cache folder itself."""
        return str(Path(self.root))

    @property
    def processed_file_names(self) -> list[str]:
        """One file per (source, format, schema version)."""
        return [self._file]

    @property
    def manifest_path(self) -> Path:
        """The sidecar manifest of the cache file: its key and SHA-256."""
        return Path(self.processed_paths[0] + ".json")

    def download(self) -> None:
        """Nothing to download: sources are local folders."""

    def _process(self) -> None:
        """Load the verified cache, or build it.

        Replaces PyG's ``Dataset._process``, which unpickles ``pre_transform.pt`` and
        ``pre_filter.pt`` of the cache folder with ``weights_only=False``.
        """
        self._loaded = self._read_cache()
        if self._loaded is None:
            Path(self.processed_dir).mkdir(parents=True, exist_ok=True)
            self.process()  # sets self._loaded

    def _read_cache(self) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """The collated graphs of the cache file if it is verified and loads safely, else ``None``.

        The file is read once; its bytes are checked against the manifest's SHA-256 before
        ``torch.load(weights_only=True)`` sees them. A cache that fails a check is reported
        with a warning (the caller rebuilds it).
        """
        path = Path(self.processed_paths[0])
        if not path.is_file():
            return None

        def refuse(why: str) -> None:
            warnings.warn(f"processed-graph cache {str(path)!r} {why}; rebuilding it",
                          stacklevel=3)

        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            refuse(f"has no readable manifest {self.manifest_path.name!r}")
            return None
        blob = path.read_bytes()
        digest = hashlib.sha256(blob).hexdigest()
        if not isinstance(manifest, dict) or manifest.get("key") != self._key:
            refuse("has a manifest of another source, format or schema")
            return None
        if manifest.get("sha256") != digest:
            refuse("does not match the SHA-256 of its manifest (altered or half-written)")
            return None
        try:
            out = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - whatever the reason, the cache is rebuilt
            why = "holds objects that a safe load refuses" if isinstance(
                e, pickle.UnpicklingError) else "cannot be loaded"
            refuse(f"{why} ({type(e).__name__}: {(str(e).splitlines() or [''])[0]})")
            return None
        if not (isinstance(out, tuple) and len(out) == 3 and isinstance(out[0], dict)
                and isinstance(out[1], (dict, type(None))) and out[2] is HeteroData):
            refuse("does not hold collated HeteroData graphs")
            return None
        return out[0], out[1]

    def process(self) -> None:
        """Build and label the graphs of every sample, then save them collated.

        The same tensors as collating ``attach_targets(build_graph(sc), ...)`` per sample
        (:func:`training.graphs.collate_graphs`), without a graph or a DataFrame per sample.
        """
        tables = load_sample_tables(self.source, self.format)
        if not tables.scenarios:
            raise ValueError(f"source folder {str(self.source)!r} holds no samples")
        targets = target_arrays(tables.scenarios, tables.scenario_ids, tables.services,
                                tables.devices)
        data, slices = collate_graphs(tables.scenarios, targets)
        # Write then rename: two trainings sharing a cache (the recipe's members run side by
        # side) must never read a half-written file; the loser of the race rewrites it alike.
        # The manifest is replaced after the file: a reader between the two sees a mismatch and
        # rebuilds, never unverified bytes.
        final = Path(self.processed_paths[0])
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        tmp_manifest = final.with_name(f".{final.name}.{os.getpid()}.json.tmp")
        try:
            fs.torch_save((data.to_dict(), slices, HeteroData), str(tmp))
            blob = tmp.read_bytes()
            digest = hashlib.sha256(blob).hexdigest()
            # served from the bytes just written, not re-read from a file another process
            # may be replacing
            data, slices, _ = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
            self._loaded = data, slices
            tmp_manifest.write_text(json.dumps(
                {"file": final.name, "key": self._key, "sha256": digest, "source": str(self.source),
                 "format": self.format, "schema_version": SCHEMA_VERSION}, indent=1))
            os.replace(tmp, final)
            os.replace(tmp_manifest, self.manifest_path)
        finally:
            tmp.unlink(missing_ok=True)
            tmp_manifest.unlink(missing_ok=True)


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, (str, Path)) else [str(p) for p in x]


class SimDataModule(L.LightningDataModule):
    """Train/val/test splits of simulated (or ChainNet-format) graphs.

    The training sources are concatenated and split at random into train/val/test with a
    seeded ``torch.Generator``. Separate ``test`` sources (e.g. the held-out ``large`` regime)
    replace the random test split.

    Args:
        train: Source folder(s) to train on.
        test: Source folder(s) for the test split (default: ``None`` = a random split of
            ``train``).
        predict: Source folder(s) for ``predict`` (default: ``None`` = the test split).
        format: ``"datagen"`` or ``"chainnet"`` for every source (default: ``"datagen"``).
        cache_dir: Processed-graph cache (default: ``"data/processed"``).
        batch_size: Graphs per batch (default: ``64``).
        val_fraction: Share of ``train`` samples for validation (default: ``0.1``).
        test_fraction: Share for testing when ``test`` is not given (default: ``0.1``).
        split_seed: Seed of the random split (default: ``0``).
        num_workers: DataLoader workers (default: ``0``).
        fast_loader: Cut batches from the cached tensors (:class:`training.batching.GraphLoader`,
            the same batches as PyG's ``DataLoader``); ``False`` uses PyG's ``DataLoader``,
            which rebuilds and re-collates every graph (default: ``True``).
        prefetch: Batches the fast loader prepares ahead on a background thread while the
            model steps; ``0`` prepares each on demand (default: ``0``). Cutting a batch takes
            about 1.5 ms of a 20 ms training step. On 2 cores the thread competes with
            torch's threads for the cores and with the model step for the GIL: with two torch
            threads training got slower, and with one (``PerfPredictorModule(num_threads=1)``)
            the wait for a batch between two steps dropped from about 2 ms to 0.4 ms while the
            steps got about as much slower, so it only pays with spare cores.
    """

    def __init__(
        self,
        train: str | list[str],
        test: str | list[str] | None = None,
        predict: str | list[str] | None = None,
        format: str = "datagen",
        cache_dir: str = "data/processed",
        batch_size: int = 64,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        num_workers: int = 0,
        fast_loader: bool = True,
        prefetch: int = 0,
    ) -> None:
        super().__init__()
        if format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 <= frac < 1:
                raise ValueError(f"{name} must be in [0, 1), got {frac}")
        if val_fraction + (0 if test else test_fraction) >= 1:
            raise ValueError(
                f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}"
            )
        if not _as_list(train):
            raise ValueError("train must name at least one source folder")
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0 batches, got {prefetch}")
        self.save_hyperparameters()
        self.train_sources = _as_list(train)
        self.test_sources = _as_list(test)
        self.predict_sources = _as_list(predict)
        self.format = format
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.split_seed = split_seed
        self.num_workers = num_workers
        self.fast_loader = fast_loader
        self.prefetch = prefetch
        self._stores: dict[int, GraphStore] = {}
        self.train_dataset: Any = None
        self.val_dataset: Any = None
        self.test_dataset: Any = None
        self.predict_dataset: Any = None

    @property
    def feature_dims(self) -> dict[str, int]:
        """Feature columns per node type of the graphs this module serves."""
        return {nt: len(names) for nt, names in FEATURES.items()}

    def _load(self, sources: list[str]) -> Any:
        parts = [ScenarioGraphDataset(s, self.cache_dir, self.format) for s in sources]
        return parts[0] if len(parts) == 1 else ConcatDataset(parts)

    def prepare_data(self) -> None:
        """Process and cache every source once (rank 0 only under DDP)."""
        for s in self.train_sources + self.test_sources + self.predict_sources:
            ScenarioGraphDataset(s, self.cache_dir, self.format)

    def setup(self, stage: str | None = None) -> None:
        """Build the splits; the same ``split_seed`` always gives the same split."""
        full = self._load(self.train_sources)
        self._stores = {}
        n = len(full)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.split_seed))
        n_val = int(round(self.val_fraction * n))
        n_test = 0 if self.test_sources else int(round(self.test_fraction * n))
        self.val_dataset = Subset(full, perm[:n_val].tolist())
        self.train_dataset = Subset(full, perm[n_val + n_test:].tolist())
        if self.test_sources:
            self.test_dataset = self._load(self.test_sources)
        else:
            self.test_dataset = Subset(full, perm[n_val:n_val + n_test].tolist())
        self.predict_dataset = (
            self._load(self.predict_sources) if self.predict_sources else self.test_dataset
        )

    def _loader(self, ds: Any, shuffle: bool = False) -> Any:
        if self.fast_loader:
            # subsets of one source share one store of its cached tensors
            return GraphLoader(GraphIndex.of(ds, self._stores), batch_size=self.batch_size,
                               shuffle=shuffle, prefetch=self.prefetch,
                               num_workers=self.num_workers)
        return DataLoader(
            ds, batch_size=self.batch_size, shuffle=shuffle, num_workers=self.num_workers
        )

    def train_dataloader(self) -> Any:
        """Shuffled training batches."""
        return self._loader(self.train_dataset, shuffle=True)

    def val_dataloader(self) -> Any:
        """Validation batches."""
        return self._loader(self.val_dataset)

    def test_dataloader(self) -> Any:
        """Test batches."""
        return self._loader(self.test_dataset)

    def predict_dataloader(self) -> Any:
        """Prediction batches."""
        return self._loader(self.predict_dataset)

    def transfer_batch_to_device(self, batch: Any, device: torch.device,
                                 dataloader_idx: int) -> Any:
        """Move a batch to ``device``; a graph batch already on the CPU stays as it is there.

        The loaders of this module cut every batch from tensors loaded onto the CPU, so for
        a run on the CPU there is nothing to move, and Lightning's generic transfer (a walk
        over every attribute of every node and edge store of the batch, each tensor moved to
        where it already is) costs about 0.3 ms of a 20 ms training step. Other batches and
        other devices take Lightning's transfer.

        Args:
            batch: A batch of one of this module's loaders.
            device: The device of the run.
            dataloader_idx: Index of the loader the batch came from.
        """
        if device.type == "cpu" and isinstance(batch, HeteroData) and all(
                value.device.type == "cpu" for store in batch.stores
                for value in store.values() if isinstance(value, torch.Tensor)):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)
