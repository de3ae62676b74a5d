"""The vectorised graph cache against the reference path (one graph per sample, collated)."""

import pytest
import torch
from torch_geometric.data import InMemoryDataset

from chainnet import build_graph
from training import ScenarioGraphDataset, attach_targets, load_samples
from training.graphs import collate_graphs
from training.samples import load_sample_tables
from training.targets import target_arrays


def _same(a, b, path=""):
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (path, list(a), list(b))
        for k in a:
            _same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), path
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert torch.equal(a, b), path
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


def _reference(source, n=None):
    samples = load_samples(source)[:n]
    return InMemoryDataset.collate(
        [attach_targets(build_graph(sc), sc, labels, dev) for sc, labels, dev in samples])


def _fast(source, n=None):
    t = load_sample_tables(source)
    scenarios, ids = t.scenarios[:n], t.scenario_ids[:n]
    return collate_graphs(scenarios, target_arrays(scenarios, ids, t.services, t.devices))


def test_cached_graphs_are_identical_to_the_reference_path(tiny_dataset):
    ref_data, ref_slices = _reference(tiny_dataset)
    data, slices = _fast(tiny_dataset)
    _same(ref_data.to_dict(), data.to_dict())
    _same(ref_slices, slices)


def test_single_graph_is_kept_as_pyg_collates_it(tiny_dataset):
    ref_data, ref_slices = _reference(tiny_dataset, 1)
    data, slices = _fast(tiny_dataset, 1)
    assert ref_slices is None and slices is None
    _same(ref_data.to_dict(), data.to_dict())


def test_dataset_cache_holds_the_reference_tensors(tiny_dataset, tmp_path):
    ds = ScenarioGraphDataset(tiny_dataset, tmp_path / "cache")
    ref_data, ref_slices = _reference(tiny_dataset)
    _same(ref_data.to_dict(), ds._data.to_dict())
    _same(ref_slices, ds.slices)
    # and a second instance reads the verified file back
    again = ScenarioGraphDataset(tiny_dataset, tmp_path / "cache")
    _same(ds._data.to_dict(), again._data.to_dict())


def test_target_arrays_reject_unlabelled_services_and_duplicates(tiny_dataset):
    t = load_sample_tables(tiny_dataset)
    first = t.services["scenario"] == t.scenario_ids[0]
    with pytest.raises(ValueError, match="lack services"):
        target_arrays(t.scenarios, t.scenario_ids, t.services[~first], t.devices)
    doubled = t.services.iloc[[0, 0]]
    with pytest.raises(ValueError, match="several rows"):
        target_arrays(t.scenarios[:1], t.scenario_ids[:1], doubled, None)
    with pytest.raises(ValueError, match="one id per scenario"):
        target_arrays(t.scenarios, t.scenario_ids[:1], t.services)


def test_missing_device_labels_are_nan(tiny_dataset):
    t = load_sample_tables(tiny_dataset)
    out = target_arrays(t.scenarios[:2], t.scenario_ids[:2], t.services, None)
    assert out.device_y.shape[1] == 2 and torch.isnan(torch.from_numpy(out.device_y)).all()


def test_sample_tables_are_keyed_by_scenario(tiny_dataset):
    t = load_sample_tables(tiny_dataset)
    assert t.services.columns[0] == "scenario" and t.devices.columns[0] == "scenario"
    assert t.scenario_ids == list(range(24))
    with pytest.warns(DeprecationWarning, match=r"SampleTables\.sample_ids is deprecated; use "
                                                r"SampleTables\.scenario_ids") as record:
        assert t.sample_ids == t.scenario_ids
    assert record[0].filename == __file__


def test_chainnet_sample_tables_are_keyed_by_scenario(tiny_dataset, tmp_path):
    from datagen.chainnet_format import write_chainnet
    from datagen.dataset import load_dataset

    raw = write_chainnet(load_dataset(tiny_dataset).samples[:3], tmp_path / "raw")
    t = load_sample_tables(raw, "chainnet")
    assert list(t.services.columns[:2]) == ["scenario", "service"] and t.scenario_ids == [0, 1, 2]
    assert sorted(set(t.services["scenario"])) == [0, 1, 2]
