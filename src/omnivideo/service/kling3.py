"""The 3.x API's use cases (docs/kling-3x.md): create on a model-in-path route, query several
tasks by id, and the cursor list. A 3.x task is a task like any other: stored under the
classic endpoint of its product, so every face of the account shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from omnivideo.contract.errors import OmniError, invalid
from omnivideo.contract.request import _shown
from omnivideo.contract.task import Task
from omnivideo.dialects import kling3
from omnivideo.service import tasks
from omnivideo.service.runtime import Runtime
from omnivideo.service.simulate import Simulation

#: most ids one ``GET /tasks`` answers
MAX_IDS: Final = 50
DEFAULT_PAGE_SIZE: Final = 20
MAX_PAGE_SIZE: Final = 100
#: tasks one list call looks through before it answers with what it found and a cursor
_SCAN_LIMIT: Final = 5000
_SCAN_PAGE: Final = 200


def submit(
    rt: Runtime,
    account_id: str,
    product: str,
    model: str,
    body: Any,
    simulation: Simulation | None = None,
    face: str = "kling",
) -> Task:
    """Create a task from a 3.x body sent to ``/{product}/{model}``."""
    parsed = kling3.parse_create(product, model, body)
    extras = tasks.SubmitExtras(
        endpoint=parsed.endpoint,
        omni_rules=True,
        short_side=parsed.short_side,
        video_seconds=parsed.video_seconds,
        character_orientation=parsed.character_orientation,
        callback_format="kling3",
        face=face,
        api_route=parsed.route,
        # The body as sent, for an engine that forwards it (the relay).
        request=body,
    )
    try:
        return tasks.submit(rt, account_id, parsed.request, simulation, extras)
    except OmniError as exc:
        raise parsed.explain(exc) from None


def _ids(raw: str, name: str) -> list[str]:
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if not ids:
        raise invalid(f"{name}: give at least one id (comma-separated)")
    if len(ids) > MAX_IDS:
        raise invalid(f"{name}: {len(ids)} ids; at most {MAX_IDS} in one query")
    return list(dict.fromkeys(ids))


def query(
    rt: Runtime, account_id: str, task_ids: str | None, external_task_ids: str | None
) -> list[Task]:
    """The account's tasks of the given ids, in the order asked; ids that name no task of
    the account are left out, and when none is found it is 1203."""
    if task_ids and external_task_ids:
        raise invalid("task_ids: give task_ids or external_task_ids, not both")
    if not task_ids and not external_task_ids:
        raise invalid("task_ids: is required (or external_task_ids), comma-separated")
    external = not task_ids
    name = "external_task_ids" if external else "task_ids"
    wanted = _ids(external_task_ids or "" if external else task_ids or "", name)
    found = []
    for ident in wanted:
        task = rt.stores.tasks.find(account_id, ident)
        if task is None:
            continue
        if (task.external_task_id if external else task.task_id) != ident:
            continue
        found.append(task)
    if not found:
        raise OmniError(1203, f"{name}: no task of this account has the id(s) {', '.join(wanted)}")
    return found


@dataclass(frozen=True)
class ListQuery:
    """``POST /tasks``'s body (our design: the sources do not show it)."""

    statuses: frozenset[str] = frozenset()
    products: frozenset[str] = frozenset()
    page_size: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None


def _words(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> frozenset[str]:
    value = body.get(name)
    if value is None or value == "":
        return frozenset()
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        at = f"{name}[{i}]" if isinstance(value, list) else name
        if not isinstance(item, str) or item not in allowed:
            raise invalid(f"{at}: must be one of {', '.join(allowed)}, got {_shown(item)}")
    return frozenset(items)


def parse_list(body: Any) -> ListQuery:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise invalid(f"body: must be a JSON object, got {_shown(body)}")
    size = body.get("page_size", DEFAULT_PAGE_SIZE)
    if size is None:
        size = DEFAULT_PAGE_SIZE
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise invalid(
            f"page_size: must be an integer from 1 to {MAX_PAGE_SIZE}, got {_shown(size)}"
        )
    cursor = body.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise invalid(f"cursor: must be the next_cursor of an earlier answer, got {_shown(cursor)}")
    return ListQuery(
        statuses=_words(body, "status", tuple(kling3.STATUS_OF_WORD)),
        products=_words(body, "product_type", kling3.PRODUCT_TYPES),
        page_size=size,
        cursor=cursor or None,
    )


def list_tasks(rt: Runtime, account_id: str, q: ListQuery) -> tuple[list[Task], str | None]:
    """A page of the account's tasks, newest first, that pass the filters; and the cursor of
    the next page (None at the end)."""
    after = None
    if q.cursor is not None:
        after = rt.stores.tasks.find(account_id, q.cursor)
        if after is None or after.task_id != q.cursor:
            raise invalid(f"cursor: {_shown(q.cursor)} is not a cursor of this account's list")
    found: list[Task] = []
    scanned = 0
    while scanned < _SCAN_LIMIT:
        page = rt.stores.tasks.list_after(account_id, after, _SCAN_PAGE, ascending=False)
        for task in page:
            scanned += 1
            after = task
            if q.statuses and kling3.STATUS_WORDS[task.status] not in q.statuses:
                continue
            if q.products and kling3.product_type(task) not in q.products:
                continue
            found.append(task)
            if len(found) == q.page_size:
                return found, task.task_id
        if len(page) < _SCAN_PAGE:
            return found, None
    # Looked through enough for one answer: the client goes on from here.
    return found, after.task_id if after is not None else None
