"""How the client commands word an SDK error before they exit with its documented code."""

from __future__ import annotations

import pytest
import typer

from pixelmill.cli.client_common import EXIT_CREDITS, errors_to_exit_codes
from pixelmill.client.errors import InsufficientCredits


def test_insufficient_credits_says_available_balance_and_required(capsys: pytest.CaptureFixture[str]) -> None:
    body = {"error": {"code": "INSUFFICIENT_CREDITS", "message": "short", "balance": 9, "available": 2, "required": 5}}
    with pytest.raises(typer.Exit) as caught, errors_to_exit_codes(as_json=False):
        raise InsufficientCredits("short", code="INSUFFICIENT_CREDITS", status=402, body=body)
    assert caught.value.exit_code == EXIT_CREDITS
    assert capsys.readouterr().err.strip() == "error: insufficient credits: available 2 (balance 9), required 5"
