"""What an execution returns: the run's status, its outputs, every node's report, cost and errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pixelmill.engine.results import UnsavedResult
from pixelmill.engine.values import OutputType

RunOutcome = Literal["completed", "failed", "cancelled"]
NodeOutcome = Literal["completed", "failed", "cancelled", "skipped"]


@dataclass(frozen=True, slots=True)
class NodeOutput:
    """A non-intermediate node's result: ``value`` is its primary output field, ``outputs`` all fields."""

    node_type: str
    type: OutputType
    value: Any
    outputs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NodeReport:
    """One node after the execution. ``skipped`` nodes never started (after a failure or a cancel);
    ``resumed`` ones finished in an earlier execution of the same run."""

    node_id: str
    node_type: str
    status: NodeOutcome
    cached: bool = False
    resumed: bool = False
    cost: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: float | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """``total_cost`` sums completed nodes, resumed ones included: what the run is charged in all."""

    status: RunOutcome
    outputs: dict[str, NodeOutput]
    nodes: dict[str, NodeReport]
    total_cost: int
    errors: list[dict[str, Any]]
    # With ``hold_last``: the last node's record, not written yet (see GraphExecutor.execute).
    unsaved: tuple[UnsavedResult, ...] = ()

    @property
    def error(self) -> dict[str, Any] | None:
        """The first node error ({code, message, node_id, …}), the run's error when it failed."""
        return self.errors[0] if self.errors else None
