"""The column contract: names, order and dtypes of every frame classify_frames returns.

One row per job. ``file_input`` holds the job's input (a URL, a file id or a parse job id), as
the service names it today; an older server's ``document_input_value`` is read into it.
Known columns always come first, in this order and with these dtypes, whatever
subset of jobs came back (an empty frame too); unknown fields a server sends follow them
(nested ones flattened with dots); ``fetch_error`` and ``http_status`` close every frame.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ._rule_sets import RULE_TYPE, RuleSetDtype

__all__ = [
    "FINAL_STATUSES",
    "JOB_TYPE",
    "KNOWN_COLUMNS",
    "NESTED_GROUPS",
    "REPEATED_COLUMNS",
    "RULE_TYPE",
    "STATUSES",
    "TAIL_COLUMNS",
    "TIMESTAMP_COLUMNS",
    "status_dtype",
]

STATUSES: tuple[str, ...] = ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")
FINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})

_PARSING_TYPE = pa.struct(
    [("lang", pa.string()), ("max_pages", pa.int64()), ("target_pages", pa.string())]
)
_CONFIGURATION_TYPE = pa.struct(
    [
        ("mode", pa.string()),
        ("parsing_configuration", _PARSING_TYPE),
        ("rules", pa.list_(RULE_TYPE)),
    ]
)
_RESULT_TYPE = pa.struct(
    [("type", pa.string()), ("confidence", pa.float64()), ("reasoning", pa.string())]
)
_USAGE_TYPE = pa.struct([("credits", pa.float64()), ("parse_credits", pa.float64())])

#: Every field the toolkit knows, as the Arrow type a job object is parsed into.
JOB_TYPE = pa.struct(
    [
        ("id", pa.string()),
        ("status", pa.string()),
        ("project_id", pa.string()),
        ("user_id", pa.string()),
        ("configuration_id", pa.string()),
        ("document_input_type", pa.string()),
        ("document_input_value", pa.string()),
        ("file_input", pa.string()),
        ("parse_job_id", pa.string()),
        ("transaction_id", pa.string()),
        ("error_message", pa.string()),
        ("created_at", pa.string()),
        ("updated_at", pa.string()),
        ("configuration", _CONFIGURATION_TYPE),
        ("result", _RESULT_TYPE),
        ("usage", _USAGE_TYPE),
    ]
)

#: Top-level fields that are struct-valued (flattened with dots unless ``nested=True``).
NESTED_GROUPS = ("configuration", "result", "usage")

_STRING = pd.StringDtype("pyarrow")
_TIMESTAMP = pd.DatetimeTZDtype("us", "UTC")


def status_dtype(extra: tuple[str, ...] = ()) -> pd.CategoricalDtype:
    """The ``status`` dtype: every known status, then any unknown ones a server sent."""
    return pd.CategoricalDtype([*STATUSES, *extra])


#: Columns whose few values repeat over many jobs (ids of projects, users and configurations;
#: a configuration's settings): pandas categoricals of their strings, the categories sorted so
#: that they sort, compare and group like the strings.
REPEATED_COLUMNS = (
    "project_id",
    "user_id",
    "configuration_id",
    "document_input_type",
    "configuration.mode",
    "configuration.parsing_configuration.lang",
    "configuration.parsing_configuration.target_pages",
)

_REPEATED = pd.CategoricalDtype(
    pd.Index([], dtype=pd.StringDtype("pyarrow", na_value=float("nan")))
)

#: Known columns of the flat frame, in order, with their pandas dtypes (categoricals' categories
#: are the values present).
KNOWN_COLUMNS: dict[str, object] = {
    "id": _STRING,
    "status": status_dtype(),
    "project_id": _REPEATED,
    "user_id": _REPEATED,
    "configuration_id": _REPEATED,
    "document_input_type": _REPEATED,
    "file_input": _STRING,
    "parse_job_id": _STRING,
    "transaction_id": _STRING,
    "error_message": _STRING,
    "created_at": _TIMESTAMP,
    "updated_at": _TIMESTAMP,
    "configuration.mode": _REPEATED,
    "configuration.parsing_configuration.lang": _REPEATED,
    "configuration.parsing_configuration.max_pages": pd.Int64Dtype(),
    "configuration.parsing_configuration.target_pages": _REPEATED,
    "configuration.rules": RuleSetDtype(),
    "result.type": _STRING,
    "result.confidence": "float64",
    "result.reasoning": _STRING,
    "usage.credits": "float64",
    "usage.parse_credits": "float64",
}

#: Columns that close every frame: why a job could not be fetched, and the last HTTP status.
TAIL_COLUMNS: dict[str, object] = {"fetch_error": _STRING, "http_status": pd.Int64Dtype()}

TIMESTAMP_COLUMNS = ("created_at", "updated_at")
