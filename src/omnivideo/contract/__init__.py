"""The provider-neutral request, task and error model (importable without the server).

Names are imported from their modules on first use (PEP 562), so importing one light
module of the package (``omnivideo.contract.values``, ``omnivideo.contract.task``) does not
import them all: the CLI's ``--help`` and the SDK start faster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    "CAPABILITIES": "omnivideo.contract.capabilities",
    "MODELS": "omnivideo.contract.capabilities",
    "Capability": "omnivideo.contract.capabilities",
    "capability": "omnivideo.contract.capabilities",
    "check_model": "omnivideo.contract.capabilities",
    "KLING_CODES": "omnivideo.contract.errors",
    "OmniError": "omnivideo.contract.errors",
    "http_status_for": "omnivideo.contract.errors",
    "invalid": "omnivideo.contract.errors",
    "ReferenceKind": "omnivideo.contract.references",
    "caption": "omnivideo.contract.references",
    "find_references": "omnivideo.contract.references",
    "ElementInput": "omnivideo.contract.request",
    "ImageInput": "omnivideo.contract.request",
    "OmniRequest": "omnivideo.contract.request",
    "Shot": "omnivideo.contract.request",
    "VideoInput": "omnivideo.contract.request",
    "WatermarkInfo": "omnivideo.contract.request",
    "parse_request": "omnivideo.contract.request",
    "ElementInfo": "omnivideo.contract.rules",
    "check": "omnivideo.contract.rules",
    "effective_duration": "omnivideo.contract.rules",
    "resolved_aspect_ratio": "omnivideo.contract.rules",
    "Task": "omnivideo.contract.task",
    "TaskStatus": "omnivideo.contract.task",
    "TaskView": "omnivideo.contract.task",
    "VideoResult": "omnivideo.contract.task",
}

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
