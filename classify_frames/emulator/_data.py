"""Synthetic Classify jobs with a hidden ground truth, deterministic per seed.

The dataset is generated column by column with numpy (a million jobs in a few seconds) and each
job is turned into its JSON object only when asked for::

    >>> ds = Dataset.generate(1_000, seed=0)
    >>> job = ds.job(0)
    >>> job["id"] == ds.ids[0], len(ds)
    (True, 1000)
    >>> sorted(ds.labels().columns)
    ['file_input', 'id', 'label']

Schemas:

- ``seed``: exactly the fields of the seed reference page; statuses PENDING, RUNNING, COMPLETED
  and FAILED (a cancelled job reads FAILED).
- ``current``: a newer server, as the SDK's models describe it: ``file_input`` instead of
  ``document_input_value``, ``usage{credits, parse_credits}``, and CANCELLED.
- ``mixed``: a server mid-migration: jobs of both kinds (and some carrying both input fields),
  5% with an unknown extra field, some of them nested objects.

What is injected for an audit to find (over-confident types, a drift, a rule-set change, a rule
that never matches, documents classified again) is described in :attr:`Dataset.injected`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from ._catalog import (
    DRIFT_KINDS,
    DRIFT_START,
    ERROR_MESSAGES,
    EVIDENCE,
    EXTRA_FIELDS,
    NEVER_MATCHED,
    NO_MATCH_REASONS,
    OVERCONFIDENT,
    REASONING_CLOSERS,
    REASONING_OPENERS,
    RULE_SET_CHANGE,
    RULE_SETS,
)
from ._ids import make_id, make_ids, mix, parse_id

__all__ = [
    "CONFIDENCES",
    "CONFIGURATION",
    "FILE",
    "PARSE_JOB",
    "SCHEMAS",
    "STATUSES",
    "Dataset",
    "Schema",
    "format_time",
]

Schema = Literal["seed", "current", "mixed"]
SCHEMAS: tuple[str, ...] = ("seed", "current", "mixed")
STATUSES: tuple[str, ...] = ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")
_PENDING, _RUNNING, _COMPLETED, _FAILED, _CANCELLED = range(5)
CONFIDENCES = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99)
_CONFIDENCE_SHARES = (0.02, 0.04, 0.07, 0.1, 0.12, 0.2, 0.27, 0.18)
_INPUT_TYPES = ("url", "file_id", "parse_job_id")
_EXTENSIONS = ("pdf", "pdf", "pdf", "png", "docx", "jpg")
_START = np.datetime64("2026-01-05T00:00:00", "ms").astype(np.int64)
_END = np.datetime64("2026-09-30T23:59:59", "ms").astype(np.int64)
_DAY_MS = 86_400_000
_CHANGE_MS = np.datetime64(RULE_SET_CHANGE, "ms").astype(np.int64)
_DRIFT_MS = np.datetime64(DRIFT_START, "ms").astype(np.int64)
_RECLASSIFIED_SHARE = 0.03
_USERS = 7
_URL = re.compile(r"https://storage\.example\.com/\w+/2026/doc-(\d{7})\.\w+")
#: How the service's ids of files and parse jobs begin (SDK 2.19: ``dfl-…``, ``pjb-…``).
FILE, PARSE_JOB = "dfl-", "pjb-"
#: How a saved configuration's id begins (the SDK's docstrings: ``configuration_id="cfg-..."``).
CONFIGURATION = "cfg-"
_PREFIXES = ("", FILE, PARSE_JOB)  # by input kind: url, file_id, parse_job_id
# Salts of the id streams, so a job, its document, file and parse job never share an id.
_JOB, _DOC, _FILE, _PARSE, _TXN, _USER, _CONFIG, _PROJECT = range(8)


@functools.lru_cache(maxsize=4096)
def _day(days: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=days)).strftime("%Y-%m-%d")


def format_time(ms: int) -> str:
    """Epoch milliseconds as the API writes them: ``2026-03-04T12:34:56.789Z``."""
    days, rest = divmod(ms, _DAY_MS)
    seconds, milli = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{_day(days)}T{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}Z"


def _iso(ms: np.ndarray) -> list[str]:
    stamps = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms").tolist()
    return [f"{s}Z" for s in stamps]


class _Ids(Sequence[str]):
    """The job ids of a dataset, made on demand (a million ids cost no memory until listed)."""

    def __init__(self, n: int, key: int) -> None:
        self._n, self._key = n, key

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return make_ids(np.arange(self._n)[index], self._key)
        if not -self._n <= index < self._n:
            msg = f"job index {index} out of range for {self._n} jobs"
            raise IndexError(msg)
        return make_id(index % self._n, self._key)

    def __iter__(self) -> Iterator[str]:
        for start in range(0, self._n, 65_536):
            yield from self[start : start + 65_536]

    def __repr__(self) -> str:
        return f"<{self._n} job ids>"


class Dataset:
    """A deterministic set of Classify jobs, their hidden labels and what was injected.

    Attributes:
        schema: which fields the jobs carry (``seed``, ``current`` or ``mixed``).
        project_id: the project every job belongs to.
        user_ids: the users who created the jobs.
        configurations: one dict per saved configuration (``id``, ``name``, ``version`` and
            the ``configuration`` object jobs carry), indexed by :attr:`config_codes`.
        created_ms, status_codes, config_codes: per-job columns (epoch ms, index into
            :data:`STATUSES`, index into :attr:`configurations`), sorted by creation time.
    """

    def __init__(self, n: int, seed: int, schema: Schema) -> None:
        if schema not in SCHEMAS:
            msg = f"schema must be one of {list(SCHEMAS)}, got {schema!r}"
            raise ValueError(msg)
        if not (isinstance(n, int) and n >= 0):
            msg = f"jobs must be a whole number >= 0, got {n!r}"
            raise ValueError(msg)
        self.seed, self.schema = seed, schema
        self._keys = [mix(((seed & 0xFFFFFFFF) << 8 | salt) + 1) >> 2 for salt in range(8)]
        self.project_id = make_id(0, self._keys[_PROJECT])
        self.user_ids = [make_id(u, self._keys[_USER]) for u in range(_USERS)]
        self.configurations = [self._configuration(k) for k in range(len(RULE_SETS))]
        self._teams = [rs.name.split("-")[0] for rs in RULE_SETS]
        self._kinds = _kind_vocabulary()
        self._n = n
        self._generate(np.random.default_rng([seed, 0xC1A551F7]))

    @classmethod
    def generate(cls, jobs: int, seed: int = 0, schema: Schema = "current") -> Dataset:
        """Generate ``jobs`` jobs for ``seed``; the same arguments always give the same jobs."""
        return cls(jobs, seed, schema)

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"<Dataset {self._n:,} jobs, seed={self.seed}, schema={self.schema!r}>"

    @property
    def ids(self) -> Sequence[str]:
        """Every job id, in creation order (a lazy sequence: index, slice or iterate it)."""
        return _Ids(self._n, self._keys[_JOB])

    def index_of(self, job_id: str) -> int | None:
        """The row of ``job_id``, or None when this dataset has no such job."""
        row = parse_id(job_id, self._keys[_JOB])
        return row if row is not None and row < self._n else None

    def jobs(self) -> Iterator[dict[str, Any]]:
        """Every job's JSON object, in creation order."""
        for start in range(0, self._n, 4096):
            yield from self.jobs_at(np.arange(start, min(start + 4096, self._n)))

    # -- serving jobs ----------------------------------------------------------------------

    def job(self, i: int) -> dict[str, Any]:
        """Job ``i`` exactly as the server sends it for this dataset's schema."""
        if not 0 <= i < self._n:
            msg = f"job index {i} out of range for {self._n} jobs"
            raise IndexError(msg)
        return self.jobs_at(np.array([i]))[0]

    def jobs_at(self, rows: np.ndarray) -> list[dict[str, Any]]:
        """The jobs of ``rows`` (valid row numbers), columns computed together for speed."""
        if len(rows) < 16:  # numpy's per-call overhead outweighs vectorising a few rows
            return [self._job_scalar(int(i)) for i in rows]
        rows = np.asarray(rows, dtype=np.int64)
        created = self.created_ms[rows]
        columns = zip(
            rows.tolist(),
            make_ids(rows, self._keys[_JOB]),
            self.document_values(rows),
            [PARSE_JOB + i for i in make_ids(rows, self._keys[_PARSE])],
            _iso(created),
            _iso(created + self._duration_ms[rows]),
            self.status_codes[rows].tolist(),
            self.config_codes[rows].tolist(),
            self._input[rows].tolist(),
            self._style[rows].tolist(),
            self._extra[rows].tolist(),
            self._v1[rows].tolist(),
            self._v2[rows].tolist(),
            strict=True,
        )
        return [self._assemble(*row) for row in columns]

    def _job_scalar(self, i: int) -> dict[str, Any]:
        created = int(self.created_ms[i])
        return self._assemble(
            i,
            make_id(i, self._keys[_JOB]),
            self._document_value(int(self._doc[i]), int(self._input[i]), int(self.config_codes[i])),
            PARSE_JOB + make_id(i, self._keys[_PARSE]),
            format_time(created),
            format_time(created + int(self._duration_ms[i])),
            int(self.status_codes[i]),
            int(self.config_codes[i]),
            int(self._input[i]),
            int(self._style[i]),
            int(self._extra[i]),
            int(self._v1[i]),
            int(self._v2[i]),
        )

    def _assemble(
        self,
        i: int,
        job_id: str,
        value: str,
        parse_id_: str,
        created: str,
        updated: str,
        status: int,
        config_code: int,
        input_code: int,
        style: int,
        extra: int,
        v1: int,
        v2: int,
    ) -> dict[str, Any]:
        config = self.configurations[config_code]
        input_type = _INPUT_TYPES[input_code]
        job: dict[str, Any] = {
            "id": job_id,
            "configuration": config["configuration"],
            "document_input_type": input_type,
        }
        if style != 1:
            job["document_input_value"] = value
        if style != 0:
            job["file_input"] = value
        job["project_id"] = self.project_id
        job["status"] = STATUSES[status]
        job["user_id"] = self.user_ids[v2 % _USERS]
        job["configuration_id"] = config["id"]
        job["created_at"] = created
        job["error_message"] = (
            ERROR_MESSAGES[v1 % len(ERROR_MESSAGES)] if status == _FAILED else None
        )
        if status == _PENDING:
            job["parse_job_id"] = None
        else:
            job["parse_job_id"] = value if input_code == 2 else parse_id_
        job["result"] = self._result(i, v1) if status == _COMPLETED else None
        job["transaction_id"] = make_id(i, self._keys[_TXN]) if v2 & 0x30 == 0 else None
        job["updated_at"] = updated
        if style != 0:
            job["usage"] = self._usage(i, status, input_code)
        if extra >= 0:
            job.update(EXTRA_FIELDS[extra])
        return job

    def document_values(self, rows: np.ndarray) -> list[str]:
        """The input of each job: a URL, a file id or a parse job id (one per document)."""
        rows = np.asarray(rows, dtype=np.int64)
        docs, kinds = self._doc[rows], self._input[rows]
        values = np.empty(len(rows), dtype=object)
        for kind, salt in ((1, _FILE), (2, _DOC)):
            chosen = kinds == kind
            prefix = _PREFIXES[kind]
            values[chosen] = [prefix + i for i in make_ids(docs[chosen], self._keys[salt])]
        for k in np.flatnonzero(kinds == 0).tolist():
            values[k] = self._document_value(int(docs[k]), 0, int(self.config_codes[rows[k]]))
        return values.tolist()  # type: ignore[no-any-return]

    def _document_value(self, doc: int, kind: int, config: int) -> str:
        if kind == 0:
            ext = _EXTENSIONS[doc % len(_EXTENSIONS)]
            return f"https://storage.example.com/{self._teams[config]}/2026/doc-{doc:07d}.{ext}"
        return _PREFIXES[kind] + make_id(doc, self._keys[_FILE if kind == 1 else _DOC])

    def _result(self, i: int, v1: int) -> dict[str, Any]:
        pred = int(self._pred[i])
        confidence = CONFIDENCES[int(self._conf[i])]
        if pred < 0:
            reasoning = NO_MATCH_REASONS[v1 % len(NO_MATCH_REASONS)]
            return {"confidence": confidence, "reasoning": reasoning, "type": None}
        kind = self._kinds[pred]
        return {"confidence": confidence, "reasoning": _reasoning(kind, v1), "type": kind}

    def _usage(self, i: int, status: int, input_code: int) -> dict[str, float | None]:
        if status in (_PENDING, _RUNNING, _CANCELLED):
            return {"credits": None, "parse_credits": None}
        if input_code == 2:  # a parse job the user made: classify itself bills nothing
            return {"credits": 0.0, "parse_credits": None}
        pages = float(self._pages[i])
        return {"credits": pages, "parse_credits": pages}

    # -- truth and what was injected -------------------------------------------------------

    def original_input(self, value: str) -> str:
        """The input a job was made from, when ``value`` is the parse job a dataset job ran
        (its ``parse_job_id``): a job re-run on that parse job classifies the same document.
        Any other value is returned as it is."""
        if value.startswith(PARSE_JOB):
            row = parse_id(value[len(PARSE_JOB) :], self._keys[_PARSE])
            if row is not None and row < self._n:
                return self.document_values(np.array([row]))[0]
        return value

    def document_kind(self, value: str) -> str | None:
        """What the document behind an input (a URL, file id or parse job id this dataset
        made) really is, whatever the rules: ``"invoice"``, ``"meeting_notes"`` ...; None for
        an input it never made. A classifier run under new rules answers from this."""
        found = _URL.fullmatch(value)
        doc: int | None = None
        if found is not None:
            doc = int(found[1])
        elif value.startswith(FILE):
            doc = parse_id(value[len(FILE) :], self._keys[_FILE])
        elif value.startswith(PARSE_JOB):
            doc = parse_id(value[len(PARSE_JOB) :], self._keys[_DOC])
        if doc is None or doc >= len(self._doc_kinds):
            return None
        return self._kinds[int(self._doc_kinds[doc])]

    def labels(self) -> pd.DataFrame:
        """The hidden ground truth: one row per job, ``label`` the true type or ``"none"``."""
        names = np.array([*self._kinds, "none"], dtype=object)
        return pd.DataFrame(
            {
                "id": pd.array(list(self.ids), dtype="string"),
                "file_input": pd.array(self.document_values(np.arange(self._n)), dtype="string"),
                "label": pd.array(names[self._label], dtype="string"),
            }
        )

    @property
    def injected(self) -> dict[str, Any]:
        """What the data hides for an audit to find, with the configuration ids involved."""
        ids = {(c["name"], c["version"]): c["id"] for c in self.configurations}
        v1, v2 = RULE_SETS[0], RULE_SETS[1]
        edited = [t for t, d in v1.rules if t in v2.types and dict(v2.rules)[t] != d]
        return {
            "overconfident_types": sorted({t for ts in OVERCONFIDENT.values() for t in ts}),
            "overconfident_by_configuration": {ids[k]: list(v) for k, v in OVERCONFIDENT.items()},
            "drift_start": DRIFT_START,
            "drift_description": (
                f"from {DRIFT_START} new kinds of documents arrive "
                f"({', '.join(k for ks in DRIFT_KINDS.values() for k in ks)}) that no rule "
                "describes: more jobs match no rule, and every stated confidence of those teams "
                "is about 12 points less likely to be right"
            ),
            "drift_kinds": sorted(k for ks in DRIFT_KINDS.values() for k in ks),
            "rule_set_change": {
                "date": RULE_SET_CHANGE,
                "from": ids[(v1.name, v1.version)],
                "to": ids[(v2.name, v2.version)],
                "added_types": [t for t in v2.types if t not in v1.types],
                "removed_types": [t for t in v1.types if t not in v2.types],
                "edited_types": edited,
            },
            "never_matched_types": list(NEVER_MATCHED),
            "reclassified_documents": self._reclassified,
            "configurations": {
                c["id"]: f"{c['name']} v{c['version']}" for c in self.configurations
            },
        }

    # -- generation ------------------------------------------------------------------------

    def _configuration(self, k: int) -> dict[str, Any]:
        rs = RULE_SETS[k]
        return {
            "id": CONFIGURATION + make_id(k, self._keys[_CONFIG]),
            "name": rs.name,
            "version": rs.version,
            "configuration": {
                "rules": [{"description": d, "type": t} for t, d in rs.rules],
                "mode": "FAST",
                "parsing_configuration": {
                    "lang": rs.lang,
                    "max_pages": rs.max_pages,
                    "target_pages": rs.target_pages,
                },
            },
        }

    def _generate(self, rng: np.random.Generator) -> None:
        n = self._n
        n_re = int(n * _RECLASSIFIED_SHARE)
        base = n - n_re
        created = _START + ((_END - _START) * np.sqrt(rng.random(base))).astype(np.int64)
        config = self._pick_teams(rng, created)
        kind = self._pick_kinds(rng, config, created)
        doc = np.arange(base, dtype=np.int32)
        self._doc_kinds = kind.copy()  # what each document really is, by document number
        input_type = rng.choice(3, size=base, p=(0.3, 0.5, 0.2)).astype(np.uint8)
        pages = rng.integers(1, 13, size=base, dtype=np.uint8)
        # Documents of finance v1 classified again under v2, in a batch after the change.
        sources = np.flatnonzero(config == 0)
        n_re = min(n_re, len(sources))
        self._reclassified = n_re
        src = rng.choice(sources, size=n_re, replace=False) if n_re else sources[:0]
        re_created = _CHANGE_MS + 3 * _DAY_MS + rng.integers(0, 17 * _DAY_MS, size=n_re)
        created = np.concatenate([created, re_created])
        config = np.concatenate([config, np.ones(n_re, dtype=np.uint8)])
        kind = np.concatenate([kind, kind[src]])
        doc = np.concatenate([doc, doc[src]])
        input_type = np.concatenate([input_type, input_type[src]])
        pages = np.concatenate([pages, pages[src]])
        self._n = n = len(created)
        order = np.argsort(created, kind="stable")
        self.created_ms = created[order]
        self.config_codes = config[order]
        kind, self._doc = kind[order], doc[order]
        self._input, self._pages = input_type[order], pages[order]
        self._label = self._truth(kind)
        self.status_codes = self._pick_status(rng)
        self._conf = rng.choice(8, size=n, p=_CONFIDENCE_SHARES).astype(np.uint8)
        self._pred = self._predict(rng)
        self._duration_ms = self._durations(rng)
        self._v1 = rng.integers(0, 256, size=n, dtype=np.uint8)
        self._v2 = rng.integers(0, 256, size=n, dtype=np.uint8)
        self._style, self._extra = self._styles(rng)

    def _pick_teams(self, rng: np.random.Generator, created: np.ndarray) -> np.ndarray:
        teams = [0, 2, 3, 4]  # finance (v1 or v2 by date), hr, legal, support
        shares = np.array([RULE_SETS[k].share for k in teams])
        config = np.array(teams, dtype=np.uint8)[
            rng.choice(len(teams), size=len(created), p=shares / shares.sum())
        ]
        config[(config == 0) & (created >= _CHANGE_MS)] = 1
        return config

    def _pick_kinds(
        self, rng: np.random.Generator, config: np.ndarray, created: np.ndarray
    ) -> np.ndarray:
        kind = np.empty(len(config), dtype=np.int16)
        index = {k: i for i, k in enumerate(self._kinds)}
        for k, rs in enumerate(RULE_SETS):
            for drifted in (False, True):
                mask = (config == k) & ((created >= _DRIFT_MS) == drifted)
                shares = dict(rs.kinds)
                if drifted:
                    for name, share in DRIFT_KINDS.get(rs.name, {}).items():
                        shares = {t: s * (1 - share) for t, s in shares.items()} | {name: share}
                names = list(shares)
                p = np.array([shares[t] for t in names])
                picks = rng.choice(len(names), size=int(mask.sum()), p=p / p.sum())
                kind[mask] = np.array([index[t] for t in names], dtype=np.int16)[picks]
        return kind

    def _truth(self, kind: np.ndarray) -> np.ndarray:
        """The true label: the document's kind when a rule of its rule set describes it."""
        label = np.full(len(kind), len(self._kinds), dtype=np.int16)  # "none"
        for k, rs in enumerate(RULE_SETS):
            in_rules = np.isin(kind, [self._kinds.index(t) for t in rs.types])
            mask = (self.config_codes == k) & in_rules
            label[mask] = kind[mask]
        return label

    def _pick_status(self, rng: np.random.Generator) -> np.ndarray:
        n = self._n
        cancelled = 0.0 if self.schema == "seed" else 0.025
        p = (0.006, 0.006, 0.928 - cancelled, 0.06, cancelled)
        status = rng.choice(5, size=n, p=p).astype(np.uint8)
        recent = self.created_ms >= _END - 3 * _DAY_MS  # the last days are still in flight
        fresh = rng.choice(5, size=int(recent.sum()), p=(0.25, 0.2, 0.5, 0.05, 0.0))
        status[recent] = fresh.astype(np.uint8)
        return status

    def _predict(self, rng: np.random.Generator) -> np.ndarray:
        """The classifier's answer: right with a probability below what it states, sometimes."""
        n, none = self._n, len(self._kinds)
        stated = np.array(CONFIDENCES)[self._conf]
        offset = np.full(n, -0.02)
        for k, rs in enumerate(RULE_SETS):
            in_set = self.config_codes == k
            over = [self._kinds.index(t) for t in OVERCONFIDENT.get((rs.name, rs.version), ())]
            offset[in_set & np.isin(self._label, over)] -= 0.3
            if rs.name in DRIFT_KINDS:
                offset[in_set & (self.created_ms >= _DRIFT_MS)] -= 0.12
        right = rng.random(n) < np.clip(stated + offset, 0.02, 0.995)
        pred = np.where(right, self._label, -1).astype(np.int16)
        pred[right & (self._label == none)] = -1
        wrong = np.flatnonzero(~right)
        for k, rs in enumerate(RULE_SETS):
            rows = wrong[self.config_codes[wrong] == k]
            targets = [self._kinds.index(t) for t in rs.types if t not in NEVER_MATCHED]
            over = [self._kinds.index(t) for t in OVERCONFIDENT.get((rs.name, rs.version), ())]
            pool = np.array(targets + over * 8, dtype=np.int16)  # errors land on them more
            guess = pool[rng.integers(0, len(pool), size=len(rows))]
            same = guess == self._label[rows]
            guess[same] = _next_of(targets, guess[same])
            to_none = (self._label[rows] != none) & (rng.random(len(rows)) < 0.35)
            guess[to_none] = -1
            pred[rows] = guess
        # Whatever it thought at first, it states 0.9+ whenever it answers an over-confident type.
        for k, rs in enumerate(RULE_SETS):
            over = [self._kinds.index(t) for t in OVERCONFIDENT.get((rs.name, rs.version), ())]
            boast = np.flatnonzero((self.config_codes == k) & np.isin(pred, over))
            high = rng.choice([5, 6, 7], size=len(boast), p=(0.3, 0.45, 0.25)).astype(np.uint8)
            self._conf[boast] = np.maximum(self._conf[boast], high)
        return pred

    def _durations(self, rng: np.random.Generator) -> np.ndarray:
        n = self._n
        took = np.exp(rng.normal(2.7, 0.8, size=n)) * 1000  # median about 15 s
        took[self.status_codes == _FAILED] *= 4
        took[self.status_codes == _RUNNING] = rng.integers(
            200, 5000, size=int((self.status_codes == _RUNNING).sum())
        )
        took[self.status_codes == _PENDING] = 0
        durations: np.ndarray = np.minimum(took, 3_600_000).astype(np.int32)
        return durations

    def _styles(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Which fields each job carries: 0 seed, 1 current (file_input, usage), 2 both."""
        n = self._n
        extra = np.full(n, -1, dtype=np.int8)
        if self.schema == "seed":
            return np.zeros(n, dtype=np.uint8), extra
        if self.schema == "current":
            return np.ones(n, dtype=np.uint8), extra
        style = rng.choice(3, size=n, p=(0.45, 0.45, 0.1)).astype(np.uint8)
        style[(style == 0) & (self.status_codes == _CANCELLED)] = 1  # old servers never cancel
        unknown = rng.random(n) < 0.05
        extra[unknown] = rng.integers(0, len(EXTRA_FIELDS), size=int(unknown.sum()))
        return style, extra


@functools.lru_cache(maxsize=8192)
def _reasoning(kind: str, variant: int) -> str:
    """Why the classifier chose ``kind``, worded by ``variant`` (0..255)."""
    evidence = EVIDENCE[kind]
    return (
        REASONING_OPENERS[variant % len(REASONING_OPENERS)]
        + evidence[(variant >> 3) % len(evidence)]
        + REASONING_CLOSERS[(variant >> 5) % len(REASONING_CLOSERS)].format(type=kind)
    )


def _kind_vocabulary() -> list[str]:
    kinds: dict[str, None] = {}
    for rs in RULE_SETS:
        kinds.update(dict.fromkeys(rs.types))
        kinds.update(dict.fromkeys(rs.kinds))
    for extra in DRIFT_KINDS.values():
        kinds.update(dict.fromkeys(extra))
    return list(kinds)


def _next_of(targets: list[int], values: np.ndarray) -> np.ndarray:
    """For each value (one of ``targets``), the target after it, cyclically."""
    successor = dict(zip(targets, targets[1:] + targets[:1], strict=True))
    return np.array([successor[int(v)] for v in values], dtype=np.int16)
