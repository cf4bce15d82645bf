"""Probe node types for engine tests, in their own registry (with the core nodes beside them).

Each probe makes one executor behaviour observable without timing: ``probe.count`` counts calls of
its ``run`` (cache hits must not call it), ``probe.rendezvous`` deadlocks unless two nodes run at
once, ``probe.cancel_run`` cancels its own run, ``probe.wait_for_cancel`` polls for the cancel from
a worker thread, ``probe.fail`` raises, ``probe.progress`` reports progress.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

import pixelmill.nodes  # noqa: F401 - registers the core nodes copied below
from pixelmill import errors
from pixelmill.engine.cancellation import CancelToken
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, Capability, NodeRegistry, default_registry, node
from pixelmill.engine.values import ImageRef
from pixelmill.errors import PixelmillError

probe_registry = NodeRegistry()
for _cls in default_registry.all():
    if _cls.category in {"math", "value", "text", "random"} and _cls.__module__ == "pixelmill.nodes.core":
        probe_registry.add(_cls)


class ProbeState:
    """Shared between a test and the probe nodes it runs; reset for every test."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.tokens: dict[str, CancelToken] = {}
        self.events: dict[str, asyncio.Event] = {}
        self.threads: dict[str, str] = {}

    def event(self, name: str) -> asyncio.Event:
        return self.events.setdefault(name, asyncio.Event())


STATE = ProbeState()


def reset_probes() -> ProbeState:
    global STATE
    STATE = ProbeState()
    return STATE


class ValueOut(BaseModel):
    value: float


class MaybeOut(BaseModel):
    value: float | None


class ImageOut(BaseModel):
    image: ImageRef


class ImagesOut(BaseModel):
    images: list[ImageRef]


@node("probe.count", version="1.0.0", category="probe", registry=probe_registry)
class ProbeCount(BaseNode):
    """Pass ``value`` through and count the call under ``tag``; costs ``price`` credits."""

    value: float = 0
    tag: str = "count"
    price: int = Field(default=0, ge=0)

    @classmethod
    def cost(cls, inputs: Mapping[str, Any]) -> int:
        return int(inputs.get("price", 0))

    async def run(self, ctx: NodeContext) -> ValueOut:
        STATE.calls[self.tag] += 1
        return ValueOut(value=self.value)


@node("probe.sum", version="1.0.0", category="probe", registry=probe_registry)
class ProbeSum(BaseNode):
    """Sum a list of numbers (a single number fed by an edge arrives as a one-item list)."""

    values: list[float]

    async def run(self, ctx: NodeContext) -> ValueOut:
        return ValueOut(value=sum(self.values))


@node("probe.maybe", version="1.0.0", category="probe", registry=probe_registry)
class ProbeMaybe(BaseNode):
    """An optional number output: must not feed a required number input."""

    async def run(self, ctx: NodeContext) -> MaybeOut:
        return MaybeOut(value=None)


@node("probe.image_source", version="1.0.0", category="probe", registry=probe_registry)
class ProbeImageSource(BaseNode):
    """Declares an image output (never run: the engine tests have no media store)."""

    deterministic: ClassVar[bool] = False
    capability: ClassVar[Capability] = "gpu"

    async def run(self, ctx: NodeContext) -> ImageOut:
        raise AssertionError("not run in engine tests")


@node("probe.image_sink", version="1.0.0", category="probe", registry=probe_registry)
class ProbeImageSink(BaseNode):
    """Takes one image and a list of images."""

    image: ImageRef
    references: list[ImageRef] = Field(default_factory=list, max_length=4)
    mode: Literal["fast", "fine"] = "fast"

    async def run(self, ctx: NodeContext) -> ImagesOut:
        return ImagesOut(images=[self.image, *self.references])


@node("probe.rendezvous", version="1.0.0", category="probe", registry=probe_registry)
class ProbeRendezvous(BaseNode):
    """Signal ``me`` and wait for ``partner``: two of these finish only if they run at the same time."""

    me: str
    partner: str
    value: float = 0

    deterministic: ClassVar[bool] = False

    async def run(self, ctx: NodeContext) -> ValueOut:
        STATE.event(f"{ctx.run_id}:{self.me}").set()
        await asyncio.wait_for(STATE.event(f"{ctx.run_id}:{self.partner}").wait(), timeout=5)
        return ValueOut(value=self.value)


