"""Saved rule sets by name: LlamaCloud's configurations API (product type ``classify_v2``).

>>> cf.configurations(base_url=url, api_key=key)  # id, name, version, rules  # doctest: +SKIP
>>> df = cf.with_configuration_names(df, base_url=url, api_key=key)        # doctest: +SKIP

Where the service cannot tell a job's configuration (an older server answering 404, jobs made
with inline rules matching no saved configuration), the rule set's fingerprint stands in for its
name, quietly: ``rules 50397b5eb7``, the same name the audit's ``by_configuration`` uses.
"""

from __future__ import annotations

from typing import Any, Unpack

import pandas as pd

from ..auditing import rule_set_ids
from ..client import ClassifyClient, ClientOptions, borrow_or_make
from ._rules import RulesInput, check_rules, fingerprint

__all__ = ["configurations", "save_configuration", "with_configuration_names"]

_STRING = pd.StringDtype("pyarrow")
_COLUMNS = ["id", "name", "version", "rule_set", "rules", "created_at", "updated_at"]


def _rules_of(item: dict[str, Any]) -> list[dict[str, str]]:
    rules = (item.get("parameters") or {}).get("rules") or []
    return [r for r in rules if isinstance(r, dict)]


def _frame(items: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        {
            "id": i.get("id"),
            "name": i.get("name"),
            "version": None if i.get("version") is None else str(i.get("version")),
            "rule_set": fingerprint(_rules_of(i)),
            "rules": len(_rules_of(i)),
            "created_at": i.get("created_at"),
            "updated_at": i.get("updated_at"),
        }
        for i in items
    ]
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    for name in ("id", "name", "version", "rule_set"):
        frame[name] = frame[name].astype(_STRING)
    frame["rules"] = frame["rules"].astype("int64")
    for name in ("created_at", "updated_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True, errors="coerce")
    return frame


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def configurations(
    *, client: ClassifyClient | None = None, **client_options: Unpack[ClientOptions]
) -> pd.DataFrame:
    """The project's saved Classify configurations: ``id``, ``name``, ``version``,
    ``rule_set`` (the rules' fingerprint), ``rules`` (how many), ``created_at``,
    ``updated_at``. Empty on a server without the configurations API."""
    with borrow_or_make(client, client_options) as active:
        items = active.configurations()
    return _frame(items or [])


def save_configuration(
    name: str,
    rules: RulesInput,
    *,
    parsing_configuration: dict[str, Any] | None = None,
    client: ClassifyClient | None = None,
    **client_options: Unpack[ClientOptions],
) -> dict[str, Any]:
    """Save ``rules`` under ``name`` (the service upserts by name: saving the same rules again
    changes nothing); returns ``{id, name, version, rule_set}``. Rules are checked first."""
    if not isinstance(name, str) or not name.strip():
        msg = f"a configuration needs a non-empty name, got {name!r}"
        raise ValueError(msg)
    checked = check_rules(rules)
    parameters: dict[str, Any] = {"rules": checked, "mode": "FAST"}
    if parsing_configuration:
        parameters["parsing_configuration"] = dict(parsing_configuration)
    with borrow_or_make(client, client_options) as active:
        data = active.save_configuration(name, parameters)
    return {
        "id": data.get("id"),
        "name": data.get("name"),
        "version": data.get("version"),
        "rule_set": fingerprint(checked),
    }


def with_configuration_names(
    df: pd.DataFrame,
    *,
    saved: pd.DataFrame | None = None,
    client: ClassifyClient | None = None,
    **client_options: Unpack[ClientOptions],
) -> pd.DataFrame:
    """A copy of ``df`` with ``configuration.name`` and ``configuration.version`` after
    ``configuration_id``.

    A job is named by its ``configuration_id`` when the service knows it (the version only
    when the job's rules are still that configuration's), else by a saved configuration with
    the same rules, else ``rules <fingerprint>`` with no version. ``saved`` is a
    :func:`configurations` frame already fetched (then nothing is sent).
    """
    if saved is None:
        saved = configurations(client=client, **client_options)
    n = len(df)
    ids = df["configuration_id"] if "configuration_id" in df.columns else pd.Series([None] * n)
    rules = df["configuration.rules"] if "configuration.rules" in df.columns else None
    found_prints = rule_set_ids(rules)[0].tolist() if rules is not None else [None] * n
    prints = [p if isinstance(p, str) else None for p in found_prints]
    records: list[dict[Any, Any]] = saved.to_dict("records")
    by_id = {r["id"]: r for r in records}
    by_rules = {r["rule_set"]: r for r in records}
    names: list[str | None] = []
    versions: list[str | None] = []
    for config_id, rule_set in zip(ids.tolist(), prints, strict=True):
        found = by_id.get(config_id) if isinstance(config_id, str) else None
        if found is None and rule_set is not None:
            found = by_rules.get(rule_set)
        if found is not None:
            names.append(_text(found["name"]))
            same = rule_set is None or found["rule_set"] == rule_set
            versions.append(_text(found["version"]) if same else None)
        else:
            names.append(f"rules {rule_set}" if rule_set is not None else None)
            versions.append(None)
    out = df.copy()
    where = list(out.columns).index("configuration_id") + 1 if "configuration_id" in out else 0
    for column in ("configuration.name", "configuration.version"):
        if column in out.columns:
            del out[column]
    out.insert(where, "configuration.version", pd.Series(versions, index=out.index, dtype=_STRING))
    out.insert(where, "configuration.name", pd.Series(names, index=out.index, dtype=_STRING))
    return out
