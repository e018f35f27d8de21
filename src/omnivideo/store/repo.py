"""Repository: every query of the service, in one place, returning domain objects."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from omnivideo.contract.errors import OmniError
from omnivideo.contract.task import Task, TaskStatus, VideoResult
from omnivideo.store.records import Account, CallbackRecord, ElementRecord, KeyRecord
from omnivideo.store.tables import AccountRow, CallbackRow, ChannelRow, ElementRow, KeyRow, TaskRow

#: builds the callback (url, payload) for a task after a status change, or None for no callback
CallbackFor = Callable[[Task], tuple[str, dict[str, Any]] | None]

ACTIVE = (TaskStatus.SUBMITTED.value, TaskStatus.PROCESSING.value)


def now_ms() -> int:
    return int(time.time() * 1000)


def _task(row: TaskRow) -> Task:
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
    )


def _key(row: KeyRow) -> KeyRecord:
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


def _element(row: ElementRow) -> ElementRecord:
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


class Store:
    """All reads and writes of the service. One instance per process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer; this lock also makes "count active + insert" atomic.
        self._write_lock = threading.RLock()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._write_lock, self._sessions.begin() as session:
            yield session

    def _read(self) -> Session:
        return self._sessions()

    # -- accounts and keys ---------------------------------------------------------------

    def create_account(self, account_id: str, name: str, webhook_secret: str) -> Account:
        with self._write() as s:
            row = AccountRow(
                id=account_id, name=name, webhook_secret=webhook_secret, created_at=now_ms()
            )
            s.add(row)
        return Account(row.id, row.name, row.created_at, row.webhook_secret)

    def list_accounts(self) -> list[Account]:
        with self._read() as s:
            rows = s.scalars(select(AccountRow).order_by(AccountRow.created_at)).all()
            return [Account(r.id, r.name, r.created_at, r.webhook_secret) for r in rows]

    def add_key(
        self,
        account_id: str,
        name: str,
        access_key: str,
        secret_key: str,
        api_key_hash: str,
        prefix: str,
    ) -> KeyRecord:
        with self._write() as s:
            row = KeyRow(
                account_id=account_id,
                name=name,
                access_key=access_key,
                secret_key=secret_key,
                api_key_hash=api_key_hash,
                api_key_prefix=prefix,
                created_at=now_ms(),
            )
            s.add(row)
            s.flush()
            return _key(row)

    def key_by_access_key(self, access_key: str) -> KeyRecord | None:
        with self._read() as s:
            row = s.scalar(select(KeyRow).where(KeyRow.access_key == access_key))
            return _key(row) if row else None

    def key_by_api_hash(self, api_key_hash: str) -> KeyRecord | None:
        with self._read() as s:
            row = s.scalar(select(KeyRow).where(KeyRow.api_key_hash == api_key_hash))
            return _key(row) if row else None

    def list_keys(self) -> list[KeyRecord]:
        with self._read() as s:
            return [_key(r) for r in s.scalars(select(KeyRow).order_by(KeyRow.id)).all()]

    def revoke_key(self, access_key: str) -> bool:
        with self._write() as s:
            result = s.execute(
                update(KeyRow)
                .where(KeyRow.access_key == access_key, KeyRow.revoked_at.is_(None))
                .values(revoked_at=now_ms())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- tasks ---------------------------------------------------------------------------

    def insert_task(
        self,
        task: Task,
        *,
        max_active: int,
        callback_for: CallbackFor,
        not_before: int = 0,
        channel_max_active: int | None = None,
    ) -> Task:
        """Insert a new task, refusing it (1303) when the account is at its concurrency limit.

        A task with a channel must also fit that channel's own limit, ``channel_max_active``.
        """
        with self._write() as s:
            mine = (TaskRow.account_id == task.account_id) & TaskRow.status.in_(ACTIVE)
            active = s.scalar(select(func.count()).select_from(TaskRow).where(mine))
            if (active or 0) >= max_active:
                raise OmniError(1303, "parallel task over resource pack limit")
            if task.channel is not None and channel_max_active is not None:
                busy = s.scalar(
                    select(func.count())
                    .select_from(TaskRow)
                    .where(mine, TaskRow.channel == task.channel)
                )
                if (busy or 0) >= channel_max_active:
                    raise OmniError(
                        1303, f"account {task.channel} is at capacity ({channel_max_active} jobs)"
                    )
            if task.external_task_id is not None:
                clash = s.scalar(
                    select(TaskRow.task_id).where(
                        TaskRow.account_id == task.account_id,
                        TaskRow.external_task_id == task.external_task_id,
                    )
                )
                if clash:
                    raise OmniError(
                        1201,
                        f"external_task_id: {task.external_task_id!r} is already used by task {clash}; "
                        "it must be unique within the account",
                    )
            row = TaskRow(
                task_id=task.task_id,
                number=task.number,
                channel=task.channel,
                account_id=task.account_id,
                external_task_id=task.external_task_id,
                status=task.status.value,
                status_msg=task.status_msg,
                request=task.request,
                options=task.options,
                videos=[],
                final_unit_deduction=task.final_unit_deduction,
                progress=0.0,
                callback_url=task.callback_url,
                attempts=0,
                not_before=not_before,
                created_at=task.created_at,
                updated_at=task.updated_at,
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError as exc:
                # The SELECT above cannot see a concurrent create with the same external id
                # (another process on the same database): the unique constraint does.
                if "external" in str(exc.orig):
                    raise OmniError(
                        1201,
                        f"external_task_id: {task.external_task_id!r} is already used; "
                        "it must be unique within the account",
                    ) from None
                # An 18-digit id clash is astronomically rare; say so rather than hide it.
                raise OmniError(5000, "task id collision, please retry") from exc
            self._enqueue_callback(s, row, callback_for)
            return _task(row)

    def get_task(self, task_id: str) -> Task | None:
        with self._read() as s:
            row = s.get(TaskRow, task_id)
            return _task(row) if row else None

    def find_task(self, account_id: str, ident: str) -> Task | None:
        """A task of the account by task_id or external_task_id (task_id wins)."""
        with self._read() as s:
            row = s.scalar(
                select(TaskRow).where(TaskRow.task_id == ident, TaskRow.account_id == account_id)
            )
            if row is None:
                row = s.scalar(
                    select(TaskRow).where(
                        TaskRow.external_task_id == ident, TaskRow.account_id == account_id
                    )
                )
            return _task(row) if row else None

    def find_task_by_number(self, account_id: str, number: int) -> Task | None:
        with self._read() as s:
            row = s.scalar(
                select(TaskRow).where(TaskRow.number == number, TaskRow.account_id == account_id)
            )
            return _task(row) if row else None

    def list_tasks(self, account_id: str, offset: int, limit: int) -> list[Task]:
        with self._read() as s:
            rows = s.scalars(
                select(TaskRow)
                .where(TaskRow.account_id == account_id)
                .order_by(TaskRow.created_at.desc(), TaskRow.task_id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            return [_task(r) for r in rows]

    def list_tasks_after(
        self, account_id: str, after: Task | None, limit: int, *, ascending: bool = False
    ) -> list[Task]:
        """Cursor paging (OpenAI style): tasks after ``after`` in creation order."""
        with self._read() as s:
            q = select(TaskRow).where(TaskRow.account_id == account_id)
            key = (TaskRow.created_at, TaskRow.task_id)
            if after is not None:
                pivot = (after.created_at, after.task_id)
                q = q.where(
                    tuple_(*key) > tuple_(*pivot) if ascending else tuple_(*key) < tuple_(*pivot)
                )
            order = [k.asc() if ascending else k.desc() for k in key]
            return [_task(r) for r in s.scalars(q.order_by(*order).limit(limit)).all()]

    def unfinished_tasks(self) -> list[tuple[str, int]]:
        """(task_id, not_before) of every task not yet succeed or failed, oldest first."""
        with self._read() as s:
            rows = s.execute(
                select(TaskRow.task_id, TaskRow.not_before)
                .where(TaskRow.status.in_(ACTIVE))
                .order_by(TaskRow.created_at)
            ).all()
            return [(r[0], r[1]) for r in rows]

    def claim(self, task_id: str, callback_for: CallbackFor) -> tuple[Task, int] | None:
        """Start (or restart, after a crash) a task: -> (task, attempt number), or None if final."""
        with self._write() as s:
            row = s.get(TaskRow, task_id)
            if row is None or row.status not in ACTIVE:
                return None
            row.attempts += 1
            if row.status == TaskStatus.SUBMITTED.value:
                row.status = TaskStatus.PROCESSING.value
                row.updated_at = max(now_ms(), row.updated_at)
                s.flush()
                self._enqueue_callback(s, row, callback_for)
            return _task(row), row.attempts

    def merge_options(self, task_id: str, **changes: Any) -> None:
        """Merge keys into a task's options (engine state, task_info extras)."""
        with self._write() as s:
            row = s.get(TaskRow, task_id)
            if row is not None:
                row.options = {**(row.options or {}), **changes}

    def release(self, task_id: str) -> None:
        """A run stopped by a shutdown: it does not count as an attempt."""
        with self._write() as s:
            s.execute(
                update(TaskRow)
                .where(TaskRow.task_id == task_id, TaskRow.attempts > 0)
                .values(attempts=TaskRow.attempts - 1)
            )

    def set_progress(self, task_id: str, progress: float) -> None:
        # Progress is not a status change: no updated_at bump, no callback.
        with self._write() as s:
            s.execute(update(TaskRow).where(TaskRow.task_id == task_id).values(progress=progress))

    def finish(
        self,
        task_id: str,
        status: TaskStatus,
        callback_for: CallbackFor,
        *,
        status_msg: str = "",
        videos: Sequence[VideoResult] = (),
        units: str = "0",
        error_code: int | None = None,
    ) -> Task | None:
        with self._write() as s:
            row = s.get(TaskRow, task_id)
            if row is None or row.status not in ACTIVE:
                return None
            row.status = status.value
            row.status_msg = status_msg
            row.videos = [v.__dict__.copy() for v in videos]
            row.final_unit_deduction = units
            row.error_code = error_code
            row.progress = 1.0 if status is TaskStatus.SUCCEED else row.progress
            row.updated_at = max(now_ms(), row.updated_at)
            s.flush()
            self._enqueue_callback(s, row, callback_for)
            return _task(row)

    def cancel(self, account_id: str, task_id: str, callback_for: CallbackFor) -> Task | None:
        """End an unfinished task as failed ("cancelled"); None if it was already final."""
        with self._write() as s:
            row = s.get(TaskRow, task_id)
            if row is None or row.account_id != account_id or row.status not in ACTIVE:
                return None
            row.status = TaskStatus.FAILED.value
            row.status_msg = "cancelled"
            row.error_code = None
            row.updated_at = max(now_ms(), row.updated_at)
            s.flush()
            self._enqueue_callback(s, row, callback_for)
            return _task(row)

    # -- channels (useapi accounts) ------------------------------------------------------

    def put_channel(self, account_id: str, email: str, max_jobs: int) -> None:
        with self._write() as s:
            row = s.scalar(
                select(ChannelRow).where(
                    ChannelRow.account_id == account_id, ChannelRow.email == email
                )
            )
            if row is None:
                s.add(
                    ChannelRow(
                        account_id=account_id, email=email, max_jobs=max_jobs, created_at=now_ms()
                    )
                )
            else:
                row.max_jobs = max_jobs

    def channels(self, account_id: str) -> dict[str, int]:
        """email -> maxJobs of the account's useapi accounts."""
        with self._read() as s:
            rows = s.scalars(
                select(ChannelRow)
                .where(ChannelRow.account_id == account_id)
                .order_by(ChannelRow.id)
            )
            return {r.email: r.max_jobs for r in rows}

    # -- callbacks -----------------------------------------------------------------------

    def _enqueue_callback(self, s: Session, row: TaskRow, callback_for: CallbackFor) -> None:
        made = callback_for(_task(row))
        if made is None:
            return
        url, payload = made
        seq = (
            s.scalar(select(func.max(CallbackRow.seq)).where(CallbackRow.task_id == row.task_id))
            or 0
        ) + 1
        s.add(
            CallbackRow(
                task_id=row.task_id,
                seq=seq,
                url=url,
                payload=payload,
                state="pending",
                attempts=0,
                next_attempt_at=now_ms(),
                last_error="",
                created_at=now_ms(),
            )
        )

    def due_callbacks(self, now: int, limit: int = 50) -> list[CallbackRecord]:
        """Pending callbacks due now, only the oldest pending one of each task (in-order delivery)."""
        with self._read() as s:
            head = (
                select(CallbackRow.task_id, func.min(CallbackRow.seq).label("seq"))
                .where(CallbackRow.state == "pending")
                .group_by(CallbackRow.task_id)
                .subquery()
            )
            rows = s.execute(
                select(CallbackRow, AccountRow.webhook_secret)
                .join(
                    head, (CallbackRow.task_id == head.c.task_id) & (CallbackRow.seq == head.c.seq)
                )
                .join(TaskRow, TaskRow.task_id == CallbackRow.task_id)
                .join(AccountRow, AccountRow.id == TaskRow.account_id)
                .where(CallbackRow.next_attempt_at <= now)
                .order_by(CallbackRow.next_attempt_at, CallbackRow.id)
                .limit(limit)
            ).all()
            return [
                CallbackRecord(
                    r.id, r.task_id, r.seq, r.url, r.payload, r.attempts, r.created_at, secret
                )
                for r, secret in rows
            ]

    def next_callback_due(self, busy: Collection[str] = ()) -> int | None:
        """When the next callback can go: the earliest due time among each task's oldest
        pending callback (later ones wait behind it), leaving out tasks in ``busy``."""
        with self._read() as s:
            head = (
                select(CallbackRow.task_id, func.min(CallbackRow.seq).label("seq"))
                .where(CallbackRow.state == "pending")
                .group_by(CallbackRow.task_id)
                .subquery()
            )
            q = select(func.min(CallbackRow.next_attempt_at)).join(
                head, (CallbackRow.task_id == head.c.task_id) & (CallbackRow.seq == head.c.seq)
            )
            if busy:
                q = q.where(CallbackRow.task_id.not_in(list(busy)))
            return s.scalar(q)

    def callback_delivered(self, callback_id: int) -> None:
        with self._write() as s:
            s.execute(
                update(CallbackRow)
                .where(CallbackRow.id == callback_id)
                .values(state="delivered", delivered_at=now_ms(), attempts=CallbackRow.attempts + 1)
            )

    def callback_failed(self, callback_id: int, error: str, next_attempt_at: int | None) -> None:
        """Record a failed try; ``next_attempt_at=None`` gives the callback up."""
        values: dict[str, Any] = {"attempts": CallbackRow.attempts + 1, "last_error": error[:2000]}
        if next_attempt_at is None:
            values["state"] = "dead"
        else:
            values["next_attempt_at"] = next_attempt_at
        with self._write() as s:
            s.execute(update(CallbackRow).where(CallbackRow.id == callback_id).values(**values))

    def callbacks_of(self, task_id: str) -> list[tuple[int, str, int, str]]:
        """(seq, state, attempts, last_error) of a task's callbacks, for `tasks show`."""
        with self._read() as s:
            rows = s.execute(
                select(
                    CallbackRow.seq, CallbackRow.state, CallbackRow.attempts, CallbackRow.last_error
                )
                .where(CallbackRow.task_id == task_id)
                .order_by(CallbackRow.seq)
            ).all()
            return [(r[0], r[1], r[2], r[3]) for r in rows]

    # -- elements ------------------------------------------------------------------------

    def add_element(
        self,
        account_id: str | None,
        name: str,
        description: str,
        reference_type: str,
        frontal_image: str,
        refer_images: Sequence[str],
        source: dict[str, Any],
        tag_list: Sequence[dict[str, Any]],
        task_id: str | None = None,
        external_task_id: str | None = None,
    ) -> ElementRecord:
        with self._write() as s:
            if external_task_id is not None and s.scalar(
                select(ElementRow.element_id).where(
                    ElementRow.account_id == account_id,
                    ElementRow.external_task_id == external_task_id,
                )
            ):
                raise OmniError(
                    1201, f"external_task_id: {external_task_id!r} is already used in this account"
                )
            row = ElementRow(
                task_id=task_id,
                external_task_id=external_task_id,
                account_id=account_id,
                name=name,
                description=description,
                reference_type=reference_type,
                frontal_image=frontal_image,
                refer_images=list(refer_images),
                source=source,
                tag_list=list(tag_list),
                created_at=now_ms(),
            )
            s.add(row)
            s.flush()
            return _element(row)

    def element_by_task(self, account_id: str, ident: str) -> ElementRecord | None:
        """An element created through the advanced API, by its task_id or external_task_id."""
        with self._read() as s:
            mine = (ElementRow.account_id == account_id) & ElementRow.deleted_at.is_(None)
            row = s.scalar(select(ElementRow).where(mine, ElementRow.task_id == ident))
            if row is None:
                row = s.scalar(select(ElementRow).where(mine, ElementRow.external_task_id == ident))
            return _element(row) if row else None

    def elements_visible_to(
        self, account_id: str, ids: Sequence[int] | None = None
    ) -> list[ElementRecord]:
        """The account's own elements and the presets, optionally only those with these ids."""
        with self._read() as s:
            q = select(ElementRow).where(
                ElementRow.deleted_at.is_(None),
                (ElementRow.account_id == account_id) | ElementRow.account_id.is_(None),
            )
            if ids is not None:
                q = q.where(ElementRow.element_id.in_(list(ids)))
            return [_element(r) for r in s.scalars(q.order_by(ElementRow.element_id)).all()]

    def list_elements(self, account_id: str | None, offset: int, limit: int) -> list[ElementRecord]:
        """Custom elements of an account, or presets when ``account_id`` is None; newest first."""
        with self._read() as s:
            owner = (
                ElementRow.account_id.is_(None)
                if account_id is None
                else ElementRow.account_id == account_id
            )
            rows = s.scalars(
                select(ElementRow)
                .where(owner, ElementRow.deleted_at.is_(None))
                .order_by(ElementRow.element_id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            return [_element(r) for r in rows]

    def delete_element(self, account_id: str, element_id: int) -> bool:
        with self._write() as s:
            result = s.execute(
                update(ElementRow)
                .where(
                    ElementRow.element_id == element_id,
                    ElementRow.account_id == account_id,
                    ElementRow.deleted_at.is_(None),
                )
                .values(deleted_at=now_ms())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
