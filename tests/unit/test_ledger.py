"""The archive and the ledger without the pipeline: content addressing, chain, tamper evidence."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from regwatch.config import Settings
from regwatch.files import sha256_bytes
from regwatch.ledger import manifests
from regwatch.ledger.archive import Archive, ArchiveError


def test_archive_is_content_addressed_and_write_once(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive")
    digest = archive.put(b"loans")
    assert digest == sha256_bytes(b"loans")
    assert archive.path(digest) == tmp_path / "archive" / "sha256" / digest[:2] / digest[2:]
    assert archive.put(b"loans") == digest and archive.get(digest) == b"loans"
    archive.path(digest).write_bytes(b"loanz")
    assert archive.problem(digest) == "was altered (sha256 differs)"
    with pytest.raises(ArchiveError, match="was altered"):
        archive.get(digest)
    archive.path(digest).unlink()
    assert archive.problem(digest) == "is missing"
    with pytest.raises(ArchiveError, match="not a sha256"):
        archive.path("../../etc/passwd")


def _chain(settings: Settings, days: int = 3) -> None:
    archive = Archive.of(settings)
    pack = settings.var_dir / "pack"
    pack.mkdir(parents=True, exist_ok=True)
    (pack / "_pack.yml").write_text("name: cn\n")
    for number in range(days):
        day = date(2025, 6, 2 + number)
        staging = settings.staging_reports_dir(f"r{number}")
        out = staging / day.isoformat() / "daily_exceptions.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"rule_id,entity_key,message\nr,L{number},m\n")
        data = f"loans of {day}".encode()
        manifests.seal(
            settings,
            business_date=day,
            run_id=f"{day:%Y%m%d}-r{number}",
            pack_name="cn",
            pack_version="1",
            pack_sha256="p",
            code_version="c",
            inputs=[{"file_name": "loans", "path": f"{day}/loans.csv", "sha256": archive.put(data)}],
            outputs=[out],
            outputs_root=staging,
            tool_versions={"duckdb": "2"},
            pack_files=manifests.archive_tree(archive, pack),
        )


def test_chain_of_staged_outputs_verifies_and_publishes(settings: Settings) -> None:
    _chain(settings)
    result = manifests.verify(settings)
    assert result.ok, result.problems
    assert (result.manifests, result.outputs) == (3, 3)
    assert result.summary.startswith("ledger ok: 3 manifests chained, 7 archived objects and 3 outputs")
    published = settings.published_reports_dir / "2025-06-03" / "daily_exceptions.csv"
    assert published.read_text().endswith("r,L1,m\n")
    found = manifests.find(settings, business_date=date(2025, 6, 3))
    assert found.run_id == "20250603-r1" and found.output("daily_exceptions.csv") is not None
    with pytest.raises(manifests.RunNotFoundError):
        manifests.find(settings, "nope")


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(which=st.integers(0, 2), position=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_any_changed_byte_of_any_manifest_is_found(
    tmp_path_factory: pytest.TempPathFactory, which: int, position: float, bit: int
) -> None:
    var = tmp_path_factory.mktemp("var")
    settings = Settings(project_root=var, var_dir=var, landing_dir=var / "landing")
    _chain(settings)
    target = manifests.manifests(settings)[which]
    data = bytearray(target.read_bytes())
    index = int(position * len(data))
    data[index] ^= 1 << bit
    target.write_bytes(bytes(data))
    result = manifests.verify(settings)
    assert not result.ok
    assert result.problems[0].startswith(target.name), result.problems


def test_a_missing_manifest_breaks_the_chain(settings: Settings) -> None:
    _chain(settings)
    manifests.manifests(settings)[1].unlink()
    problems = manifests.verify(settings).problems
    assert problems[0].startswith("000003_2025-06-04_20250604-r2.json: sequence 3 where 2 was expected")
