"""Missing programs and packages become DEPENDENCY_MISSING naming the fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.media_deps import require_av, require_program


def test_a_program_on_path_is_found() -> None:
    assert Path(require_program("espeak-ng")).name == "espeak-ng"


def test_a_program_missing_from_path_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PixelmillError) as caught:
        require_program("ffmpeg")
    assert caught.value.spec is errors.DEPENDENCY_MISSING
    assert caught.value.status == 503
    assert "apt-get install ffmpeg" in caught.value.message
    assert caught.value.extra == {"dependency": "ffmpeg"}


def test_missing_pyav_names_the_media_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # makes "import av" fail as if it were not installed
    with pytest.raises(PixelmillError) as caught:
        require_av()
    assert caught.value.spec is errors.DEPENDENCY_MISSING
    assert "pixelmill[media]" in caught.value.message
    assert caught.value.extra == {"dependency": "av"}
