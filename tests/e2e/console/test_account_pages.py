"""The console's account pages in a real browser: usage chart, webhooks (secret once, deliveries with
every attempt against a real loopback receiver, redeliver), team (create, invite, accept, change role,
remove) and provider keys (checked against the loopback fake OpenAI, masked, removed)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import Page, expect

from pixelmill.config import Settings
from tests.e2e.console.conftest import Tab
from tests.integration.webhooks.receiver import Answer, receiver
from tests.support.accounts import SeededAccount, seed_account
from tests.support.fake_openai import serve_fake_openai
from tests.support.mail import logged_token
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant

OpenTab = Callable[..., Tab]
OPENAI_KEY = "sk-proj-fakekey-0123456789abcdefSECRET3456"
WRONG_KEY = "sk-proj-wrongkey-0123456789abcdefWRONG9876"
MASKED = "sk-\u20263456"


@pytest.fixture
def fake_openai_url() -> Iterator[str]:
    with serve_fake_openai(OPENAI_KEY) as (_fake, base_url):
        yield base_url


@pytest.fixture
def settings(settings: Settings, fake_openai_url: str) -> Settings:
    """Webhooks retried and polled within a test's patience; OpenAI on the loopback fake with no
    operator key, so only a key saved on the Providers page enables it; no per-minute limits."""
    return settings.model_copy(
        update={
            "webhook_retry_schedule_seconds": [0.05] * 9,
            "webhook_timeout_seconds": 2.0,
            "webhook_poll_seconds": 0.05,
            "openai_api_key": None,
            "openai_base_url": fake_openai_url,
            "plans": unthrottled_plans(),  # a new team workspace is on the sign-up plan, with its rate limit
        }
    )


def _account(settings: Settings, credits: int = 1000) -> SeededAccount:
    """Seeded in a thread of its own: Playwright's sync API keeps an event loop running in this one."""

    def seed() -> SeededAccount:
        account = seed_account(settings.resolved_database_url)
        if credits:
            grant(settings.resolved_database_url, account.workspace_id, credits)
        return account

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(seed).result()


def _signed_in(open_tab: OpenTab, account: SeededAccount) -> Tab:
    tab = open_tab()
    tab.goto("/sign-in")
    tab.page.get_by_label("Email").fill(account.email)
    tab.page.get_by_label("Password").fill(account.password)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("heading", name="Generate")).to_be_visible()
    return tab


def _generate(page: Page, prompt: str) -> tuple[str, int]:
    """Generate an image on the Generate page; the run's id and the credits it cost."""
    page.get_by_role("link", name="Generate").click()
    page.get_by_label("Model").select_option("local/procedural")
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_test_id("run-status")).to_have_text("complete")
    run_id = page.locator("section.progress code").first.inner_text()
    run = page.request.get(f"/v1/runs/{run_id}").json()
    return run_id, int(run["credits_used"])


