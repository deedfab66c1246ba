"""The periodic filing on a generated platform that closes a month and a quarter (2025-06-30).

Every indicator of the filing is recomputed here independently, with pandas over the
generated landing CSVs (latest version per key, the rows ``_truth/malformed.csv`` lists
excluded, as the input contract would quarantine them), and must equal the filed figure
to the cent (counts exactly, rates to 1e-8). The JSON must validate against its schema,
the PDF's first page must show the indicator table and a chart, and a second filing of
the same period must give the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from regwatch import pipeline, warehouse
from regwatch.apr import annual_rate
from regwatch.config import Settings
from regwatch.reporting.filing import (
    DEFINED_RATES,
    FilingError,
    Period,
    file_period,
    folder_for,
    validate_document,
)
from regwatch.rules import load_pack
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

FIRST, CLOSE = date(2025, 6, 27), date(2025, 6, 30)
ARTIFACTS = REPO_ROOT / "test-artifacts"
KEYS = {
    "loans": (["loan_id"], ["updated_at"]),
    "schedules": (["loan_id", "installment_no"], []),
    "repayments": (["payment_id"], []),
    "fundings": (["funding_id"], []),
}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Platform:
    settings: Settings
    landing: Path
    filings: dict[str, list[Path]]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Fri 2025-06-27 and Mon 2025-06-30 (closes June and Q2); seed 9 has 90+ loans, guarantor payments and write-offs."""
    from regwatch.demo import generate

    tmp = tmp_path_factory.mktemp("filing")
    landing = tmp / "landing"
    generate(landing, FIRST, CLOSE, loans=300, accounts=150, seed=9)
    settings = Settings(project_root=REPO_ROOT, var_dir=tmp / "var", landing_dir=landing)
    pipeline.ingest(FIRST, settings)
    pipeline.transform(FIRST, settings)
    results = pipeline.run_day(CLOSE, settings)
    rendered = next(r for r in results if r.step == "render_reports")
    assert rendered.summary["filings"] == ["2025-06", "2025Q2"]
    filings = {p: sorted(folder_for(settings, p).iterdir()) for p in rendered.summary["filings"]}
    yield Platform(settings, landing, filings)


# --------------------------------------------------------------------------- the independent recomputation


def _read(landing: Path, name: str, upto: date) -> pd.DataFrame:
    """Every delivered row of a file by ``upto``, minus the malformed ones, latest version per key."""
    malformed = pd.read_csv(landing / "_truth" / "malformed.csv", dtype=str)
    bad = {(r.business_date, int(r.row_number)) for r in malformed[malformed.file == name].itertuples()}
    frames = []
    for folder in sorted(p for p in landing.iterdir() if p.name[:1].isdigit()):
        if date.fromisoformat(folder.name) > upto:
            continue
        frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        frame["_day"] = folder.name
        frame["_row"] = range(1, len(frame) + 1)
        frames.append(frame[[(folder.name, n) not in bad for n in frame["_row"]]])
    rows = pd.concat(frames, ignore_index=True)
    key, version = KEYS[name]
    rows = rows.sort_values([*version, "_day", "_row"]).drop_duplicates(key, keep="last")
    return rows.reset_index(drop=True)


def _money(series: pd.Series) -> pd.Series:
    return series.map(lambda v: Decimal(v) if v != "" else Decimal(0))


def _court_caps(contract_dates: pd.Series) -> pd.Series:
    """4 x the one-year LPR in force on the contract date (24 % before 2020-08-20), from the seeds."""
    seeds = REPO_ROOT / "dbt_project" / "seeds" / "reference"
    with (seeds / "lpr_one_year_rates.csv").open(newline="") as handle:
        lpr = [
            (r["valid_from"], r["valid_to"] or "9999-12-31", Decimal(r["rate_percent"]) / 100)
            for r in csv.DictReader(handle)
        ]

    def cap(day: str) -> Decimal:
        if day < "2020-08-20":
            return Decimal("0.24")
        return next(4 * rate for start, end, rate in lpr if start <= day < end)

    return contract_dates.map(cap)


