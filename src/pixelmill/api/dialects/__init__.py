"""The foreign APIs pixelmill speaks, one package each, and the list the app serves.

Each package holds its wire schemas, pure translation functions and thin routes; what they all need
(error envelopes, SSE framing, id aliases) lives in :mod:`pixelmill.api.dialects.common`.
"""
