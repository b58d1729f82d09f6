"""Webhook configurations a creation carries, as llama-cloud 2.19's create takes them.

>>> webhook_fields([{"webhook_url": "https://hooks.example/classify"}], None)
{'webhook_configurations': [{'webhook_url': 'https://hooks.example/classify'}]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Webhook", "webhook_fields"]

#: One outbound webhook: ``webhook_url`` (required here), ``webhook_events`` (e.g.
#: ``["classify.success", "classify.error"]``; all when left out), ``webhook_headers``,
#: ``webhook_output_format`` (``"string"`` or ``"json"``), ``webhook_signing_secret``.
Webhook = Mapping[str, Any]
_KEYS = (
    "webhook_url",
    "webhook_events",
    "webhook_headers",
    "webhook_output_format",
    "webhook_signing_secret",
)


def webhook_fields(
    webhooks: Sequence[Webhook] | None, configuration_ids: Sequence[str] | None
) -> dict[str, Any]:
    """The create body's ``webhook_configurations`` and ``webhook_configuration_ids`` (only
    those given), checked before any request; errors name the webhook and the key, never a
    header value or the signing secret."""
    body: dict[str, Any] = {}
    if webhooks is not None:
        if isinstance(webhooks, Mapping) or not isinstance(webhooks, Sequence):
            msg = "webhooks must be a list of webhook configurations (dicts)"
            raise TypeError(msg)
        body["webhook_configurations"] = [_checked(i, w) for i, w in enumerate(webhooks)]
    if configuration_ids is not None:
        ids = [configuration_ids] if isinstance(configuration_ids, str) else list(configuration_ids)
        if not all(isinstance(i, str) and i for i in ids):
            msg = "webhook_configuration_ids must be non-empty strings (saved webhook ids)"
            raise ValueError(msg)
        body["webhook_configuration_ids"] = ids
    return body


def _checked(i: int, hook: Webhook) -> dict[str, Any]:
    if not isinstance(hook, Mapping):
        msg = f"webhook {i} must be a dict with at least webhook_url, got {type(hook).__name__}"
        raise TypeError(msg)
    unknown = sorted(set(hook) - set(_KEYS))
    if unknown:
        msg = f"webhook {i} has unknown key(s) {unknown}; the API takes {list(_KEYS)}"
        raise ValueError(msg)
    url = hook.get("webhook_url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        msg = f"webhook {i} needs webhook_url, an http(s) URL"
        raise ValueError(msg)
    events = hook.get("webhook_events")
    if events is not None and (
        isinstance(events, str) or not all(isinstance(e, str) for e in events)
    ):
        msg = f"webhook {i}: webhook_events is a list of event names, e.g. ['classify.success']"
        raise ValueError(msg)
    headers = hook.get("webhook_headers")
    if headers is not None and not (
        isinstance(headers, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        msg = f"webhook {i}: webhook_headers maps header names to string values"
        raise ValueError(msg)
    for key in ("webhook_output_format", "webhook_signing_secret"):
        if hook.get(key) is not None and not isinstance(hook[key], str):
            msg = f"webhook {i}: {key} must be a string"
            raise ValueError(msg)
    out = {k: hook[k] for k in _KEYS if hook.get(k) is not None}
    if "webhook_events" in out:
        out["webhook_events"] = list(out["webhook_events"])
    if "webhook_headers" in out:
        out["webhook_headers"] = dict(out["webhook_headers"])
    return out
