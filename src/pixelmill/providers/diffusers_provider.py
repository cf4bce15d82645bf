"""Diffusers: text-to-image, image-to-image and inpainting from local weights (the ``diffusers`` extra).

Each configured pipeline (setting ``diffusers_models``: name -> directory or Hugging Face repo id)
is served as model ``diffusers/<name>``. Weights are read from disk only: a directory written by
``save_pretrained``, or a repo already in the Hugging Face cache, with offline mode forced so that a
missing file is an error rather than a download in the middle of a run.

Pipelines are loaded lazily and cached per process by (model, task). A second task of a model
already in memory is built with ``from_pipe``, so text-to-image, image-to-image and inpainting of
one model share one copy of the weights. A scheduler keeps per-call state and ``from_pipe``
shares it, so the calls of one model take turns on the model's lock. The device is cuda, then
mps, then cpu (setting ``diffusers_device`` overrides it); half precision on cuda, full precision
elsewhere. Every image gets its own ``torch.Generator`` seeded with ``seed + index``, so a seed
reproduces its images.

torch, diffusers and transformers are imported on first use through ``importlib``: they take
seconds to import, and typing them as ``Any`` keeps the type check identical with or without the
extra installed.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ImageToImageRequest, InpaintRequest, ModelInfo, TextToImageRequest

if TYPE_CHECKING:
    from PIL import Image

    from pixelmill.config import Settings

Task = Literal["text-to-image", "image-to-image", "inpainting"]
Device = Literal["auto", "cuda", "mps", "cpu"]

MODEL_PREFIX = "diffusers/"
MAX_SIDE = 2048
MIN_SIDE = 64
MAX_IMAGES = 4
# Operations of ImageToImageRequest this provider understands; all are prompt-guided image-to-image.
IMAGE_TO_IMAGE_OPERATIONS = ("img2img", "edit", "variation", "style")
INSTALL_HINT = (
    "install the diffusers extra: pip install 'pixelmill[diffusers]' (torch==2.13.0, diffusers, transformers)"
)

_AUTO_PIPELINES: dict[Task, str] = {
    "text-to-image": "AutoPipelineForText2Image",
    "image-to-image": "AutoPipelineForImage2Image",
    "inpainting": "AutoPipelineForInpainting",
}


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PixelmillError(errors.DEPENDENCY_MISSING, f"{module} is not installed; {INSTALL_HINT}") from exc


def choose_device(preference: Device = "auto") -> tuple[str, Any]:
    """(device, dtype) for pipelines: the preferred device, or the best one present."""
    torch = _import("torch")
    device: str = preference
    if preference == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    return device, torch.float16 if device == "cuda" else torch.float32


@dataclass
class _CachedPipeline:
    pipeline: Any
    lock: threading.Lock  # one per model: its task pipelines share modules and the scheduler


class DiffusersProvider:
    """Local diffusion models named in settings; see the module docstring for loading and caching."""

    id = "diffusers"

    def __init__(
        self,
        models: dict[str, str],
        *,
        steps: int = 30,
        guidance_scale: float = 7.5,
        device: Device = "auto",
        cache_dir: Path | None = None,
    ) -> None:
        self._sources = dict(models)
        self._cache_dir = cache_dir
        self._steps = steps
        self._guidance_scale = guidance_scale
        self._device_preference: Device = device
        self._pipelines: dict[tuple[str, Task], _CachedPipeline] = {}
        self._load_lock = threading.Lock()
        self._call_locks = {name: threading.Lock() for name in self._sources}

    @classmethod
    def from_settings(cls, settings: Settings) -> DiffusersProvider:
        return cls(
            settings.diffusers_models,
            steps=settings.diffusers_steps,
            guidance_scale=settings.diffusers_guidance_scale,
            device=settings.diffusers_device,
            cache_dir=settings.diffusers_cache_dir,
        )

    def is_configured(self) -> bool:
        return bool(self._sources)

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                id=MODEL_PREFIX + name,
                provider=self.id,
                generation_type="image",
                capabilities=("text-to-image", "image-to-image", "inpainting"),
                cost=5,
                description=f"Diffusers pipeline from local weights ({Path(source).name or source})",
                sandbox=False,
                limits={
                    "min_width": MIN_SIDE,
                    "min_height": MIN_SIDE,
                    "max_width": MAX_SIDE,
                    "max_height": MAX_SIDE,
                    "max_images": MAX_IMAGES,
                    "max_reference_images": 0,
                },
            )
            for name, source in sorted(self._sources.items())
        ]

    # -- the three capabilities -------------------------------------------------------------------

    async def text_to_image(self, model: str, request: TextToImageRequest) -> list[Image.Image]:
        return await asyncio.to_thread(self.text_to_image_blocking, model, request)

    async def image_to_image(self, model: str, request: ImageToImageRequest) -> list[Image.Image]:
        return await asyncio.to_thread(self.image_to_image_blocking, model, request)

    async def inpaint(self, model: str, request: InpaintRequest) -> list[Image.Image]:
        return await asyncio.to_thread(self.inpaint_blocking, model, request)

    def text_to_image_blocking(self, model: str, request: TextToImageRequest) -> list[Image.Image]:
        _check_count(request.n)
        width, height = _check_size(request.width, request.height)
        return self._call(
            model,
            "text-to-image",
            request.n,
            request.seed,
            lambda generators: {
                "prompt": request.prompt,
                "negative_prompt": request.negative_prompt or None,
                "width": width,
                "height": height,
                "generator": generators,
            },
            (request.width, request.height),
        )

    def image_to_image_blocking(self, model: str, request: ImageToImageRequest) -> list[Image.Image]:
        if request.operation not in IMAGE_TO_IMAGE_OPERATIONS:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"Diffusers models support the operations {', '.join(IMAGE_TO_IMAGE_OPERATIONS)}, "
                f"not {request.operation!r}",
                field="operation",
            )
        params = request.params
        n = int(params.get("n", 1))
        _check_count(n)
        strength = _check_strength(params.get("strength", 0.6))
        prompt = request.prompt
        if request.operation == "style" and params.get("style"):
            prompt = f"{prompt}, {params['style']} style".lstrip(", ")
        source = request.image.convert("RGB")
        width, height = _check_size(*source.size)
        image = source.resize((width, height)) if (width, height) != source.size else source
        return self._call(
            model,
            "image-to-image",
            n,
            request.seed,
            lambda generators: {
                "prompt": prompt,
                "negative_prompt": params.get("negative_prompt") or None,
                "image": image,
                "strength": strength,
                "generator": generators,
            },
            source.size,
            steps=params.get("steps"),
            guidance_scale=params.get("guidance_scale"),
        )

    def inpaint_blocking(self, model: str, request: InpaintRequest) -> list[Image.Image]:
        _check_count(request.n)
        strength = _check_strength(request.strength)
        source = request.image.convert("RGB")
        width, height = _check_size(*source.size)
        image = source.resize((width, height)) if (width, height) != source.size else source
        mask = request.mask.convert("L").resize((width, height))
        return self._call(
            model,
            "inpainting",
            request.n,
            request.seed,
            lambda generators: {
                "prompt": request.prompt,
                "negative_prompt": request.negative_prompt or None,
                "image": image,
                "mask_image": mask,
                "width": width,
                "height": height,
                "strength": strength,
                "generator": generators,
            },
            source.size,
        )

    # -- loading and calling ----------------------------------------------------------------------

    def pipeline(self, model: str, task: Task) -> Any:
        """The cached pipeline for (model, task), loaded from local weights on first use."""
        return self._cached(model, task).pipeline

    def _cached(self, model: str, task: Task) -> _CachedPipeline:
        name = model.removeprefix(MODEL_PREFIX)
        if not model.startswith(MODEL_PREFIX) or name not in self._sources:
            raise PixelmillError(errors.INVALID_INPUT, f"Unknown diffusers model {model!r}", field="model")
        cached = self._pipelines.get((name, task))
        if cached is not None:
            return cached
        with self._load_lock:
            cached = self._pipelines.get((name, task))
            if cached is None:
                cached = _CachedPipeline(pipeline=self._load(name, task), lock=self._call_locks[name])
                self._pipelines[(name, task)] = cached
        return cached

    def _load(self, name: str, task: Task) -> Any:
        # Set before huggingface_hub is first imported (it reads the variable once), so that nothing in
        # the libraries reaches for the network; repo ids are also resolved with local_files_only.
        os.environ["HF_HUB_OFFLINE"] = "1"
        diffusers = _import("diffusers")
        # Loading bars are for notebooks; in a server they are stray lines in the log.
        diffusers.utils.logging.disable_progress_bar()
        _import("transformers").utils.logging.disable_progress_bar()
        auto_class = getattr(diffusers, _AUTO_PIPELINES[task])
        sibling = next((c.pipeline for (n, _), c in self._pipelines.items() if n == name), None)
        if sibling is not None:
            pipeline = auto_class.from_pipe(sibling)
        else:
            source = self._sources[name]
            device, dtype = choose_device(self._device_preference)
            try:
                pipeline = auto_class.from_pretrained(self._local_directory(source), dtype=dtype)
            except (OSError, ValueError) as exc:
                raise PixelmillError(
                    errors.DEPENDENCY_MISSING,
                    f"The weights of diffusers/{name} could not be read from {source!r} (a directory saved with "
                    f"save_pretrained, or a repo id already in the Hugging Face cache): {exc}",
                ) from exc
            pipeline = pipeline.to(device)
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def _local_directory(self, source: str) -> str:
        """``source`` itself when it is a directory, else its snapshot in the Hugging Face cache (offline)."""
        if Path(source).expanduser().is_dir():
            return str(Path(source).expanduser())
        hub = _import("huggingface_hub")
        return str(hub.snapshot_download(repo_id=source, cache_dir=self._cache_dir, local_files_only=True))

    def _call(
        self,
        model: str,
        task: Task,
        n: int,
        seed: int,
        arguments: Callable[[list[Any]], dict[str, Any]],
        output_size: tuple[int, int],
        *,
        steps: Any = None,
        guidance_scale: Any = None,
    ) -> list[Image.Image]:
        cached = self._cached(model, task)
        torch = _import("torch")
        device = str(cached.pipeline.device)
        # mps has no seedable generator of its own; a CPU generator gives the same noise everywhere else.
        generator_device = "cuda" if device.startswith("cuda") else "cpu"
        generators = [
            torch.Generator(generator_device).manual_seed((seed + index) & 0xFFFFFFFFFFFFFFFF) for index in range(n)
        ]
        kwargs = arguments(generators)
        kwargs["num_images_per_prompt"] = n
        kwargs["num_inference_steps"] = int(steps) if steps is not None else self._steps
        kwargs["guidance_scale"] = float(guidance_scale) if guidance_scale is not None else self._guidance_scale
        with cached.lock:
            try:
                result = cached.pipeline(**kwargs)
            except (RuntimeError, ValueError) as exc:
                raise PixelmillError(errors.PROVIDER_ERROR, f"{model} failed: {exc}") from exc
        images: list[Image.Image] = list(result.images)
        return [image if image.size == output_size else image.resize(output_size) for image in images]


def _check_size(width: int, height: int) -> tuple[int, int]:
    """The size the pipeline renders: each side a multiple of 8 (the VAE's stride), within limits."""
    for field, value in (("width", width), ("height", height)):
        if not MIN_SIDE <= value <= MAX_SIDE:
            raise PixelmillError(
                errors.INVALID_INPUT, f"{field} must be between {MIN_SIDE} and {MAX_SIDE} for diffusers", field=field
            )
    return round(width / 8) * 8, round(height / 8) * 8


def _check_count(n: int) -> None:
    if not 1 <= n <= MAX_IMAGES:
        raise PixelmillError(errors.INVALID_INPUT, f"n must be between 1 and {MAX_IMAGES}", field="n")


def _check_strength(value: Any) -> float:
    strength = float(value)
    if not 0.0 < strength <= 1.0:
        raise PixelmillError(errors.INVALID_INPUT, "strength must be above 0 and at most 1", field="strength")
    return strength
