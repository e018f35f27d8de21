"""Resource packs as use cases: grant units, reserve them at submit, settle at the end.

An account without packs is unlimited. With packs, a create reserves the units the task is
estimated to cost from a live pack, in the transaction that stores the task (the task store
does it: see ``TaskStore.insert``), or is refused with 1102 and queues nothing; a task that
succeeds is charged its ``final_unit_deduction``; one that fails or is cancelled is charged
nothing and its reservation returns to the pack.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from omnivideo.contract.billing import has_3x_price, units, units_3x
from omnivideo.contract.output import resolution_of
from omnivideo.contract.request import OmniRequest
from omnivideo.contract.rules import requested_seconds
from omnivideo.contract.task import Task
from omnivideo.store.interfaces import PackStore, now_ms, spending_order, units_short
from omnivideo.store.records import PackRecord


def milli(value: str | float | Decimal) -> int:
    return int((Decimal(str(value)) * 1000).to_integral_value())


def estimate(
    req: OmniRequest,
    *,
    count: int = 1,
    seconds: float | None = None,
    short_side: int | None = None,
    motion_control: bool = False,
) -> str:
    """Units a task will be billed, as the price table computes them at submit (the 3.x
    models' own table for them; ``short_side`` is a 3.x resolution's)."""
    video_input = bool(req.video_list)
    length = seconds if seconds is not None else float(requested_seconds(req))
    if video_input:
        length = max(1, round(length))
    sound = req.sound == "on"
    if has_3x_price(req.model_name):
        short = short_side or (720 if req.mode == "std" else 1080)
        return units_3x(
            req.model_name,
            resolution_of(short, short),
            length * count,
            video_input=video_input,
            sound=sound,
            motion_control=motion_control,
        )
    return units(req.mode, length * count, video_input=video_input, sound=sound)


def grant(
    store: PackStore, account_id: str, amount: float, *, expires_at: int | None, name: str = ""
) -> PackRecord:
    if amount <= 0:
        raise ValueError("a pack needs a positive number of units")
    label = name or f"Video Generation - {format(Decimal(str(amount)).normalize(), 'f')} units"
    now = now_ms()
    record = PackRecord(uuid.uuid4().hex, account_id, label, milli(amount), 0, now, expires_at)
    store.add(record)
    return record


def refuse_if_short(store: PackStore, account_id: str, milli: int) -> None:
    """1102 already, for a create whose inputs are still to be fetched: an account whose packs
    cannot pay is refused before the downloads. The insert pays (or refuses) exactly."""
    mine = store.of(account_id)
    now = now_ms()
    if mine and not spending_order(mine, milli, now):
        raise units_short(milli, mine, now)


def settle(store: PackStore, task: Task, billed: str | None) -> None:
    """A task ended: charge what it was billed (None: failed or cancelled, charge nothing)."""
    if task.pack is None:
        return
    charged = milli(billed) if billed is not None else 0
    store.adjust(task.pack.pack_id, charged - task.pack.milli)
