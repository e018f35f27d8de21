"""The bodies of Kling's classic endpoints: text2video, image2video, multi-image2video,
video-extend.

Parsing is as tolerant as the clients that speak these endpoints force it to be: Kuaishou's
ComfyUI nodes send ``null`` and ``""`` for every field left unset, gateways send ``cfg_scale``,
``aspect_ratio`` and both ``model`` and ``model_name`` to every endpoint, ``multi_shot`` comes
as a bool or as ``"true"``. So null, ``""`` and a missing key mean the same, unknown keys are
ignored, and durations are strings or numbers. Types and enums are checked here; the rules
that depend on the model live in :mod:`omnivideo.contract.legacy.rules`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from omnivideo.contract.errors import OmniError, invalid
from omnivideo.contract.legacy.table import (
    DEFAULT_MODEL,
    IMAGE2VIDEO,
    MULTI_IMAGE2VIDEO,
    TEXT2VIDEO,
    VIDEO_EXTEND,
)
from omnivideo.contract.request import (
    AspectRatio,
    Mode,
    OnOff,
    Seconds,
    Shot,
    WatermarkInfo,
    _explain,
    _path,
    _whole_seconds,
)


class _Wire(BaseModel):
    # Finite numbers only, as in the Omni request (see contract.request).
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _unset_is_missing(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("must be a JSON object")
        return {k: v for k, v in data.items() if v is not None and v != ""}


class CameraConfig(_Wire):
    horizontal: float = 0.0
    vertical: float = 0.0
    pan: float = 0.0
    tilt: float = 0.0
    roll: float = 0.0
    zoom: float = 0.0


class CameraControl(_Wire):
    type: Literal["simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward"]
    config: CameraConfig | None = None


class Point(_Wire):
    x: int
    y: int


class DynamicMask(_Wire):
    mask: str
    trajectories: list[Point]


class ListedImage(_Wire):
    image: str


class Voice(_Wire):
    voice_id: str | int


class _Common(_Wire):
    """Fields every creating endpoint shares."""

    prompt: str | None = None
    negative_prompt: str | None = None
    cfg_scale: float | None = None
    watermark_info: WatermarkInfo | None = None
    callback_url: str | None = None
    external_task_id: str | None = None


class _Generating(_Common):
    """Fields of the endpoints that choose a model, a mode and a length."""

    model_name: str
    mode: Mode = "std"
    duration: Seconds = 5

    @model_validator(mode="before")
    @classmethod
    def _model_alias(cls, data: Any) -> Any:
        # Gateways send `model` next to (or instead of) `model_name`; `model_name` wins.
        if isinstance(data, dict) and data.get("model_name") in (None, "") and data.get("model"):
            data = {**data, "model_name": data["model"]}
        return data

    @field_validator("duration", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> int:
        return _whole_seconds(value)


class _Shots(_Generating):
    multi_shot: bool = False
    shot_type: Literal["customize", "intelligence"] | None = None
    multi_prompt: list[Shot] | None = None
    sound: OnOff = "off"
    voice_list: list[Voice] | None = None


class Text2VideoRequest(_Shots):
    """``POST /v1/videos/text2video``."""

    model_name: str = DEFAULT_MODEL[TEXT2VIDEO]
    aspect_ratio: AspectRatio = "16:9"
    camera_control: CameraControl | None = None


class Image2VideoRequest(_Shots):
    """``POST /v1/videos/image2video``. ``aspect_ratio`` is not a field: the image sets it."""

    model_name: str = DEFAULT_MODEL[IMAGE2VIDEO]
    image: str | None = None
    image_tail: str | None = None
    static_mask: str | None = None
    dynamic_masks: list[DynamicMask] | None = None
    camera_control: CameraControl | None = None
    element_list: list[dict[str, Any]] | None = None


class MultiImage2VideoRequest(_Generating):
    """``POST /v1/videos/multi-image2video``: up to four reference images."""

    model_name: str = DEFAULT_MODEL[MULTI_IMAGE2VIDEO]
    image_list: list[ListedImage] = Field(default_factory=list)
    aspect_ratio: AspectRatio = "16:9"


class VideoExtendRequest(_Common):
    """``POST /v1/videos/video-extend``: model, mode and size come from the source video."""

    #: text, or a number as some clients parse numeric ids
    video_id: Annotated[str, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer"}]})]

    @field_validator("video_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        # Ids are numeric strings or UUIDs; a client that parsed one as a number sends it back so.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


LegacyRequest = (
    Text2VideoRequest | Image2VideoRequest | MultiImage2VideoRequest | VideoExtendRequest
)

MODELS_OF: dict[str, type[BaseModel]] = {
    TEXT2VIDEO: Text2VideoRequest,
    IMAGE2VIDEO: Image2VideoRequest,
    MULTI_IMAGE2VIDEO: MultiImage2VideoRequest,
    VIDEO_EXTEND: VideoExtendRequest,
}


def parse(endpoint: str, body: Any) -> LegacyRequest:
    """The body of a create on ``endpoint``, or ``OmniError(1201)`` naming the bad field."""
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    try:
        parsed = MODELS_OF[endpoint].model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if p not in ("int", "str", "bool", "float"))
        raise invalid(f"{_path(loc)}: {_explain(first)}") from None
    except OmniError:
        raise
    assert isinstance(
        parsed,
        Text2VideoRequest | Image2VideoRequest | MultiImage2VideoRequest | VideoExtendRequest,
    )
    return parsed
