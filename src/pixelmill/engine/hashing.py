"""Canonical JSON and the hashes built on it: a node's inputs hash and its cache key.

Canonical means sorted keys, no whitespace, UTF-8 and no NaN/Infinity, so the same values always
give the same bytes on every machine and both databases can store them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON text; ValueError for NaN/Infinity, TypeError for non-JSON values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def inputs_hash(node_type: str, version: str, inputs: Mapping[str, Any]) -> str:
    """sha256 over the node's type, version and resolved inputs (JSON form, defaults filled in)."""
    payload = canonical_json({"type": node_type, "version": version, "inputs": dict(inputs)})
    return hashlib.sha256(payload.encode()).hexdigest()


def cache_key(scope: str, node_inputs_hash: str) -> str:
    """The node_cache key: the inputs hash inside one workspace.

    Scoping by workspace keeps a cache hit from handing one tenant references to another tenant's
    stored media (a generation node's outputs name file records of the workspace that made them).
    """
    return hashlib.sha256(f"{scope}\n{node_inputs_hash}".encode()).hexdigest()
