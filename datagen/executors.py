"""Generation executors: run shards on a local process pool or a Dask cluster.

Both record each shard as it lands (``on_done``) and name the shard that failed. Pool workers
die with the driver process (:func:`die_with_parent`), so a killed run leaves no process
writing shards. Used by :func:`datagen.dataset.generate`.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from typing import Any

from datagen.labelling import ShardTask, generate_shard
from datagen.shards import shard_name

__all__ = ["die_with_parent", "run_dask", "run_process_pool"]

log = logging.getLogger(__name__)


def run_process_pool(tasks: list[ShardTask], workers: int, on_done: Any, bar: Any) -> None:
    """Run shards on a local process pool, recording each as it lands."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)), initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = {pool.submit(generate_shard, *task): task for task in tasks}
        for fut in as_completed(futures):
            task = futures[fut]
            exc = fut.exception()
            if exc is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                for other, landed in futures.items():  # shards that landed while shutting down
                    if other.done() and not other.cancelled() and other.exception() is None:
                        _landed(other.result(), landed, on_done, bar)
                raise _failed(task, exc) from exc
            _landed(fut.result(), task, on_done, bar)


def _landed(summary: Any, task: ShardTask, on_done: Any, bar: Any) -> None:
    """Record a finished shard: hand its summary to ``on_done``, advance ``bar`` by its samples."""
    on_done(summary)
    bar.update(task.size)


def _failed(task: ShardTask, error: BaseException | None, where: str = "") -> RuntimeError:
    """The error for a shard that failed (``where``: e.g. ``" on the Dask cluster"``)."""
    return RuntimeError(
        f"shard {shard_name(task.shard_index)} failed{where}: {error!r}; rerun the same command to "
        f"retry (finished shards are kept)"
    )


#: ``prctl`` option: the signal a Linux process receives when its parent dies.
_PR_SET_PDEATHSIG = 1
_PARENT_POLL_S = 0.5


def die_with_parent(parent_pid: int, use_pdeathsig: bool = True) -> None:
    """Pool worker initializer: end this worker when the driver process dies.

    On Linux the kernel sends ``SIGKILL`` when the parent dies (``PR_SET_PDEATHSIG``, set
    through :mod:`ctypes`); everywhere, a daemon thread also checks every 0.5 s that the
    parent process is unchanged and alive, and ends the worker with :func:`os._exit` if not.
    A shard being written is then left as a temporary folder, which the next run deletes.

    Args:
        parent_pid: Process id of the driver (the pool's owner).
        use_pdeathsig: Arm ``PR_SET_PDEATHSIG`` on Linux; ``False`` relies on the watch
            thread alone (default: ``True``).
    """
    import signal

    ppid = os.getppid()
    if use_pdeathsig and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the watch thread below suffices
            pass

    def orphaned() -> bool:
        if os.getppid() != ppid:  # re-parented: the parent died
            return True
        if ppid != parent_pid:  # started through a fork server: watch the driver itself
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                pass
        return False

    if orphaned():  # the parent died before the death signal was armed
        os._exit(1)

    def watch() -> None:
        while not orphaned():
            time.sleep(_PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="datagen-parent-watch", daemon=True).start()


def run_dask(
    tasks: list[ShardTask], address: str | None, workers: int, on_done: Any, bar: Any
) -> None:
    """Run shards on a Dask cluster: the one at ``address``, else a local one closed at the end.

    Args:
        tasks: The shards to do.
        address: Scheduler ``HOST:PORT`` of a running cluster, or ``None`` to start a
            ``LocalCluster`` of ``min(workers, len(tasks))`` single-threaded processes.
        workers: Most worker processes of a local cluster.
        on_done: Called with each shard's summary as it lands.
        bar: The progress bar.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is an optional dependency
        raise ValueError(
            "executor='dask' needs dask.distributed: pip install 'edgechain[cluster]'"
        ) from exc
    if address is not None:
        with Client(address) as client:
            _submit_shards(client, tasks, on_done, bar)
        return
    if not tasks:  # nothing left to do: no cluster to start
        return
    n = min(workers, len(tasks))
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        log.info("started a local Dask cluster of %d worker processes at %s", n,
                 cluster.scheduler_address)
        _submit_shards(client, tasks, on_done, bar)


def _submit_shards(client: Any, tasks: list[ShardTask], on_done: Any, bar: Any) -> None:
    """Submit every shard to a Dask ``client`` and record each as it lands."""
    from dask.distributed import as_completed

    futures = [
        client.submit(
            generate_shard, *task, key=f"{shard_name(task.shard_index)}-{uuid.uuid4().hex[:8]}"
        )
        for task in tasks
    ]
    by_key = {f.key: task for f, task in zip(futures, tasks)}
    for fut in as_completed(futures):
        task = by_key[fut.key]
        if fut.status != "finished":
            error = fut.exception()
            raise _failed(task, error, " on the Dask cluster") from error
        _landed(fut.result(), task, on_done, bar)
