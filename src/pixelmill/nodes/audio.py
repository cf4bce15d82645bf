"""Audio nodes: speech from text with espeak-ng, and algorithmic music synthesised with NumPy.

Both run offline on the CPU. The music is composed by rules (see providers/music.py), not by a
neural model: it is pleasant background material with a clear mood, deterministic under its seed.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.engine.values import AudioRef
from pixelmill.errors import PixelmillError
from pixelmill.providers import espeak
from pixelmill.providers.audio_encode import MIME_TYPES, AudioFormat, Pcm, encode_audio, read_wav
from pixelmill.providers.base import ModelInfo, SpeechRequest
from pixelmill.providers.local_media import ESPEAK, MAX_MUSIC_SECONDS
from pixelmill.providers.model_limits import check_model_inputs
from pixelmill.providers.music import Key, Mode, Mood, compose
from pixelmill.providers.music_synth import Instrument, render

MAX_SEED = 2**32 - 1
NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
DEFAULT_ESPEAK_VOICE = "en-us"
MAX_INSTRUCTIONS_CHARS = 2000


class AudioOutput(BaseModel):
    audio: AudioRef = Field(description="The audio file")


class MusicOutput(BaseModel):
    audio: AudioRef = Field(description="The audio file")
    chords: list[str] = Field(description="The chord of each bar, e.g. C G Am F")
    bpm: float = Field(description="Tempo in beats per minute")


@node("audio.speech", version="1.0.0", category="audio")
class AudioSpeech(BaseNode):
    """Read text aloud: by default with espeak-ng (over a hundred languages and accents, adjustable
    speed and pitch, offline), or with an upstream speech model such as openai/tts-1. WAV by
    default, or MP3 or Opus."""

    text: str = Field(min_length=1, max_length=espeak.MAX_TEXT_CHARS, description="What to say")
    # Declared before voice and variant: their validators read it.
    model: str = Field(default=ESPEAK, description="A speech model from GET /v1/models")
    voice: str | None = Field(
        default=None,
        max_length=40,
        pattern=NAME_PATTERN,
        description=(
            "local/espeak: language or accent, e.g. en-us (the default), en-gb, fr, de; an upstream "
            "model: one of the voices GET /v1/models lists for it (default its first)"
        ),
    )
    variant: str | None = Field(
        default=None,
        max_length=40,
        pattern=NAME_PATTERN,
        description="Voice variant, e.g. f3 or m2 (from espeak-ng); local/espeak only",
    )
    rate: int = Field(
        default=espeak.DEFAULT_RATE, ge=espeak.MIN_RATE, le=espeak.MAX_RATE, description="Speed in words per minute"
    )
    pitch: int = Field(
        default=espeak.DEFAULT_PITCH,
        ge=espeak.MIN_PITCH,
        le=espeak.MAX_PITCH,
        description="Pitch 0..99; local/espeak only",
    )
    format: AudioFormat = Field(default="wav", description="wav, mp3 or opus (in Ogg)")
    instructions: str = Field(
        default="",
        max_length=MAX_INSTRUCTIONS_CHARS,
        description="How to speak (tone, accent, pace), for models that take it (openai/gpt-4o-mini-tts)",
    )

    base_cost: ClassVar[int] = 3

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Checked before the run where espeak-ng is installed (a bad name is then a 422 naming the
        # field); a host without it finds out at run time, with DEPENDENCY_MISSING. An upstream
        # model's voices are checked against its catalogue entry by check_model.
        if value is None or info.data.get("model", ESPEAK) != ESPEAK:
            return value
        if shutil.which(espeak.PROGRAM) and value.lower() not in espeak.voices().languages:
            raise ValueError(f"unknown voice {value!r}; GET /v1/models lists the model, espeak-ng --voices the names")
        return value

    @field_validator("variant")
    @classmethod
    def _known_variant(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or info.data.get("model", ESPEAK) != ESPEAK:
            return value
        if shutil.which(espeak.PROGRAM) and value.lower() not in espeak.voices().variants:
            raise ValueError(f"unknown voice variant {value!r}")
        return value

    @classmethod
    def priced_cost(cls, inputs: Mapping[str, Any], prices: Mapping[str, int]) -> int:
        price = prices.get(str(inputs.get("model", ESPEAK)))
        return cls.cost(inputs) if price is None else price

    @classmethod
    def check_model(cls, inputs: Mapping[str, Any], info: ModelInfo) -> None:
        """What the model cannot take, refused before the run is queued (and again at run time)."""
        check_model_inputs(inputs, info, capability="speech")
        limits = info.limits
        text = inputs.get("text")
        if isinstance(text, str) and len(text) > limits.get("max_characters", len(text)):
            raise _refused(f"{info.id} reads at most {limits['max_characters']} characters", "text", info)
        if info.id == ESPEAK:
            if inputs.get("instructions"):
                raise _refused(f"{info.id} takes no instructions", "instructions", info)
            return
        voices = limits.get("voices")  # a model that publishes no voice list takes any name
        voice = inputs.get("voice")
        if isinstance(voice, str) and isinstance(voices, list) and voice not in voices:
            raise _refused(f"{info.id} has no voice {voice!r}; its voices: {', '.join(voices)}", "voice", info)
        for name, default in (("variant", None), ("pitch", espeak.DEFAULT_PITCH)):
            if inputs.get(name, default) != default:
                raise _refused(f"{name} applies to {ESPEAK} only, not {info.id}", name, info)
        if inputs.get("instructions") and not limits.get("instructions", False):
            raise _refused(f"{info.id} takes no instructions", "instructions", info)

    async def run(self, ctx: NodeContext) -> AudioOutput:
        info = ctx.providers.model(self.model)
        if ctx.test_mode and not info.sandbox:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"Model {self.model!r} is not available to test keys; use {ESPEAK}",
                field="model",
                node_id=ctx.node_id,
            )
        self.check_model(self.model_dump(), info)
        if self.model != ESPEAK:
            return await self._upstream(ctx, info)
        ctx.report_progress(0.0, "speaking")
        wav = await ctx.run_blocking(
            espeak.synthesize,
            self.text,
            voice=self.voice or DEFAULT_ESPEAK_VOICE,
            variant=self.variant,
            rate=self.rate,
            pitch=self.pitch,
        )
        ctx.raise_if_cancelled()
        if self.format != "wav":
            pcm = await ctx.run_blocking(read_wav, wav)
            wav = await ctx.run_blocking(encode_audio, pcm, self.format)
        audio = await ctx.media.save_audio(wav, mime=MIME_TYPES[self.format])
        ctx.report_progress(1.0)
        return AudioOutput(audio=audio)

    async def _upstream(self, ctx: NodeContext, info: ModelInfo) -> AudioOutput:
        """The speech of an upstream model: ``rate`` becomes its speed relative to espeak's default."""
        provider = ctx.providers.speech(self.model)
        voices = info.limits.get("voices") or []
        request = SpeechRequest(
            text=self.text,
            voice=self.voice or (voices[0] if voices else ""),
            format=self.format,
            speed=round(self.rate / espeak.DEFAULT_RATE, 3),
            instructions=self.instructions,
            usage=ctx.record_usage,
        )
        ctx.report_progress(0.0, "speaking")
        ctx.raise_if_cancelled()
        result = await provider.speech(self.model, request)
        ctx.raise_if_cancelled()
        audio = await ctx.media.save_audio(result.data, mime=result.mime)
        ctx.report_progress(1.0)
        return AudioOutput(audio=audio)


