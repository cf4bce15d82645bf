"""docs/settings.md is generated from the Settings fields; this fails when someone forgets to regenerate it."""

from __future__ import annotations

from pathlib import Path

from pixelmill.cli.config import settings_markdown
from pixelmill.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_docs_settings_md_is_current() -> None:
    assert DOCS.read_text() == settings_markdown(), (
        "docs/settings.md is stale; regenerate it with: pixelmill config --markdown > docs/settings.md"
    )


def test_every_setting_is_documented_with_a_description() -> None:
    undocumented = [name for name, info in Settings.model_fields.items() if not info.description]
    assert undocumented == []
    text = settings_markdown()
    assert all(f"`PIXELMILL_{name.upper()}`" in text for name in Settings.model_fields)
