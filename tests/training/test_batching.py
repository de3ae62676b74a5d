"""Batches cut from the cache against PyG's DataLoader (same graphs, same tensors, same order)."""

import pytest
import torch
from torch.utils.data import ConcatDataset, Subset
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from training import ScenarioGraphDataset, SimDataModule
from training.batching import GraphIndex, GraphLoader, GraphStore


def _same(a, b, path=""):
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (path, list(a), list(b))
        for k in a:
            _same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, path
        assert torch.equal(a, b), path
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


def _same_batch(a, b):
    _same(a.to_dict(), b.to_dict())
    _same(a._slice_dict, b._slice_dict)
    _same(a._inc_dict, b._inc_dict)
    assert a.num_graphs == b.num_graphs
    for s, t in zip(a.node_stores, b.node_stores):
        assert s._num_nodes == t._num_nodes


@pytest.fixture(scope="module")
def dataset(tiny_dataset, tmp_path_factory):
    return ScenarioGraphDataset(tiny_dataset, tmp_path_factory.mktemp("cache"))


def test_collate_equals_batch_from_data_list(dataset):
    store = GraphStore([dataset])
    for index in ([3, 1, 7], [0], list(range(len(dataset)))[::-1]):
        _same_batch(Batch.from_data_list([dataset[i] for i in index]), store.collate(index))
    with pytest.raises(ValueError, match="at least one graph"):
        store.collate([])


@pytest.mark.parametrize("prefetch", [0, 2])
def test_loader_gives_the_batches_of_pyg_per_seed(dataset, prefetch):
    full = ConcatDataset([dataset, dataset])
    sub = Subset(full, torch.randperm(len(full), generator=torch.Generator().manual_seed(1))
                 [:30].tolist())
    for ds in (dataset, full, sub):
        torch.manual_seed(3)
        ref = list(DataLoader(ds, batch_size=8, shuffle=True))
        torch.manual_seed(3)
        new = list(GraphLoader(GraphIndex.of(ds), batch_size=8, shuffle=True, prefetch=prefetch))
        assert len(ref) == len(new)
        for a, b in zip(ref, new):
            _same_batch(a, b)
        # the same random stream is left behind for the model
        after_new = torch.rand(3)
        torch.manual_seed(3)
        list(DataLoader(ds, batch_size=8, shuffle=True))
        assert torch.equal(after_new, torch.rand(3))


def test_prefetch_thread_stops_when_an_epoch_is_cut_short(dataset):
    loader = GraphLoader(GraphIndex.of(dataset), batch_size=2, prefetch=1)
    it = iter(loader)
    next(it)
    it.close()
    it._thread.join(timeout=5)
    assert not it._thread.is_alive()


def test_graph_index_rejects_other_datasets():
    with pytest.raises(ValueError, match="InMemoryDataset"):
        GraphIndex.of([1, 2, 3])
    with pytest.raises(ValueError, match="prefetch must be >= 0"):
        SimDataModule(train="x", prefetch=-1)


def test_data_module_fast_and_reference_loaders_agree(tiny_dataset, tmp_path):
    out = []
    for fast in (False, True):
        dm = SimDataModule(train=tiny_dataset, cache_dir=str(tmp_path), batch_size=4,
                           fast_loader=fast)
        dm.setup("fit")
        torch.manual_seed(0)
        out.append([list(dm.train_dataloader()), list(dm.val_dataloader()),
                    list(dm.test_dataloader())])
    for ref, new in zip(*out):
        assert len(ref) == len(new)
        for a, b in zip(ref, new):
            _same_batch(a, b)
