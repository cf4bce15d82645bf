"""What an ima2 generation body says once checked: the options every generation route shares.

ima2's bodies are free-form JSON that its server reads field by field (strings for numbers,
unknown qualities defaulted with a warning), so the routes take the JSON object and
:mod:`.translate` checks each field into these values, with ima2's codes for what it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Options:
    """The fields classic, edit, multimode and node requests share, checked."""

    request_id: str
    quality: str
    moderation: str
    size: str
    prompt_mode: str
    reasoning_effort: str | None = None
    web_search: bool = False
    session_id: str | None = None
    client_node_id: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
