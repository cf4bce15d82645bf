"""A small SSE reader for tests: frames off an httpx stream or raw bytes, and the run graphs they watch."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Frame:
    id: int | None
    event: str | None
    data: dict[str, Any] | None
    comment: str | None = None


def parse_frames(lines: Iterable[str]) -> Iterator[Frame]:
    """Frames from SSE lines (as ``httpx.Response.iter_lines`` yields them); comments become frames too."""
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if fields:
                yield Frame(
                    int(fields["id"]) if "id" in fields else None,
                    fields.get("event"),
                    json.loads(fields["data"]) if "data" in fields else None,
                )
            fields = {}
            continue
        if line.startswith(":"):
            yield Frame(None, None, None, comment=line[1:].strip())
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value
    if fields:
        yield Frame(int(fields["id"]) if "id" in fields else None, fields.get("event"), None)


def parse_bytes(raw: bytes) -> list[Frame]:
    return list(parse_frames(raw.decode(errors="replace").split("\n")))
