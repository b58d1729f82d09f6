"""Settings: where the API key, base URL and limits come from.

Lookup order for each setting (first found wins):

1. the argument passed to :class:`Settings` / :class:`~classify_frames.ClassifyClient`;
2. the environment: ``LLAMA_CLOUD_API_KEY`` then ``LLAMA_PARSE_API_KEY`` for the key,
   ``LLAMA_CLOUD_BASE_URL`` for the base URL; with ``trust_env`` (the default) also
   ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` and ``NO_PROXY`` for a proxy and
   ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` for the CA bundle (as curl, requests and httpx read them);
   ``LLAMA_CLOUD_CUSTOM_HEADERS`` (one ``Name: value`` a line, as the official SDK reads it)
   for headers sent with every request;
3. the default: the North-American service (``region="eu"`` picks Europe).
"""

from __future__ import annotations

import base64
import importlib.util
import ipaddress
import os
import re
import socket
import ssl
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NoReturn
from urllib.parse import unquote, urlsplit

from .._exceptions import ConfigurationError, Opt, Parts

__all__ = ["MASK", "REGIONS", "CertTypes", "Secret", "Settings"]

MASK = "********"

#: A client certificate, as httpx takes it: a file with the key, (cert, key) or
#: (cert, key, key's password).
CertTypes = str | tuple[str, str] | tuple[str, str, str]

# A base URL that already ends in the API's own path (a copy of a request URL, or of the docs).
_API_PATH = re.compile(r"/api(?:/v\d+(?:/classify)?)?/*$")

REGIONS = {
    "na": "https://api.cloud.llamaindex.ai",
    "eu": "https://api.cloud.eu.llamaindex.ai",
}


