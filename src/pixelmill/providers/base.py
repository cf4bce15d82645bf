"""Provider Protocols, one per capability, and the catalogue entry each model publishes.

A provider adapter declares an id, whether it is configured, and its models; nodes look a model up
in the ProviderRegistry and call the capability's one async method. Retries live in the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, runtime_checkable

if TYPE_CHECKING:
    from PIL import Image

# "vision": a text model that also reads images given with the prompt.
Capability = Literal[
    "text-to-image", "image-to-image", "inpainting", "video", "speech", "music", "text", "vision", "infographic"
]
GenerationType = Literal["image", "video", "voice", "music", "infographic", "text"]


class ProgressCallback(Protocol):
    """How a provider reports progress of one call (a fraction 0..1, a short message, optionally a
    small ``data:`` URI preview); the node passes its context's report_progress, so a provider
    reports progress without knowing about runs."""

    def __call__(self, fraction: float, message: str | None = None, *, preview: str | None = None) -> None: ...


# Whether the node's run was cancelled; a provider that polls a long upstream job asks it between
# polls and cancels the upstream job, so a cancelled run stops paying for it.
CancelCheck = Callable[[], bool]

# How a provider hands back what an upstream reported for a call (tokens, model used, revised prompt);
# the node passes its context's record_usage, which saves it with the node's result.
UsageCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One entry of the model catalogue (``GET /v1/models``)."""

    id: str  # "local/procedural"
    provider: str  # "local"
    generation_type: GenerationType
    capabilities: tuple[Capability, ...]
    cost: int  # credits per output
    description: str
    sandbox: bool = False  # usable with pm_test_ keys, which never spend credits
    limits: dict[str, Any] = field(default_factory=dict)  # max_width, max_height, max_images, …
    # Served by an upstream API rather than computed here: a run whose model calls are all remote goes
    # to the fleet's ``remote`` queue. The registry sets it for every UpstreamProvider's models.
    remote: bool = False


@dataclass(frozen=True, slots=True)
class TextToImageRequest:
    prompt: str
    width: int
    height: int
    seed: int
    negative_prompt: str = ""
    n: int = 1
    reference_images: tuple[Image.Image, ...] = ()
    progress: ProgressCallback | None = None
    usage: UsageCallback | None = None
    # Model-specific upstream inputs passed as they are (a Replicate or fal model's own input names).
    options: Mapping[str, Any] = field(default_factory=dict)
    cancelled: CancelCheck | None = None


@dataclass(frozen=True, slots=True)
class ImageToImageRequest:
    image: Image.Image
    operation: str  # "style", "enhance", …: the provider's own operation names
    params: dict[str, Any] = field(default_factory=dict)
    prompt: str = ""
    seed: int = 0
    progress: ProgressCallback | None = None
    usage: UsageCallback | None = None


@runtime_checkable
class Provider(Protocol):
    """Identity shared by every provider adapter."""

    id: str

    def is_configured(self) -> bool: ...

    def models(self) -> list[ModelInfo]: ...


@runtime_checkable
class TextToImageProvider(Provider, Protocol):
    async def text_to_image(self, model: str, request: TextToImageRequest) -> list[Image.Image]: ...


@runtime_checkable
class ImageToImageProvider(Provider, Protocol):
    async def image_to_image(self, model: str, request: ImageToImageRequest) -> list[Image.Image]: ...


@dataclass(frozen=True, slots=True)
class InpaintRequest:
    """Repaint the white area of ``mask`` (same size as ``image``) following ``prompt``."""

    image: Image.Image
    mask: Image.Image
    prompt: str
    seed: int = 0
    negative_prompt: str = ""
    strength: float = 1.0  # 1.0 repaints the masked area from noise; lower keeps more of the original
    n: int = 1
    progress: ProgressCallback | None = None
    usage: UsageCallback | None = None


@runtime_checkable
class InpaintingProvider(Provider, Protocol):
    async def inpaint(self, model: str, request: InpaintRequest) -> list[Image.Image]: ...


@dataclass(frozen=True, slots=True)
class ChatImage:
    """An image a text model reads with the prompt: the stored bytes as a ``data:`` URL (never a
    client's URL: the server fetched and stored it first), and OpenAI's ``detail`` when one was asked."""

    data_url: str
    detail: str | None = None


@runtime_checkable
class TextProvider(Provider, Protocol):
    """Text generation: at most ``max_tokens`` new tokens; the same seed gives the same text (an
    upstream model only tries to). ``progress`` hears of tokens as they arrive, ``usage`` what an
    upstream reported for the call (tokens, model used). ``images`` go with the prompt to a model
    whose catalogue entry has the ``vision`` capability; any other model refuses them."""

    async def generate(
        self,
        model: str,
        prompt: str,
        system: str,
        max_tokens: int,
        temperature: float,
        seed: int,
        *,
        progress: ProgressCallback | None = None,
        usage: UsageCallback | None = None,
        images: Sequence[ChatImage] = (),
    ) -> str: ...


@dataclass(frozen=True, slots=True)
class VideoRequest:
    """A clip from ``prompt``, starting from ``image`` when one is given (image to video)."""

    prompt: str
    image: Image.Image | None = None
    duration_seconds: float = 5.0
    width: int = 1280
    height: int = 720
    seed: int = 0
    progress: ProgressCallback | None = None
    usage: UsageCallback | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    cancelled: CancelCheck | None = None


@dataclass(frozen=True, slots=True)
class MediaResult:
    """Encoded media an upstream made (an mp4, an mp3), as bytes to store and the type they are."""

    data: bytes
    mime: str


@runtime_checkable
class VideoProvider(Provider, Protocol):
    async def generate_video(self, model: str, request: VideoRequest) -> MediaResult: ...


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """``text`` read aloud by ``voice`` (the provider's own voice names), encoded as ``format``."""

    text: str
    voice: str
    format: str = "wav"  # wav, mp3 or opus
    speed: float = 1.0
    instructions: str = ""
    usage: UsageCallback | None = None


@runtime_checkable
class SpeechProvider(Provider, Protocol):
    async def speech(self, model: str, request: SpeechRequest) -> MediaResult: ...


@runtime_checkable
class UpstreamProvider(Provider, Protocol):
    """A provider behind an upstream API key. The registry makes a copy per key with ``with_key``
    (a workspace's own key), and the keys API asks ``check_key`` before it saves one."""

    key_env: str  # the upstream's own environment variable, e.g. "OPENAI_API_KEY"

    def with_key(self, key: str) -> Self:
        """The same adapter (base URL, limits) calling with ``key`` instead."""
        ...

    def key_hint(self) -> str | None:
        """The key in use, masked (at most its last four characters), or None without one."""
        ...

    async def check_key(self) -> None:
        """Ask the upstream whether the key works (a cheap authenticated read); raise
        UPSTREAM_AUTH_FAILED when it refuses, UPSTREAM_UNAVAILABLE when it cannot be reached."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class OpenCatalogue(Provider, Protocol):
    """A provider that runs models by name beyond those it lists (Replicate, fal): asked for an id
    the listed catalogue lacks, it answers the entry for that id, or None when it is not its own."""

    def resolve_model(self, model_id: str) -> ModelInfo | None: ...
