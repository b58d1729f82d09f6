"""Parsing and validating requests the way the real (FastAPI) service does.

Errors are FastAPI's 422 items: ``{"type", "loc", "msg", "input"}`` (plus ``ctx`` where FastAPI
adds one), collected so that one answer lists every problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from ._data import PARSE_JOB, STATUSES

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "CreateRequest",
    "ListQuery",
    "parse_create",
    "parse_list_query",
]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
_Error = dict[str, Any]


@dataclass(frozen=True)
class ListQuery:
    """The filters and paging of ``GET /api/v2/classify``."""

    status: str | None = None
    configuration_id: str | None = None
    job_ids: tuple[str, ...] | None = None
    after_ms: int | None = None
    before_ms: int | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    page_token: str | None = None

    def filter_key(self) -> tuple[object, ...]:
        """Everything that selects jobs (not paging): a page token is only valid for it."""
        return (self.status, self.configuration_id, self.job_ids, self.after_ms, self.before_ms)


@dataclass(frozen=True)
class CreateRequest:
    """A validated ``POST /api/v2/classify`` body."""

    input_type: str
    input_value: str
    configuration: dict[str, Any] | None
    configuration_id: str | None
    transaction_id: str | None
    body: dict[str, Any] = field(repr=False)


def _error(kind: str, loc: list[Any], msg: str, value: Any, **ctx: Any) -> _Error:
    item: _Error = {"type": kind, "loc": loc, "msg": msg, "input": value}
    if ctx:
        item["ctx"] = ctx
    return item


def parse_list_query(
    pairs: list[tuple[str, str]], statuses: tuple[str, ...] = STATUSES
) -> tuple[ListQuery, list[_Error]]:
    """The list query of repeated ``(name, value)`` pairs, and its 422 errors; ``statuses``
    are those the server's era knows (the seed's has no CANCELLED)."""
    errors: list[_Error] = []
    single: dict[str, str] = {}
    job_ids: list[str] = []
    for name, value in pairs:
        if name == "job_ids":
            job_ids.append(value)
        else:
            single[name] = value  # FastAPI keeps the last of repeated scalar parameters
    status = single.get("status")
    if status is not None and status not in statuses:
        allowed = ", ".join(f"'{s}'" for s in statuses[:-1]) + f" or '{statuses[-1]}'"
        errors.append(
            _error(
                "enum", ["query", "status"], f"Input should be {allowed}", status, expected=allowed
            )
        )
    page_size = DEFAULT_PAGE_SIZE
    if "page_size" in single:
        raw = single["page_size"]
        try:
            page_size = int(raw)
        except ValueError:
            errors.append(
                _error(
                    "int_parsing",
                    ["query", "page_size"],
                    "Input should be a valid integer, unable to parse string as an integer",
                    raw,
                )
            )
        else:
            if page_size < 1:
                errors.append(
                    _error(
                        "greater_than_equal",
                        ["query", "page_size"],
                        "Input should be greater than or equal to 1",
                        raw,
                        ge=1,
                    )
                )
            elif page_size > MAX_PAGE_SIZE:
                errors.append(
                    _error(
                        "less_than_equal",
                        ["query", "page_size"],
                        f"Input should be less than or equal to {MAX_PAGE_SIZE}",
                        raw,
                        le=MAX_PAGE_SIZE,
                    )
                )
    bounds = {}
    for name in ("created_at_on_or_after", "created_at_on_or_before"):
        if name in single:
            ms = parse_time(single[name])
            if ms is None:
                errors.append(
                    _error(
                        "datetime_from_date_parsing",
                        ["query", name],
                        "Input should be a valid datetime or date, invalid character",
                        single[name],
                        error="invalid character",
                    )
                )
            bounds[name] = ms
    query = ListQuery(
        status=status,
        configuration_id=single.get("configuration_id"),
        job_ids=tuple(job_ids) if job_ids else None,
        after_ms=bounds.get("created_at_on_or_after"),
        before_ms=bounds.get("created_at_on_or_before"),
        page_size=page_size,
        page_token=single.get("page_token") or None,
    )
    return query, errors


def parse_time(text: str) -> int | None:
    """ISO 8601 date or date-time (``Z``, offsets, naive = UTC) as epoch ms, or None."""
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


def parse_create(raw: bytes) -> tuple[CreateRequest | None, list[_Error]]:
    """The validated create body, or None and its 422 errors."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, [
            _error("json_invalid", ["body", exc.pos], "JSON decode error", {}, error=exc.msg)
        ]
    if not isinstance(body, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return None, [_error("model_attributes_type", ["body"], msg, body)]
    errors: list[_Error] = []
    strings = ("file_input", "file_id", "parse_job_id", "configuration_id", "transaction_id")
    for name in strings:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(
                _error("string_type", ["body", name], "Input should be a valid string", value)
            )
    given = [n for n in ("file_input", "file_id", "parse_job_id") if isinstance(body.get(n), str)]
    if not given:
        errors.append(
            _error(
                "value_error",
                ["body"],
                "Value error, one of file_input, file_id or parse_job_id is required",
                body,
                error={},
            )
        )
    errors.extend(_webhook_errors(body))
    configuration = body.get("configuration")
    if configuration is None and not isinstance(body.get("configuration_id"), str):
        errors.append(
            _error(
                "value_error",
                ["body"],
                "Value error, either configuration or configuration_id is required",
                body,
                error={},
            )
        )
    if configuration is not None:
        errors.extend(_configuration_errors(configuration))
    if errors:
        return None, errors
    name = given[0]
    value = body[name]
    if name == "parse_job_id" or (name == "file_input" and value.startswith(PARSE_JOB)):
        input_type = "parse_job_id"
    elif name == "file_input" and value.startswith(("http://", "https://")):
        input_type = "url"  # not documented for creation: the SDK names file and parse job ids
    else:
        input_type = "file_id"
    request = CreateRequest(
        input_type=input_type,
        input_value=value,
        configuration=configuration,
        configuration_id=body.get("configuration_id"),
        transaction_id=body.get("transaction_id"),
        body=body,
    )
    return request, []


_WEBHOOK_STRINGS = ("webhook_url", "webhook_output_format", "webhook_signing_secret")


def _webhook_errors(body: dict[str, Any]) -> list[_Error]:
    """``webhook_configuration_ids`` (strings) and ``webhook_configurations`` (objects of the
    SDK's fields), as the SDK 2.19 sends them; the emulator delivers no webhook."""
    errors: list[_Error] = []
    ids = body.get("webhook_configuration_ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        msg = "Input should be a valid list of strings"
        errors.append(_error("list_type", ["body", "webhook_configuration_ids"], msg, ids))
    hooks = body.get("webhook_configurations")
    if hooks is None:
        return errors
    if not isinstance(hooks, list):
        msg = "Input should be a valid list"
        return [*errors, _error("list_type", ["body", "webhook_configurations"], msg, hooks)]
    for i, hook in enumerate(hooks):
        loc: list[Any] = ["body", "webhook_configurations", i]
        if not isinstance(hook, dict):
            msg = "Input should be a valid dictionary or object to extract fields from"
            errors.append(_error("model_attributes_type", loc, msg, hook))
            continue
        for name in _WEBHOOK_STRINGS:
            value = hook.get(name)
            if value is not None and not isinstance(value, str):
                msg = "Input should be a valid string"
                errors.append(_error("string_type", [*loc, name], msg, value))
        events = hook.get("webhook_events")
        if events is not None and not (
            isinstance(events, list) and all(isinstance(e, str) for e in events)
        ):
            msg = "Input should be a valid list of strings"
            errors.append(_error("list_type", [*loc, "webhook_events"], msg, events))
        headers = hook.get("webhook_headers")
        if headers is not None and not (
            isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
        ):
            msg = "Input should be a valid dictionary of strings"
            errors.append(_error("dict_type", [*loc, "webhook_headers"], msg, headers))
    return errors


def _configuration_errors(config: Any) -> list[_Error]:
    loc: list[Any] = ["body", "configuration"]
    if not isinstance(config, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return [_error("model_attributes_type", loc, msg, config)]
    errors: list[_Error] = []
    rules = config.get("rules")
    if "rules" not in config:
        errors.append(_error("missing", [*loc, "rules"], "Field required", config))
    elif not isinstance(rules, list):
        errors.append(_error("list_type", [*loc, "rules"], "Input should be a valid list", rules))
    elif not rules:
        errors.append(
            _error(
                "too_short",
                [*loc, "rules"],
                "List should have at least 1 item after validation, not 0",
                rules,
                field_type="List",
                min_length=1,
                actual_length=0,
            )
        )
    else:
        for i, rule in enumerate(rules):
            errors.extend(_rule_errors(rule, [*loc, "rules", i]))
    mode = config.get("mode")
    if mode is not None and mode != "FAST":
        errors.append(
            _error(
                "literal_error", [*loc, "mode"], "Input should be 'FAST'", mode, expected="'FAST'"
            )
        )
    parsing = config.get("parsing_configuration")
    if parsing is not None:
        errors.extend(_parsing_errors(parsing, [*loc, "parsing_configuration"]))
    return errors


def _rule_errors(rule: Any, loc: list[Any]) -> list[_Error]:
    if not isinstance(rule, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return [_error("model_attributes_type", loc, msg, rule)]
    errors = []
    for name, low, high in (("description", 10, 500), ("type", 1, 50)):
        value = rule.get(name)
        if name not in rule:
            errors.append(_error("missing", [*loc, name], "Field required", rule))
        elif not isinstance(value, str):
            errors.append(
                _error("string_type", [*loc, name], "Input should be a valid string", value)
            )
        elif len(value) < low:
            s = "" if low == 1 else "s"
            errors.append(
                _error(
                    "string_too_short",
                    [*loc, name],
                    f"String should have at least {low} character{s}",
                    value,
                    min_length=low,
                )
            )
        elif len(value) > high:
            errors.append(
                _error(
                    "string_too_long",
                    [*loc, name],
                    f"String should have at most {high} characters",
                    value,
                    max_length=high,
                )
            )
    return errors


def _parsing_errors(parsing: Any, loc: list[Any]) -> list[_Error]:
    if not isinstance(parsing, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return [_error("model_attributes_type", loc, msg, parsing)]
    errors = []
    max_pages = parsing.get("max_pages")
    if max_pages is not None:
        if not isinstance(max_pages, int) or isinstance(max_pages, bool):
            errors.append(
                _error(
                    "int_type", [*loc, "max_pages"], "Input should be a valid integer", max_pages
                )
            )
        elif max_pages < 1:
            errors.append(
                _error(
                    "greater_than_equal",
                    [*loc, "max_pages"],
                    "Input should be greater than or equal to 1",
                    max_pages,
                    ge=1,
                )
            )
    for name in ("lang", "target_pages"):
        value = parsing.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(
                _error("string_type", [*loc, name], "Input should be a valid string", value)
            )
    return errors
