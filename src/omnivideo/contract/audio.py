"""The bodies and rules of Kling's audio endpoints: ``text-to-audio`` and ``video-to-audio``.

From Kling's API reference (``/v1/audio/text-to-audio``, ``/v1/audio/video-to-audio``) and the
clients that call them (docs/audio.md names them):

    text-to-audio    prompt (required, ≤ 200 characters), duration (required, 3.0-10.0 s,
                     one decimal; a number or a string), external_task_id, callback_url
    video-to-audio   video_id (a video this account generated) xor video_url (MP4/MOV,
                     ≤ 100 MB, 3.0-20.0 s); sound_effect_prompt, bgm_prompt (≤ 200 each);
                     asmr_mode (bool, default false); external_task_id, callback_url

Null, ``""`` and a missing key mean the same (Kuaishou's ComfyUI nodes send every field), and
unknown keys are ignored, as on the classic endpoints.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from omnivideo.contract.errors import invalid
from omnivideo.contract.request import _explain, _path

PROMPT_MAX: Final = 200
DURATION_MIN_S: Final = 3.0
DURATION_MAX_S: Final = 10.0
VIDEO_MIN_S: Final = 3.0
VIDEO_MAX_S: Final = 20.0
#: units billed per text-to-audio generation and per video-to-audio video (see docs/audio.md)
AUDIO_UNITS: Final = "0.2"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _unset_is_missing(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("must be a JSON object")
        return {k: v for k, v in data.items() if v is not None and v != ""}


class TextToAudioRequest(_Wire):
    prompt: str = Field(max_length=PROMPT_MAX)
    #: seconds, one decimal
    duration: float
    external_task_id: str | None = None
    callback_url: str | None = None

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("duration", mode="before")
    @classmethod
    def _one_decimal(cls, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"must be a number of seconds, got {value!r}")
        try:
            seconds = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"must be a number of seconds, got {value!r}") from None
        if not seconds.is_finite() or not Decimal(str(DURATION_MIN_S)) <= seconds <= Decimal(
            str(DURATION_MAX_S)
        ):
            raise ValueError(
                f"must be between {DURATION_MIN_S} and {DURATION_MAX_S} seconds, got {value!r}"
            )
        # In range, so quantizing cannot overflow; a second decimal is refused as Kling does.
        if seconds != seconds.quantize(Decimal("0.1")):
            raise ValueError(f"supports one decimal place at most, got {value!r}")
        return float(seconds)


class VideoToAudioRequest(_Wire):
    video_id: str | None = None
    video_url: str | None = None
    sound_effect_prompt: str | None = Field(default=None, max_length=PROMPT_MAX)
    bgm_prompt: str | None = Field(default=None, max_length=PROMPT_MAX)
    asmr_mode: bool = False
    external_task_id: str | None = None
    callback_url: str | None = None

    @field_validator("video_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # Kling's ids are 18-digit strings; some clients send them as numbers.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _one_source(self) -> VideoToAudioRequest:
        if (self.video_id is None) == (self.video_url is None):
            raise ValueError(
                "video_id, video_url: give exactly one (a video generated here, or a link)"
            )
        return self


MODELS_OF: Final[dict[str, type[_Wire]]] = {
    "text-to-audio": TextToAudioRequest,
    "video-to-audio": VideoToAudioRequest,
}


def parse(endpoint: str, body: Any) -> TextToAudioRequest | VideoToAudioRequest:
    """The create body of an audio ``endpoint``, or ``OmniError(1201)`` naming the bad field."""
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    try:
        parsed = MODELS_OF[endpoint].model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if p not in ("int", "str", "bool", "float"))
        message = _explain(first)
        if not loc and message.startswith("video_id, video_url:"):
            raise invalid(message) from None
        raise invalid(f"{_path(loc)}: {message}") from None
    assert isinstance(parsed, TextToAudioRequest | VideoToAudioRequest)
    return parsed


def check_video_length(seconds: float) -> None:
    """video-to-audio's source must last 3.0 to 20.0 seconds."""
    if not VIDEO_MIN_S - 1e-3 <= seconds <= VIDEO_MAX_S + 1e-3:
        raise invalid(
            f"video: must last between {VIDEO_MIN_S} and {VIDEO_MAX_S} seconds, got {seconds:.2f} s"
        )
