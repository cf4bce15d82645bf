"""``local/procedural``: a deterministic text-to-image renderer for development, demos and test keys.

It is not a generative model. Words in the prompt choose the time of day, the ground (mountains,
hills, dunes, a city), water and clouds; the prompt's hash and the seed choose the palette
variation and the composition; reference images lend their dominant colours. The same prompt,
seed and size always give the same pixels, and every picture is a layered landscape: sky, light,
fractal ridges or a skyline, reflections, vignette and grain.
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib

import cv2
import numpy as np
from PIL import Image

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ModelInfo, TextToImageRequest
from pixelmill.providers.procedural_scene import Colour, Palette, SceneSpec, render_scene
from pixelmill.storage.pixels import image_of, pixels_of

MODEL_ID = "local/procedural"
LIMITS = {
    "min_width": 64,
    "min_height": 64,
    "max_width": 4096,
    "max_height": 4096,
    "max_pixels": 4096 * 4096,
    "max_images": 8,
    "max_reference_images": 4,
}

PALETTES: dict[str, list[Palette]] = {
    "sunset": [
        Palette(
            (0.16, 0.12, 0.35),
            (0.98, 0.55, 0.32),
            (1.0, 0.75, 0.4),
            (0.45, 0.28, 0.42),
            (0.12, 0.08, 0.16),
            (0.2, 0.12, 0.25),
        ),
        Palette(
            (0.05, 0.1, 0.25),
            (0.92, 0.45, 0.48),
            (1.0, 0.62, 0.5),
            (0.32, 0.25, 0.45),
            (0.06, 0.05, 0.12),
            (0.08, 0.1, 0.2),
        ),
        Palette(
            (0.25, 0.2, 0.4),
            (1.0, 0.72, 0.42),
            (1.0, 0.85, 0.55),
            (0.55, 0.38, 0.38),
            (0.18, 0.12, 0.12),
            (0.3, 0.2, 0.2),
        ),
    ],
    "day": [
        Palette(
            (0.2, 0.45, 0.85),
            (0.75, 0.87, 0.97),
            (1.0, 0.98, 0.9),
            (0.45, 0.55, 0.7),
            (0.15, 0.3, 0.2),
            (0.1, 0.3, 0.45),
        ),
        Palette(
            (0.3, 0.55, 0.85),
            (0.95, 0.87, 0.72),
            (1.0, 0.95, 0.8),
            (0.85, 0.6, 0.42),
            (0.62, 0.38, 0.22),
            (0.15, 0.35, 0.5),
        ),
        Palette(
            (0.12, 0.38, 0.7),
            (0.68, 0.85, 0.9),
            (1.0, 1.0, 0.92),
            (0.35, 0.5, 0.55),
            (0.1, 0.22, 0.18),
            (0.05, 0.25, 0.3),
        ),
    ],
    "night": [
        Palette(
            (0.01, 0.02, 0.07),
            (0.08, 0.14, 0.3),
            (0.9, 0.92, 1.0),
            (0.1, 0.14, 0.25),
            (0.02, 0.03, 0.07),
            (0.02, 0.05, 0.12),
        ),
        Palette(
            (0.02, 0.01, 0.06),
            (0.2, 0.1, 0.3),
            (0.95, 0.9, 0.8),
            (0.16, 0.1, 0.25),
            (0.03, 0.02, 0.06),
            (0.05, 0.03, 0.1),
        ),
    ],
    "dawn": [
        Palette(
            (0.35, 0.5, 0.75), (1.0, 0.8, 0.65), (1.0, 0.9, 0.7), (0.55, 0.55, 0.7), (0.2, 0.22, 0.3), (0.3, 0.35, 0.5)
        ),
        Palette(
            (0.45, 0.55, 0.8),
            (0.98, 0.75, 0.75),
            (1.0, 0.9, 0.8),
            (0.6, 0.55, 0.7),
            (0.25, 0.22, 0.35),
            (0.4, 0.4, 0.55),
        ),
    ],
    "neon": [
        Palette(
            (0.05, 0.0, 0.12),
            (0.6, 0.1, 0.45),
            (1.0, 0.3, 0.7),
            (0.2, 0.05, 0.3),
            (0.03, 0.0, 0.08),
            (0.1, 0.0, 0.15),
            lights=(0.3, 0.9, 1.0),
        ),
    ],
}

_TIME_WORDS = {
    "night": ("night", "moon", "stars", "midnight", "starry"),
    "sunset": ("sunset", "dusk", "evening", "golden hour", "twilight"),
    "dawn": ("dawn", "sunrise", "morning", "misty"),
    "day": ("day", "noon", "sunny", "bright", "summer"),
}
_GROUND_WORDS = {
    "city": ("city", "skyline", "urban", "neon", "street", "town", "downtown", "cyberpunk"),
    "dunes": ("desert", "dune", "sand", "sahara"),
    "hills": ("hill", "meadow", "field", "countryside", "valley", "prairie"),
    "mountains": ("mountain", "peak", "alps", "alpine", "summit", "range", "volcano"),
}
_WATER_WORDS = ("lake", "sea", "ocean", "river", "water", "bay", "reflection", "coast", "beach", "harbor", "harbour")


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    return any(word in text for word in words)


def _shift(colour: Colour, hue: float, value: float) -> Colour:
    h, s, v = colorsys.rgb_to_hsv(*colour)
    r, g, b = colorsys.hsv_to_rgb((h + hue) % 1.0, s, min(1.0, v * value))
    return (r, g, b)


def _vary(palette: Palette, rng: np.random.Generator) -> Palette:
    hue = float(rng.uniform(-0.04, 0.04))
    value = float(rng.uniform(0.92, 1.08))
    fields = ("sky_top", "sky_horizon", "sun", "far", "near", "water", "lights")
    return Palette(*(_shift(getattr(palette, name), hue, value) for name in fields))


def _reference_colours(images: tuple[Image.Image, ...]) -> list[Colour]:
    """Dominant colours of the reference images, darkest first."""
    samples = []
    for image in images:
        small = cv2.resize(pixels_of(image)[:, :, :3], (48, 48), interpolation=cv2.INTER_AREA)
        samples.append(small.reshape(-1, 3))
    data = np.concatenate(samples).astype(np.float32)
    cv2.setRNGSeed(7)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    _, _, centres = cv2.kmeans(data, 4, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    ordered = sorted((tuple(float(c) / 255.0 for c in centre) for centre in centres), key=sum)
    return [(c[0], c[1], c[2]) for c in ordered]


def _blend_towards(palette: Palette, colours: list[Colour]) -> Palette:
    def mix(a: Colour, b: Colour, t: float = 0.6) -> Colour:
        return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)

    darkest, dark, light, lightest = colours
    return Palette(
        sky_top=mix(palette.sky_top, light, 0.5),
        sky_horizon=mix(palette.sky_horizon, lightest),
        sun=palette.sun,
        far=mix(palette.far, dark),
        near=mix(palette.near, darkest),
        water=mix(palette.water, dark, 0.4),
        lights=palette.lights,
    )


def plan_scene(
    prompt: str, negative_prompt: str, seed: int, references: tuple[Image.Image, ...] = ()
) -> tuple[SceneSpec, np.random.Generator]:
    """Choose what to draw from the words of the prompt, its hash and the seed."""
    text = prompt.lower()
    avoid = negative_prompt.lower()
    digest = hashlib.sha256(f"{text}\x00{avoid}".encode()).digest()
    rng = np.random.default_rng([seed & 0xFFFFFFFF, int.from_bytes(digest[:8], "big")])
    times = [name for name, words in _TIME_WORDS.items() if _mentions(text, words) and not _mentions(avoid, words)]
    time_of_day = times[0] if times else str(rng.choice(["sunset", "day", "night", "dawn", "sunset"]))
    grounds = [name for name, words in _GROUND_WORDS.items() if _mentions(text, words)]
    allowed = [g for g in _GROUND_WORDS if not _mentions(avoid, _GROUND_WORDS[g])] or ["mountains"]
    ground = (
        grounds[0]
        if grounds
        else str(rng.choice([g for g in ("mountains", "hills", "mountains", "dunes") if g in allowed] or allowed))
    )
    if _mentions(avoid, _WATER_WORDS) or (ground == "dunes" and not _mentions(text, _WATER_WORDS)):
        water = False
    else:
        water = _mentions(text, _WATER_WORDS) or bool(rng.random() < 0.5)
    family = "neon" if "neon" in text or "cyberpunk" in text else time_of_day
    choices = PALETTES["day"][1:2] if ground == "dunes" and family == "day" else PALETTES[family]
    palette = _vary(choices[int(rng.integers(0, len(choices)))], rng)
    if references:
        palette = _blend_towards(palette, _reference_colours(references))
    cloudy = (
        0.85
        if _mentions(text, ("cloud", "storm", "overcast"))
        else 0.0
        if "clear" in text
        else float(rng.uniform(0.15, 0.55))
    )
    if _mentions(avoid, ("cloud",)):
        cloudy = 0.0
    spec = SceneSpec(
        palette=palette,
        time_of_day="night" if family == "neon" else time_of_day,
        ground=ground,
        water=water,
        horizon=float(rng.uniform(0.55, 0.7)),
        sun_x=float(rng.uniform(0.2, 0.8)),
        sun_y=float(rng.uniform(0.12, 0.5) if time_of_day in ("sunset", "dawn") else rng.uniform(0.35, 0.8)),
        ridges=int(rng.integers(2, 5)),
        clouds=0.0 if time_of_day == "night" else cloudy,
        roughness=float(rng.uniform(0.45, 0.6)),
    )
    return spec, rng


def render(
    prompt: str, width: int, height: int, seed: int, negative_prompt: str = "", references: tuple[Image.Image, ...] = ()
) -> Image.Image:
    spec, rng = plan_scene(prompt, negative_prompt, seed, references)
    return image_of(render_scene(spec, width, height, rng))


def check_request(request: TextToImageRequest) -> None:
    """Refuse sizes and counts outside LIMITS (INVALID_INPUT naming the field)."""
    if not (LIMITS["min_width"] <= request.width <= LIMITS["max_width"]):
        raise PixelmillError(errors.INVALID_INPUT, f"width must be 64..4096, got {request.width}", field="size")
    if not (LIMITS["min_height"] <= request.height <= LIMITS["max_height"]):
        raise PixelmillError(errors.INVALID_INPUT, f"height must be 64..4096, got {request.height}", field="size")
    if not 1 <= request.n <= LIMITS["max_images"]:
        raise PixelmillError(errors.INVALID_INPUT, f"n must be 1..{LIMITS['max_images']}", field="n")
    if len(request.reference_images) > LIMITS["max_reference_images"]:
        raise PixelmillError(errors.INVALID_INPUT, "At most 4 reference images", field="reference_images")


class ProceduralProvider:
    """The built-in text-to-image provider; needs no network, no GPU and no weights."""

    id = "local-procedural"

    def is_configured(self) -> bool:
        return True

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                id=MODEL_ID,
                provider="local",
                generation_type="image",
                capabilities=("text-to-image",),
                cost=5,
                description=(
                    "Procedural landscape renderer (not AI): the prompt's words pick sky, ground and water, "
                    "the seed picks the composition. Deterministic; for development, demos and test keys."
                ),
                sandbox=True,
                limits=dict(LIMITS),
            )
        ]

    async def text_to_image(self, model: str, request: TextToImageRequest) -> list[Image.Image]:
        check_request(request)

        def work() -> list[Image.Image]:
            return [
                render(
                    request.prompt,
                    request.width,
                    request.height,
                    request.seed + index,
                    request.negative_prompt,
                    request.reference_images,
                )
                for index in range(request.n)
            ]

        return await asyncio.to_thread(work)
