"""task specs v3: what a worker reads moves from the task's options into its spec

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 06:00:00

Version 3 of the task spec carries everything a worker reads of a task: the endpoint's own
body (``request``), a 3.x task's ``api_route``, the motion brush's stored masks, the simulation
and the request-list position of each element. Before, a worker read these from the task's
``options`` column and its ``request``. Unfinished tasks are brought up to version 3 here, so
they render after the upgrade; finished tasks are never rendered again and keep theirs.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_tasks = sa.table(
    "tasks",
    sa.column("task_id", sa.String),
    sa.column("status", sa.String),
    sa.column("request", sa.JSON),
    sa.column("spec", sa.JSON),
    sa.column("options", sa.JSON),
)
#: the options keys whose facts move into the spec
_MOVED = ("endpoint_request", "api_route", "motion_brush_keys", "simulation", "estimate_s")


def upgraded(
    spec: dict[str, Any], request: dict[str, Any], options: dict[str, Any]
) -> dict[str, Any]:
    """A version 1 or 2 spec as version 3, from the task's stored request and options."""
    out = dict(spec)
    out["version"] = 3
    out["request"] = options.get("endpoint_request") or request
    out["api_route"] = options.get("api_route")
    brush = options.get("motion_brush_keys")
    out["motion_brush"] = (
        {
            "moving": [
                {"key": g["key"], "trajectory": [list(p) for p in g["trajectory"]]}
                for g in brush.get("moving", [])
            ],
            "static_key": brush.get("static_mask"),
        }
        if brush
        else None
    )
    sim = options.get("simulation") or {}
    out["simulation"] = (
        {
            "delay_s": float(sim.get("delay_s") or 0.0),
            "fail_code": sim.get("fail_code"),
            "fail_msg": sim.get("fail_msg"),
        }
        if sim.get("delay_s") or sim.get("fail_code") is not None
        else None
    )
    # Each element's position in the request's list (what <<<element_N>>> points at).
    wanted = [
        str(item.get("element_id"))
        for item in request.get("element_list") or []
        if isinstance(item, dict)
    ]
    elements: list[dict[str, Any]] = []
    for element in spec.get("elements") or []:
        ident = str(element["element_id"])
        position = next(
            (i for i, w in enumerate(wanted, start=1) if w == ident),
            len(wanted) + len(elements) + 1,
        )
        if position <= len(wanted):
            wanted[position - 1] = ""  # a repeated element takes its next place
        elements.append({**element, "position": position})
    out["elements"] = elements
    # Version 3 has no empty shots (more shots than frames left some without one).
    out["shots"] = [s for s in spec.get("shots") or [] if int(s.get("frames", 0)) > 0]
    return out


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_tasks.c.task_id, _tasks.c.request, _tasks.c.spec, _tasks.c.options).where(
            _tasks.c.status.in_(("submitted", "processing")), _tasks.c.spec.is_not(None)
        )
    ).all()
    for task_id, request, spec, options in rows:
        if not spec or int(spec.get("version", 1)) >= 3:
            continue
        options = dict(options or {})
        conn.execute(
            sa.update(_tasks)
            .where(_tasks.c.task_id == task_id)
            .values(
                spec=upgraded(spec, dict(request or {}), options),
                options={k: v for k, v in options.items() if k not in _MOVED},
            )
        )


def downgrade() -> None:
    # Version 3 specs keep the older fields; an older worker refuses them by their version, so
    # a downgrade leaves unfinished tasks to be submitted again.
    pass
