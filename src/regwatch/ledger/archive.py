"""Content-addressed archive: every input, rule-pack file, reference seed and output of a run.

An object's name is the sha256 of its bytes (``var/archive/sha256/ab/cdef...``), so
storing the same bytes twice is a no-op, nothing is ever overwritten, and an object
whose bytes no longer hash to its name has been altered. Reruns read their inputs
from here, never from the landing folder, which may have changed or been cleaned.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from regwatch.config import Settings
from regwatch.files import sha256_bytes, sha256_file, write_atomic

#: Bytes copied at a time by :meth:`Archive.put_file`.
_CHUNK = 1 << 24


class ArchiveError(RuntimeError):
    """An archived object is missing or does not hash to its name."""


class Archive:
    """The object store under ``root`` (normally ``var/archive``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def of(cls, settings: Settings) -> Archive:
        return cls(settings.var_dir / "archive")

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ArchiveError(f"{sha256!r} is not a sha256")
        return self.root / "sha256" / sha256[:2] / sha256[2:]

    def relative(self, sha256: str) -> str:
        """The object's path relative to ``var/`` (as manifests and messages name it)."""
        return f"archive/sha256/{sha256[:2]}/{sha256[2:]}"

    def put(self, data: bytes) -> str:
        """Store ``data`` (atomically; a no-op when the object exists); return its sha256."""
        digest = sha256_bytes(data)
        target = self.path(digest)
        if target.is_file():
            return digest
        write_atomic(target, data)
        return digest

    def put_file(self, path: Path, sha256: str | None = None) -> str:
        """Store the file's bytes, copied in chunks (never whole in memory); return its sha256.

        ``sha256``, when the caller hashed the file already, spares a second read when the
        object exists; the copy is hashed as it is written and must match it.
        """
        if sha256 is not None and self.path(sha256).is_file():
            return sha256
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.root, prefix=".put.", suffix=".tmp")
        try:
            digest = hashlib.sha256()
            with os.fdopen(handle, "wb") as stream, path.open("rb") as source:
                for block in iter(lambda: source.read(_CHUNK), b""):
                    digest.update(block)
                    stream.write(block)
            found = digest.hexdigest()
            if sha256 is not None and found != sha256:
                raise ArchiveError(
                    f"{path} changed while it was archived (sha256 differs from the one hashed)"
                )
            target = self.path(found)
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, target)
            return found
        finally:
            Path(temp).unlink(missing_ok=True)

    def get(self, sha256: str) -> bytes:
        """The object's bytes, checked against its name."""
        target = self.path(sha256)
        if not target.is_file():
            raise ArchiveError(f"archive object {self.relative(sha256)} is missing")
        data = target.read_bytes()
        if sha256_bytes(data) != sha256:
            raise ArchiveError(f"archive object {self.relative(sha256)} was altered (sha256 differs)")
        return data

    def problem(self, sha256: str) -> str | None:
        """``None`` if the object is there and intact, else what is wrong with it."""
        target = self.path(sha256)
        if not target.is_file():
            return "is missing"
        if sha256_file(target) != sha256:
            return "was altered (sha256 differs)"
        return None
