"""Speech with the real espeak-ng program: voices, rate, pitch, safe text handling, missing program."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers import espeak


def wav_facts(data: bytes) -> tuple[int, int, float, np.ndarray]:
    with wave.open(io.BytesIO(data)) as reader:
        frames = reader.readframes(reader.getnframes())
        rate, channels = reader.getframerate(), reader.getnchannels()
        return rate, channels, reader.getnframes() / rate, np.frombuffer(frames, "<i2")


def test_voices_lists_languages_aliases_and_variants() -> None:
    known = espeak.voices()
    assert {"en-us", "en-gb", "fr-fr", "de"} <= set(known.languages)
    assert "en" in known.languages  # an alias from the "Other Languages" column
    assert {"f3", "m2"} <= set(known.variants)


def test_synthesize_returns_mono_16_bit_wav_with_audible_speech() -> None:
    rate, channels, seconds, samples = wav_facts(espeak.synthesize("The quick brown fox jumps over the lazy dog."))
    assert (rate, channels) == (22050, 1)
    assert 1.0 < seconds < 6.0
    assert np.abs(samples).max() > 3000


def test_faster_rate_gives_shorter_speech() -> None:
    text = "Pixelmill turns text into speech on the CPU without any network."
    slow = wav_facts(espeak.synthesize(text, rate=100))[2]
    fast = wav_facts(espeak.synthesize(text, rate=300))[2]
    assert fast < slow * 0.6


def test_pitch_and_variant_change_the_sound() -> None:
    low = espeak.synthesize("Hello there", pitch=10)
    high = espeak.synthesize("Hello there", pitch=90)
    female = espeak.synthesize("Hello there", voice="en-gb", variant="F3")
    assert len({low, high, female}) == 3


def test_text_that_looks_like_options_is_spoken_not_obeyed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.wav"
    seconds = wav_facts(espeak.synthesize(f"--help -w {elsewhere}; rm -rf {tmp_path} && echo hi"))[2]
    assert seconds > 1.0
    assert tmp_path.exists()
    assert not elsewhere.exists()


def test_control_characters_are_dropped_and_blank_text_refused() -> None:
    assert espeak.clean_text("  a\x00b\x07c\n ") == "a b c"
    with pytest.raises(PixelmillError) as caught:
        espeak.synthesize(" \x00\x01 ")
    assert (caught.value.code, caught.value.extra["field"]) == ("INVALID_INPUT", "text")


def test_too_long_text_is_refused() -> None:
    with pytest.raises(PixelmillError) as caught:
        espeak.clean_text("a" * (espeak.MAX_TEXT_CHARS + 1))
    assert caught.value.extra["field"] == "text"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"voice": "xx-nowhere"}, "voice"),
        ({"variant": "robot9"}, "variant"),
        ({"rate": 20}, "rate"),
        ({"pitch": 100}, "pitch"),
    ],
)
def test_bad_parameters_name_their_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(PixelmillError) as caught:
        espeak.synthesize("hello", **kwargs)  # type: ignore[arg-type]
    assert caught.value.spec is errors.INVALID_INPUT
    assert caught.value.extra["field"] == field


def test_missing_espeak_is_dependency_missing_naming_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PixelmillError) as caught:
        espeak.synthesize("hello")
    assert caught.value.spec is errors.DEPENDENCY_MISSING
    assert "apt-get install espeak-ng" in caught.value.message
    assert caught.value.extra["dependency"] == "espeak-ng"
