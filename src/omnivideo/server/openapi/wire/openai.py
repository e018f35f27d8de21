"""The OpenAI Videos bodies (`/v1/videos`): what the OpenAI SDK sends and reads."""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict


class ImageReference(TypedDict):
    #: a URL or Base64 image
    image_url: str


class VideoCreate(TypedDict):
    """A create as JSON. Models that are not Kling's (``sora-2``) render on kling-v3-omni."""

    prompt: str
    model: NotRequired[str]
    #: the duration in seconds ("4" when not sent)
    seconds: NotRequired[str | int]
    #: WIDTHxHEIGHT: picks the aspect ratio, and pro mode from a short side of 1080
    size: NotRequired[str]
    #: the first frame: a URL or Base64 image, or ``{"image_url": ...}``
    input_reference: NotRequired[str | ImageReference]


class VideoCreateForm(TypedDict):
    """A create as a form, as the OpenAI SDK sends it; ``input_reference`` may be a file."""

    prompt: str
    model: NotRequired[str]
    seconds: NotRequired[str]
    size: NotRequired[str]
    input_reference: NotRequired[str]


class VideoError(TypedDict):
    #: the Kling code, as text
    code: str
    message: str


class Video(TypedDict):
    """The Video object."""

    #: ``video_`` and the task id
    id: str
    object: Literal["video"]
    model: str
    status: Literal["queued", "in_progress", "completed", "failed"]
    progress: int
    #: seconds since the epoch
    created_at: int
    completed_at: int | None
    expires_at: int | None
    seconds: str
    #: WIDTHxHEIGHT
    size: str
    prompt: str | None
    remixed_from_video_id: None
    error: VideoError | None


class VideoList(TypedDict):
    object: Literal["list"]
    data: list[Video]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeleted(TypedDict):
    id: str
    object: Literal["video.deleted"]
    deleted: bool
