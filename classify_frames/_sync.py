"""Run coroutines from sync code, in a plain script and inside Jupyter's running event loop.

In a running loop (a Jupyter kernel) ``asyncio.run`` refuses to start, so the coroutine runs on a
fresh loop in a worker thread; Ctrl-C / "interrupt kernel" cancels it there, so no task or
connection outlives the call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["iterate_sync", "run_sync"]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result, whatever loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: T = _ThreadRunner(coro).run()
    return result


class _ThreadRunner:
    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._coro = coro
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[Any] | None = None
        self._ready = threading.Event()
        self._done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._task = self._loop.create_task(self._coro)
            self._ready.set()
            self._result = self._loop.run_until_complete(self._task)
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._done.set()

    def run(self) -> Any:
        thread = threading.Thread(target=self._main, name="classify-frames-sync", daemon=True)
        thread.start()
        # Wait on an Event, not on thread.join(): an interrupted join() can mark a thread that
        # still runs as stopped (CPython 3.11), and the cancel below would not be waited for.
        try:
            while not self._done.wait(0.1):  # short waits keep the calling thread interruptible
                pass
        except KeyboardInterrupt:
            self._ready.wait()
            if self._task is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._task.cancel)
            self._done.wait()
            raise
        if self._error is not None:
            raise self._error
        return self._result


def iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator from sync code, without a running loop conflict.

    The iterator runs on a private loop in a worker thread that lives as long as the generator
    returned here. The next item is fetched while the caller works on the current one (one
    item ahead, no more), so network and, say, Parquet writing overlap.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="classify-frames-iter", daemon=True)
    thread.start()
    future = asyncio.run_coroutine_threadsafe(_next(agen), loop)
    try:
        while True:
            done, item = future.result()
            if done:
                return
            future = asyncio.run_coroutine_threadsafe(_next(agen), loop)
            yield item  # type: ignore[misc]  # not None: _next returned an item
    finally:
        future.cancel()
        concurrent.futures.wait([future])  # let a cancel land before aclose below
        closer = getattr(agen, "aclose", None)
        if closer is not None:
            asyncio.run_coroutine_threadsafe(closer(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


async def _next(agen: AsyncIterator[T]) -> tuple[bool, T | None]:
    try:
        return False, await agen.__anext__()
    except StopAsyncIteration:
        return True, None
