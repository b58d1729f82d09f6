"""The calls the audit's advice names, as data (:class:`~classify_frames._exceptions.Call`):
a sentence reads them in Python, and the command line names its own options instead."""

from __future__ import annotations

from .._exceptions import Call, Opt, Parts

__all__ = ["FLAT_JOBS", "LABELS", "QUEUE", "STRATIFIED", "plan"]

#: Draw a stratified random queue of 400 labels.
QUEUE = Call("report.review_queue", Opt("budget", 400), Opt("strategy", "stratified"))
#: Draw a stratified random queue, of any size.
STRATIFIED = Call("report.review_queue", Opt("strategy", "stratified"))
#: Audit again, with the labels.
LABELS = Call("audit", "df", Opt("labels", ...))


def plan(target_accuracy: float) -> Call:
    """Ask how many labels would certify ``target_accuracy``."""
    return Call("report.plan_labels", Opt("target_accuracy", target_accuracy))


#: What to pass instead of a frame the audit cannot read.
FLAT_JOBS: Parts = [
    "the audit needs the flat jobs that ", Call("fetch_jobs"), ", ", Call("list_jobs"), " and ",
    Call("export_jobs"), " write (not ", Opt("nested", True), ")",
]  # fmt: skip
