"""Rule sets: checked before any request, fingerprinted, read from JSON.

The service's constraints (``CLASSIFY_API.md``): at least one rule, ``type`` 1 to 50
characters, ``description`` 10 to 500 characters; a server's 422 is still reported naming the
rule (:func:`rule_from_422`). The fingerprint is the audit's (``report.by_configuration``'s
``rule_set``), so an experiment's jobs and an audit name the same rule set the same way.

>>> rules = check_rules([{"type": "invoice", "description": "A bill asking for payment."}])
>>> fingerprint(rules)
'50397b5eb7'
>>> check_rules([{"type": "invoice", "description": "a bill"}])
Traceback (most recent call last):
...
ValueError: rule 0 ('invoice'): description has 6 characters; it needs 10 to 500
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "DESCRIPTION_LENGTH",
    "TYPE_LENGTH",
    "Rule",
    "RulesInput",
    "check_rules",
    "fingerprint",
    "read_rules",
    "rule_from_422",
]

Rule = dict[str, str]
#: A list of ``{"type", "description"}`` dicts, ``(type, description)`` pairs, or a mapping
#: ``{type: description}``.
RulesInput = Iterable[Mapping[str, str] | tuple[str, str]] | Mapping[str, str]

TYPE_LENGTH = (1, 50)
DESCRIPTION_LENGTH = (10, 500)
_LOC = re.compile(r"'rules',\s*(\d+)(?:,\s*'(\w+)')?")


def check_rules(rules: RulesInput) -> list[Rule]:
    """The rules as ``[{"type", "description"}]``, or a ``ValueError`` naming the bad rule."""
    if isinstance(rules, str | bytes):
        msg = "rules must be a list of {'type', 'description'} rules, not a string"
        raise TypeError(msg)
    items: list[Any] = list(rules.items()) if isinstance(rules, Mapping) else list(rules)
    if not items:
        msg = "a rule set needs at least one rule"
        raise ValueError(msg)
    out: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            kind, description = item.get("type"), item.get("description")
        elif isinstance(item, tuple | list) and len(item) == 2:
            kind, description = item
        else:
            msg = f"rule {i}: expected {{'type': ..., 'description': ...}}, got {item!r}"
            raise ValueError(msg)
        name = f"rule {i} ({kind!r})" if isinstance(kind, str) else f"rule {i}"
        for field, value, (low, high) in (
            ("type", kind, TYPE_LENGTH),
            ("description", description, DESCRIPTION_LENGTH),
        ):
            if not isinstance(value, str):
                msg = f"{name}: {field} must be a string, got {type(value).__name__}"
                raise TypeError(msg)
            if not low <= len(value) <= high:
                msg = f"{name}: {field} has {len(value)} characters; it needs {low} to {high}"
                raise ValueError(msg)
        if kind in seen:
            msg = f"{name}: type {kind!r} is given twice; each type needs one rule"
            raise ValueError(msg)
        out.append({"type": str(kind), "description": str(description)})
        seen.add(str(kind))
    return out


def fingerprint(rules: Iterable[Mapping[str, str]]) -> str:
    """The rule set's name in the audit: 10 hex digits of the SHA-256 of its sorted rules."""
    pairs = sorted((str(r.get("type") or ""), str(r.get("description") or "")) for r in rules)
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:10]


def read_rules(path: str | os.PathLike[str]) -> list[Rule]:
    """Rules from a JSON file: a list of rules, ``{"rules": [...]}`` or ``{type: description}``."""
    file = Path(path)
    try:  # utf-8-sig: Notepad and Excel start a UTF-8 file with a byte-order mark
        data = json.loads(file.read_text(encoding="utf-8-sig"), object_pairs_hook=_unique_keys)
    except FileNotFoundError:
        msg = f"no such rules file: {str(file)!r}"
        raise FileNotFoundError(msg) from None
    except (OSError, ValueError) as exc:
        msg = f"cannot read rules from {str(file)!r}: {exc}"
        raise ValueError(msg) from None
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        data = data["rules"]
    if not isinstance(data, list | dict):
        msg = f"{str(file)!r} holds no rules: expected a list of {{'type', 'description'}}"
        raise TypeError(msg)
    return check_rules(data)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when a key repeats (``json`` would keep the last silently)."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            msg = (
                f"{key!r} is given twice in one object (JSON keeps only the last); "
                "give each type one rule, and each rule one type and one description"
            )
            raise ValueError(msg)
        seen[key] = value
    return seen


def rule_from_422(error: str, rules: list[Rule] | None) -> str:
    """A server's 422 on create, in words naming the rule it refused (when it says which)."""
    found = _LOC.search(error)
    if found is None or not rules:
        return error
    index = int(found[1])
    rule = rules[index] if index < len(rules) else None
    what = f" {found[2]}" if found[2] else ""
    named = f"rule {index} ({rule['type']!r})" if rule else f"rule {index}"
    length = f" ({len(rule[found[2]])} characters)" if rule and found[2] in rule else ""
    return f"the server refused {named}:{what}{length}: {error}"
