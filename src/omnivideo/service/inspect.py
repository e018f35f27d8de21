"""Operator views of a data directory, without a running server (`omnivideo tasks show --data-dir`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnivideo.dialects import kling
from omnivideo.store.db import make_engine, migrate, sqlite_url
from omnivideo.store.repo import Store


def describe_task(data_dir: Path, task_id: str) -> dict[str, Any] | None:
    """The task as the official face shows it, plus its account and callback deliveries."""
    engine = make_engine(sqlite_url(data_dir / "omnivideo.db"))
    try:
        migrate(engine)
        store = Store(engine)
        task = store.get_task(task_id)
        if task is None:
            return None
        data = kling.render_task(task)
        data["account_id"] = task.account_id
        data["callbacks"] = [
            {"seq": seq, "state": state, "attempts": attempts, "last_error": error}
            for seq, state, attempts, error in store.callbacks_of(task_id)
        ]
        return data
    finally:
        engine.dispose()
