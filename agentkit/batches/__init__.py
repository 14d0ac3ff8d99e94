"""Many conversations' tool loops through the Message Batches API: `BatchRunner` and its state."""

from __future__ import annotations

from ._runner import (
    BatchJob,
    BatchRunner,
)
from ._state import (
    MANIFEST_PREFIX,
    BatchOutcome,
    BatchProgress,
    BatchRunInfo,
    BatchRunResult,
    batch_runs,
    custom_id,
)

__all__ = [
    "BatchJob",
    "BatchOutcome",
    "BatchProgress",
    "BatchRunInfo",
    "BatchRunResult",
    "BatchRunner",
    "MANIFEST_PREFIX",
    "batch_runs",
    "custom_id",
]
