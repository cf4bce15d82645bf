"""Audio nodes: speech from text with espeak-ng, and algorithmic music synthesised with NumPy.

Both run offline on the CPU. The music is composed by rules (see providers/music.py), not by a
neural model: it is pleasant background material with a clear mood, deterministic under its seed.
"""

from __future__ import annotations

import shutil
from typing import ClassVar

from pydantic import BaseModel, Field, field_validator

from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.engine.values import AudioRef
from pixelmill.providers import espeak
from pixelmill.providers.audio_encode import MIME_TYPES, AudioFormat, Pcm, encode_audio, read_wav
from pixelmill.providers.local_media import MAX_MUSIC_SECONDS
from pixelmill.providers.music import Key, Mode, Mood, compose
from pixelmill.providers.music_synth import Instrument, render

MAX_SEED = 2**32 - 1
NAME_PATTERN = r"^[A-Za-z0-9_-]+$"


class AudioOutput(BaseModel):
    audio: AudioRef = Field(description="The audio file")


class MusicOutput(BaseModel):
    audio: AudioRef = Field(description="The audio file")
    chords: list[str] = Field(description="The chord of each bar, e.g. C G Am F")
    bpm: float = Field(description="Tempo in beats per minute")


@node("audio.speech", version="1.0.0", category="audio")
class AudioSpeech(BaseNode):
    """Read text aloud with espeak-ng: over a hundred languages and accents, adjustable speed and
    pitch, offline. WAV by default, or MP3 or Opus."""

    text: str = Field(min_length=1, max_length=espeak.MAX_TEXT_CHARS, description="What to say")
    voice: str = Field(
        default="en-us",
        max_length=40,
        pattern=NAME_PATTERN,
        description="Language or accent, e.g. en-us, en-gb, fr, de",
    )
    variant: str | None = Field(
        default=None, max_length=40, pattern=NAME_PATTERN, description="Voice variant, e.g. f3 or m2 (from espeak-ng)"
    )
    rate: int = Field(
        default=espeak.DEFAULT_RATE, ge=espeak.MIN_RATE, le=espeak.MAX_RATE, description="Speed in words per minute"
    )
    pitch: int = Field(
        default=espeak.DEFAULT_PITCH, ge=espeak.MIN_PITCH, le=espeak.MAX_PITCH, description="Pitch 0..99"
    )
    format: AudioFormat = Field(default="wav", description="wav, mp3 or opus (in Ogg)")

    base_cost: ClassVar[int] = 3

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, value: str) -> str:
        # Checked before the run where espeak-ng is installed (a bad name is then a 422 naming the
        # field); a host without it finds out at run time, with DEPENDENCY_MISSING.
        if shutil.which(espeak.PROGRAM) and value.lower() not in espeak.voices().languages:
            raise ValueError(f"unknown voice {value!r}; GET /v1/models lists the model, espeak-ng --voices the names")
        return value

    @field_validator("variant")
    @classmethod
    def _known_variant(cls, value: str | None) -> str | None:
        if value is not None and shutil.which(espeak.PROGRAM) and value.lower() not in espeak.voices().variants:
            raise ValueError(f"unknown voice variant {value!r}")
        return value

    async def run(self, ctx: NodeContext) -> AudioOutput:
        ctx.report_progress(0.0, "speaking")
        wav = await ctx.run_blocking(
            espeak.synthesize, self.text, voice=self.voice, variant=self.variant, rate=self.rate, pitch=self.pitch
        )
        ctx.raise_if_cancelled()
        if self.format != "wav":
            pcm = await ctx.run_blocking(read_wav, wav)
            wav = await ctx.run_blocking(encode_audio, pcm, self.format)
        audio = await ctx.media.save_audio(wav, mime=MIME_TYPES[self.format])
        ctx.report_progress(1.0)
        return AudioOutput(audio=audio)


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
