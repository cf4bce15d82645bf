"""Settings: ``PIXELMILL_*`` environment variables, an optional TOML file, then the defaults below.

Precedence, highest first: arguments to ``Settings(...)`` (the CLI's flags), environment variables,
the TOML file named by ``PIXELMILL_CONFIG_FILE``, defaults. Nested values take ``__`` in env names
(``PIXELMILL_PLANS__PRO__REQUESTS_PER_MINUTE=60``). ``docs/settings.md`` is generated from the
field descriptions here (``pixelmill config --markdown``) and a test keeps the two identical.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ExportSize = Literal["base", "2k", "4k", "8k"]

# An operator's model alias is a plain name; its target a real ``provider/model`` id (never another alias).
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/\S+")

EXPORT_SIZE_MAX_SIDE: dict[str, int] = {"base": 1024, "2k": 2048, "4k": 4096, "8k": 8192}

_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")


class Plan(BaseModel):
    """What a workspace on this plan may do. Plans live in configuration, not the database."""

    api_access: bool = Field(description="Whether API keys may be created")
    requests_per_minute: int = Field(ge=1, description="Requests per minute per principal")
    concurrent_runs: int = Field(ge=1, description="Runs executing at once per workspace")
    max_queued_runs: int = Field(ge=1, description="Queued runs per workspace before 429 TOO_MANY_JOBS")
    priority: int = Field(ge=0, le=10, description="Queue priority; higher runs first")
    max_export_size: ExportSize = Field(description="Largest output size class")
    monthly_credits: int = Field(ge=0, description="Credits granted at the start of each month")
    retention_days: int = Field(default=30, ge=1, description="How long finished runs and outputs are kept")


def default_plans() -> dict[str, Plan]:
    """The built-in plans; pro and business rates follow the imagerift document (30/min, 120/min)."""
    return {
        "free": Plan(
            api_access=False,
            requests_per_minute=10,
            concurrent_runs=1,
            max_queued_runs=10,
            priority=0,
            max_export_size="base",
            monthly_credits=50,
        ),
        "starter": Plan(
            api_access=False,
            requests_per_minute=20,
            concurrent_runs=2,
            max_queued_runs=25,
            priority=1,
            max_export_size="base",
            monthly_credits=500,
        ),
        "pro": Plan(
            api_access=True,
            requests_per_minute=30,
            concurrent_runs=4,
            max_queued_runs=100,
            priority=5,
            max_export_size="2k",
            monthly_credits=3000,
        ),
        "business": Plan(
            api_access=True,
            requests_per_minute=120,
            concurrent_runs=8,
            max_queued_runs=500,
            priority=7,
            max_export_size="4k",
            monthly_credits=15000,
            retention_days=90,
        ),
        "operator": Plan(
            api_access=True,
            requests_per_minute=100_000,
            concurrent_runs=64,
            max_queued_runs=100_000,
            priority=10,
            max_export_size="8k",
            monthly_credits=1_000_000,
            retention_days=365,
        ),
    }


class CreditPackage(BaseModel):
    """A purchasable bundle of credits, listed by ``GET /v1/credits/packages``."""

    id: str
    name: str
    credits: int = Field(ge=1)
    price_cents: int = Field(ge=0)
    currency: str = "USD"


def default_credit_packages() -> list[CreditPackage]:
    return [
        CreditPackage(id="pkg_small", name="Starter pack", credits=500, price_cents=500),
        CreditPackage(id="pkg_medium", name="Studio pack", credits=2500, price_cents=2000),
        CreditPackage(id="pkg_large", name="Production pack", credits=12000, price_cents=8000),
    ]


def is_loopback_host(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("pixelmill", appauthor=False))


class Settings(BaseSettings):
    """Every knob of a pixelmill process. See docs/settings.md for the generated table."""

    model_config = SettingsConfigDict(
        env_prefix="PIXELMILL_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    # Where it lives
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Directory for the embedded database, blobs and the generated secret",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy async URL; default SQLite in data_dir, which serve migrates itself (`postgresql+psycopg://…` "
            "for PostgreSQL); a configured database is migrated with `pixelmill migrate`"
        ),
    )
    storage_url: str | None = Field(
        default=None,
        description="Blob store: `file://<directory>` or `s3://<bucket>/<prefix>`; default `file://<data_dir>/blobs`",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="Endpoint of an S3-compatible server (MinIO, Ceph…); unset uses AWS"
    )
    s3_region: str | None = Field(default=None, description="Region of the S3 bucket")
    s3_access_key_id: str | None = Field(
        default=None, description="S3 access key id; unset uses boto3's own chain (environment, instance role)"
    )
    s3_secret_access_key: SecretStr | None = Field(default=None, description="S3 secret access key")
    redis_url: str | None = Field(
        default=None, description="Redis for rate limits, locks and live events across processes"
    )
    events_channel: str = Field(
        default="pixelmill:events",
        min_length=1,
        description=(
            "Redis pub/sub channel of live run events; pub/sub ignores the database number of redis_url, "
            "so deployments sharing one Redis need distinct channels"
        ),
    )

    # HTTP
    host: str = Field(default="127.0.0.1", description="Address `pixelmill serve` binds")
    port: int = Field(default=8700, ge=1, le=65535, description="Port `pixelmill serve` binds")
    anonymous_loopback: bool = Field(
        default=False,
        description=(
            "Single-user mode, as InvokeAI and ima2 run by default: a request with no credentials acts as the "
            "operator's workspace. Honoured only for loopback peers, and refused unless `host` is a loopback address"
        ),
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL clients use to reach this server (for output links); default http://host:port",
    )
    max_request_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted; larger ones get 413 before they are read whole",
    )
    max_json_depth: int = Field(
        default=64,
        ge=8,
        description="Deepest nesting of objects and arrays in a JSON request body; deeper is 422 JSON_TOO_DEEP",
    )
    max_free_json_bytes: int = Field(
        default=16 * 1024,
        ge=256,
        description=(
            "Largest free-form JSON field (run metadata, generation settings) serialised; larger is 413 "
            "JSON_TOO_LARGE (graphs have their own limit, max_graph_payload_bytes)"
        ),
    )
    max_free_json_depth: int = Field(
        default=32, ge=1, description="Deepest nesting inside one free-form JSON field; deeper is 422 JSON_TOO_DEEP"
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (none by default)")

    # Secrets and auth
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key for JWTs and signed URLs; default generated once into data_dir/secret_key (mode 0600)",
    )
    jwt_ttl_seconds: int = Field(default=3600, ge=60, description="Lifetime of access tokens from /v1/auth/login")
    password_reset_ttl_seconds: int = Field(default=3600, ge=60, description="Lifetime of a password reset token")
    sign_in_link_ttl_seconds: int = Field(
        default=86400,
        ge=60,
        description="Lifetime of the one-time console sign-in link a loopback server prints on its first start",
    )
    invitation_ttl_seconds: int = Field(default=7 * 86400, ge=60, description="Lifetime of a workspace invitation")
    login_failures_per_window: int = Field(
        default=5, ge=1, description="Failed logins per email and client address before 429 LOGIN_THROTTLED"
    )
    login_failure_window_seconds: int = Field(default=900, ge=1, description="Window for counting failed logins")
    auth_cache_ttl_seconds: float = Field(
        default=10.0,
        ge=0,
        description=(
            "How long a process remembers who an API key or token belongs to; a revocation made in another "
            "process takes up to this long to apply here (0 turns the cache off)"
        ),
    )
    key_rotation_grace_seconds: float = Field(
        default=86400.0,
        ge=0,
        description=(
            "After an API key is rotated, how long the old key keeps working beside its replacement, so clients "
            "can switch without downtime (0: it stops at once; revoking ends it at once regardless)"
        ),
    )
    rate_limit_key_prefix: str = Field(
        default="pixelmill",
        min_length=1,
        description="Prefix of rate limit counters, so deployments can share one Redis",
    )
    console_requests_per_minute: int = Field(
        default=600,
        ge=1,
        description=(
            "Requests per minute of a signed-in console session, when above its plan's rate (counted apart from "
            "API calls): the console validates a graph as it is edited and loads lists and previews, which the "
            "plans' API rates cannot carry. Spending stays bounded by credits and the plan's run limits"
        ),
    )
    signup_enabled: bool = Field(default=True, description="Whether POST /v1/auth/signup is open")
    signup_plan: str = Field(default="free", description="Plan given to the personal workspace of a new account")
    signup_credits: int = Field(default=100, ge=0, description="Credits granted to a new personal workspace")

    # Plans, credits
    plans: dict[str, Plan] = Field(
        default_factory=default_plans, description="Plans by name (free, starter, pro, business, operator)"
    )
    plan_credits_enabled: bool = Field(
        default=True, description="Grant each workspace its plan's monthly credits once per calendar month (UTC)"
    )
    plan_credit_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often the API looks for workspaces due their monthly credits"
    )
    retention_enabled: bool = Field(
        default=True,
        description="Sweep finished runs past their plan's retention_days and purge tombstones in the API process",
    )
    retention_sweep_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often the API sweeps expired runs and tombstones"
    )
    run_restore_window_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="How long a deleted run can be restored (POST /v1/runs/{id}/restore) before it is purged",
    )
    credit_packages: list[CreditPackage] = Field(
        default_factory=default_credit_packages, description="Credit packages listed by /v1/credits/packages"
    )
    imaginelab_models: dict[str, str] = Field(
        default_factory=lambda: {"seedream-5.0-lite": "image"},
        description="ImagineLab model names (model_name at /api/v1/generations) and what each runs: a model id "
        "(provider/model) or a generation type (image, video, voice, music, infographic, text) for that "
        "type's default model; pixelmill's own model ids are accepted too",
    )
    imagerift_mode_models: dict[Literal["style", "variations", "avatar", "enhance"], str] = Field(
        default_factory=dict,
        description="The upstream image-to-image model (provider/model, e.g. openai/gpt-image-1) that runs each "
        "imagerift mode (style, variations, avatar, enhance) at /api/v1/generate; a mode not named here, or "
        "whose model a workspace cannot use, runs on the built-in CPU styles (local/cv)",
    )

    # Mail
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for password reset and invitation mail; unset writes the link to the log",
    )
    smtp_port: int = Field(default=587, description="SMTP port")
    smtp_username: str | None = Field(default=None, description="SMTP user")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_starttls: bool = Field(default=True, description="Use STARTTLS")
    mail_from: str = Field(default="pixelmill@localhost", description="Sender address of outgoing mail")

    # Media and outbound fetches
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1, description="Largest file upload")
    max_image_pixels: int = Field(
        default=50_000_000,
        ge=1,
        description="Largest decoded image (width x height); more is IMAGE_TOO_LARGE",
    )
    max_edit_pixels: int = Field(
        default=4096 * 3072,
        ge=1,
        description=(
            "Largest image (width x height) an image editing node decodes; more is IMAGE_TOO_LARGE. "
            "The default, 4096 x 3072, keeps the costliest edit within the default memory budget of a "
            "4 GiB machine (measured working sets: nodes/image_memory.py)"
        ),
    )
    memory_budget_bytes: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Working memory the nodes running in one process may reserve at once (their estimates); "
            "unset is `memory_budget_fraction` of the machine's memory (or of the container's limit)"
        ),
    )
    memory_budget_fraction: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of the machine's memory that is the memory budget when `memory_budget_bytes` is unset",
    )
    signed_url_ttl_seconds: int = Field(default=3600, ge=1, description="Lifetime of signed output and file URLs")
    allow_private_urls: bool = Field(
        default=False,
        description="Allow outbound fetches and webhooks to private, loopback and link-local addresses",
    )
    fetch_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1, description="Largest body fetched from a remote URL")
    fetch_timeout_seconds: float = Field(default=15.0, gt=0, description="Timeout of an outbound fetch")

    # MCP
    mcp_tool_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_.-]{0,32}$",
        description="Put before every tool name of the MCP endpoint at /mcp (imageat_ gives imageat_generate_image …)",
    )

    # Webhooks
    webhook_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Timeout of one webhook delivery attempt (no redirects are followed)"
    )
    webhook_retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0],
        description=(
            "Delays before each retry of a failed webhook delivery (Standard Webhooks schedule, jittered; "
            "a longer Retry-After wins); when they run out the delivery is dead"
        ),
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often the webhook delivery loop looks for due deliveries"
    )
    webhook_concurrency: int = Field(default=16, ge=1, description="Webhook deliveries sent at once by one process")
    webhook_secret_overlap_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="After a webhook secret rotation, how long the previous secret keeps signing beside the new one",
    )
    webhook_delivery_enabled: bool = Field(default=True, description="Run the webhook delivery loop in the API process")
    webhook_signature_headers: list[str] = Field(
        default_factory=lambda: ["X-Pixelmill-Signature", "X-Imageat-Signature"],
        description=(
            "Headers that carry the `t=<unix>,v1=<hex>` signature of each webhook request (imageat's scheme; "
            "the Standard Webhooks headers are always sent too)"
        ),
    )

    # Run events and live streams
    events_retention_days: float = Field(
        default=7.0, gt=0, description="How long run events are kept for replay (Last-Event-ID) before they are purged"
    )
    sse_max_listeners: int = Field(
        default=512, ge=1, description="Event streams open at once per process; more are refused with 503 SSE_CAPACITY"
    )
    sse_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="Interval of the `: ping` comment on an idle event stream"
    )
    sse_listener_buffer: int = Field(
        default=256,
        ge=1,
        description="Events queued for one stream that is not reading; a stream that falls this far behind is closed",
    )
    events_progress_per_second: float = Field(
        default=4.0, gt=0, description="Most node_progress events written per second for one node"
    )

    # Graphs and execution
    max_graph_nodes: int = Field(default=256, ge=1, description="Most nodes in one graph")
    max_graph_edges: int = Field(default=1024, ge=0, description="Most edges in one graph")
    max_graph_payload_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="Largest serialised graph")
    dispatch: Literal["local", "celery"] = Field(
        default="local", description="Where runs execute: in-process or on Celery workers"
    )
    worker_concurrency: int = Field(default=8, ge=1, description="Runs executed at once by one process")
    dispatch_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="How often the local dispatcher looks for queued runs besides being woken by a create",
    )
    lease_seconds: float = Field(
        default=60.0,
        ge=1,
        description="How long a claimed run stays leased without a heartbeat before another process may take it over",
    )
    shutdown_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description="On shutdown, how long running nodes may finish before their runs are put back in the queue",
    )
    max_run_attempts: int = Field(
        default=5,
        ge=1,
        description="Claims of one run (crash recoveries included) before it is failed rather than tried again",
    )
    broker_url: str | None = Field(
        default=None,
        description="Celery broker when `dispatch` is `celery`: `redis://…` or `amqp://…` (RabbitMQ)",
    )
    run_time_limit_seconds: int = Field(
        default=3600,
        ge=10,
        description=(
            "Longest a fleet worker executes one run: past it the worker cancels the run's execution and stops "
            "heartbeating it, so its lease lapses and the sweeper re-queues it (finished nodes stay, up to "
            "max_run_attempts); Redis's visibility timeout is set 300 s above it"
        ),
    )
    sweep_seconds: float = Field(
        default=15.0,
        gt=0,
        description=(
            "How often the fleet sweeper (one elected worker) re-queues runs whose lease expired and republishes "
            "queued runs no worker took"
        ),
    )
    republish_after_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "A run queued this long without being claimed is published again by the sweeper, and again after "
            "each further interval this long while it stays queued"
        ),
    )

    # Local diffusion models (the `diffusers` extra); weights are never downloaded at run time
    diffusers_models: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Diffusers pipelines by name, served as model `diffusers/<name>`: a local directory saved with "
            "save_pretrained, or a Hugging Face repo id already in the local cache (read with offline mode forced)"
        ),
    )
    diffusers_steps: int = Field(default=30, ge=1, le=200, description="Denoising steps per diffusers image")
    diffusers_guidance_scale: float = Field(
        default=7.5, ge=0, le=30, description="Classifier-free guidance scale of diffusers pipelines"
    )
    diffusers_device: Literal["auto", "cuda", "mps", "cpu"] = Field(
        default="auto", description="Device for diffusers pipelines; auto picks cuda, then mps, then cpu"
    )
    diffusers_cache_dir: Path | None = Field(
        default=None, description="Hugging Face cache that repo ids in diffusers_models are read from; default HF's own"
    )

    # Upstream providers (an upstream's key is read from its own environment variable as well)
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("openai_api_key", "pixelmill_openai_api_key"),
        description=(
            "OpenAI API key, also read from `OPENAI_API_KEY`; with it the `openai/*` image, text and speech models "
            "are listed and usable"
        ),
    )
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        description="Base URL of the OpenAI API (trusted: an operator setting, may be a loopback server)",
    )
    xai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("xai_api_key", "pixelmill_xai_api_key"),
        description="xAI API key, also read from `XAI_API_KEY`; with it the `xai/*` image models are listed and usable",
    )
    xai_base_url: str = Field(
        default="https://api.x.ai/v1",
        description="Base URL of the xAI API (trusted: an operator setting, may be a loopback server)",
    )
    replicate_api_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("replicate_api_token", "pixelmill_replicate_api_token"),
        description=(
            "Replicate API token, also read from `REPLICATE_API_TOKEN`; with it `replicate/<owner>/<name>` models "
            "run by name"
        ),
    )
    replicate_base_url: str = Field(
        default="https://api.replicate.com/v1",
        description="Base URL of the Replicate API (trusted: an operator setting, may be a loopback server)",
    )
    replicate_wait_seconds: int = Field(
        default=60,
        ge=1,
        le=60,
        description="How long Replicate holds a new prediction open (`Prefer: wait=N`) before pixelmill polls it",
    )
    replicate_poll_seconds: float = Field(
        default=1.0, gt=0, description="Interval between polls of a Replicate prediction that is not finished"
    )
    fal_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("fal_key", "pixelmill_fal_key"),
        description="fal API key, also read from `FAL_KEY`; with it `fal/<owner>/<app>` models run by name",
    )
    fal_base_url: str = Field(
        default="https://queue.fal.run",
        description="Base URL of fal's queue API (trusted: an operator setting, may be a loopback server)",
    )
    fal_poll_seconds: float = Field(
        default=1.0, gt=0, description="Interval between status polls of a queued fal request"
    )
    upstream_job_timeout_seconds: float = Field(
        default=900.0,
        gt=0,
        description=(
            "How long a queued upstream job (a Replicate prediction, a fal request) may run before it is "
            "cancelled upstream and the node fails UPSTREAM_TIMEOUT"
        ),
    )
    xai_video_poll_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How often an xAI video job is asked whether it is done"
    )
    xai_video_timeout_seconds: float = Field(
        default=600.0, gt=0, description="How long an xAI video job may take before the node fails UPSTREAM_TIMEOUT"
    )
    gemini_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("gemini_api_key", "pixelmill_gemini_api_key"),
        description=(
            "Gemini API key, also read from `GEMINI_API_KEY`; with it the `gemini/*` image models are listed and usable"
        ),
    )
    gemini_base_url: str = Field(
        default="https://generativelanguage.googleapis.com/v1beta",
        description="Base URL of the Gemini API (trusted: an operator setting, may be a loopback server)",
    )
    vertex_service_account_json: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("vertex_service_account_json", "pixelmill_vertex_service_account_json"),
        description=(
            "Google Cloud service-account key for Vertex AI, also read from `VERTEX_SERVICE_ACCOUNT_JSON`: "
            "a path to the JSON file or the JSON itself; with it the `vertex/*` image models are listed and usable"
        ),
    )
    vertex_project: str | None = Field(
        default=None, description="Vertex AI project id; default the service-account JSON's project_id"
    )
    vertex_location: str = Field(
        default="global",
        pattern=r"^[a-z0-9-]+$",
        description="Vertex AI location: global (host aiplatform.googleapis.com) or a region such as us-central1",
    )
    vertex_base_url: str | None = Field(
        default=None,
        description=(
            "Base URL of the Vertex AI API, replacing the one made from vertex_location "
            "(`https://{location}-aiplatform.googleapis.com/v1`; trusted: an operator setting)"
        ),
    )
    openai_compatible_url: str | None = Field(
        default=None,
        description=(
            "Base URL of an OpenAI-compatible server (Ollama `http://127.0.0.1:11434/v1`, vLLM, LM Studio); "
            "with it the `openai-compatible/*` models are listed and usable (trusted: an operator setting)"
        ),
    )
    openai_compatible_api_key: SecretStr | None = Field(
        default=None, description="Key for the OpenAI-compatible server, sent as a bearer token; most need none"
    )
    openai_compatible_models: list[str] = Field(
        default_factory=list,
        description=(
            'Text models of the OpenAI-compatible server, e.g. `["llama3.2"]`; empty: those its '
            "`GET /models` lists when the server starts"
        ),
    )
    openai_compatible_image_models: list[str] = Field(
        default_factory=list,
        description="Models of the OpenAI-compatible server that draw images through `/images/generations`",
    )
    openai_compatible_vision_models: list[str] = Field(
        default_factory=list,
        description=(
            "Text models of the OpenAI-compatible server that read images (e.g. `llava`, `qwen2.5vl`): "
            "chat messages with image parts are sent to them; other text models refuse images"
        ),
    )
    model_credit_costs: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Credits per output of a model id, replacing its catalogue price for the model nodes "
            "(image.generate, image.edit, image.inpaint, text.generate, text.enhance_prompt, audio.speech; "
            "for a video model, per second of video.generate), "
            'e.g. `{"openai/gpt-image-1" = 20}`'
        ),
    )
    model_aliases: dict[str, str] = Field(
        default_factory=dict,
        description=(
            'Operator names for models, e.g. `{"image-default" = "openai/gpt-image-1"}`: a run or generation '
            "naming the alias runs its target and is stored and shown with the target's id; `GET /v1/models` "
            "lists each alias on its target. An alias is a plain name (no `/`, so it never shadows a model id); "
            "a target that is not configured when a run names the alias is 422"
        ),
    )
    openai_partial_images: int = Field(
        default=0,
        ge=0,
        le=3,
        description="Partial images a gpt-image call streams (each reported as node progress); 0 does not stream",
    )
    upstream_timeout_seconds: float = Field(
        default=180.0, gt=0, description="Read timeout of one upstream call (image models take a minute or more)"
    )
    upstream_connect_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Connect timeout of one upstream call"
    )
    upstream_concurrency: int = Field(
        default=8, ge=1, description="Calls in flight to one upstream from one process; a burst beyond it queues"
    )
    upstream_retry_budget_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Total time a call may wait on upstream rate limits (429) before failing UPSTREAM_RATE_LIMITED",
    )
    upstream_max_retries: int = Field(
        default=4, ge=0, description="Most retries of one upstream call after a 429 or a 5xx answer"
    )
    upstream_max_response_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1024,
        description="Largest body read from one upstream answer (a generated video's download included)",
    )
    upstream_rate_limits: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "Requests per second by `provider:class`, over the adapters' defaults (xAI: `xai:image` 5, "
            '`xai:video` 1); a burst queues instead of drawing 429s. 0 lifts a limit, e.g. `{"xai:image" = 2}`'
        ),
    )

    # The ima2 dialect (`/api/*`)
    ima2_max_parallel: int = Field(
        default=24,
        ge=1,
        description=(
            "Active ima2 jobs (one per request) a workspace may have at once; one more is refused with 429 "
            "TOO_MANY_JOBS and `Retry-After: 5`, as ima2's IMA2_MAX_PARALLEL"
        ),
    )
    ima2_inflight_terminal_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a finished ima2 job stays in `GET /api/inflight?includeTerminal=1`",
    )
    ima2_discovery: bool = Field(
        default=False,
        description=(
            "`pixelmill serve` writes ima2's discovery file (`IMA2_ADVERTISE_FILE`, else "
            "`$IMA2_CONFIG_DIR/server.json`, else `~/.ima2/server.json`), so ima2's CLI finds this server with "
            "no `--server`; removed on shutdown"
        ),
    )

    # Operations
    log_level: str = Field(default="INFO", description="Log level")
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="One JSON object per line, or plain text lines; auto: text on a terminal, JSON otherwise",
    )
    metrics_enabled: bool = Field(default=True, description="Serve Prometheus metrics at /metrics")

    @model_validator(mode="after")
    def _anonymous_only_on_loopback(self) -> Settings:
        if self.anonymous_loopback and not is_loopback_host(self.host):
            raise ValueError(
                f"anonymous_loopback lets requests without credentials act as the operator, so it needs a "
                f"loopback host (127.0.0.1, ::1, localhost); host is {self.host!r}"
            )
        return self

    @field_validator("webhook_signature_headers")
    @classmethod
    def _signature_headers_are_header_names(cls, names: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in names:
            lowered = name.lower()
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an HTTP header name")
            if lowered in seen or lowered.startswith("webhook-"):
                raise ValueError(f"{name!r} is listed twice or is a Standard Webhooks header")
            seen.add(lowered)
        return names

    @field_validator("model_credit_costs")
    @classmethod
    def _prices_are_not_negative(cls, prices: dict[str, int]) -> dict[str, int]:
        negative = sorted(model for model, price in prices.items() if price < 0)
        if negative:
            raise ValueError(f"model_credit_costs must not be negative: {', '.join(negative)}")
        return prices

    @field_validator("upstream_rate_limits")
    @classmethod
    def _rates_are_named_and_not_negative(cls, rates: dict[str, float]) -> dict[str, float]:
        unnamed = sorted(name for name in rates if not re.fullmatch(r"[a-z0-9_-]+:[a-z0-9_-]+", name))
        if unnamed:
            raise ValueError(f"upstream_rate_limits keys are provider:class, e.g. xai:video; got {', '.join(unnamed)}")
        negative = sorted(name for name, rate in rates.items() if not rate >= 0)
        if negative:
            raise ValueError(f"upstream_rate_limits must not be negative: {', '.join(negative)}")
        return rates

    @field_validator("model_aliases")
    @classmethod
    def _aliases_are_names_for_model_ids(cls, aliases: dict[str, str]) -> dict[str, str]:
        for alias, target in aliases.items():
            if not _ALIAS.fullmatch(alias):
                raise ValueError(
                    f"model alias {alias!r} must be a plain name (letters, digits, '.', '_', ':', '-'; no '/'), "
                    "so that it never looks like or shadows a provider/model id"
                )
            if not _MODEL_ID.fullmatch(target):
                raise ValueError(f"the target of model alias {alias!r} must be a provider/model id, not {target!r}")
        return aliases

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("PIXELMILL_CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'pixelmill.db'}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{self.data_dir / 'blobs'}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_embedded_database(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def owns_database(self) -> bool:
        """The data directory's own SQLite file (no database_url): ``serve`` creates and migrates it
        itself. A configured database, SQLite included, is migrated with ``pixelmill migrate``."""
        return self.database_url is None

    @cached_property
    def secret(self) -> bytes:
        """The signing secret: configured, or generated once and kept in data_dir (mode 0600)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()

    def plan(self, name: str) -> Plan:
        """The named plan; an unknown name (a plan removed from configuration) falls back to free."""
        return self.plans.get(name) or self.plans.get("free") or default_plans()["free"]
