"""``audit verify`` during a seal: it never reports a file as altered because a seal is mid-publish.

A seal writes its manifest, then replaces the published files one by one. A verify that
compared published files in between saw a file that differs from the newest manifest
and reported it "altered". Seal and verify now meet at a short publishing lock.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import pytest

from regwatch.config import Settings
from regwatch.ledger import manifests
from regwatch.ledger.archive import Archive


def _seal(settings: Settings, number: int, text: str) -> None:
    day = date(2025, 6, 2)
    staging = settings.staging_reports_dir(f"r{number}")
    out = staging / day.isoformat() / "daily_exceptions.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    manifests.seal(
        settings,
        business_date=day,
        run_id=f"20250602-r{number}",
        pack_name="cn",
        pack_version="1",
        pack_sha256="p",
        code_version="c",
        inputs=[],
        outputs=[out],
        outputs_root=staging,
        tool_versions={},
    )


def test_verify_waits_for_a_seal_that_is_publishing(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seal(settings, 1, "first\n")
    assert manifests.verify(settings).ok
    original = manifests.publish
    manifest_written = threading.Event()

    def slow_publish(archive: Archive, sha256: str, target: Path) -> None:
        manifest_written.set()
        time.sleep(1.0)  # the new manifest is on disk, the published file still the old one
        original(archive, sha256, target)

    monkeypatch.setattr(manifests, "publish", slow_publish)
    sealing = threading.Thread(target=_seal, args=(settings, 2, "second\n"))
    sealing.start()
    assert manifest_written.wait(10)
    result = manifests.verify(settings)
    sealing.join()
    assert result.ok, result.problems
    assert manifests.verify(settings).manifests == 2
