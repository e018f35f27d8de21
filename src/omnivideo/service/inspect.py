"""Operator views of a deployment's database, without a running server (`omnivideo tasks show`)."""

from __future__ import annotations

from typing import Any

from omnivideo.dialects import kling
from omnivideo.store.sql import open_sql_stores


def describe_task(db_url: str, task_id: str) -> dict[str, Any] | None:
    """The task as the official face shows it, plus its account and callback deliveries."""
    stores = open_sql_stores(db_url)
    try:
        task = stores.tasks.get(task_id)
        if task is None:
            return None
        data = kling.render_task(task)
        data["account_id"] = task.account_id
        data["callbacks"] = [
            {"seq": seq, "state": state, "attempts": attempts, "last_error": error}
            for seq, state, attempts, error in stores.outbox.of_task(task_id)
        ]
        return data
    finally:
        stores.close()
