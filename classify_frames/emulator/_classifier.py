"""How the emulator classifies a document under any rules: from the document's hidden truth.

A created job's input names a document of the dataset (its URL, file id or parse job id), and
:meth:`Dataset.document_kind` says what it really is. The answer then depends on the rules
sent, and on nothing else (deterministic per seed, document and rule set):

- a rule for the true kind: right with probability ``0.45 + 0.45 * clarity``, plus 0.04 for
  each type it is easily confused with that the description rules out by name ("not a
  receipt"), at most 0.97; ``clarity`` counts the description's distinct words of four letters
  or more, 16 of them for full marks, so a vague description ("an invoice") is often wrong;
- wrong, or no rule for the kind (a type dropped from the rules, a kind never described): a
  confusable type when the rules have one (``invoice`` for a ``receipt``), else "no match";
- a right answer states a higher confidence than a wrong one, so confidence carries signal.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from typing import Any

from ._catalog import EVIDENCE, NO_MATCH_REASONS

__all__ = ["CONFUSABLE", "classify_document"]

#: For each kind of document, the types a classifier mistakes it for, most likely first.
CONFUSABLE: dict[str, tuple[str, ...]] = {
    "invoice": ("receipt", "credit_note", "purchase_order"),
    "receipt": ("invoice",),
    "credit_note": ("invoice", "receipt"),
    "purchase_order": ("invoice",),
    "bank_statement": ("receipt",),
    "tax_form": ("invoice",),
    "resume": ("offer_letter",),
    "offer_letter": ("employment_contract",),
    "employment_contract": ("offer_letter",),
    "payslip": ("offer_letter",),
    "id_card_scan": ("resume",),
    "nda": ("master_services_agreement",),
    "master_services_agreement": ("statement_of_work", "nda"),
    "statement_of_work": ("master_services_agreement",),
    "amendment": ("master_services_agreement",),
    "lease_agreement": ("master_services_agreement",),
    "power_of_attorney": ("court_filing",),
    "court_filing": ("power_of_attorney",),
    "insurance_policy": ("lease_agreement",),
    "complaint": ("refund_request", "warranty_claim"),
    "refund_request": ("complaint",),
    "warranty_claim": ("complaint",),
    "newsletter": ("complaint",),
    "customs_declaration": ("invoice",),
    "handwritten_receipt_scan": ("receipt",),
    "chat_transcript": ("complaint",),
}

_CLEAR_WORDS = 16
_FAIL_SHARE = 0.05
_RIGHT = ((0.8, 1), (0.85, 2), (0.9, 3), (0.95, 4), (0.99, 3))
_WRONG = ((0.5, 1), (0.6, 2), (0.7, 3), (0.8, 3), (0.85, 2), (0.9, 2), (0.95, 1), (0.99, 1))


def _clarity(description: str) -> float:
    words = {w.strip(".,;:()'\"!?").lower() for w in description.split()}
    return min(1.0, sum(len(w) >= 4 for w in words) / _CLEAR_WORDS)


def _rules_out(description: str, other: str) -> bool:
    return other.replace("_", " ") in description.lower()


def _pick(rng: random.Random, weighted: tuple[tuple[float, int], ...]) -> float:
    values = [v for v, _ in weighted]
    weights = [w for _, w in weighted]
    return float(rng.choices(values, weights=weights)[0])


def classify_document(
    kind: str, rules: Sequence[dict[str, Any]], seed: int, document: str
) -> tuple[bool, dict[str, Any] | None]:
    """(whether the job fails, its result) for a document of ``kind`` under ``rules``."""
    pairs = sorted((str(r["type"]), str(r["description"])) for r in rules)
    text = json.dumps([seed, document, pairs]).encode()
    rng = random.Random(int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big"))
    if rng.random() < _FAIL_SHARE:
        return True, None
    described = dict(pairs)
    near = [t for t in CONFUSABLE.get(kind, ()) if t in described]
    if kind in described:
        description = described[kind]
        p = 0.45 + 0.45 * _clarity(description)
        p += 0.04 * sum(_rules_out(description, t) for t in CONFUSABLE.get(kind, ()))
        if rng.random() < min(p, 0.97):
            return False, _answer(rng, kind, _pick(rng, _RIGHT))
        near = [t for t in near if not _rules_out(description, t)] or near
        if not near and len(described) > 1 and rng.random() < 0.5:
            near = [t for t in described if t != kind]
    elif near and rng.random() < 0.5:
        near = []  # a kind no rule describes: "no match" half the time
    if not near:
        reason = NO_MATCH_REASONS[rng.randrange(len(NO_MATCH_REASONS))]
        return False, {"confidence": _pick(rng, _WRONG), "reasoning": reason, "type": None}
    return False, _answer(rng, near[rng.randrange(len(near))], _pick(rng, _WRONG))


def _answer(rng: random.Random, kind: str, confidence: float) -> dict[str, Any]:
    evidence = EVIDENCE.get(kind, ("matches the rule's description",))
    text = evidence[rng.randrange(len(evidence))]
    reasoning = f"The document {text}, which matches the '{kind}' rule."
    return {"confidence": confidence, "reasoning": reasoning, "type": kind}
