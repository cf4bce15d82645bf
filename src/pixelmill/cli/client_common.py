"""What every client command shares: the SDK client from the common configuration, ``--json`` output,
and the mapping from errors to exit codes.

Exit codes: 0 success, 1 run failed or cancelled (or another API error), 2 usage (bad arguments, or
a request the server rejected as invalid), 3 authentication, 4 insufficient credits, 5 server
unreachable. The SDK (httpx, pydantic) is imported inside the functions so ``pixelmill --help``
stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from pixelmill.client import Client

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_CREDITS = 4
EXIT_UNREACHABLE = 5

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only")]
OutputOption = Annotated[Path | None, typer.Option("-o", "--output", help="Where to write the result")]


def make_client() -> Client:
    from pixelmill.client import Client

    return Client()


def to_jsonable(value: Any) -> Any:
    """Pydantic models, lists of them and paths as plain JSON values."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, default=str) + "\n")
    sys.stdout.flush()


def emit(value: Any, as_json: bool, text: str) -> None:
    """A command's result: the value as JSON with ``--json``, otherwise the human line."""
    if as_json:
        print_json(value)
    else:
        typer.echo(text)


def fail(message: str, code: int, *, as_json: bool, details: dict[str, Any] | None = None) -> NoReturn:
    if as_json:
        print_json({"error": {**(details or {}), "message": message}})
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def errors_to_exit_codes(as_json: bool) -> Iterator[None]:
    """Turn SDK exceptions into a message and the documented exit code."""
    from pixelmill.client import errors

    try:
        yield
    except errors.AuthenticationError as exc:
        hint = " (set PIXELMILL_API_KEY or run `pixelmill login`)"
        fail(exc.message + hint, EXIT_AUTH, as_json=as_json, details=exc.details)
    except errors.InsufficientCredits as exc:
        available = exc.balance if exc.available is None else exc.available  # servers before `available`
        message = f"insufficient credits: available {available} (balance {exc.balance}), required {exc.required}"
        fail(message, EXIT_CREDITS, as_json=as_json, details=exc.details)
    except errors.ValidationFailed as exc:
        where = f" ({exc.field})" if exc.field else ""
        fail(f"{exc.code}: {exc.message}{where}", EXIT_USAGE, as_json=as_json, details=exc.details)
    except errors.PixelmillAPIError as exc:
        fail(f"{exc.code}: {exc.message}", EXIT_FAILED, as_json=as_json, details=exc.details)
    except errors.ConnectionFailed as exc:
        fail(str(exc), EXIT_UNREACHABLE, as_json=as_json, details={"code": "UNREACHABLE"})
    except errors.RunFailed as exc:
        fail(str(exc), EXIT_FAILED, as_json=as_json, details={"code": "RUN_" + exc.run.status.upper()})
    except TimeoutError as exc:
        fail(str(exc), EXIT_FAILED, as_json=as_json, details={"code": "TIMEOUT"})


def parse_assignments(items: list[str], *, dotted: bool) -> dict[str, Any]:
    """``key=value`` (or ``node.field=value`` when ``dotted``) pairs; values are JSON when they parse,
    else strings. Returns a flat dict, or node -> {field: value} when dotted."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not key=value", param_hint="--set")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        if dotted:
            node_id, dot, field = key.partition(".")
            if not dot or not node_id or not field:
                raise typer.BadParameter(f"{item!r} is not node.field=value", param_hint="--set")
            result.setdefault(node_id, {})[field] = value
        else:
            result[key] = value
    return result


def table(columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    grid = Table(*columns, box=None, pad_edge=False)
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    Console().print(grid)
