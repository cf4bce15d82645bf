"""How text.enhance_prompt turns a small model's reply into a usable image prompt."""

from __future__ import annotations

import pytest

from pixelmill.nodes.text import clean_description, compose_prompt


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A tall lighthouse at dusk.", "A tall lighthouse at dusk."),
        ("Sure! Here is a detailed description: A tall lighthouse.", "A tall lighthouse."),
        ("Here's the prompt:\n\nA tall lighthouse.\n\nThis image shows how…", "A tall lighthouse."),
        ('Prompt: "A tall lighthouse, waves crashing."', "A tall lighthouse, waves crashing."),
        ("A tall lighthouse.   Waves crash below. The light", "A tall lighthouse. Waves crash below."),
        ("A tall lighthouse with\nwaves", "A tall lighthouse with waves"),
        ("   \n\n  ", ""),
    ],
)
def test_clean_description_keeps_the_first_described_paragraph(raw: str, expected: str) -> None:
    assert clean_description(raw) == expected


def test_a_paraphrased_idea_is_put_in_front_of_the_description() -> None:
    prompt = compose_prompt("a cat astronaut", "A feline in a silver suit floats past the moon.", "")
    assert prompt == "a cat astronaut. A feline in a silver suit floats past the moon."


def test_a_description_that_names_the_idea_is_kept_as_it_is() -> None:
    description = "A Cat Astronaut floats past the moon, lit by a blue earth."
    assert compose_prompt("a cat astronaut", description, "") == description


def test_a_requested_style_the_model_left_out_is_appended() -> None:
    prompt = compose_prompt("a fox", "A fox in deep snow.", "watercolor")
    assert prompt == "A fox in deep snow, in a watercolor style."
    kept = "A fox in snow, painted in watercolor."
    assert compose_prompt("a fox", kept, "watercolor") == kept
