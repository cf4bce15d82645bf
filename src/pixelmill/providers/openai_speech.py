"""OpenAI text to speech (``POST /audio/speech``): the request each model takes and the audio it answers.

The answer is the raw encoded audio. pixelmill's formats map to OpenAI's ``response_format`` of the
same name (``opus`` is Ogg Opus either way, stored as ``audio/ogg``). The bytes are checked to be
what was asked for before they are stored, and a WAV whose RIFF and data sizes are placeholders
(what a streamed WAV header carries) gets its real sizes, so its duration reads right.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import MediaResult, ModelInfo, SpeechRequest

MAX_INPUT_CHARS = 4096
MIN_SPEED, MAX_SPEED = 0.25, 4.0
VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
# The voices of tts-1 and tts-1-hd (the newer names are gpt-4o-mini-tts's).
CLASSIC_VOICES = ("alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer")
FORMATS = ("wav", "mp3", "opus")
MIME_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "opus": "audio/ogg"}


@dataclass(frozen=True, slots=True)
class SpeechModel:
    """What one OpenAI speech model takes."""

    name: str
    description: str
    voices: tuple[str, ...]
    instructions: bool  # takes ``instructions`` (how to speak); tts-1* does not
    cost: int = 3  # credits per call: the audio.speech price


MODELS: dict[str, SpeechModel] = {
    spec.name: spec
    for spec in (
        SpeechModel("tts-1", "OpenAI TTS 1: fast text to speech", CLASSIC_VOICES, instructions=False),
        SpeechModel(
            "tts-1-hd", "OpenAI TTS 1 HD: text to speech at higher quality", CLASSIC_VOICES, instructions=False
        ),
        SpeechModel(
            "gpt-4o-mini-tts",
            "OpenAI GPT-4o mini TTS: text to speech that follows instructions on tone and delivery",
            VOICES,
            instructions=True,
        ),
    )
}


def model_info(spec: SpeechModel, provider: str) -> ModelInfo:
    return ModelInfo(
        id=f"{provider}/{spec.name}",
        provider=provider,
        generation_type="voice",
        capabilities=("speech",),
        cost=spec.cost,
        description=spec.description,
        sandbox=False,
        limits={
            "voices": list(spec.voices),
            "max_characters": MAX_INPUT_CHARS,
            "formats": list(FORMATS),
            "speed": [MIN_SPEED, MAX_SPEED],
            "instructions": spec.instructions,
        },
    )


def speech_body(spec: SpeechModel, request: SpeechRequest) -> dict[str, Any]:
    """The JSON of ``POST /audio/speech``; INVALID_INPUT for what ``spec`` cannot take."""
    if not request.text.strip():
        raise PixelmillError(errors.INVALID_INPUT, "There is no text to speak", field="text")
    if len(request.text) > MAX_INPUT_CHARS:
        raise PixelmillError(
            errors.INVALID_INPUT, f"openai/{spec.name} reads at most {MAX_INPUT_CHARS} characters", field="text"
        )
    if request.voice not in spec.voices:
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"openai/{spec.name} has no voice {request.voice!r}; its voices: {', '.join(spec.voices)}",
            field="voice",
        )
    if request.format not in FORMATS:
        raise PixelmillError(errors.INVALID_INPUT, f"Unknown audio format {request.format!r}", field="format")
    if not MIN_SPEED <= request.speed <= MAX_SPEED:
        raise PixelmillError(errors.INVALID_INPUT, f"speed must be between {MIN_SPEED} and {MAX_SPEED}", field="speed")
    body: dict[str, Any] = {
        "model": spec.name,
        "input": request.text,
        "voice": request.voice,
        "response_format": request.format,
        "speed": request.speed,
    }
    if request.instructions:
        if not spec.instructions:
            raise PixelmillError(
                errors.INVALID_INPUT, f"openai/{spec.name} takes no instructions", field="instructions"
            )
        body["instructions"] = request.instructions
    return body


def looks_like(data: bytes, fmt: str) -> bool:
    """Whether ``data`` starts the way a file of ``fmt`` does."""
    if fmt == "wav":
        return data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    if fmt == "opus":
        return data[:4] == b"OggS"
    if fmt == "mp3":
        return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
    return False


def with_real_wav_sizes(data: bytes) -> bytes:
    """``data`` with its RIFF size and its ``data`` chunk size set to what the file holds, where the
    header claims more (a streamed WAV's header is written before its length is known)."""
    if not looks_like(data, "wav"):
        return data
    fixed = bytearray(data)
    offset = 12
    while offset + 8 <= len(fixed):
        chunk, size = fixed[offset : offset + 4], struct.unpack_from("<I", fixed, offset + 4)[0]
        if chunk == b"data":
            struct.pack_into("<I", fixed, offset + 4, min(size, len(fixed) - offset - 8))
            break
        offset += 8 + size + (size & 1)
    struct.pack_into("<I", fixed, 4, len(fixed) - 8)
    return bytes(fixed)


def audio_result(data: bytes, fmt: str, provider: str) -> MediaResult:
    """The answer as stored media; UPSTREAM_UNAVAILABLE when it is not audio of ``fmt``."""
    if not looks_like(data, fmt):
        raise PixelmillError(
            errors.UPSTREAM_UNAVAILABLE, f"{provider} answered with something other than {fmt} audio", provider=provider
        )
    return MediaResult(data=with_real_wav_sizes(data) if fmt == "wav" else data, mime=MIME_TYPES[fmt])
