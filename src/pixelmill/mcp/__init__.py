"""The MCP server for AI assistants, built on the SDK.

- ``tools``: the fixed tools (generate_*, workflows, runs, credits) and the argument check;
- ``edit_tools``: an ``edit_<operation>`` tool per image-editing node type, from node schemas;
- ``media``, ``results``, ``errors``: images in and out, result content, messages for failures;
- ``server``: the tool set as an MCP server, and ``pixelmill mcp`` over stdio;
- ``http``: the same server at ``/mcp`` on the API (bearer key, streamable HTTP).
"""
