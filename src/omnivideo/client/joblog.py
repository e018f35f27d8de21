"""The CLI's local job log: every create is written down before it is sent.

A row is added with the ``external_task_id`` *before* the create request leaves, then filled
in with the task id, each status change and the downloaded files. If the terminal dies
mid-create, ``omnivideo tasks wait`` still finds the task by its external id; nothing paid for
is lost. The log is SQLite in the user dir (``$OMNIVIDEO_HOME``, else the platform's data
dir) and migrates itself on open: each migration is a named function, applied once and
recorded in ``_migrations``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnivideo.contract.task import TaskView

__all__ = ["CREATING", "REFUSED", "Job", "JobLog", "user_dir"]

#: the status of a job whose create was sent but not (yet) answered
CREATING = "creating"
#: the status of a job whose create was refused: no task exists
REFUSED = "refused"
#: inputs longer than this (Base64) are not copied into the log
_LONG = 512


def user_dir() -> Path:
    """``$OMNIVIDEO_HOME``, else ~/.local/share/omnivideo (XDG), ~/Library/Application
    Support/omnivideo (macOS) or %APPDATA%/omnivideo (Windows)."""
    if home := os.environ.get("OMNIVIDEO_HOME"):
        return Path(home).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "omnivideo"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "omnivideo"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "omnivideo"


def _m001_jobs(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            provider TEXT NOT NULL,
            base_url TEXT NOT NULL,
            external_task_id TEXT,
            task_id TEXT,
            status TEXT NOT NULL,
            status_msg TEXT NOT NULL DEFAULT '',
            prompt TEXT NOT NULL DEFAULT '',
            request TEXT NOT NULL,
            files TEXT NOT NULL DEFAULT '[]',
            output TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX jobs_task_id ON jobs (task_id)")
    db.execute("CREATE INDEX jobs_external_task_id ON jobs (external_task_id)")


#: applied in order, each once; append, never edit
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_m001_jobs]


@dataclass(frozen=True)
class Job:
    """One create, as the log remembers it."""

    id: int
    provider: str
    base_url: str
    external_task_id: str | None
    task_id: str | None
    #: "creating", or the task's last known status
    status: str
    status_msg: str
    prompt: str
    request: dict[str, Any]
    files: tuple[str, ...]
    #: where the videos are to be saved (``-o``), if the command said
    output: str | None
    created_at: int
    updated_at: int

    @property
    def ident(self) -> str:
        """The id to look the task up by at its provider."""
        return self.task_id or self.external_task_id or str(self.id)

    @property
    def is_final(self) -> bool:
        return self.status in ("succeed", "failed", REFUSED)


def _compact(value: Any) -> Any:
    """The request without its Base64 payloads (the log keeps what was asked, not the bytes)."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    if isinstance(value, str) and len(value) > _LONG and not value.startswith("http"):
        return f"<{len(value)} characters of Base64>"
    return value


def _now() -> int:
    return int(time.time() * 1000)


class JobLog:
    """The job log at ``path`` (default: ``user_dir()/jobs.db``), migrated on open."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or user_dir() / "jobs.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            self._migrate(db)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.row_factory = sqlite3.Row
            with db:
                yield db

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at INTEGER)"
        )
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        for migration in MIGRATIONS:
            if migration.__name__ not in done:
                migration(db)
                db.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                    (migration.__name__, _now()),
                )

    def migrations(self) -> list[str]:
        with self._db() as db:
            return [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY rowid")]

    def begin(
        self,
        provider: str,
        base_url: str,
        request: dict[str, Any],
        external_task_id: str | None,
        output: str | None = None,
    ) -> Job:
        """Write the job down before its create is sent."""
        now = _now()
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO jobs (provider, base_url, external_task_id, status, prompt, request,"
                " output, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    provider,
                    base_url,
                    external_task_id,
                    CREATING,
                    str(request.get("prompt") or ""),
                    json.dumps(_compact(request)),
                    output,
                    now,
                    now,
                ),
            )
            job_id = int(cursor.lastrowid or 0)
        job = self.get(job_id)
        assert job is not None
        return job

    def record(self, job_id: int, task: TaskView) -> None:
        """The task as last seen at the provider."""
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET task_id = ?, status = ?, status_msg = ?, updated_at = ?,"
                " external_task_id = COALESCE(external_task_id, ?) WHERE id = ?",
                (
                    task.task_id,
                    task.status.value,
                    task.status_msg,
                    _now(),
                    task.external_task_id,
                    job_id,
                ),
            )

    def note(self, job_id: int, message: str, *, status: str | None = None) -> None:
        """A problem worth remembering: a create whose answer was lost, or that was refused
        (``status="refused"``: no task exists)."""
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET status_msg = ?, status = COALESCE(?, status), updated_at = ?"
                " WHERE id = ?",
                (message, status, _now(), job_id),
            )

    def add_files(self, job_id: int, files: Sequence[Path | str]) -> None:
        job = self.get(job_id)
        if job is None:
            return
        merged = list(dict.fromkeys([*job.files, *(str(Path(f).resolve()) for f in files)]))
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET files = ?, updated_at = ? WHERE id = ?",
                (json.dumps(merged), _now(), job_id),
            )

    def get(self, job_id: int) -> Job | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def find(self, ident: str) -> Job | None:
        """A job by task id, external task id or local number (newest first)."""
        with self._db() as db:
            row = db.execute(
                "SELECT * FROM jobs WHERE task_id = ? OR external_task_id = ?"
                " ORDER BY id DESC LIMIT 1",
                (ident, ident),
            ).fetchone()
            if (
                row is None
                and ident.lstrip("#").isascii()
                and ident.lstrip("#").isdigit()
                and len(ident) < 10
            ):
                row = db.execute(
                    "SELECT * FROM jobs WHERE id = ?", (int(ident.lstrip("#")),)
                ).fetchone()
        return _job(row) if row else None

    def list(self, limit: int = 20, *, pending: bool = False) -> list[Job]:
        where = "WHERE status NOT IN ('succeed', 'failed', 'refused')" if pending else ""
        with self._db() as db:
            rows = db.execute(
                f"SELECT * FROM jobs {where} ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_job(row) for row in rows]


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        provider=row["provider"],
        base_url=row["base_url"],
        external_task_id=row["external_task_id"],
        task_id=row["task_id"],
        status=row["status"],
        status_msg=row["status_msg"],
        prompt=row["prompt"],
        request=json.loads(row["request"]),
        files=tuple(json.loads(row["files"])),
        output=row["output"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
