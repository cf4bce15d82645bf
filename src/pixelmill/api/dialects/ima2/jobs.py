"""What the ima2 dialect keeps on each run it creates, so every ima2 view (the request's answer,
``/api/inflight``, ``/api/events``, ``/api/history``) reads the same record from the run itself.

The record lives in the run's metadata under ``"ima2"``; runs made through other APIs have none and
are not ima2 jobs (history still lists their files, with ``kind`` null).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pixelmill.db.models import Run

METADATA_KEY = "ima2"
JobKind = Literal["classic", "edit", "node", "multimode", "video"]


@dataclass(frozen=True, slots=True)
class Ima2Job:
    """One ima2 request as its client named it (camelCase fields are ima2's own wire names)."""

    requestId: str
    kind: JobKind
    prompt: str
    provider: str
    model: str | None = None
    quality: str | None = None
    size: str | None = None
    n: int = 1
    sessionId: str | None = None
    nodeId: str | None = None
    parentNodeId: str | None = None
    clientNodeId: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_metadata(self) -> dict[str, Any]:
        return {METADATA_KEY: asdict(self)}

    @classmethod
    def of(cls, run: Run) -> Ima2Job | None:
        """The job behind ``run``, or None for a run that did not come through ima2."""
        record = (run.run_metadata or {}).get(METADATA_KEY)
        if not isinstance(record, dict):
            return None
        return cls(**{name: record[name] for name in cls.__dataclass_fields__ if name in record})
