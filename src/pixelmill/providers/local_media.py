"""The catalogue entries of the built-in CPU media makers: video from stills, speech, music, charts.

These models need no network, GPU or weights, only PyAV and matplotlib (the ``media`` extra) and
the espeak-ng program, so they are always listed; a host that lacks a piece answers
``DEPENDENCY_MISSING`` naming the fix when the model is used. Costs follow the generation-type
table of the ImagineLab document (voice 3, music 8, infographic 10, video 15). The node types
that implement each model are in ``MODEL_NODE_TYPES``.
"""

from __future__ import annotations

from pixelmill.providers.base import ModelInfo
from pixelmill.providers.espeak import MAX_RATE, MAX_TEXT_CHARS, MIN_RATE

KEN_BURNS = "local/ken-burns"
ESPEAK = "local/espeak"
ALGORITHMIC_MUSIC = "local/algorithmic-music"
CHARTS = "local/charts"

# Limits the node types enforce; published here so clients can read them from GET /v1/models.
MAX_VIDEO_SECONDS = 60.0
MAX_SLIDES = 24
MAX_MUSIC_SECONDS = 180.0
MAX_CHART_SIDE = 4096

MODEL_NODE_TYPES: dict[str, tuple[str, ...]] = {
    KEN_BURNS: ("video.from_image", "video.slideshow", "video.concat", "video.frame"),
    ESPEAK: ("audio.speech",),
    ALGORITHMIC_MUSIC: ("audio.music",),
    CHARTS: ("infographic.chart", "infographic.card"),
}


class LocalMediaProvider:
    """Catalogue of the local media models; the work itself is done by their node types."""

    id = "local-media"

    def is_configured(self) -> bool:
        return True

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                id=KEN_BURNS,
                provider="local",
                generation_type="video",
                capabilities=("video",),
                cost=15,
                description=(
                    "H.264 MP4 from still images on the CPU: a camera pan or zoom with easing over one "
                    "image, or a crossfaded slideshow of several"
                ),
                sandbox=True,
                limits={
                    "max_duration_seconds": MAX_VIDEO_SECONDS,
                    "max_fps": 60,
                    "resolutions": ["360p", "480p", "720p", "1080p"],
                    "aspect_ratios": ["16:9", "9:16", "1:1", "4:3", "3:4"],
                    "max_images": MAX_SLIDES,
                },
            ),
            ModelInfo(
                id=ESPEAK,
                provider="local",
                generation_type="voice",
                capabilities=("speech",),
                cost=3,
                description=(
                    "Speech synthesis with espeak-ng: over a hundred languages and accents, adjustable "
                    "rate and pitch; robotic but clear and fully offline"
                ),
                sandbox=True,
                limits={
                    "max_characters": MAX_TEXT_CHARS,
                    "rate_words_per_minute": [MIN_RATE, MAX_RATE],
                    "formats": ["wav", "mp3", "opus"],
                },
            ),
            ModelInfo(
                id=ALGORITHMIC_MUSIC,
                provider="local",
                generation_type="music",
                capabilities=("music",),
                cost=8,
                description=(
                    "Instrumental music composed by rules (chord progressions, melody, bass and drums "
                    "chosen by mood and key) and synthesised with NumPy; algorithmic, not a neural model"
                ),
                sandbox=True,
                limits={
                    "max_duration_seconds": MAX_MUSIC_SECONDS,
                    "moods": ["calm", "happy", "melancholic", "energetic"],
                    "instruments": ["piano", "pad", "pluck", "bell"],
                    "formats": ["wav", "mp3", "opus"],
                },
            ),
            ModelInfo(
                id=CHARTS,
                provider="local",
                generation_type="infographic",
                capabilities=("infographic",),
                cost=10,
                description=(
                    "Charts (bar, line, area, pie, donut, stat cards) from structured data with "
                    "matplotlib, as PNG or SVG, and title-and-bullets info cards"
                ),
                sandbox=True,
                limits={"max_width": MAX_CHART_SIDE, "max_height": MAX_CHART_SIDE, "formats": ["png", "svg"]},
            ),
        ]
