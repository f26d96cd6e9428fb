"""Issue 15: the file stores behind `sales.core.files.FileStore` keep keys inside their root or prefix and list
finished files only."""
from __future__ import annotations

import pytest

from sales.core.files import LocalFileStore, S3FileStore, sniff

PDF = b"%PDF-1.7\n%%EOF\n"


class _NoCalls:
    """An S3 client that must not be reached."""

    def get_object(self, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError(f"the bucket was asked for {kwargs}")


def test_local_store_writes_once_lists_and_deletes(tmp_path):
    store = LocalFileStore(tmp_path)
    path = store.put("ab/abcdef.pdf", PDF)
    assert store.put("ab/abcdef.pdf", b"%PDF-other") == path  # the first copy stays
    assert store.get("ab/abcdef.pdf") == PDF and store.exists("ab/abcdef.pdf")
    (tmp_path / "ab" / ".upload-x1").write_bytes(b"%PDF-")  # another writer's temporary file
    assert [key for key, _ in store.keys()] == ["ab/abcdef.pdf"]
    store.delete("ab/abcdef.pdf")
    store.delete("ab/abcdef.pdf")  # deleting twice is fine
    assert not store.exists("ab/abcdef.pdf")
    assert list(LocalFileStore(tmp_path / "missing").keys()) == []


@pytest.mark.parametrize("key", ["../escape.pdf", "ab/../../escape.pdf", "/etc/passwd"])
def test_keys_may_not_leave_the_store(tmp_path, key):
    with pytest.raises(ValueError):
        LocalFileStore(tmp_path / "root").put(key, PDF)
    with pytest.raises(ValueError):
        S3FileStore(client=_NoCalls(), bucket="b", prefix="documents/").get(key)


def test_content_decides_the_type():
    assert sniff(PDF) == "application/pdf" and sniff(b"GIF89a") is None
