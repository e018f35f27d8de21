"""Simulation controls for people testing their integration against omnivideo.

Syntax (header ``X-Omnivideo-Simulate`` or setting ``OMNIVIDEO_SIMULATE``)::

    fail=1301; msg=content blocked; delay=20s; queue=5s

- ``fail=CODE``: the task fails with that Kling code (``msg`` sets ``task_status_msg``).
- ``queue=DURATION``: the task waits in ``submitted`` that long before processing.
- ``delay=DURATION``: processing takes that much longer.
Durations take ``ms``, ``s`` or ``m`` (seconds when bare).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from omnivideo.contract.errors import KLING_CODES, OmniError
from omnivideo.contract.spec import Rehearsal

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")
MAX_SECONDS = 3600.0


@dataclass(frozen=True)
class Simulation:
    fail_code: int | None = None
    fail_msg: str | None = None
    delay_s: float = 0.0
    queue_s: float = 0.0

    def rehearsal(self) -> Rehearsal | None:
        """What the render must do of it (the queueing is the submit's), for the task's spec."""
        if self.fail_code is None and not self.delay_s:
            return None
        return Rehearsal(delay_s=self.delay_s, fail_code=self.fail_code, fail_msg=self.fail_msg)

    def merged_over(self, base: Simulation) -> Simulation:
        """This simulation, with unset fields taken from ``base`` (the server-wide one)."""
        changes = {k: v for k, v in self.__dict__.items() if v not in (None, 0.0)}
        return replace(base, **changes)


def _seconds(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(text)
    value = float(match.group(1))
    unit = match.group(2) or "s"
    seconds = value / 1000 if unit == "ms" else value * 60 if unit == "m" else value
    if seconds > MAX_SECONDS:
        raise ValueError(text)
    return seconds


def parse(spec: str | None) -> Simulation:
    """Parse a simulation spec; a bad spec is OmniError 1201 naming the header."""
    if not spec or not spec.strip():
        return Simulation()
    fields: dict[str, Any] = {}
    for part in spec.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        value = value.strip()
        try:
            if not sep:
                raise ValueError(part)
            if key == "fail":
                code = int(value)
                if code == 0 or code not in KLING_CODES:
                    raise ValueError(value)
                fields["fail_code"] = code
            elif key in ("msg", "message"):
                fields["fail_msg"] = value[:500]
            elif key == "delay":
                fields["delay_s"] = _seconds(value)
            elif key == "queue":
                fields["queue_s"] = _seconds(value)
            else:
                raise ValueError(part)
        except ValueError:
            raise OmniError(
                1201,
                f"X-Omnivideo-Simulate: cannot read {part.strip()!r}; expected e.g. "
                "'fail=1301; msg=content blocked; delay=20s; queue=5s' (durations up to 1h)",
            ) from None
    return Simulation(**fields)
