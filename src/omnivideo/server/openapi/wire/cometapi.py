"""CometAPI's query answers (reference §2): Kling's envelope (shape a) or new-api's task
wrapper (shape b), as the server's ``cometapi_shape`` setting chooses."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

from omnivideo.server.openapi.wire.kling import KlingTask, KlingTaskList


class CometQueryA(TypedDict):
    """Shape (a): Kling's envelope, ``message`` "success", ``request_id`` the task id."""

    code: int
    message: str
    request_id: str
    data: KlingTask


class CometTaskWrapper(TypedDict):
    id: int
    task_id: str
    platform: Literal["kling"]
    action: Literal["OMNI_VIDEO"]
    status: Literal["SUBMITTED", "IN_PROGRESS", "SUCCESS", "FAILURE"]
    fail_reason: str
    result_url: str
    #: seconds since the epoch, 0 until reached
    submit_time: int
    start_time: int
    finish_time: int
    #: percent, as "42%"
    progress: str
    created_at: int
    updated_at: int
    #: the Kling task object
    data: KlingTask


class CometQueryB(TypedDict):
    """Shape (b): new-api's task wrapper, ``code`` "success"."""

    code: Literal["success"]
    message: str
    data: CometTaskWrapper


CometQuery = CometQueryA | CometQueryB
#: a list query: Kling's page, or the one task that ``external_task_id`` names
CometListOrTask = KlingTaskList | CometQueryA | CometQueryB
