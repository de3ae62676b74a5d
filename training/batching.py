"""Mini-batches cut straight from the collated graph cache, prepared while the model steps.

PyG's ``DataLoader`` over an ``InMemoryDataset`` rebuilds every graph of a batch as its own
:class:`~torch_geometric.data.HeteroData` (``separate``) and collates the list again
(``Batch.from_data_list``), attribute by attribute and graph by graph. :class:`GraphStore`
keeps the collated tensors of one or more cached datasets and cuts a batch out of them with one
gather per node or edge type (``index_select`` over the rows of the chosen graphs), adding the
offsets that batching adds. The result equals ``Batch.from_data_list([dataset[i] for i in
index])``, tensors, ``_slice_dict`` and ``_inc_dict`` included.

:class:`GraphLoader` is a :class:`torch.utils.data.DataLoader` over graph indices (so Lightning
can still swap in a ``DistributedSampler``) whose in-process iteration can build the next
batches on a background thread while the model runs on the current one (``prefetch``): the
batch order is drawn on the calling thread, from the same random stream as PyG's loader, so
training with the same seed sees the same batches either way.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset
from torch_geometric.data import Batch, HeteroData, InMemoryDataset

__all__ = ["GraphIndex", "GraphLoader", "GraphStore"]


def _cumsum0(counts: Tensor) -> Tensor:
    """``[0, c0, c0 + c1, ...]`` as PyG's ``cumsum``, int64."""
    out = torch.zeros(counts.numel() + 1, dtype=torch.int64)
    torch.cumsum(counts, 0, out=out[1:])
    return out


class _Attr:
    """One attribute of the store: its rows, where each graph's rows start, how it is batched."""

    def __init__(self, value: Tensor, slices: Tensor, cat_dim: int, inc: str) -> None:
        self.value = value
        self.start = slices[:-1]
        self.count = slices[1:] - slices[:-1]
        self.cat_dim = cat_dim
        # "none": no offset; "edge": node offsets of the endpoints; "batch": max + 1 per graph
        self.inc = inc
        self.batch_inc: Tensor | None = None
        if inc == "batch":
            graph = torch.repeat_interleave(torch.arange(self.count.numel()), self.count)
            top = torch.full((self.count.numel(),), -1, dtype=value.dtype)
            top = top.scatter_reduce(0, graph, value.reshape(-1), reduce="amax")
            self.batch_inc = top + 1


