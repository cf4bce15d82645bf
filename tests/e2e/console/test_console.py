"""The console in a real browser: sign-up and sign-in, generating an image and finding it in the
gallery (lightbox, delete, undo), the run's ledger entry, API keys, and cancelling from the live queue."""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from pixelmill.config import Settings
from tests.e2e.console.conftest import Tab
from tests.support.accounts import SeededAccount, seed_account
from tests.support.mail import logged_token
from tests.support.runs import grant
from tests.support.server import LiveServer

OpenTab = Callable[..., Tab]


def _sign_in(tab: Tab, email: str, password: str) -> None:
    tab.goto("/sign-in")
    tab.page.get_by_label("Email").fill(email)
    tab.page.get_by_label("Password").fill(password)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("heading", name="Generate")).to_be_visible()
    expect(tab.page.get_by_text(email)).to_be_visible()


def _account(settings: Settings, credits: int = 1000) -> SeededAccount:
    """A pro account with credits. Seeded in a thread of its own: Playwright's sync API keeps an
    event loop running in this one, where asyncio.run refuses to start."""

    def seed() -> SeededAccount:
        account = seed_account(settings.resolved_database_url)
        grant(settings.resolved_database_url, account.workspace_id, credits)
        return account

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(seed).result()


def test_sign_up_sign_out_and_sign_in_again(open_tab: OpenTab) -> None:
    tab = open_tab()
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    tab.goto("/")
    expect(tab.page).to_have_url(re.compile(r"/sign-in$"))  # no session: the console asks for one
    tab.page.get_by_role("link", name="Sign up").click()
    tab.page.get_by_label("Name").fill("Grace")
    tab.page.get_by_label("Email").fill(email)
    tab.page.get_by_label("Password").fill("a long enough password")
    tab.page.get_by_role("button", name="Sign up").click()
    expect(tab.page.get_by_role("heading", name="Generate")).to_be_visible()
    expect(tab.page.get_by_text(email)).to_be_visible()
    cookies = {c["name"]: c for c in tab.page.context.cookies()}
    assert cookies["pixelmill_session"]["httpOnly"] is True
    assert tab.page.evaluate("() => Object.keys(localStorage).length") == 0  # no token kept by the script
    assert "pixelmill_session" not in tab.page.evaluate("() => document.cookie")

    tab.page.get_by_role("button", name="Sign out").click()
    expect(tab.page.get_by_role("heading", name="Sign in to pixelmill")).to_be_visible()
    tab.goto("/gallery")
    expect(tab.page).to_have_url(re.compile(r"/sign-in$"))

    _sign_in(tab, email, "a long enough password")
    tab.page.get_by_role("link", name="Credits").click()
    expect(tab.page.get_by_test_id("balance")).to_have_text("100")  # the sign-up grant
    tab.assert_no_problems()


