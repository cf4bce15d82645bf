"""ima2 jobs for tests: real runs carrying an ``Ima2Job``, created through ``RunService`` as the
generation routes create them, and executed by the server's own dispatcher."""

from __future__ import annotations

import asyncio
from typing import Any

from pixelmill.api.dialects.ima2.jobs import Ima2Job, JobKind
from pixelmill.config import Settings
from pixelmill.runtime import Runtime
from pixelmill.services.auth import Authenticator
from pixelmill.services.runs import RunService
from tests.support.accounts import SeededAccount
from tests.support.run_nodes import use_run_nodes


def image_graph(prompt: str = "a lighthouse at dusk", *, size: str = "64x64", n: int = 1) -> dict[str, Any]:
    """One built-in CPU image generation (the procedural renderer)."""
    return {"nodes": [{"id": "gen", "type": "image.generate", "inputs": {"prompt": prompt, "size": size, "n": n}}]}


def gate_graph(gate: str) -> dict[str, Any]:
    """A run that stays running until the test opens ``gate`` (needs the server on the test nodes)."""
    return {"nodes": [{"id": "wait", "type": "test.gate", "inputs": {"name": gate}}]}


def sleep_graph(seconds: float) -> dict[str, Any]:
    """A run that stays running for ``seconds``, stopping early when cancelled."""
    return {"nodes": [{"id": "wait", "type": "test.sleep", "inputs": {"seconds": seconds}}]}


def job(request_id: str, kind: JobKind = "classic", **fields: Any) -> Ima2Job:
    values: dict[str, Any] = {"prompt": "a lighthouse at dusk", "provider": "oauth", "quality": "low", "size": "64x64"}
    return Ima2Job(requestId=request_id, kind=kind, **{**values, **fields})


def create_job(settings: Settings, account: SeededAccount, record: Ima2Job | None, graph: dict[str, Any]) -> str:
    """Create a run of ``graph`` for ``account`` (an ima2 job when ``record`` is given); its id. The
    server's dispatcher picks it up from the database."""

    async def work() -> str:
        runtime = Runtime.create(settings)
        use_run_nodes(runtime)
        try:
            principal = await Authenticator(runtime.db, settings.secret, runtime.auth_cache).authenticate(account.key)
            metadata = record.to_metadata() if record is not None else None
            async with runtime.db.session() as session:
                run = await RunService(session, runtime).create(principal, graph, kind="graph", metadata=metadata)
            return run.id
        finally:
            await runtime.close()

    return asyncio.run(work())
