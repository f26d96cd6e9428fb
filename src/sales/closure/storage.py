"""Where deal documents are kept (issue 15): local disk under SALES_DOCUMENTS_DIR (default var/documents), named
by their SHA-256 (`sales.core.files`); another store (S3-compatible) implements `FileStore`."""
from __future__ import annotations

from sales.core.files import FileStore, LocalFileStore
from sales.settings import Settings


def document_store(settings: Settings) -> FileStore:
    return LocalFileStore(settings.documents_dir)
