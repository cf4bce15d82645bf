"""RunMediaStore on SQLite and PostgreSQL: File rows for outputs, workspace scoping, the decode cache."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from sqlalchemy import select

from pixelmill.db.models import File, Workspace
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.runtime import Runtime
from pixelmill.storage.local import LocalBlobStore
from pixelmill.storage.media_store import RunMediaStore
from pixelmill.storage.pixels import image_of, pixels_of
from tests.support.images import photo_like

pytestmark = pytest.mark.anyio


async def store_for(runtime: Runtime, run_id: str | None = "run_test") -> RunMediaStore:
    workspace_id = new_id("ws")
    async with runtime.db.session() as session:
        session.add(Workspace(id=workspace_id, name="media", kind="team", plan="pro"))
    return RunMediaStore(
        db=runtime.db, blobs=runtime.blobs, settings=runtime.settings, workspace_id=workspace_id, run_id=run_id
    )


async def test_saved_images_get_a_file_row_with_run_and_thumbnail(runtime: Runtime) -> None:
    store = await store_for(runtime)
    ref = await store.save_image(image_of(photo_like(300, 200)))
    assert (ref.mime, ref.width, ref.height) == ("image/png", 300, 200)
    async with runtime.db.session() as session:
        row = await session.scalar(select(File).where(File.id == ref.file_id))
    assert row is not None
    assert (row.workspace_id, row.run_id, row.sha256, row.size) == (
        store.workspace_id,
        "run_test",
        ref.sha256,
        ref.size,
    )
    assert row.thumbnail_sha256 is not None
    assert (await runtime.blobs.get(row.thumbnail_sha256))[:3] == b"\xff\xd8\xff"


async def test_identical_outputs_of_a_run_share_one_record(runtime: Runtime) -> None:
    store = await store_for(runtime)
    pixels = photo_like(64, 64)
    first = await store.save_image(image_of(pixels))
    second = await store.save_image(image_of(pixels.copy()))
    assert first == second


async def test_references_resolve_only_inside_the_workspace(runtime: Runtime) -> None:
    owner = await store_for(runtime)
    stranger = await store_for(runtime)
    ref = await owner.save_image(image_of(photo_like(32, 32)))
    fresh_owner = RunMediaStore(
        db=runtime.db, blobs=runtime.blobs, settings=runtime.settings, workspace_id=owner.workspace_id, run_id=None
    )
    assert np.array_equal(pixels_of(await fresh_owner.load_image(ImageRef(file_id=ref.file_id))), photo_like(32, 32))
    assert np.array_equal(pixels_of(await fresh_owner.load_image(ImageRef(sha256=ref.sha256))), photo_like(32, 32))
    for foreign in (ImageRef(file_id=ref.file_id), ImageRef(sha256=ref.sha256)):
        with pytest.raises(PixelmillError) as caught:
            await stranger.load_image(foreign)
        assert caught.value.code == "NOT_FOUND"
    with pytest.raises(PixelmillError) as caught:
        await stranger.load_image(ImageRef())
    assert caught.value.code == "INVALID_INPUT"


async def test_images_saved_in_a_run_are_not_decoded_again(runtime: Runtime) -> None:
    store = await store_for(runtime)
    picture = image_of(photo_like(48, 48))
    ref = await store.save_image(picture)
    assert isinstance(runtime.blobs, LocalBlobStore)
    assert ref.sha256 is not None
    runtime.blobs.path_for(ref.sha256).unlink()  # only the run's cache can answer now
    assert await store.load_image(ref) is picture


async def test_saving_audio_as_video_is_refused(runtime: Runtime) -> None:
    store = await store_for(runtime)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
    wav = buffer.getvalue()
    audio = await store.save_audio(wav)
    assert (audio.kind, audio.mime, audio.duration_seconds) == ("audio", "audio/wav", 0.0)
    with pytest.raises(PixelmillError) as caught:
        await store.save_video(wav)
    assert caught.value.code == "UNSUPPORTED_MEDIA_TYPE"