class Secret:
    """A string that never shows itself in a repr, str, log line or traceback.

    >>> Secret("llx-abc")
    Secret('********')
    """

    __slots__ = ("_pattern", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._pattern: re.Pattern[str] | None = None

    def get(self) -> str:
        """The secret itself, for the Authorization header only."""
        return self._value

    def mask(self, text: str) -> str:
        """``text`` with every copy of the secret replaced by ``********``: as is, and as a
        server or proxy may echo it, URL-encoded (once or twice), JSON- or HTML-escaped, or in
        base64.

        >>> Secret("llx-a b").mask("key=llx-a%20b, llx-a%2520b, bGx4LWEgYg==")
        'key=********, ********, ********'
        """
        if not self._value:
            return text
        if self._pattern is None:
            self._pattern = _encodings_of(self._value)
        return self._pattern.sub(MASK, text)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        msg = "an API key is not pickled; pass it again where it is needed"
        raise TypeError(msg)


def _encodings_of(value: str) -> re.Pattern[str]:
    """A pattern matching ``value`` with each character as is or in an escaped form."""
    forms = []
    for char in value:
        code = ord(char)
        escaped = [re.escape(char), f"%{code:02x}", f"%25{code:02x}", f"&#{code};", f"&#x{code:x};"]
        escaped.append(re.escape(f"\\u{code:04x}"))
        if char == " ":
            escaped.append(r"\+")
        forms.append("(?:" + "|".join(escaped) + ")")
    encoded = value.encode("utf-8", "surrogateescape")
    b64 = {base64.b64encode(encoded).decode(), base64.urlsafe_b64encode(encoded).decode()}
    whole = ["".join(forms), *(re.escape(b.rstrip("=")) + "=*" for b in sorted(b64))]
    return re.compile("|".join(whole), re.IGNORECASE)


def _is_loopback(host: str) -> bool:
    """A loopback address, or a ``localhost`` name that resolves only to loopback addresses
    (RFC 6761 reserves the names, but a resolver or hosts file may still point one elsewhere).
    """
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    if host != "localhost" and not host.endswith(".localhost"):
        return False
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(ipaddress.ip_address(a[4][0]).is_loopback for a in found)


@dataclass(frozen=True)
class Settings:
    """Everything a client needs to talk to the Classify API.

    >>> s = Settings(api_key="llx-test", base_url="http://127.0.0.1:8000")
    >>> s.base_url
    'http://127.0.0.1:8000'
    >>> "llx-test" in repr(s)
    False

    ``verify``, ``cert``, ``proxy`` and ``trust_env`` mean what they mean to httpx: the CA
    bundle (a path, an ``ssl.SSLContext``, or False to skip checks), a client certificate,
    a proxy URL (http, https, or socks5 with ``classify-frames[socks]``; ``""`` for none)
    and whether the environment's proxy and CA variables count.
    """

    api_key: Secret | str | None = None
    base_url: str | None = None
    region: Literal["na", "eu"] = "na"
    project_id: str | None = None
    organization_id: str | None = None
    timeout: float = 60.0
    connect_timeout: float = 5.0
    concurrency: int = 32
    max_requests_per_second: float | None = None
    retries: int = 5
    allow_insecure_http: bool = False
    proxy: Secret | str | None = field(default=None, repr=False)
    verify: ssl.SSLContext | str | bool = True
    cert: CertTypes | None = field(default=None, repr=False)
    trust_env: bool = True
    custom_headers: Mapping[str, str | Secret] | None = field(
        default=None, repr=False, compare=False
    )
    _key: Secret = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # No local variable holds the bare key: a traceback showing locals must not show it.
        secret = (
            self.api_key
            if isinstance(self.api_key, Secret)
            else Secret(
                self.api_key
                or os.environ.get("LLAMA_CLOUD_API_KEY")
                or os.environ.get("LLAMA_PARSE_API_KEY")
                or ""
            )
        )
        object.__setattr__(self, "_key", secret)
        object.__setattr__(self, "api_key", secret)
        _check_key(secret)
        if self.region not in REGIONS:
            _refuse("region", f"must be one of {sorted(REGIONS)}, got {self.region!r}")
        url = self.base_url or os.environ.get("LLAMA_CLOUD_BASE_URL") or REGIONS[self.region]
        object.__setattr__(self, "base_url", _check_url(url.rstrip("/"), self.allow_insecure_http))
        for name in ("timeout", "connect_timeout"):
            if not getattr(self, name) > 0:
                _refuse(name, f"must be a positive number of seconds, got {getattr(self, name)!r}")
        if not (isinstance(self.concurrency, int) and self.concurrency >= 1):
            _refuse("concurrency", f"must be a whole number >= 1, got {self.concurrency!r}")
        if not (isinstance(self.retries, int) and self.retries >= 0):
            _refuse("retries", f"must be a whole number >= 0, got {self.retries!r}")
        object.__setattr__(self, "proxy", _proxy_for(self.proxy, url, self.trust_env))
        given = self.custom_headers
        headers = _env_headers() if given is None else given
        object.__setattr__(self, "custom_headers", _checked_headers(headers))
        _check_tls_files(self.verify, self.cert)
        rps = self.max_requests_per_second
        if rps is not None and not rps > 0:
            _refuse("max_requests_per_second", f"must be positive or None, got {rps!r}")

    @property
    def key(self) -> Secret:
        """The API key as a :class:`Secret` (empty when none was found)."""
        return self._key

    def require_key(self) -> str:
        """The key's value, or a ConfigurationError that says how to set one."""
        if not self._key:
            hint: Parts = [
                "pass ", Opt("api_key", ...), ", or set LLAMA_CLOUD_API_KEY in the environment "
                "(for the local emulator use Emulator().api_key)",
            ]  # fmt: skip
            msg = "no API key"
            raise ConfigurationError(msg, option="api_key", hint=hint)
        return self._key.get()

    @property
    def scope_params(self) -> dict[str, str]:
        """The ``project_id`` / ``organization_id`` query parameters every request carries."""
        params = {}
        if self.project_id:
            params["project_id"] = self.project_id
        if self.organization_id:
            params["organization_id"] = self.organization_id
        return params


def _refuse(option: str, problem: str, hint: str | Parts = ()) -> NoReturn:
    """Raise the :class:`ConfigurationError` of ``option``: its name, then ``problem``."""
    raise ConfigurationError([Opt(option), f" {problem}"], option=option, hint=hint)


def _check_key(key: Secret) -> None:
    """Refuse a key no server can accept, before any request (it would fail as a network
    error on every one of them). The messages never quote the key."""
    value = key.get()
    if not isinstance(value, str):
        msg = f"the API key must be a string, got {type(value).__name__}"
        raise ConfigurationError(msg, option="api_key")
    if any(c.isspace() for c in value):
        where = "at its start or end" if value.strip() != value else "in it"
        msg = f"the API key has whitespace {where} (a newline or space copied with it?)"
        raise ConfigurationError(msg, option="api_key", hint="set it again without")
    if not value.isascii() or not value.isprintable():
        msg = "the API key has non-ASCII or control characters, which an HTTP header cannot carry"
        hint = "copy it again from the LlamaCloud dashboard"
        raise ConfigurationError(msg, option="api_key", hint=hint)


def _env_headers() -> dict[str, str]:
    """``LLAMA_CLOUD_CUSTOM_HEADERS``, read as the SDK reads it: one ``Name: value`` a line,
    lines without a colon skipped."""
    found: dict[str, str] = {}
    for line in os.environ.get("LLAMA_CLOUD_CUSTOM_HEADERS", "").splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip():
            found[name.strip()] = value.strip()
    return found


_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # an HTTP header name (RFC 9110 token)
_OURS = frozenset({"authorization", "host", "content-length", "transfer-encoding"})


def _checked_headers(headers: Mapping[str, str | Secret]) -> dict[str, Secret]:
    """Custom headers with their values kept as :class:`Secret` (a gateway token must not show
    in a repr or a log); a name no request can carry, or one the client sets itself, is refused
    (the message names the header, never its value)."""
    checked: dict[str, Secret] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            msg = f"custom header name {name!r} is not a valid HTTP header name"
            raise ConfigurationError(msg)
        if name.lower() in _OURS:
            msg = f"custom header {name!r} is set by the client itself" + (
                ": pass the key as api_key= or LLAMA_CLOUD_API_KEY"
                if name.lower() == "authorization"
                else ""
            )
            raise ConfigurationError(msg)
        secret = value if isinstance(value, Secret) else Secret(value)
        text = secret.get()
        if not isinstance(text, str) or not text.isascii() or not text.isprintable():
            msg = f"custom header {name!r} has a value an HTTP header cannot carry"
            raise ConfigurationError(msg)
        checked[name] = secret
    return checked


def _proxy_for(proxy: Secret | str | None, base_url: str, trust_env: bool) -> Secret | None:
    """The proxy to reach ``base_url`` through, kept as a :class:`Secret` (its URL may carry a
    password): the argument if given (``""`` for none), else the environment's (with
    ``trust_env``), unless ``NO_PROXY`` names the host. A loopback base URL (the emulator)
    never goes through the environment's proxy."""
    if isinstance(proxy, Secret):
        return proxy
    parts = urlsplit(base_url)
    if proxy is None and trust_env:
        found = urllib.request.getproxies()
        host = parts.hostname or ""
        if _is_loopback(host) or urllib.request.proxy_bypass(host):
            return None
        proxy = found.get(parts.scheme) or found.get("all")
    if not proxy:
        return None
    scheme = urlsplit(proxy).scheme
    if scheme not in _PROXY_SCHEMES:
        _refuse(
            "proxy",
            f"must be an http://, https://, socks5:// or socks5h:// URL, got a "
            f"{scheme or 'scheme-less'} one",
        )
    if scheme.startswith("socks") and importlib.util.find_spec("socksio") is None:
        hint = "pip install 'classify-frames[socks]' (or 'httpx[socks]')"
        msg = "a SOCKS proxy needs the 'socksio' package"
        raise ConfigurationError(msg, option="proxy", hint=hint)
    return Secret(proxy)


_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def _check_tls_files(verify: object, cert: CertTypes | None) -> None:
    """Name a CA bundle or certificate file that is not there now, not at the first request."""
    files = [("verify", verify)] if isinstance(verify, str) else []
    if cert:
        parts = (cert,) if isinstance(cert, str) else cert[:2]
        files += [("cert", part) for part in parts]
    for option, path in files:
        if not os.path.exists(path):
            _refuse(option, f"names {path!r}, which does not exist")


def _check_url(url: str, allow_insecure_http: bool) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:  # checked first: the message must not quote them
        _refuse("base_url", "must not carry credentials", ["pass the key as ", Opt("api_key")])
    # urlsplit silently drops tabs and newlines, and httpx refuses them only at the first
    # request; a query or fragment would end up in the middle of every request's URL.
    if not url.isprintable() or any(c.isspace() for c in url):
        _refuse("base_url", f"must not hold whitespace or control characters, got {url!r}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        _refuse("base_url", f"must be an http(s) URL with a host, got {url!r}")
    if "?" in url or "#" in url:
        _refuse("base_url", f"must not have a query (?) or fragment (#), got {url!r}")
    dots = [seg for seg in parts.path.split("/") if unquote(seg) in (".", "..")]
    if dots:  # a server or proxy resolves them, so requests would leave the path given
        _refuse(
            "base_url",
            f"must not hold {dots[0]!r} path segments, got {url!r}",
            "write the path it means without them",
        )
    api_path = _API_PATH.search(parts.path)
    if api_path:  # every request would go to .../api/v2/api/v2/classify: a 404 for each id
        host = url[: len(url) - len(parts.path)] + parts.path[: api_path.start()]
        _refuse(
            "base_url",
            f"is the host only (the client adds /api/v2/classify itself), got {url!r}",
            f"use {host!r}",
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_insecure_http:
        msg = f"refusing to send the API key over plain http to {parts.hostname}"
        insecure: Parts = [
            "use https, or pass ",
            Opt("allow_insecure_http", True),
            " if you mean it",
        ]
        raise ConfigurationError(msg, option="base_url", hint=insecure)
    return url
