"""Reset and invitation mail through a real SMTP server on a loopback port."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from pixelmill.config import Settings
from tests.support.server import LiveServer, start_server
from tests.support.smtp import ReceivedMail, SmtpSink

_TOKEN = re.compile(r'"token": "([A-Za-z0-9_-]+)"')


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def mailing_server(settings: Settings, smtp: SmtpSink) -> Iterator[LiveServer]:
    server = start_server(
        settings.model_copy(
            update={
                "smtp_host": smtp.host,
                "smtp_port": smtp.port,
                "smtp_starttls": False,
                "mail_from": "pixelmill@example.com",
            }
        )
    )
    yield server
    server.stop()


def _wait_for_mail(smtp: SmtpSink, to: str) -> ReceivedMail:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for mail in smtp.received:
            if to in mail.recipients:
                return mail
        time.sleep(0.02)
    raise AssertionError(f"no mail reached {to}")


def _token(mail: ReceivedMail) -> str:
    match = _TOKEN.search(mail.body)
    assert match is not None, mail.body
    return match.group(1)


def test_a_reset_token_travels_by_smtp_and_works(
    mailing_server: LiveServer, smtp: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    email = f"m-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=mailing_server.url) as api:
        api.post("/v1/auth/signup", json={"email": email, "password": "first password"})
        answer = api.post("/v1/auth/forgot-password", json={"email": email})
        assert answer.status_code == 202
        mail = _wait_for_mail(smtp, email)
        assert mail.sender == "pixelmill@example.com"
        assert mail.message["Subject"] == "Reset your pixelmill password"
        token = _token(mail)
        assert token not in answer.text
        reset = api.post("/v1/auth/reset-password", json={"token": token, "new_password": "second password"})
        assert reset.status_code == 200
        assert api.post("/v1/auth/login", data={"username": email, "password": "second password"}).status_code == 200
    assert all(token not in record.getMessage() for record in caplog.records)


def test_an_invitation_travels_by_smtp(mailing_server: LiveServer, smtp: SmtpSink) -> None:
    owner, guest = (f"{who}-{uuid.uuid4().hex[:8]}@example.com" for who in ("owner", "guest"))
    with httpx.Client(base_url=mailing_server.url) as api:
        token = api.post("/v1/auth/signup", json={"email": owner, "password": "owner password"}).json()["access_token"]
        team = api.post("/v1/workspaces", json={"name": "Mailroom"}, headers={"Authorization": f"Bearer {token}"})
        in_team = api.post(
            "/v1/auth/token", json={"workspace_id": team.json()["id"]}, headers={"Authorization": f"Bearer {token}"}
        ).json()["access_token"]
        invited = api.post(
            f"/v1/workspaces/{team.json()['id']}/invitations",
            json={"email": guest, "role": "admin"},
            headers={"Authorization": f"Bearer {in_team}"},
        )
        assert invited.status_code == 201
        assert invited.json()["delivery"] == "smtp"
        mail = _wait_for_mail(smtp, guest)
        assert "Mailroom" in mail.message["Subject"]
        assert _token(mail) not in invited.text


def test_an_unreachable_smtp_server_changes_nothing_for_the_caller(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = start_server(settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 1}))
    email = f"m-{uuid.uuid4().hex[:8]}@example.com"
    try:
        with httpx.Client(base_url=server.url) as api:
            api.post("/v1/auth/signup", json={"email": email, "password": "first password"})
            known = api.post("/v1/auth/forgot-password", json={"email": email})
            unknown = api.post("/v1/auth/forgot-password", json={"email": f"x{email}"})
            assert known.status_code == unknown.status_code == 202
            assert known.json() == unknown.json()
            deadline = time.monotonic() + 10
            while not any(r.getMessage() == "mail delivery failed" for r in caplog.records):
                assert time.monotonic() < deadline, "the failed delivery was not logged"
                time.sleep(0.02)
    finally:
        server.stop()


def test_a_server_that_knows_its_public_url_mails_a_console_reset_link(settings: Settings, smtp: SmtpSink) -> None:
    """The link names the console's page on the configured address; its token resets the password."""
    public = "https://pixelmill.example.org/"
    server = start_server(
        settings.model_copy(
            update={
                "smtp_host": smtp.host,
                "smtp_port": smtp.port,
                "smtp_starttls": False,
                "mail_from": "pixelmill@example.com",
                "public_url": public,
            }
        )
    )
    email = f"l-{uuid.uuid4().hex[:8]}@example.com"
    try:
        with httpx.Client(base_url=server.url) as api:
            api.post("/v1/auth/signup", json={"email": email, "password": "first password"})
            assert api.post("/v1/auth/forgot-password", json={"email": email}).status_code == 202
            mail = _wait_for_mail(smtp, email)
            link = re.search(r"https://pixelmill\.example\.org/reset-password\?token=([A-Za-z0-9_-]+)", mail.body)
            assert link is not None, mail.body
            assert link.group(1) == _token(mail)
            reset = api.post(
                "/v1/auth/reset-password", json={"token": link.group(1), "new_password": "second password"}
            )
            assert reset.status_code == 200
    finally:
        server.stop()


def test_without_a_public_url_the_reset_mail_names_no_console_link(mailing_server: LiveServer, smtp: SmtpSink) -> None:
    """http://host:port is a guess (a bind address); a link built on it could point nowhere."""
    email = f"n-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=mailing_server.url) as api:
        api.post("/v1/auth/signup", json={"email": email, "password": "first password"})
        api.post("/v1/auth/forgot-password", json={"email": email})
        mail = _wait_for_mail(smtp, email)
    assert "/reset-password?token=" not in mail.body
    assert _token(mail)
