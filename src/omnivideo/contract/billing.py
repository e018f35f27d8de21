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


#: the 3.x API's units per second of output (its reference §5), by model and resolution:
#: (model, resolution) -> (no sound, sound, video input). Motion control is its own product.
_RATE_3X: dict[tuple[str, str], tuple[str, str, str]] = {
    ("kling-3.0", "720p"): ("0.6", "0.9", "0.9"),
    ("kling-3.0", "1080p"): ("0.8", "1.2", "1.2"),
    ("kling-3.0", "4k"): ("3.0", "3.0", "3.0"),
    ("kling-3.0-turbo", "720p"): ("0.8", "0.8", "0.8"),
    ("kling-3.0-turbo", "1080p"): ("1.0", "1.0", "1.0"),
    ("kling-3.0-omni", "720p"): ("0.6", "0.8", "0.9"),
    ("kling-3.0-omni", "1080p"): ("0.8", "1.0", "1.2"),
    ("kling-3.0-omni", "4k"): ("3.0", "3.0", "3.0"),
    ("kling-o1", "720p"): ("0.6", "0.6", "0.9"),
    ("kling-o1", "1080p"): ("0.8", "0.8", "1.2"),
}
_MOTION_RATE = {"720p": Decimal("0.9"), "1080p": Decimal("1.2"), "4k": Decimal("1.2")}


def has_3x_price(model: str) -> bool:
    return any(m == model for m, _ in _RATE_3X)


def units_3x(
    model: str,
    resolution: str,
    seconds: float,
    *,
    video_input: bool,
    sound: bool,
    motion_control: bool = False,
) -> str:
    """Units of a 3.x task, as its price table has them ("4", "4.5")."""
    if motion_control:
        rate = _MOTION_RATE[resolution]
    else:
        plain, with_sound, with_video = _RATE_3X[(model, resolution)]
        rate = Decimal(with_video if video_input else with_sound if sound else plain)
    total = (rate * Decimal(str(seconds))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return format(total.normalize(), "f")
