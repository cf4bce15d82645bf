"""Runs: create (validate, estimate, hold credits, queue), read, list, cancel and delete.

Every run is a graph; workflows and generations arrive here as graphs too. Create is one
transaction: the run row, the workspace's queued-run cap and the credit hold commit together or not
at all, so a 402 or a 429 leaves nothing behind. The in-process dispatcher is woken after the commit
(a hook on the session), whoever commits it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Table, bindparam, event, func, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from pixelmill import errors
from pixelmill.db.base import utcnow
from pixelmill.db.models import Run, Workspace
from pixelmill.engine.model_checks import check_models, resolve_model_aliases
from pixelmill.engine.validation import ValidatedGraph, parse_graph, validate_graph
from pixelmill.errors import PixelmillError
from pixelmill.events.log import NewEvent
from pixelmill.ids import new_id
from pixelmill.outbound_urls import UrlPolicy, check_outbound_url
from pixelmill.providers.registry import ProviderRegistry
from pixelmill.services.credits import CreditLedger
from pixelmill.services.paging import split_page
from pixelmill.services.principal import Principal
from pixelmill.services.run_lifecycle import TERMINAL_STATUSES, RunStatus, RunTransition, finish, run_hooks
from pixelmill.services.run_signals import QueuedRun

if TYPE_CHECKING:
    from pixelmill.runtime import Runtime

RunKind = Literal["graph", "workflow", "generation"]
MAX_PAGE = 100
# What a client waiting on a full queue is told to wait: about one short run's time.
QUEUE_FULL_RETRY_AFTER_SECONDS = 5


# Core statements built once: they run for every created run, and the ORM's unit of work and
# per-call statement building cost more than the statements do.
_RUNS: Table = Run.__table__  # type: ignore[assignment]
_INSERT_RUN = insert(_RUNS)
_RUN_COLUMNS = [(prop.key, prop.columns[0]) for prop in inspect(Run).column_attrs]
_QUEUED_IN_WORKSPACE = select(func.count()).where(
    _RUNS.c.workspace_id == bindparam("workspace_id"), _RUNS.c.status == "queued"
)


async def serialise_creates(session: AsyncSession, workspace_id: str) -> None:
    """Hold the workspace's create lock until this transaction ends, so a check that counts the
    workspace's runs and the insert after it are one step among concurrent creators. On PostgreSQL
    the workspace row's lock: FOR NO KEY UPDATE, not FOR UPDATE, which still excludes other creators
    but not the KEY SHARE locks that foreign key checks of other transactions take on the row (an
    event insert holding the event log's lock would otherwise deadlock with us). On SQLite the
    database write lock, taken by a no-op update: pysqlite opens the transaction at the first write,
    and reads before one see whatever commits in between."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(update(Workspace).where(Workspace.id == workspace_id).values(plan=Workspace.plan))
    else:
        await session.execute(select(Workspace.id).where(Workspace.id == workspace_id).with_for_update(key_share=True))


async def _insert_run(session: AsyncSession, run: Run) -> None:
    """Insert ``run`` with one Core statement and attach it to ``session`` as the persistent row it
    now is. Every column gets a value on the object first (its default where unset), so no attribute
    is left to load later; None is written as SQL NULL (left out of the statement)."""
    for attribute, column in _RUN_COLUMNS:
        if attribute not in run.__dict__:
            default = column.default
            scalar = default is not None and default.is_scalar
            setattr(run, attribute, default.arg if scalar else None)
    values = {column.name: getattr(run, attribute) for attribute, column in _RUN_COLUMNS}
    values = {name: value for name, value in values.items() if value is not None}
    await session.execute(_INSERT_RUN, values)
    make_transient_to_detached(run)
    session.add(run)


def run_not_found(run_id: str) -> PixelmillError:
    """The one answer for a run the caller cannot see, whether it never existed, was deleted or is
    another workspace's."""
    return PixelmillError(errors.NOT_FOUND, f"Run {run_id} not found", run_id=run_id)


@dataclass(frozen=True, slots=True)
class RunPage:
    runs: list[Run]
    next_cursor: str | None


class RunService:
    """The run operations of one request (or one dispatcher step), over one session."""

    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.settings = runtime.settings

    async def create(
        self,
        principal: Principal,
        graph: Mapping[str, Any],
        *,
        kind: RunKind = "graph",
        workflow_id: str | None = None,
        workflow_version: int | None = None,
        priority: int | None = None,
        webhook: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        project_id: str | None = None,
        run_id: str | None = None,
        charge_only_on_success: bool = False,
    ) -> Run:
        """Validate ``graph`` (422 naming node and field), check what a test key may use (403
        SANDBOX_ONLY), queue the run under the plan's cap (429 TOO_MANY_JOBS) and hold its estimated
        cost (402 INSUFFICIENT_CREDITS with balance, available and required). The caller commits.

        ``run_id`` is a fresh id the caller made (a dialect that shows runs under UUIDs makes it with
        ``ids.new_uuid_id``); ``charge_only_on_success`` releases the whole hold unless the run
        completes, where the canonical rule keeps what executed nodes cost."""
        principal.require_scope("runs")
        # The workspace's own upstream keys decide which models it may name.
        providers = await self.runtime.workspace_providers.registry(self.session, principal.workspace_id)
        aliased = resolve_model_aliases(parse_graph(graph), self.runtime.nodes, providers)
        validated = validate_graph(aliased, self.runtime.nodes, self.settings)
        check_models(validated, providers)
        test_mode = principal.mode == "test"
        if test_mode:
            self._check_sandbox(validated, providers)
        hook = await self._check_webhook(webhook) if webhook is not None else None
        plan = self.settings.plan(principal.plan)
        run_priority = plan.priority if priority is None else max(0, min(priority, plan.priority))
        cost = 0 if test_mode else validated.estimated_cost
        run = Run(
            id=run_id or new_id("run"),
            workspace_id=principal.workspace_id,
            workflow_id=workflow_id,
            workflow_version=workflow_version,
            kind=kind,
            status="queued",
            graph=validated.graph.model_dump(mode="json"),
            priority=run_priority,
            attempt=0,
            credits_reserved=cost,
            credits_used=0,
            test_mode=test_mode,
            charge_only_on_success=charge_only_on_success,
            run_metadata=dict(metadata) if metadata is not None else None,
            project_id=project_id,
            webhook=hook,
            created_at=utcnow(),
        )
        # Creates of one workspace are serialised so the cap below is exact.
        await serialise_creates(self.session, principal.workspace_id)
        await _insert_run(self.session, run)
        queued = await self.session.scalar(_QUEUED_IN_WORKSPACE, {"workspace_id": principal.workspace_id})
        if int(queued or 0) > plan.max_queued_runs:
            raise PixelmillError(
                errors.TOO_MANY_JOBS,
                f"The {principal.plan} plan allows {plan.max_queued_runs} queued runs per workspace; "
                "wait for some to start",
                headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER_SECONDS)},
                limit=plan.max_queued_runs,
                retry_after=QUEUE_FULL_RETRY_AFTER_SECONDS,
            )
        await CreditLedger(self.session).hold(principal.workspace_id, cost, run.id)
        await run_hooks(self.session, self.runtime.run_hooks, RunTransition(run=run, previous=None, status="queued"))
        queued_run = QueuedRun(id=run.id, priority=run.priority, graph=run.graph)
        self._after_commit(lambda: self.runtime.run_signals.run_queued(queued_run))
        return run

    def _check_sandbox(self, validated: ValidatedGraph, providers: ProviderRegistry) -> None:
        """Test keys run sandbox models and local CPU nodes only; anything else is refused up front."""
        for node_id, cls in validated.node_types.items():
            model_field = cls.model_fields.get("model")
            if model_field is None:
                if cls.capability != "cpu":
                    raise PixelmillError(
                        errors.SANDBOX_ONLY,
                        f"Node {node_id!r} ({cls.node_type}) needs {cls.capability} capability, "
                        "which test keys cannot use",
                        node_id=node_id,
                        field="type",
                    )
                continue
            if "model" in validated.sources.get(node_id, {}):
                continue  # known only at run time; the node itself refuses non-sandbox models then
            model = validated.nodes[node_id].inputs.get("model", model_field.default)
            if not isinstance(model, str):
                continue  # a required model with no literal: validation already reported it
            try:
                info = providers.model(model)
            except PixelmillError as exc:
                raise PixelmillError(exc.spec, exc.message, node_id=node_id, field="model") from exc
            if not info.sandbox:
                raise PixelmillError(
                    errors.SANDBOX_ONLY,
                    f"Model {model!r} of node {node_id!r} is not a sandbox model; test keys cannot use it",
                    node_id=node_id,
                    field="model",
                )

    async def _check_webhook(self, webhook: Mapping[str, Any]) -> dict[str, Any]:
        """A webhook target that passes the one outbound-URL check, as /v1/webhooks endpoints do
        (the delivery loop checks it again before each POST, since DNS answers change)."""
        url = webhook.get("url")
        secret = webhook.get("secret")
        if not isinstance(url, str):
            raise PixelmillError(errors.VALIDATION_ERROR, "webhook.url must be a URL", field="webhook.url")
        await check_outbound_url(url, UrlPolicy.from_settings(self.settings), field="webhook.url")
        if secret is not None and not isinstance(secret, str):
            raise PixelmillError(errors.VALIDATION_ERROR, "webhook.secret must be a string", field="webhook.secret")
        events = webhook.get("events")
        if events is None:
            return {"url": url, "secret": secret}
        if not isinstance(events, list) or not all(item in ("start", "node", "completed") for item in events):
            raise PixelmillError(
                errors.VALIDATION_ERROR,
                "webhook.events must be a list of start, node and completed",
                field="webhook.events",
            )
        return {"url": url, "secret": secret, "events": list(dict.fromkeys(events))}

    async def get(self, principal: Principal, run_id: str) -> Run:
        """The run; 404 when unknown, deleted or another workspace's, all three answered alike so
        that ids are no oracle for what other workspaces have."""
        principal.require_scope("runs")
        run = await self.session.get(Run, run_id, populate_existing=True)
        if run is None or run.deleted_at is not None or run.workspace_id != principal.workspace_id:
            raise run_not_found(run_id)
        return run

    async def list(
        self,
        principal: Principal,
        *,
        statuses: Sequence[RunStatus] = (),
        workflow_id: str | None = None,
        kind: RunKind | None = None,
        project_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        metadata: Mapping[str, str] | None = None,
        cursor: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> RunPage:
        """Newest first; ``cursor`` is the last run id of the previous page (ids sort by creation).
        ``offset`` skips that many more, for the dialects that page by skip and limit. ``metadata``
        keeps runs whose metadata has each key with that string value (a generation's type, model)."""
        principal.require_scope("runs")
        limit = max(1, min(limit, MAX_PAGE))
        query = select(Run).where(Run.workspace_id == principal.workspace_id, Run.deleted_at.is_(None))
        if statuses:
            query = query.where(Run.status.in_(list(statuses)))
        if workflow_id is not None:
            query = query.where(Run.workflow_id == workflow_id)
        if kind is not None:
            query = query.where(Run.kind == kind)
        if project_id is not None:
            query = query.where(Run.project_id == project_id)
        if created_after is not None:
            query = query.where(Run.created_at >= created_after)
        if created_before is not None:
            query = query.where(Run.created_at < created_before)
        for key, value in (metadata or {}).items():
            query = query.where(Run.run_metadata[key].as_string() == value)
        if cursor is not None:
            query = query.where(Run.id < cursor)
        query = query.order_by(Run.id.desc()).offset(max(0, offset)).limit(limit + 1)
        return RunPage(*split_page(list(await self.session.scalars(query)), limit))

    async def cancel(self, principal: Principal, run_id: str) -> Run:
        """Cancel a queued run at once (its whole hold released) or ask a running one to stop before
        its next node (executed costs kept, the rest released when it stops). 409 once terminal."""
        run = await self.get(principal, run_id)
        for _ in range(3):  # the status may move under us (queued -> running); each step is a CAS
            if run.status == "queued":
                moved = await finish(
                    self.session, run_id, expected="queued", status="cancelled", hooks=self.runtime.run_hooks
                )
                if moved is not None:
                    self._after_commit(lambda: self.runtime.run_signals.run_finished(run_id))
                    return moved.run
            elif run.status == "running":
                result = await self.session.execute(
                    update(Run)
                    .where(Run.id == run_id, Run.status == "running")
                    .values(cancel_requested_at=func.coalesce(Run.cancel_requested_at, utcnow()))
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    self._after_commit(lambda: self.runtime.run_signals.cancel_requested(run_id))
                    return run
            else:
                break
            run = await self.get(principal, run_id)
        raise PixelmillError(
            errors.RUN_NOT_CANCELLABLE, f"Run {run_id} is already {run.status}", run_id=run_id, status=run.status
        )

    async def delete(self, principal: Principal, run_id: str) -> None:
        """Tombstone a finished run: hidden from reads and lists from now on. 409 while it is active.
        Writes ``run_deleted``, so live streams (and the dialects that show a queue) learn it is gone."""
        run = await self.get(principal, run_id)
        result = await self.session.execute(
            update(Run)
            .where(Run.id == run_id, Run.status.in_(list(TERMINAL_STATUSES)), Run.deleted_at.is_(None))
            .values(deleted_at=utcnow())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise PixelmillError(
                errors.RUN_NOT_FINISHED,
                f"Run {run_id} is {run.status}; cancel it or wait for it to finish before deleting it",
                run_id=run_id,
                status=run.status,
            )
        if self.runtime.run_events is not None:
            deleted = NewEvent(run.workspace_id, run_id, "run_deleted", {"status": run.status})
            await self.runtime.run_events.log.append(self.session, [deleted])

    async def restore(self, principal: Principal, run_id: str) -> Run:
        """Bring back a deleted run within ``run_restore_window_seconds`` of its deletion: 409
        RUN_NOT_DELETED when it is not deleted, 404 once the window has passed (it is, or is about
        to be, purged). The compare-and-set on ``deleted_at`` excludes the purge of the same run."""
        principal.require_scope("runs")
        run = await self.session.get(Run, run_id, populate_existing=True)
        if run is None or run.workspace_id != principal.workspace_id:
            raise run_not_found(run_id)
        if run.deleted_at is None:
            raise PixelmillError(errors.RUN_NOT_DELETED, f"Run {run_id} is not deleted", run_id=run_id)
        window = timedelta(seconds=self.settings.run_restore_window_seconds)
        result = await self.session.execute(
            update(Run)
            .where(Run.id == run_id, Run.deleted_at.is_not(None), Run.deleted_at > utcnow() - window)
            .values(deleted_at=None)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise PixelmillError(
                errors.NOT_FOUND,
                f"Run {run_id} was deleted more than {window} ago and can no longer be restored",
                run_id=run_id,
            )
        await self.session.refresh(run)
        return run

    def _after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the session commits (never when it rolls back)."""

        def fire(_session: Any) -> None:
            callback()

        event.listen(self.session.sync_session, "after_commit", fire, once=True)


async def wait_for_terminal(
    runtime: Runtime, run_id: str, seconds: float, *, waiter: asyncio.Future[Run | None] | None = None
) -> bool:
    """Wait up to ``seconds`` for the run to reach a terminal status; True when it did.

    A run finished by this process resolves the wait at once (``RunSignals``); one finished by
    another process is noticed by a status read every second. Pass the ``waiter`` of a
    ``run_signals.watch`` made before the run could start (its creator does so before committing)
    to save the first read.
    """
    signals = runtime.run_signals
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    read_first = waiter is None
    waiter = waiter if waiter is not None else signals.watch(run_id)
    try:
        while True:
            if read_first:
                async with runtime.db.reads() as session:
                    status = await session.scalar(select(Run.status).where(Run.id == run_id))
                if status is None or status in TERMINAL_STATUSES:
                    return status is not None
            read_first = True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(asyncio.shield(waiter), min(remaining, 1.0))
                return True
            except TimeoutError:
                continue
    finally:
        signals.unwatch(run_id, waiter)
