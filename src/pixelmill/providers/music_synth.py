"""Synthesis of a composed Score to stereo 16-bit PCM with NumPy: instruments, drums, room, mastering.

Instruments are small physical caricatures built from sine partials with envelopes: a piano
(slightly stretched harmonics, upper ones dying faster), a pad (detuned harmonic stacks with a
slow swell), a pluck (bright attack that darkens quickly) and a bell (FM with an inharmonic
ratio). Drums are a pitch-swept sine kick and filtered noise. A synthetic room (decaying noise,
convolved by FFT) sits behind the melody and chords. The master is normalised to -1 dBFS peak,
so nothing ever clips, whatever the density of the score.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from pixelmill.providers.audio_encode import Pcm
from pixelmill.providers.music import Drum, Score

Instrument = Literal["piano", "pad", "pluck", "bell"]
Signal = npt.NDArray[np.float64]

SAMPLE_RATE = 44_100
PEAK = 10 ** (-1 / 20)  # -1 dBFS leaves headroom for lossy encoders, which overshoot a little
MAX_TONE_SECONDS = 8.0
ROOM_SECONDS = 1.6

# Seconds each instrument keeps sounding after its key is released.
RELEASE: dict[str, float] = {"piano": 0.25, "pad": 0.8, "pluck": 0.12, "bell": 1.2, "bass": 0.08}
# (gain, pan -1 left .. +1 right) of each part in the mix.
MIX: dict[str, tuple[float, float]] = {
    "melody": (0.5, 0.15),
    "chords": (0.28, -0.2),
    "bass": (0.5, 0.0),
    "drums": (0.7, 0.0),
    "hats": (0.5, 0.3),
}


def midi_hz(pitch: int) -> float:
    return float(440.0 * 2.0 ** ((pitch - 69) / 12))


def _partials(freq: float, t: Signal, ratios: Signal, amps: Signal, decays: Signal, rate: int) -> Signal:
    """Sum of decaying sine partials, dropping any at or above 45% of the rate (they would alias)."""
    keep = ratios * freq < 0.45 * rate
    ratios, amps, decays = ratios[keep], amps[keep], decays[keep]
    waves = np.sin(2 * np.pi * freq * np.outer(ratios, t)) * np.exp(-np.outer(decays, t))
    return np.asarray(amps @ waves, dtype=np.float64)


def _envelope(t: Signal, hold: float, attack: float, release: float) -> Signal:
    """Attack ramp, then full level until the key is released, then an exponential fade."""
    rise = np.clip(t / attack, 0.0, 1.0)
    fall = np.where(t > hold, np.exp(-(t - hold) / (release / 4)), 1.0)
    return np.asarray(rise * fall, dtype=np.float64)


def tone(instrument: Instrument | Literal["bass"], pitch: int, hold: float, rate: int = SAMPLE_RATE) -> Signal:
    """One note of ``instrument`` held for ``hold`` seconds, with its release, peaking near 1."""
    length = min(MAX_TONE_SECONDS, hold + RELEASE[instrument])
    t = np.arange(int(length * rate), dtype=np.float64) / rate
    freq = midi_hz(pitch)
    k = np.arange(1, 11, dtype=np.float64)
    if instrument == "piano":
        ratios = k * np.sqrt(1 + 0.0003 * k**2)  # stiff strings stretch the upper partials
        wave = _partials(freq, t, ratios, 1 / k**1.6, 1.1 + 0.55 * k, rate)
        return wave * _envelope(t, hold, 0.004, RELEASE[instrument]) * 0.9
    if instrument == "pluck":
        wave = _partials(freq, t, k, 1 / k, 2.5 + 1.8 * k**1.3, rate)
        return wave * _envelope(t, hold, 0.002, RELEASE[instrument]) * 1.1
    if instrument == "bell":
        index = 2.4 * np.exp(-3.0 * t) + 0.2
        wave = np.sin(2 * np.pi * freq * t + index * np.sin(2 * np.pi * freq * 3.5 * t)) * np.exp(-1.6 * t)
        return np.asarray(wave * _envelope(t, hold, 0.002, RELEASE[instrument]) * 0.8, dtype=np.float64)
    if instrument == "pad":
        h = k[:6]
        wave = np.zeros_like(t)
        for cents in (-7.0, 0.0, 7.0):  # three slightly detuned voices beat slowly against each other
            wave += _partials(freq * 2 ** (cents / 1200), t, h, 1 / h, np.zeros_like(h), rate)
        swell = np.clip(t / 0.35, 0.0, 1.0) ** 2
        return wave * swell * _envelope(t, hold, 0.001, RELEASE[instrument]) * 0.4
    # bass: a round fundamental with a little second and third harmonic so small speakers hear it
    wave = _partials(freq, t, k[:3], np.array([1.0, 0.35, 0.12]), np.array([0.8, 1.5, 2.5]), rate)
    return wave * _envelope(t, hold, 0.006, RELEASE["bass"])


def drum(kind: Drum, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> Signal:
    """One drum sound; the noise comes from ``rng`` so a seed fixes every byte."""
    seconds = {"kick": 0.4, "snare": 0.25, "hat": 0.06, "open_hat": 0.3}[kind]
    t = np.arange(int(seconds * rate), dtype=np.float64) / rate
    noise = rng.standard_normal(t.size + 2)
    if kind == "kick":
        sweep = 45.0 + 85.0 * np.exp(-30.0 * t)  # the pitch drop is what makes it a kick
        body = np.sin(2 * np.pi * np.cumsum(sweep) / rate) * np.exp(-9.0 * t)
        click = noise[: t.size] * np.exp(-t / 0.003) * 0.3
        return np.asarray(body + click, dtype=np.float64)
    if kind == "snare":
        rattle = np.diff(noise[: t.size + 1]) * 0.35 * np.exp(-20.0 * t)
        return np.asarray(rattle + 0.5 * np.sin(2 * np.pi * 190.0 * t) * np.exp(-30.0 * t), dtype=np.float64)
    hiss = np.diff(noise, n=2) * 0.18  # a second difference keeps only the hiss
    decay = 70.0 if kind == "hat" else 12.0
    return np.asarray(hiss * np.exp(-decay * t), dtype=np.float64)


def _add(buffer: Signal, start: float, sound: Signal, gain: float, rate: int) -> None:
    offset = round(start * rate)
    if offset >= buffer.size:
        return
    end = min(buffer.size, offset + sound.size)
    buffer[offset:end] += gain * sound[: end - offset]


def _room(signal: Signal, rng: np.random.Generator, rate: int) -> tuple[Signal, Signal]:
    """The signal as heard in a small room, one impulse response per ear, by FFT convolution."""
    length = int(ROOM_SECONDS * rate)
    t = np.arange(length, dtype=np.float64) / rate
    decay = np.exp(-6.9 * t / 1.3) * (t > 0.015)  # 1.3 s to -60 dB, after 15 ms of pre-delay
    size = 1 << (signal.size + length - 1).bit_length()
    spectrum = np.fft.rfft(signal, size)
    ears = []
    for _ in range(2):
        response = rng.standard_normal(length) * decay
        response /= np.sqrt(np.sum(response**2))
        ears.append(np.fft.irfft(spectrum * np.fft.rfft(response, size), size)[: signal.size])
    return ears[0], ears[1]


def render(score: Score, *, instrument: Instrument, seed: int, rate: int = SAMPLE_RATE) -> Pcm:
    """Stereo 16-bit PCM of ``score``, exactly ``score.duration_seconds`` long."""
    rng = np.random.default_rng([seed, 1])  # a stream apart from the composer's
    frames = round(score.duration_seconds * rate)
    parts: dict[str, Signal] = {name: np.zeros(frames) for name in MIX}
    tones: dict[tuple[str, int, int], Signal] = {}
    for note in score.notes:
        voice: Instrument | Literal["bass"] = "bass" if note.part == "bass" else instrument
        key = (voice, note.pitch, int(note.duration * 1000))
        found = tones.get(key)
        if found is None:
            found = tones[key] = tone(voice, note.pitch, note.duration, rate)
        _add(parts[note.part], note.start, found, note.velocity, rate)
    kit = {kind: drum(kind, rng, rate) for kind in ("kick", "snare", "hat", "open_hat")}
    for hit in score.hits:
        bus = "hats" if hit.drum in ("hat", "open_hat") else "drums"
        _add(parts[bus], hit.start, kit[hit.drum], hit.velocity, rate)
    left, right = np.zeros(frames), np.zeros(frames)
    for name, (gain, pan) in MIX.items():
        angle = (pan + 1) * math.pi / 4  # constant-power panning
        left += parts[name] * gain * math.cos(angle)
        right += parts[name] * gain * math.sin(angle)
    wet_left, wet_right = _room(parts["melody"] * MIX["melody"][0] + parts["chords"] * MIX["chords"][0], rng, rate)
    left += wet_left * score.reverb
    right += wet_right * score.reverb
    return _master(np.stack([left, right], axis=1), rate)


def _master(mix: Signal, rate: int) -> Pcm:
    """Short fade in, a fade out over the last seconds, then peak-normalise to -1 dBFS."""
    frames = mix.shape[0]
    fade_in = min(frames, int(0.005 * rate))
    mix[:fade_in] *= np.linspace(0.0, 1.0, fade_in)[:, None]
    fade_out = min(frames, int(min(2.0, 0.25 * frames / rate) * rate))
    if fade_out:
        mix[frames - fade_out :] *= (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade_out)))[:, None]
    peak = float(np.max(np.abs(mix))) if frames else 0.0
    if peak > 0:
        mix *= PEAK / peak
    return Pcm(np.round(mix * 32767).astype(np.int16), rate)
