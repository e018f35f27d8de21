"""Parsing of the resource-pack options of `omnivideo keys`."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_DAYS = re.compile(r"\s*([0-9]{1,5})\s*d\s*")


def expiry_ms(value: str | None, now: float | None = None) -> int | None:
    """``--expires``: '30d' from now, or an ISO date/time (UTC unless it says otherwise)."""
    if value is None or not value.strip():
        return None
    now = time.time() if now is None else now
    if match := _DAYS.fullmatch(value):
        return int((now + int(match.group(1)) * 86400) * 1000)
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"--expires: {value!r} is neither a date/time (2027-01-31) nor days ('30d')"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)
