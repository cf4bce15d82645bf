"""The webhook outbox: an ``EventSubscriber`` that turns run events into delivery rows.

The event log calls it inside the transaction that writes the events, so a delivery exists if and
only if its event committed; the delivery loop (delivery.py) sends what is here. Each delivery's
body is frozen now. Terminal events carry imageat's body: ``{"event", "run_id", "status",
"outputs", "credits_used"}`` (and ``error`` when the run failed); each output ``{"type", "value"}``
with media as signed URLs and, beside them, their stable ``url``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.config import Settings
from pixelmill.db.base import utcnow
from pixelmill.db.models import Run, WebhookDelivery, WebhookEndpoint
from pixelmill.events.types import TERMINAL_EVENTS, EventRecord
from pixelmill.ids import new_id
from pixelmill.services.run_outputs import public_entry
from pixelmill.webhooks.routing import DEFAULT_FILTER, expand

_ENDPOINTS: Table = WebhookEndpoint.__table__  # type: ignore[assignment]
# What routing needs of a workspace's enabled endpoints, read with one Core statement per append
# (it runs in every run transition's transaction, so it is kept to the columns it uses).
_ENABLED_ENDPOINTS = (
    select(_ENDPOINTS.c.id, _ENDPOINTS.c.workspace_id, _ENDPOINTS.c.url, _ENDPOINTS.c.events)
    .where(_ENDPOINTS.c.workspace_id.in_(bindparam("workspace_ids", expanding=True)), _ENDPOINTS.c.enabled.is_(True))
    .order_by(_ENDPOINTS.c.id)
)


@dataclass(frozen=True, slots=True)
class _Endpoint:
    id: str
    url: str
    events: frozenset[str]


class WebhookOutbox:
    """Writes one delivery per (event, interested webhook): the run's own webhook and each enabled
    endpoint of the run's workspace whose filter selects the event."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(
        self, session: AsyncSession, records: Sequence[EventRecord], known_runs: Mapping[str, Run] | None = None, /
    ) -> None:
        if not records:
            return
        runs = dict(known_runs or {})
        missing = {record.run_id for record in records} - runs.keys()
        if missing:
            runs.update(await self._runs(session, missing))
        endpoints = await self._endpoints(session, {record.workspace_id for record in records})
        now = utcnow()
        for record in records:
            run = runs.get(record.run_id)
            targets = self._targets(record, run, endpoints.get(record.workspace_id, []))
            if not targets:
                continue
            payload = self._payload(record, run)
            for endpoint_id, url in targets:
                session.add(
                    WebhookDelivery(
                        id=new_id("whd"),
                        workspace_id=record.workspace_id,
                        endpoint_id=endpoint_id,
                        run_id=record.run_id,
                        event_id=record.id,
                        event=record.name,
                        url=url,
                        payload=payload,
                        webhook_id=new_id("msg"),
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        await session.flush()

    async def _runs(self, session: AsyncSession, run_ids: set[str]) -> dict[str, Run]:
        rows = await session.scalars(
            select(Run).where(Run.id.in_(sorted(run_ids))).execution_options(populate_existing=True)
        )
        return {run.id: run for run in rows}

    async def _endpoints(self, session: AsyncSession, workspace_ids: set[str]) -> dict[str, list[_Endpoint]]:
        rows = await session.execute(_ENABLED_ENDPOINTS, {"workspace_ids": sorted(workspace_ids)})
        grouped: dict[str, list[_Endpoint]] = {}
        for endpoint_id, workspace_id, url, events in rows:
            wanted = expand(events, always_completed=False)
            grouped.setdefault(workspace_id, []).append(_Endpoint(endpoint_id, url, wanted))
        return grouped

    @staticmethod
    def _targets(record: EventRecord, run: Run | None, endpoints: Sequence[_Endpoint]) -> list[tuple[str | None, str]]:
        targets: list[tuple[str | None, str]] = []
        hook = run.webhook if run is not None else None
        if hook and isinstance(hook.get("url"), str):
            wanted = expand(hook.get("events") or DEFAULT_FILTER, always_completed=True)
            if record.name in wanted:
                targets.append((None, hook["url"]))
        for endpoint in endpoints:
            if record.name in endpoint.events:
                targets.append((endpoint.id, endpoint.url))
        return targets

    def _payload(self, record: EventRecord, run: Run | None) -> dict[str, Any]:
        if record.name not in TERMINAL_EVENTS or run is None:
            return {**record.data, "event": record.name, "run_id": record.run_id}
        settings = self.settings
        outputs = {
            node_id: public_entry(
                output,
                run_id=run.id,
                node_id=node_id,
                secret=settings.secret,
                ttl=settings.signed_url_ttl_seconds,
                base_url=settings.resolved_public_url,
            )
            for node_id, output in (run.outputs or {}).items()
        }
        body: dict[str, Any] = {
            "event": record.name,
            "run_id": run.id,
            "status": run.status,
            "outputs": outputs,
            "credits_used": run.credits_used,
        }
        if run.error:
            body["error"] = {
                "code": str(run.error.get("code", "NODE_FAILED")),
                "message": str(run.error.get("message", "")),
                "node_id": run.error.get("node_id"),
            }
        return body
