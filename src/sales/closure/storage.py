"""Where deal documents are kept (issue 15). Local disk under SALES_DOCUMENTS_DIR (default var/documents), named
by their SHA-256 so a retried or repeated upload stores one file and a rolled-back upload leaves at most an
unreferenced copy. Another store (S3-compatible) implements `DocumentStore`."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from sales.settings import Settings


class DocumentStore(Protocol):
    def put(self, key: str, content: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...


class LocalDocumentStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"document key {key!r} leaves the store")
        return path

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
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

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()


def document_store(settings: Settings) -> DocumentStore:
    return LocalDocumentStore(settings.documents_dir)
