"""Blobs on an S3 protocol server (moto's, on a loopback port): the store itself, and the API on it —
uploads, run outputs and thumbnails stored under the prefix and downloaded through presigned links."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image
from pydantic import SecretStr

from pixelmill.config import Settings
from pixelmill.storage.codecs import encode_image
from pixelmill.storage.local import open_blob_store
from pixelmill.storage.s3 import S3BlobStore, parse_s3_url
from tests.support.accounts import SeededAccount
from tests.support.images import photo_like
from tests.support.runs import grant, wait_for

BUCKET = "pixelmill-test"
KEY_ID = "test-key-id"
SECRET = "test-secret-access-key"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> Iterator[str]:
    """An empty bucket for this test, removed afterwards."""
    client = _client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield BUCKET
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _client(endpoint: str) -> Any:
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET
    )


def _keys(endpoint: str) -> set[str]:
    return {item["Key"] for item in _client(endpoint).list_objects_v2(Bucket=BUCKET).get("Contents", [])}


@pytest.fixture
def settings(settings: Settings, s3_endpoint: str, bucket: str) -> Settings:
    return settings.model_copy(
        update={
            "storage_url": f"s3://{bucket}/media/blobs",
            "s3_endpoint_url": s3_endpoint,
            "s3_region": "us-east-1",
            "s3_access_key_id": KEY_ID,
            "s3_secret_access_key": SecretStr(SECRET),
        }
    )


@pytest.fixture
def store(settings: Settings) -> S3BlobStore:
    blobs = open_blob_store(settings.resolved_storage_url, settings)
    assert isinstance(blobs, S3BlobStore)
    return blobs


def test_storage_urls_name_a_bucket_and_a_prefix() -> None:
    assert parse_s3_url("s3://media-bucket/a/b/") == ("media-bucket", "a/b")
    assert parse_s3_url("s3://media-bucket") == ("media-bucket", "")
    with pytest.raises(ValueError, match="invalid S3 storage URL"):
        parse_s3_url("s3://Bad_Bucket/x")
    with pytest.raises(ValueError, match="unsupported storage URL scheme"):
        open_blob_store("ftp://host/path")


@pytest.mark.anyio
async def test_blobs_are_content_addressed_under_the_prefix(store: S3BlobStore, s3_endpoint: str) -> None:
    png = encode_image(photo_like(64, 48), "png")
    digest = await store.put(png)
    assert await store.put(png) == digest  # the same bytes are one object
    assert _keys(s3_endpoint) == {f"media/blobs/{digest[:2]}/{digest[2:4]}/{digest}"}
    assert await store.get(digest) == png
    assert await store.exists(digest)
    head = _client(s3_endpoint).head_object(Bucket=BUCKET, Key=store.key_for(digest))
    assert head["ContentType"] == "image/png"
    await store.delete(digest)
    assert not await store.exists(digest)
    with pytest.raises(KeyError):
        await store.get(digest)
    with pytest.raises(KeyError):
        await store.get("not-a-digest")
    assert not await store.exists("../escape")


@pytest.mark.anyio
async def test_check_writes_to_the_bucket_and_fails_without_it(store: S3BlobStore, s3_endpoint: str) -> None:
    await store.check()
    assert _keys(s3_endpoint) == set()  # the probe object is removed again
    missing = S3BlobStore(
        "no-such-bucket",
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
    )
    with pytest.raises(Exception, match="NoSuchBucket"):
        await missing.check()


@pytest.mark.anyio
async def test_presigned_links_serve_the_blob_and_carry_their_lifetime(store: S3BlobStore) -> None:
    jpeg = encode_image(photo_like(40, 30), "jpeg", 80)
    digest = await store.put(jpeg)
    url = store.presigned_url(digest, ttl_seconds=60, mime="image/jpeg")
    async with httpx.AsyncClient(timeout=10) as client:
        fetched = await client.get(url)
        assert fetched.status_code == 200
        assert fetched.content == jpeg
        assert fetched.headers["content-type"] == "image/jpeg"
        tampered = await client.get(url.replace(digest, digest[:-1] + ("0" if digest[-1] != "0" else "1")))
        assert tampered.status_code == 403
    # The server checks signatures but not expiry: the signed query states the lifetime asked for.
    query = parse_qs(urlsplit(store.presigned_url(digest, ttl_seconds=90)).query)
    assert query["X-Amz-Expires"] == ["90"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - signed_at).total_seconds()) < 60


def _upload(api: httpx.Client, account: SeededAccount, data: bytes) -> dict[str, Any]:
    response = api.post("/v1/files", headers=account.headers, files={"file": ("photo.png", data, "image/png")})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_upload_is_stored_in_the_bucket_with_its_thumbnail_beside_it(
    api: httpx.Client, account: SeededAccount, s3_endpoint: str
) -> None:
    png = encode_image(photo_like(320, 240), "png")
    body = _upload(api, account, png)
    assert body["url"].startswith(f"{s3_endpoint}/{BUCKET}/media/blobs/")
    assert body["thumbnail_url"].startswith(f"{s3_endpoint}/{BUCKET}/media/blobs/")
    keys = _keys(s3_endpoint)
    assert len(keys) == 2
    assert f"media/blobs/{body['sha256'][:2]}/{body['sha256'][2:4]}/{body['sha256']}" in keys
    content = httpx.get(body["url"], timeout=10)
    assert content.status_code == 200
    assert content.content == png
    assert content.headers["content-type"] == "image/png"
    thumbnail = httpx.get(body["thumbnail_url"], timeout=10)
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (256, 192)
    # Through the API as well: the same bytes, read back from the bucket.
    through_api = api.get(f"/v1/files/{body['id']}/content", headers=account.headers)
    assert through_api.status_code == 200
    assert through_api.content == png


def test_a_run_output_is_written_to_the_bucket_and_linked_presigned(
    api: httpx.Client, account: SeededAccount, s3_endpoint: str, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    source = _upload(api, account, encode_image(photo_like(320, 240), "png"))
    graph = {
        "nodes": [
            {"id": "load", "type": "image.load", "inputs": {"file_id": source["id"]}, "is_intermediate": True},
            {"id": "small", "type": "image.resize", "inputs": {"width": 100}},
        ],
        "edges": [
            {"source": {"node_id": "load", "field": "image"}, "destination": {"node_id": "small", "field": "image"}}
        ],
    }
    created = api.post("/v1/runs", headers=account.headers, json={"graph": graph})
    assert created.status_code in (200, 201, 202), created.text
    run = wait_for(api, account.headers, created.json()["run_id"], until={"completed", "failed"})
    assert run["status"] == "completed", run
    url = run["outputs"]["small"]["value"]
    assert url.startswith(f"{s3_endpoint}/{BUCKET}/media/blobs/")
    assert "X-Amz-Expires" in url
    fetched = httpx.get(url, timeout=10)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(fetched.content))
    assert image.size == (100, 75)
    # The output and its thumbnail are beside the upload and its thumbnail in the bucket.
    assert len(_keys(s3_endpoint)) == 4
    path = f"/v1/outputs/runs/{run['run_id']}/small.png"
    through_api = api.get(path, headers=account.headers)
    assert through_api.status_code == 200
    assert through_api.content == fetched.content
