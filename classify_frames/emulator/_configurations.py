"""LlamaCloud's configurations API, as far as Classify uses it: saved rule sets by name.

Routes (what the official SDK's ``client.configurations`` calls)::

    GET    /api/v1/beta/configurations        list (product_type, name, latest_only, page_size,
                                              page_token)
    POST   /api/v1/beta/configurations        upsert by name: {name, parameters{product_type,...}}
    GET    /api/v1/beta/configurations/{id}   one configuration
    PUT    /api/v1/beta/configurations/{id}   update: {name?, parameters?} (omitted: unchanged)
    DELETE /api/v1/beta/configurations/{id}   delete (204, no body)

A configuration is ``{id, name, product_type, parameters{product_type, rules, mode,
parsing_configuration}, version, created_at, updated_at}``; ``version`` is a date-time string,
as the service writes it. The dataset's rule sets are served as ``classify_v2``
configurations, under the ids their jobs carry. A POST with a known name and other parameters
updates that configuration in place (a new version under the same id), as the service does.
Each saved version of a name is its own configuration (the dataset's ``finance-intake`` v1 and
v2); ``latest_only=true`` lists only the newest version of each name. A deleted configuration
is gone for new jobs (404); jobs already made with it keep their rules.
"""

from __future__ import annotations

import time
from typing import Any

from ._data import CONFIGURATION, Dataset, format_time
from ._ids import make_id, mix

__all__ = ["ConfigurationRegistry"]

_PRODUCT = "classify_v2"
_PRODUCTS = ("classify_v2", "extract_v2", "parse_v2", "split_v1", "spreadsheet_v1", "unknown")
_FIRST_VERSION = "2026-01-05T00:00:00.000Z"
_SECOND_VERSION = "2026-05-01T00:00:00.000Z"
_Answer = tuple[int, Any]
_BOOLEANS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


class ConfigurationRegistry:
    """The configurations of one emulator: the dataset's rule sets, then those clients saved.

    ``saved`` is the job store's ``{configuration_id: {...}}`` map, shared so that a job created
    with a new ``configuration_id`` finds its rules.
    """

    def __init__(self, dataset: Dataset, saved: dict[str, dict[str, Any]]) -> None:
        self._saved = saved
        self._key = mix(dataset.seed + 0xC0F16) >> 2
        self._made = 0
        self._items: dict[str, dict[str, Any]] = {}
        for config in dataset.configurations:
            version = _FIRST_VERSION if config["version"] == 1 else _SECOND_VERSION
            self._items[config["id"]] = _render(
                config["id"], config["name"], config["configuration"], version
            )

    def answer(
        self, method: str, config_id: str, pairs: list[tuple[str, str]], body: Any
    ) -> _Answer:
        """(status, JSON) for a request to the configurations routes."""
        if config_id:
            found = self._items.get(config_id)
            if found is None:
                return 404, {"detail": f"Configuration {config_id} not found"}
            if method == "GET":
                return 200, found
            if method == "PUT":
                return self._update(found, body)
            if method == "DELETE":
                del self._items[config_id]
                self._saved.pop(config_id, None)
                return 204, None
            return 405, {"detail": "Method Not Allowed"}
        if method == "GET":
            return self._list(pairs)
        if method == "POST":
            return self._upsert(body)
        return 405, {"detail": "Method Not Allowed"}

    def _list(self, pairs: list[tuple[str, str]]) -> _Answer:
        products = [v for k, v in pairs if k == "product_type"]
        unknown = [p for p in products if p not in _PRODUCTS]
        if unknown:
            return 422, {
                "detail": [
                    _error(
                        ["query", "product_type"],
                        "Input should be one of " + ", ".join(_PRODUCTS),
                        unknown[0],
                    )
                ]
            }
        single = dict(pairs)
        try:
            size = int(single.get("page_size") or 50)
            offset = int(single.get("page_token") or 0)
        except ValueError:
            return 422, {
                "detail": [_error(["query"], "page_size and page_token are numbers", None)]
            }
        latest = single.get("latest_only", "false").lower()
        if latest not in _BOOLEANS:
            msg = "Input should be a valid boolean, unable to interpret input"
            return 422, {"detail": [_error(["query", "latest_only"], msg, latest)]}
        items = [
            c
            for c in self._items.values()
            if (not products or c["product_type"] in products)
            and (not single.get("name") or c["name"] == single["name"])
        ]
        if _BOOLEANS[latest]:
            newest: dict[str, dict[str, Any]] = {}
            for c in items:
                if c["name"] not in newest or c["version"] > newest[c["name"]]["version"]:
                    newest[c["name"]] = c
            items = [c for c in items if newest[c["name"]] is c]
        page = items[offset : offset + max(1, size)]
        more = offset + len(page) < len(items)
        return 200, {"items": page, "next_page_token": str(offset + len(page)) if more else None}

    def _upsert(self, body: Any) -> _Answer:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            return 422, {"detail": [_error(["body", "name"], "Field required", body)]}
        configuration = _parameters(body.get("parameters"))
        if isinstance(configuration, tuple):
            return configuration
        name = body["name"]
        now = format_time(int(time.time() * 1000))
        existing = next((c for c in self._items.values() if c["name"] == name), None)
        if existing is not None:
            if _configuration(existing) == configuration:
                return 200, existing
            config_id, created = existing["id"], existing["created_at"]
        else:
            config_id, created = CONFIGURATION + make_id(self._made, self._key), now
            self._made += 1
        item = _render(config_id, name, configuration, now, created)
        self._items[config_id] = item
        self._saved[config_id] = {"id": config_id, "name": name, "configuration": configuration}
        return 200, item

    def _update(self, item: dict[str, Any], body: Any) -> _Answer:
        if not isinstance(body, dict):
            msg = "Input should be a valid dictionary or object to extract fields from"
            return 422, {"detail": [_error(["body"], msg, body)]}
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            msg = "Input should be a valid string"
            return 422, {"detail": [_error(["body", "name"], msg, name)]}
        configuration = _configuration(item)
        if body.get("parameters") is not None:
            parsed = _parameters(body["parameters"])
            if isinstance(parsed, tuple):
                return parsed
            configuration = parsed
        now = format_time(int(time.time() * 1000))
        name = name or item["name"]
        updated = _render(item["id"], name, configuration, now, item["created_at"])
        self._items[item["id"]] = updated
        self._saved[item["id"]] = {"id": item["id"], "name": name, "configuration": configuration}
        return 200, updated


