"""Each classic endpoint's request as the one Omni request every engine renders.

text2video is text-to-video; ``image`` becomes the first frame and ``image_tail`` the end
frame; multi-image2video's images become reference images; video-extend continues an earlier
result, given to the engine as a base video. What the Omni request has no field for
(``negative_prompt``, ``cfg_scale``, ``camera_control``) travels next to it in
:class:`Mapped`, and reaches the task spec and the engines from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omnivideo.contract.legacy.requests import (
    CameraControl,
    Image2VideoRequest,
    LegacyRequest,
    MultiImage2VideoRequest,
    Text2VideoRequest,
    VideoExtendRequest,
)
from omnivideo.contract.legacy.table import (
    IMAGE2VIDEO,
    MULTI_IMAGE2VIDEO,
    TEXT2VIDEO,
    VIDEO_EXTEND,
    model_row,
)
from omnivideo.contract.request import OmniRequest
from omnivideo.contract.spec import Camera


@dataclass(frozen=True)
class Mapped:
    """A classic request as an Omni request plus the fields Omni has no place for."""

    endpoint: str
    request: OmniRequest
    negative_prompt: str | None = None
    #: None where the model ignores it (Kling's v2+ models) or none was sent
    cfg_scale: float | None = None
    camera: Camera | None = None
    #: video-extend: the id of the video to continue
    extends: str | None = None
    #: image2video's motion brush (``static_mask``, ``dynamic_masks``) as sent, when sent
    motion_brush: dict[str, Any] | None = None


def camera_of(control: CameraControl | None) -> Camera | None:
    if control is None:
        return None
    axes = control.config.model_dump() if control.config is not None else {}
    return Camera(type=control.type, **axes)


def _common(req: LegacyRequest) -> dict[str, Any]:
    return {
        "prompt": req.prompt,
        "watermark_info": req.watermark_info,
        "callback_url": req.callback_url,
        "external_task_id": req.external_task_id,
    }


def to_omni(req: LegacyRequest) -> Mapped:
    """The Omni request and extras of a request that passed the endpoint's rules."""
    if isinstance(req, VideoExtendRequest):
        # The source video is added by the service once it has found it (and its model).
        return Mapped(
            VIDEO_EXTEND,
            OmniRequest(**_common(req)),
            negative_prompt=req.negative_prompt,
            cfg_scale=req.cfg_scale,
            extends=req.video_id,
        )
    endpoint = {
        Text2VideoRequest: TEXT2VIDEO,
        Image2VideoRequest: IMAGE2VIDEO,
        MultiImage2VideoRequest: MULTI_IMAGE2VIDEO,
    }[type(req)]
    row = model_row(endpoint, req.model_name)
    fields: dict[str, Any] = {
        **_common(req),
        "model_name": req.model_name,
        "mode": req.mode,
        "duration": req.duration,
    }
    camera = None
    if isinstance(req, Text2VideoRequest | Image2VideoRequest):
        fields.update(
            multi_shot=req.multi_shot,
            shot_type=req.shot_type if req.multi_shot else None,
            multi_prompt=req.multi_prompt if req.multi_shot else None,
            sound=req.sound,
        )
        camera = camera_of(req.camera_control)
    if isinstance(req, Text2VideoRequest | MultiImage2VideoRequest):
        fields["aspect_ratio"] = req.aspect_ratio
    images: list[dict[str, Any]] = []
    if isinstance(req, Image2VideoRequest):
        # A tail alone is still an end frame: the engine ends on it (Kling's "tail only").
        if req.image is not None:
            images.append({"image_url": req.image, "type": "first_frame"})
        if req.image_tail is not None:
            images.append({"image_url": req.image_tail, "type": "end_frame"})
    elif isinstance(req, MultiImage2VideoRequest):
        images = [{"image_url": item.image} for item in req.image_list]
    fields["image_list"] = images
    return Mapped(
        endpoint,
        OmniRequest.model_validate(
            {k: v.model_dump() if hasattr(v, "model_dump") else v for k, v in fields.items()}
        ),
        negative_prompt=req.negative_prompt,
        cfg_scale=req.cfg_scale if row.cfg_scale else None,
        camera=camera,
        motion_brush=_motion_brush(req),
    )


def _motion_brush(req: LegacyRequest) -> dict[str, Any] | None:
    if not isinstance(req, Image2VideoRequest):
        return None
    if req.static_mask is None and not req.dynamic_masks:
        return None
    return req.model_dump(include={"static_mask", "dynamic_masks"}, exclude_none=True)
