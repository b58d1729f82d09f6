"""The emulator under the default install (uvicorn's h11, asyncio's own loop): no Nagle stall.

Without ``TCP_NODELAY`` on accepted connections, h11 writes a response's headers and its body
as two segments; the second waits for the client's delayed ACK, 40 ms on Linux, on every
request after the first on a keep-alive connection.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from classify_frames.emulator import Dataset, Faults
from classify_frames.emulator._app import EmulatorApp
from classify_frames.emulator._server import build_server, listen, run_server
from classify_frames.emulator._store import JobStore

KEY = "llx-emu-keepalive-test"


@pytest.fixture
def h11_emulator() -> Iterator[tuple[int, str]]:
    """An emulator served by h11 on asyncio's default loop, as without the ``[fast]`` extra."""
    dataset = Dataset.generate(20, seed=0)
    store = JobStore(dataset, job_duration=2.0, seed=0)
    server = build_server(EmulatorApp(store, KEY, Faults()), http="h11")
    sock = listen()
    port = sock.getsockname()[1]
    thread = threading.Thread(target=run_server, args=(server, sock), kwargs={"loop": "asyncio"})
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.005)
    yield port, str(dataset.ids[0])
    server.should_exit = True
    thread.join(timeout=10)


def test_listening_socket_is_tcp_so_asyncio_sets_nodelay() -> None:
    sock = listen()
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_fifty_keep_alive_requests_do_not_stall(h11_emulator: tuple[int, str]) -> None:
    port, job_id = h11_emulator
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {KEY}"}
    times = []
    try:
        for _ in range(51):
            started = time.perf_counter()
            conn.request("GET", f"/api/v2/classify/{job_id}", headers=headers)
            reply = conn.getresponse()
            body = reply.read()
            times.append(time.perf_counter() - started)
            assert reply.status == 200, body
            assert job_id.encode() in body
    finally:
        conn.close()
    reused = sorted(times[1:])  # the first request opens the connection
    # a Nagle stall is >= 40 ms on every reused request; a loaded 2-core machine may
    # delay a few requests by scheduling, so judge the median and the total
    assert reused[len(reused) // 2] < 0.02, f"median {reused[len(reused) // 2] * 1e3:.1f} ms"
    assert sum(reused) < 1.0, f"50 requests took {sum(reused):.2f} s"
