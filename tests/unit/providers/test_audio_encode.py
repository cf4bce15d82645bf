"""WAV writing and reading, and MP3/Opus encoding checked by decoding the result with PyAV."""

from __future__ import annotations

import io
import wave

import av
import numpy as np
import pytest

from pixelmill.providers.audio_encode import MIME_TYPES, Pcm, encode_audio, read_wav, write_wav


def sine(seconds: float, rate: int, channels: int) -> Pcm:
    t = np.arange(int(seconds * rate)) / rate
    wave_ = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16)
    return Pcm(np.repeat(wave_[:, None], channels, axis=1), rate)


def test_wav_round_trip_keeps_samples_rate_and_channels() -> None:
    pcm = sine(0.5, 22050, 2)
    data = write_wav(pcm)
    with wave.open(io.BytesIO(data)) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (22050, 2, 2)
        assert reader.getnframes() == 11025
    back = read_wav(data)
    assert back.sample_rate == 22050
    assert np.array_equal(back.samples, pcm.samples)
    assert back.duration_seconds == pytest.approx(0.5)


def test_read_wav_refuses_8_bit_audio() -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * 100)
    with pytest.raises(ValueError, match="16-bit"):
        read_wav(buffer.getvalue())


@pytest.mark.parametrize(
    ("fmt", "codec", "rate", "channels"),
    [
        ("mp3", "mp3float", 22050, 1),
        ("mp3", "mp3float", 44100, 2),
        ("opus", "opus", 48000, 1),
        ("opus", "opus", 48000, 2),
    ],
)
def test_compressed_formats_decode_to_the_same_duration(fmt: str, codec: str, rate: int, channels: int) -> None:
    source = sine(1.0, 22050 if rate == 22050 or fmt == "opus" else rate, channels)
    data = encode_audio(source, fmt)  # type: ignore[arg-type]
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == codec
        assert stream.rate == rate
        assert stream.channels == channels
        decoded = sum(frame.samples for frame in container.decode(stream)) / stream.rate
    assert decoded == pytest.approx(1.0, abs=0.08)  # encoders pad a frame or so
    assert MIME_TYPES[fmt] in ("audio/mpeg", "audio/ogg")


def test_wav_format_is_written_as_is() -> None:
    pcm = sine(0.1, 8000, 1)
    assert encode_audio(pcm, "wav") == write_wav(pcm)
