"""The provider-neutral request, task and error model (importable without the server)."""

from __future__ import annotations

from omnivideo.contract.capabilities import (
    CAPABILITIES,
    MODELS,
    Capability,
    capability,
    check_model,
)
from omnivideo.contract.errors import KLING_CODES, OmniError, http_status_for, invalid
from omnivideo.contract.references import ReferenceKind, caption, find_references
from omnivideo.contract.request import (
    ElementInput,
    ImageInput,
    OmniRequest,
    Shot,
    VideoInput,
    WatermarkInfo,
    parse_request,
)
from omnivideo.contract.rules import (
    ElementInfo,
    check,
    effective_duration,
    resolved_aspect_ratio,
)
from omnivideo.contract.task import Task, TaskStatus, TaskView, VideoResult

__all__ = [
    "CAPABILITIES",
    "KLING_CODES",
    "MODELS",
    "Capability",
    "ElementInfo",
    "ElementInput",
    "ImageInput",
    "OmniError",
    "OmniRequest",
    "ReferenceKind",
    "Shot",
    "Task",
    "TaskStatus",
    "TaskView",
    "VideoInput",
    "VideoResult",
    "WatermarkInfo",
    "capability",
    "caption",
    "check",
    "check_model",
    "effective_duration",
    "find_references",
    "http_status_for",
    "invalid",
    "parse_request",
    "resolved_aspect_ratio",
]
