"""ImagineLab <-> the canonical generations, as pure functions (no database, no HTTP).

- ``model_name``: an ImagineLab name from ``Settings.imaginelab_models`` (``seedream-5.0-lite``),
  mapped to a pixelmill model or to its type's default model; pixelmill's own ids pass as they are.
- Statuses: ImagineLab knows pending, processing, completed and failed. A generation cancelled
  through the canonical API reads ``failed`` here, so a client polling "until completed or failed"
  (the documented loop) stops.
- Ids are the integer aliases the caller looked up; ``created_at`` is ISO 8601 in UTC to the second
  with ``Z``, as documented.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from pixelmill import errors
from pixelmill.api.dialects.imaginelab.schemas import (
    GenerationCreate,
    GenerationRecord,
    GenerationStatus,
    ModelEntry,
    StatusName,
)
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ModelInfo
from pixelmill.services.generation_graphs import GENERATION_TYPES, GenerationRequest
from pixelmill.services.generations import GenerationPublic

STATUS_NAMES: dict[str, StatusName] = {
    "pending": "pending",
    "processing": "processing",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "failed",
}


def timestamp(moment: datetime) -> str:
    """``2026-06-07T12:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def model_target(name: str | None, aliases: Mapping[str, str], catalogue: Sequence[str]) -> str | None:
    """The pixelmill model ``name`` runs, or None for the generation type's default model.

    400 for a name that is neither an ImagineLab name configured here nor a pixelmill model id.
    """
    if name is None or name in catalogue:
        return name
    target = aliases.get(name)
    if target is None:
        known = sorted({*aliases, *catalogue})
        raise PixelmillError(
            errors.VALIDATION_ERROR,
            f"Unknown model_name {name!r}; GET /api/v1/generations/models lists them: {', '.join(known)}",
            field="model_name",
        )
    return None if target in GENERATION_TYPES else target


def canonical_request(
    body: GenerationCreate, aliases: Mapping[str, str], catalogue: Sequence[str], project_id: str | None
) -> GenerationRequest:
    """The ``/v1/generations`` request an ImagineLab create is; ``project_id`` is the resolved ``prj_`` id."""
    return GenerationRequest(
        generation_type=body.generation_type,
        model_name=model_target(body.model_name, aliases, catalogue),
        prompt=body.prompt,
        settings=dict(body.settings),
        project_id=project_id,
    )


def record(
    view: GenerationPublic,
    *,
    number: int,
    user_number: int | None,
    project_number: int | None,
    model_name: str | None = None,
) -> GenerationRecord:
    """The ImagineLab record of a canonical generation; ``model_name`` is what the client sent, when known."""
    return GenerationRecord(
        id=number,
        user_id=user_number,
        generation_type=view.generation_type,
        model_name=model_name or view.model_name,
        prompt=view.prompt,
        status=STATUS_NAMES[view.status],
        credit_cost=view.credit_cost,
        created_at=timestamp(view.created_at),
        outputs=list(view.outputs),
        project_id=project_number,
        settings=dict(view.settings),
        error=view.error.message if view.error is not None else None,
    )


def status(view: GenerationPublic, number: int) -> GenerationStatus:
    return GenerationStatus(id=number, status=STATUS_NAMES[view.status], progress=view.progress)


def model_entries(
    models: Sequence[ModelInfo], aliases: Mapping[str, str], defaults: Mapping[str, str | None]
) -> list[ModelEntry]:
    """Every name a client may send: the configured ImagineLab names first, then pixelmill's models.

    An ImagineLab name whose target is not installed here is left out.
    """
    by_id = {m.id: m for m in models}
    entries: list[ModelEntry] = []
    for name, target in aliases.items():
        model_id = defaults.get(target) if target in GENERATION_TYPES else target
        info = by_id.get(model_id) if model_id is not None else None
        if info is not None:
            entries.append(_entry(name, info, default=False))
    default_ids = {model_id for model_id in defaults.values() if model_id is not None}
    entries.extend(_entry(m.id, m, default=m.id in default_ids) for m in models)
    return entries


def _entry(name: str, info: ModelInfo, *, default: bool) -> ModelEntry:
    return ModelEntry(
        name=name,
        generation_type=info.generation_type,
        credit_cost=info.cost,
        runs=info.id,
        default=default,
        description=info.description,
    )
