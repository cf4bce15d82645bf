"""Standing probe: Schemathesis over the whole OpenAPI document, against the app served on loopback.

The document is read from the running server, so every operation it lists is probed, a route or
dialect added later included. Schemathesis's own engine runs all its phases (examples, coverage,
fuzzing, and stateful sequences along the links it infers) with a fixed seed and example budget,
and these checks: no server error; each response's status code, content type, headers and body
as documented; 405 with ``Allow`` for undocumented methods; 401 when credentials are left out.

Each run gets a fresh workspace and API key. When a request is answered 401 (a step revoked or
rotated the key in use) Schemathesis asks the auth provider again, which mints a new key, and
replays the request, so no sequence can lock the probe out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from schemathesis.engine import events
from schemathesis.engine.statistic import Statistic

from pixelmill.config import Settings
from pixelmill.db.session import Database
from pixelmill.services.keys import ApiKeyService
from tests.support.accounts import SeededAccount, seed_account
from tests.support.databases import SqliteTemplate
from tests.support.fake_fal import serve_fake_fal
from tests.support.fake_gemini import serve_fake_google
from tests.support.fake_openai import serve_fake_openai
from tests.support.fake_replicate import serve_fake_replicate
from tests.support.fake_xai import serve_fake_xai
from tests.support.server import LiveServer, start_server

pytestmark = pytest.mark.slow

SEED = 21
MAX_EXAMPLES = 25
STATEFUL_STEPS = 6
UPSTREAM_KEY = "sk-probe-upstream-key-nobody-guesses-0123456789"
# Left out: ensure_resource_availability, which expects a workspace created by POST /v1/workspaces to
# be readable with the credential that created it; a credential acts in one workspace by design (it
# answers 404 until the caller switches with POST /v1/auth/token). positive_data_acceptance, which
# expects 2xx for any valid input, where generated ids name nothing.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
)


def probe_config() -> schemathesis.Config:
    """The fixed budget: seed, examples per operation, phases and checks, nothing else."""
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
            "phases": {"stateful": {"max-steps": STATEFUL_STEPS}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            # Event streams stay open: read a few events, or give up on a quiet one after a second.
            "max-stream-events": 3,
            "request-timeout": 10,
            "operations": [{"include-path-regex": "events$", "request-timeout": 1}],
        }
    )


@dataclass
class Probe:
    """The served app, the database under it, and the account whose keys the probe uses."""

    server: LiveServer
    database_url: str
    account: SeededAccount
    keys_issued: int = 0

    def next_key(self) -> str:
        """The seeded key the first time; afterwards a new live key of the probe's workspace, minted
        through the service (not the API, whose key routes are under test)."""
        if self.keys_issued == 0:
            self.keys_issued = 1
            return self.account.key

        async def mint() -> str:
            db = Database(self.database_url)
            try:
                async with db.session() as session:
                    created = await ApiKeyService(session).create(
                        self.account.workspace_id, name="probe", created_by=self.account.user_id
                    )
                return created.secret
            finally:
                await db.dispose()

        self.keys_issued += 1
        return asyncio.run(mint())


@pytest.fixture
def probe(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Probe]:
    # PUT /v1/providers/{id}/key checks a key with its upstream: every upstream answers on loopback
    # (a fake refusing every key the probe makes up), so the probe never reaches the internet.
    with contextlib.ExitStack() as fakes:
        _, openai_url = fakes.enter_context(serve_fake_openai(UPSTREAM_KEY))
        _, xai_url = fakes.enter_context(serve_fake_xai(UPSTREAM_KEY))
        _, google_origin = fakes.enter_context(serve_fake_google(UPSTREAM_KEY))
        _, replicate_url = fakes.enter_context(serve_fake_replicate(UPSTREAM_KEY))
        _, fal_url = fakes.enter_context(serve_fake_fal(UPSTREAM_KEY))
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=sqlite_template.fresh(tmp_path),
            secret_key="probe-secret-key-that-is-long-enough-for-hs256",  # type: ignore[arg-type]
            plan_credits_enabled=False,
            worker_concurrency=1,
            log_format="text",
            openai_base_url=openai_url,
            xai_base_url=xai_url,
            gemini_base_url=f"{google_origin}/v1beta",
            vertex_base_url=f"{google_origin}/v1",
            replicate_base_url=replicate_url,
            fal_base_url=fal_url,
            openai_compatible_url=openai_url,
            openai_compatible_models=["probe-model"],
        )
        account = seed_account(settings.resolved_database_url, plan="operator")
        server = start_server(settings)
        yield Probe(server, settings.resolved_database_url, account)
        server.stop()


def _report(statistic: Statistic, schema: schemathesis.BaseSchema) -> str:
    blocks = []
    for label, grouped in sorted(statistic.failures.items()):
        for group in grouped.values():
            blocks.append(
                f"== {label}\n{group.format(index=None, curl=group.code_sample, config=schema.config.output)}"
            )
    return "\n\n".join(blocks)


def test_the_whole_document_conforms(probe: Probe) -> None:
    schema = schemathesis.openapi.from_url(f"{probe.server.url}/openapi.json", config=probe_config())

    @schema.auth(refresh_interval=3600)
    class FreshKey:
        """The probe's key, asked for again after a 401."""

        def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
            return probe.next_key()

        def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    statistic = Statistic()
    per_phase: Counter[str] = Counter()
    problems: list[str] = []
    started = time.monotonic()
    finished: events.EngineFinished | None = None
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            statistic.on_scenario_finished(event.recorder)
            per_phase[event.phase.value] += len(event.recorder.cases)
        elif isinstance(event, events.NonFatalError):
            problems.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            problems.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            finished = event
    elapsed = time.monotonic() - started
    phases = ", ".join(f"{name} {count}" for name, count in sorted(per_phase.items()))
    print(
        f"\nschemathesis {schemathesis.__version__}: {statistic.total_cases} cases ({phases}) over "
        f"{len(statistic.tested_operations)} operations in {elapsed:.1f} s, "
        f"{statistic.total_failures} failures, {statistic.errored_cases} errored, {probe.keys_issued} keys"
    )
    assert finished is not None
    assert not problems, "\n".join(problems)
    assert statistic.total_failures == 0, _report(statistic, schema)
    assert per_phase["stateful"] > 0, "the stateful phase found no links to follow"