def recompute(
    landing: Path, as_of: date, period: Period, pack_parameters: dict[str, Any]
) -> dict[tuple[str, str], Decimal | None]:
    """The filing's indicators, (id, breakdown) -> value, from the landing CSVs alone."""
    d = as_of.isoformat()
    loans = _read(landing, "loans", as_of)
    loans = loans[loans.disbursement_date <= d].copy()
    schedules = _read(landing, "schedules", as_of)
    repayments = _read(landing, "repayments", as_of)
    repayments = repayments[repayments.paid_at.str[:10] <= d].copy()
    fundings = _read(landing, "fundings", as_of)
    for column in ("principal", "upfront_fee"):
        loans[column] = _money(loans[column])
    for column in ("principal_due", "interest_due", "fee_due"):
        schedules[column] = _money(schedules[column])
    for column in ("principal_paid", "interest_paid", "fee_paid", "penalty_paid"):
        repayments[column] = _money(repayments[column])

    # Payments name their installment in the generated data: the waterfall has nothing to do.
    named = repayments.merge(schedules[["loan_id", "installment_no"]], on=["loan_id", "installment_no"])
    assert len(named) == len(repayments)
    paid = named.groupby(["loan_id", "installment_no"])[["principal_paid", "interest_paid", "fee_paid"]].sum()
    inst = schedules.merge(paid, how="left", left_on=["loan_id", "installment_no"], right_index=True)
    for c in ("principal", "interest", "fee"):
        inst[f"{c}_paid"] = inst[f"{c}_paid"].map(lambda v: v if isinstance(v, Decimal) else Decimal(0))
        inst[f"{c}_unpaid"] = [
            max(a - b, Decimal(0)) for a, b in zip(inst[f"{c}_due"], inst[f"{c}_paid"], strict=True)
        ]
    inst["unpaid"] = inst.principal_unpaid + inst.interest_unpaid + inst.fee_unpaid
    inst["overdue"] = (inst.due_date < d) & (inst.unpaid > 0)
    inst["dpd"] = [
        (as_of - date.fromisoformat(due)).days if over else 0
        for due, over in zip(inst.due_date, inst.overdue, strict=True)
    ]

    repaid = repayments.groupby("loan_id").principal_paid.sum()
    loans["remaining"] = [
        max(p - repaid.get(i, Decimal(0)), Decimal(0))
        for i, p in zip(loans.loan_id, loans.principal, strict=True)
    ]
    loans["outstanding"] = (loans.status == "active") & (loans.remaining > 0)
    by_loan = inst.groupby("loan_id")
    dpd = by_loan.dpd.max()
    overdue_amount = inst[inst.overdue].groupby("loan_id").unpaid.sum()
    interest_unpaid = by_loan.interest_unpaid.sum()
    loans["dpd"] = [dpd.get(i, 0) if o else 0 for i, o in zip(loans.loan_id, loans.outstanding, strict=True)]
    loans["is_overdue"] = loans.outstanding & (loans.dpd > 0)
    loans["is_90"] = loans.outstanding & (loans.dpd > pack_parameters["serious_overdue_days"])
    loans["overdue_amount"] = [
        overdue_amount.get(i, Decimal(0)) if o else Decimal(0)
        for i, o in zip(loans.loan_id, loans.outstanding, strict=True)
    ]
    loans["out_principal"] = [
        r if o else Decimal(0) for r, o in zip(loans.remaining, loans.outstanding, strict=True)
    ]
    outstanding = loans[loans.outstanding]
    related = outstanding[outstanding.is_related_party == "true"]
    written_off = loans[loans.status == "written_off"]
    # Written off gross: the principal unpaid on the write-off date; recoveries: all received after it.
    off_on = dict(zip(written_off.loan_id, written_off.written_off_date, strict=True))
    after_off = [
        bool(off_on.get(i)) and paid[:10] > off_on[i]
        for i, paid in zip(repayments.loan_id, repayments.paid_at, strict=True)
    ]
    before_off = repayments[[not a for a in after_off]].groupby("loan_id").principal_paid.sum()
    recovered = repayments[after_off]
    recovered_total = sum(
        recovered.principal_paid + recovered.interest_paid + recovered.fee_paid + recovered.penalty_paid,
        Decimal(0),
    )
    written_off_gross = sum(
        (
            max(p - before_off.get(i, Decimal(0)), Decimal(0))
            for i, p in zip(written_off.loan_id, written_off.principal, strict=True)
        ),
        Decimal(0),
    )
    compensations = repayments[repayments.payer_type != "borrower"]
    comp_amount = (
        compensations.principal_paid
        + compensations.interest_paid
        + compensations.fee_paid
        + compensations.penalty_paid
    )
    exposure = outstanding.groupby("borrower_id").out_principal.sum().sort_values(ascending=False)
    funded = fundings[(fundings.funded_at.str[:10] <= d) & fundings.loan_id.isin(loans.loan_id)]
    start = period.start.isoformat()
    in_period = loans[
        (loans.disbursement_date >= start) & (loans.disbursement_date <= period.end.isoformat())
    ]

    m: dict[str, Decimal] = {
        "cumulative_loan_amount": sum(loans.principal, Decimal(0)),
        "cumulative_loan_count": Decimal(len(loans)),
        "period_loan_amount": sum(in_period.principal, Decimal(0)),
        "period_loan_count": Decimal(len(in_period)),
        "outstanding_principal": sum(outstanding.out_principal, Decimal(0)),
        "outstanding_loan_count": Decimal(len(outstanding)),
        "outstanding_interest": sum(
            (interest_unpaid.get(i, Decimal(0)) for i in outstanding.loan_id), Decimal(0)
        ),
        "cumulative_lender_count": Decimal(funded.funder_id.nunique()),
        "cumulative_borrower_count": Decimal(loans.borrower_id.nunique()),
        "period_lender_count": Decimal(funded[funded.funded_at.str[:10] >= start].funder_id.nunique()),
        "period_borrower_count": Decimal(loans[loans.disbursement_date >= start].borrower_id.nunique()),
        "related_party_outstanding_principal": sum(related.out_principal, Decimal(0)),
        "related_party_loan_count": Decimal(len(related)),
        "overdue_amount": sum(loans.overdue_amount, Decimal(0)),
        "overdue_loan_count": Decimal(int(loans.is_overdue.sum())),
        "overdue_loan_principal": sum(loans[loans.is_overdue].out_principal, Decimal(0)),
        "overdue_90_plus_amount": sum(loans[loans.is_90].overdue_amount, Decimal(0)),
        "overdue_90_plus_loan_count": Decimal(int(loans.is_90.sum())),
        "overdue_90_plus_loan_principal": sum(loans[loans.is_90].out_principal, Decimal(0)),
        "written_off_principal": written_off_gross,
        "written_off_loan_count": Decimal(len(written_off)),
        "recovered_amount": recovered_total,
        "written_off_principal_net": written_off_gross - recovered_total,
        "compensated_amount": sum(comp_amount, Decimal(0)),
        "compensated_payment_count": Decimal(len(compensations)),
        "top10_outstanding_principal": sum(exposure.iloc[:10], Decimal(0)),
        "largest_outstanding_principal": exposure.iloc[0],
    }
    out: dict[tuple[str, str], Decimal | None] = {
        (k, "total"): v for k, v in m.items() if not k.startswith(("top10_", "largest_"))
    }

    def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
        return numerator / denominator if denominator else None

    for name in DEFINED_RATES:
        spec = pack_parameters[name]
        terms = [spec["numerator"]] if isinstance(spec["numerator"], str) else spec["numerator"]
        out[(name, "total")] = ratio(sum((m[t] for t in terms), Decimal(0)), m[spec["denominator"]])
    out[("top10_borrower_share", "total")] = ratio(
        m["top10_outstanding_principal"], m["outstanding_principal"]
    )
    out[("largest_borrower_share", "total")] = ratio(
        m["largest_outstanding_principal"], m["outstanding_principal"]
    )

    # Aging buckets of the outstanding principal and loans; compensation by payer; partners.
    bounds = pack_parameters["overdue_bucket_upper_days"]

    def bucket(days: int) -> str:
        if days <= 0:
            return "current"
        lower = 1
        for upper in bounds:
            if days <= upper:
                return f"{lower}-{upper}"
            lower = upper + 1
        return f"more than {bounds[-1]}"

    labels = [
        "current",
        *(f"{lo}-{hi}" for lo, hi in zip([1, *[b + 1 for b in bounds[:-1]]], bounds, strict=True)),
        f"more than {bounds[-1]}",
    ]
    buckets = outstanding.dpd.map(bucket)
    for label in labels:
        out[("outstanding_principal_by_aging", label)] = sum(
            outstanding.out_principal[buckets == label], Decimal(0)
        )
        out[("outstanding_loans_by_aging", label)] = Decimal(int((buckets == label).sum()))
    for payer in ("guarantor", "platform"):
        rows = compensations.payer_type == payer
        out[("compensated_amount_by_payer", payer)] = sum(comp_amount[rows], Decimal(0))
        out[("compensated_payments_by_payer", payer)] = Decimal(int(rows.sum()))
    seeds = REPO_ROOT / "dbt_project" / "seeds" / "reference"
    with (seeds / "partner_institutions.csv").open(newline="") as handle:
        partners = [
            r["partner_id"] for r in csv.DictReader(handle) if r["valid_from"] <= period.end.isoformat()
        ]
    for partner in partners:
        mine = outstanding[outstanding.partner_id == partner]
        out[("partner_outstanding_principal", partner)] = sum(mine.out_principal, Decimal(0))
        out[("partner_outstanding_loan_count", partner)] = Decimal(len(mine))
    with (seeds / "product_fee_schedules.csv").open(newline="") as handle:
        for r in csv.DictReader(handle):
            out[("fee_rate_min", f"{r['product_code']}:{r['fee_name']}")] = Decimal(r["rate_min"])
            out[("fee_rate_max", f"{r['product_code']}:{r['fee_name']}")] = Decimal(r["rate_max"])

    # Real APR of the period's loans, solved here from the schedule CSV (PBOC simple IRR).
    flows = schedules.assign(amount=schedules.principal_due + schedules.interest_due + schedules.fee_due)
    private = set(fundings[fundings.funder_type == "individual_lender"].loan_id)
    aprs, weights, above = [], [], {"comprehensive": 0, "void": 0, "court": 0}
    court_caps = _court_caps(in_period.contract_date)
    bins = [0] * 21
    for loan, cap in zip(in_period.itertuples(), court_caps, strict=True):
        mine = flows[flows.loan_id == loan.loan_id]
        rate = annual_rate(
            advances=[(date.fromisoformat(loan.disbursement_date), float(loan.principal - loan.upfront_fee))],
            payments=[
                (date.fromisoformat(x), float(a)) for x, a in zip(mine.due_date, mine.amount, strict=True)
            ],
            method="cn_irr",
        )
        aprs.append(rate)
        weights.append(float(loan.principal))
        above["comprehensive"] += rate > 0.24
        above["void"] += rate > 0.36
        above["court"] += loan.loan_id in private and rate > float(cap)
        bins[min(max(int(rate * 50 + 1e-9), 0), 20)] += (
            1  # a rate on a bin edge (e.g. 0.14) is in the upper bin
        )
    out[("real_apr_weighted_mean", "total")] = Decimal(
        sum(r * w for r, w in zip(aprs, weights, strict=True)) / sum(weights)
    )
    out[("real_apr_max", "total")] = Decimal(max(aprs))
    for key, name in (("comprehensive", "comprehensive_cap"), ("void", "void_line"), ("court", "court_cap")):
        out[(f"real_apr_share_above_{name}", "total")] = Decimal(above[key]) / Decimal(len(aprs))
    for k in range(20):
        out[("real_apr_distribution", f"{2 * k:02d}")] = Decimal(bins[k])
    out[("real_apr_distribution", "40+")] = Decimal(bins[20])
    out[("rate_cap_in_force", "comprehensive_cap_rate")] = Decimal("0.24")
    out[("rate_cap_in_force", "void_line_rate")] = Decimal("0.36")
    private_caps = [c for c, i in zip(court_caps, in_period.loan_id, strict=True) if i in private]
    out[("rate_cap_in_force", "court_cap_rate")] = max(private_caps) if private_caps else None
    return out


