"""The translation of a generation request into its graph: pure, checked against the real catalogue and nodes."""

from __future__ import annotations

from typing import Any

import pytest

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill.config import Settings
from pixelmill.engine.node import default_registry
from pixelmill.engine.validation import validate_graph
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ModelInfo
from pixelmill.providers.cv import CvProvider
from pixelmill.providers.local_media import LocalMediaProvider
from pixelmill.providers.procedural import ProceduralProvider
from pixelmill.providers.smollm2 import SmolLM2Provider
from pixelmill.providers.xai_video import video_model_info
from pixelmill.services.generation_graphs import GenerationPlan, GenerationRequest, default_model, plan_generation
from pixelmill.services.prompt_cues import MOOD_WORDS, STYLE_WORDS, cue

BUILTIN = [
    info
    for provider in (ProceduralProvider(), CvProvider(), LocalMediaProvider(), SmolLM2Provider())
    for info in provider.models()
]
GUIDED = ModelInfo(
    id="diffusers/tiny",
    provider="diffusers",
    generation_type="image",
    capabilities=("text-to-image", "image-to-image", "inpainting"),
    cost=5,
    description="a prompt-guided model",
    sandbox=False,
)


def plan(models: list[ModelInfo] | None = None, *, source: str | None = None, **body: Any) -> GenerationPlan:
    request = GenerationRequest.model_validate(body)
    made = plan_generation(request, models or BUILTIN, default_registry, source_file_id=source)
    validate_graph(made.graph, default_registry, Settings())
    return made


def nodes(made: GenerationPlan) -> dict[str, tuple[str, dict[str, Any]]]:
    return {node["id"]: (node["type"], node["inputs"]) for node in made.graph["nodes"]}


def problem(**body: Any) -> dict[str, Any]:
    source = body.pop("source", None)
    with pytest.raises(PixelmillError) as caught:
        plan(source=source, **body)
    assert caught.value.status == 422
    return {"code": caught.value.code, **caught.value.extra}


def test_text_to_image_uses_the_procedural_model_and_maps_settings() -> None:
    made = plan(generation_type="image", prompt="A neon city at dusk", settings={"aspect_ratio": "16:9", "seed": 4})
    assert (made.model_name, made.mode, made.main_node) == ("local/procedural", None, "image")
    assert nodes(made) == {
        "image": (
            "image.generate",
            {"prompt": "A neon city at dusk", "model": "local/procedural", "aspect_ratio": "16:9", "seed": 4},
        )
    }
    assert made.request_field("image", "aspect_ratio") == "settings.aspect_ratio"


def test_num_images_is_accepted_for_n() -> None:
    assert nodes(plan(generation_type="image", prompt="x", settings={"num_images": 3}))["image"][1]["n"] == 3


@pytest.mark.parametrize(
    ("mode", "node_type"),
    [
        ("enhance", "image.enhance"),
        ("reframe", "image.reframe"),
        ("upscale", "image.upscale"),
        ("remove_background", "image.remove_background"),
        ("replace_background", "image.replace_background"),
        ("variations", "image.variations"),
    ],
)
def test_image_modes_run_their_cpu_node_on_the_source_file(mode: str, node_type: str) -> None:
    made = plan(generation_type="image", mode=mode, file_id="file_1", source="file_1")
    assert (made.model_name, made.mode) == ("local/cv", mode)
    assert nodes(made) == {"image": (node_type, {"image": {"file_id": "file_1"}})}
    assert made.request_field("image", "image") == "file_id"


def test_style_mode_takes_the_style_named_in_the_prompt_unless_settings_name_one() -> None:
    made = plan(generation_type="image", mode="style", prompt="an anime portrait", file_id="f", source="f")
    assert nodes(made)["image"][1]["style"] == "anime"
    made = plan(
        generation_type="image",
        prompt="an anime portrait",
        settings={"style": "noir"},
        source_generation_id="run_1",
        source="f",
    )
    assert (made.mode, nodes(made)["image"][1]["style"]) == ("style", "noir")


