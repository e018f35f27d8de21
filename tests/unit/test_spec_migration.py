"""Tasks queued before an upgrade still render after it: the migration to task spec version 3
moves what a worker used to read from the task's options and request into the spec."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, select

from omnivideo.contract.request import parse_request
from omnivideo.contract.spec import SPEC_VERSION, load, plan
from omnivideo.store.db import alembic_config, make_engine
from omnivideo.store.sql import open_sql_stores
from omnivideo.store.tables import ACCOUNTS, TASKS
from tests import pg

REQUEST = {
    "model_name": "kling-video-o1",
    "prompt": "<<<element_2>>> waves at <<<element_1>>>",
    "element_list": [{"element_id": 7}, {"element_id": 9}],
}
#: a classic image2video's own body, as stored for the relay before version 3
ENDPOINT_BODY = {"model_name": "kling-v1", "prompt": "a kite", "image": "https://x/i.png"}
BRUSH = {
    "moving": [{"key": "inputs/brush-1/mask_1.png", "trajectory": [[1, 2], [3, 4]]}],
    "static_mask": "inputs/brush-1/static_mask.png",
}


def _v2_spec() -> dict[str, Any]:
    """A spec as omnivideo wrote it before version 3 (a shot may be empty)."""
    spec = plan(parse_request(REQUEST)).model_dump(mode="json")
    for key in ("request", "api_route", "motion_brush", "simulation"):
        spec.pop(key)
    spec["version"] = 2
    spec["elements"] = [
        {"element_id": 9, "name": "b", "frontal_key": "inputs/e/9.png", "refer_keys": []},
        {"element_id": 7, "name": "a", "frontal_key": "inputs/e/7.png", "refer_keys": []},
    ]
    spec["shots"] = [*spec["shots"], {"prompt": "", "frames": 0}]
    return spec


def _row(task_id: str, status: str, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "number": int(task_id[-6:]),
        "account_id": "acc",
        "status": status,
        "status_msg": "",
        "request": REQUEST,
        "endpoint": "image2video",
        "spec": _v2_spec(),
        "options": options,
        "videos": [],
        "final_unit_deduction": "0",
        "progress": 0.0,
        "attempts": 0,
        "not_before": 0,
        "queue": "preview",
        "worker": "",
        "heartbeat_at": 0,
        "created_at": 1,
        "updated_at": 1,
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    with pg.fresh_database() as made:
        yield made


def test_unfinished_tasks_are_brought_to_spec_version_3(url: str) -> None:
    command.upgrade(alembic_config(url), "0004")
    engine = make_engine(url)
    queued = {
        "face": "useapi",
        "reply_ref": "r-1",
        "endpoint_request": ENDPOINT_BODY,
        "motion_brush_keys": BRUSH,
        "simulation": {"delay_s": 2.0, "fail_code": 1301},
        "estimate_s": 10.0,
    }
    with engine.begin() as conn:
        conn.execute(insert(ACCOUNTS).values(id="acc", name="a", webhook_secret="w", created_at=1))
        conn.execute(insert(TASKS).values(_row("100000000000000001", "submitted", queued)))
        conn.execute(insert(TASKS).values(_row("100000000000000002", "succeed", queued)))
    engine.dispose()
    command.upgrade(alembic_config(url), "head")

    stores = open_sql_stores(url)
    try:
        task = stores.tasks.get("100000000000000001")
        assert task is not None
        spec = load(task.spec or {})  # a worker reads it
        assert spec.version == SPEC_VERSION == 3
        assert spec.request == ENDPOINT_BODY
        assert (
            spec.motion_brush is not None and spec.motion_brush.static_key == BRUSH["static_mask"]
        )
        assert [(m.key, m.trajectory) for m in spec.motion_brush.moving] == [
            ("inputs/brush-1/mask_1.png", ((1, 2), (3, 4)))
        ]
        assert spec.simulation is not None
        assert (spec.simulation.delay_s, spec.simulation.fail_code) == (2.0, 1301)
        # <<<element_N>>> counts in the request's list, whatever order the spec kept them in.
        assert [(e.element_id, e.position) for e in spec.elements] == [(9, 2), (7, 1)]
        assert all(s.frames > 0 for s in spec.shots)
        # What faces read stays where it was; what moved is gone from the options.
        assert (task.face, task.reply_ref) == ("useapi", "r-1")
        with make_engine(url).connect() as conn:
            column = conn.execute(
                select(TASKS.c.options).where(TASKS.c.task_id == "100000000000000001")
            ).scalar_one()
        assert column == {"face": "useapi", "reply_ref": "r-1"}
        # A finished task is never rendered again: its spec is left as it was.
        done = stores.tasks.get("100000000000000002")
        assert done is not None and (done.spec or {})["version"] == 2
    finally:
        stores.close()
