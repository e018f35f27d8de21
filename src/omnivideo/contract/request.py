"""The provider-neutral Omni request: every field of Kling's `POST /v1/videos/omni-video`.

Parsing is lenient where Kling's clients disagree (``duration`` as string or integer,
``element_id`` as number or string, ``model`` as an alias of ``model_name``) and strict on
everything else. Cross-field rules live in :mod:`omnivideo.contract.rules`, not here.
"""

from __future__ import annotations

import re
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
from omnivideo.contract.values import AspectRatio, Mode, OnOff, YesNo

ModelName = str  # checked against the capability map, so an unknown model is 1203, not 1201

DEFAULT_MODEL = "kling-video-o1"


class _Wire(BaseModel):
    # Unknown fields are ignored, as Kling does; known fields are type-checked. Numbers are
    # finite: JSON has no NaN or Infinity (Python's parser takes them, and 1e999 overflows to
    # inf), and PostgreSQL's json type refuses what Python would write for them.
    model_config = ConfigDict(
        extra="ignore", populate_by_name=True, frozen=True, allow_inf_nan=False, defer_build=True
    )


def _shown(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters: messages must stay short for any input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ASCII digits only ("²".isdigit() is true), few enough for int() to be cheap; a sign is
# accepted so that every integer to_wire() writes as a string parses back.
_DIGITS = re.compile(r"\s*([+-]?[0-9]{1,19})\s*")


#: How the OpenAPI document shows what the validators below accept: Kling's text ("5") or a
#: number. Validation is theirs; these only describe it.
_DIGITS_TEXT = {"type": "string", "pattern": f"^{_DIGITS.pattern}$"}
Seconds = Annotated[
    int,
    WithJsonSchema({"anyOf": [_DIGITS_TEXT, {"type": "integer"}]}),
]
ElementId = Annotated[
    int,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                _DIGITS_TEXT,
            ]
        }
    ),
]


def _whole_seconds(value: Any) -> int:
    """Kling documents durations as strings ("5"); some clients send numbers. Accept both."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (match := _DIGITS.fullmatch(value)):
        return int(match.group(1))
    raise ValueError(f"must be a whole number of seconds, got {_shown(value)}")


class ImageInput(_Wire):
    image_url: str
    type: Literal["first_frame", "end_frame"] | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _empty_type_is_reference(cls, value: Any) -> Any:
        return None if value == "" else value


class ElementInput(_Wire):
    element_id: ElementId

    @field_validator("element_id", mode="before")
    @classmethod
    def _numeric_string(cls, value: Any) -> Any:
        if isinstance(value, str) and (match := _DIGITS.fullmatch(value)):
            value = int(match.group(1))
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer id, got {_shown(value)}")
        # Kling ids are positive longs; anything wider would overflow a BIGINT column.
        if not 0 < value < 2**63:
            raise ValueError(f"must be a positive 64-bit integer id, got {_shown(value)}")
        return value


class VideoInput(_Wire):
    video_url: str
    refer_type: Literal["base", "feature"] = "base"
    keep_original_sound: YesNo = "no"


class Shot(_Wire):
    index: int
    prompt: str = ""
    duration: Seconds

    @field_validator("duration", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> int:
        return _whole_seconds(value)


class WatermarkInfo(_Wire):
    enabled: bool = False


class OmniRequest(_Wire):
    """One Omni video request, as the official API defines it (reference §1.4)."""

    model_name: ModelName = Field(default=DEFAULT_MODEL, alias="model_name")
    multi_shot: bool = False
    shot_type: Literal["customize", "intelligence"] | None = None
    prompt: str | None = None
    multi_prompt: list[Shot] | None = None
    image_list: list[ImageInput] = Field(default_factory=list)
    element_list: list[ElementInput] = Field(default_factory=list)
    video_list: list[VideoInput] = Field(default_factory=list)
    sound: OnOff = "off"
    mode: Mode = "pro"
    aspect_ratio: AspectRatio | None = None
    #: None means "not sent": the default (5 s) or the base video's length applies.
    duration: Seconds | None = None
    watermark_info: WatermarkInfo | None = None
    callback_url: str | None = None
    external_task_id: str | None = None
    # Accepted for compatibility with relays that forward them; omni models ignore them.
    negative_prompt: str | None = None
    cfg_scale: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _aliases_and_empties(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("the request body must be a JSON object")
        data = dict(data)
        if data.get("model_name") in ("", None) and "model" in data:
            data["model_name"] = data["model"]
        # The official examples send "" for unused optional strings and null for lists.
        for key in ("callback_url", "external_task_id", "aspect_ratio", "shot_type"):
            if data.get(key) == "":
                data[key] = None
        for key in ("image_list", "element_list", "video_list"):
            if data.get(key) is None:
                data.pop(key, None)
        if data.get("duration") in ("", None):
            data.pop("duration", None)
        if data.get("model_name") in ("", None):
            data.pop("model_name", None)
        return data

    @field_validator("duration", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> int:
        return _whole_seconds(value)

    @property
    def base_video(self) -> VideoInput | None:
        return next((v for v in self.video_list if v.refer_type == "base"), None)

    @property
    def first_frame(self) -> ImageInput | None:
        return next((i for i in self.image_list if i.type == "first_frame"), None)

    @property
    def end_frame(self) -> ImageInput | None:
        return next((i for i in self.image_list if i.type == "end_frame"), None)

    @property
    def reference_images(self) -> list[ImageInput]:
        return [i for i in self.image_list if i.type is None]

    def to_wire(self) -> dict[str, Any]:
        """The request as the official API spells it (durations as strings)."""
        body = self.model_dump(mode="json", exclude_none=True, by_alias=True)
        if self.duration is not None:
            body["duration"] = str(self.duration)
        for shot in body.get("multi_prompt", []):
            shot["duration"] = str(shot["duration"])
        for key in ("image_list", "element_list", "video_list"):
            if not body.get(key):
                body.pop(key, None)
        return body


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith("function-") and part not in ("literal_error",):
            out += f".{part}" if out else str(part)
    return out or "body"


def _explain(err: Any) -> str:
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value"))
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}, got {_shown(err.get('input'))}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg[0].lower() + msg[1:] if msg else msg


def parse_request(body: Any) -> OmniRequest:
    """Turn a decoded JSON body into an :class:`OmniRequest`, or raise ``OmniError(1201)``.

    The message names the first bad field path, e.g. ``image_list[0].type: must be one of ...``.
    """
    try:
        return OmniRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if p not in ("int", "str", "bool", "float"))
        if first.get("type") == "value_error" and not loc:
            raise invalid(_explain(first)) from None
        raise invalid(f"{_path(loc)}: {_explain(first)}") from None
    except OmniError:
        raise
