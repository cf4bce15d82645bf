"""``pixelmill run`` (a workflow, or a graph file) and ``pixelmill runs ls|show|cancel|events``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pixelmill.cli.client_common import (
    EXIT_FAILED,
    EXIT_USAGE,
    JsonOption,
    emit,
    errors_to_exit_codes,
    fail,
    make_client,
    parse_assignments,
    print_json,
    table,
)

if TYPE_CHECKING:
    from pixelmill.client import Client
    from pixelmill.client.models import Run

runs_app = typer.Typer(help="List, inspect, cancel and follow runs.", no_args_is_help=True)


def run_command(
    workflow: Annotated[str, typer.Argument(help="A workflow id or name, or a JSON graph file")],
    assignments: Annotated[
        list[str] | None, typer.Option("--set", help="Override an input: node.field=value (repeatable)")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the run and download its outputs")] = True,
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory for the outputs")] = Path("."),
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait")] = 3600.0,
    as_json: JsonOption = False,
) -> None:
    """Run a published workflow (or an ad-hoc graph from a file), show progress node by node, and
    save its outputs."""
    from pixelmill.cli.client_progress import follow

    overrides = parse_assignments(assignments or [], dotted=True)
    with errors_to_exit_codes(as_json), make_client() as client:
        graph_file = Path(workflow)
        if graph_file.suffix == ".json" and graph_file.is_file():
            graph = _graph_with(json.loads(graph_file.read_text()), overrides, as_json)
            run_id = client.runs.create(graph).run_id
        else:
            run_id = client.workflows.run(_workflow_id(client, workflow, as_json), inputs=overrides).run_id
        if not wait:
            emit({"run_id": run_id, "status": "queued"}, as_json, run_id)
            return
        run = follow(client, run_id, show=not as_json, timeout=timeout)
        files = client.runs.download_outputs(run, output) if run.status == "completed" else []
    _report(run, files, as_json)


def _graph_with(document: object, overrides: dict[str, dict[str, object]], as_json: bool) -> dict[str, object]:
    """The graph of a file (a bare graph, or a workflow document with ``graph``) with ``--set`` applied."""
    graph = document.get("graph", document) if isinstance(document, dict) else None
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
        fail('the file holds no graph ({"nodes": [...], "edges": [...]})', EXIT_USAGE, as_json=as_json)
    nodes = {str(n.get("id")): n for n in graph["nodes"] if isinstance(n, dict)}
    for node_id, values in overrides.items():
        if node_id not in nodes:
            fail(f"--set names node {node_id!r}, which is not in the graph", EXIT_USAGE, as_json=as_json)
        nodes[node_id]["inputs"] = {**dict(nodes[node_id].get("inputs") or {}), **values}
    return graph


def _workflow_id(client: Client, reference: str, as_json: bool) -> str:
    if reference.startswith("wf_"):
        return reference
    cursor = None
    while True:
        page = client.workflows.list(limit=100, cursor=cursor)
        for summary in page.data:
            if summary.name == reference:
                return summary.id
        if page.next_cursor is None:
            fail(f"no workflow named {reference!r}", EXIT_USAGE, as_json=as_json)
        cursor = page.next_cursor


def _report(run: Run, files: list[Path], as_json: bool) -> None:
    if as_json:
        print_json({**run.model_dump(mode="json"), "files": [str(p) for p in files]})
    else:
        for path in files:
            typer.echo(str(path))
        if run.status != "completed":
            reason = f": {run.error.code}: {run.error.message}" if run.error else ""
            typer.echo(f"run {run.run_id} {run.status}{reason}", err=True)
    if run.status != "completed":
        raise typer.Exit(EXIT_FAILED)


@runs_app.command("ls")
def runs_ls(
    status: Annotated[list[str] | None, typer.Option("--status", help="Only these statuses (repeatable)")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100)] = 20,
    as_json: JsonOption = False,
) -> None:
    """The workspace's runs, newest first."""
    with errors_to_exit_codes(as_json), make_client() as client:
        page = client.runs.list(status=status, limit=limit)
    if as_json:
        print_json(page)
        return
    rows = [[r.run_id, r.kind, r.status, r.credits_used, r.created_at.isoformat(timespec="seconds")] for r in page.data]
    table(["run", "kind", "status", "credits", "created"], rows)


@runs_app.command("show")
def runs_show(run_id: str, as_json: JsonOption = False) -> None:
    """One run: status, nodes, outputs, credits."""
    with errors_to_exit_codes(as_json), make_client() as client:
        run = client.runs.get(run_id)
    if as_json:
        print_json(run)
        return
    typer.echo(f"{run.run_id}  {run.kind}  {run.status}  credits used {run.credits_used}")
    if run.error is not None:
        typer.echo(f"error: {run.error.code}: {run.error.message}")
    table(["node", "type", "status", "credits"], [[n.node_id, n.type, n.status, n.credits] for n in run.nodes])
    for name, value in run.outputs.items():
        typer.echo(f"{name} ({value.type}): {value.value}")


@runs_app.command("cancel")
def runs_cancel(run_id: str, as_json: JsonOption = False) -> None:
    """Cancel a queued or running run."""
    with errors_to_exit_codes(as_json), make_client() as client:
        client.runs.cancel(run_id)
    emit({"run_id": run_id, "cancelled": True}, as_json, f"cancelled {run_id}")


@runs_app.command("events")
def runs_events(run_id: str, as_json: JsonOption = False) -> None:
    """Print a run's events as they happen, until it finishes (JSON lines with --json)."""
    with errors_to_exit_codes(as_json), make_client() as client:
        for event in client.runs.events(run_id):
            if as_json:
                typer.echo(json.dumps({"id": event.id, "event": event.event, "data": event.data}))
            else:
                node = f" {event.node_id}" if event.node_id else ""
                typer.echo(f"{event.id or '-'} {event.event}{node}")
