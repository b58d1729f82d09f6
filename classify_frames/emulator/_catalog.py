"""The emulator's world: rule sets, document kinds, reasoning phrases and failure messages.

Four teams classify documents with their own rule sets; the finance rule set changes on
:data:`RULE_SET_CHANGE` (``credit_note`` added, ``tax_form`` removed, ``invoice`` reworded).
Every kind of document a team receives is listed with how often it arrives; kinds that no rule
describes end up as "none" in the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DRIFT_KINDS",
    "DRIFT_START",
    "ERROR_MESSAGES",
    "EVIDENCE",
    "EXTRA_FIELDS",
    "NEVER_MATCHED",
    "NO_MATCH_REASONS",
    "OVERCONFIDENT",
    "REASONING_CLOSERS",
    "REASONING_OPENERS",
    "RULE_SETS",
    "RULE_SET_CHANGE",
    "RuleSet",
]


@dataclass(frozen=True)
class RuleSet:
    """One saved configuration: a team's rules at one version, and what documents it receives."""

    name: str
    version: int
    rules: tuple[tuple[str, str], ...]  # (type, description)
    kinds: dict[str, float]  # document kind -> share of the team's documents
    lang: str
    max_pages: int | None
    target_pages: str | None
    share: float  # share of all jobs that belong to this team

    @property
    def types(self) -> tuple[str, ...]:
        """The rule types, in rule order."""
        return tuple(t for t, _ in self.rules)


RULE_SET_CHANGE = "2026-05-01"
DRIFT_START = "2026-06-01"

_INVOICE_V1 = "contains invoice number, line items, and total amount"
_INVOICE_V2 = (
    "A bill issued by a supplier asking for payment: shows an invoice number, the supplier's "
    "and buyer's details, dated line items with quantities and prices, tax, and a total amount "
    "due. Not a receipt (already paid) and not a credit note (negative amounts)."
)
_FINANCE_RULES = (
    (
        "receipt",
        "Proof of a payment already made: merchant name, date, items or services "
        "bought, amount paid and payment method (card, cash). Often a short till slip or e-mail.",
    ),
    (
        "purchase_order",
        "An order sent by our company to a supplier: PO number, requested goods "
        "or services, quantities, agreed unit prices, delivery address and requested date.",
    ),
    (
        "bank_statement",
        "A periodic statement from a bank listing account number, opening and "
        "closing balances and dated debit and credit transactions.",
    ),
)
_FINANCE_KINDS_V1 = {
    "invoice": 0.34,
    "receipt": 0.24,
    "purchase_order": 0.14,
    "bank_statement": 0.12,
    "tax_form": 0.07,
    "credit_note": 0.04,
    "meeting_notes": 0.05,
}
_FINANCE_KINDS_V2 = {
    "invoice": 0.33,
    "receipt": 0.24,
    "purchase_order": 0.14,
    "bank_statement": 0.12,
    "tax_form": 0.03,
    "credit_note": 0.09,
    "meeting_notes": 0.05,
}

