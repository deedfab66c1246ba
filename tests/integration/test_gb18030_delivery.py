"""Issue 13 acceptance: a GB18030 delivery gives the same exceptions as its UTF-8 twin.

On 3d91e1f every account and transaction with a Chinese name was quarantined as
"invalid UTF-8" and the day ran with its AML checks blind. Here one generated day,
with Chinese names on every account and counterparty, is delivered twice, as UTF-8 and
as GB18030 (undeclared: detected): the same rows load (every raw row equal, column by
column, but the load id, which hashes the delivered bytes), the same rows are quarantined,
and the same exceptions are found. The exceptions are the GB18030 day's own, through
transform and validate; the UTF-8 twin is ingested only: with its raw layer equal row for
row, transform and validate (functions of the raw layer, the pack and the date) find the
same exceptions on it (running them on it too cost a second dbt build and GX run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from regwatch import pipeline
from regwatch.config import Settings
from regwatch.contract import CONTRACTS
from regwatch.demo import generate
from tests.conftest import DAY, REPO_ROOT
from tests.helpers import saved_parse

pytestmark = pytest.mark.integration

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军"]


def _with_chinese_names(data: bytes, column: str) -> bytes:
    lines = data.split(b"\n")
    header = lines[0].split(b",")
    at = header.index(column.encode())
    for i, line in enumerate(lines[1:], start=1):
        fields = line.split(b",")
        if len(fields) == len(header) and fields[at]:
            name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
            fields[at] = name.encode() + b"\xc2\xb7" + fields[at]  # 王伟·Wang Wei
            lines[i] = b",".join(fields)
    return b"\n".join(lines)


def _run(landing: Path, var: Path, *, through_validate: bool) -> dict[str, list[tuple[Any, ...]]]:
    settings = Settings(project_root=REPO_ROOT, render_pdf=False, var_dir=var, landing_dir=landing)
    steps = (
        (pipeline.ingest, pipeline.transform, pipeline.validate) if through_validate else (pipeline.ingest,)
    )
    with saved_parse(settings, "pack-cn"):
        for step in steps:
            step(DAY, settings)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return {
            "exceptions": con.execute(
                "SELECT rule_id, entity_key, message, evidence FROM results.exceptions ORDER BY ALL"
            ).fetchall(),
            "quarantine": con.execute(
                "SELECT file_name, row_number, column_name FROM quarantine.rows ORDER BY ALL"
            ).fetchall(),
            "load_log": con.execute(
                "SELECT file_name, rows_read, rows_loaded, rows_quarantined, status FROM results.load_log ORDER BY ALL"
            ).fetchall(),
            "encodings": con.execute(
                "SELECT file_name, encoding FROM results.load_log WHERE file_name IN ('accounts', 'transactions')"
                " ORDER BY 1"
            ).fetchall(),
            # every raw row as loaded, but the load id (it hashes the delivered bytes)
            **{
                f"raw.{name}": con.execute(
                    f"SELECT * EXCLUDE (_load_id) FROM raw.{name} ORDER BY ALL"
                ).fetchall()
                for name in CONTRACTS
            },
        }
    finally:
        con.close()


def test_a_gb18030_day_finds_the_same_exceptions_as_its_utf8_twin(tmp_path: Path) -> None:
    generate(tmp_path / "generated", DAY, DAY, loans=60, accounts=80, seed=11)
    source = tmp_path / "generated" / DAY.isoformat()
    utf8, gb = tmp_path / "utf8" / DAY.isoformat(), tmp_path / "gb" / DAY.isoformat()
    utf8.mkdir(parents=True)
    gb.mkdir(parents=True)
    for path in sorted(source.iterdir()):
        data = path.read_bytes()
        if path.name == "accounts.csv":
            data = _with_chinese_names(data, "full_name")
        if path.name == "transactions.csv":
            data = _with_chinese_names(data, "counterparty_name")
        (utf8 / path.name).write_bytes(data)
        if path.name in ("accounts.csv", "transactions.csv"):
            data = data.decode("utf-8", "surrogateescape").encode("gb18030", "surrogateescape")
        (gb / path.name).write_bytes(data)
    via_utf8 = _run(tmp_path / "utf8", tmp_path / "var-utf8", through_validate=False)
    via_gb = _run(tmp_path / "gb", tmp_path / "var-gb", through_validate=True)
    assert via_gb["encodings"] == [("accounts", "gb18030"), ("transactions", "gb18030")]
    assert via_utf8["encodings"] == [("accounts", "utf-8"), ("transactions", "utf-8")]
    assert via_gb["load_log"] == via_utf8["load_log"]
    assert via_gb["quarantine"] == via_utf8["quarantine"]
    raw = [key for key in via_utf8 if key.startswith("raw.")]
    assert via_utf8["raw.accounts"] and via_utf8["raw.transactions"]
    assert any("王" in str(row) for row in via_utf8["raw.accounts"]), "the Chinese names loaded"
    for key in raw:  # the same rows reach transform and validate: the same exceptions follow
        assert via_gb[key] == via_utf8[key], key
    assert via_gb["exceptions"], "the day has exceptions: the AML checks see the GB18030 rows"
    named = {str(r[1]).split("|")[0] for r in via_gb["exceptions"]}
    customers = {str(r[1]) for r in via_gb["raw.accounts"]}
    assert named & customers, "exceptions on the customers whose names arrived in GB18030"
