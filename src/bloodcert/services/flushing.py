"""The background thread behind writes that a request queues instead of making (audit entries of reads,
donor sessions' idle deadlines): it flushes the queue every interval until it is stopped.

A flush that fails (the database restarting, a failover) is logged and tried again at the next interval;
the queue's owner keeps what it could not write. The thread never dies of an error, so a short outage
delays these writes and loses none of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("bloodcert.flushing")


class Flusher:
    """Calls `flush` every `interval_s` from a daemon thread started on first need, until `stop`."""

    def __init__(self, name: str, flush: Callable[[], object]) -> None:
        self.name = name
        self._flush = flush
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, interval_s: float) -> None:
        """Start the thread (once; later calls do nothing)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, args=(interval_s,), name=self.name, daemon=True
                )
                self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self._flush()
            except Exception:
                log.warning(
                    "%s: the flush failed; its writes wait for the next one", self.name, exc_info=True
                )

    def stop(self) -> None:
        """Stop the thread (waiting at most 5 s for a flush under way); its owner flushes what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
