"""``pixelmill login`` and ``pixelmill whoami``.

``login`` checks the credential against the server before saving it where every client command
(and the SDK) looks: the credentials file that ``pixelmill serve`` writes on first start. An email
login stores the access token it gets, which expires; an API key does not.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pixelmill.cli.client_common import EXIT_USAGE, JsonOption, emit, errors_to_exit_codes, fail, print_json


def login_command(
    key: Annotated[str | None, typer.Option("--key", help="An API key to store (or PIXELMILL_API_KEY)")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Log in with email and password instead")] = None,
    password: Annotated[str | None, typer.Option("--password", help="Asked for when not given")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Server URL (default: the configured one)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Store a key (or log in with email and password) for the client commands."""
    from pixelmill.cli.discovery import save_credentials
    from pixelmill.client import Client
    from pixelmill.client.config import resolve

    if (key is None) == (email is None):
        fail("give either --key or --email", EXIT_USAGE, as_json=as_json)
    base_url = resolve(base_url=url).base_url
    with errors_to_exit_codes(as_json):
        credential = key
        if email is not None:
            secret = password if password is not None else typer.prompt("password", hide_input=True)
            with Client(api_key="", base_url=base_url) as anonymous:
                credential = anonymous.auth.login(email, secret).access_token
        assert credential is not None
        with Client(api_key=credential, base_url=base_url) as client:
            me = client.auth.me()
    user_email = str((me.user or {}).get("email", email or ""))
    path = save_credentials(
        url=base_url,
        email=user_email,
        workspace_id=str(me.workspace["id"]),
        key_id=str(me.auth.get("key_id") or ""),
        api_key=credential,
    )
    emit(
        {"url": base_url, "workspace_id": me.workspace["id"], "email": user_email, "path": str(path)},
        as_json,
        f"logged in to {base_url} as {user_email or me.auth.get('key_id')} (saved to {path})",
    )


def whoami_command(as_json: JsonOption = False) -> None:
    """Who the configured credential is, and where the configuration came from."""
    from pixelmill.cli.client_common import make_client

    with errors_to_exit_codes(as_json), make_client() as client:
        me = client.auth.me()
        config = client.config
    if as_json:
        print_json({**me.model_dump(mode="json"), "base_url": config.base_url, "key_source": config.api_key_source})
        return
    user = me.user or {}
    typer.echo(f"{user.get('email', '(key without a user)')} in {me.workspace.get('name')} ({me.workspace['id']})")
    typer.echo(f"role {me.role}, plan {me.plan.get('name')}, auth {me.auth.get('method')} {me.auth.get('mode')}")
    typer.echo(f"server {config.base_url} ({config.base_url_source}); key from {config.api_key_source}")
