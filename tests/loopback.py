"""An asyncio TCP server on 127.0.0.1 in a thread of its own, for tests' hand-written peers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class ThreadedServer:
    """Serves each connection with ``serve`` on its own loop; ``close()`` stops it all."""

    def __init__(self, serve: Serve) -> None:
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self._server = self.loop.run_until_complete(asyncio.start_server(serve, "127.0.0.1", 0))
            started.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        started.wait()
        assert self._server is not None
        self.port: int = self._server.sockets[0].getsockname()[1]
        self.base_url: str = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