def _filed(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("period_id", ["2025-06", "2025Q2"])
def test_every_indicator_equals_an_independent_recomputation(platform: Platform, period_id: str) -> None:
    document = _filed(folder_for(platform.settings, period_id) / "disclosure_indicators.json")
    assert document["status"] == "final" and document["as_of_date"] == CLOSE.isoformat()
    pack = load_pack(platform.settings.pack_dir)
    expected = recompute(
        platform.landing, CLOSE, Period.parse(period_id), {k: p.value for k, p in pack.parameters.items()}
    )
    filed = {(i["id"], i["breakdown"]): i for i in document["indicators"]}
    assert set(filed) == set(expected)
    # The platform exercises what it is meant to: overdue, 90+, write-offs, compensation.
    for name in (
        "overdue_loan_count",
        "overdue_90_plus_loan_count",
        "written_off_loan_count",
        "compensated_payment_count",
    ):
        assert expected[(name, "total")], name
    for key, want in sorted(expected.items()):
        got = filed[key]["value"]
        unit = filed[key]["unit"]
        if want is None:
            assert got is None, key
        elif unit == "CNY":
            assert Decimal(got) == want.quantize(CENT), key  # to the cent
        elif unit == "count":
            assert Decimal(got) == want, key
        else:
            assert abs(Decimal(got) - want) <= Decimal("1e-8"), (key, got, want)
    # Each rate prints its definition, numerator and denominator (pack parameters for the three).
    for name in DEFINED_RATES:
        item = filed[(name, "total")]
        assert item["definition"].startswith(
            " + ".join(
                [pack.parameters[name].value["numerator"]]
                if isinstance(pack.parameters[name].value["numerator"], str)
                else pack.parameters[name].value["numerator"]
            )
        )
        assert item["numerator"] is not None and item["denominator"] is not None
        assert document["rate_definitions"][name]["value"] == pack.parameters[name].value


def test_disclosure_rules_find_exactly_the_breaches(platform: Platform) -> None:
    """Borrower limits and related-party loans, from GX on the marts, against pandas on the CSVs."""
    loans = _read(platform.landing, "loans", CLOSE)
    loans = loans[loans.disbursement_date <= CLOSE.isoformat()].copy()
    repayments = _read(platform.landing, "repayments", CLOSE)
    repaid = (
        repayments[repayments.paid_at.str[:10] <= CLOSE.isoformat()]
        .assign(p=lambda f: _money(f.principal_paid))
        .groupby("loan_id")
        .p.sum()
    )
    loans["left"] = [
        Decimal(p) - repaid.get(i, Decimal(0)) for i, p in zip(loans.loan_id, loans.principal, strict=True)
    ]
    live = loans[(loans.status == "active") & (loans.left > 0)]
    exposure = live.groupby(["borrower_id", "borrower_type"]).left.sum().reset_index()
    over_people = set(
        exposure[(exposure.borrower_type == "individual") & (exposure.left > 200_000)].borrower_id
    )
    over_firms = set(
        exposure[(exposure.borrower_type == "enterprise") & (exposure.left > 1_000_000)].borrower_id
    )
    related = set(loans[loans.is_related_party == "true"].loan_id)
    with warehouse.connect(platform.settings.warehouse_path, read_only=True) as con:
        found: dict[str, set[str]] = {}
        for rule_id, key in con.execute(
            "SELECT rule_id, entity_key FROM results.exceptions WHERE business_date = ? AND rule_id LIKE 'cn.disclosures.%'",
            [CLOSE],
        ).fetchall():
            found.setdefault(rule_id, set()).add(key)
        shares = con.execute(
            "SELECT top10_borrower_share, single_borrower_share FROM marts.fct_platform_concentration"
        ).fetchone()
    assert over_firms, "the platform should have an entity above CNY 1,000,000"
    assert found.get("cn.disclosures.individual_borrower_limit", set()) == over_people
    assert found.get("cn.disclosures.entity_borrower_limit", set()) == over_firms
    assert found.get("cn.disclosures.related_party_loan", set()) == related
    assert shares is not None
    assert ("platform" in found.get("cn.disclosures.top10_borrower_concentration", set())) == (
        shares[0] > Decimal("0.5")
    )
    assert ("platform" in found.get("cn.disclosures.single_borrower_concentration", set())) == (
        shares[1] > Decimal("0.1")
    )


def test_json_validates_against_its_schema(platform: Platform) -> None:
    import jsonschema

    schema = json.loads((REPO_ROOT / "reports" / "filing_disclosure.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for period_id in platform.filings:
        document = _filed(folder_for(platform.settings, period_id) / "disclosure_indicators.json")
        jsonschema.Draft202012Validator(schema).validate(document)
        broken = json.loads(json.dumps(document))
        broken["indicators"][0]["value"] = 12.5  # a float, not an exact decimal string
        with pytest.raises(FilingError, match=r"breaks filing_disclosure\.schema\.json"):
            validate_document(broken, platform.settings)


def test_pdf_first_page_shows_the_indicator_table_and_a_chart(platform: Platform) -> None:
    from PIL import Image, ImageStat
    from pypdf import PdfReader

    pdf = folder_for(platform.settings, "2025Q2") / "disclosure_indicators.pdf"
    reader = PdfReader(pdf)
    first = reader.pages[0].extract_text()
    for heading in (
        "Operating indicators, 2025Q2",
        "Indicator",
        "Value",
        "Numerator",
        "Denominator",
        "Outstanding balance (principal)",
        "Bad-debt rate",
    ):
        assert heading in first, heading
    # The charts are SVG drawn by WeasyPrint as vectors: their titles are text on page 1.
    assert "Overdue rates, 2025Q2" in first
    assert "Real APR of the loans disbursed in 2025Q2" in first
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = ARTIFACTS / "filing_2025Q2_page"
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "60", "-png", "-singlefile", str(pdf), str(prefix)],
        check=True,
    )
    image = Image.open(f"{prefix}.png").convert("L")
    assert image.width > 300 and image.height > 400
    stat = ImageStat.Stat(image)
    assert stat.stddev[0] > 20, "page 1 looks blank"
    # The chart area (lower part of page 1) is not blank either: bars and lines are drawn there.
    lower = image.crop((0, image.height // 2, image.width, image.height))
    assert ImageStat.Stat(lower).stddev[0] > 20


def test_filing_twice_gives_identical_bytes(platform: Platform, tmp_path: Path) -> None:
    from regwatch.cli import main

    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in platform.filings["2025Q2"]}
    assert {
        "disclosure_indicators.html",
        "disclosure_indicators.pdf",
        "disclosure_indicators.json",
        "disclosure_indicators.csv",
        "overdue_rate_trend.svg",
        "apr_distribution.svg",
    } == set(before)
    again = file_period(platform.settings, "2025Q2")
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in again} == before
    # the platform was sealed with its PDF: the command must render it too (conftest sets NO_PDF)
    env = {
        "REGWATCH_HOME": str(REPO_ROOT),
        "REGWATCH_VAR": str(platform.settings.var_dir),
        "REGWATCH_NO_PDF": "0",
    }
    result = CliRunner().invoke(main, ["filing", "--period", "2025Q2"], env=env)
    assert result.exit_code == 0, result.output
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in again} == before
    # The filing was sealed with the closing date's run.
    manifest = json.loads(sorted((platform.settings.ledger_dir).glob(f"*{CLOSE}*.json"))[-1].read_text())
    sealed = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert sealed["reports/filings/2025Q2/disclosure_indicators.pdf"] == before["disclosure_indicators.pdf"]


