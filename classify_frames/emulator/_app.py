"""The emulator's HTTP face: a framework-free ASGI app serving the Classify API.

Routes (``{id}`` is a job id; every route needs ``Authorization: Bearer <key>``)::

    GET    /api/v2/classify               list (filters, page_size 1..100, default 50)
    POST   /api/v2/classify               create
    GET    /api/v2/classify/{id}          one job (``expand=usage`` adds its credits)
    POST   /api/v2/classify/{id}/cancel   cancel a PENDING or RUNNING job
    DELETE /api/v2/classify/{id}          delete a finished job
    /api/v1/beta/configurations[/{id}]    saved configurations (see :mod:`._configurations`)
    GET    /api/v1/files/{id}/content     a presigned link to a file (see :mod:`._files`; also
                                          under /api/v1/beta/files)
    GET    /_storage/{id}?expires=…&signature=…   the file that link opens (no key needed)
    GET    /_emulator/counters            requests served, by endpoint, status and fault
    POST   /_emulator/counters/reset      start counting from zero (and forget the requests)
    GET    /_emulator/requests            the last 1,000 API requests: method, path, query,
                                          headers (``authorization`` left out) and body
    GET    /_emulator/faults              the faults in force
    PATCH  /_emulator/faults              change some faults (JSON object of Faults fields)
    PUT    /_emulator/faults              replace every fault (unset fields go back to off)
    GET    /_emulator/health              jobs, seed and schema served

Every ``/api`` route takes ``project_id`` (jobs of another project are not found) and ignores
``organization_id``. Faults (see :mod:`._faults`) apply to ``/api`` routes only.

What the emulator refuses, as the service does (SDK 2.19 and its docs): deleting a job that is
not finished (COMPLETED, FAILED or CANCELLED); cancelling a finished one; ``status=CANCELLED``
on a ``seed``-era server, which has no such status; ``page_size`` outside 1..100. A job carries
``usage`` only when the request asks ``expand=usage`` (GET of one job; the SDK's create, cancel
and list take no ``expand``). Files and parse jobs have the service's id shapes (``dfl-…``,
``pjb-…``), saved configurations ``cfg-…``.

Not documented by the service, so chosen here (a client must not rely on them):

- the status code of a refused delete or cancel: 400 (not 409, which the SDK would retry);
- the largest ``page_size`` (100 here) and the most ``job_ids`` per request (no limit here);
- whether ``total_size`` is exact (it is here, unless a fault lies);
- whether listings honour ``expand=usage``: they do not by default (the SDK's list has no
  ``expand``); ``Faults(list_usage=True)`` makes them;
- unknown ``expand`` values: ignored;
- the shape of job, project and user ids: UUIDs here (the seed page shows none);
- a configuration delete's answer: 204 with no body (the SDK expects none).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

import orjson

from ._configurations import ConfigurationRegistry
from ._data import STATUSES
from ._faults import Counters, FaultDraws, Faults
from ._files import STORAGE, FileStore
from ._requests import ListQuery, parse_create, parse_list_query
from ._store import JobStateError, JobStore, Selection, decode_token, encode_token

__all__ = ["EmulatorApp"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
_Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]

_PREFIX = "/api/v2/classify"
_RECORDED = 1_000  # API requests kept for /_emulator/requests
_CONFIGURATIONS = "/api/v1/beta/configurations"
_FILES = ("/api/v1/files/", "/api/v1/beta/files/")
_JSON = b"application/json"
_GZIP_MIN = 1_400  # bytes: smaller bodies fit one packet either way, and go uncompressed
_HTML = b"text/html; charset=utf-8"
_PROXY_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    b"<h1>Sign in to continue</h1><form method='post' action='/login'>"
    b"<input name='user'><input name='password' type='password'></form></body></html>"
)
_NOT_JOBS = (b'{"ok":true}', b'[{"ok":true}]', b'"OK"', b"null")
_SERVER_ERRORS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _json(status: int, data: Any, headers: list[tuple[bytes, bytes]] | None = None) -> _Answer:
    return status, orjson.dumps(data), headers or []


def _detail(status: int, detail: Any) -> _Answer:
    return _json(status, {"detail": detail})


class EmulatorApp:
    """The ASGI application: routing, auth, faults and counters over a :class:`JobStore`."""

    def __init__(self, store: JobStore, api_key: str, faults: Faults | None = None) -> None:
        self.store = store
        self.counters = Counters()
        # as they came (decoded only when read: this is on every request's path)
        self.recorded: deque[list[Any]] = deque(maxlen=_RECORDED)
        self._auth = b"Bearer " + api_key.encode()
        self._draws = FaultDraws(faults or Faults())
        self.configurations = ConfigurationRegistry(store.dataset, store.saved_configurations)
        self.files = FileStore(store.dataset)

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._draws.faults

    def set_faults(self, faults: Faults) -> None:
        """Put ``faults`` in force now (the fault RNG restarts from ``faults.seed``)."""
        self._draws = FaultDraws(faults)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith("/_emulator/"):
            answer = self._unauthorised(scope) or await self._admin(
                scope, receive, path[len("/_emulator/") :]
            )
            await _send(send, *answer)
            return
        if path.startswith(STORAGE):  # what a presigned link opens: signed, so no key
            await _send(send, *self._storage(scope, path[len(STORAGE) :]))
            return
        await self._api(scope, receive, send, path)

    # -- the API ---------------------------------------------------------------------------

    async def _api(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        counters, draws = self.counters, self._draws
        counters.requests += 1
        record = [scope["method"], scope["path"], scope["query_string"], scope["headers"], b""]
        self.recorded.append(record)
        endpoint, job_id = _route(scope["method"], path)
        counters.by_endpoint[endpoint] += 1
        refused = self._unauthorised(scope)
        if refused is not None:
            counters.by_status["401"] += 1
            await _send(send, *refused)
            return
        now = self.store.clock()
        wait = draws.rate_limited(now)
        creation = not wait and endpoint == "create"
        if creation:
            wait = draws.create_limited(now)
        if wait:
            answer = self._rate_limited(wait, creation)
            counters.by_fault["rate_limited"] += 1
            counters.by_status[str(answer[0])] += 1
            await _send(send, *answer)
            return
        delay, spike = draws.delay()
        if spike:
            counters.by_fault["latency_spike"] += 1
        if delay:
            await asyncio.sleep(delay)
        fault = draws.answer_fault()
        if fault is not None:
            counters.by_fault[fault] += 1
        if fault in ("server_error", "html_error", "html_200", "not_a_job"):
            answer = self._fault_answer(fault)
        else:
            answer = await self._handle(endpoint, job_id, scope, receive, record)
        status, body, headers = answer
        counters.by_status[str(status)] += 1
        if fault == "truncated":
            body = body[: max(1, len(body) * 2 // 3)]
        elif fault == "malformed":
            body = _malform(body)
        if len(body) >= _GZIP_MIN and _accepts_gzip(scope):  # as the service's front end does
            body = gzip.compress(body, compresslevel=1, mtime=0)
            headers = [*headers, (b"content-encoding", b"gzip"), (b"vary", b"accept-encoding")]
        if fault == "dropped":
            await _send_dropped(send, status, body, headers)
        else:
            await _send(send, status, body, headers)

    async def _handle(
        self, endpoint: str, job_id: str, scope: Scope, receive: Receive, record: list[Any]
    ) -> _Answer:
        pairs = _query(scope)
        project = self._project(pairs)
        if endpoint == "get":
            body = self.store.get_bytes(job_id, project, usage=_expands_usage(pairs))
            return (200, body, []) if body is not None else _not_found(job_id)
        if endpoint == "list":
            return self._list(pairs, project)
        if endpoint == "create":
            record[4] = await _body(receive)
            return self._create(record[4], project)
        if endpoint == "cancel":
            try:
                job = self.store.cancel(job_id, project)
            except JobStateError as exc:
                return _detail(400, str(exc))
            return _json(200, job) if job is not None else _not_found(job_id)
        if endpoint == "delete":
            try:
                deleted = self.store.delete(job_id, project)
            except JobStateError as exc:
                return _detail(400, str(exc))
            if deleted:
                return _json(200, {"id": job_id, "project_id": project})
            return _not_found(job_id)
        if endpoint.startswith("configurations"):
            if self.faults.no_configurations:
                return _detail(404, "Not Found")
            raw = await _body(receive) if scope["method"] in ("POST", "PUT") else b""
            record[4] = raw
            try:
                body = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError as exc:
                return _detail(422, f"the body is not JSON: {exc}")
            status, data = self.configurations.answer(scope["method"], job_id, pairs, body)
            return (204, b"", []) if status == 204 else _json(status, data)
        if endpoint == "file_content":
            origin = _origin(scope)
            status, data = self.files.link(job_id, project, pairs, origin, self.store.clock())
            return _json(status, data)
        if endpoint == "method_not_allowed":
            return _detail(405, "Method Not Allowed")
        return _detail(404, "Not Found")

    def _storage(self, scope: Scope, file_id: str) -> _Answer:
        if scope["method"] != "GET":
            return _detail(405, "Method Not Allowed")
        status, body, kind = self.files.content(file_id, _query(scope), self.store.clock())
        return status, body, [(b"content-type", kind)]

    def _list(self, pairs: list[tuple[str, str]], project: str) -> _Answer:
        seed = self.store.dataset.schema == "seed"
        query, errors = parse_list_query(pairs, STATUSES[:4] if seed else STATUSES)
        if errors:
            return _detail(422, errors)
        draws, faults = self._draws, self._draws.faults
        if faults.ignore_job_ids and query.job_ids is not None:
            self.counters.by_fault["ignored_job_ids"] += 1
            query = replace(query, job_ids=None)
        key = self.store.listing_key(query, project)
        offset = 0
        if query.page_token is not None:
            decoded = decode_token(query.page_token, key)
            if decoded is None:
                return _detail(422, [_bad_token(query)])
            offset = decoded
        usage = faults.list_usage and _expands_usage(pairs)
        selection = self.store.select(query, project, usage)
        total = len(selection)
        size = query.page_size
        if draws.chance(faults.oversize_rate):
            self.counters.by_fault["oversize_page"] += 1
            size += draws.pick((1, 7, size))
        start = offset
        if offset and draws.chance(faults.duplicate_rate):
            self.counters.by_fault["duplicate_items"] += 1
            start = offset - min(3, offset, size - 1)
        stop = min(total, offset + size - (offset - start))
        items = self._slice(selection, start, stop, usage)
        token = encode_token(stop, key) if stop < total else None
        if token is not None and draws.chance(faults.page_loop_rate):
            self.counters.by_fault["page_loop"] += 1
            token = query.page_token or encode_token(0, key)
        shown: int | None = total
        if draws.chance(faults.lying_total_rate):
            self.counters.by_fault["lying_total"] += 1
            shown = draws.pick((total * 2 + 17, max(0, total - 13), 0, None))
        return _json(200, {"items": items, "next_page_token": token, "total_size": shown})

    def _slice(
        self, selection: Selection, start: int, stop: int, usage: bool
    ) -> list[dict[str, Any]]:
        n_rows = len(selection.rows)
        items = self.store.jobs(selection.rows[start:stop], usage) if start < n_rows else []
        if stop > n_rows:
            items.extend(selection.created[max(0, start - n_rows) : stop - n_rows])
        return items

    def _create(self, raw: bytes, project: str) -> _Answer:
        request, errors = parse_create(raw)
        if request is None:
            return _detail(422, errors)
        try:
            job, new = self.store.create(request, project)
        except LookupError as exc:
            return _detail(404, str(exc))
        if new:
            self.counters.jobs_created += 1
        else:
            self.counters.creations_replayed += 1
        return _json(200, job)

    # -- faults ----------------------------------------------------------------------------

    def _rate_limited(self, wait: float, creation: bool = False) -> _Answer:
        faults = self.faults
        seconds = max(1, int(wait + 0.999))
        if faults.retry_after == "http-date":
            value = formatdate(time.time() + seconds, usegmt=True)
        else:
            value = str(seconds)
        headers = [(b"retry-after", value.encode())]
        if faults.retry_after_ms:
            headers.append((b"retry-after-ms", str(int(wait * 1000) + 1).encode()))
        if creation:
            limit = f"{faults.create_rate_limit:g} creations per {faults.create_rate_period:g} s"
        else:
            limit = f"{faults.rate_limit:g} requests per {faults.rate_period:g} s"
        status, body, _ = _detail(429, f"Rate limit exceeded: {limit}")
        return status, body, headers

    def _fault_answer(self, fault: str) -> _Answer:
        draws = self._draws
        if fault == "server_error":
            status = draws.pick(self.faults.fail_statuses)
            headers = [(b"x-should-retry", b"false")] if self.faults.no_retry else []
            reason = _SERVER_ERRORS.get(status, "Server Error")
            return status, orjson.dumps({"detail": reason}), headers
        if fault == "html_error":
            return 502, _PROXY_502, [(b"content-type", _HTML)]
        if fault == "html_200":
            return 200, _LOGIN_PAGE, [(b"content-type", _HTML)]
        return 200, draws.pick(_NOT_JOBS), []

    # -- admin -----------------------------------------------------------------------------

    async def _admin(self, scope: Scope, receive: Receive, route: str) -> _Answer:
        method = scope["method"]
        if route == "counters" and method == "GET":
            return _json(200, self.counters.snapshot())
        if route == "counters/reset" and method == "POST":
            self.counters.reset()
            self.recorded.clear()
            return _json(200, self.counters.snapshot())
        if route == "requests" and method == "GET":
            return _json(200, [_record(*r) for r in self.recorded])
        if route == "health" and method == "GET":
            ds = self.store.dataset
            return _json(200, {"jobs": len(ds), "seed": ds.seed, "schema": ds.schema})
        if route == "faults" and method == "GET":
            return _json(200, self.faults.to_dict())
        if route == "faults" and method in ("PATCH", "PUT"):
            try:
                changes = orjson.loads(await _body(receive))
            except orjson.JSONDecodeError as exc:
                return _detail(422, f"the body is not JSON: {exc}")
            if not isinstance(changes, dict):
                return _detail(422, "send a JSON object of fault settings")
            base = self.faults if method == "PATCH" else Faults()
            try:
                self.set_faults(base.updated(**changes))
            except (ValueError, TypeError) as exc:
                return _detail(422, str(exc))
            return _json(200, self.faults.to_dict())
        return _detail(404, "Not Found")

    # -- helpers ---------------------------------------------------------------------------

    def _header(self, scope: Scope) -> bytes | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                return bytes(value)
        return None

    def _unauthorised(self, scope: Scope) -> _Answer | None:
        """None for the right key, else the 401 answer."""
        header = self._header(scope)
        if header == self._auth:
            return None
        status, body, _ = _detail(401, "Not authenticated" if header is None else "Invalid API key")
        return status, body, [(b"www-authenticate", b"Bearer")]

    def _project(self, pairs: list[tuple[str, str]]) -> str:
        for name, value in pairs:
            if name == "project_id" and value:
                return value
        return self.store.dataset.project_id


def _route(method: str, path: str) -> tuple[str, str]:
    """(endpoint, job id) of a request; the endpoint names what the counters count."""
    if path == _CONFIGURATIONS or path.startswith(_CONFIGURATIONS + "/"):
        rest = path[len(_CONFIGURATIONS) :].strip("/")
        return ("configurations" if not rest else "configurations_one"), rest
    for files in _FILES:
        if path.startswith(files) and path.endswith("/content"):
            file_id = path[len(files) : -len("/content")]
            if file_id and "/" not in file_id:
                return ("file_content" if method == "GET" else "method_not_allowed"), file_id
    if path in (_PREFIX, _PREFIX + "/"):
        return {"GET": "list", "POST": "create"}.get(method, "method_not_allowed"), ""
    if not path.startswith(_PREFIX + "/"):
        return "not_found", ""
    rest = path[len(_PREFIX) + 1 :]
    if rest.endswith("/cancel") and "/" not in rest[: -len("/cancel")]:
        return ("cancel" if method == "POST" else "method_not_allowed"), rest[: -len("/cancel")]
    if "/" in rest:
        return "not_found", ""
    return {"GET": "get", "DELETE": "delete"}.get(method, "method_not_allowed"), rest


def _record(
    method: str, path: str, query: bytes, headers: list[Any], body: bytes
) -> dict[str, Any]:
    """What a request sent, for a test to read back; never the key."""
    return {
        "method": method,
        "path": path,
        "query": parse_qsl(query.decode("latin-1"), keep_blank_values=True),
        "headers": [
            [name.decode("latin-1"), value.decode("latin-1")]
            for name, value in headers
            if name != b"authorization"
        ],
        "body": body.decode("utf-8", "replace"),
    }


def _origin(scope: Scope) -> str:
    """``http://host:port`` as the request reached the emulator (its ``Host`` header), so a
    link it hands out opens from where the client is."""
    for name, value in scope["headers"]:
        if name == b"host":
            return f"http://{bytes(value).decode('latin-1')}"
    host, port = scope.get("server") or ("127.0.0.1", 80)
    return f"http://{host}:{port}"


def _expands_usage(pairs: list[tuple[str, str]]) -> bool:
    """Whether the query asks for ``usage``: ``expand=usage``, repeated or comma-separated."""
    return any(
        name == "expand" and "usage" in (v.strip() for v in value.split(","))
        for name, value in pairs
    )


def _query(scope: Scope) -> list[tuple[str, str]]:
    raw: bytes = scope["query_string"]
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if raw else []


def _not_found(job_id: str) -> _Answer:
    return _detail(404, f"Classify job {job_id} not found")


def _bad_token(query: ListQuery) -> dict[str, Any]:
    return {
        "type": "value_error",
        "loc": ["query", "page_token"],
        "msg": "Value error, invalid page token (expired, damaged or made for other filters)",
        "input": query.page_token,
        "ctx": {"error": {}},
    }


def _malform(body: bytes) -> bytes:
    """The body with JSON syntax broken (a colon gone, or a brace added when there is none)."""
    broken = body.replace(b'":', b'" ', 1)
    return broken if broken != body else b"{" + body


def _accepts_gzip(scope: Scope) -> bool:
    """Whether the request's ``Accept-Encoding`` allows gzip (``gzip;q=0`` refuses it)."""
    for name, value in scope["headers"]:
        if name != b"accept-encoding":
            continue
        for token in value.lower().split(b","):
            coding, _, params = token.partition(b";")
            weight = params.strip()
            if coding.strip() in (b"gzip", b"*"):
                try:
                    return not weight.startswith(b"q=") or float(weight[2:]) > 0
                except ValueError:
                    return False
    return False


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _headers(body: bytes, extra: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-length", str(len(body)).encode())]
    if not any(name == b"content-type" for name, _ in extra):
        headers.append((b"content-type", _JSON))
    headers.extend(extra)
    return headers


async def _send(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _headers(body, extra)})
    await send({"type": "http.response.body", "body": body})


async def _send_dropped(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    """Headers promising the whole body, half of it, then the connection closes."""
    await send({"type": "http.response.start", "status": status, "headers": _headers(body, extra)})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    # Returning now, with the response unfinished, makes the server close the connection.
