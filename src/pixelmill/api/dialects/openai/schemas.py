"""OpenAI's wire format for the parts pixelmill serves (fields as the SDKs send and read them).

Request bodies ignore fields pixelmill does not use (a tool written for OpenAI sends what OpenAI
takes, e.g. dall-e-3's ``style``); the fields it reads are validated and a bad one is a 400 naming it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pixelmill.wire import RequestModel

ImageQuality = Literal["auto", "low", "medium", "high", "standard", "hd"]
ImageBackground = Literal["auto", "transparent", "opaque"]
ImageFormat = Literal["png", "jpeg", "webp"]
ResponseFormat = Literal["b64_json", "url"]
SpeechFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]
MAX_PROMPT_CHARS = 32000


class ImageGenerate(RequestModel):
    """``POST /v1/images/generations``."""

    model_config = ConfigDict(strict=True, extra="ignore")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    model: str | None = Field(default=None, max_length=200)
    n: int = Field(default=1, ge=1, le=10)
    size: str = Field(default="auto", max_length=20)
    quality: ImageQuality = "auto"
    background: ImageBackground = "auto"
    output_format: ImageFormat = "png"
    output_compression: int | None = Field(default=None, ge=0, le=100)
    moderation: Literal["auto", "low"] = "auto"
    response_format: ResponseFormat = "b64_json"
    stream: bool = False
    partial_images: int = Field(default=0, ge=0, le=3)
    user: str | None = Field(default=None, max_length=256)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


class ImageEditForm(BaseModel):
    """The text fields of ``POST /v1/images/edits`` (multipart, so strings coerced to their types)."""

    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    model: str | None = Field(default=None, max_length=200)
    n: int = Field(default=1, ge=1, le=10)
    size: str = Field(default="auto", max_length=20)
    quality: ImageQuality = "auto"
    background: ImageBackground = "auto"
    output_format: ImageFormat = "png"
    output_compression: int | None = Field(default=None, ge=0, le=100)
    response_format: ResponseFormat = "b64_json"
    stream: bool = False
    partial_images: int = Field(default=0, ge=0, le=3)
    user: str | None = Field(default=None, max_length=256)


class ImageVariationForm(BaseModel):
    """The text fields of ``POST /v1/images/variations``."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = Field(default=None, max_length=200)
    n: int = Field(default=1, ge=1, le=10)
    size: str = Field(default="auto", max_length=20)
    response_format: ResponseFormat = "b64_json"
    user: str | None = Field(default=None, max_length=256)


class ImageData(BaseModel):
    b64_json: str | None = Field(default=None, exclude_if=lambda value: value is None)
    url: str | None = Field(default=None, exclude_if=lambda value: value is None)
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    """Exactly OpenAI's ``ImagesResponse``; ``usage`` is null when the model reported no tokens."""

    created: int
    data: list[ImageData]
    usage: dict[str, Any] | None
    background: str
    output_format: ImageFormat
    quality: str
    size: str


class TextPart(RequestModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    type: Literal["text"]
    text: str


class ImageUrl(RequestModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    url: str
    detail: str | None = None


class ImagePart(RequestModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    type: Literal["image_url"]
    image_url: ImageUrl


class ChatMessage(RequestModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart | ImagePart] | None = None


class StreamOptions(RequestModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    include_usage: bool = False


class ChatCompletionCreate(RequestModel):
    """``POST /v1/chat/completions``."""

    model_config = ConfigDict(strict=True, extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=256)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    seed: int | None = None
    n: int = Field(default=1, ge=1, le=1)
    user: str | None = Field(default=None, max_length=256)


class SpeechCreate(RequestModel):
    """``POST /v1/audio/speech``."""

    model_config = ConfigDict(strict=True, extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    input: str = Field(min_length=1, max_length=4096)
    voice: str = Field(min_length=1, max_length=40)
    response_format: SpeechFormat = "mp3"
    speed: float = Field(default=1.0, ge=0.25, le=4.0)
    instructions: str = Field(default="", max_length=4096)
