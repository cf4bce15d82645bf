"""Read-mostly client commands: credits, nodes, models, keys and workflows."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from pixelmill.cli.client_common import (
    EXIT_USAGE,
    JsonOption,
    OutputOption,
    emit,
    errors_to_exit_codes,
    fail,
    make_client,
    print_json,
    table,
)

nodes_app = typer.Typer(help="Node types the server can run.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of the workspace.", no_args_is_help=True)
workflows_app = typer.Typer(help="Workflows: list, show, push, pull, publish.", no_args_is_help=True)


def credits_command(as_json: JsonOption = False) -> None:
    """The workspace's credit balance."""
    with errors_to_exit_codes(as_json), make_client() as client:
        wallet = client.credits.wallet()
    emit(wallet, as_json, f"available {wallet.available}  (balance {wallet.balance}, reserved {wallet.reserved})")


def models_command(
    generation_type: Annotated[str | None, typer.Option("--type", help="image, video, voice, music, text, …")] = None,
    as_json: JsonOption = False,
) -> None:
    """The models generations may name."""
    with errors_to_exit_codes(as_json), make_client() as client:
        models = client.models.list(generation_type=generation_type)
    if as_json:
        print_json(models)
        return
    rows = [[m.id, m.generation_type, m.cost, "yes" if m.sandbox else "", m.description] for m in models]
    table(["model", "type", "cost", "sandbox", "description"], rows)