def test_the_usage_chart_shows_a_runs_cost(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = _signed_in(open_tab, account)
    page = tab.page
    page.get_by_role("link", name="Credits").click()
    expect(page.get_by_test_id("usage-by-model")).to_contain_text("No credits spent yet.")

    run_id, cost = _generate(page, "a lighthouse in fog")
    assert cost > 0
    page.get_by_role("link", name="Credits").click()
    expect(page.get_by_test_id("usage-total")).to_have_text(str(cost))
    by_model = page.get_by_test_id("usage-by-model")
    expect(by_model.get_by_role("row", name="local/procedural")).to_contain_text(f"{cost} credits")
    expect(by_model.locator(".recharts-bar-rectangle")).to_have_count(1)  # the chart drew the bar
    by_day = page.get_by_test_id("usage-by-day")
    expect(by_day.locator(".recharts-bar-rectangle")).to_have_count(1)
    expect(by_day.get_by_role("row")).to_contain_text(f"{cost} credits")
    expect(page.get_by_role("row").filter(has_text=run_id).first).to_be_visible()  # the ledger beside it
    tab.assert_no_problems()


def test_a_webhooks_secret_is_shown_once_and_its_deliveries_show_every_attempt(
    open_tab: OpenTab, settings: Settings
) -> None:
    account = _account(settings)
    tab = _signed_in(open_tab, account)
    page = tab.page
    with receiver(Answer(500), Answer(200)) as target:
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_label("Endpoint URL").fill(target.url)
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.get_by_test_id("webhook-secret").inner_text()
        assert secret.startswith("whsec_")
        with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
            listed = api.get("/v1/webhooks").json()["data"]
        assert [hook["url"] for hook in listed] == [target.url]
        assert secret not in str(listed)  # never readable again
        page.reload()
        expect(page.get_by_role("cell", name=target.url)).to_be_visible()
        expect(page.get_by_test_id("webhook-secret")).to_have_count(0)

        run_id, _cost = _generate(page, "a harbour at dawn")
        target.wait_for(2)  # refused once, accepted on the retry
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_role("button", name="Deliveries").click()
        delivery = page.locator("[data-delivery-id]").filter(has_text=run_id)
        expect(delivery.get_by_test_id("delivery-status")).to_have_text("succeeded")
        attempts = delivery.get_by_test_id("attempt")
        expect(attempts).to_have_count(2)
        expect(attempts.nth(0)).to_contain_text("500")
        expect(attempts.nth(1)).to_contain_text("200")

        delivery.get_by_role("button", name="Redeliver").click()
        target.wait_for(3)
        expect(page.locator("[data-delivery-id]").filter(has_text=run_id)).to_have_count(2)

        page.get_by_role("button", name="Rotate secret").click()
        rotated = page.get_by_test_id("webhook-secret").inner_text()
        assert rotated != secret
        page.get_by_role("button", name="Done").click()
        page.get_by_role("button", name="Disable").click()
        expect(page.get_by_role("cell", name="disabled")).to_be_visible()
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("cell", name=target.url)).to_have_count(0)
    # The first attempt's 500 is the receiver's, not the browser's: no console errors expected.
    tab.assert_no_problems()


def test_create_a_team_invite_and_revoke_change_a_members_role_and_remove_them(
    open_tab: OpenTab, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    owner = _account(settings)
    invitee = _account(settings, credits=0)
    tab = _signed_in(open_tab, owner)
    page = tab.page
    page.get_by_role("link", name="Team").click()
    expect(page.get_by_text("This is your personal workspace")).to_be_visible()
    page.get_by_label("Name").fill("Studio")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="Team: Studio")).to_be_visible()
    expect(page.locator(f'[data-member="{owner.email}"]').get_by_role("combobox")).to_have_value("owner")

    page.get_by_label("Email").fill(invitee.email)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_test_id("invitations")).to_contain_text(f"{invitee.email} as member")
    token = logged_token(caplog, invitee.email)  # no SMTP server: the operator passes the link on
    page.get_by_label("Email").fill("stray@example.com")
    page.get_by_role("button", name="Send invitation").click()
    stray = page.locator('[data-invitation="stray@example.com"]')
    expect(stray).to_be_visible()
    stray_token = logged_token(caplog, "stray@example.com")
    page.get_by_role("button", name="Revoke the invitation of stray@example.com").click()
    expect(stray).to_have_count(0)
    with httpx.Client(base_url=tab.base_url, headers=invitee.headers) as api:
        withdrawn = api.post("/v1/invitations/accept", json={"token": stray_token})
        assert withdrawn.json()["error"]["code"] == "INVITATION_INVALID"  # the link stopped working
    with httpx.Client(base_url=tab.base_url, headers=invitee.headers) as api:
        assert api.post("/v1/invitations/accept", json={"token": token}).status_code == 200

    page.reload()
    expect(page.locator(f'[data-invitation="{invitee.email}"]')).to_have_count(0)  # accepted: not pending
    row = page.locator(f'[data-member="{invitee.email}"]')
    expect(row.get_by_role("combobox")).to_have_value("member")
    row.get_by_role("combobox").select_option("admin")
    expect(row.get_by_role("combobox")).to_have_value("admin")
    page.reload()
    expect(row.get_by_role("combobox")).to_have_value("admin")  # saved, not just shown
    row.get_by_role("button", name=f"Remove {invitee.email}").click()
    expect(row).to_have_count(0)
    tab.assert_no_problems()


