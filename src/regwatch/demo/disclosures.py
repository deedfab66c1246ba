"""Ground truth of the disclosure rules on a generated platform (borrower limits, related parties, concentration).

The generator's loan book is drawn for realism, not to stay under the borrowing limits:
SME loans reach CNY 3,000,000, people hold several loans, about 1 % of loans go to
related parties, and a small book is concentrated. So the truth of these rules is not
planted but *read back*: after the landing files are written, this module replays them
date by date, the way the input contract and the marts define things - rows listed as
malformed excluded, the latest loan version, repayments paid by the date - and writes
one truth row per breach, on the first date it holds. It shares no code with the
pipeline (plain ``csv`` and ``Decimal`` here, SQL there), so ``regwatch rules evaluate``
checks the whole chain: ingest, allocation, exposures, the rules.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from regwatch.demo.calibration import Calibration

INDIVIDUAL_LIMIT_RULE = "cn.disclosures.individual_borrower_limit"
ENTITY_LIMIT_RULE = "cn.disclosures.entity_borrower_limit"
RELATED_PARTY_RULE = "cn.disclosures.related_party_loan"
TOP10_RULE = "cn.disclosures.top10_borrower_concentration"
SINGLE_RULE = "cn.disclosures.single_borrower_concentration"

TruthRow = tuple[str, str, str, str, str, str]


def _rows(path: Path, skip: set[int]) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    reader = csv.DictReader(text.splitlines())
    return [dict(row, _row=str(n)) for n, row in enumerate(reader, start=1) if n not in skip]


def disclosure_truth(
    out: Path,
    days: Sequence[date],
    malformed: Sequence[tuple[str, str, str, str, str]],
    calibration: Calibration,
) -> list[TruthRow]:
    """Truth rows (case_id blank, rule_id, entity_key, business_date, kind, detail), first date each holds.

    The limits are the pack's (:mod:`regwatch.demo.calibration`): Interim Measures 2016 art. 17
    (one platform) and the pack's concentration policy.
    """
    bad: dict[tuple[str, str], set[int]] = {}
    for file, day_text, number, _, _ in malformed:
        bad.setdefault((file, day_text), set()).add(int(number))
    versions: dict[str, tuple[tuple[str, str, int], dict[str, str]]] = {}
    paid: dict[str, dict[str, Decimal]] = {}
    first: dict[tuple[str, str], tuple[str, str, str]] = {}
    for day in days:
        d = day.isoformat()
        for row in _rows(out / d / "loans.csv", bad.get(("loans", d), set())):
            rank = (row["updated_at"], d, int(row["_row"]))
            if row["loan_id"] not in versions or rank > versions[row["loan_id"]][0]:
                versions[row["loan_id"]] = (rank, row)
        for row in _rows(out / d / "repayments.csv", bad.get(("repayments", d), set())):
            paid.setdefault(row["loan_id"], {})[row["payment_id"]] = Decimal(row["principal_paid"])
        exposure: dict[str, Decimal] = {}
        kinds: dict[str, str] = {}
        for loan_id, (_, loan) in versions.items():
            if loan["disbursement_date"] > d:
                continue
            if loan["is_related_party"] == "true":
                first.setdefault(
                    (RELATED_PARTY_RULE, loan_id),
                    (d, "related_party_loan", f"borrower={loan['borrower_id']}"),
                )
            left = Decimal(loan["principal"]) - sum(paid.get(loan_id, {}).values(), Decimal(0))
            if loan["status"] == "active" and left > 0:
                exposure[loan["borrower_id"]] = exposure.get(loan["borrower_id"], Decimal(0)) + left
                kinds[loan["borrower_id"]] = max(kinds.get(loan["borrower_id"], ""), loan["borrower_type"])
        for borrower, amount in exposure.items():
            entity = kinds[borrower] == "enterprise"
            limit = calibration.entity_limit if entity else calibration.individual_limit
            if amount > limit:
                rule = ENTITY_LIMIT_RULE if entity else INDIVIDUAL_LIMIT_RULE
                first.setdefault(
                    (rule, borrower), (d, "borrower_above_limit", f"outstanding={amount}; limit={limit}")
                )
        total = sum(exposure.values(), Decimal(0))
        if total > 0:
            ranked = sorted(exposure.values(), reverse=True)
            for rule, share, line in (
                (TOP10_RULE, sum(ranked[:10], Decimal(0)) / total, calibration.top10_share_max),
                (SINGLE_RULE, ranked[0] / total, calibration.single_share_max),
            ):
                # The mart rounds shares to 8 places; the book keeps clear of the line by far more.
                if share > line:
                    first.setdefault(
                        (rule, "platform"), (d, "concentration_above_threshold", f"share={share:.8f}")
                    )
    return [("", rule, key, day, kind, detail) for (rule, key), (day, kind, detail) in sorted(first.items())]
