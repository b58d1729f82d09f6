"""The jobs an experiment creates: their request bodies, and why one has no job.

Every body carries a ``transaction_id``, so a retried request, a re-run cell or a process
killed mid-way never makes a job twice: the service answers a known ``transaction_id`` with
the job it made the first time. The client sends them (:meth:`ClassifyClient.create_jobs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..client import CREATE_RATE, Creation
from ._rules import Rule, rule_from_422

__all__ = ["DEFAULT_CREATE_RATE", "InputStyle", "JobRequest", "creation_error"]

#: Creations per second: the documented limit of ``POST /api/v2/classify``.
DEFAULT_CREATE_RATE = CREATE_RATE
#: ``"file_input"`` (current servers) or ``"legacy"`` (``file_id`` / ``parse_job_id`` bodies).
InputStyle = Literal["file_input", "legacy"]


@dataclass(frozen=True)
class JobRequest:
    """One job to create: its input, its rules (or saved configuration) and transaction id."""

    input_type: str  # url, file_id or parse_job_id
    input_value: str
    transaction_id: str
    configuration: dict[str, Any] | None = None
    configuration_id: str | None = None

    def body(self, style: InputStyle) -> dict[str, Any]:
        """The JSON body of ``POST /api/v2/classify``: the input as ``file_input`` (SDK 2.19:
        "File ID or parse job ID"; ``file_id`` and ``parse_job_id`` are deprecated), or under
        those older names for ``style="legacy"``."""
        if style == "legacy" and self.input_type in ("file_id", "parse_job_id"):
            field = self.input_type
        else:
            field = "file_input"
        body: dict[str, Any] = {field: self.input_value, "transaction_id": self.transaction_id}
        if self.configuration is not None:
            body["configuration"] = self.configuration
        if self.configuration_id is not None:
            body["configuration_id"] = self.configuration_id
        return body


def creation_error(creation: Creation, rules: list[Rule] | None) -> str:
    """Why there is no job, in words: not created (a 422 names the rule the server refused),
    or not known, with the way to find out at no extra cost."""
    error = creation.error or "no answer"
    if creation.status == 422:
        error = rule_from_422(error, rules)
    if creation.outcome == "unknown":
        return (
            f"unknown whether created ({error}): the job may exist and be billed; run the "
            "same call again (same experiment and rules): it finds the job if it was made, "
            "and makes it if not, never twice"
        )
    return f"not created: {error}"
