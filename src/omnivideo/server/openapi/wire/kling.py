"""Kling's answers (reference §1): the envelope, the task object, account costs."""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict

TaskStatus = Literal["submitted", "processing", "succeed", "failed"]


class KlingEnvelope(TypedDict):
    """Kling's success envelope: ``code`` 0, the answer under ``data``."""

    code: int
    message: str
    request_id: str


class CreatedTaskInfo(TypedDict):
    external_task_id: str


class CreatedTask(TypedDict):
    task_id: str
    task_info: CreatedTaskInfo
    task_status: TaskStatus
    #: milliseconds since the epoch
    created_at: int
    updated_at: int


class TaskVideo(TypedDict):
    id: str
    url: str
    #: seconds, as text
    duration: str
    watermark_url: NotRequired[str]


class TaskAudio(TypedDict):
    """A track of the audio endpoints (text-to-audio, video-to-audio)."""

    id: str
    url_mp3: str
    url_wav: str
    #: seconds, as text
    duration_mp3: str
    duration_wav: str


class TaskResult(TypedDict, total=False):
    videos: list[TaskVideo]
    #: the audio endpoints' tracks
    audios: list[TaskAudio]


class TaskInfo(TypedDict, total=False):
    """Empty while pending unless the task has an external id; engines may add facts."""

    external_task_id: str
    #: omnivideo extension: percent done, while processing
    progress: int


class TaskWatermark(TypedDict):
    enabled: bool


class KlingTask(TypedDict):
    """The task object of Kling's query answers (reference §1.7)."""

    task_id: str
    task_status: TaskStatus
    task_status_msg: str
    task_info: TaskInfo
    task_result: TaskResult
    watermark_info: TaskWatermark
    final_unit_deduction: str
    created_at: int
    updated_at: int


class KlingCreated(KlingEnvelope):
    """A created task."""

    data: CreatedTask


class KlingTaskAnswer(KlingEnvelope):
    """One task."""

    data: KlingTask


class KlingTaskList(KlingEnvelope):
    """A page of tasks, newest first."""

    data: list[KlingTask]


#: a list query: the page, or the one task that ``external_task_id`` names
KlingListOrTask = KlingTaskList | KlingTaskAnswer


class ResourcePack(TypedDict):
    resource_pack_name: str
    resource_pack_id: str
    resource_pack_type: str
    total_quantity: float
    remaining_quantity: float
    purchase_time: int
    effective_time: int
    #: 0: never expires
    invalid_time: int
    status: Literal["online", "runOut", "expired"]


class AccountCosts(TypedDict):
    code: int
    msg: str
    resource_pack_subscribe_infos: list[ResourcePack]


class KlingAccountCosts(KlingEnvelope):
    """The account's resource packs valid between the times asked for."""

    data: AccountCosts


class Health(TypedDict):
    status: Literal["ok"]
    version: str
    engine: str
