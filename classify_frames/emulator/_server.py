"""Running the emulator: uvicorn on loopback, in a background thread or in a subprocess.

The thread has its own event loop, so the emulator also works inside a running Jupyter kernel.
A subprocess keeps the server off the client's GIL (for benchmarks). Both are driven the same
way, through the admin routes of :mod:`._app` (``/_emulator/...``), with the emulator's key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

import httpx
import pandas as pd

try:
    import uvicorn
except ModuleNotFoundError as exc:  # an extra, so that a cron job's install has no web server
    msg = "the emulator needs the [emulator] extra: pip install 'classify-frames[emulator]'"
    raise ModuleNotFoundError(msg, name=exc.name) from exc

from ..client import Secret
from ._app import EmulatorApp
from ._data import Dataset, Schema
from ._faults import Faults
from ._store import JobStore

__all__ = ["Emulator", "build_server", "listen"]

_STARTUP_TIMEOUT = 60.0


class _DropFilter(logging.Filter):
    """Silence uvicorn's error line for a connection the emulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


def _fast(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def listen(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket (port 0 picks a free port: read it from ``getsockname()``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when their
    # proto says TCP, and without it h11's separate header and body writes meet Nagle and the
    # client's delayed ACK, a 40 ms stall on every keep-alive request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def build_server(
    app: EmulatorApp, *, http: Literal["auto", "h11", "httptools"] = "auto"
) -> uvicorn.Server:
    """A quiet uvicorn server for ``app`` (``auto``: httptools when installed, else h11; no
    logging set-up)."""
    logging.getLogger("uvicorn.error").addFilter(_DropFilter())
    if http == "auto":
        http = "httptools" if _fast("httptools") else "h11"
    config = uvicorn.Config(
        app,
        http=http,
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


def run_server(
    server: uvicorn.Server,
    sock: socket.socket,
    *,
    loop: Literal["auto", "asyncio", "uvloop"] = "auto",
) -> None:
    """Serve until ``server.should_exit`` on a new event loop (``auto``: uvloop when
    installed, else asyncio's own)."""
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if loop == "uvloop" or (loop == "auto" and _fast("uvloop")):
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(server.serve(sockets=[sock]))


class Emulator:
    """A local Classify API serving synthetic jobs, for demos, notebooks, tests and benchmarks.

    >>> import classify_frames as cf
    >>> with Emulator(jobs=100, seed=0) as emu:
    ...     df = cf.fetch_jobs(emu.dataset.ids[:10], base_url=emu.base_url, api_key=emu.api_key,
    ...                        progress=False)
    >>> len(df), int(df["fetch_error"].notna().sum())
    (10, 0)

    Args:
        jobs, seed, schema: the dataset (see :class:`Dataset`); same arguments, same jobs.
        api_key: the key clients must send; a random ``llx-emu-...`` one by default.
        host, port: where to listen (port 0 picks a free one).
        process: serve from a subprocess instead of a thread of this process.
        job_duration: seconds a created job takes from PENDING to its final status.
        clock: the emulator's time (seconds since the epoch) for job states and rate-limit
            windows; ``time.time`` by default. A :class:`ManualClock` lets a test step it
            instead of sleeping. Threads only: a function cannot cross into a subprocess.
        latency_ms, fail_rate, rate_limit, **faults: faults to start with (see :class:`Faults`);
            change them at any time with :meth:`set_faults`.
    """

    def __init__(
        self,
        jobs: int = 10_000,
        seed: int = 0,
        schema: Schema = "current",
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        process: bool = False,
        job_duration: float = 2.0,
        clock: Callable[[], float] | None = None,
        latency_ms: float = 0.0,
        fail_rate: float = 0.0,
        rate_limit: float | None = None,
        **faults: Any,
    ) -> None:
        self.dataset = Dataset.generate(jobs, seed=seed, schema=schema)
        self._key = Secret(api_key or f"llx-emu-{secrets.token_urlsafe(24)}")
        self._initial = Faults().updated(
            latency_ms=latency_ms, fail_rate=fail_rate, rate_limit=rate_limit, **faults
        )
        self._host, self._port, self._process = host, port, process
        if clock is not None and process:
            msg = "clock= works with the emulator in a thread only: drop process=True to use it"
            raise ValueError(msg)
        self._job_duration = job_duration
        self._clock = clock or time.time
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._admin: httpx.Client | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Start serving (returns self); starting a running emulator does nothing."""
        if self._admin is not None:
            return self
        if self._process:
            self._start_process()
        else:
            self._start_thread()
        self._admin = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self._key.get()}"},
            timeout=30,
        )
        return self

    def stop(self) -> None:
        """Stop serving and free the port; stopping a stopped emulator does nothing."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None
        if self._child is not None:
            with contextlib.suppress(OSError):
                self._child.stdin.close()  # type: ignore[union-attr]  # the child stops on EOF
            try:
                self._child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
            self._child = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._admin is not None else "stopped"
        mode = "process" if self._process else "thread"
        return (
            f"<Emulator {len(self.dataset):,} jobs seed={self.dataset.seed} "
            f"schema={self.dataset.schema!r} {mode} {where}>"
        )

    def _start_thread(self) -> None:
        sock = listen(self._host, self._port)
        self._port = sock.getsockname()[1]
        store = JobStore(
            self.dataset, job_duration=self._job_duration, seed=self.dataset.seed, clock=self._clock
        )
        server = build_server(EmulatorApp(store, self._key.get(), self._initial))
        thread = threading.Thread(
            target=run_server, args=(server, sock), name="classify-frames-emulator", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                msg = "the emulator's server did not start (see the log above)"
                raise RuntimeError(msg)
            time.sleep(0.005)
        self._server, self._thread = server, thread

    def _start_process(self) -> None:
        child = subprocess.Popen(
            [sys.executable, "-m", "classify_frames.emulator._child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        settings = {
            "jobs": len(self.dataset),
            "seed": self.dataset.seed,
            "schema": self.dataset.schema,
            "api_key": self._key.get(),  # through a pipe: never on a command line
            "host": self._host,
            "port": self._port,
            "job_duration": self._job_duration,
            "faults": self._initial.to_dict(),
        }
        stdin, stdout = child.stdin, child.stdout
        if stdin is None or stdout is None:  # pragma: no cover - Popen was given PIPEs
            msg = "the emulator's subprocess has no pipes"
            raise RuntimeError(msg)
        stdin.write(json.dumps(settings).encode() + b"\n")
        stdin.flush()
        line = stdout.readline()  # the child writes its port once it is listening
        if not line:
            child.wait()
            msg = f"the emulator's subprocess exited with status {child.returncode}"
            raise RuntimeError(msg)
        self._port = json.loads(line)["port"]
        self._child = child

    # -- what clients use ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: pass it as ``base_url`` to a client."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def api_key(self) -> str:
        """The key clients must send (kept out of this object's repr)."""
        return self._key.get()

    def labels(self) -> pd.DataFrame:
        """The hidden ground truth of the generated jobs (``id``, ``file_input``,
        ``label``)."""
        return self.dataset.labels()

    @property
    def injected(self) -> dict[str, Any]:
        """What the data hides for an audit to find (see :attr:`Dataset.injected`)."""
        return self.dataset.injected

    # -- counters and faults, through the admin routes -------------------------------------

    def counters(self) -> dict[str, Any]:
        """Requests served: ``requests``, ``by_endpoint``, ``by_status``, ``by_fault``."""
        data: dict[str, Any] = self._call("GET", "counters")
        return data

    def reset_counters(self) -> None:
        """Start counting requests from zero (and forget the recorded ones)."""
        self._call("POST", "counters/reset")

    def requests(self) -> list[dict[str, Any]]:
        """The last 1,000 API requests, oldest first: ``method``, ``path``, ``query`` (a list
        of ``[name, value]``), ``headers`` (``[name, value]``, ``authorization`` left out) and
        ``body`` (text; empty when none was read), so a test sees what a client really sent."""
        data: list[dict[str, Any]] = self._call("GET", "requests")
        return data

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        if self._admin is None:
            return self._initial
        data = self._call("GET", "faults")
        return Faults().updated(**data)

    def set_faults(self, **changes: Any) -> Faults:
        """Change some faults now, without restarting: ``emu.set_faults(fail_rate=0.1)``."""
        new = self.faults.updated(**changes)  # validates here, with a clear error
        if self._admin is None:
            self._initial = new
            return new
        return Faults().updated(**self._call("PATCH", "faults", changes))

    def clear_faults(self) -> None:
        """Turn every fault off."""
        if self._admin is None:
            self._initial = Faults()
        else:
            self._call("PUT", "faults", {})

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        if self._admin is None:
            msg = "the emulator is not running: use it as a context manager or call start()"
            raise RuntimeError(msg)
        reply = self._admin.request(method, f"/_emulator/{route}", json=body)
        if reply.status_code == 422:
            raise ValueError(reply.json()["detail"])
        reply.raise_for_status()
        return reply.json()
