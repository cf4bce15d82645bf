"""The built web console, which the console's tests need: off CI a missing build skips them, under
CI=true it fails (scripts/check builds it with ``npm ci && npm run build`` in web/)."""

from __future__ import annotations

import pytest

from pixelmill.api.console import STATIC_DIR
from tests.support.services import in_ci


def require_console_build() -> None:
    if (STATIC_DIR / "index.html").is_file():
        return
    message = f"the web console is not built in {STATIC_DIR} (run npm ci && npm run build in web/)"
    if in_ci():
        pytest.fail(f"{message}, and CI=true requires it")
    pytest.skip(message)
