"""Algorithmic composition and synthesis: determinism, key, length, levels."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from pixelmill.providers.audio_encode import write_wav
from pixelmill.providers.music import PITCH_CLASS, SCALES, STYLES, compose
from pixelmill.providers.music_synth import PEAK, drum, render, tone


def piece_bytes(seed: int, **kwargs: object) -> bytes:
    score = compose(duration_seconds=4.0, seed=seed, **kwargs)  # type: ignore[arg-type]
    return write_wav(render(score, instrument="pluck", seed=seed))


def test_same_seed_gives_the_same_bytes() -> None:
    first = piece_bytes(7, mood="happy", key="A")
    second = piece_bytes(7, mood="happy", key="A")
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()


def test_another_seed_gives_another_piece() -> None:
    assert piece_bytes(1, mood="happy") != piece_bytes(2, mood="happy")


@pytest.mark.parametrize("mood", sorted(STYLES))
@pytest.mark.parametrize(("key", "mode"), [("C", "major"), ("F#", "minor"), ("Bb", None)])
def test_every_pitch_belongs_to_the_key(mood: str, key: str, mode: str | None) -> None:
    score = compose(duration_seconds=12.0, mood=mood, key=key, mode=mode, seed=3)  # type: ignore[arg-type]
    scale = {(PITCH_CLASS[key] + step) % 12 for step in SCALES[score.mode]}
    # Melody and chords stay in the scale; the bass may add a plain fifth over a diminished chord.
    for note in score.notes:
        if note.part != "bass":
            assert note.pitch % 12 in scale, (note, mood)
    assert score.mode == (mode or STYLES[mood].mode)


def test_the_piece_ends_on_the_tonic_chord() -> None:
    score = compose(duration_seconds=10.0, mood="calm", key="D", seed=5)
    assert score.chords[-1] == "D"
    minor = compose(duration_seconds=10.0, mood="melancholic", key="E", seed=5)
    assert minor.chords[-1] == "Em"


def test_tempo_defaults_to_the_mood_and_can_be_set() -> None:
    assert compose(duration_seconds=5, mood="energetic").bpm == STYLES["energetic"].bpm
    assert compose(duration_seconds=5, mood="energetic", bpm=90).bpm == 90


def test_energetic_music_is_denser_than_calm_music() -> None:
    calm = compose(duration_seconds=20, mood="calm", seed=1)
    energetic = compose(duration_seconds=20, mood="energetic", seed=1)
    assert len(energetic.notes) > 3 * len(calm.notes)
    assert len(energetic.hits) > 3 * len(calm.hits)


def test_drums_can_be_left_out() -> None:
    assert compose(duration_seconds=5, mood="happy", drums=False).hits == ()


@pytest.mark.parametrize("instrument", ["piano", "pad", "pluck", "bell"])
def test_render_is_exactly_as_long_as_asked_and_peaks_at_minus_one_dbfs(instrument: str) -> None:
    score = compose(duration_seconds=3.5, mood="energetic", seed=2)
    pcm = render(score, instrument=instrument, seed=2)  # type: ignore[arg-type]
    assert pcm.sample_rate == 44100
    assert pcm.channels == 2
    assert pcm.samples.shape[0] == round(3.5 * 44100)
    peak = int(np.abs(pcm.samples.astype(np.int32)).max())
    assert peak == pytest.approx(PEAK * 32767, abs=2)  # normalised, so never clipped
    assert not np.array_equal(pcm.samples[:, 0], pcm.samples[:, 1])  # panned and roomed: real stereo


def test_the_ending_fades_out() -> None:
    pcm = render(compose(duration_seconds=8, mood="happy", seed=4), instrument="piano", seed=4)
    tail = np.abs(pcm.samples[-441:].astype(np.int32)).max()
    body = np.abs(pcm.samples[: 4 * 44100].astype(np.int32)).max()
    assert tail < body / 20


@pytest.mark.parametrize("instrument", ["piano", "pad", "pluck", "bell", "bass"])
def test_each_instrument_sounds_at_its_pitch(instrument: str) -> None:
    sound = tone(instrument, 69, 0.5)  # type: ignore[arg-type]
    assert np.isfinite(sound).all()
    assert 0.1 < np.abs(sound).max() < 3
    spectrum = np.abs(np.fft.rfft(sound[: 44100 // 2] * np.hanning(44100 // 2)))
    strongest = np.argmax(spectrum) * 44100 / (44100 // 2)
    # The strongest partial is the fundamental or one of its low harmonics (a bell's FM carrier is 440 Hz too).
    assert min(abs(strongest / 440 - k) for k in (1, 2, 3)) < 0.05


def test_drum_noise_comes_from_the_seeded_generator() -> None:
    one = drum("snare", np.random.default_rng(1))
    same = drum("snare", np.random.default_rng(1))
    other = drum("snare", np.random.default_rng(2))
    assert np.array_equal(one, same)
    assert not np.array_equal(one, other)
