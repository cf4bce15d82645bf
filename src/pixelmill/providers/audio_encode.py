"""PCM WAV reading and writing, and transcoding WAV to MP3 or Opus with PyAV.

Speech and music are synthesised as 16-bit PCM; WAV is the lossless default, MP3 the one every
player knows and Opus (in Ogg) the smallest. Opus only accepts a few sample rates, so audio is
resampled to 48 kHz for it; MP3 keeps the source rate.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pixelmill.providers.media_deps import require_av

AudioFormat = Literal["wav", "mp3", "opus"]

MIME_TYPES: dict[str, str] = {"wav": "audio/wav", "mp3": "audio/mpeg", "opus": "audio/ogg"}

# (container, codec, fixed sample rate or None to keep the source's) for each compressed format
_CODECS: dict[str, tuple[str, str, int | None]] = {
    "mp3": ("mp3", "libmp3lame", None),
    "opus": ("ogg", "libopus", 48_000),
}


@dataclass(frozen=True, slots=True)
class Pcm:
    """16-bit samples shaped (frames, channels) at ``sample_rate``."""

    samples: npt.NDArray[np.int16]
    sample_rate: int

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_seconds(self) -> float:
        return int(self.samples.shape[0]) / self.sample_rate


def write_wav(pcm: Pcm) -> bytes:
    """A RIFF/WAVE file holding ``pcm``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(pcm.channels)
        out.setsampwidth(2)
        out.setframerate(pcm.sample_rate)
        out.writeframes(np.ascontiguousarray(pcm.samples, dtype="<i2").tobytes())
    return buffer.getvalue()


def read_wav(data: bytes) -> Pcm:
    """The samples of a 16-bit PCM WAV file."""
    with wave.open(io.BytesIO(data), "rb") as source:
        if source.getsampwidth() != 2:
            raise ValueError(f"expected 16-bit PCM, got {8 * source.getsampwidth()}-bit")
        channels = source.getnchannels()
        raw = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
        return Pcm(raw.reshape(-1, channels).astype(np.int16), source.getframerate())


def encode_audio(pcm: Pcm, fmt: AudioFormat) -> bytes:
    """``pcm`` as a file of ``fmt``: WAV as is, MP3 (libmp3lame) or Opus in Ogg (libopus)."""
    if fmt == "wav":
        return write_wav(pcm)
    av = require_av()
    container_format, codec, fixed_rate = _CODECS[fmt]
    rate = fixed_rate or pcm.sample_rate
    layout = "mono" if pcm.channels == 1 else "stereo"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        stream: Any = container.add_stream(codec, rate=rate)
        stream.layout = layout
        resampler = av.AudioResampler(format=stream.codec_context.format, layout=layout, rate=rate)
        # Packed s16 frames are one row of interleaved samples.
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm.samples).reshape(1, -1), format="s16", layout=layout
        )
        frame.sample_rate = pcm.sample_rate
        for chunk in (*resampler.resample(frame), *resampler.resample(None)):
            for packet in stream.encode(chunk):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()
