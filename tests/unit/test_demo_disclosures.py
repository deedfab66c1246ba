"""The generator's read-back truth of the disclosure rules uses the cn pack's numbers and the contract's rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from regwatch.demo import calibration
from regwatch.demo import disclosures as dd
from tests.conftest import REPO_ROOT

HEADER = (
    "loan_id,borrower_id,borrower_type,product_code,partner_id,is_related_party,contract_date,"
    "disbursement_date,principal,currency,term_months,repayment_method,nominal_rate,upfront_fee,"
    "status,written_off_date,updated_at\n"
)
PAY = "payment_id,loan_id,paid_at,installment_no,principal_paid,interest_paid,fee_paid,penalty_paid,payer_type\n"


def _loan(
    loan_id: str,
    borrower: str,
    kind: str,
    principal: str,
    status: str = "active",
    related: str = "false",
    updated: str = "2025-06-02 09:00:00",
) -> str:
    return (
        f"{loan_id},{borrower},{kind},P,,{related},2025-06-02,2025-06-02,{principal},CNY,12,bullet,0.1,0,"
        f"{status},,{updated}\n"
    )


def test_limits_exactly_at_the_line_do_not_breach_and_repayments_and_malformed_rows_count(
    tmp_path: Path,
) -> None:
    d1, d2 = date(2025, 6, 2), date(2025, 6, 3)
    (tmp_path / d1.isoformat()).mkdir()
    (tmp_path / d2.isoformat()).mkdir()
    loans = HEADER + "".join(
        [
            _loan("L1", "P1", "individual", "200000.00"),  # exactly the limit: no breach
            _loan("L2", "P2", "individual", "150000.00"),
            _loan("L3", "P2", "individual", "60000.00"),  # P2 owes 210,000 on day 1
            _loan("L4", "E1", "enterprise", "1000000.01"),  # one cent above: breach
            _loan("L5", "P3", "individual", "500000.00", related="true"),  # malformed copy below
        ]
    )
    (tmp_path / d1.isoformat() / "loans.csv").write_text(loans)
    (tmp_path / d1.isoformat() / "repayments.csv").write_text(PAY)
    # Day 2: P2 repays 20,000 (back under); E1's loan is settled; a later version marks L1 written off.
    (tmp_path / d2.isoformat() / "loans.csv").write_text(
        HEADER
        + _loan("L4", "E1", "enterprise", "1000000.01", status="settled", updated="2025-06-03 10:00:00")
    )
    (tmp_path / d2.isoformat() / "repayments.csv").write_text(
        PAY + "PY1,L2,2025-06-03 10:00:00,1,20000.00,0,0,0,borrower\n"
    )
    malformed = [("loans", d1.isoformat(), "5", "wrong_type", "principal")]
    truth = dd.disclosure_truth(tmp_path, [d1, d2], malformed, calibration.load(REPO_ROOT / "checks" / "cn"))
    keys = {(rule, key): day for _, rule, key, day, _, _ in truth}
    assert keys[(dd.INDIVIDUAL_LIMIT_RULE, "P2")] == "2025-06-02"
    assert keys[(dd.ENTITY_LIMIT_RULE, "E1")] == "2025-06-02"
    assert (dd.INDIVIDUAL_LIMIT_RULE, "P1") not in keys
    assert (dd.RELATED_PARTY_RULE, "L5") not in keys  # its only row is malformed: quarantined
    assert keys[(dd.SINGLE_RULE, "platform")] == "2025-06-02"
