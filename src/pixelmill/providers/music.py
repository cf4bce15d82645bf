"""Algorithmic composition: a key, a mood and a seed become a score of notes and drum hits.

This is rule-based music, not a neural model. A mood fixes the tempo, the mode, a few chord
progressions (as scale degrees, so they fit any key), the melody's rhythms, how the chords are
played, the bass line and the drum pattern. The piece is built from four-bar phrases in an
A A B A form: phrase A's melody is generated once and repeated (its last bar varied), B takes
another progression and a fresh melody, and the last bar resolves to the tonic. Melody notes on
strong beats are chord tones; the others move by small steps. Every choice is drawn from one
seeded generator, so the same parameters and seed always give the same score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Mode = Literal["major", "minor"]
Mood = Literal["calm", "happy", "melancholic", "energetic"]
Part = Literal["melody", "chords", "bass"]
Drum = Literal["kick", "snare", "hat", "open_hat"]
Comping = Literal["sustain", "arpeggio", "halves", "stabs"]
Key = Literal["C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab", "A", "A#", "Bb", "B"]

PITCH_CLASS: dict[str, int] = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5,
    "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11,
}  # fmt: skip
SCALES: dict[str, tuple[int, ...]] = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
BEATS_PER_BAR = 4
PHRASE_BARS = 4
FORM = "AABA"

Rhythm = tuple[tuple[float, float], ...]  # (onset beat, length in beats) within one bar


@dataclass(frozen=True, slots=True)
class MoodStyle:
    """How one mood sounds: tempo, mode, harmony, rhythm and groove."""

    bpm: int
    mode: Mode
    progressions: dict[str, tuple[tuple[int, ...], ...]]  # by mode: four chords as scale degrees 0..6
    rhythms: tuple[Rhythm, ...]
    comping: Comping
    bass: tuple[tuple[float, float, int], ...]  # (onset beat, length, semitones above the chord root)
    drums: dict[Drum, tuple[int, ...]]  # sixteenth steps 0..15 of a bar
    drum_level: float
    reverb: float  # share of the signal sent to the room


_STRAIGHT: Rhythm = ((0, 1), (1, 1), (2, 1), (3, 1))
_EIGHTHS: Rhythm = tuple((i / 2, 0.5) for i in range(8))

STYLES: dict[str, MoodStyle] = {
    "calm": MoodStyle(
        bpm=72,
        mode="major",
        progressions={
            "major": ((0, 4, 5, 3), (0, 3, 0, 4), (5, 3, 0, 4)),
            "minor": ((0, 5, 2, 6), (0, 3, 5, 4), (0, 6, 5, 6)),
        },
        rhythms=(((0, 2), (2, 2)), ((0, 3), (3, 1)), ((0, 1), (1, 1), (2, 2)), ((0, 4),)),
        comping="sustain",
        bass=((0, 4, 0),),
        drums={"kick": (0, 10), "snare": (8,), "hat": (0, 4, 8, 12)},
        drum_level=0.35,
        reverb=0.4,
    ),
    "happy": MoodStyle(
        bpm=116,
        mode="major",
        progressions={
            "major": ((0, 4, 5, 3), (0, 5, 3, 4), (3, 0, 4, 5)),
            "minor": ((0, 6, 5, 6), (0, 3, 6, 2), (5, 6, 0, 0)),
        },
        rhythms=(
            ((0, 1), (1, 0.5), (1.5, 0.5), (2, 1), (3, 1)),
            ((0, 0.5), (0.5, 0.5), (1, 1), (2, 0.5), (2.5, 0.5), (3, 1)),
            ((0, 1.5), (1.5, 0.5), (2, 2)),
            _STRAIGHT,
        ),
        comping="halves",
        bass=((0, 1.5, 0), (1.5, 0.5, 7), (2, 1.5, 0), (3.5, 0.5, 12)),
        drums={"kick": (0, 6, 8), "snare": (4, 12), "hat": (0, 2, 4, 6, 8, 10, 12), "open_hat": (14,)},
        drum_level=0.6,
        reverb=0.2,
    ),
    "melancholic": MoodStyle(
        bpm=76,
        mode="minor",
        progressions={
            "major": ((5, 3, 0, 4), (0, 2, 5, 3), (3, 4, 2, 5)),
            "minor": ((0, 5, 2, 6), (0, 3, 5, 4), (0, 6, 5, 4)),
        },
        rhythms=(((0, 2), (2, 1), (3, 1)), ((0, 1), (1, 1), (2, 2)), ((0, 3), (3, 1)), ((0, 1.5), (1.5, 0.5), (2, 2))),
        comping="arpeggio",
        bass=((0, 2, 0), (2, 2, 7)),
        drums={"kick": (0, 7), "snare": (8,), "hat": (0, 4, 8, 12)},
        drum_level=0.4,
        reverb=0.35,
    ),
    "energetic": MoodStyle(
        bpm=138,
        mode="minor",
        progressions={
            "major": ((0, 4, 5, 3), (0, 3, 4, 3), (5, 3, 0, 4)),
            "minor": ((0, 5, 2, 6), (0, 6, 5, 6), (0, 3, 6, 2)),
        },
        rhythms=(
            _EIGHTHS,
            ((0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 0.5), (2, 1), (3, 0.5), (3.5, 0.5)),
            ((0, 0.75), (0.75, 0.75), (1.5, 0.5), (2, 1), (3, 1)),
            ((0, 0.25), (0.25, 0.25), (0.5, 0.25), (0.75, 0.25), (1, 1), (2, 0.5), (2.5, 0.5), (3, 1)),
        ),
        comping="stabs",
        bass=tuple((i / 2, 0.5, 12 if i % 4 == 3 else 0) for i in range(8)),
        drums={"kick": (0, 4, 8, 12), "snare": (4, 12), "hat": tuple(range(0, 16, 2)), "open_hat": (2, 6, 10, 14)},
        drum_level=0.7,
        reverb=0.15,
    ),
}

_CADENCE: Rhythm = ((0, 1), (1, 1), (2, 2))


@dataclass(frozen=True, slots=True)
class Note:
    start: float  # seconds
    duration: float  # seconds the key is held (the instrument may ring on)
    pitch: int  # MIDI note number
    velocity: float  # 0..1
    part: Part


@dataclass(frozen=True, slots=True)
class Hit:
    start: float
    drum: Drum
    velocity: float


@dataclass(frozen=True, slots=True)
class Score:
    """A composed piece: notes, drum hits and what it was made from."""

    notes: tuple[Note, ...]
    hits: tuple[Hit, ...]
    duration_seconds: float
    bpm: float
    mode: Mode
    reverb: float
    chords: tuple[str, ...]  # one chord symbol per bar, e.g. ("C", "G", "Am", "F")


def _chord_name(tonic: int, scale: tuple[int, ...], degree: int) -> str:
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    root = (tonic + scale[degree % 7]) % 12
    third = (scale[(degree + 2) % 7] - scale[degree % 7]) % 12
    fifth = (scale[(degree + 4) % 7] - scale[degree % 7]) % 12
    quality = "m" if third == 3 else ""
    return names[root] + quality + ("dim" if fifth == 6 else "")


def _degree_pitch(tonic_midi: int, scale: tuple[int, ...], degree: int) -> int:
    """MIDI pitch of a scale degree counted from the tonic (7 is the tonic an octave up)."""
    octave, step = divmod(degree, 7)
    return tonic_midi + 12 * octave + scale[step]


def _voicing(pitches: list[int], previous: list[int] | None) -> list[int]:
    """The inversion of a triad, within C3..C5, that moves least from the previous chord."""
    candidates = []
    for shift in range(-24, 25, 12):
        for inversion in range(3):
            voiced = sorted(p + shift + (12 if i < inversion else 0) for i, p in enumerate(pitches))
            if voiced[0] >= 48 and voiced[-1] < 72:
                candidates.append(voiced)
    target = previous or [55, 60, 64]
    return min(candidates, key=lambda v: sum(abs(a - b) for a, b in zip(v, target, strict=True)))


class _Composer:
    """Builds one Score; holds the generator and the running state of melody and voicing."""

    def __init__(self, style: MoodStyle, key: Key, mode: Mode, bpm: float, rng: np.random.Generator) -> None:
        self.style = style
        self.mode = mode
        self.scale = SCALES[mode]
        self.tonic = PITCH_CLASS[key]
        self.beat = 60.0 / bpm
        self.rng = rng
        self.notes: list[Note] = []
        self.hits: list[Hit] = []
        self.degree = 4  # the melody starts on the fifth above the tonic
        self.voicing: list[int] | None = None
        self.final_beats = float(BEATS_PER_BAR)  # the last bar rings until the piece ends

    def _jitter(self) -> float:
        """A few milliseconds of timing drift so the parts do not sound quantised."""
        return float(self.rng.normal(0.0, 0.004))

    def _melody_bar(self, chord: int, rhythm: Rhythm, cadence: bool) -> list[tuple[float, float, int]]:
        """One bar of melody as (onset beat, length, scale degree): chord tones on strong beats, steps between."""
        tones = [d for d in range(0, 12) if (d - chord) % 7 in (0, 2, 4)]
        bar: list[tuple[float, float, int]] = []
        for index, (onset, length) in enumerate(rhythm):
            last = index == len(rhythm) - 1
            if onset in (0, 2) or (cadence and last):
                nearest = sorted(tones, key=lambda d: (abs(d - self.degree), d))[:2]
                self.degree = int(nearest[int(self.rng.integers(0, len(nearest)))])
            else:
                step = int(self.rng.choice((-2, -1, -1, 1, 1, 2)))
                if (self.degree > 9 and step > 0) or (self.degree < 2 and step < 0):
                    step = -step  # turn back towards the middle of the range
                self.degree = min(11, max(0, self.degree + step))
            bar.append((onset, length, self.degree))
        return bar

    def _phrase_melody(self, progression: tuple[int, ...]) -> list[list[tuple[float, float, int]]]:
        bars = []
        for index, chord in enumerate(progression):
            cadence = index == len(progression) - 1
            rhythm = _CADENCE if cadence else self.style.rhythms[int(self.rng.integers(0, len(self.style.rhythms)))]
            bars.append(self._melody_bar(chord, rhythm, cadence))
        return bars

    def _add(self, bar_start: float, onset: float, length: float, pitch: int, velocity: float, part: Part) -> None:
        start = max(0.0, bar_start + onset * self.beat + self._jitter())
        vel = min(1.0, max(0.05, velocity * float(self.rng.uniform(0.85, 1.0))))
        self.notes.append(Note(start, length * self.beat, pitch, vel, part))

    def _accompany(self, bar_start: float, chord: int, final: bool) -> None:
        """Chords, bass and drums for one bar."""
        triad = [_degree_pitch(48 + self.tonic, self.scale, chord + offset) for offset in (0, 2, 4)]
        self.voicing = _voicing(triad, self.voicing)
        comping = "sustain" if final else self.style.comping
        if comping == "sustain":
            for pitch in self.voicing:
                self._add(bar_start, 0, self.final_beats if final else 4, pitch, 0.45, "chords")
        elif comping == "halves":
            for onset in (0.0, 2.0):
                for pitch in self.voicing:
                    self._add(bar_start, onset, 2, pitch, 0.42, "chords")
        elif comping == "arpeggio":
            cycle = [*self.voicing, self.voicing[0] + 12, self.voicing[2], self.voicing[1]]
            for step in range(8):
                self._add(bar_start, step / 2, 1.0, cycle[step % len(cycle)], 0.4, "chords")
        else:
            for onset, length in ((0.0, 0.5), (1.5, 0.5), (2.5, 0.5), (3.0, 1.0)):
                for pitch in self.voicing:
                    self._add(bar_start, onset, length, pitch, 0.38, "chords")
        root = _degree_pitch(36 + self.tonic, self.scale, chord)
        pattern = ((0.0, self.final_beats, 0),) if final else self.style.bass
        for onset, length, interval in pattern:
            self._add(bar_start, onset, length, root + interval, 0.7, "bass")
        steps: dict[Drum, tuple[int, ...]] = {"kick": (0,)} if final else self.style.drums
        for drum, positions in steps.items():
            for position in positions:
                accent = 1.0 if position % 4 == 0 else 0.75
                velocity = self.style.drum_level * accent * float(self.rng.uniform(0.85, 1.0))
                start = max(0.0, bar_start + position * self.beat / 4 + self._jitter())
                self.hits.append(Hit(start, drum, velocity))

    def compose(self, bars: int, with_drums: bool) -> tuple[str, ...]:
        progressions = self.style.progressions[self.mode]
        first = int(self.rng.integers(0, len(progressions)))
        second = (first + 1 + int(self.rng.integers(0, len(progressions) - 1))) % len(progressions)
        themes: dict[str, tuple[tuple[int, ...], list[list[tuple[float, float, int]]]]] = {}
        chords: list[str] = []
        bar_seconds = BEATS_PER_BAR * self.beat
        tonic_midi = 60 + self.tonic
        for bar in range(bars):
            phrase, within = divmod(bar, PHRASE_BARS)
            section = FORM[phrase % len(FORM)]
            if section not in themes or (within == 0 and phrase % len(FORM) == 1):
                progression = progressions[first if section == "A" else second]
                if section in themes:  # the second A: same tune, a new last bar
                    melody = themes[section][1][:-1] + self._phrase_melody(progression)[-1:]
                else:
                    melody = self._phrase_melody(progression)
                themes[section] = (progression, melody)
            progression, melody = themes[section]
            final = bar == bars - 1
            chord = 0 if final else progression[within]
            chords.append(_chord_name(self.tonic, self.scale, chord))
            bar_start = bar * bar_seconds
            line = [(0.0, self.final_beats, 0 if self.degree < 4 else 7)] if final else melody[within]
            for onset, length, degree in line:
                self._add(bar_start, onset, length, _degree_pitch(tonic_midi, self.scale, degree), 0.8, "melody")
            self._accompany(bar_start, chord, final)
        if not with_drums:
            self.hits.clear()
        return tuple(chords)


def compose(
    *,
    duration_seconds: float,
    mood: Mood = "calm",
    key: Key = "C",
    mode: Mode | None = None,
    bpm: float | None = None,
    seed: int = 0,
    drums: bool = True,
) -> Score:
    """Compose a piece lasting ``duration_seconds``; ``mode`` and ``bpm`` default to the mood's own."""
    style = STYLES[mood]
    chosen_mode: Mode = mode or style.mode
    tempo = float(bpm or style.bpm)
    bar_seconds = BEATS_PER_BAR * 60.0 / tempo
    # Whole bars nearest the duration; a piece a little longer than them lets its last chord ring on.
    bars = max(1, round(duration_seconds / bar_seconds))
    composer = _Composer(style, key, chosen_mode, tempo, np.random.default_rng(seed))
    composer.final_beats = max(float(BEATS_PER_BAR), (duration_seconds - (bars - 1) * bar_seconds) * tempo / 60.0)
    chords = composer.compose(bars, drums)
    return Score(
        notes=tuple(composer.notes),
        hits=tuple(composer.hits),
        duration_seconds=duration_seconds,
        bpm=tempo,
        mode=chosen_mode,
        reverb=style.reverb,
        chords=chords,
    )
