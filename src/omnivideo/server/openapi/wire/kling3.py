"""The 3.x API's bodies and answers (docs/kling-3x.md): contents / settings / options in, the
task object with ``outputs[]`` and ``billing[]`` out."""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict

from omnivideo.server.openapi.wire.kling import KlingEnvelope

Status = Literal["submitted", "processing", "succeeded", "failed"]
ItemType = Literal[
    "prompt",
    "first_frame",
    "last_frame",
    "element",
    "refer_image",
    "feature_video",
    "base_video",
    "image",
    "video",
]
ProductType = Literal[
    "text-to-video", "image-to-video", "omni-video", "motion-control", "video-extend"
]


class ContentItem(TypedDict):
    """One input: ``text`` for a prompt, ``url`` (URL or Base64) for media, ``element_id``."""

    type: ItemType
    text: NotRequired[str]
    url: NotRequired[str]
    element_id: NotRequired[str | int]


class Settings(TypedDict, total=False):
    resolution: Literal["720p", "1080p", "4k"]
    aspect_ratio: Literal["16:9", "9:16", "1:1"]
    #: whole seconds, 3-15 (a JSON number)
    duration: int
    audio: Literal["native", "original", "off"]
    #: a ``shot 1, 2s, …; shot 2, 3s, …`` prompt is read as shots (default true)
    multi_shot: bool
    #: motion-control only, required there
    character_orientation: Literal["image", "video"]


class Watermark(TypedDict, total=False):
    enabled: bool


class Options(TypedDict, total=False):
    callback_url: str
    external_task_id: str
    watermark_info: Watermark


class CreateBody(TypedDict, total=False):
    """A 3.x create body; text-to-video may carry its text as ``prompt``."""

    contents: list[ContentItem]
    prompt: str
    settings: Settings
    options: Options


class CreatedTask(TypedDict):
    id: str
    status: Status
    #: milliseconds since the epoch
    create_time: int
    update_time: int
    external_id: str


class Output(TypedDict):
    type: Literal["video", "audio"]
    url: str
    #: seconds
    duration: float
    id: NotRequired[str]
    #: "" unless a watermarked copy was asked for
    watermark_url: NotRequired[str]


class Charge(TypedDict):
    charge_type: Literal["unit", "cash"]
    amount: float


class Task(CreatedTask):
    model: str
    product_type: ProductType
    #: why it failed (only when failed)
    message: NotRequired[str]
    #: omnivideo extension: percent done, while processing
    progress: NotRequired[int]
    outputs: list[Output]
    billing: list[Charge]


class Created(KlingEnvelope):
    """A created task."""

    data: CreatedTask


class TaskList(KlingEnvelope):
    """One task object per id found, in the order asked."""

    data: list[Task]


class ListBody(TypedDict, total=False):
    """``POST /tasks`` (omnivideo's design, see docs/kling-3x.md)."""

    status: Status | list[Status]
    product_type: ProductType | list[ProductType]
    #: 1-100, default 20
    page_size: int
    #: ``next_cursor`` of the page before
    cursor: str


class Page(TypedDict):
    tasks: list[Task]
    #: "" on the last page
    next_cursor: str
    has_more: bool


class TaskPage(KlingEnvelope):
    """A page of tasks, newest first."""

    data: Page
