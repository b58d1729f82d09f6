"""One event loop in a background thread, for a client's whole life.

A :class:`~classify_frames.ClassifyClient` runs every request on this loop, whoever calls: sync
code in a script, a Jupyter cell (whose own loop is already running, so ``asyncio.run`` would
refuse), several threads at once, or ``await`` from any other event loop. Connection pools, the
rate pacer and the breaker therefore live on one loop and hold across calls and threads.

Ctrl-C / "interrupt kernel" in a waiting thread, or cancelling an awaiting task, cancels the
work on the loop and waits until it has really stopped, so no task outlives its call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

from .._exceptions import ClientClosedError

__all__ = ["LoopThread"]

T = TypeVar("T")

_POLL = 0.1  # seconds a waiting thread sleeps between looks: short, so Ctrl-C lands at once


class LoopThread:
    """An asyncio loop running in a daemon thread, started on first use and stopped by
    :meth:`stop` (it may start again afterwards)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, started now if need be."""
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                # A Ctrl-C between thread.start() and the thread's try would leave a running
                # loop that nothing refers to, so nothing stops: it is held until both are
                # recorded (and raised then, once stop() can end what was started).
                with _sigint_held():
                    loop = asyncio.new_event_loop()
                    inside = threading.Event()
                    thread = threading.Thread(
                        target=_serve, args=(loop, inside), name=self._name, daemon=True
                    )
                    thread.start()
                    inside.wait()
                    self._loop, self._thread = loop, thread
            return self._loop

    def owns_current_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result, from any other thread."""
        if self.owns_current_thread():
            coro.close()
            msg = "a sync method of the client was called from its own event loop; await it"
            raise RuntimeError(msg)
        result, start, cancel = self._submit(coro)
        try:  # started inside the try: a Ctrl-C at any point from here cancels the work
            start()
            while not _wait(result):
                pass
        except KeyboardInterrupt:
            cancel()
            while not _wait(result):
                pass
            raise
        return result.result()

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the loop from any loop (directly when already on it)."""
        if asyncio.get_running_loop() is self._loop:
            return await coro
        result, start, cancel = self._submit(coro)
        start()
        waiting = asyncio.wrap_future(result)
        try:
            return await asyncio.shield(waiting)
        except asyncio.CancelledError:
            cancel()
            await asyncio.wait([waiting])  # until the work on the loop has really stopped
            raise

    def iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        """Iterate ``agen`` on the loop from sync code, one item ahead (the next one is fetched
        while the caller works on the current one); leaving early closes it."""
        result, start, cancel = self._submit(_next(agen))
        try:
            start()
            while True:
                while not _wait(result):
                    pass
                done, item = result.result()
                if done:
                    return
                result, start, cancel = self._submit(_next(agen))
                start()
                yield item  # type: ignore[misc]  # not None: _next returned an item
        finally:
            cancel()
            concurrent.futures.wait([result])
            closer: Callable[[], Coroutine[Any, Any, None]] | None = getattr(agen, "aclose", None)
            if closer is not None:
                self.run(closer())

    async def aiterate(self, agen: AsyncIterator[T]) -> AsyncIterator[T]:
        """Iterate ``agen`` on the loop from any loop."""
        try:
            while True:
                done, item = await self.run_async(_next(agen))
                if done:
                    return
                yield item  # type: ignore[misc]
        finally:
            closer: Callable[[], Coroutine[Any, Any, None]] | None = getattr(agen, "aclose", None)
            if closer is not None:
                await self.run_async(closer())

    def stop(self, last: Callable[[], Coroutine[Any, Any, None]] | None = None) -> None:
        """End the calls still running (each raises :class:`ClientClosedError`), run
        ``last()`` on the loop (closing pools, say), then stop the loop and its thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or loop.is_closed():
            return
        if thread is threading.current_thread():  # a finalizer run by the loop itself
            loop.call_soon(loop.stop)
            return
        concurrent.futures.wait([asyncio.run_coroutine_threadsafe(_shutdown(last), loop)])
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join()

    def _submit(
        self, coro: Coroutine[Any, Any, T]
    ) -> tuple[concurrent.futures.Future[T], Callable[[], None], Callable[[], None]]:
        """``coro`` as a task for the loop: ``start()`` schedules it, ``cancel()`` cancels it
        (or, if it never started, drops it). The future settles only once the task is done,
        even after a cancel (unlike ``run_coroutine_threadsafe``'s, which settles at once), or
        once a task that never started was dropped."""
        try:
            loop = self.loop
        except BaseException:  # interrupted while the loop started: nothing will run coro
            coro.close()
            raise
        result: concurrent.futures.Future[T] = concurrent.futures.Future()
        result.set_running_or_notify_cancel()  # only the task settles it
        tasks: list[asyncio.Task[T]] = []
        asked: list[bool] = []  # cancel() was called: the caller gave up, not close()

        def settle(task: asyncio.Task[T]) -> None:
            if task.cancelled() and not asked:
                result.set_exception(_closed())
            elif task.cancelled():
                result.set_exception(asyncio.CancelledError())
            elif (error := task.exception()) is not None:
                result.set_exception(error)
            else:
                result.set_result(task.result())

        def begin() -> None:  # on the loop, as every callback here
            if not result.done():
                task = loop.create_task(coro)
                task.add_done_callback(settle)
                tasks.append(task)

        def stop() -> None:
            for task in tasks:
                task.cancel()
            if not tasks and not result.done():  # a Ctrl-C came before start()
                coro.close()
                result.set_exception(asyncio.CancelledError())

        def start() -> None:
            loop.call_soon_threadsafe(begin)

        def cancel() -> None:  # after a start(), its begin() runs first: callbacks keep order
            asked.append(True)
            if not loop.is_closed():
                loop.call_soon_threadsafe(stop)

        return result, start, cancel


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """SIGINT (Ctrl-C, a Jupyter kernel interrupt) is delivered only after this block.

    A thread started inside keeps it blocked for good, so the signal always goes to a thread
    that can act on it. Where there are no signal masks (Windows) it does nothing.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _serve(loop: asyncio.AbstractEventLoop, inside: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    try:
        inside.set()  # from here on the finally ends the loop, however it is stopped
        loop.run_forever()
    finally:
        left = asyncio.all_tasks(loop)  # a call still running in another thread: end it
        for task in left:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _shutdown(last: Callable[[], Coroutine[Any, Any, None]] | None) -> None:
    """Cancel the calls running on this loop and wait for them, then run ``last()``."""
    running = asyncio.all_tasks() - {asyncio.current_task()}
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    if last is not None:
        await last()


def _closed() -> ClientClosedError:
    msg = (
        "the client was closed (close(), or its with-block ended) while this call was running; "
        "use the client only until it is closed, or make a new one"
    )
    return ClientClosedError(msg)


def _wait(future: concurrent.futures.Future[Any]) -> bool:
    # Short waits keep the calling thread interruptible (an interrupted wait on a lock can
    # leave CPython 3.11 thinking a thread that still runs has stopped).
    done, _ = concurrent.futures.wait([future], timeout=_POLL)
    return bool(done)


async def _next(agen: AsyncIterator[T]) -> tuple[bool, T | None]:
    try:
        return False, await agen.__anext__()
    except StopAsyncIteration:
        return True, None
