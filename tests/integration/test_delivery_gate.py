"""Issue 13, observation 2: a whole file rejected must stop the run before transform, loudly.

Each case was exit 0 with a green "balanced" badge on the old code (the day ran with no
transactions). Now: exit 2, one line on stderr naming the file and why, nothing
computed (no dbt target, no report), the verdict stored; ``--accept-degraded "reason"``
runs the day anyway with a red DEGRADED band and the reason in the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from regwatch import pipeline
from regwatch.cli import main
from regwatch.config import Settings
from regwatch.ingest.delivery import DeliveryRejectedError
from tests.conftest import DAY, DEGRADED_REASON, GOOD_ROWS, REPO_ROOT, CliDay
from tests.helpers import private_copy

pytestmark = pytest.mark.integration

HEADER, ROW = GOOD_ROWS["transactions"].splitlines()


def _without_amount(line: str) -> str:
    fields = line.split(",")
    del fields[HEADER.split(",").index("amount")]
    return ",".join(fields)


def _bad_amount(n: int) -> str:
    return ROW.replace("T1,", f"T{n},").replace("50000.00", "-1.00")


TRANSACTIONS: dict[str, tuple[bytes, str]] = {
    # case: (transactions.csv, what the error line must say)
    "renamed_column": (
        f"{HEADER.replace(',amount,', ',txn_amount,')}\n{ROW}\n".encode(),
        "missing required column amount",
    ),
    "missing_column": (
        f"{_without_amount(HEADER)}\n{_without_amount(ROW)}\n".encode(),
        "missing required column amount",
    ),
    "zero_bytes": (b"", "0 bytes"),
    "header_only": (f"{HEADER}\n".encode(), "no data records"),
    "over_quarantine_limit": (
        (f"{HEADER}\n{ROW}\n" + "".join(_bad_amount(n) + "\n" for n in range(2, 14))).encode(),
        "12 of 13 records quarantined",
    ),
}


def _env(tmp: Path, landing: Path) -> dict[str, str]:
    return {
        "REGWATCH_HOME": str(REPO_ROOT),
        "REGWATCH_VAR": str(tmp / "var"),
        "REGWATCH_LANDING": str(landing),
    }


def _verdict(tmp: Path) -> list[tuple[str, str, str, bool]]:
    con = duckdb.connect(str(tmp / "var" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT verdict, file_name, status, blocking FROM results.delivery_log WHERE blocking ORDER BY file_name"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("case", sorted(TRANSACTIONS))
def test_a_rejected_transactions_file_stops_the_run_with_exit_2(
    case: str, make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    data, words = TRANSACTIONS[case]
    landing = make_landing(replace={"transactions": data})
    result = CliRunner().invoke(main, ["run", "--business-date", str(DAY)], env=_env(tmp_path, landing))
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, errors
    assert errors[0].startswith("regwatch: error: delivery of 2025-06-02 rejected, nothing computed")
    assert f"{DAY}/transactions.csv" in errors[0] and words in errors[0], errors[0]
    assert "transform" not in result.stdout  # the run stopped after ingest
    assert not (tmp_path / "var" / "dbt").exists() and not (tmp_path / "var" / "reports").exists()
    assert _verdict(tmp_path) == [("rejected", "transactions", _verdict(tmp_path)[0][2], True)]


def test_a_missing_required_file_exits_2_naming_it(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    landing = make_landing(omit=("transactions",))
    result = CliRunner().invoke(main, ["run", "--business-date", str(DAY)], env=_env(tmp_path, landing))
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert errors == [
        f"regwatch: error: missing required input file transactions for {DAY} in {landing / DAY.isoformat()}"
    ]


def test_a_watch_list_that_lost_an_entry_stops_the_run(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    landing = make_landing()
    (landing / DAY.isoformat() / "watchlist.csv").write_text(
        "list_id,name,aliases,date_of_birth,country,list_name\n"
        "W1,Ivan Petrov,,1970-01-01,RU,OFAC SDN\n"
        "W2,,,1971-02-03,RU,OFAC SDN\n"
    )
    result = CliRunner().invoke(main, ["run", "--business-date", str(DAY)], env=_env(tmp_path, landing))
    assert result.exit_code == 2, result.output
    assert "watchlist.csv" in result.stderr and "the list lost entries" in result.stderr


def test_a_cased_header_loads_and_the_delivery_is_complete(
    make_landing: Callable[..., Path], settings: Settings
) -> None:
    """``Amount`` for ``amount`` is the same column (ingest matches headers ignoring case):
    the record loads and the delivery is complete (on the old code the file was rejected
    whole and the day ran green without it)."""
    cased = f"{HEADER.replace(',amount,', ',Amount,')}\n{ROW}\n".encode()
    settings = replace(settings, landing_dir=make_landing(replace={"transactions": cased}))
    summary = pipeline.ingest(DAY, settings).summary
    assert summary["files"]["transactions"] == {"read": 1, "loaded": 1, "quarantined": 0}
    assert summary["delivery"] == "complete"


def test_a_rejected_date_blocks_transform_and_the_dates_after_it(
    make_landing: Callable[..., Path], settings: Settings
) -> None:
    landing = make_landing(replace={"transactions": TRANSACTIONS["renamed_column"][0]})
    settings = replace(settings, landing_dir=landing)
    with pytest.raises(DeliveryRejectedError, match=r"transactions\.csv: rejected"):
        pipeline.ingest(DAY, settings)
    with pytest.raises(DeliveryRejectedError, match="delivery of 2025-06-02 rejected"):
        pipeline.transform(DAY, settings)  # called on its own (an Airflow task, a script)
    following = DAY + timedelta(days=1)
    (landing / following.isoformat()).mkdir()
    for name, text in GOOD_ROWS.items():
        (landing / following.isoformat() / f"{name}.csv").write_text(text)
    with pytest.raises(
        DeliveryRejectedError, match="reads the records of 2025-06-02, whose delivery stands rejected"
    ):
        pipeline.ingest(following, settings)
    # delivered again, complete: both dates go on
    (landing / DAY.isoformat() / "transactions.csv").write_text(GOOD_ROWS["transactions"])
    assert pipeline.ingest(DAY, settings).summary["delivery"] == "complete"
    assert pipeline.ingest(following, settings).summary["delivery"] == "complete"


@pytest.mark.slow
def test_accept_degraded_runs_the_day_with_a_red_band_and_the_reason_in_the_ledger(
    degraded_day: CliDay, tmp_path: Path
) -> None:
    """The renamed-column delivery above, run with ``--accept-degraded "reason"`` (the session's
    :func:`~tests.conftest.degraded_day`, whose schedules.csv is also empty: tolerated, not blocking)."""
    reason = DEGRADED_REASON
    assert (
        TRANSACTIONS["renamed_column"][0]
        == GOOD_ROWS["transactions"].replace(",amount,", ",txn_amount,").encode()
    )
    assert degraded_day.exit_code == 0, degraded_day.stdout + degraded_day.stderr
    assert f"regwatch: warning: delivery of {DAY} DEGRADED, accepted ({reason})" in degraded_day.stderr
    html = (degraded_day.var / "reports" / DAY.isoformat() / "daily_exceptions.html").read_text()
    band = html.index("DEGRADED DELIVERY")
    assert band < html.index('id="summary"'), "the band opens the report"
    assert reason in html and f"{DAY}/transactions.csv" in html and "missing required column amount" in html
    assert '<b class="ok">balanced</b>' not in html and '<b class="bad">DEGRADED</b>' in html
    (manifest,) = (degraded_day.var / "ledger").glob("*.json")
    body = json.loads(manifest.read_text())
    assert body["delivery"]["verdict"] == "degraded"
    assert body["delivery"]["accepted_reason"] == reason
    blocking = [f for f in body["delivery"]["files"] if f["blocking"]]
    assert [(f["file_name"], f["status"]) for f in blocking] == [("transactions", "rejected")]
    # The auditor's rerun (on a copy: the day is the session's) accepts it again with the
    # recorded reason and reproduces every byte.
    var = private_copy(degraded_day.var, tmp_path / "var")
    rerun = CliRunner().invoke(
        main, ["audit", "rerun", "--business-date", str(DAY)], env=degraded_day.env(var)
    )
    assert rerun.exit_code == 0, rerun.output
    assert "identical" in rerun.output and "differs" not in rerun.output
