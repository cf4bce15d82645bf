"""Built-in example workflows, published in every new workspace so there is something to run at once.

The examples are JSON files in ``pixelmill/examples/`` (``name``, ``description``, ``inputs`` — the
node ids a client overrides per run and what to put there — and ``graph``), documented in
docs/examples.md. ``install_examples`` writes each as a workflow with version 1 published, inside the
caller's transaction, so a workspace is created with its examples or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.db.models import Workflow, WorkflowVersion
from pixelmill.engine.validation import parse_graph
from pixelmill.ids import new_id

# Published by the server itself, not by a user or key.
PUBLISHER = "pixelmill"
EXAMPLE_SLUGS: tuple[str, ...] = (
    "product-variations",
    "avatar-styles",
    "editorial-enhance",
    "text-to-image-caption",
    "image-to-video",
)


@dataclass(frozen=True, slots=True)
class Example:
    """One example workflow as shipped."""

    slug: str
    name: str
    description: str
    inputs: dict[str, str]  # node id -> what a run may override there
    graph: dict[str, Any]

    @property
    def full_description(self) -> str:
        overrides = "; ".join(f"{node_id} ({hint})" for node_id, hint in self.inputs.items())
        return f"{self.description} Override per run: {overrides}."


@cache
def _load(slug: str) -> Example:
    raw = json.loads(resources.files("pixelmill").joinpath("examples", f"{slug}.json").read_text("utf-8"))
    graph = parse_graph(raw["graph"]).model_dump(mode="json")
    return Example(slug=slug, name=raw["name"], description=raw["description"], inputs=dict(raw["inputs"]), graph=graph)


def examples() -> list[Example]:
    """Every built-in example, in the order they are listed to users."""
    return [_load(slug) for slug in EXAMPLE_SLUGS]


async def install_examples(session: AsyncSession, workspace_id: str) -> list[Workflow]:
    """Create and publish the examples in ``workspace_id``; examples whose name the workspace already
    uses are left alone, so calling it again adds nothing. The caller commits."""
    taken = set(
        await session.scalars(
            select(Workflow.name).where(Workflow.workspace_id == workspace_id, Workflow.deleted_at.is_(None))
        )
    )
    now = datetime.now(UTC)
    created: list[Workflow] = []
    for example in examples():
        if example.name in taken:
            continue
        workflow = Workflow(
            id=new_id("wf"),
            workspace_id=workspace_id,
            name=example.name,
            description=example.full_description,
            graph=example.graph,
            version=1,
            published_version=1,
            created_by=PUBLISHER,
            created_at=now,
            updated_at=now,
        )
        session.add(workflow)
        await session.flush()  # the version row refers to the workflow
        session.add(
            WorkflowVersion(
                workflow_id=workflow.id,
                number=1,
                name=workflow.name,
                description=workflow.description,
                graph=example.graph,
                draft_version=1,
                published_at=now,
                published_by=PUBLISHER,
            )
        )
        created.append(workflow)
    await session.flush()
    return created
