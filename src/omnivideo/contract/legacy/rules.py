"""Every rule of Kling's classic endpoints, checked once for all faces.

Like the Omni rules, each check raises the first violation as ``OmniError(1201)`` (``1203`` for
a model the endpoint does not serve) with the field path and the rule::

    image_tail: kling-v1-6 accepts an end frame only in pro mode, got std
    camera_control.config: exactly one axis may be non-zero, got 2 (pan, zoom)

Model differences come from :mod:`omnivideo.contract.legacy.table`.
"""

from __future__ import annotations

from omnivideo.contract.capabilities import Capability
from omnivideo.contract.errors import invalid
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
    ModelRow,
    model_row,
)
from omnivideo.contract.request import OmniRequest, _shown
from omnivideo.contract.rules import (
    MAX_PROMPT_CHARS,
    _check_delivery,
    _check_multi_shot,
    _check_text,
)

MAX_MULTI_IMAGES = 4
MAX_DYNAMIC_MASKS = 6
MIN_TRAJECTORY_POINTS = 2
MAX_TRAJECTORY_POINTS = 77
CAMERA_AXIS_LIMIT = 10.0
#: video-extend: one call adds 4-5 s; a chain of extensions stops at 3 minutes
EXTEND_SECONDS = 5
MAX_EXTENDED_S = 180


def check(req: LegacyRequest) -> None:
    """Raise ``OmniError`` for the first rule ``req`` breaks (video-extend's source is checked
    separately, by :func:`check_extend_source`, once the source is found)."""
    if isinstance(req, Text2VideoRequest):
        _check_text2video(req)
    elif isinstance(req, Image2VideoRequest):
        _check_image2video(req)
    elif isinstance(req, MultiImage2VideoRequest):
        _check_multi_image(req)
    else:
        _check_guidance(req, None)
        _check_shared_text(req, prompt_required=False)
        if not req.video_id.strip():
            raise invalid("video_id: must not be empty")


def check_extend_source(
    req: VideoExtendRequest, source_model: str, source_seconds: float, source_row: ModelRow | None
) -> None:
    """video-extend: the source's model must be extendable and the result at most 3 minutes."""
    if source_row is None:
        raise invalid(
            f"video_id: videos of {_shown(source_model, 40)} cannot be extended; only videos of "
            "kling-v1, kling-v1-5 and kling-v1-6 can"
        )
    # cfg_scale is accepted and ignored here, as wherever a model ignores it: clients send it
    # on every extend (Kling's own example has 0.5); a negative prompt would be dropped
    # silently, so it is refused.
    if not source_row.extend_with_guidance and req.negative_prompt is not None:
        raise invalid(
            f"negative_prompt: not supported when extending a video of {source_row.model_name}"
        )
    if source_seconds + EXTEND_SECONDS > MAX_EXTENDED_S:
        raise invalid(
            f"video_id: the video is {source_seconds:.1f} s long; extensions stop at "
            f"{MAX_EXTENDED_S} s in total"
        )


def _check_text2video(req: Text2VideoRequest) -> None:
    row = model_row(TEXT2VIDEO, req.model_name)
    _check_generating(req, row)
    _check_shots_and_sound(req, row)
    if req.camera_control is not None:
        _check_camera(req.camera_control, row, req.mode, req.duration)


def _check_image2video(req: Image2VideoRequest) -> None:
    row = model_row(IMAGE2VIDEO, req.model_name)
    _check_generating(req, row, prompt_required=False)
    _check_shots_and_sound(req, row)
    if req.image is None and req.image_tail is None:
        raise invalid("image: at least one of image and image_tail is required")
    for name in ("image", "image_tail", "static_mask"):
        _check_image_value(name, getattr(req, name))
    masks = req.static_mask is not None or bool(req.dynamic_masks)
    groups = [
        name
        for name, used in (
            ("image_tail", req.image_tail is not None),
            ("static_mask/dynamic_masks", masks),
            ("camera_control", req.camera_control is not None),
        )
        if used
    ]
    if len(groups) > 1:
        raise invalid(
            f"{groups[1].split('/')[0]}: {groups[0]} and {groups[1]} cannot be combined; "
            "use one of image_tail, the motion brush (static_mask/dynamic_masks) or camera_control"
        )
    if req.image_tail is not None:
        _check_end_frame(req, row)
    if masks:
        _check_masks(req, row)
    if req.camera_control is not None:
        _check_camera(req.camera_control, row, req.mode, req.duration)
    if req.element_list:
        raise invalid("element_list: elements are served by omni-video, not image2video")


