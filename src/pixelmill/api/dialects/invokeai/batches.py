"""A batch's ``data`` expanded into sessions exactly as InvokeAI does (``create_session_nfv_tuples``).

Each datum is one field of one node with a list of values. The datums of one inner list advance
together (zipped strictly); the inner lists combine as a cartesian product, the first one varying
slowest; the whole product repeats ``runs`` times, runs outermost. Without data a batch is ``runs``
copies of the graph. Pure functions: no I/O, unit-tested directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

from pixelmill.api.dialects.invokeai.schemas import BatchDatum


@dataclass(frozen=True, slots=True)
class FieldValue:
    """One value written into ``graph.nodes[node_path][field_name]`` for one session."""

    node_path: str
    field_name: str
    value: Any

    def as_wire(self) -> dict[str, Any]:
        """InvokeAI's NodeFieldValue, as items show it in ``field_values``."""
        return {"node_path": self.node_path, "field_name": self.field_name, "value": self.value}


def session_count(data: Sequence[Sequence[BatchDatum]] | None, runs: int) -> int:
    """How many sessions the batch makes: runs times the product of each inner list's first datum's length."""
    if not data:
        return runs
    return runs * prod(len(inner[0].items) if inner else 0 for inner in data)


def session_field_values(
    data: Sequence[Sequence[BatchDatum]] | None, runs: int, limit: int | None = None
) -> Iterator[list[FieldValue]]:
    """The field values of each session, in InvokeAI's order; at most ``limit`` sessions (InvokeAI
    drops the sessions over its queue's free room the same way, without an error)."""
    sessions = _all_sessions(data, runs)
    return itertools.islice(sessions, limit) if limit is not None else sessions


def _all_sessions(data: Sequence[Sequence[BatchDatum]] | None, runs: int) -> Iterator[list[FieldValue]]:
    if not data:
        for _ in range(runs):
            yield []
        return
    zipped = [_zip_inner(inner) for inner in data]
    for _ in range(runs):
        for combination in itertools.product(*zipped):
            yield [value for group in combination for value in group]


def _zip_inner(inner: Sequence[BatchDatum]) -> list[list[FieldValue]]:
    """One inner list as its rows: row i holds item i of every datum (lengths are checked on input)."""
    columns = [[FieldValue(d.node_path, d.field_name, item) for item in d.items] for d in inner]
    return [list(row) for row in zip(*columns, strict=True)]


def apply_field_values(nodes: dict[str, dict[str, Any]], values: Sequence[FieldValue]) -> dict[str, dict[str, Any]]:
    """A copy of the graph's nodes with each value written directly into its node's field."""
    copied = {node_id: dict(node) for node_id, node in nodes.items()}
    for value in values:
        copied[value.node_path][value.field_name] = value.value
    return copied
