"""The Python SDK used by the CLI, the MCP server and users.

::

    from pixelmill.client import Client

    with Client() as client:  # PIXELMILL_API_KEY / PIXELMILL_BASE_URL, or the saved local credentials
        generation = client.generations.create("image", "a lighthouse at dusk", wait=60)
        client.files.download(generation.outputs[0], Path("lighthouse.png"))

Errors are typed (``pixelmill.client.errors``); ``pixelmill.client.testing.MockServer`` lets you test
code that uses the SDK without a server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pixelmill.client._sync import Client
from pixelmill.client.config import ClientConfig, resolve
from pixelmill.client.errors import (
    AuthenticationError,
    ClientError,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    InsufficientCredits,
    NotFound,
    PermissionDenied,
    PixelmillAPIError,
    RateLimited,
    RunFailed,
    ServerError,
    ValidationFailed,
)
from pixelmill.client.retry import RetryPolicy

if TYPE_CHECKING:
    from pixelmill.client._async import AsyncClient

__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ClientConfig",
    "ClientError",
    "ConfigurationError",
    "Conflict",
    "ConnectionFailed",
    "InsufficientCredits",
    "NotFound",
    "PermissionDenied",
    "PixelmillAPIError",
    "RateLimited",
    "RetryPolicy",
    "RunFailed",
    "ServerError",
    "ValidationFailed",
    "resolve",
]


def __getattr__(name: str) -> Any:
    """``AsyncClient`` on first use: the CLI's commands are synchronous and need not import asyncio."""
    if name == "AsyncClient":
        from pixelmill.client._async import AsyncClient

        return AsyncClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
