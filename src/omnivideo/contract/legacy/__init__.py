"""Kling's classic video endpoints (text2video, image2video, multi-image2video,
video-extend) on the Omni contract: their bodies, model table and rules, and the mapping
onto the one request every engine renders."""

from __future__ import annotations

from omnivideo.contract.legacy.mapping import Mapped, camera_of, to_omni
from omnivideo.contract.legacy.requests import (
    Image2VideoRequest,
    LegacyRequest,
    MultiImage2VideoRequest,
    Text2VideoRequest,
    VideoExtendRequest,
    parse,
)
from omnivideo.contract.legacy.rules import EXTEND_SECONDS, check, check_extend_source
from omnivideo.contract.legacy.table import (
    ENDPOINTS,
    IMAGE2VIDEO,
    MULTI_IMAGE2VIDEO,
    TABLE,
    TEXT2VIDEO,
    VIDEO_EXTEND,
    ModelRow,
    model_row,
    source_row,
)

__all__ = [
    "ENDPOINTS",
    "EXTEND_SECONDS",
    "IMAGE2VIDEO",
    "MULTI_IMAGE2VIDEO",
    "TABLE",
    "TEXT2VIDEO",
    "VIDEO_EXTEND",
    "Image2VideoRequest",
    "LegacyRequest",
    "Mapped",
    "ModelRow",
    "MultiImage2VideoRequest",
    "Text2VideoRequest",
    "VideoExtendRequest",
    "camera_of",
    "check",
    "check_extend_source",
    "model_row",
    "parse",
    "source_row",
    "to_omni",
]


def prepare(endpoint: str, body: object) -> Mapped:
    """Parse, check and map one create body of ``endpoint``."""
    req = parse(endpoint, body)
    check(req)
    return to_omni(req)