def _check_multi_image(req: MultiImage2VideoRequest) -> None:
    row = model_row(MULTI_IMAGE2VIDEO, req.model_name)
    _check_generating(req, row)
    if not req.image_list:
        raise invalid("image_list: at least one image is required")
    if len(req.image_list) > MAX_MULTI_IMAGES:
        raise invalid(
            f"image_list: {len(req.image_list)} images; at most {MAX_MULTI_IMAGES} are allowed"
        )
    for i, item in enumerate(req.image_list):
        _check_image_value(f"image_list[{i}].image", item.image)


def _check_generating(
    req: Text2VideoRequest | Image2VideoRequest | MultiImage2VideoRequest,
    row: ModelRow,
    *,
    prompt_required: bool = True,
) -> None:
    if req.mode not in row.modes:
        raise invalid(
            f"mode: {row.model_name} supports {' or '.join(sorted(row.modes))}, got {req.mode!r}"
        )
    if req.duration not in row.durations:
        raise invalid(
            f"duration: {row.model_name} supports {_seconds(row.durations)} s, got {req.duration}"
        )
    multi_customize = getattr(req, "multi_shot", False) and getattr(req, "shot_type", None) == (
        "customize"
    )
    _check_shared_text(req, prompt_required=prompt_required and not multi_customize)
    _check_guidance(req, row)


def _check_shared_text(
    req: Text2VideoRequest | Image2VideoRequest | MultiImage2VideoRequest | VideoExtendRequest,
    *,
    prompt_required: bool,
) -> None:
    as_omni = OmniRequest(
        prompt=req.prompt,
        negative_prompt=req.negative_prompt,
        callback_url=req.callback_url,
        external_task_id=req.external_task_id,
    )
    _check_text(as_omni)
    _check_delivery(as_omni)
    for name in ("prompt", "negative_prompt"):
        text = getattr(req, name) or ""
        if len(text) > MAX_PROMPT_CHARS:
            raise invalid(f"{name}: {len(text)} characters; at most {MAX_PROMPT_CHARS}")
    if prompt_required and not (req.prompt or "").strip():
        raise invalid("prompt: is required")


def _check_guidance(req: LegacyRequest, row: ModelRow | None) -> None:
    # Clients send cfg_scale to every model and Kling ignores it where it does not apply,
    # so only its range is a rule; whether it is used is the table's business.
    del row
    if req.cfg_scale is not None and not 0.0 <= req.cfg_scale <= 1.0:
        raise invalid(f"cfg_scale: must be between 0 and 1, got {req.cfg_scale}")


def _check_shots_and_sound(req: Text2VideoRequest | Image2VideoRequest, row: ModelRow) -> None:
    if req.multi_shot:
        if not row.max_shots:
            raise invalid(f"multi_shot: {row.model_name} does not support multi-shot; use kling-v3")
        _check_multi_shot(_as_omni_shots(req), _shot_capability(row, req.mode))
        if isinstance(req, Image2VideoRequest) and req.image_tail is not None:
            raise invalid("image_tail: an end frame cannot be combined with multi_shot")
    if req.sound == "on" and req.mode not in row.sound_modes:
        where = f"only in {' or '.join(sorted(row.sound_modes))} mode" if row.sound_modes else "not"
        raise invalid(f"sound: {row.model_name} supports sound on {where}, got mode {req.mode!r}")
    if req.voice_list:
        raise invalid("voice_list: custom voices are not available on this server")


def _as_omni_shots(req: Text2VideoRequest | Image2VideoRequest) -> OmniRequest:
    return OmniRequest(
        model_name="kling-v3-omni",
        multi_shot=True,
        shot_type=req.shot_type,
        prompt=req.prompt,
        multi_prompt=req.multi_prompt,
        duration=req.duration,
    )


def _shot_capability(row: ModelRow, mode: str) -> Capability:
    return Capability(
        model_name=row.model_name,
        mode=mode,
        resolution=720 if mode == "std" else 1080,
        min_duration_s=min(row.durations),
        max_duration_s=max(row.durations),
        max_duration_with_video_s=max(row.durations),
        fixed_durations_s=None,
        max_shots=row.max_shots,
        sound=bool(row.sound_modes),
        video_character_elements=False,
        elements_with_end_frame=False,
        end_frame_max_images=None,
    )


