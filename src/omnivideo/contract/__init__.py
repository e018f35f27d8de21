"""The provider-neutral request, task and error model (importable without the server)."""

from __future__ import annotations

from omnivideo.contract.errors import KLING_CODES, OmniError, http_status_for, invalid
from omnivideo.contract.request import (
    ElementInput,
    ImageInput,
    OmniRequest,
    Shot,
    VideoInput,
    WatermarkInfo,
    parse_request,
)
from omnivideo.contract.task import Task, TaskStatus, VideoResult

__all__ = [
    "KLING_CODES",
    "ElementInput",
    "ImageInput",
    "OmniError",
    "OmniRequest",
    "Shot",
    "Task",
    "TaskStatus",
    "VideoInput",
    "VideoResult",
    "WatermarkInfo",
    "http_status_for",
    "invalid",
    "parse_request",
]