def test_generate_an_image_then_find_delete_and_restore_it_in_the_gallery(
    open_tab: OpenTab, settings: Settings
) -> None:
    account = _account(settings)
    tab = open_tab()
    _sign_in(tab, account.email, account.password)
    page = tab.page
    page.get_by_label("Model").select_option("local/procedural")
    page.get_by_label("Prompt", exact=True).fill("a mountain lake at sunset")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_test_id("run-status")).to_have_text("complete")
    result = page.get_by_role("region", name="Result").get_by_role("img")
    expect(result).to_be_visible()
    source = result.get_attribute("src")
    assert source is not None
    picture = Image.open(io.BytesIO(page.request.get(source).body()))
    picture.load()
    assert min(picture.size) >= 64
    pixels = np.asarray(picture.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 100  # a rendered scene, not a blank frame
    run_id = page.locator("section.progress code").first.inner_text()

    page.get_by_role("link", name="Gallery").click()
    thumbnail = page.get_by_role("button", name="Open a mountain lake at sunset")
    expect(thumbnail).to_have_count(1)
    thumbnail.click()
    lightbox = page.get_by_role("dialog", name="Output")
    expect(lightbox.get_by_text("local/procedural")).to_be_visible()
    lightbox.get_by_role("button", name="Delete").click()
    expect(thumbnail).to_have_count(0)
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        assert api.get(f"/v1/generations/{run_id}").status_code == 404
        page.get_by_role("button", name="Undo").click()
        expect(thumbnail).to_have_count(1)
        assert api.get(f"/v1/generations/{run_id}").status_code == 200

    page.get_by_role("link", name="Credits").click()
    expect(page.get_by_role("row").filter(has_text=run_id).first).to_be_visible()
    tab.assert_no_problems()


def test_create_rotate_and_revoke_keys(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = open_tab()
    _sign_in(tab, account.email, account.password)
    page = tab.page
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("new-key").inner_text()
    assert key.startswith("pm_live_")
    expect(page.get_by_label("Name")).to_have_value("")  # the form is ready for the next key

    def works(secret: str) -> bool:
        with httpx.Client(base_url=tab.base_url) as api:
            answer = api.get("/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code in (200, 401), answer.text
        return answer.status_code == 200

    assert works(key)
    page.get_by_role("button", name="Rotate laptop").click()
    expect(page.get_by_test_id("new-key")).not_to_have_text(key)
    replacement = page.get_by_test_id("new-key").inner_text()
    assert works(replacement)
    assert works(key)  # the old key's grace period
    revoke = page.get_by_role("button", name="Revoke laptop")
    expect(revoke).to_have_count(2)
    while revoke.count():
        count = revoke.count()
        revoke.first.click()
        expect(revoke).to_have_count(count - 1)
    assert not works(key)
    assert not works(replacement)
    tab.assert_no_problems()


def test_the_queue_shows_another_clients_run_live_and_cancels_it(
    open_tab: OpenTab, settings: Settings, console_server: LiveServer
) -> None:
    account = _account(settings)
    tab = open_tab()
    _sign_in(tab, account.email, account.password)
    page = tab.page
    page.get_by_role("link", name="Queue").click()
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()

    # Another session (an API client) starts a run; the open queue page sees it without a reload.
    graph = {"nodes": [{"id": "wait", "type": "test.sleep", "inputs": {"seconds": 25}}], "edges": []}
    with httpx.Client(base_url=console_server.url, headers=account.headers) as api:
        created = api.post("/v1/runs", json={"graph": graph})
        assert created.status_code == 201, created.text
        run_id = created.json()["run_id"]
        row = page.locator(f'tr[data-run-id="{run_id}"]')
        expect(row.get_by_test_id("status")).to_contain_text("running")
        row.get_by_role("button", name="Cancel").click()
        expect(row.get_by_test_id("status")).to_have_text("cancelled")
        assert api.get(f"/v1/runs/{run_id}").json()["status"] == "cancelled"
    tab.assert_no_problems()


def test_forgot_and_reset_a_password(open_tab: OpenTab, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    account = _account(settings)
    tab = open_tab()
    page = tab.page
    tab.goto("/sign-in")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(account.email)
    page.get_by_role("button", name="Send a reset token").click()
    expect(page.get_by_role("status")).to_contain_text("If an account with this email exists")
    token = logged_token(caplog, account.email)  # no SMTP server: the mail is logged for the operator

    tab.goto(f"/reset-password?token={token}")
    page.get_by_label("New password").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed")
    _sign_in(tab, account.email, "a brand new password")

    tab.goto(f"/reset-password?token={token}")  # used once already
    page.get_by_label("New password").fill("yet another password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("invalid, used or expired")
    tab.problems = [p for p in tab.problems if "status of 400" not in p]  # that refusal, expected
    tab.assert_no_problems()


def test_a_second_browser_session_sees_the_first_ones_run_live(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    watcher, maker = open_tab(), open_tab(width=390, height=844)  # two sessions, one on a phone
    _sign_in(watcher, account.email, account.password)
    watcher.page.get_by_role("link", name="Queue").click()
    expect(watcher.page.get_by_role("heading", name="Queue")).to_be_visible()
    _sign_in(maker, account.email, account.password)
    maker.page.get_by_label("Prompt", exact=True).fill("neon city skyline at night")
    maker.page.get_by_role("button", name="Generate", exact=True).click()
    expect(maker.page.get_by_test_id("run-status")).to_have_text("complete")
    run_id = maker.page.locator("section.progress code").first.inner_text()
    row = watcher.page.locator(f'tr[data-run-id="{run_id}"]')  # appeared without a reload
    expect(row.get_by_test_id("status")).to_have_text("completed")
    watcher.assert_no_problems()
    maker.assert_no_problems()


def test_use_an_image_as_the_input_of_the_next(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = open_tab()
    _sign_in(tab, account.email, account.password)
    page = tab.page
    page.get_by_label("Prompt", exact=True).fill("harbour town at dusk")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_test_id("run-status")).to_have_text("complete")
    first = page.locator("section.progress code").first.inner_text()

    page.get_by_role("link", name="Use as input").click()
    expect(page.get_by_role("img", name="source: harbour town at dusk")).to_be_visible()
    page.locator('select[name="mode"]').select_option("style")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator("section.progress code").first).not_to_have_text(first)
    expect(page.get_by_test_id("run-status")).to_have_text("complete")
    second = page.locator("section.progress code").first.inner_text()
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        made = api.get(f"/v1/generations/{second}").json()
    assert (made["mode"], made["status"], made["output_type"]) == ("style", "completed", "image")
    tab.assert_no_problems()
