"""Uploaded files (claim evidence, deal documents): what a file is, by its content, and where it is kept.

Two domains take uploads (refunds' evidence, closure's deal documents); both recognise the file by its magic
bytes, never by its name or declared type, and keep it on local disk under a configured directory, named by
its SHA-256 and written atomically (a temporary file renamed into place) before the row that names it, so a row
never names a partial file and a rolled-back upload leaves at most an unreferenced copy. Another store (an
S3-compatible one) implements `FileStore`."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

# Magic numbers: the content decides what a file is.
SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def sniff(content: bytes) -> str | None:
    """The content type of a PDF, JPEG or PNG file by its first bytes; None for anything else."""
    return next((kind for magic, kind in SIGNATURES if content.startswith(magic)), None)


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class FileStore(Protocol):
    def put(self, key: str, content: bytes) -> str: ...

    def get(self, key: str) -> bytes: ...


class LocalFileStore:
    """Files under `root`, each at its key (a relative path that may not leave the root)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"file key {key!r} leaves the store")
        return path

    def put(self, key: str, content: bytes) -> str:
        """Write `content` at `key` once (the same key again keeps the first copy); the path it is at."""
        path = self._path(key)
        if path.exists():
            return str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return str(path)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()
