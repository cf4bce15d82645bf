"""Run outputs on stable paths: ``GET /v1/outputs/runs/{run_id}/{node_id}.{ext}``
(``{node_id}.{index}.{ext}`` for each image of an ``images`` output), and the same bytes at
``GET /runs/{run_id}/{node_id}.{ext}``, the form imageat documents for its CDN URLs (a run's ``url``).

A request needs either the signed query a run view put on the URL (``?expires=&sig=``; a browser can
follow it without a credential) or a bearer credential of the run's workspace. The bytes come from
the blob store by content hash, with the media type recorded when the node saved them. An unknown,
deleted or another workspace's run, a name it has no output for and a forged link all get one
answer, so an id says nothing about what another workspace has. ``?preview=true`` answers an image
output's preview (at most 256 px; the signature covers the path, so a signed link takes it too).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from pixelmill import errors
from pixelmill.api.deps import RuntimeDep
from pixelmill.api.openapi import BEARER_OR_SIGNED_LINK, error_responses
from pixelmill.api.signed_links import principal_or_link
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.output_previews import OutputPreviews
from pixelmill.services.run_outputs import extension, output_refs, parse_output_name

router = APIRouter(tags=["outputs"])


def _not_found(run_id: str, name: str) -> PixelmillError:
    return PixelmillError(errors.NOT_FOUND, f"Run {run_id} has no output {name}", run_id=run_id)


_RESPONSES = error_responses(errors.INSUFFICIENT_SCOPE, errors.FORBIDDEN)
Expires = Annotated[int | None, Query(description="Expiry of a signed link (unix seconds)")]
Sig = Annotated[str | None, Query(description="Signature of a signed link")]
Preview = Annotated[
    bool, Query(description="An image output's preview, at most 256 px (JPEG, or WebP with transparency)")
]
_previews = OutputPreviews()


@router.get(
    "/v1/outputs/runs/{run_id}/{name}",
    operation_id="get_run_output",
    response_class=Response,
    openapi_extra=BEARER_OR_SIGNED_LINK,
    responses=_RESPONSES,
)
async def get_run_output(
    run_id: str,
    name: str,
    request: Request,
    runtime: RuntimeDep,
    expires: Expires = None,
    sig: Sig = None,
    preview: Preview = False,
) -> Response:
    """The output's bytes (image, video or audio)."""
    path = f"/v1/outputs/runs/{run_id}/{name}"
    return await _serve(request, runtime, run_id, name, path, expires, sig, preview=preview)


@router.get(
    "/runs/{run_id}/{name}",
    operation_id="get_run_output_stable",
    response_class=Response,
    openapi_extra=BEARER_OR_SIGNED_LINK,
    responses=_RESPONSES,
)
async def get_run_output_stable(
    run_id: str,
    name: str,
    request: Request,
    runtime: RuntimeDep,
    expires: Expires = None,
    sig: Sig = None,
    preview: Preview = False,
) -> Response:
    """The output's bytes at the URL a run read shows as ``url``: the same for as long as the run
    keeps its outputs (its plan's retention), read with a key of the run's workspace."""
    return await _serve(request, runtime, run_id, name, f"/runs/{run_id}/{name}", expires, sig, preview=preview)


async def _serve(
    request: Request,
    runtime: Runtime,
    run_id: str,
    name: str,
    path: str,
    expires: int | None,
    sig: str | None,
    *,
    preview: bool,
) -> Response:
    missing = _not_found(run_id, name)
    principal = await principal_or_link(request, runtime, path, expires, sig, missing=missing)
    if principal is not None:
        principal.require_scope("runs")
    parsed = parse_output_name(name)
    if parsed is None:
        raise missing
    async with runtime.db.sessions() as session:
        run = await session.get(Run, run_id)
    foreign = principal is not None and run is not None and run.workspace_id != principal.workspace_id
    if run is None or run.deleted_at is not None or foreign:
        raise missing
    output = (run.outputs or {}).get(parsed.node_id)
    refs = output_refs(output) if output is not None else []
    multiple = output is not None and output.get("type") == "images"
    if (parsed.index is not None) != multiple:
        raise missing
    index = parsed.index or 0
    if index >= len(refs) or extension(refs[index].get("mime")) != parsed.ext:
        raise missing
    ref = refs[index]
    sha256 = ref.get("sha256")
    try:
        data = await runtime.blobs.get(str(sha256))
    except KeyError:
        raise PixelmillError(errors.NOT_FOUND, "The output's content is missing from storage", run_id=run_id) from None
    mime = str(ref.get("mime") or "application/octet-stream")
    etag = f'"{sha256}"'
    if preview and mime.startswith("image/"):
        data, mime = await _previews.preview(str(sha256), data, runtime.settings.max_image_pixels)
        etag = f'"{sha256}-preview"'
    return Response(
        content=data,
        media_type=mime,
        headers={
            "Cache-Control": f"private, max-age={runtime.settings.signed_url_ttl_seconds}",
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
        },
    )
