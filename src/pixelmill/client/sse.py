"""A decoder for ``text/event-stream``: ``id:``, ``event:``, ``data:`` lines, a blank line ends an
event, lines starting with ``:`` are comments (heartbeats). Data is JSON in pixelmill's streams."""

from __future__ import annotations

import json
from typing import Any

from pixelmill.client.models import RunEvent


class SSEDecoder:
    """Feed it lines one at a time (without their line ending); it returns an event on each blank line."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self.last_event_id: str | None = None

    def feed(self, line: str) -> RunEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> RunEvent | None:
        if not self._data and not self._event:
            return None
        raw = "\n".join(self._data)
        data: dict[str, Any]
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"raw": raw}
        data = parsed if isinstance(parsed, dict) else {"value": parsed}
        name = self._event or str(data.get("event") or "message")
        if self._id is not None:
            self.last_event_id = self._id
        event = RunEvent(id=self._id, event=name, data=data)
        self._event, self._data, self._id = "", [], None
        return event