RULE_SETS: tuple[RuleSet, ...] = (
    RuleSet(
        name="finance-intake",
        version=1,
        rules=(
            ("invoice", _INVOICE_V1),
            *_FINANCE_RULES,
            (
                "tax_form",
                "Government tax forms such as W-2, W-9, 1099 or VAT returns, with "
                "taxpayer identification numbers and tax year.",
            ),
        ),
        kinds=_FINANCE_KINDS_V1,
        lang="en",
        max_pages=10,
        target_pages=None,
        share=0.5,
    ),
    RuleSet(
        name="finance-intake",
        version=2,
        rules=(
            ("invoice", _INVOICE_V2),
            *_FINANCE_RULES,
            (
                "credit_note",
                "A document from a supplier reducing an amount previously "
                "invoiced: credit note number, reference to the original invoice, negative or "
                "refunded amounts.",
            ),
        ),
        kinds=_FINANCE_KINDS_V2,
        lang="en",
        max_pages=10,
        target_pages=None,
        share=0.5,
    ),
    RuleSet(
        name="hr-onboarding",
        version=1,
        rules=(
            ("resume", "A CV or résumé: a candidate's work history, education and skills."),
            (
                "offer_letter",
                "A letter offering employment, with job title, start date, "
                "salary and a place to sign acceptance.",
            ),
            (
                "employment_contract",
                "A signed employment agreement with clauses on duties, "
                "working hours, notice period, confidentiality and governing law.",
            ),
            ("payslip", "A monthly pay statement: gross pay, deductions, net pay, employee id."),
            (
                "visa_sponsorship_letter",
                "A letter from the employer to an immigration "
                "authority confirming sponsorship of a named employee's work visa.",
            ),
        ),
        kinds={
            "resume": 0.45,
            "offer_letter": 0.15,
            "employment_contract": 0.15,
            "payslip": 0.17,
            "id_card_scan": 0.08,
        },
        lang="en",
        max_pages=5,
        target_pages="1-3",
        share=0.15,
    ),
    RuleSet(
        name="legal-contracts",
        version=1,
        rules=(
            ("nda", "Non-disclosure or confidentiality agreement between two or more parties."),
            (
                "master_services_agreement",
                "A framework contract (MSA) setting general terms for future work: liability "
                "caps, indemnities, payment terms, term and termination.",
            ),
            (
                "statement_of_work",
                "A SOW under an MSA: deliverables, milestones, timeline and fees for one project.",
            ),
            (
                "amendment",
                "An amendment or addendum changing specific clauses of an existing "
                "contract, referring to it by name and date.",
            ),
            (
                "lease_agreement",
                "A lease of real estate or equipment: landlord, tenant, premises "
                "or asset, rent and term.",
            ),
            (
                "power_of_attorney",
                "A document authorising a named person to act on behalf of "
                "another in legal or financial matters.",
            ),
            (
                "court_filing",
                "A pleading, motion or order filed with a court, with case number "
                "and court name in the caption.",
            ),
            (
                "insurance_policy",
                "An insurance policy or certificate: insurer, insured, policy "
                "number, coverage limits and period.",
            ),
        ),
        kinds={
            "nda": 0.26,
            "master_services_agreement": 0.12,
            "statement_of_work": 0.16,
            "amendment": 0.14,
            "lease_agreement": 0.08,
            "power_of_attorney": 0.04,
            "court_filing": 0.06,
            "insurance_policy": 0.07,
            "marketing_brochure": 0.07,
        },
        lang="en",
        max_pages=None,
        target_pages=None,
        share=0.2,
    ),
    RuleSet(
        name="support-inbox",
        version=1,
        rules=(
            (
                "complaint",
                "A customer complaint about a product or service, expressing "
                "dissatisfaction and often asking for action.",
            ),
            (
                "refund_request",
                "A customer asking for their money back for an order, citing an "
                "order number or amount.",
            ),
            (
                "warranty_claim",
                "A claim under a product warranty: product, serial number, "
                "purchase date and description of the defect.",
            ),
        ),
        kinds={"complaint": 0.38, "refund_request": 0.3, "warranty_claim": 0.2, "newsletter": 0.12},
        lang="fr",
        max_pages=3,
        target_pages=None,
        share=0.15,
    ),
)

#: Types the classifier states high confidence for but gets wrong far more often, per rule set
#: (name, version); ``invoice`` was reworded in finance v2, which fixed its calibration.
OVERCONFIDENT: dict[tuple[str, int], tuple[str, ...]] = {
    ("finance-intake", 1): ("invoice", "receipt"),
    ("finance-intake", 2): ("receipt",),
    ("legal-contracts", 1): ("amendment",),
}

#: A rule that no document ever matches (and no document is).
NEVER_MATCHED = ("visa_sponsorship_letter",)

#: New kinds of documents that start arriving on :data:`DRIFT_START` (share of each team's docs).
DRIFT_KINDS: dict[str, dict[str, float]] = {
    "finance-intake": {"customs_declaration": 0.12, "handwritten_receipt_scan": 0.1},
    "support-inbox": {"chat_transcript": 0.15},
}

