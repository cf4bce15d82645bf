"""``pixelmill providers``: upstream providers and their keys, through the SDK.

A key is read from standard input when it is piped, else asked for without echo: never from the
command line, where shell history and process lists would keep it.
"""

from __future__ import annotations

import sys
from typing import Annotated, Literal

import typer

from pixelmill.cli.client_common import (
    EXIT_USAGE,
    JsonOption,
    emit,
    errors_to_exit_codes,
    fail,
    make_client,
    print_json,
    table,
)

providers_app = typer.Typer(help="Upstream providers and their keys.", no_args_is_help=True)

ScopeOption = Annotated[
    Literal["workspace", "operator"] | None,
    typer.Option("--scope", help="workspace (this workspace's own key) or operator (serves every workspace)"),
]


@providers_app.command("ls")
def providers_ls(as_json: JsonOption = False) -> None:
    """Each upstream: whether a key serves this workspace, from where, and the key masked."""
    with errors_to_exit_codes(as_json), make_client() as client:
        providers = client.providers.list()
    if as_json:
        print_json(providers)
        return
    rows = [
        [
            p.id,
            "yes" if p.configured else "",
            p.source or "-",
            p.masked_key or "-",
            {True: "yes", False: "no", None: "-"}[p.valid],
            p.key_env,
            len(p.models),
        ]
        for p in providers
    ]
    table(["provider", "configured", "source", "key", "valid", "env", "models"], rows)


def _read_key() -> str:
    key = sys.stdin.readline() if not sys.stdin.isatty() else typer.prompt("Key", hide_input=True)
    return str(key).strip()


@providers_app.command("set-key")
def providers_set_key(provider: str, scope: ScopeOption = None, as_json: JsonOption = False) -> None:
    """Save a key (read from standard input or asked for); the server checks it with the upstream first."""
    key = _read_key()
    if not key:
        fail("no key given (pipe it in, or type it at the prompt)", EXIT_USAGE, as_json=as_json)
    with errors_to_exit_codes(as_json), make_client() as client:
        saved = client.providers.set_key(provider, key, scope=scope)
    emit(saved, as_json, f"{saved.id}: {saved.masked_key} ({saved.source}), {len(saved.models)} models")


@providers_app.command("remove-key")
def providers_remove_key(provider: str, scope: ScopeOption = None, as_json: JsonOption = False) -> None:
    """Remove a saved key; the environment's or the operator's key serves again, if there is one."""
    with errors_to_exit_codes(as_json), make_client() as client:
        client.providers.remove_key(provider, scope=scope)
    emit({"provider": provider, "removed": True}, as_json, f"{provider}: key removed")
