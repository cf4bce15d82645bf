"""ima2's ``/api/sessions``: graph sessions of its node mode, saved whole under ``If-Match`` versions.

Bodies and errors are ima2's (nested ``{error: {code, message}}``). ``GET /api/sessions/{id}`` sends
the graph twice: ``nodes``/``edges``/``graphVersion`` as ima2's web client reads them, and
``graph: {nodes, edges, version}``, which ima2's own CLI reads (``session graph save/load``) but
ima2's server never sent; with it those CLI commands work here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pixelmill.api.deps import RuntimeDep, SessionDep
from pixelmill.api.dialects.ima2 import graphs
from pixelmill.api.dialects.ima2.access import Ima2PrincipalDep
from pixelmill.api.dialects.ima2.errors import NESTED
from pixelmill.api.dialects.ima2.sessions import SessionStore
from pixelmill.api.dialects.ima2.wire import epoch_ms
from pixelmill.db.models.ima2 import Ima2Session
from pixelmill.services.principal import Principal

router = APIRouter(prefix="/api/sessions", tags=["ima2"], route_class=NESTED.route_class(), include_in_schema=False)


class TitleBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str | None = Field(default=None, max_length=200)


def _summary(row: Ima2Session) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "createdAt": epoch_ms(row.created_at),
        "updatedAt": epoch_ms(row.updated_at),
        "graphVersion": row.graph_version,
    }


def _store(session: SessionDep, principal: Principal) -> SessionStore:
    principal.require_scope("runs")
    return SessionStore(session, principal.workspace_id)


@router.get("")
async def list_sessions(principal: Ima2PrincipalDep, session: SessionDep) -> dict[str, Any]:
    rows = await _store(session, principal).list()
    return {"sessions": [{**_summary(row), "nodeCount": row.node_count} for row in rows]}


@router.post("", status_code=201)
async def create_session(
    principal: Ima2PrincipalDep, session: SessionDep, body: TitleBody | None = None
) -> JSONResponse:
    row = await _store(session, principal).create(body.title if body is not None else None)
    return JSONResponse({"session": _summary(row)}, status_code=201)


@router.get("/{session_id}")
async def get_session(session_id: str, principal: Ima2PrincipalDep, session: SessionDep) -> dict[str, Any]:
    row = await _store(session, principal).get(session_id)
    nodes, edges = row.graph.get("nodes", []), row.graph.get("edges", [])
    return {
        "session": {
            **_summary(row),
            "nodes": nodes,
            "edges": edges,
            "graph": {"nodes": nodes, "edges": edges, "version": row.graph_version},
        }
    }


@router.patch("/{session_id}")
async def rename_session(
    session_id: str, body: TitleBody, principal: Ima2PrincipalDep, session: SessionDep
) -> dict[str, Any]:
    await _store(session, principal).rename(session_id, body.title or "")
    return {"ok": True}


@router.delete("/{session_id}")
async def delete_session(session_id: str, principal: Ima2PrincipalDep, session: SessionDep) -> dict[str, Any]:
    await _store(session, principal).delete(session_id)
    return {"ok": True}


@router.put("/{session_id}/graph")
async def save_graph(
    session_id: str,
    principal: Ima2PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    payload: Annotated[Any, Body()] = None,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> dict[str, Any]:
    """Replace the graph when ``If-Match`` names the version stored (428 without it, 409 with
    ``currentVersion`` when another save came first)."""
    store = _store(session, principal)
    expected = graphs.parse_version(if_match)
    await store.get(session_id)  # an unknown session is 404 before its body is judged
    graph = graphs.normalize(payload, max_bytes=runtime.settings.max_graph_payload_bytes)
    version = await store.save_graph(session_id, expected, graph)
    return {"ok": True, "nodes": len(graph.nodes), "edges": len(graph.edges), "graphVersion": version}
