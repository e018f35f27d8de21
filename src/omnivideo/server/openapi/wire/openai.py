"""The OpenAI Videos bodies (`/v1/videos`): what the OpenAI SDK sends and reads."""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict


class ImageReference(TypedDict):
    #: a URL or Base64 image
    image_url: NotRequired[str]
    #: an image uploaded to this account (`POST /v1/kling/assets`): its file name
    file_id: NotRequired[str]


class VideoCreate(TypedDict):
    """A create as JSON. Models that are not Kling's (``sora-2``) render on kling-v3-omni."""

    prompt: str
    model: NotRequired[str]
    #: the duration in seconds ("4" when not sent)
    seconds: NotRequired[str | int]
    #: WIDTHxHEIGHT: picks the aspect ratio, and pro mode from a short side of 1080
    size: NotRequired[str]
    #: the first frame: a URL or Base64 image, ``{"image_url": ...}`` or ``{"file_id": ...}``
    input_reference: NotRequired[str | ImageReference]
    #: characters (``char_…``) to cast: elements of the account
    character_ids: NotRequired[list[str]]


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
    #: the source of a remix
    remixed_from_video_id: str | None
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


class VideoRemix(TypedDict):
    prompt: str


class VideoReference(TypedDict):
    #: a completed video of the account (``video_…``)
    id: str


class VideoEdit(TypedDict):
    """An edit: the source video (by id, or a file part) and how to change it."""

    prompt: str
    video: VideoReference | str


class VideoExtend(TypedDict):
    """An extension: the source continued by ``seconds``."""

    prompt: str
    #: 4, 8, 12, 16 or 20
    seconds: str | int
    video: VideoReference | str


class CharacterCreate(TypedDict):
    #: at most 20 characters
    name: str
    #: a 3-8 s video (a file part), or ``{"id": "video_…"}``
    video: VideoReference | str


class Character(TypedDict):
    #: ``char_`` and the element id
    id: str
    created_at: int
    name: str


class VideoSourceForm(TypedDict):
    """An edit, extension or character as a form: ``video`` is a file part (or send
    ``video[id]`` with a video id)."""

    prompt: NotRequired[str]
    seconds: NotRequired[str]
    name: NotRequired[str]
    video: str
