"""The MCP server for AI assistants, built on the SDK."""
