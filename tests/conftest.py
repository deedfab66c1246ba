"""Shared fixtures: a tiny, hand-readable landing folder that honours the input contract, and
generated platforms whose days are run once per test session (copied by the tests that
change them)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from regwatch.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]

# Runs through the CLI (Settings.from_env) render no PDF unless a test asks for one: WeasyPrint
# is a third of a day's cost and only the tests about the PDF read it (they set
# REGWATCH_NO_PDF=0, or build Settings with the default render_pdf=True). The manifest of
# such a run records "pdf_rendered": false. Tests that build Settings themselves pass
# render_pdf=False where they do not look at a PDF.
os.environ.setdefault("REGWATCH_NO_PDF", "1")

# One good row per file; tests add bad rows next to them.
GOOD_ROWS: dict[str, str] = {
    "loans": (
        "loan_id,borrower_id,borrower_type,product_code,partner_id,is_related_party,contract_date,"
        "disbursement_date,principal,currency,term_months,repayment_method,nominal_rate,upfront_fee,"
        "status,written_off_date,updated_at\n"
        "L1,C1,individual,P-EI,,false,2025-06-02,2025-06-02,12000.00,CNY,12,equal_installment,"
        "0.120000,0.00,active,,2025-06-02 09:00:00\n"
    ),
    "schedules": (
        "loan_id,installment_no,due_date,principal_due,interest_due,fee_due\n"
        "L1,1,2025-07-02,946.18,120.00,0.00\n"
    ),
    "repayments": (
        "payment_id,loan_id,paid_at,installment_no,principal_paid,interest_paid,fee_paid,penalty_paid,payer_type\n"
        "PAY1,L1,2025-06-02 10:00:00,,0.00,0.00,0.00,0.00,borrower\n"
    ),
    "fundings": (
        "funding_id,loan_id,funder_id,funder_type,amount,funded_at\n"
        "F1,L1,LND1,institution,12000.00,2025-06-02 08:00:00\n"
    ),
    "accounts": (
        "account_id,customer_id,customer_type,full_name,id_number,phone,country,device_id,opened_at,status,updated_at\n"
        "A1,C1,individual,Wang Fang,110101199003074477,13812345678,CN,D1,2024-01-05 10:00:00,active,"
        "2025-06-02 09:00:00\n"
    ),
    "transactions": (
        "txn_id,account_id,txn_at,direction,amount,currency,channel,counterparty_account,counterparty_name,"
        "counterparty_country,purpose\n"
        "T1,A1,2025-06-02 11:00:00,credit,50000.00,CNY,cash,,,,deposit\n"
    ),
    "fx_rates": "rate_date,currency,cny_per_unit\n2025-06-02,USD,7.18000000\n",
}

DAY = date(2025, 6, 2)


@pytest.fixture
def make_landing(tmp_path: Path) -> Callable[..., Path]:
    """Write a landing folder for DAY; ``extra`` appends raw bytes to a file, ``replace`` swaps one."""

    def _make(
        extra: dict[str, bytes] | None = None,
        replace: dict[str, bytes] | None = None,
        omit: tuple[str, ...] = (),
    ) -> Path:
        landing = tmp_path / "landing"
        folder = landing / DAY.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in GOOD_ROWS.items():
            if name in omit:
                continue
            data = (replace or {}).get(name, text.encode())
            data += (extra or {}).get(name, b"")
            (folder / f"{name}.csv").write_bytes(data)
        return landing

    return _make


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(project_root=REPO_ROOT, var_dir=tmp_path / "var", landing_dir=tmp_path / "landing")


# --------------------------------------------------------------------------- built once, copied when changed

#: The sealed platform: generated for four business days, the first three run and sealed.
SEALED_DAYS = (date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4))
SEALED_NEXT = date(2025, 6, 5)


@dataclass(frozen=True)
class SealedPlatform:
    """A generated platform (200 loans, 100 accounts, seed 3; 2025-06-02 to 06-05) with
    :data:`SEALED_DAYS` run through the whole pipeline and sealed (no PDF), and
    :data:`SEALED_NEXT` delivered but not run. Read-only: :meth:`copy` it to change it."""

    landing: Path
    var: Path

    def copy(self, target: Path) -> Settings:
        """A private copy (landing/ and var/: warehouse, archive, ledger, reports) under ``target``."""
        from tests.helpers import private_copy

        return Settings(
            project_root=REPO_ROOT,
            render_pdf=False,
            var_dir=private_copy(self.var, target / "var"),
            landing_dir=private_copy(self.landing, target / "landing"),
        )


@pytest.fixture(scope="session")
def sealed_platform(tmp_path_factory: pytest.TempPathFactory) -> SealedPlatform:
    """Built once per ``make test`` (shared by the xdist workers): test_rebuild."""
    from regwatch import pipeline
    from regwatch.demo import generate
    from tests.helpers import built_once

    def build(root: Path) -> None:
        generate(root / "landing", SEALED_DAYS[0], SEALED_NEXT, loans=200, accounts=100, seed=3)
        settings = Settings(
            project_root=REPO_ROOT, render_pdf=False, var_dir=root / "var", landing_dir=root / "landing"
        )
        for day in SEALED_DAYS:
            pipeline.run_day(day, settings)

    root = built_once(tmp_path_factory, "sealed-platform-200-100-3", build)
    return SealedPlatform(root / "landing", root / "var")
