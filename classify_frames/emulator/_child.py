"""The emulator's subprocess: ``python -m classify_frames.emulator._child``.

Reads its settings as one JSON line on stdin (the API key never appears on a command line),
writes ``{"port": N}`` on stdout once listening, and stops when stdin closes (so it also stops
when its parent dies).
"""

from __future__ import annotations

import json
import sys
import threading

from ._app import EmulatorApp
from ._data import Dataset
from ._faults import Faults
from ._server import build_server, listen, run_server
from ._store import JobStore


def main() -> None:
    """Serve until stdin closes."""
    settings = json.loads(sys.stdin.readline())
    dataset = Dataset.generate(settings["jobs"], seed=settings["seed"], schema=settings["schema"])
    store = JobStore(dataset, job_duration=settings["job_duration"], seed=dataset.seed)
    faults = Faults().updated(**settings["faults"])
    server = build_server(EmulatorApp(store, settings["api_key"], faults))
    sock = listen(settings["host"], settings["port"])

    def stop_on_eof() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_on_eof, daemon=True).start()
    sys.stdout.write(json.dumps({"port": sock.getsockname()[1]}) + "\n")
    sys.stdout.flush()
    run_server(server, sock)


if __name__ == "__main__":
    main()