@nodes_app.command("ls")
def nodes_ls(
    category: Annotated[str | None, typer.Option("--category", help="image, video, audio, text, …")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every node type, with its cost."""
    with errors_to_exit_codes(as_json), make_client() as client:
        nodes = client.nodes.list(category=category)
    if as_json:
        print_json(nodes)
        return
    table(["type", "category", "cost", "description"], [[n.type, n.category, n.cost, n.description] for n in nodes])


@nodes_app.command("show")
def nodes_show(node_type: str, as_json: JsonOption = False) -> None:
    """A node type's inputs and outputs (JSON schema)."""
    with errors_to_exit_codes(as_json), make_client() as client:
        node = client.nodes.get(node_type)
    if as_json:
        print_json(node)
        return
    typer.echo(f"{node.type} {node.version} ({node.category}, {node.capability}, cost {node.cost})")
    typer.echo(node.description)
    properties = node.inputs.get("properties", {})
    required = set(node.inputs.get("required", []))
    rows = [
        [
            name,
            spec.get("type", ""),
            "yes" if name in required else "",
            spec.get("default", ""),
            spec.get("description", ""),
        ]
        for name, spec in properties.items()
    ]
    table(["input", "type", "required", "default", "description"], rows)


@keys_app.command("ls")
def keys_ls(as_json: JsonOption = False) -> None:
    """The workspace's keys (never their secrets)."""
    with errors_to_exit_codes(as_json), make_client() as client:
        keys = client.keys.list()
    if as_json:
        print_json(keys)
        return
    rows = [[k.id, k.name, k.prefix, k.mode, k.status, _until(k.expires_at)] for k in keys]
    table(["id", "name", "prefix", "mode", "state", "works until"], rows)


def _until(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "-"


@keys_app.command("show")
def keys_show(key_id: str, as_json: JsonOption = False) -> None:
    """One key: its state, and for a rotated key when it stops working and what replaced it."""
    with errors_to_exit_codes(as_json), make_client() as client:
        key = client.keys.get(key_id)
    replaced = f", replaced by {key.replaced_by}" if key.replaced_by else ""
    emit(
        key,
        as_json,
        f"{key.id}  {key.name}  {key.prefix}  {key.mode}  {key.status}{replaced}  until {_until(key.expires_at)}",
    )


@keys_app.command("create")
def keys_create(
    name: str,
    test: Annotated[bool, typer.Option("--test", help="A sandbox key (pm_test_) that spends no credits")] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a key; its secret is printed this once."""
    with errors_to_exit_codes(as_json), make_client() as client:
        key = client.keys.create(name, mode="test" if test else "live")
    emit(key, as_json, f"{key.id}  {key.key}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, as_json: JsonOption = False) -> None:
    """Revoke a key at once."""
    with errors_to_exit_codes(as_json), make_client() as client:
        key = client.keys.revoke(key_id)
    emit(key, as_json, f"revoked {key.id}")


@keys_app.command("rotate")
def keys_rotate(key_id: str, as_json: JsonOption = False) -> None:
    """Replace a key; the old one keeps working for the server's grace period (revoke ends it at once)."""
    with errors_to_exit_codes(as_json), make_client() as client:
        new = client.keys.rotate(key_id)
    until = _until(new.previous.expires_at)
    emit(new, as_json, f"{new.id}  {new.key}\n{key_id} keeps working until {until}; revoke it to end it sooner")


@workflows_app.command("ls")
def workflows_ls(as_json: JsonOption = False) -> None:
    """The workspace's workflows."""
    with errors_to_exit_codes(as_json), make_client() as client:
        page = client.workflows.list(limit=100)
    if as_json:
        print_json(page)
        return
    rows = [[w.id, w.name, w.version, w.published_version or "", w.node_count] for w in page.data]
    table(["id", "name", "draft", "published", "nodes"], rows)


@workflows_app.command("show")
def workflows_show(workflow_id: str, as_json: JsonOption = False) -> None:
    """A workflow with its draft graph."""
    with errors_to_exit_codes(as_json), make_client() as client:
        workflow = client.workflows.get(workflow_id)
    if as_json:
        print_json(workflow)
        return
    typer.echo(f"{workflow.id}  {workflow.name}  draft v{workflow.version}  published v{workflow.published_version}")
    typer.echo(json.dumps(workflow.graph, indent=2))


@workflows_app.command("pull")
def workflows_pull(workflow_id: str, output: OutputOption = None, as_json: JsonOption = False) -> None:
    """Write a workflow as a JSON document that `push` accepts (to stdout, or -o FILE)."""
    with errors_to_exit_codes(as_json), make_client() as client:
        workflow = client.workflows.get(workflow_id)
    document = {"id": workflow.id, "name": workflow.name, "description": workflow.description, "graph": workflow.graph}
    if output is None:
        print_json(document)
        return
    output.write_text(json.dumps(document, indent=2) + "\n")
    emit({"id": workflow.id, "path": str(output)}, as_json, str(output))


@workflows_app.command("push")
def workflows_push(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A workflow document or a bare graph")],
    name: Annotated[str | None, typer.Option("--name", help="Name (default: the document's, or the file name)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a workflow from a file, or update the one its ``id`` names (checked against the current version)."""
    try:
        document = json.loads(file.read_text())
    except ValueError as exc:
        fail(f"{file} is not JSON: {exc}", EXIT_USAGE, as_json=as_json)
    if not isinstance(document, dict):
        fail(f"{file} holds no workflow object", EXIT_USAGE, as_json=as_json)
    graph = document.get("graph", document if "nodes" in document else None)
    if not isinstance(graph, dict):
        fail(f"{file} holds no graph", EXIT_USAGE, as_json=as_json)
    title = name or str(document.get("name") or file.stem)
    description = str(document.get("description") or "")
    with errors_to_exit_codes(as_json), make_client() as client:
        workflow_id = document.get("id")
        if isinstance(workflow_id, str):
            current = client.workflows.get(workflow_id)
            workflow = client.workflows.update(
                workflow_id, version=current.version, name=title, description=description, graph=graph
            )
        else:
            workflow = client.workflows.create(title, graph, description=description)
    emit(workflow, as_json, f"{workflow.id}  draft v{workflow.version}")


@workflows_app.command("publish")
def workflows_publish(workflow_id: str, as_json: JsonOption = False) -> None:
    """Freeze the draft as the next version; runs use the latest published one."""
    with errors_to_exit_codes(as_json), make_client() as client:
        version = client.workflows.publish(workflow_id)
    emit(version, as_json, f"{version.workflow_id} published as v{version.number}")
