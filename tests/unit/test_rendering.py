"""Rendered certificates: cached by content within a byte bound, drawn a bounded number at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from typing import TypeVar

import anyio
import pytest

from bloodcert.certs.render import CertificateView
from bloodcert.web import rendering
from bloodcert.web.rendering import RenderCache, content_key

T = TypeVar("T")
VIEW = CertificateView(
    certificate_no="2026000000000015",
    holder_name="王芳",
    id_number_masked="330***********1221",
    abo="A",
    rhd="+",
    donated_on=date(2024, 5, 1),
    kind="whole_blood",
    volume_ml=400,
    units=None,
    station_name="浙江省血液中心",
    site_name="武林广场",
    qr="BC1:EXAMPLE",
)


class SlowDrawer:
    """A renderer that takes a while and remembers how many drawings ran at once."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self.running = 0
        self.most = 0
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, view: CertificateView) -> bytes:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        return view.certificate_no.encode().ljust(self.size, b" ")


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run `main` in an event loop of its own thread (a browser test may hold this thread's loop)."""
    results: list[T] = []
    thread = threading.Thread(target=lambda: results.append(anyio.run(main)))
    thread.start()
    thread.join()
    assert results, "the coroutine failed"
    return results[0]


@pytest.fixture
def drawer(monkeypatch: pytest.MonkeyPatch) -> SlowDrawer:
    fake = SlowDrawer()
    monkeypatch.setitem(rendering.RENDERERS, "pdf", fake)
    return fake


def test_the_key_covers_the_content_and_the_format() -> None:
    assert content_key(VIEW, "pdf") == content_key(replace(VIEW), "pdf")
    assert content_key(VIEW, "pdf") != content_key(VIEW, "svg")
    assert content_key(VIEW, "pdf") != content_key(replace(VIEW, status="revoked"), "pdf")


def test_a_certificate_is_drawn_once_while_it_stays_in_the_cache(drawer: SlowDrawer) -> None:
    cache = RenderCache()

    async def main() -> list[bytes]:
        return [await cache.render(VIEW, "pdf") for _ in range(5)]

    assert len(set(run(main))) == 1
    assert drawer.calls == 1


def test_the_cache_holds_at_most_its_bytes_dropping_the_least_recently_used(drawer: SlowDrawer) -> None:
    cache = RenderCache(max_bytes=3000)
    views = [replace(VIEW, certificate_no=f"20260000000000{i:02d}") for i in range(5)]

    async def main() -> None:
        for view in views:
            await cache.render(view, "pdf")
        await cache.render(views[-1], "pdf")

    run(main)
    assert cache.size <= 3000
    assert drawer.calls == 5  # the newest stayed


def test_at_most_the_limit_of_drawings_run_at_once_and_waiting_frees_the_loop(drawer: SlowDrawer) -> None:
    cache = RenderCache(concurrency=1)
    views = [replace(VIEW, certificate_no=f"20260000000001{i:02d}") for i in range(6)]
    ticks = 0

    async def ticker(stop: anyio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await anyio.sleep(0.005)

    async def main() -> None:
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker, stop)
            async with anyio.create_task_group() as renders:
                for view in views:
                    renders.start_soon(cache.render, view, "pdf")
            stop.set()

    run(main)
    assert drawer.most == 1 and drawer.calls == 6
    assert ticks >= 10  # the event loop kept running while six drawings of 20 ms waited their turn