EVIDENCE: dict[str, tuple[str, ...]] = {
    "invoice": (
        "lists an invoice number, itemised charges and a total amount due",
        'shows "Rechnung Nr. 2026-0412" with line items and a Gesamtbetrag',
        "has a supplier header, payment terms of 30 days and a balance due",
    ),
    "receipt": (
        "is a till slip with merchant name, date and amount paid by card",
        "shows a paid stamp, a transaction id and the payment method",
        "is a 領収書 (receipt) with a store name and total paid",
    ),
    "purchase_order": (
        "carries a PO number, requested quantities and a delivery address",
        "is an order to a supplier with agreed unit prices",
    ),
    "bank_statement": (
        "lists dated debits and credits with opening and closing balances",
        "shows an IBAN, a statement period and transaction history",
    ),
    "tax_form": (
        "is a W-9 with a taxpayer identification number",
        "is a VAT return for a quarterly tax period",
    ),
    "credit_note": (
        "references an original invoice and shows negative amounts",
        'is titled "Avoir" / credit note with a refunded total',
    ),
    "resume": (
        "lists work history, education and skills of one candidate",
        "is a résumé with a profile summary and a skills section",
    ),
    "offer_letter": (
        "offers a named position with a start date and salary",
        "asks the candidate to sign and return to accept the offer",
    ),
    "employment_contract": (
        "contains clauses on notice period, duties and governing law",
        "is a signed agreement between employer and employee",
    ),
    "payslip": (
        "shows gross pay, deductions and net pay for one month",
        "is a pay statement with an employee id and tax withheld",
    ),
    "visa_sponsorship_letter": ("confirms sponsorship of an employee's work visa",),
    "nda": (
        "binds both parties to keep confidential information secret",
        "is a mutual non-disclosure agreement with a 2-year term",
    ),
    "master_services_agreement": (
        "sets general terms, liability caps and indemnities",
        "is a framework agreement for future statements of work",
    ),
    "statement_of_work": (
        "lists deliverables, milestones and fees under an MSA",
        "describes one project's timeline and acceptance criteria",
    ),
    "amendment": (
        "changes specific clauses of an existing agreement",
        "is an addendum referring to a prior contract by date",
    ),
    "lease_agreement": (
        "names a landlord, a tenant, the premises and monthly rent",
        "is an equipment lease with a fixed term",
    ),
    "power_of_attorney": ("authorises a named agent to act for the signatory",),
    "court_filing": (
        "has a case number and court name in the caption",
        "is a motion filed with a district court",
    ),
    "insurance_policy": (
        "states an insurer, a policy number and coverage limits",
        "is a certificate of insurance with a coverage period",
    ),
    "complaint": (
        "expresses dissatisfaction with a delayed delivery 😠",
        "se plaint d'un service client injoignable depuis deux semaines",
    ),
    "refund_request": (
        "asks for a refund of order #48213",
        "demande le remboursement d'une commande annulée",
    ),
    "warranty_claim": (
        "reports a defect with a serial number and purchase date",
        "invokes the 2-year warranty for a faulty appliance 🔧",
    ),
}

REASONING_OPENERS = ("The document ", "This file ", "Page 1 ", "The first page ", "It ")
REASONING_CLOSERS = (
    ", which matches the '{type}' rule.",
    "; this is consistent with the '{type}' description.",
    ", so it was classified as '{type}' ✅",
    ". Matched rule: {type}.",
)
NO_MATCH_REASONS = (
    "None of the rules describe this document: it looks like internal meeting notes.",
    "The document does not match any rule; it appears to be a marketing brochure.",
    "No rule matched. The content is a customs declaration (Zollanmeldung), not covered.",
    "Unable to match any rule: the scan is mostly illegible handwriting.",
    "Aucune règle ne correspond : il s'agit d'une lettre d'information.",
    "どのルールにも該当しません (no rule applies to this document).",
    "No rule matched 🤷 — the text is a chat transcript.",
)

ERROR_MESSAGES = (
    "Parse job failed: unsupported file type 'application/x-msdownload'",
    "Document exceeds the maximum of 500 pages",
    "Timed out waiting for the parse job after 900 seconds",
    "File not found: the input file was deleted before processing started",
    "Password-protected PDF cannot be parsed",
    "Internal error: the classification model returned an invalid response",
    "Rate limit exceeded on the upstream model provider; please retry the job",
)

#: Unknown fields a newer server may add (the ``mixed`` schema sends them now and then).
EXTRA_FIELDS: tuple[dict[str, object], ...] = (
    {"priority": "normal"},
    {"metadata": {"source": "sdk", "client": {"name": "llama-cloud-py", "version": "2.19.0"}}},
    {"webhook_delivery": {"attempts": 1, "last_status": 200}},
    {"page_count": 4, "region": "us-east-1"},
)
