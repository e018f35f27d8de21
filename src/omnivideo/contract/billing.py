"""Kling units a finished task costs (reference §1.6), shown as `final_unit_deduction`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: units per second of output: (mode, has video input, has sound) -> units
_RATE = {
    ("std", False, False): Decimal("0.6"),
    ("std", False, True): Decimal("0.8"),
    ("std", True, False): Decimal("0.9"),
    ("std", True, True): Decimal("1.1"),
    ("pro", False, False): Decimal("0.8"),
    ("pro", False, True): Decimal("1.0"),
    ("pro", True, False): Decimal("1.2"),
    ("pro", True, True): Decimal("1.4"),
}


def units(mode: str, seconds: float, *, video_input: bool, sound: bool) -> str:
    """Units for ``seconds`` of output, as Kling writes them ("4", "4.5").

    A base video is billed on its length rounded to the nearest second, so callers pass the
    billed seconds, not the exact length.
    """
    rate = _RATE[(mode, video_input, sound)]
    total = (rate * Decimal(str(seconds))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = format(total.normalize(), "f")
    return text
