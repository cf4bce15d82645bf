"""Node types that make run scheduling observable, in a registry beside the built-ins.

``test.sleep`` takes a set time (checking for cancel as it waits) and charges ``price`` credits;
``test.gate`` blocks until the test opens its named gate (ignoring cancel, like a node busy inside a
library call) and announces that it started; ``test.remote`` needs a capability test keys may not
use. A server's runtime gets this registry through :func:`use_run_nodes`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field

import pixelmill.nodes  # noqa: F401 - registers the built-ins copied below
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, Capability, NodeRegistry, default_registry, node
from pixelmill.runtime import Runtime

run_registry = NodeRegistry()
for _cls in default_registry.all():
    run_registry.add(_cls)

GATE_TIMEOUT_SECONDS = 20.0


class Gates:
    """Named gates: a test opens one to let the ``test.gate`` nodes waiting on it finish."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, threading.Event] = {}
        self._arrived: dict[str, threading.Event] = {}

    def _events(self, name: str) -> tuple[threading.Event, threading.Event]:
        with self._lock:
            return self._open.setdefault(name, threading.Event()), self._arrived.setdefault(name, threading.Event())

    def open(self, name: str) -> None:
        self._events(name)[0].set()

    def wait_arrived(self, name: str, timeout: float = 10.0) -> bool:
        return self._events(name)[1].wait(timeout)

    def pass_through(self, name: str) -> bool:
        opened, arrived = self._events(name)
        arrived.set()
        return opened.wait(GATE_TIMEOUT_SECONDS)

    def reset(self) -> None:
        """Open every gate (releasing whatever waits) and forget them all, for the next test."""
        with self._lock:
            events = list(self._open.values())
            self._open.clear()
            self._arrived.clear()
        for event in events:
            event.set()


GATES = Gates()


class ValueOut(BaseModel):
    value: float


class _Priced(BaseNode):
    """Costs ``price`` credits."""

    deterministic: ClassVar[bool] = False
    price: int = Field(default=0, ge=0)

    @classmethod
    def cost(cls, inputs: Mapping[str, Any]) -> int:
        price = inputs.get("price", 0)
        return price if isinstance(price, int) else 0


@node("test.sleep", version="1.0.0", category="test", registry=run_registry)
class Sleep(_Priced):
    """Wait ``seconds`` (stopping early when the run is cancelled), then pass ``value`` on."""

    value: float = 0
    seconds: float = Field(default=0.0, ge=0, le=30)

    async def run(self, ctx: NodeContext) -> ValueOut:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        while (left := deadline - loop.time()) > 0:
            ctx.raise_if_cancelled()
            await asyncio.sleep(min(left, 0.01))
        return ValueOut(value=self.value)


@node("test.gate", version="1.0.0", category="test", registry=run_registry)
class Gate(_Priced):
    """Block until gate ``name`` is opened (ignoring cancel), then pass ``value`` on."""

    value: float = 0
    name: str

    async def run(self, ctx: NodeContext) -> ValueOut:
        if not await ctx.run_blocking(GATES.pass_through, self.name):
            raise TimeoutError(f"gate {self.name} was never opened")
        return ValueOut(value=self.value)


@node("test.remote", version="1.0.0", category="test", registry=run_registry)
class Remote(_Priced):
    """A node that would call an upstream service."""

    capability: ClassVar[Capability] = "remote"
    value: float = 0

    async def run(self, ctx: NodeContext) -> ValueOut:
        return ValueOut(value=self.value)


def use_run_nodes(runtime: Runtime) -> None:
    """Let runs on ``runtime`` use the test node types (before any run is created)."""
    runtime.nodes = run_registry
