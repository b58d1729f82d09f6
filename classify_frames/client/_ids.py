"""Job ids: checked before any request, and grouped into batches for the list endpoint."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote

__all__ = ["BATCH", "batches", "query_string", "quote_id", "unique_ids"]

BATCH = 100  # the list endpoint's largest page
_QUERY_BUDGET = 6_000  # characters of job_ids per request, well under common URL limits
_MAX_ID_LENGTH = 512
_FORBIDDEN_IN_ID = re.compile(r"[\s/\\?#%]")
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")  # what quote(safe="") leaves as it is


def unique_ids(job_ids: Iterable[str]) -> list[str]:
    """The ids once each, in first-seen order; a ValueError names any that cannot be an id."""
    if isinstance(job_ids, str | bytes):
        msg = "job_ids must be a list of ids, not one string (wrap it: [job_id])"
        raise TypeError(msg)
    ids = list(dict.fromkeys(job_ids))
    bad = [i for i in ids if not _valid_id(i)]
    if bad:
        shown = ", ".join(repr(i)[:60] for i in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        msg = (
            f"invalid job id(s): {shown}{more}. Ids must be non-empty strings of at most "
            f"{_MAX_ID_LENGTH} characters, without whitespace or any of / \\ ? # %"
        )
        raise ValueError(msg)
    return ids


def _valid_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_ID_LENGTH
        and value not in (".", "..")
        and value.isprintable()
        and _FORBIDDEN_IN_ID.search(value) is None
    )


def quote_id(job_id: str) -> str:
    """The id (or any text) as one URL path segment or query value.

    >>> quote_id("cls-0001"), quote_id("a b/c")
    ('cls-0001', 'a%20b%2Fc')
    """
    # Most ids need no quoting, and checking that is ten times cheaper than quote() itself.
    return job_id if _UNRESERVED.fullmatch(job_id) else quote(job_id, safe="")


def query_string(pairs: Iterable[tuple[str, str]]) -> str:
    """``urlencode(pairs, quote_via=quote, safe="")``, with :func:`quote_id`'s shortcut."""
    return "&".join(f"{quote_id(k)}={quote_id(v)}" for k, v in pairs)


def batches(ids: Sequence[str]) -> list[list[str]]:
    """Ids in groups of at most 100 whose ``job_ids=`` query stays within the URL budget."""
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for job_id in ids:
        cost = len(quote_id(job_id)) + len("&job_ids=")
        if current and (len(current) == BATCH or size + cost > _QUERY_BUDGET):
            groups.append(current)
            current, size = [], 0
        current.append(job_id)
        size += cost
    if current:
        groups.append(current)
    return groups
