"""imagerift's wire format: the job request, the queued answer exactly as documented, the job view
and the error body (camelCase field names, as the document spells them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pixelmill.wire import RequestModel

Mode = Literal["style", "variations", "avatar", "enhance"]
ExportSize = Literal["base", "2k", "4k"]
OutputAspect = Literal["source", "1:1", "4:5", "5:4", "3:4", "4:3", "2:3", "3:2", "16:9", "9:16", "21:9"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]


class GenerateBody(RequestModel):
    """``POST /api/v1/generate``; unknown fields are ignored, as a JSON API's server usually does."""

    model_config = ConfigDict(extra="ignore")

    mode: Mode = Field(description="style, variations, avatar or enhance")
    imageBase64: str | None = Field(default=None, description="The source image: base64 or a data: URL")
    imageKey: str | None = Field(default=None, max_length=64, description="The source: a stored file (file_…)")
    sourceGenerationId: str | None = Field(
        default=None, max_length=64, description="The source: an earlier job's output (its jobId)"
    )
    prompt: str = Field(default="", max_length=4000, description="What the result should look like")
    style: str | None = Field(
        default=None,
        max_length=40,
        description="style and avatar: the look (avatar: anime, soft_3d or oil_paint); default from the prompt",
    )
    exportSize: ExportSize = Field(default="base", description="base (1024), 2k (2048) or 4k (4096) long side")
    outputAspect: OutputAspect = Field(default="source", description="source keeps the source's aspect ratio")


class Quota(BaseModel):
    """The credits behind a job: ``remaining`` is the wallet's balance (nothing of this job is
    charged yet), ``remainingAfterQueue`` what is left once every queued job, this one included,
    is reserved."""

    source: Literal["plan", "sandbox"]
    scope: Literal["team", "user"]
    remaining: int
    charged: Literal[False] = False
    remainingAfterQueue: int
    chargedOnSuccess: Literal[True] = True


class RateLimit(BaseModel):
    remainingThisMinute: int


class Queued(BaseModel):
    """The documented answer to ``POST /api/v1/generate``, field for field."""

    jobId: str
    status: Literal["queued"] = "queued"
    statusUrl: str
    requestId: str
    quota: Quota
    rateLimit: RateLimit


class JobError(BaseModel):
    code: str
    message: str


class Job(BaseModel):
    """``GET /api/v1/jobs/{jobId}``. ``downloadUrl`` (the first image) and ``downloadUrls`` (all of
    them: five for variations) are signed links that expire at ``downloadExpiresAt``; read the job
    again for fresh ones."""

    jobId: str
    status: JobStatus
    mode: str
    progress: int = Field(ge=0, le=100)
    exportSize: str
    outputAspect: str
    model: str = Field(description="What ran the job: local/cv (the built-in CPU styles) or an upstream model")
    createdAt: str
    completedAt: str | None
    downloadUrl: str | None
    downloadUrls: list[str]
    downloadExpiresAt: str | None
    credits: int = Field(description="Reserved while unfinished; charged once succeeded (0 otherwise)")
    error: JobError | None


def error_body(code: str, message: str, extra: dict[str, Any]) -> dict[str, Any]:
    """``{"error": {"code", "message", …}}``; the envelope adds ``requestId``."""
    return {"error": {"code": code, "message": message, **extra}}
