"""The run event log, the live bus and SSE helpers."""