def test_edit_mode_uses_a_prompt_guided_model() -> None:
    made = plan(
        [*BUILTIN, GUIDED],
        generation_type="image",
        prompt="make it snow",
        model_name=GUIDED.id,
        file_id="f",
        source="f",
    )
    assert (made.mode, nodes(made)["image"][0], nodes(made)["image"][1]["model"]) == ("edit", "image.edit", GUIDED.id)


def test_text_to_video_draws_a_still_in_the_videos_shape_first() -> None:
    made = plan(generation_type="video", prompt="waves at sunset", settings={"aspect_ratio": "9:16", "duration": 2})
    assert made.model_name == "local/ken-burns"
    found = nodes(made)
    assert found["video"] == ("video.from_image", {"aspect_ratio": "9:16", "duration_seconds": 2})
    assert found["still"][1]["aspect_ratio"] == "9:16"
    assert found["still"][1]["resolution"] == 1280
    assert made.graph["edges"][0]["destination"] == {"node_id": "video", "field": "image"}
    assert made.graph["nodes"][1]["is_intermediate"] is True


def test_image_to_video_animates_the_source() -> None:
    made = plan(generation_type="video", file_id="f", source="f", settings={"motion": "pan_left"})
    assert nodes(made) == {"video": ("video.from_image", {"image": {"file_id": "f"}, "motion": "pan_left"})}


def test_voice_reads_the_prompt() -> None:
    made = plan(generation_type="voice", prompt="Hello there", settings={"rate": 150})
    assert nodes(made) == {"voice": ("audio.speech", {"text": "Hello there", "rate": 150})}


def test_music_takes_mood_and_instrument_from_the_prompt() -> None:
    made = plan(generation_type="music", prompt="a sad rainy piano piece", settings={"duration": 8, "bpm": 70})
    assert nodes(made)["music"][1] == {
        "mood": "melancholic",
        "instrument": "piano",
        "duration_seconds": 8,
        "tempo_bpm": 70,
    }


def test_infographic_card_from_prompt_lines_and_chart_from_labels() -> None:
    card = plan(generation_type="infographic", prompt="Why solar\n- cheap\n- clean\n")
    assert nodes(card)["infographic"] == ("infographic.card", {"title": "Why solar", "bullets": ["cheap", "clean"]})
    chart = plan(generation_type="infographic", prompt="Sales", settings={"labels": ["a", "b"], "values": [1, 2]})
    assert nodes(chart)["infographic"] == (
        "infographic.chart",
        {"title": "Sales", "labels": ["a", "b"], "values": [1, 2]},
    )


def test_text_generation() -> None:
    made = plan(generation_type="text", prompt="Write a haiku", settings={"max_tokens": 40})
    assert nodes(made) == {
        "text": ("text.generate", {"prompt": "Write a haiku", "model": "local/smollm2", "max_tokens": 40})
    }


def test_unknown_model_and_type_mismatch_name_model_name() -> None:
    assert problem(generation_type="image", prompt="x", model_name="nope")["field"] == "model_name"
    mismatch = problem(generation_type="image", prompt="x", model_name="local/espeak")
    assert (mismatch["field"], mismatch["model_generation_type"]) == ("model_name", "voice")
    assert problem(generation_type="image", prompt="x", model_name="local/cv")["field"] == "model_name"
    assert problem(generation_type="image", mode="style", model_name="local/procedural", file_id="f", source="f")[
        "field"
    ] == ("model_name")


def test_bad_requests_name_their_field() -> None:
    assert problem(generation_type="image")["field"] == "prompt"
    assert problem(generation_type="voice", prompt="hi", settings={"colour": "red"})["field"] == "settings.colour"
    assert problem(generation_type="text", prompt="hi", settings={"model": "x"})["field"] == "settings.model"
    assert problem(generation_type="voice", prompt="hi", file_id="f", source="f")["field"] == "file_id"
    assert problem(generation_type="image", prompt="x", mode="style")["field"] == "mode"
    assert problem(generation_type="image", mode="edit", file_id="f", source="f", prompt="x")["field"] == "mode"
    two = problem(generation_type="image", file_id="f", image_base64="aGk=", source="f")
    assert two["field"] == "file_id"


