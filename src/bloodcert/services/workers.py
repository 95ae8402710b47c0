"""Worker processes for a bulk import: they sign certificates while the writer writes.

One process writes (SQLite has one writer; merging must see every record in order). Signing a chunk's
certificates (ECDSA, CBOR, zlib, Base45: about 80 µs each, a third of a record's cost) needs no database,
so it runs here while the writer inserts the chunk's persons, donations and versions. The texts come back
in order, so the outcome is the same as with no workers at all.

Checking records in workers as well was measured and left out: sending each checked record back to the
writer (pickling its parsed form) cost more of the writer's time than checking it there.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from queue import Empty
from types import TracebackType
from typing import Any, TypeVar

from bloodcert.certs.algorithms import algorithm
from bloodcert.errors import AppError
from bloodcert.services.certificates import SignJob

J = TypeVar("J")
# Each worker loads a signing key once, then keeps it for its life (keys rotate rarely).
_KEYS: dict[bytes, Any] = {}
# How often a worker checks that the import that started it is still alive.
PARENT_CHECK_S = 0.5


def _exit_with_parent(parent: int) -> None:
    """Runs in each worker: end it soon after its parent ends, however the parent ended.

    A `kill -9` of `bloodcert import` gives its pool no chance to shut down, and a worker waiting for its
    next job would wait, re-parented, for minutes. A worker's parent changes only when the parent dies.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _sign(job: SignJob) -> list[str]:
    key = _KEYS.get(job.kid)
    if key is None:
        key = _KEYS[job.kid] = job.store.load(job.kid, algorithm(job.alg_name))
    return job.sign(key)


def _parts(items: Sequence[Any], count: int) -> list[Sequence[Any]]:
    size = -(-len(items) // count)
    return [items[i : i + size] for i in range(0, len(items), size)] if items else []


class IngestWorkers:
    """A pool of `processes` workers; use as a context manager."""

    def __init__(self, processes: int) -> None:
        # spawn: a forked child would inherit the writer's open database connections and threads.
        self.processes = processes
        self._pool = ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )

    def __enter__(self) -> IngestWorkers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def sign(self, job: SignJob) -> Callable[[], list[str]]:
        """Start signing a job's certificates across the workers; the returned function waits for the
        `BC1:` texts, in order."""
        futures = [
            self._pool.submit(_sign, SignJob(job.store, job.kid, job.alg_name, list(part)))
            for part in _parts(job.claims, self.processes)
        ]
        return lambda: [text for f in futures for text in f.result()]


class WriterFailed(AppError):
    """A process of run_writers ended with an error, or was killed (what the others committed stays)."""

    status = 500
    slug = "writer_failed"
    title = "A writer process failed"


def _run_writer(
    target: Callable[[Any, Callable[[int], None]], None], job: Any, queue: Any, parent: int
) -> None:
    _exit_with_parent(parent)
    try:
        target(job, lambda n: queue.put(("progress", n)))
    except BaseException:
        queue.put(("error", traceback.format_exc()))
        raise
    queue.put(("done", 0))


def run_writers(
    target: Callable[[J, Callable[[int], None]], None],
    jobs: Sequence[J],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Run `target(job, report)` for each job in a process of its own, all at once, until all are done.

    `report(n)` in a process calls `progress(n)` here. When one fails or dies the others are stopped and
    WriterFailed is raised; what they committed stays committed (each job resumes on its own).
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_run_writer, args=(target, job, queue, os.getpid()), name=f"writer-{n + 1}")
        for n, job in enumerate(jobs)
    ]
    for process in processes:
        process.start()
    running, failure = len(processes), None
    try:
        while running and failure is None:
            try:
                kind, value = queue.get(timeout=PARENT_CHECK_S)
            except Empty:
                dead = [p for p in processes if p.exitcode not in (None, 0)]
                if dead:
                    failure = f"{dead[0].name} ended with exit code {dead[0].exitcode}"
                continue
            if kind == "progress" and progress is not None:
                progress(int(value))
            elif kind == "done":
                running -= 1
            elif kind == "error":
                failure = str(value)
    finally:
        if failure is not None or running:
            for process in processes:
                process.terminate()
        for process in processes:
            process.join()
    if failure is not None:
        raise WriterFailed(failure.strip().splitlines()[-1])
