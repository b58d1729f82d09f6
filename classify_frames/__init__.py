"""classify_frames: LlamaCloud Classify jobs as typed pandas DataFrames.

Fetch many jobs at once, explore them in Jupyter, export them to Parquet and audit how far the
classifier's confidence can be trusted::

    import classify_frames as cf

    with cf.Emulator(jobs=10_000, seed=0) as emu:  # or your account: no base_url/api_key
        df = cf.list_jobs(base_url=emu.base_url, api_key=emu.api_key)
    report = cf.audit(df)

Heavy parts (the emulator's server, widgets, plots) are imported only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _accessor as _accessor  # registers the df.classify accessor
from ._exceptions import (
    APIError,
    AuthenticationError,
    ClassifyFramesError,
    ClassifyFramesWarning,
    ClientClosedError,
    ConfigurationError,
    ExportError,
    FetchError,
    RateLimitError,
)
from ._lazy import lazy_names
from ._version import VERSION
from .client import Settings
from .frame import empty_frame, jobs_to_frame

__version__ = VERSION  # from the package's metadata: pyproject.toml is the one place

if TYPE_CHECKING:
    from .auditing import AuditReport, Comparison, audit, compare
    from .client import ClassifyClient, afetch_jobs, alist_jobs, fetch_jobs, list_jobs
    from .emulator import Emulator
    from .experiments import (
        ReclassifyPlan,
        cancel_jobs,
        configurations,
        delete_jobs,
        reclassify,
        save_configuration,
        with_configuration_names,
    )
    from .explorer import JobExplorer, explore
    from .parquet import export_jobs, read_parquet, sync_parquet, to_parquet


__all__ = [
    "APIError",
    "AuditReport",
    "AuthenticationError",
    "ClassifyClient",
    "ClassifyFramesError",
    "ClassifyFramesWarning",
    "ClientClosedError",
    "Comparison",
    "ConfigurationError",
    "Emulator",
    "ExportError",
    "FetchError",
    "JobExplorer",
    "RateLimitError",
    "ReclassifyPlan",
    "Settings",
    "__version__",
    "afetch_jobs",
    "alist_jobs",
    "audit",
    "cancel_jobs",
    "compare",
    "configurations",
    "delete_jobs",
    "empty_frame",
    "explore",
    "export_jobs",
    "fetch_jobs",
    "jobs_to_frame",
    "list_jobs",
    "read_parquet",
    "reclassify",
    "save_configuration",
    "sync_parquet",
    "to_parquet",
    "with_configuration_names",
]

_LAZY = {
    "AuditReport": "auditing",
    "audit": "auditing",
    "Emulator": "emulator",
    "Comparison": "auditing",
    "ReclassifyPlan": "experiments",
    "cancel_jobs": "experiments",
    "compare": "auditing",
    "configurations": "experiments",
    "delete_jobs": "experiments",
    "reclassify": "experiments",
    "save_configuration": "experiments",
    "with_configuration_names": "experiments",
    "JobExplorer": "explorer",
    "explore": "explorer",
    "ClassifyClient": "client",
    "afetch_jobs": "client",
    "alist_jobs": "client",
    "fetch_jobs": "client",
    "list_jobs": "client",
    "export_jobs": "parquet",
    "read_parquet": "parquet",
    "sync_parquet": "parquet",
    "to_parquet": "parquet",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
