"""``pixelmill mcp``: the MCP server for AI assistants, over stdio.

An assistant starts it as a subprocess and speaks MCP on its stdin/stdout; the tools call a
pixelmill server through the SDK, configured like every client command (``PIXELMILL_API_KEY``,
``PIXELMILL_BASE_URL``, saved credentials, a local server's discovery file) or with imageat's
``IMAGEAT_API_KEY`` / ``IMAGEAT_BASE_URL``. The MCP SDK is imported inside the command so the rest
of the CLI starts without it.
"""

from __future__ import annotations

from typing import Annotated

import typer


def mcp_command(
    tool_prefix: Annotated[
        str | None,
        typer.Option(
            "--tool-prefix",
            envvar="PIXELMILL_MCP_TOOL_PREFIX",
            help="Put this before every tool name (imageat_ gives imageat_generate_image …); "
            "default: imageat_ when the key comes from IMAGEAT_API_KEY, else none",
        ),
    ] = None,
) -> None:
    """Serve the pixelmill tools to an AI assistant over MCP (stdio); configure with PIXELMILL_API_KEY."""
    import asyncio

    from pixelmill.mcp.server import check_prefix, configure_logging, serve_stdio

    if tool_prefix is not None:
        try:
            check_prefix(tool_prefix)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--tool-prefix") from None
    configure_logging()
    asyncio.run(serve_stdio(tool_prefix))
