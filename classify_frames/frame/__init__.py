"""The column contract: job JSON -> Arrow -> a typed pandas frame, and back.

``jobs_to_frame`` builds the frame every other part of classify_frames reads; the names below
(columns, statuses, the rule-set dtype) are the contract those parts share.
"""

from __future__ import annotations

from ._build import (
    JobsInput,
    build_frame,
    empty_frame,
    encode_table,
    frame_from_table,
    jobs_to_frame,
)
from ._interop import to_arrow, to_polars
from ._rule_sets import RuleSetArray, RuleSetDtype, rules_table
from ._schema import (
    FINAL_STATUSES,
    JOB_TYPE,
    KNOWN_COLUMNS,
    NESTED_GROUPS,
    REPEATED_COLUMNS,
    RULE_TYPE,
    STATUSES,
    TAIL_COLUMNS,
    TIMESTAMP_COLUMNS,
    status_dtype,
)

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
    "JobsInput",
    "RuleSetArray",
    "RuleSetDtype",
    "build_frame",
    "empty_frame",
    "encode_table",
    "frame_from_table",
    "jobs_to_frame",
    "rules_table",
    "status_dtype",
    "to_arrow",
    "to_polars",
]
