"""Encodings and screening lists (issue 13 point 3-4, issue 14 point 5).

Chinese platforms export GB18030/GBK; sanctions lists come in latin-1 with CRLF, a
trailing Ctrl-Z and their own null marker (OFAC's ``-0-``). On 3d91e1f every such row
was quarantined as "invalid UTF-8" (GB18030: every row with a Chinese name; latin-1:
every accented entry), and a watch-list entry with a bad optional value was dropped
whole, so the party was never screened.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from regwatch import warehouse
from regwatch.config import Settings
from regwatch.contract import CONTRACTS
from regwatch.demo import generate
from regwatch.ingest.load import FileLoad, IngestError, IngestResult, ingest_day
from regwatch.ledger.archive import Archive
from tests.conftest import DAY, GOOD_ROWS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]
ACCOUNTS_HEADER = GOOD_ROWS["accounts"].splitlines()[0]
TXN_HEADER = GOOD_ROWS["transactions"].splitlines()[0]


def _chinese_name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]


def _chinese_day() -> dict[str, str]:
    accounts = [ACCOUNTS_HEADER] + [
        f"A{i},C{i},individual,{_chinese_name(i)},11010119900307{i:04d},138{i:08d},CN,D{i},"
        "2024-01-05 10:00:00,active,2025-06-02 09:00:00"
        for i in range(1, 41)
    ]
    transactions = [TXN_HEADER] + [
        f"T{i},A{1 + i % 40},2025-06-02 11:{i % 60:02d}:00,credit,{1000 + i}.00,CNY,transfer,"
        f"6222{i:012d},{_chinese_name(i + 3)}有限公司,CN,货款"
        for i in range(1, 163)
    ]
    return {"accounts": "\n".join(accounts) + "\n", "transactions": "\n".join(transactions) + "\n"}


def _ingest(landing: Path, db: Path, archive: Archive | None = None) -> IngestResult:
    with warehouse.connect(db) as con:
        return ingest_day(con, landing, DAY, archive)


def _rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    with warehouse.connect(db) as con:
        return con.execute(f"SELECT * EXCLUDE (_load_id) FROM {table} ORDER BY ALL").fetchall()


def _file(result: IngestResult, name: str) -> FileLoad:
    return next(f for f in result.files if f.file_name == name)


def _landing(root: Path, files: dict[str, bytes]) -> Path:
    folder = root / DAY.isoformat()
    folder.mkdir(parents=True)
    for name, text in GOOD_ROWS.items():
        (folder / f"{name}.csv").write_bytes(files.get(name, text.encode()))
    for name, data in files.items():
        if name not in GOOD_ROWS:
            (folder / (f"{name}.csv" if name in CONTRACTS else name)).write_bytes(data)
    return root


@pytest.mark.parametrize("codec", ["gb18030", "gbk"])
def test_a_gb18030_delivery_loads_like_its_utf8_twin(codec: str, tmp_path: Path) -> None:
    """3d91e1f: 162/162 transactions and every account with a Chinese name quarantined ("invalid UTF-8")."""
    day = _chinese_day()
    utf8 = _landing(tmp_path / "utf8", {n: t.encode("utf-8") for n, t in day.items()})
    gb = _landing(tmp_path / "gb", {n: t.encode(codec) for n, t in day.items()})
    via_utf8 = _ingest(utf8, tmp_path / "utf8.duckdb")
    via_gb = _ingest(gb, tmp_path / "gb.duckdb")
    for name in ("accounts", "transactions"):
        load = _file(via_gb, name)
        assert (load.rows_read, load.rows_quarantined, load.status) == (
            _file(via_utf8, name).rows_read,
            0,
            "loaded",
        )
        assert load.encoding == "gb18030"
        assert load.encoding_evidence.startswith("not UTF-8; decodes as GB18030 with ")
        assert _file(via_utf8, name).encoding_evidence == "valid UTF-8"
        assert _rows(tmp_path / "gb.duckdb", f"raw.{name}") == _rows(tmp_path / "utf8.duckdb", f"raw.{name}")
    with warehouse.connect(tmp_path / "gb.duckdb") as con:
        assert con.execute("SELECT count(*) FROM quarantine.rows").fetchone() == (0,)
        assert con.execute(
            "SELECT encoding FROM results.load_log WHERE file_name = 'transactions'"
        ).fetchone() == ("gb18030",)
        assert con.execute("SELECT full_name FROM raw.accounts WHERE account_id = 'A1'").fetchone() == (
            _chinese_name(1),
        )


def test_a_demo_day_in_gb18030_quarantines_exactly_what_its_utf8_twin_does(tmp_path: Path) -> None:
    """Bad lines (the generator's invalid bytes) stay quarantined; the Chinese lines around them load."""
    generate(tmp_path / "demo", DAY, DAY + timedelta(days=1), loans=40, accounts=60, seed=7)
    folder = tmp_path / "demo" / DAY.isoformat()
    files = {p.stem: p.read_bytes() for p in folder.glob("*.csv")}
    # Chinese names in place of the generator's pinyin, one per account line
    lines = files["accounts"].split(b"\n")
    for i, line in enumerate(lines[1:], start=1):
        fields = line.split(b",")
        if len(fields) == 11:
            fields[3] = _chinese_name(i).encode() + b"\xc2\xb7" + fields[3]  # 王伟·Wang Li
            lines[i] = b",".join(fields)
    files["accounts"] = b"\n".join(lines)
    assert b"\xff\xfe" in files["accounts"] + files["transactions"], "the day carries undecodable lines"
    as_gb = {
        n: d.decode("utf-8", "surrogateescape").encode("gb18030", "surrogateescape") for n, d in files.items()
    }
    utf8 = _landing(tmp_path / "utf8", files)
    gb = _landing(tmp_path / "gb", as_gb)
    via_utf8 = _ingest(utf8, tmp_path / "utf8.duckdb")
    via_gb = _ingest(gb, tmp_path / "gb.duckdb")
    assert _file(via_gb, "accounts").encoding == "gb18030"
    for name in files:
        a, b = _file(via_utf8, name), _file(via_gb, name)
        assert (a.rows_read, a.rows_loaded, a.rows_quarantined) == (
            b.rows_read,
            b.rows_loaded,
            b.rows_quarantined,
        )
        assert _rows(tmp_path / "gb.duckdb", f"raw.{name}") == _rows(tmp_path / "utf8.duckdb", f"raw.{name}")
    where = "SELECT file_name, row_number, column_name FROM quarantine.rows ORDER BY ALL"
    with warehouse.connect(tmp_path / "utf8.duckdb") as con:
        expected = con.execute(where).fetchall()
    with warehouse.connect(tmp_path / "gb.duckdb") as con:
        assert con.execute(where).fetchall() == expected
        reasons = {
            r[0]
            for r in con.execute("SELECT reason FROM quarantine.rows WHERE file_name = 'accounts'").fetchall()
        }
    assert "invalid encoding: not valid gb18030 (tried utf-8, gb18030)" in reasons


WATCH_HEADER = "list_id,name,aliases,date_of_birth,country,list_name"
ACCENTED = ["José Núñez", "François Lefèvre", "Müller, Jürgen", "Zoë Brontë", "Ñandú Peña", "Ångström Øre"]


def _latin_watchlist() -> str:
    rows = [WATCH_HEADER]
    for i in range(21):
        name = f'"{ACCENTED[(i // 3) % len(ACCENTED)]}"' if i % 3 == 0 else f"PERSON {i}"
        rows.append(f"W{i},{name},,1960-01-{1 + i % 28:02d},FR,OFAC-SDN")
    return "\n".join(rows) + "\n"


def test_a_latin1_watch_list_loads_every_entry(tmp_path: Path) -> None:
    """3d91e1f: 21 read, 19 loaded: the accented entries were not screened."""
    landing = _landing(tmp_path / "landing", {"watchlist": _latin_watchlist().encode("latin-1")})
    result = _ingest(landing, tmp_path / "w.duckdb")
    watch = _file(result, "watchlist")
    assert (watch.rows_read, watch.rows_loaded, watch.rows_quarantined, watch.status) == (21, 21, 0, "loaded")
    assert watch.encoding == "latin-1"
    assert "none valid UTF-8" in watch.encoding_evidence
    names = {r[0] for r in _rows_of(tmp_path / "w.duckdb", "SELECT name FROM raw.watchlist")}
    assert set(ACCENTED) <= names


def _rows_of(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with warehouse.connect(db) as con:
        return con.execute(sql).fetchall()


def test_a_cp1252_watch_list_is_read_as_windows_1252(tmp_path: Path) -> None:
    text = WATCH_HEADER + "\nW1,Renée O’Brien,,,IE,UN\nW2,Jean–Luc,,,FR,UN\n"
    landing = _landing(tmp_path / "landing", {"watchlist": text.encode("cp1252")})
    watch = _file(_ingest(landing, tmp_path / "w.duckdb"), "watchlist")
    assert (watch.encoding, watch.rows_loaded) == ("cp1252", 2)
    assert _rows_of(tmp_path / "w.duckdb", "SELECT name FROM raw.watchlist ORDER BY 1") == [
        ("Jean–Luc",),
        ("Renée O’Brien",),
    ]


OFAC = (
    WATCH_HEADER
    + "\r\n"
    + "\r\n".join(
        [
            "36,AEROCARIBBEAN AIRLINES,-0-,-0-,Cuba,SDN",
            '173,"ANGLO-CARIBBEAN CO., LTD.",-0-,-0-,United Kingdom,SDN',
            "306,BANCO NACIONAL DE CUBA,a.k.a. BNC,-0-,Cuba,SDN",
            "2674,HUSSEIN Saddam,-0-,28 Apr 1937,Iraq,SDN",
            "5001,CASTRO RUZ Raúl,-0-,1931-06-03,Cuba,SDN",
            "5002,PEÑA Josué,-0-,circa 1960,-0-,SDN",
            "5003,-0-,-0-,-0-,-0-,SDN",
            "5004,N/A,ALIAS ONLY,-0-,-0-,SDN",
        ]
    )
    + "\r\n"
)


def test_an_ofac_style_list_fails_closed(tmp_path: Path) -> None:
    """Issue 14 point 5: on 3d91e1f a bad date of birth dropped the entry, so the party was not screened."""
    landing = _landing(tmp_path / "landing", {"watchlist": OFAC.encode("latin-1") + b"\x1a"})
    watch = _file(_ingest(landing, tmp_path / "w.duckdb"), "watchlist")
    # Entries without a name cannot be screened: quarantined, and visible as such.
    assert (watch.rows_read, watch.rows_loaded, watch.rows_quarantined) == (8, 6, 2)
    assert watch.status == "loaded_with_quarantine" and watch.balanced
    assert watch.encoding == "latin-1"
    assert "trailing end-of-file byte 0x1A (Ctrl-Z) ignored" in watch.notes
    assert any(
        n.startswith("2 invalid optional values nulled, entries kept for screening") for n in watch.notes
    )
    loaded = _rows_of(
        tmp_path / "w.duckdb",
        "SELECT list_id, name, aliases, date_of_birth, country FROM raw.watchlist ORDER BY 1",
    )
    assert [r[0] for r in loaded] == ["173", "2674", "306", "36", "5001", "5002"]
    by_id = {r[0]: r for r in loaded}
    assert by_id["36"] == ("36", "AEROCARIBBEAN AIRLINES", None, None, "Cuba")
    assert by_id["2674"][3] is None and by_id["5002"][1:] == ("PEÑA Josué", None, None, None)
    assert str(by_id["5001"][3]) == "1931-06-03"
    nulled = _rows_of(
        tmp_path / "w.duckdb",
        "SELECT row_number, column_name, value, reason FROM quarantine.nulled_values ORDER BY 1",
    )
    assert nulled == [
        (
            4,
            "date_of_birth",
            "28 Apr 1937",
            "optional value nulled, entry kept for screening: unparseable date (expected YYYY-MM-DD)",
        ),
        (
            6,
            "date_of_birth",
            "circa 1960",
            "optional value nulled, entry kept for screening: unparseable date (expected YYYY-MM-DD)",
        ),
    ]
    quarantined = _rows_of(
        tmp_path / "w.duckdb", "SELECT row_number, column_name, reason FROM quarantine.rows ORDER BY 1"
    )
    assert quarantined == [(7, "name", "missing required value"), (8, "name", "missing required value")]


def test_a_declared_encoding_beats_detection_and_is_part_of_the_load(tmp_path: Path) -> None:
    """A latin-1 transactions file (detection only tries UTF-8 and GB18030 there) declared in _delivery.yml."""
    text = TXN_HEADER + "\nT1,A1,2025-06-02 11:00:00,credit,5.00,EUR,transfer,,Café Müller,DE,\n"
    manifest = b"encoding:\n  transactions: latin-1\n"
    landing = _landing(
        tmp_path / "landing", {"transactions": text.encode("latin-1"), "_delivery.yml": manifest}
    )
    archive = Archive(tmp_path / "archive")
    result = _ingest(landing, tmp_path / "w.duckdb", archive)
    txn = _file(result, "transactions")
    assert (txn.encoding, txn.encoding_evidence, txn.rows_loaded) == (
        "latin-1",
        "declared in _delivery.yml",
        1,
    )
    assert _file(result, "loans").encoding_evidence == "ASCII only"
    assert _rows_of(tmp_path / "w.duckdb", "SELECT counterparty_name FROM raw.transactions") == [
        ("Café Müller",)
    ]
    # The manifest is archived with the load and part of its identity (a rerun reads the files the same way).
    assert result.delivery_manifest is not None
    assert archive.get(result.delivery_manifest[1]) == manifest
    (landing / DAY.isoformat() / "_delivery.yml").write_bytes(b"encoding: {transactions: cp1252}\n")
    again = _ingest(landing, tmp_path / "w.duckdb", archive)
    assert again.load_id != result.load_id


def test_without_the_declaration_the_same_file_is_quarantined_naming_what_was_tried(tmp_path: Path) -> None:
    text = TXN_HEADER + "\nT1,A1,2025-06-02 11:00:00,credit,5.00,EUR,transfer,,Café Müller,DE,\n"
    landing = _landing(tmp_path / "landing", {"transactions": text.encode("latin-1")})
    result = _ingest(landing, tmp_path / "w.duckdb")
    assert _file(result, "transactions").rows_quarantined == 1
    assert _rows_of(tmp_path / "w.duckdb", "SELECT reason FROM quarantine.rows") == [
        ("invalid encoding: not valid utf-8 (tried utf-8, gb18030)",)
    ]


def test_random_bytes_quarantine_per_row(tmp_path: Path) -> None:
    import random

    rng = random.Random(3)
    # 0xFF starts no character in UTF-8 nor in GB18030
    lines = [TXN_HEADER.encode()] + [
        bytes(rng.randrange(128, 256) for _ in range(30)) + b"\xff" for _ in range(10)
    ]
    landing = _landing(tmp_path / "landing", {"transactions": b"\n".join(lines) + b"\n"})
    txn = _file(_ingest(landing, tmp_path / "w.duckdb"), "transactions")
    assert (txn.rows_read, txn.rows_loaded, txn.rows_quarantined) == (10, 0, 10)
    reasons = {r[0] for r in _rows_of(tmp_path / "w.duckdb", "SELECT reason FROM quarantine.rows")}
    assert reasons == {"invalid encoding: not valid utf-8 (tried utf-8, gb18030)"}


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"encoding: klingon\n", "unknown encoding 'klingon'"),
        (b"encoding: utf-16\n", "encoding 'utf-16' is not supported"),
        (b"encoding: {trades: gbk}\n", "encoding declared for unknown file trades"),
        (b"charset: gbk\n", "expected a mapping with the keys encoding or extract, found charset"),
        (b"encoding: [gbk\n", "cannot be read"),
    ],
)
def test_a_bad_delivery_manifest_is_bad_input(manifest: bytes, message: str, tmp_path: Path) -> None:
    landing = _landing(tmp_path / "landing", {"_delivery.yml": manifest})
    with pytest.raises(IngestError, match=message):
        _ingest(landing, tmp_path / "w.duckdb")


