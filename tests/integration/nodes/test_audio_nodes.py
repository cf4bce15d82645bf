"""Speech and music nodes through the executor and the real MediaStore; every output decoded."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest

from pixelmill.engine.validation import GraphValidationError
from pixelmill.runtime import Runtime
from tests.support.media_nodes import MediaEnv, one_node, open_media_env


@pytest.fixture
async def media(runtime: Runtime) -> AsyncIterator[MediaEnv]:
    async with open_media_env(runtime) as env:
        yield env


def wav_facts(data: bytes) -> tuple[int, int, float]:
    with wave.open(io.BytesIO(data)) as reader:
        return reader.getframerate(), reader.getnchannels(), reader.getnframes() / reader.getframerate()


def decoded_audio(data: bytes) -> tuple[str, int, float]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return stream.codec_context.name, stream.rate, samples / stream.rate


@pytest.mark.anyio
async def test_speech_makes_a_wav_and_records_its_duration(media: MediaEnv) -> None:
    result = await media.run(one_node("audio.speech", text="Hello from pixelmill, speaking offline.", voice="en-gb"))
    assert result.status == "completed", result.errors
    output = result.outputs["n"]
    assert (output.type, result.total_cost) == ("audio", 3)
    rate, channels, seconds = wav_facts(await media.blob(output.value))
    assert (rate, channels) == (22050, 1)
    assert 1.0 < seconds < 6.0
    record = await media.file(output.value)
    assert record.mime == "audio/wav"
    assert record.duration_seconds == pytest.approx(seconds)


@pytest.mark.anyio
@pytest.mark.parametrize(("fmt", "mime", "codec"), [("mp3", "audio/mpeg", "mp3float"), ("opus", "audio/ogg", "opus")])
async def test_speech_in_compressed_formats(media: MediaEnv, fmt: str, mime: str, codec: str) -> None:
    wav = await media.run(one_node("audio.speech", text="One two three four five."))
    packed = await media.run(one_node("audio.speech", text="One two three four five.", format=fmt))
    assert packed.status == "completed", packed.errors
    assert packed.outputs["n"].value["mime"] == mime
    found_codec, _rate, seconds = decoded_audio(await media.blob(packed.outputs["n"].value))
    assert found_codec == codec
    assert seconds == pytest.approx(wav_facts(await media.blob(wav.outputs["n"].value))[2], abs=0.1)


@pytest.mark.anyio
async def test_missing_espeak_fails_the_run_with_dependency_missing(
    media: MediaEnv, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a host without espeak-ng
    result = await media.run(one_node("audio.speech", text="hello"))
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "DEPENDENCY_MISSING"
    assert result.error["dependency"] == "espeak-ng"
    assert "apt-get install espeak-ng" in result.error["message"]


@pytest.mark.anyio
async def test_music_makes_stereo_wav_of_the_exact_length_with_its_chords(media: MediaEnv) -> None:
    graph = one_node("audio.music", mood="happy", key="G", duration_seconds=4.0, instrument="pluck", seed=11)
    result = await media.run(graph)
    assert result.status == "completed", result.errors
    output = result.outputs["n"]
    assert (output.type, result.total_cost) == ("audio", 8)
    assert wav_facts(await media.blob(output.value)) == (44100, 2, 4.0)
    assert output.outputs["chords"][0] in {"G", "C", "D", "Em", "Am", "Bm"}
    assert output.outputs["chords"][-1] == "G"
    assert output.outputs["bpm"] == 116


@pytest.mark.anyio
async def test_music_is_deterministic_under_its_seed_even_without_the_cache(media: MediaEnv) -> None:
    def graph(seed: int) -> dict[str, Any]:
        inputs = {"mood": "melancholic", "duration_seconds": 3.0, "seed": seed}
        return {"nodes": [{"id": "m", "type": "audio.music", "inputs": inputs, "use_cache": False}]}

    first, again, other = [await media.run(graph(seed)) for seed in (5, 5, 6)]
    assert not again.nodes["m"].cached
    assert first.outputs["m"].value["sha256"] == again.outputs["m"].value["sha256"]
    assert first.outputs["m"].value["sha256"] != other.outputs["m"].value["sha256"]


@pytest.mark.anyio
async def test_music_as_mp3(media: MediaEnv) -> None:
    result = await media.run(one_node("audio.music", duration_seconds=2.0, format="mp3"))
    codec, rate, seconds = decoded_audio(await media.blob(result.outputs["n"].value))
    assert (codec, rate) == ("mp3float", 44100)
    assert seconds == pytest.approx(2.0, abs=0.08)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("node_type", "inputs", "field"),
    [
        ("audio.speech", {"text": ""}, "text"),
        ("audio.speech", {"text": "hi", "voice": "klingon"}, "voice"),
        ("audio.speech", {"text": "hi", "voice": "en; rm -rf /"}, "voice"),
        ("audio.speech", {"text": "hi", "variant": "nobody"}, "variant"),
        ("audio.speech", {"text": "hi", "rate": 1000}, "rate"),
        ("audio.speech", {"text": "hi", "pitch": -1}, "pitch"),
        ("audio.speech", {"text": "hi", "format": "flac"}, "format"),
        ("audio.speech", {"text": "x" * 5001}, "text"),
        ("audio.music", {"mood": "angry"}, "mood"),
        ("audio.music", {"key": "H"}, "key"),
        ("audio.music", {"tempo_bpm": 500}, "tempo_bpm"),
        ("audio.music", {"instrument": "kazoo"}, "instrument"),
        ("audio.music", {"duration_seconds": 1000}, "duration_seconds"),
    ],
)
async def test_invalid_parameters_are_refused_before_the_run_naming_the_field(
    media: MediaEnv, node_type: str, inputs: dict[str, Any], field: str
) -> None:
    with pytest.raises(GraphValidationError) as caught:
        await media.run(one_node(node_type, **inputs))
    assert caught.value.status == 422
    assert (caught.value.code, caught.value.extra["field"]) == ("INVALID_INPUT", field)
