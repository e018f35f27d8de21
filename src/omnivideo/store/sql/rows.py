"""Rows into domain records: rows never leave the SQL store."""

from __future__ import annotations

from typing import Any

from omnivideo.contract.task import Task, TaskStatus, VideoResult
from omnivideo.store.records import Account, AssetRecord, ElementRecord, KeyRecord
from omnivideo.store.tables import AccountRow, AssetRow, ElementRow, KeyRow, TaskRow


def task(row: TaskRow | Any) -> Task:
    """A task from its ORM row or a Core row of the same table."""
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
        options=row.options or {},
        number=row.number,
        channel=row.channel,
        endpoint=row.endpoint or "omni-video",
        spec=row.spec,
    )


def account(row: AccountRow) -> Account:
    return Account(row.id, row.name, row.created_at, row.webhook_secret)


def key(row: KeyRow) -> KeyRecord:
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


def element(row: ElementRow) -> ElementRecord:
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


def asset(row: AssetRow) -> AssetRecord:
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
