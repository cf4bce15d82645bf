"""The MediaStore a run's nodes use: blobs in the BlobStore, a File row per output, thumbnails.

References resolve only inside the run's workspace: by ``file_id`` (an uploaded file or an earlier
output) or by ``sha256`` when a file in the workspace has that content. Decoded images are kept in
a small per-run cache, so a chain of image nodes decodes each intermediate result once; the cache
is bounded in bytes too (``CACHE_BYTES``), so what a run keeps between its nodes stays small beside
the working sets the executor admits.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image
from sqlalchemy import select

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.db.models import File
from pixelmill.db.session import Database
from pixelmill.engine.values import AudioRef, ImageRef, MediaRef, VideoRef
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.storage.base import BlobStore
from pixelmill.storage.codecs import FORMAT_MIME, ImageFormat, Pixels, decode_image, encode_image, thumbnail
from pixelmill.storage.local import LocalBlobStore
from pixelmill.storage.media import MediaInfo, image_header_size, inspect_media, inspect_svg, video_poster
from pixelmill.storage.pixels import image_of, pixels_of

# Decoded pixels one run keeps between its nodes, at most (the newest first; a larger image is
# decoded again by the node that reads it).
CACHE_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int


def _store_sync(blobs: LocalBlobStore, data: bytes) -> StoredBlob:
    digest = hashlib.sha256(data).hexdigest()
    blobs.put_sync(data, digest)
    return StoredBlob(digest, len(data))


async def store_blob(blobs: BlobStore, data: bytes) -> StoredBlob:
    """Hash and store ``data``; a local store writes in the same worker thread as the hash."""
    if isinstance(blobs, LocalBlobStore):
        return await asyncio.to_thread(_store_sync, blobs, data)
    return StoredBlob(await blobs.put(data), len(data))


async def encode_and_store(blobs: BlobStore, work: Callable[[], bytes]) -> StoredBlob:
    """Run ``work`` (an encoder) and store its bytes, in one worker thread when the store is local."""
    if isinstance(blobs, LocalBlobStore):
        local = blobs
        return await asyncio.to_thread(lambda: _store_sync(local, work()))
    return await store_blob(blobs, await asyncio.to_thread(work))


def _normalise_format(format: str) -> ImageFormat:
    name = format.lower()
    if name == "jpg":
        name = "jpeg"
    if name not in FORMAT_MIME:
        raise PixelmillError(errors.INVALID_INPUT, f"Unknown image format {format!r}", field="format")
    return name  # type: ignore[return-value]


class RunMediaStore:
    """A MediaStore (engine/context.py) for one run inside one workspace."""

    def __init__(
        self,
        *,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        workspace_id: str,
        run_id: str | None,
        cache_size: int = 16,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.workspace_id = workspace_id
        self.run_id = run_id
        self._cache_size = cache_size
        self._pixels: OrderedDict[str, Pixels] = OrderedDict()
        self._images: dict[int, Image.Image] = {}
        self._file_sha: dict[str, str] = {}
        self._known_sha: set[str] = set()
        self._sizes: dict[str, tuple[int, int]] = {}  # sha256 -> (width, height) as recorded
        self._saved: dict[tuple[str, str], MediaRef] = {}

    async def _resolve(self, ref: MediaRef) -> str:
        """The sha256 a reference names, checked against the workspace."""
        if ref.file_id is not None:
            known = self._file_sha.get(ref.file_id)
            if known is not None:
                return known
            async with self.db.session() as session:
                row = (
                    await session.execute(
                        select(File.sha256, File.width, File.height).where(
                            File.id == ref.file_id, File.workspace_id == self.workspace_id
                        )
                    )
                ).first()
            if row is None:
                raise PixelmillError(errors.NOT_FOUND, f"File {ref.file_id} not found", file_id=ref.file_id)
            sha: str = row.sha256
            self._file_sha[ref.file_id] = sha
            self._note_size(sha, row.width, row.height)
            self._known_sha.add(sha)
            return sha
        if ref.sha256 is not None:
            if ref.sha256 in self._known_sha:
                return ref.sha256
            async with self.db.session() as session:
                found = (
                    await session.execute(
                        select(File.width, File.height)
                        .where(File.sha256 == ref.sha256, File.workspace_id == self.workspace_id)
                        .limit(1)
                    )
                ).first()
            if found is None:
                raise PixelmillError(errors.NOT_FOUND, "No file in this workspace has that content", sha256=ref.sha256)
            self._known_sha.add(ref.sha256)
            self._note_size(ref.sha256, found.width, found.height)
            return ref.sha256
        raise PixelmillError(errors.INVALID_INPUT, "A media reference needs a file_id or a sha256")

    def _note_size(self, sha: str, width: int | None, height: int | None) -> None:
        if width is not None and height is not None:
            self._sizes[sha] = (width, height)

    async def media_size(self, ref: MediaRef) -> tuple[int, int] | None:
        """``(width, height)`` of a stored image (or of a video's frames) from its record; an image
        recorded without a size is measured from its header, still without decoding it."""
        sha = await self._resolve(ref)
        known = self._sizes.get(sha)
        if known is not None or ref.kind != "image":
            return known
        data = await self.load_bytes(ref)
        size = await asyncio.to_thread(image_header_size, data, self.settings.max_image_pixels)
        self._sizes[sha] = size
        return size

    async def load_bytes(self, ref: MediaRef) -> bytes:
        sha = await self._resolve(ref)
        try:
            return await self.blobs.get(sha)
        except KeyError:
            raise PixelmillError(errors.NOT_FOUND, "The file's content is missing from storage", sha256=sha) from None

    async def load_pixels(self, ref: ImageRef) -> Pixels:
        """The decoded pixels (RGB or RGBA, read-only), from the run's cache when it has them."""
        if ref.sha256 is not None and ref.sha256 in self._pixels:
            # An output of this run (or one resolved before): check the reference, skip the decode.
            sha = await self._resolve(ref)
        elif ref.sha256 is not None:
            # Check the reference and decode at the same time; a refused reference raises before use.
            _, decoded = await asyncio.gather(self._resolve(ref), self._decode_into_cache(ref.sha256))
            return decoded
        else:
            sha = await self._resolve(ref)
        cached = self._pixels.get(sha)
        if cached is None:
            return await self._decode_into_cache(sha)
        self._pixels.move_to_end(sha)
        return cached

    async def _decode_into_cache(self, sha: str) -> Pixels:
        cached = self._pixels.get(sha)
        if cached is not None:
            return cached
        blobs, limit = self.blobs, self.settings.max_image_pixels
        try:
            if isinstance(blobs, LocalBlobStore):  # read and decode in one worker thread
                pixels = await asyncio.to_thread(lambda: decode_image(blobs.get_sync(sha), limit))
            else:
                pixels = await asyncio.to_thread(decode_image, await blobs.get(sha), limit)
        except KeyError:
            raise PixelmillError(errors.NOT_FOUND, "The file's content is missing from storage", sha256=sha) from None
        self._remember(sha, pixels)
        return pixels

    async def load_image(self, ref: ImageRef) -> Image.Image:
        """The decoded image (RGB or RGBA). Treat it as immutable: it may be shared by later nodes."""
        pixels = await self.load_pixels(ref)
        key = id(pixels)
        image = self._images.get(key)
        if image is None:
            image = image_of(pixels)
            self._images[key] = image
        return image

    def _remember(self, sha: str, pixels: Pixels, image: Image.Image | None = None) -> None:
        self._pixels[sha] = pixels
        self._pixels.move_to_end(sha)
        if image is not None:
            self._images[id(pixels)] = image
        held = sum(array.nbytes for array in self._pixels.values())
        while self._pixels and (len(self._pixels) > self._cache_size or held > CACHE_BYTES):
            _, dropped = self._pixels.popitem(last=False)
            held -= dropped.nbytes
            self._images.pop(id(dropped), None)

    async def _store_thumbnail(self, pixels: Pixels) -> str:
        return (await encode_and_store(self.blobs, lambda: thumbnail(pixels)[0])).sha256

    async def _store_encoded(self, pixels: Pixels, format: ImageFormat, quality: int | None) -> StoredBlob:
        return await encode_and_store(self.blobs, lambda: encode_image(pixels, format, quality))

    async def save_image(self, image: Image.Image, *, format: str = "png", quality: int | None = None) -> ImageRef:
        """Encode, store and record an output image; identical outputs of one run share one record."""
        pixels = pixels_of(image)
        return await self.save_pixels(pixels, format=format, quality=quality, image=image)

    async def save_pixels(
        self, pixels: Pixels, *, format: str = "png", quality: int | None = None, image: Image.Image | None = None
    ) -> ImageRef:
        """:meth:`save_image` for pixels the caller already holds as an array (no Pillow round trip)."""
        fmt = _normalise_format(format)
        height, width = pixels.shape[:2]
        # The thumbnail is made beside the main encode: both release the GIL in OpenCV.
        blob, thumb_sha = await asyncio.gather(self._store_encoded(pixels, fmt, quality), self._store_thumbnail(pixels))
        existing = self._saved.get((blob.sha256, "image"))
        if isinstance(existing, ImageRef):
            return existing
        ref = ImageRef(sha256=blob.sha256, mime=FORMAT_MIME[fmt], size=blob.size, width=width, height=height)
        saved = await self._record(ref, thumbnail_sha256=thumb_sha)
        if fmt == "png":  # lossless: the pixels are what a later node would decode
            self._remember(blob.sha256, pixels, image)
        assert isinstance(saved, ImageRef)
        return saved

    async def _record(self, ref: MediaRef, *, thumbnail_sha256: str | None = None) -> MediaRef:
        assert ref.sha256 is not None
        assert ref.mime is not None
        assert ref.size is not None
        file_id = new_id("file")
        async with self.db.session() as session:
            session.add(
                File(
                    id=file_id,
                    workspace_id=self.workspace_id,
                    sha256=ref.sha256,
                    mime=ref.mime,
                    size=ref.size,
                    width=ref.width,
                    height=ref.height,
                    duration_seconds=ref.duration_seconds,
                    thumbnail_sha256=thumbnail_sha256,
                    run_id=self.run_id,
                )
            )
        saved = ref.model_copy(update={"file_id": file_id})
        self._file_sha[file_id] = ref.sha256
        self._note_size(ref.sha256, ref.width, ref.height)
        self._known_sha.add(ref.sha256)
        self._saved[(ref.sha256, ref.kind)] = saved
        return saved

    async def _save_media(self, data: bytes, ref_type: type[VideoRef] | type[AudioRef]) -> MediaRef:
        info: MediaInfo = await asyncio.to_thread(inspect_media, data, self.settings.max_image_pixels)
        kind = "video" if ref_type is VideoRef else "audio"
        if info.kind != kind:
            raise PixelmillError(errors.UNSUPPORTED_MEDIA_TYPE, f"Expected {kind} but the bytes are {info.mime}")
        blob = await store_blob(self.blobs, data)
        existing = self._saved.get((blob.sha256, kind))
        if existing is not None:
            return existing
        ref = ref_type(
            sha256=blob.sha256,
            mime=info.mime,
            size=blob.size,
            width=info.width,
            height=info.height,
            duration_seconds=info.duration_seconds,
        )
        thumbnail_sha: str | None = None
        if kind == "video":
            poster = await asyncio.to_thread(video_poster, data)
            if poster is not None:
                thumbnail_sha = await self._store_thumbnail(poster)
        return await self._record(ref, thumbnail_sha256=thumbnail_sha)

    async def save_bytes(self, data: bytes, *, mime: str) -> MediaRef:
        """Store any supported media; the type is sniffed from the bytes, ``mime`` is a hint only
        (except SVG, which cannot be sniffed safely and is taken only when declared)."""
        if mime == "image/svg+xml":
            svg = await asyncio.to_thread(inspect_svg, data)
            blob = await store_blob(self.blobs, data)
            return await self._record(
                ImageRef(sha256=blob.sha256, mime=svg.mime, size=blob.size, width=svg.width, height=svg.height)
            )
        info = await asyncio.to_thread(inspect_media, data, self.settings.max_image_pixels)
        if info.kind == "image":
            pixels = await asyncio.to_thread(decode_image, data, self.settings.max_image_pixels)
            blob = await store_blob(self.blobs, data)
            thumb_sha = await self._store_thumbnail(pixels)
            height, width = pixels.shape[:2]
            ref = ImageRef(sha256=blob.sha256, mime=info.mime, size=blob.size, width=width, height=height)
            return await self._record(ref, thumbnail_sha256=thumb_sha)
        return await self._save_media(data, VideoRef if info.kind == "video" else AudioRef)

    async def save_video(self, data: bytes, *, mime: str = "video/mp4") -> VideoRef:
        ref = await self._save_media(data, VideoRef)
        assert isinstance(ref, VideoRef)
        return ref

    async def save_audio(self, data: bytes, *, mime: str = "audio/wav") -> AudioRef:
        ref = await self._save_media(data, AudioRef)
        assert isinstance(ref, AudioRef)
        return ref
