"""``pixelmill admin``: operator commands that act on the database directly, with no server running.

A workspace is named by its id (``ws_…``) or by an account's email, meaning that account's
personal workspace. These commands bypass the API's role, scope and plan checks: whoever can run
them can already read the database. Imports happen inside the commands so ``pixelmill --help``
stays fast.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from pixelmill.config import Settings

app = typer.Typer(help="Operator commands: users, plans, credits and keys.", no_args_is_help=True)

T = TypeVar("T")

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory of an embedded database (default from settings)")
]


def _settings(data_dir: Path | None) -> Settings:
    from pixelmill.config import Settings

    return Settings.model_validate({"data_dir": data_dir} if data_dir is not None else {})


def _run(data_dir: Path | None, action: Callable[[AsyncSession, Settings], Awaitable[T]]) -> T:
    """Run ``action`` in one committed transaction; a PixelmillError is printed and exits 1.

    The database must be reachable and migrated to this code's head first: admin commands never
    migrate (not even the embedded database, which its server migrates on start), and a missing
    table would otherwise surface as a raw SQL error half-way through the command.
    """
    from pixelmill.db.migrate import DatabaseNotReady, require_current_schema
    from pixelmill.db.session import Database
    from pixelmill.errors import PixelmillError

    settings = _settings(data_dir)
    try:
        require_current_schema(settings.resolved_database_url)
    except DatabaseNotReady as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from exc

    async def main() -> T:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                return await action(session, settings)
        finally:
            await db.dispose()

    import asyncio  # here, not at the top: every CLI command imports this module, few need an event loop

    try:
        return asyncio.run(main())
    except PixelmillError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        raise typer.Exit(1) from exc


@dataclass(frozen=True)
class _Target:
    workspace_id: str
    owner_id: str | None


async def _target(session: AsyncSession, target: str) -> _Target:
    """A workspace id, or an email meaning that account's personal workspace."""
    from pixelmill import errors
    from pixelmill.errors import PixelmillError
    from pixelmill.services.accounts import AccountService
    from pixelmill.services.workspaces import WorkspaceService

    if "@" in target:
        user = await AccountService(session).find_by_email(target)
        if user is None or user.personal_workspace_id is None:
            raise PixelmillError(errors.NOT_FOUND, f"No account with the email {target}")
        return _Target(user.personal_workspace_id, user.id)
    workspaces = WorkspaceService(session)
    workspace = await workspaces.get(target)
    return _Target(workspace.id, await workspaces.first_owner(workspace.id))


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Argument(help="Email address (the login name)")],
    password: Annotated[
        str | None, typer.Option(help="Password; default a random one, printed once", envvar="PIXELMILL_NEW_PASSWORD")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name")] = "",
    plan: Annotated[str | None, typer.Option(help="Plan of the personal workspace (default: signup_plan)")] = None,
    operator: Annotated[bool, typer.Option("--operator", help="Mark the account as an operator")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Create an account with its personal workspace."""
    chosen = password or secrets.token_urlsafe(18)

    async def action(session: AsyncSession, settings: Settings) -> tuple[str, str]:
        from pixelmill import errors
        from pixelmill.errors import PixelmillError
        from pixelmill.services.accounts import AccountService

        plan_name = plan or settings.signup_plan
        if plan_name not in settings.plans:
            raise PixelmillError(errors.VALIDATION_ERROR, f"Unknown plan {plan_name!r}", field="plan")
        user, workspace = await AccountService(session).signup(
            email, chosen, name=name, plan=plan_name, is_operator=operator
        )
        return user.id, workspace.id

    user_id, workspace_id = _run(data_dir, action)
    typer.echo(f"user {user_id} created with personal workspace {workspace_id}")
    if password is None:
        typer.echo(f"password (shown only now): {chosen}")


@app.command("set-plan")
def set_plan(
    target: Annotated[str, typer.Argument(help="Workspace id, or an email for its personal workspace")],
    plan: Annotated[str, typer.Argument(help="Plan name, e.g. free, starter, pro, business, operator")],
    data_dir: DataDirOption = None,
) -> None:
    """Move a workspace to another plan (running servers notice within auth_cache_ttl_seconds)."""

    async def action(session: AsyncSession, settings: Settings) -> str:
        from pixelmill.services.workspaces import WorkspaceService

        found = await _target(session, target)
        workspace = await WorkspaceService(session).set_plan(found.workspace_id, plan, settings.plans)
        return workspace.id

    typer.echo(f"workspace {_run(data_dir, action)} is now on the {plan} plan")


@app.command("grant-credits")
def grant_credits(
    target: Annotated[str, typer.Argument(help="Workspace id, or an email for its personal workspace")],
    amount: Annotated[int, typer.Argument(help="Credits to add", min=1)],
    note: Annotated[str, typer.Option(help="Note kept in the ledger entry")] = "operator grant",
    data_dir: DataDirOption = None,
) -> None:
    """Add credits to a workspace's wallet, as a grant entry in its ledger."""

    async def action(session: AsyncSession, _settings: Settings) -> tuple[str, int]:
        from pixelmill.services.credits import CreditLedger

        found = await _target(session, target)
        ledger = CreditLedger(session)
        await ledger.grant(found.workspace_id, amount, note)
        return found.workspace_id, (await ledger.wallet(found.workspace_id)).balance

    workspace_id, balance = _run(data_dir, action)
    typer.echo(f"granted {amount} credits to {workspace_id}; balance {balance}")


@app.command("create-key")
def create_key(
    target: Annotated[str, typer.Argument(help="Workspace id, or an email for its personal workspace")],
    name: Annotated[str, typer.Option(help="Name shown in key lists")] = "admin",
    mode: Annotated[str, typer.Option(help="live or test")] = "live",
    scope: Annotated[list[str] | None, typer.Option(help="A scope; repeat for several (default: every scope)")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an API key for a workspace (attributed to its first owner) and print it once."""
    if mode not in ("live", "test"):
        print("error: VALIDATION_ERROR: --mode must be live or test", file=sys.stderr)
        raise typer.Exit(1)
    key_mode: Literal["live", "test"] = "live" if mode == "live" else "test"

    async def action(session: AsyncSession, _settings: Settings) -> tuple[str, str]:
        from pixelmill.services.keys import ApiKeyService

        found = await _target(session, target)
        created = await ApiKeyService(session).create(
            found.workspace_id, name=name, mode=key_mode, scopes=scope, created_by=found.owner_id
        )
        return created.row.id, created.secret

    key_id, secret = _run(data_dir, action)
    typer.echo(f"key {key_id} created; it is shown only now:")
    typer.echo(secret)