class GraphStore:
    """The collated graphs of cached datasets, cut into mini-batches with vectorised gathers.

    Args:
        datasets: Collated datasets (:class:`training.data.ScenarioGraphDataset`, any PyG
            ``InMemoryDataset`` of :class:`~torch_geometric.data.HeteroData` with tensor
            attributes); graph ``i`` of the store is graph ``i`` of their concatenation.

    Raises:
        ValueError: If ``datasets`` is empty, or the datasets hold different node or edge
            types or attributes.

    Shapes:
        :meth:`collate` of ``B`` indices: a batch of ``B`` graphs with ``batch`` and ``ptr``
        vectors per node type.
    """

    def __init__(self, datasets: Sequence[InMemoryDataset]) -> None:
        if len(datasets) == 0:
            raise ValueError("GraphStore needs at least one dataset, got none")
        parts = [self._parts(ds) for ds in datasets]
        layout = [(key, list(attrs)) for key, attrs in parts[0][0].items()]
        for i, (attrs, _) in enumerate(parts[1:], 1):
            found = [(key, list(a)) for key, a in attrs.items()]
            if found != layout:
                raise ValueError(
                    f"datasets[{i}] holds graphs with other types or attributes than "
                    f"datasets[0] ({found} vs {layout}); rebuild their caches with one version"
                )
        self.num_graphs = sum(n for _, n in parts)
        template = datasets[0]._data
        assert isinstance(template, HeteroData)
        self._node_types = list(template.node_types)
        self._edge_types = list(template.edge_types)
        self._attrs: dict[Any, dict[str, _Attr]] = {}
        for key, names in layout:
            store = template[key]
            self._attrs[key] = {}
            for name in names:
                values = [attrs[key][name][0] for attrs, _ in parts]
                cat_dim = template.__cat_dim__(name, values[0], store)
                cat_dim = cat_dim if cat_dim >= 0 else values[0].dim() + cat_dim
                slices: list[Tensor] = []
                offset = 0
                for attrs, _ in parts:
                    s = attrs[key][name][1]
                    slices.append((s if not slices else s[1:]) + offset)
                    offset += int(s[-1])
                if key in self._edge_types and "index" in name:
                    inc = "edge"
                elif "batch" in name:
                    inc = "batch"
                else:
                    inc = "none"
                attr = _Attr(torch.cat(values, dim=cat_dim), torch.cat(slices), cat_dim, inc)
                for other in self._attrs[key].values():
                    if torch.equal(other.start, attr.start) and torch.equal(other.count,
                                                                            attr.count):
                        # same rows per graph: collate() gathers them with one index
                        attr.start, attr.count = other.start, other.count
                        break
                self._attrs[key][name] = attr
        self._num_nodes = {}
        for nt in self._node_types:
            counts = [torch.tensor(self._node_counts(ds, nt, n)) for ds, (_, n) in
                      zip(datasets, parts)]
            self._num_nodes[nt] = torch.cat(counts).to(torch.int64)

    @staticmethod
    def _parts(ds: InMemoryDataset) -> tuple[dict[Any, dict[str, tuple[Tensor, Tensor]]], int]:
        """``{store key: {attr: (collated value, slices)}}`` and the number of graphs."""
        data = ds._data
        n = len(ds)
        out: dict[Any, dict[str, tuple[Tensor, Tensor]]] = {}
        for store in [*data.node_stores, *data.edge_stores]:
            key = store._key
            attrs: dict[str, tuple[Tensor, Tensor]] = {}
            for name, value in store.items():
                if name == "num_nodes":
                    continue
                if not isinstance(value, Tensor):
                    raise ValueError(f"attribute {key}.{name} is not a tensor; GraphStore "
                                     f"batches tensor attributes only")
                if ds.slices is None:  # a single graph: it spans the whole value
                    cat_dim = data.__cat_dim__(name, value, store)
                    size = value.size(cat_dim)
                    slices = torch.tensor([0, size], dtype=torch.int64)
                else:
                    slices = ds.slices[key][name]
                attrs[name] = (value, slices)
            out[key] = attrs
        return out, n

    @staticmethod
    def _node_counts(ds: InMemoryDataset, nt: str, n: int) -> list[int]:
        store = ds._data[nt]
        if ds.slices is None:
            return [int(store.num_nodes)]
        counts = getattr(store, "_num_nodes", None)
        if counts is not None:
            return [int(c) for c in counts]
        first = next(iter(ds.slices[nt].values()))
        return (first[1:] - first[:-1]).tolist()

    def __len__(self) -> int:
        return self.num_graphs

    def collate(self, index: Sequence[int] | Tensor) -> Batch:
        """The batch of the graphs ``index``, as ``Batch.from_data_list`` would build it.

        Args:
            index: Graph indices into the store (a list or a 1-D integer tensor).

        Returns:
            A :class:`~torch_geometric.data.Batch` of :class:`HeteroData`.

        Raises:
            ValueError: If ``index`` is empty.
        """
        idx = torch.as_tensor(index, dtype=torch.int64).reshape(-1)
        num = idx.numel()
        if num == 0:
            raise ValueError("collate needs at least one graph index, got none")
        out = Batch(_base_cls=HeteroData)
        slice_dict: dict[Any, dict[str, Tensor]] = {}
        inc_dict: dict[Any, dict[str, Tensor]] = {}
        gathers: dict[int, tuple[Tensor, Tensor, Tensor]] = {}
        node_ptr: dict[str, Tensor] = {}
        for nt in self._node_types:
            counts = self._num_nodes[nt][idx]
            node_ptr[nt] = _cumsum0(counts)
        for key in [*self._node_types, *self._edge_types]:
            store = out[key]
            slice_dict[key], inc_dict[key] = {}, {}
            for name, attr in self._attrs[key].items():
                # attributes with the same slices (all of a node type) share a gather
                cache_key = id(attr.count)
                if cache_key not in gathers:
                    count = attr.count[idx]
                    ptr = _cumsum0(count)
                    rows = torch.repeat_interleave(attr.start[idx] - ptr[:-1], count,
                                                   output_size=int(ptr[-1]))
                    rows += torch.arange(rows.numel())
                    gathers[cache_key] = (rows, count, ptr)
                rows, count, ptr = gathers[cache_key]
                value = attr.value.index_select(attr.cat_dim, rows)
                if attr.inc == "edge":
                    src, _, dst = key
                    inc = torch.stack([node_ptr[src][:-1], node_ptr[dst][:-1]], dim=1)
                    value = value + torch.repeat_interleave(inc, count, dim=0,
                                                            output_size=rows.numel()).T
                    inc = inc.unsqueeze(-1)
                elif attr.inc == "batch":
                    assert attr.batch_inc is not None
                    inc = _cumsum0(attr.batch_inc[idx])[:-1]
                    if int(inc[-1]) != 0:
                        value = value + torch.repeat_interleave(inc, count,
                                                                output_size=rows.numel())
                else:
                    inc = torch.zeros(num, dtype=torch.int64)
                store[name] = value
                slice_dict[key][name] = ptr
                inc_dict[key][name] = inc
        for nt in self._node_types:
            store = out[nt]
            ptr = node_ptr[nt]
            counts = ptr[1:] - ptr[:-1]
            store._num_nodes = counts.tolist()
            store.num_nodes = int(ptr[-1])
            store.batch = torch.repeat_interleave(torch.arange(num), counts,
                                                  output_size=int(ptr[-1]))
            store.ptr = ptr
        out._num_graphs = num
        out._slice_dict = slice_dict
        out._inc_dict = inc_dict
        return out