def _refused(message: str, field: str, info: ModelInfo) -> PixelmillError:
    return PixelmillError(errors.INVALID_INPUT, message, field=field, model=info.id)


@node("audio.music", version="1.0.0", category="audio")
class AudioMusic(BaseNode):
    """Compose and synthesise instrumental music: chords, melody, bass and drums chosen by rules from
    the mood and key (algorithmic composition, not a neural model). The same inputs and seed give
    the same file."""

    mood: Mood = Field(default="calm", description="calm, happy, melancholic or energetic")
    key: Key = Field(default="C", description="Tonic of the key, e.g. C, F#, Bb")
    mode: Mode | None = Field(default=None, description="major or minor; default the mood's")
    tempo_bpm: int | None = Field(default=None, ge=40, le=200, description="Beats per minute; default the mood's")
    instrument: Instrument = Field(default="piano", description="Timbre of melody and chords")
    drums: bool = Field(default=True, description="Add a drum groove")
    duration_seconds: float = Field(default=15.0, ge=1, le=MAX_MUSIC_SECONDS, description="Length of the piece")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Another seed gives another tune")
    format: AudioFormat = Field(default="wav", description="wav, mp3 or opus (in Ogg)")

    base_cost: ClassVar[int] = 8

    async def run(self, ctx: NodeContext) -> MusicOutput:
        ctx.report_progress(0.0, "composing")
        score = await ctx.run_blocking(
            compose,
            duration_seconds=self.duration_seconds,
            mood=self.mood,
            key=self.key,
            mode=self.mode,
            bpm=self.tempo_bpm,
            seed=self.seed,
            drums=self.drums,
        )
        ctx.raise_if_cancelled()
        ctx.report_progress(0.1, "synthesising")
        pcm: Pcm = await ctx.run_blocking(render, score, instrument=self.instrument, seed=self.seed)
        ctx.raise_if_cancelled()
        ctx.report_progress(0.9, "encoding")
        data = await ctx.run_blocking(encode_audio, pcm, self.format)
        audio = await ctx.media.save_audio(data, mime=MIME_TYPES[self.format])
        ctx.report_progress(1.0)
        return MusicOutput(audio=audio, chords=list(score.chords), bpm=score.bpm)