def test_a_json_manifest_declares_every_file(tmp_path: Path) -> None:
    day = _chinese_day()
    files = {n: t.encode("gbk") for n, t in day.items()}
    files["_delivery.json"] = json.dumps({"encoding": "gbk"}).encode()
    result = _ingest(_landing(tmp_path / "landing", files), tmp_path / "w.duckdb")
    assert {f.encoding for f in result.files} == {"gbk"}
    assert sum(f.rows_quarantined for f in result.files) == 0


def test_a_rerun_restores_the_declared_encodings_from_the_archive(tmp_path: Path, settings: Settings) -> None:
    """``audit rerun`` rebuilds the landing folder from the archive: the manifest comes back with the
    files, so the load is read the same way and keeps its load id."""
    from regwatch.audit import _restore_landing
    from regwatch.ledger.manifests import Manifest

    text = TXN_HEADER + "\nT1,A1,2025-06-02 11:00:00,credit,5.00,EUR,transfer,,Café Müller,DE,\n"
    files = {"transactions": text.encode("latin-1"), "_delivery.yml": b"encoding: {transactions: latin-1}\n"}
    landing = _landing(tmp_path / "landing", files)
    archive = Archive.of(settings)
    first = _ingest(landing, tmp_path / "first.duckdb", archive)
    with warehouse.connect(tmp_path / "first.duckdb") as con:
        row = con.execute("SELECT record_sha256 FROM raw.load_arrivals").fetchone()
    assert row is not None
    sealed = Manifest(
        tmp_path / "m.json", {"loads": [{"record_sha256": row[0], "business_date": DAY.isoformat()}]}
    )
    restored = tmp_path / "restored"
    _restore_landing(settings, sealed, restored)
    assert (restored / DAY.isoformat() / "_delivery.yml").read_bytes() == files["_delivery.yml"]
    again = _ingest(restored, tmp_path / "again.duckdb", Archive(tmp_path / "scratch-archive"))
    assert again.load_id == first.load_id
    assert _file(again, "transactions").encoding_evidence == "declared in _delivery.yml"
    assert _rows(tmp_path / "again.duckdb", "raw.transactions") == _rows(
        tmp_path / "first.duckdb", "raw.transactions"
    )
