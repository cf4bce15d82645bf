"""Cue words that steer a generation from its prompt: "a sad piano piece" asks for a melancholic mood
on the piano, "an anime portrait" for the anime style. Settings that name a value win over cues."""

from __future__ import annotations

import re
from collections.abc import Mapping

MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "melancholic": ("sad", "melanchol", "sorrow", "lonely", "rain", "grief", "nostalg", "somber", "dark"),
    "energetic": ("energetic", "upbeat", "dance", "fast", "workout", "action", "epic", "driving", "intense"),
    "happy": ("happy", "cheerful", "joy", "bright", "sunny", "playful", "fun", "uplifting", "summer"),
    "calm": ("calm", "relax", "peace", "ambient", "sleep", "gentle", "soft", "meditat", "lofi", "chill"),
}
INSTRUMENT_WORDS: dict[str, tuple[str, ...]] = {
    "piano": ("piano", "keys"),
    "pad": ("pad", "synth", "strings", "ambient"),
    "pluck": ("pluck", "guitar", "harp", "ukulele"),
    "bell": ("bell", "chime", "music box", "glocken"),
}
STYLE_WORDS: dict[str, tuple[str, ...]] = {
    "oil_paint": ("oil paint", "oil-paint", "oil painting", "impasto"),
    "watercolor": ("watercolor", "watercolour"),
    "cartoon": ("cartoon", "comic"),
    "anime": ("anime", "manga"),
    "soft_3d": ("soft 3d", "3d", "clay", "pixar"),
    "sketch": ("sketch", "pencil", "drawing"),
    "pixel_art": ("pixel", "8-bit", "8 bit", "retro game"),
    "vintage": ("vintage", "film", "retro", "sepia"),
    "duotone": ("duotone",),
    "noir": ("noir", "black and white", "monochrome"),
}


def cue(words: Mapping[str, tuple[str, ...]], text: str) -> str | None:
    """The first name one of whose cue words starts a word of ``text`` (case-insensitive): "rain"
    cues "rainy" but not "train"."""
    lowered = text.lower()
    for name, cues in words.items():
        if any(re.search(r"\b" + re.escape(word), lowered) for word in cues):
            return name
    return None