@node("probe.cancel_run", version="1.0.0", category="probe", registry=probe_registry)
class ProbeCancelRun(BaseNode):
    """Cancel the run it belongs to (after ``after`` has started, when given), then finish normally."""

    value: float = 0
    after: str | None = None
    price: int = 0

    deterministic: ClassVar[bool] = False

    @classmethod
    def cost(cls, inputs: Mapping[str, Any]) -> int:
        return int(inputs.get("price", 0))

    async def run(self, ctx: NodeContext) -> ValueOut:
        if self.after is not None:
            await asyncio.wait_for(STATE.event(f"{ctx.run_id}:{self.after}").wait(), timeout=5)
        STATE.tokens[ctx.run_id].cancel()
        STATE.calls["cancel_run"] += 1
        return ValueOut(value=self.value)


@node("probe.wait_for_cancel", version="1.0.0", category="probe", registry=probe_registry)
class ProbeWaitForCancel(BaseNode):
    """Announce it started, then poll ``ctx.raise_if_cancelled`` from a worker thread for up to 5 s."""

    name: str = "waiter"

    deterministic: ClassVar[bool] = False

    async def run(self, ctx: NodeContext) -> ValueOut:
        STATE.event(f"{ctx.run_id}:{self.name}").set()

        def poll() -> None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                ctx.raise_if_cancelled()
                time.sleep(0.002)

        await ctx.run_blocking(poll)
        STATE.calls["wait_for_cancel_finished"] += 1
        return ValueOut(value=1)


@node("probe.fail", version="1.0.0", category="probe", registry=probe_registry)
class ProbeFail(BaseNode):
    """Fail: with a catalogue error, with a bare exception whose text must not leak, or only
    ``times`` times under ``tag`` and then succeed."""

    mode: Literal["pixelmill", "crash", "flaky"] = "pixelmill"
    value: float = 0
    tag: str = "fail"
    times: int = 1

    deterministic: ClassVar[bool] = False

    async def run(self, ctx: NodeContext) -> ValueOut:
        STATE.calls[self.tag] += 1
        if self.mode == "pixelmill":
            raise PixelmillError(errors.PROVIDER_ERROR, "The upstream provider said no", field="model")
        if self.mode == "crash" or STATE.calls[self.tag] <= self.times:
            raise RuntimeError("secret-token-1234 in /srv/private/path")
        return ValueOut(value=self.value)


@node("probe.progress", version="1.0.0", category="probe", registry=probe_registry)
class ProbeProgress(BaseNode):
    """Report progress ``steps`` times on the loop, then once from a worker thread."""

    steps: int = 3

    deterministic: ClassVar[bool] = False

    async def run(self, ctx: NodeContext) -> ValueOut:
        for step in range(self.steps):
            ctx.report_progress(step / self.steps, f"step {step}")

        def in_thread() -> str:
            ctx.report_progress(1.0, "from a thread")
            return threading.current_thread().name

        STATE.threads[ctx.node_id] = await ctx.run_blocking(in_thread)
        return ValueOut(value=self.steps)


@node("probe.media", version="1.0.0", category="probe", registry=probe_registry)
class ProbeMedia(BaseNode):
    """Touch the run's media store."""

    deterministic: ClassVar[bool] = False

    async def run(self, ctx: NodeContext) -> ValueOut:
        ctx.media  # noqa: B018 - the access itself is what is tested
        return ValueOut(value=0)


class SizeOut(BaseModel):
    width: int
    height: int


@node("probe.draw", version="1.0.0", category="probe", registry=probe_registry)
class ProbeDraw(BaseNode):
    """Draw a two-colour test card and store it through the run's media store."""

    width: int = Field(default=64, ge=1, le=1024)
    height: int = Field(default=48, ge=1, le=1024)

    async def run(self, ctx: NodeContext) -> ImageOut:
        from PIL import Image, ImageDraw

        def draw() -> Image.Image:
            image = Image.new("RGB", (self.width, self.height), (20, 40, 200))
            ImageDraw.Draw(image).rectangle((0, 0, self.width // 2, self.height), fill=(240, 200, 10))
            return image

        return ImageOut(image=await ctx.media.save_image(await ctx.run_blocking(draw)))


@node("probe.measure", version="1.0.0", category="probe", registry=probe_registry)
class ProbeMeasure(BaseNode):
    """Load an image through the media store and report its decoded size and left/right colours."""

    image: ImageRef

    async def run(self, ctx: NodeContext) -> SizeOut:
        image = await ctx.media.load_image(self.image)
        left, right = image.getpixel((0, 0)), image.getpixel((image.width - 1, 0))
        STATE.threads["colours"] = f"{left} {right}"
        return SizeOut(width=image.width, height=image.height)
