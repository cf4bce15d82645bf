"""OpenAI speech translation without HTTP: the body each model gets, what it refuses before a call,
and the audio answer checked and stored with the right type (a placeholder WAV header repaired)."""

from __future__ import annotations

import io
import struct
import wave

import pytest

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import SpeechRequest
from pixelmill.providers.openai_speech import MODELS, audio_result, model_info, speech_body, with_real_wav_sizes
from tests.support.fake_openai import speech_audio


def test_tts_1_gets_model_input_voice_format_and_speed_only() -> None:
    request = SpeechRequest(text="Hello there", voice="nova", format="mp3", speed=1.25)
    assert speech_body(MODELS["tts-1"], request) == {
        "model": "tts-1",
        "input": "Hello there",
        "voice": "nova",
        "response_format": "mp3",
        "speed": 1.25,
    }


def test_gpt_4o_mini_tts_takes_instructions_and_its_own_voices() -> None:
    request = SpeechRequest(text="Hi", voice="marin", format="opus", instructions="Speak like a pirate")
    assert speech_body(MODELS["gpt-4o-mini-tts"], request) == {
        "model": "gpt-4o-mini-tts",
        "input": "Hi",
        "voice": "marin",
        "response_format": "opus",
        "speed": 1.0,
        "instructions": "Speak like a pirate",
    }


@pytest.mark.parametrize(
    ("model", "request_", "field"),
    [
        ("tts-1", SpeechRequest(text="Hi", voice="alloy", instructions="whisper"), "instructions"),
        ("tts-1-hd", SpeechRequest(text="Hi", voice="marin"), "voice"),
        ("tts-1", SpeechRequest(text="x" * 4097, voice="alloy"), "text"),
        ("tts-1", SpeechRequest(text="Hi", voice="alloy", speed=5.0), "speed"),
        ("tts-1", SpeechRequest(text="Hi", voice="alloy", format="flac"), "format"),
        ("tts-1", SpeechRequest(text="   ", voice="alloy"), "text"),
    ],
)
def test_what_a_model_cannot_take_is_invalid_input_naming_the_field(
    model: str, request_: SpeechRequest, field: str
) -> None:
    with pytest.raises(PixelmillError) as refused:
        speech_body(MODELS[model], request_)
    assert (refused.value.code, refused.value.extra["field"]) == (errors.INVALID_INPUT.code, field)


def test_the_catalogue_lists_voices_formats_and_whether_instructions_are_taken() -> None:
    tts = model_info(MODELS["tts-1"], "openai")
    assert (tts.id, tts.generation_type, tts.capabilities, tts.cost) == ("openai/tts-1", "voice", ("speech",), 3)
    assert "alloy" in tts.limits["voices"]
    assert "marin" not in tts.limits["voices"]
    assert tts.limits["instructions"] is False
    assert model_info(MODELS["gpt-4o-mini-tts"], "openai").limits["instructions"] is True


@pytest.mark.parametrize(("fmt", "mime"), [("wav", "audio/wav"), ("mp3", "audio/mpeg"), ("opus", "audio/ogg")])
def test_real_audio_of_each_format_is_stored_with_its_type(fmt: str, mime: str) -> None:
    data = speech_audio(0.5, fmt)
    assert audio_result(data, fmt, "openai").mime == mime


def test_an_answer_that_is_not_the_asked_format_is_upstream_unavailable() -> None:
    with pytest.raises(PixelmillError) as refused:
        audio_result(speech_audio(0.5, "mp3"), "wav", "openai")
    assert refused.value.code == errors.UPSTREAM_UNAVAILABLE.code
    with pytest.raises(PixelmillError):
        audio_result(b'{"error": "not audio"}', "opus", "openai")


def test_a_streamed_wav_header_gets_the_sizes_the_file_holds() -> None:
    wav = speech_audio(0.5, "wav")
    streamed = bytearray(wav)
    struct.pack_into("<I", streamed, 4, 0xFFFFFFFF)
    data_at = streamed.index(b"data")
    struct.pack_into("<I", streamed, data_at + 4, 0xFFFFFFFF)
    repaired = audio_result(bytes(streamed), "wav", "openai").data
    assert repaired == wav
    with wave.open(io.BytesIO(repaired)) as reader:
        assert reader.getnframes() / reader.getframerate() == pytest.approx(0.5)
    assert with_real_wav_sizes(wav) == wav
