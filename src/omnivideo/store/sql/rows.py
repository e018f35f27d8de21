"""Rows into domain records: rows never leave the SQL store.

A row is anything that reads a table's columns as attributes: a row a query returned, or the
values a write just stored (see :func:`stored`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from omnivideo.contract.task import AudioResult, PackHold, Task, TaskStatus, VideoResult
from omnivideo.store.records import Account, AssetRecord, ElementRecord, KeyRecord


def stored(columns: Mapping[Any, Any], **values: Any) -> Any:
    """The row a write leaves: ``columns`` (a row's ``_mapping``, or the values an insert
    gave) with ``values`` set, read by the converters as a row."""
    return SimpleNamespace(**{**columns, **values})


def task(row: Any) -> Task:
    """A task from a row of the tasks table."""
    return Task(
        task_id=row.task_id,
        account_id=row.account_id,
        status=TaskStatus(row.status),
        request=row.request,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status_msg=row.status_msg or "",
        external_task_id=row.external_task_id,
        videos=tuple(VideoResult(**v) for v in row.videos or ()),
        final_unit_deduction=row.final_unit_deduction,
        progress=row.progress,
        error_code=row.error_code,
        callback_url=row.callback_url,
        number=row.number,
        channel=row.channel,
        endpoint=row.endpoint or "omni-video",
        spec=row.spec,
        **notes(row.options or {}),
    )


def notes(column: dict[str, Any]) -> dict[str, Any]:
    """The task's fields kept in its ``options`` JSON column (see :func:`notes_column`)."""
    pack = column.get("pack")
    units = column.get("fixed_units")
    return {
        "face": column.get("face") or "kling",
        "callback_format": column.get("callback_format"),
        "reply_ref": column.get("reply_ref"),
        "fixed_units": None if units is None else str(units),
        "info": dict(column.get("task_info") or {}),
        "openai": dict(column.get("openai") or {}),
        "pack": PackHold(str(pack["pack_id"]), int(pack["milli"])) if pack else None,
        "engine_state": dict(column.get("engine_state") or {}),
        "audios": tuple(AudioResult(**a) for a in column.get("audios") or ()),
    }


def notes_column(task: Task) -> dict[str, Any]:
    """The ``options`` JSON column of ``task``: the fields of a task that no query filters on,
    under the keys they have always been stored with (older rows read the same)."""
    column: dict[str, Any] = {"face": task.face}
    for key, value in (
        ("callback_format", task.callback_format),
        ("reply_ref", task.reply_ref),
        ("fixed_units", task.fixed_units),
        ("task_info", task.info),
        ("openai", task.openai),
        ("engine_state", task.engine_state),
        ("audios", [a.__dict__.copy() for a in task.audios]),
    ):
        if value:
            column[key] = value
    if task.pack is not None:
        column["pack"] = {"pack_id": task.pack.pack_id, "milli": task.pack.milli}
    return column


def account(row: Any) -> Account:
    return Account(row.id, row.name, row.created_at, row.webhook_secret)


def key(row: Any) -> KeyRecord:
    return KeyRecord(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        access_key=row.access_key,
        secret_key=row.secret_key,
        api_key_prefix=row.api_key_prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def element(row: Any) -> ElementRecord:
    return ElementRecord(
        element_id=row.element_id,
        account_id=row.account_id,
        name=row.name,
        description=row.description,
        reference_type=row.reference_type,
        frontal_image=row.frontal_image,
        refer_images=tuple(row.refer_images or ()),
        source=row.source or {},
        tag_list=tuple(row.tag_list or ()),
        created_at=row.created_at,
        task_id=row.task_id,
        external_task_id=row.external_task_id,
    )


def asset(row: Any) -> AssetRecord:
    return AssetRecord(
        key=row.key,
        account_id=row.account_id,
        file_name=row.file_name,
        kind=row.kind,
        width=row.width,
        height=row.height,
        duration_ms=row.duration_ms,
        created_at=row.created_at,
    )
