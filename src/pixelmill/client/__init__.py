"""The Python SDK used by the CLI, the MCP server and users."""