def test_a_period_not_run_is_refused_in_one_line(platform: Platform) -> None:
    from regwatch.cli import main

    # the platform was sealed with its PDF: the command must render it too (conftest sets NO_PDF)
    env = {
        "REGWATCH_HOME": str(REPO_ROOT),
        "REGWATCH_VAR": str(platform.settings.var_dir),
        "REGWATCH_NO_PDF": "0",
    }
    result = CliRunner().invoke(main, ["filing", "--period", "2025Q3"], env=env)
    assert result.exit_code == 2
    assert "no business date of period 2025Q3" in result.output
    assert not folder_for(platform.settings, "2025Q3").exists()
    shutil.rmtree(folder_for(platform.settings, "2025Q3"), ignore_errors=True)


def test_an_open_period_is_refused_or_filed_provisionally_and_marked(
    platform: Platform, tmp_path: Path
) -> None:
    """As if only 2025-06-27 had been run: June is not closed yet (the JSON and HTML read: no PDF)."""
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp_path / "var", landing_dir=platform.landing
    )
    settings.warehouse_path.parent.mkdir(parents=True)
    shutil.copy(platform.settings.warehouse_path, settings.warehouse_path)
    with warehouse.connect(settings.warehouse_path) as con:
        con.execute("DELETE FROM reporting.rpt_disclosure_indicators WHERE business_date = ?", [CLOSE])
    with pytest.raises(FilingError, match=r"not closed.*2025-06-30.*2025-06-27.*--provisional"):
        file_period(settings, "2025-06")
    paths = file_period(settings, "2025-06", provisional=True)
    assert {p.parent.name for p in paths} == {"2025-06_provisional"}
    document = _filed(paths[0].parent / "disclosure_indicators.json")
    assert document["status"] == "provisional" and document["as_of_date"] == FIRST.isoformat()
    validate_document(document, settings)
    html = (paths[0].parent / "disclosure_indicators.html").read_text()
    assert "PROVISIONAL" in html and "not closed" in html
    assert not folder_for(settings, "2025-06").exists()