def test_set_and_remove_a_workspace_provider_key(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = _signed_in(open_tab, account)
    page = tab.page
    page.get_by_role("link", name="Providers").click()
    row = page.locator('[data-provider="openai"]')
    expect(row.get_by_test_id("key-source")).to_have_text("—")

    row.get_by_label("New key for openai").fill(WRONG_KEY)
    row.get_by_role("button", name="Check and save").click()
    expect(page.get_by_role("alert")).to_be_visible()  # the fake upstream refused it: nothing saved
    expect(row.get_by_test_id("key-source")).to_have_text("—")

    row.get_by_label("New key for openai").fill(OPENAI_KEY)
    row.get_by_role("button", name="Check and save").click()
    expect(page.get_by_role("status")).to_contain_text("checked and saved")
    expect(row.get_by_test_id("key-source")).to_have_text("workspace")
    expect(row.get_by_test_id("masked-key")).to_have_text(MASKED)
    assert OPENAI_KEY not in page.content()

    row.get_by_role("button", name="Remove").click()
    expect(row.get_by_test_id("key-source")).to_have_text("—")
    tab.problems = [p for p in tab.problems if "status of 4" not in p]  # the refused key, expected
    tab.assert_no_problems()


def test_the_operator_page_is_shown_only_to_an_operator(open_tab: OpenTab, settings: Settings) -> None:
    member = _account(settings, credits=0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        operator = pool.submit(seed_account, settings.resolved_database_url, plan="operator", operator=True).result()

    tab = _signed_in(open_tab, member)
    expect(tab.page.get_by_role("navigation", name="Console").get_by_role("link")).not_to_have_count(0)
    expect(tab.page.get_by_role("link", name="Operator")).to_have_count(0)
    tab.goto("/operator")
    expect(tab.page.get_by_role("alert")).to_have_text("This page does not exist.")
    expect(tab.page.get_by_role("heading", name="Operator")).to_have_count(0)
    tab.assert_no_problems()

    ops = _signed_in(open_tab, operator)
    page = ops.page
    page.get_by_role("link", name="Operator").click()
    row = page.locator(f'[data-workspace-id="{member.workspace_id}"]')
    expect(row).to_contain_text(member.email)
    expect(page.get_by_role("cell", name=operator.email, exact=True)).to_have_count(2)  # owner and account
    row.get_by_role("spinbutton").fill("25")
    row.get_by_role("button", name="Grant").click()
    expect(row.get_by_test_id("operator-balance")).to_have_text("25")
    row.get_by_role("combobox").select_option("business")
    expect(page.get_by_role("status")).to_contain_text("now on the business plan")
    with httpx.Client(base_url=ops.base_url, headers=member.headers) as api:
        assert api.get("/v1/credits/wallet").json()["balance"] == 25
        assert api.get("/v1/auth/me").json()["workspace"]["plan"] == "business"
    ops.assert_no_problems()


def test_the_theme_toggle_overrides_the_system_and_is_remembered(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings, credits=0)
    tab = _signed_in(open_tab, account)
    page = tab.page
    page.emulate_media(color_scheme="light")
    background = "() => getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    toggle = page.get_by_role("button", name=re.compile(r"^Theme: "))
    expect(toggle).to_have_text("Theme: system")
    toggle.click()
    expect(toggle).to_have_text("Theme: light")
    toggle.click()
    expect(toggle).to_have_text("Theme: dark")
    assert page.evaluate(background) != light  # dark although the system asks for light
    page.reload()
    expect(toggle).to_have_text("Theme: dark")
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("() => Object.keys(localStorage).length") == 0
    toggle.click()
    expect(toggle).to_have_text("Theme: system")
    assert page.evaluate(background) == light
    tab.assert_no_problems()
