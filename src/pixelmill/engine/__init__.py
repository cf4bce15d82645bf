"""The graph engine: graph model and validation, node registry, executor."""
