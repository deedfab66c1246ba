"""The delivery verdict (issue 13, observation 2): which deliveries stop a run, and why."""

from __future__ import annotations

from datetime import date

import pytest

from regwatch.files import sha256_bytes
from regwatch.ingest.delivery import DeliveryPolicy, assess
from regwatch.ingest.load import FileLoad, IngestResult

DAY = date(2025, 6, 2)
POLICY = DeliveryPolicy()
FILES = ("accounts", "fundings", "fx_rates", "loans", "repayments", "schedules", "transactions")


def _load(name: str, read: int = 10, quarantined: int = 0, **kw: object) -> FileLoad:
    fields: dict[str, object] = {
        "status": "loaded_with_quarantine" if quarantined else "loaded",
        "sha256": sha256_bytes(name.encode()),
    }
    fields.update(kw)
    return FileLoad(
        name,
        f"{DAY}/{name}.csv",
        str(fields.pop("sha256")),
        read,
        read - quarantined if fields.get("status") != "rejected" else 0,
        quarantined if fields.get("status") != "rejected" else read,
        **fields,  # type: ignore[arg-type]
    )


def _result(
    *changed: FileLoad, omit: tuple[str, ...] = (), unknown: tuple[tuple[str, str | None], ...] = ()
) -> IngestResult:
    by_name = {f.file_name: f for f in changed}
    files = tuple(by_name.get(n, _load(n)) for n in FILES if n not in omit)
    files += tuple(f for f in changed if f.file_name not in FILES)
    return IngestResult(DAY, "20250602-load", "sha", files, unknown)


def test_a_clean_delivery_is_complete() -> None:
    verdict = assess(_result(), POLICY)
    assert verdict.status == "complete" and not verdict.blocking
    assert {f.status for f in verdict.files} == {"loaded"}


@pytest.mark.parametrize(
    ("load", "words"),
    [
        (
            _load(
                "transactions",
                status="rejected",
                reason="missing required column amount: whole file quarantined",
            ),
            "rejected: missing required column amount",
        ),
        (_load("transactions", read=0, status="empty", reason="no data records"), "must bring records"),
        (_load("loans", read=0, status="empty", sha256=sha256_bytes(b"")), "0 bytes"),
        (_load("transactions", read=12, quarantined=11), "11 of 12 records quarantined (91.7%)"),
        (_load("fx_rates", read=3, quarantined=3), "no record loaded"),
        (_load("watchlist", read=21, quarantined=2), "the list lost entries"),
        (_load("watchlist", read=0, status="empty", reason="no data records"), "screens nobody"),
    ],
)
def test_each_kind_of_bad_delivery_blocks_naming_file_and_reason(load: FileLoad, words: str) -> None:
    verdict = assess(_result(load), POLICY)
    assert verdict.status == "rejected"
    (blocking,) = verdict.blocking
    assert blocking.file_name == load.file_name
    assert words in verdict.line and f"{DAY}/{load.file_name}.csv" in verdict.line
    assert "--accept-degraded" in verdict.line


def test_a_missing_required_file_blocks_and_points_at_a_misnamed_one() -> None:
    verdict = assess(
        _result(omit=("transactions",), unknown=(("transactions (1).csv", "transactions"),)), POLICY
    )
    assert [(f.file_name, f.status) for f in verdict.blocking] == [("transactions", "missing")]
    assert "transactions (1).csv is there" in verdict.line
    unknown = next(f for f in verdict.files if f.status == "unknown")
    assert not unknown.blocking and "did you mean transactions?" in (unknown.reason or "")


@pytest.mark.parametrize(
    "load",
    [
        _load("loans", read=0, status="empty", reason="no data records"),  # a quiet day: no new loan
        _load("loans", read=9, quarantined=8),  # 8 records: under min_quarantined_records
        _load("repayments", read=1, quarantined=1),  # one bad payment of a quiet day: in the report
        _load("transactions", read=200, quarantined=10),  # 5.0 %: not over the share
        _load("transactions", read=185, quarantined=10),  # 5.4 % but only 10 records
    ],
)
def test_what_the_pack_tolerates_does_not_block(load: FileLoad) -> None:
    assert assess(_result(load), POLICY).status == "complete"


def test_the_limits_are_pack_parameters() -> None:
    strict = DeliveryPolicy.from_parameters(
        {"max_quarantined_share": 0.01, "min_quarantined_records": 0, "files_allowed_empty": []}
    )
    assert assess(_result(_load("transactions", read=200, quarantined=3)), strict).status == "rejected"
    quiet = _load("loans", read=0, status="empty", reason="no data records")
    assert assess(_result(quiet), strict).status == "rejected"
    with pytest.raises(ValueError, match="names no input file"):
        DeliveryPolicy.from_parameters({"files_allowed_empty": ["transaction"]})


def test_an_accepted_degraded_delivery_keeps_its_reason() -> None:
    bad = _load("transactions", status="rejected", reason="missing required column amount")
    verdict = assess(_result(bad), POLICY, "  regulator deadline; file re-sent Monday ")
    assert verdict.status == "degraded"
    assert verdict.accepted_reason == "regulator deadline; file re-sent Monday"
    assert "DEGRADED" in verdict.line and "transactions.csv" in verdict.line
    # nothing to accept: the reason is not recorded (and does not change the run id)
    assert assess(_result(), POLICY, "just in case").accepted_reason is None


def test_an_empty_schedules_file_beside_new_loans_is_an_amber_note_not_silence() -> None:
    """Issue 15, point 4: a delivery whose schedules.csv is empty was accepted without a word
    and every loan's overdue dropped to 0. The pack still lets a quiet day bring it empty
    (files_allowed_empty), so it does not block; but beside loans it is a note naming both
    files and what regwatch does instead (installments rebuilt from the loan terms)."""
    empty = _load("schedules", read=0, status="empty", reason="header only: no data records")
    verdict = assess(_result(empty, _load("loans", read=3)), POLICY)
    assert verdict.status == "complete" and not verdict.blocking
    (note,) = verdict.notes
    assert f"{DAY}/schedules.csv" in note and f"3 loan records of {DAY}/loans.csv" in note
    assert "rebuilt from the loan terms" in note
    # the note survives the round trip through results.delivery_log (rows are stored)
    schedules = next(f for f in verdict.files if f.file_name == "schedules")
    assert schedules.reason is not None and "rebuilt from the loan terms" in schedules.reason
    # all of its records quarantined: the same
    lost = _load("schedules", read=4, quarantined=4)
    assert len(assess(_result(lost, _load("loans", read=2)), POLICY).notes) == 1
    # a quiet day (no loan either) or a delivered schedule: nothing to say
    quiet = _load("loans", read=0, status="empty", reason="header only: no data records")
    assert assess(_result(empty, quiet), POLICY).notes == ()
    assert assess(_result(), POLICY).notes == ()
