"""Evidence files on local disk (issue 12), content-addressed: <directory>/<refund id>/<sha256>. Written before
the row that names them, atomically (a temporary file renamed into place), so a row never names a partial
file; a file whose transaction rolled back is an unreferenced copy, harmless and overwritten by the same
content."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from uuid import UUID


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def store(directory: str, refund_id: UUID, content: bytes) -> tuple[str, str]:
    """Write `content` once; its sha256 and the path it is stored at."""
    digest = sha256_of(content)
    folder = Path(directory) / str(refund_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return digest, str(target)
