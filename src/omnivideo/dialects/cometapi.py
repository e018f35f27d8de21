"""CometAPI's wire format (reference §2): Kling's body under `/kling`, two query shapes.

- Shape (a), the default: the official envelope passed through, with ``message: "success"``
  and ``request_id`` equal to the task id.
- Shape (b), the new-api task wrapper: ``code: "success"``, ``data.status`` in
  SUBMITTED / IN_PROGRESS / SUCCESS / FAILURE, ``progress``, ``action: "OMNI_VIDEO"``, and the
  Kling task under ``data.data``. The seeds' "SUCCESS" comes from this shape.
"""

from __future__ import annotations

from typing import Any

from omnivideo.contract.request import OmniRequest
from omnivideo.contract.task import Task, TaskStatus, TaskView
from omnivideo.dialects import kling

WRAPPER_STATUS = {
    TaskStatus.SUBMITTED: "SUBMITTED",
    TaskStatus.PROCESSING: "IN_PROGRESS",
    TaskStatus.SUCCEED: "SUCCESS",
    TaskStatus.FAILED: "FAILURE",
}
_FROM_WRAPPER = {
    "SUBMITTED": TaskStatus.SUBMITTED,
    "QUEUED": TaskStatus.SUBMITTED,
    "NOT_START": TaskStatus.SUBMITTED,
    "UNKNOWN": TaskStatus.SUBMITTED,
    "IN_PROGRESS": TaskStatus.PROCESSING,
    "SUCCESS": TaskStatus.SUCCEED,
    "FAILURE": TaskStatus.FAILED,
}


def parse_create(body: Any) -> OmniRequest:
    return kling.parse_create(body)


def render_query_a(task: Task) -> dict[str, Any]:
    return {
        "code": 0,
        "message": "success",
        "request_id": task.task_id,
        "data": kling.render_task(task),
    }


def render_query_b(task: Task) -> dict[str, Any]:
    seconds = task.updated_at // 1000
    final = task.status.is_final
    return {
        "code": "success",
        "message": "",
        "data": {
            "id": int(task.task_id) % 2**31,
            "task_id": task.task_id,
            "platform": "kling",
            "action": "OMNI_VIDEO",
            "status": WRAPPER_STATUS[task.status],
            "fail_reason": task.status_msg if task.status is TaskStatus.FAILED else "",
            "result_url": task.videos[0].url if task.videos else "",
            "submit_time": task.created_at // 1000,
            "start_time": seconds if task.status is not TaskStatus.SUBMITTED else 0,
            "finish_time": seconds if final else 0,
            "progress": f"{round(task.progress * 100) if not final else 100}%",
            "created_at": task.created_at // 1000,
            "updated_at": seconds,
            "data": kling.render_task(task),
        },
    }


def parse_query(body: Any) -> TaskView:
    """Either query shape, and the official one, as a TaskView (what the SDK reads)."""
    if not isinstance(body, dict):
        raise ValueError("not a CometAPI answer")
    data = body.get("data")
    if isinstance(data, dict) and "task_status" in data:
        return kling.parse_task(data)
    if isinstance(data, dict) and "status" in data:
        inner = data.get("data")
        if (
            isinstance(inner, dict)
            and isinstance(inner.get("data"), dict)
            and "task_status" not in inner
        ):
            inner = inner["data"]  # relays that nest the whole Kling envelope
        status = _FROM_WRAPPER.get(str(data["status"]).upper(), TaskStatus.SUBMITTED)
        if isinstance(inner, dict) and "task_id" in inner:
            view = kling.parse_task(inner)
        else:
            view = TaskView(task_id=str(data.get("task_id", "")), status=status)
        progress = str(data.get("progress") or "").rstrip("%")
        return TaskView(
            task_id=view.task_id or str(data.get("task_id", "")),
            status=status,
            status_msg=view.status_msg or str(data.get("fail_reason") or ""),
            external_task_id=view.external_task_id,
            videos=view.videos,
            final_unit_deduction=view.final_unit_deduction,
            created_at=view.created_at,
            updated_at=view.updated_at,
            progress=float(progress) / 100
            if progress.isascii() and progress.replace(".", "", 1).isdigit()
            else None,
            info=view.info,
            provider_status=str(data["status"]),
        )
    raise ValueError("neither the official nor the wrapper query shape")


def parse_created(body: Any) -> TaskView:
    """A create answer as a TaskView: the official envelope (what CometAPI documents), the
    new-api wrapper, or a bare ``{"task_id": ...}`` / ``{"data": "<task id>"}`` as some relays
    answer."""
    if isinstance(body, dict):
        data = body.get("data")
        if isinstance(data, dict) and ("task_status" in data or "status" in data):
            return parse_query(body)
        if isinstance(data, dict) and data.get("task_id"):
            return TaskView(task_id=str(data["task_id"]), status=TaskStatus.SUBMITTED)
        if isinstance(data, str | int) and not isinstance(data, bool) and str(data):
            return TaskView(task_id=str(data), status=TaskStatus.SUBMITTED)
        if body.get("task_id"):
            return TaskView(task_id=str(body["task_id"]), status=TaskStatus.SUBMITTED)
    raise ValueError("not a create answer: no task_id")