_RUN_FILING = """
import json
import pendulum
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

dag = DagBag(dag_folder=%(dags)r).get_dag("regwatch_filing")
run = dag.test(logical_date=pendulum.parse(%(logical_date)r))
with create_session() as session:
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}
    xcoms = {x.task_id: XComModel.deserialize_value(x)
             for x in session.scalars(XComModel.get_many(run_id=run.run_id, key="return_value"))}
print(json.dumps({"run_state": str(run.state), "states": states, "xcoms": xcoms}, default=str))
"""


def test_the_filing_dag_files_june_and_q2_from_the_daily_output(
    platform: Platform, tmp_path: Path, airflow_db: Path
) -> None:
    """``dag.test`` at 2025-07-01 07:00 takes the interval [06-01 06:00, 07-01 06:00): June, and Q2.
    Airflow's metadata database is the session's, migrated once (``airflow_db``, tests/conftest.py)."""
    import sys

    from tests.integration.test_dags import DAGS, _airflow_env, _airflow_home, _last_json

    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in platform.filings["2025-06"]}
    env = _airflow_env(
        _airflow_home(tmp_path / "airflow", airflow_db),
        REGWATCH_HOME=str(REPO_ROOT),
        REGWATCH_LANDING=str(platform.landing),
        REGWATCH_VAR=str(platform.settings.var_dir),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _RUN_FILING % {"dags": str(DAGS), "logical_date": "2025-07-01T07:00:00+00:00"},
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = _last_json(done)
    assert result["states"] == dict.fromkeys(
        ["check_period_closed", "file_month", "file_quarter"], "success"
    ), done.stdout[-3000:] + done.stderr[-3000:]
    assert result["xcoms"]["check_period_closed"] == {"period": "2025-06", "as_of_date": CLOSE.isoformat()}
    assert result["xcoms"]["file_month"]["period"] == "2025-06"
    assert result["xcoms"]["file_quarter"]["period"] == "2025Q2"
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in platform.filings["2025-06"]}
    assert after == before
