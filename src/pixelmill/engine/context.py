"""What a node sees while it runs: a narrow context, never the service container.

The executor provides the concrete implementation; nodes depend only on these Protocols, so a
node can be unit-tested with any object that satisfies them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pixelmill.engine.values import AudioRef, ImageRef, MediaRef, VideoRef

if TYPE_CHECKING:
    from PIL import Image

    from pixelmill.config import Settings
    from pixelmill.providers.registry import ProviderRegistry

T = TypeVar("T")


class MediaStore(Protocol):
    """Load and save media for one run, inside its workspace."""

    async def load_bytes(self, ref: MediaRef) -> bytes: ...

    async def load_image(self, ref: ImageRef) -> Image.Image: ...

    async def media_size(self, ref: MediaRef) -> tuple[int, int] | None:
        """``(width, height)`` of the image (or of the video's frames) as recorded when it was
        stored, without decoding it; None when not known."""
        ...

    async def save_image(self, image: Image.Image, *, format: str = "png", quality: int | None = None) -> ImageRef: ...

    async def save_bytes(self, data: bytes, *, mime: str) -> MediaRef: ...

    async def save_video(self, data: bytes, *, mime: str = "video/mp4") -> VideoRef: ...

    async def save_audio(self, data: bytes, *, mime: str = "audio/wav") -> AudioRef: ...


class NodeContext(Protocol):
    """The run-scoped services a node may use."""

    run_id: str
    workspace_id: str
    node_id: str
    test_mode: bool  # a pm_test_ key: sandbox models only
    settings: Settings
    providers: ProviderRegistry

    @property
    def media(self) -> MediaStore:
        """The run's media store; the executor creates it on first use, so nodes without media pay nothing."""
        ...

    @property
    def cancelled(self) -> bool:
        """True once the run was cancelled; long nodes check it between steps."""
        ...

    def raise_if_cancelled(self) -> None:
        """Raise the executor's cancellation error when the run was cancelled."""
        ...

    def report_progress(self, fraction: float, message: str | None = None, *, preview: str | None = None) -> None:
        """Progress of this node, 0..1, with an optional small ``data:`` URI preview; throttled by the executor."""
        ...

    def record_usage(self, usage: Mapping[str, Any]) -> None:
        """Keep what an upstream provider reported for this node (tokens, model, revised prompt); it is
        saved with the node's result and shown on run reads. Later calls add their keys."""
        ...

    async def run_blocking(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run CPU-bound work in the worker thread pool so the event loop stays responsive."""
        ...
