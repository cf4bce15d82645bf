"""Read the mail a server without SMTP hands to the operator's log (a WARNING from ``pixelmill.mail``)."""

from __future__ import annotations

import re
import time

import pytest

_TOKEN = re.compile(r'"token": "([A-Za-z0-9_-]+)"')


def logged_token(caplog: pytest.LogCaptureFixture, to: str, timeout: float = 5.0) -> str:
    """The token in the latest mail logged for ``to``; mail goes out after the response, so wait for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in reversed(caplog.records):
            message = record.getMessage()
            if record.name == "pixelmill.mail" and f"to={to} " in message:
                match = _TOKEN.search(message)
                assert match is not None, message
                return match.group(1)
        time.sleep(0.02)
    raise AssertionError(f"no mail for {to} was logged")