def _parameters(parameters: Any) -> dict[str, Any] | _Answer:
    """The classify configuration of a body's ``parameters``, or the 422 answer."""
    if not isinstance(parameters, dict) or parameters.get("product_type") != _PRODUCT:
        msg = "the emulator saves classify_v2 configurations only"
        return 422, {"detail": [_error(["body", "parameters"], msg, parameters)]}
    rules = parameters.get("rules")
    if not isinstance(rules, list) or not rules:
        msg = "List should have at least 1 item after validation, not 0"
        return 422, {"detail": [_error(["body", "parameters", "rules"], msg, rules)]}
    if not all(isinstance(r, dict) and {"description", "type"} <= r.keys() for r in rules):
        msg = "every rule needs a description and a type"
        return 422, {"detail": [_error(["body", "parameters", "rules"], msg, rules)]}
    return {
        "rules": [{"description": r["description"], "type": r["type"]} for r in rules],
        "mode": parameters.get("mode") or "FAST",
        "parsing_configuration": parameters.get("parsing_configuration")
        or {"lang": "en", "max_pages": None, "target_pages": None},
    }


def _configuration(item: dict[str, Any]) -> dict[str, Any]:
    params = item["parameters"]
    return {k: params[k] for k in ("rules", "mode", "parsing_configuration")}


def _render(
    config_id: str,
    name: str,
    configuration: dict[str, Any],
    version: str,
    created: str | None = None,
) -> dict[str, Any]:
    return {
        "id": config_id,
        "name": name,
        "product_type": _PRODUCT,
        "parameters": {"product_type": _PRODUCT, **configuration},
        "version": version,
        "created_at": created or version,
        "updated_at": version,
    }


def _error(loc: list[Any], msg: str, value: Any) -> dict[str, Any]:
    return {"type": "value_error", "loc": loc, "msg": msg, "input": value}