class GraphIndex(Dataset[int]):
    """Graphs of a :class:`GraphStore` as a dataset of their store indices.

    What :class:`GraphLoader` samples from; the store cuts the batches.

    Args:
        store: The store.
        indices: Store indices of the graphs, in dataset order (default: ``None`` = all).
    """

    def __init__(self, store: GraphStore, indices: Sequence[int] | None = None) -> None:
        self.store = store
        self.indices = list(range(len(store))) if indices is None else [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> int:
        return self.indices[i]

    def __getitems__(self, items: Sequence[int]) -> list[int]:
        """Store indices of many items at once (what the fetcher of a DataLoader calls)."""
        return [self.indices[i] for i in items]

    @classmethod
    def of(cls, dataset: Any, stores: dict[int, GraphStore] | None = None) -> GraphIndex:
        """The graph indices of a collated dataset, a ``ConcatDataset`` of them or a ``Subset``.

        Args:
            dataset: An ``InMemoryDataset``, a ``ConcatDataset`` of them, or a ``Subset`` of
                either.
            stores: Stores already built, by ``id`` of the dataset they hold (default:
                ``None``); a new store is added to it, so that subsets of one dataset share
                one store.

        Raises:
            ValueError: If ``dataset`` is of another kind.
        """
        stores = {} if stores is None else stores
        indices = None
        if isinstance(dataset, Subset):
            indices = [int(i) for i in dataset.indices]
            dataset = dataset.dataset
        if isinstance(dataset, ConcatDataset):
            parts = list(dataset.datasets)
        elif isinstance(dataset, InMemoryDataset):
            parts = [dataset]
        else:
            raise ValueError(
                f"GraphIndex.of needs an InMemoryDataset, a ConcatDataset of them or a Subset, "
                f"got {type(dataset).__name__}"
            )
        if not all(isinstance(p, InMemoryDataset) for p in parts):
            raise ValueError("GraphIndex.of needs a ConcatDataset of InMemoryDatasets")
        if id(dataset) not in stores:
            stores[id(dataset)] = GraphStore(parts)  # type: ignore[arg-type]
        return cls(stores[id(dataset)], indices)


_DONE = object()


class _Prefetcher(Iterator[Batch]):
    """Collates the given batches of indices on a daemon thread, ``depth`` batches ahead."""

    def __init__(self, index: GraphIndex, batches: list[list[int]], depth: int) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._left = len(batches)
        self._thread = threading.Thread(target=self._run, args=(index, batches), daemon=True,
                                        name="GraphLoader-prefetch")
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, index: GraphIndex, batches: list[list[int]]) -> None:
        try:
            for items in batches:
                if not self._put(index.store.collate(index.__getitems__(items))):
                    return
        except BaseException as e:  # noqa: BLE001 - re-raised on the consuming thread
            self._put(e)
            return
        self._put(_DONE)

    def __len__(self) -> int:
        return self._left

    def __next__(self) -> Batch:
        if self._left == 0:
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self._left = 0
            raise StopIteration
        if isinstance(item, BaseException):
            self.close()
            raise item
        self._left -= 1
        return item

    def close(self) -> None:
        """Stop the thread (an epoch left early: ``limit_train_batches``, an exception)."""
        self._stop.set()

    def __del__(self) -> None:
        self._stop.set()


class GraphLoader(DataLoader):
    """Mini-batches of a :class:`GraphIndex`, cut by its :class:`GraphStore`.

    A :class:`torch.utils.data.DataLoader` with :meth:`GraphStore.collate` as ``collate_fn``:
    samplers, ``DistributedSampler`` injection and worker processes work as for any loader.
    Without workers, the batches are collated on a background thread, ``prefetch`` batches
    ahead of the consumer, so that cutting the next batch overlaps the model step on this one;
    the order of the batches is drawn when iteration starts, on the calling thread and from
    the same random stream as a plain ``DataLoader`` (identical batches per seed).

    Args:
        dataset: The graphs (:meth:`GraphIndex.of`).
        batch_size: Graphs per batch (default: ``1``).
        shuffle: Reshuffle every epoch (default: ``False``).
        prefetch: Batches collated ahead on the background thread; ``0`` collates on the
            calling thread (default: ``0``: on few cores the thread slows the model step
            more than it hides).
        **kwargs: Other :class:`~torch.utils.data.DataLoader` arguments.
    """

    def __init__(
        self,
        dataset: GraphIndex,
        batch_size: int | None = 1,
        shuffle: bool | None = False,
        prefetch: int = 0,
        **kwargs: Any,
    ) -> None:
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0, got {prefetch}")
        kwargs.pop("collate_fn", None)
        self.prefetch = prefetch
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle,
                         collate_fn=dataset.store.collate, **kwargs)

    def __iter__(self) -> Any:
        if self.prefetch == 0 or self.num_workers > 0 or self.pin_memory:
            return super().__iter__()
        assert isinstance(self.dataset, GraphIndex)
        # DataLoader's own iterator draws its base seed, then the sampler its order: draw
        # both here, on the calling thread, for the same RNG stream and batches per seed
        base = super().__iter__()
        sampler_iter = getattr(base, "_sampler_iter", None)
        if sampler_iter is None:  # another torch: no look-ahead, same batches
            return base
        batches = [list(b) for b in sampler_iter]
        return _Prefetcher(self.dataset, batches, self.prefetch)
