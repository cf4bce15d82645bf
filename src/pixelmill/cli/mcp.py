"""``pixelmill mcp``: the MCP server for AI assistants, over stdio.

An assistant starts it as a subprocess and speaks MCP on its stdin/stdout; the tools call a
pixelmill server through the SDK, configured like every client command (``PIXELMILL_API_KEY``,
``PIXELMILL_BASE_URL``, saved credentials, a local server's discovery file). The MCP SDK is imported
inside the command so the rest of the CLI starts without it.
"""

from __future__ import annotations


def mcp_command() -> None:
    """Serve the pixelmill tools to an AI assistant over MCP (stdio); configure with PIXELMILL_API_KEY."""
    import asyncio

    from pixelmill.mcp.server import configure_logging, serve_stdio

    configure_logging()
    asyncio.run(serve_stdio())