def _check_end_frame(req: Image2VideoRequest, row: ModelRow) -> None:
    if req.mode not in row.end_frame_modes:
        where = (
            f"only in {' or '.join(sorted(row.end_frame_modes))} mode"
            if row.end_frame_modes
            else "not"
        )
        raise invalid(
            f"image_tail: {row.model_name} accepts an end frame {where}, got mode {req.mode!r}"
        )
    allowed = row.end_frame_durations
    if allowed is not None and req.duration not in allowed:
        raise invalid(
            f"image_tail: {row.model_name} accepts an end frame only for "
            f"{_seconds(allowed)} s, got {req.duration}"
        )


def _check_masks(req: Image2VideoRequest, row: ModelRow) -> None:
    if req.mode not in row.mask_modes or req.duration != 5:
        raise invalid(
            f"dynamic_masks: {row.model_name} does not support the motion brush in "
            f"{req.mode} mode for {req.duration} s"
            + (f" (only {'/'.join(sorted(row.mask_modes))} 5 s)" if row.mask_modes else "")
        )
    if req.image is None:
        raise invalid("image: the motion brush needs an image")
    masks = req.dynamic_masks or []
    if len(masks) > MAX_DYNAMIC_MASKS:
        raise invalid(f"dynamic_masks: {len(masks)} groups; at most {MAX_DYNAMIC_MASKS}")
    for i, group in enumerate(masks):
        _check_image_value(f"dynamic_masks[{i}].mask", group.mask)
        n = len(group.trajectories)
        if not MIN_TRAJECTORY_POINTS <= n <= MAX_TRAJECTORY_POINTS:
            raise invalid(
                f"dynamic_masks[{i}].trajectories: {n} points; a trajectory needs "
                f"{MIN_TRAJECTORY_POINTS} to {MAX_TRAJECTORY_POINTS}"
            )
        for j, point in enumerate(group.trajectories):
            if point.x < 0 or point.y < 0:
                raise invalid(
                    f"dynamic_masks[{i}].trajectories[{j}]: coordinates are pixels of the image "
                    f"and cannot be negative, got ({point.x}, {point.y})"
                )


def _check_camera(camera: CameraControl, row: ModelRow, mode: str, duration: int) -> None:
    if mode not in row.camera_modes or duration != 5:
        only = (
            f"; only in {'/'.join(sorted(row.camera_modes))} mode for 5 s"
            if row.camera_modes
            else ""
        )
        raise invalid(
            f"camera_control: {row.model_name} does not support camera control in {mode} mode "
            f"for {duration} s{only}"
        )
    if camera.type not in row.camera_types:
        raise invalid(
            f"camera_control.type: {row.model_name} supports {', '.join(sorted(row.camera_types))}"
            f", got {camera.type!r}"
        )
    if camera.type != "simple":
        if camera.config is not None:
            raise invalid(f"camera_control.config: must be omitted for type {camera.type!r}")
        return
    if camera.config is None:
        raise invalid("camera_control.config: is required for type 'simple'")
    axes = camera.config.model_dump()
    for axis, value in axes.items():
        if not -CAMERA_AXIS_LIMIT <= value <= CAMERA_AXIS_LIMIT:
            raise invalid(f"camera_control.config.{axis}: must be between -10 and 10, got {value}")
    moving = [axis for axis, value in axes.items() if value != 0]
    if len(moving) != 1:
        raise invalid(
            f"camera_control.config: exactly one axis may be non-zero, got {len(moving)}"
            + (f" ({', '.join(moving)})" if moving else "")
        )


def _check_image_value(name: str, value: str | None) -> None:
    if value is None:
        return
    if not value.strip():
        raise invalid(f"{name}: must not be empty")
    if value.lstrip().lower().startswith("data:"):
        # Kling takes a URL or bare Base64; a data: URI is its documented 1201.
        raise invalid(
            f"{name}: File is not in a valid base64 format (send a URL or Base64 without the "
            "data: prefix)"
        )


def _seconds(values: frozenset[int]) -> str:
    ordered = sorted(values)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]} to {ordered[-1]}"
    return " or ".join(str(v) for v in ordered)
