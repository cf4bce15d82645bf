from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pixelmill.storage.local import LocalBlobStore, open_blob_store

pytestmark = pytest.mark.anyio


async def test_blobs_are_content_addressed_in_sharded_directories(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    digest = await store.put(b"hello")
    assert digest == hashlib.sha256(b"hello").hexdigest()
    assert (tmp_path / "blobs" / digest[:2] / digest[2:4] / digest).read_bytes() == b"hello"
    assert await store.put(b"hello") == digest
    assert await store.get(digest) == b"hello"
    assert await store.exists(digest)
    assert not [p for p in (tmp_path / "blobs").rglob(".tmp-*")]  # no temporary files left behind
    await store.delete(digest)
    assert not await store.exists(digest)


async def test_missing_and_malformed_digests_are_key_errors(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(KeyError):
        await store.get("0" * 64)
    with pytest.raises(KeyError):
        await store.get("../../etc/passwd")
    assert not await store.exists("not-a-digest")


async def test_check_writes_into_the_root_and_urls_open_stores(tmp_path: Path) -> None:
    store = open_blob_store(f"file://{tmp_path / 'fresh'}")
    assert isinstance(store, LocalBlobStore)
    await store.check()
    assert (tmp_path / "fresh").is_dir()
    with pytest.raises(ValueError, match="unsupported storage URL"):
        open_blob_store("ftp://host/prefix")
