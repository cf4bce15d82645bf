"""The API side of the fleet: a run is committed and answered even when the broker cannot take its message.

Publishing inside the request (as it once did) failed the request after its run was committed, so a
client retrying the 5xx would have created the run twice."""

from __future__ import annotations

import httpx

from pixelmill.config import Settings
from tests.support.accounts import seed_account
from tests.support.runs import node
from tests.support.server import start_server

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/3"  # nothing listens on port 1: every connection is refused


def test_a_run_created_while_the_broker_is_down_is_answered_and_left_queued_for_the_sweeper(
    settings: Settings, database_url: str
) -> None:
    server = start_server(settings.model_copy(update={"dispatch": "celery", "broker_url": CLOSED_PORT_BROKER}))
    try:
        account = seed_account(database_url)
        graph = {"nodes": [node("sum", "math.add", a=1, b=2)], "edges": []}
        with httpx.Client(base_url=server.url, timeout=30) as api:
            created = [api.post("/v1/runs", json={"graph": graph}, headers=account.headers) for _ in range(3)]
            assert [response.status_code for response in created] == [201, 201, 201], created[0].text
            for response in created:
                run = api.get(f"/v1/runs/{response.json()['run_id']}", headers=account.headers).json()
                assert run["status"] == "queued"  # committed; the sweeper publishes it once a broker answers
            assert api.get("/healthz").status_code == 200
    finally:
        server.stop()