def test_live_keys_prefer_a_real_model_and_test_keys_a_sandbox_one() -> None:
    models = [GUIDED, *BUILTIN]
    assert default_model(models, "image", "text-to-image", test_mode=False) == GUIDED.id
    assert default_model(models, "image", "text-to-image", test_mode=True) == "local/procedural"
    assert default_model(BUILTIN, "video", "text-to-image", test_mode=False) is None


def test_cues_match_at_word_starts_only() -> None:
    assert cue(MOOD_WORDS, "A rainy evening") == "melancholic"
    assert cue(MOOD_WORDS, "a train journey") is None
    assert cue(STYLE_WORDS, "Pixel-art castle") == "pixel_art"


XAI_VIDEO = video_model_info()


def test_an_upstream_video_model_runs_video_generate_from_the_prompt() -> None:
    made = plan(
        [*BUILTIN, XAI_VIDEO],
        generation_type="video",
        prompt="waves at sunset",
        model_name="xai/grok-imagine-video",
        settings={"duration": 6, "aspect_ratio": "9:16", "resolution": "480p"},
    )
    assert (made.model_name, made.main_node) == ("xai/grok-imagine-video", "video")
    assert nodes(made) == {
        "video": (
            "video.generate",
            {
                "prompt": "waves at sunset",
                "model": "xai/grok-imagine-video",
                "duration_seconds": 6,
                "aspect_ratio": "9:16",
                "resolution": "480p",
            },
        )
    }
    assert made.graph["edges"] == []
    assert made.request_field("video", "duration_seconds") == "settings.duration"


def test_an_upstream_video_model_with_a_source_image_animates_it() -> None:
    made = plan(
        [*BUILTIN, XAI_VIDEO],
        generation_type="video",
        prompt="she turns",
        model_name="xai/grok-imagine-video",
        file_id="f",
        source="f",
    )
    assert nodes(made) == {
        "video": (
            "video.generate",
            {"prompt": "she turns", "model": "xai/grok-imagine-video", "image": {"file_id": "f"}},
        )
    }


def test_an_upstream_video_needs_a_prompt_and_takes_only_its_nodes_settings() -> None:
    models = [*BUILTIN, XAI_VIDEO]
    with pytest.raises(PixelmillError) as no_prompt:
        plan(models, generation_type="video", model_name="xai/grok-imagine-video", file_id="f", source="f")
    assert no_prompt.value.extra["field"] == "prompt"
    with pytest.raises(PixelmillError) as unknown:
        plan(models, generation_type="video", prompt="p", model_name="xai/grok-imagine-video", settings={"motion": "x"})
    assert unknown.value.extra["field"] == "settings.motion"


def test_the_default_video_model_stays_the_local_one_when_an_upstream_one_is_configured() -> None:
    made = plan([*BUILTIN, XAI_VIDEO], generation_type="video", prompt="waves")
    assert (made.model_name, nodes(made)["video"][0]) == ("local/ken-burns", "video.from_image")


TTS = ModelInfo(
    id="openai/tts-1",
    provider="openai",
    generation_type="voice",
    capabilities=("speech",),
    cost=3,
    description="an upstream speech model",
    limits={"voices": ["alloy", "nova"]},
)


def test_voice_stays_on_espeak_by_default_and_takes_a_named_speech_model() -> None:
    default = plan([*BUILTIN, TTS], generation_type="voice", prompt="Hello")
    assert (default.model_name, nodes(default)) == ("local/espeak", {"voice": ("audio.speech", {"text": "Hello"})})
    named = plan([*BUILTIN, TTS], generation_type="voice", prompt="Hello", model_name="openai/tts-1")
    assert named.model_name == "openai/tts-1"
    assert nodes(named) == {"voice": ("audio.speech", {"text": "Hello", "model": "openai/tts-1"})}
    assert named.request_field("voice", "model") == "model_name"
    assert problem(generation_type="voice", prompt="Hi", settings={"model": "x"})["field"] == "settings.model"
