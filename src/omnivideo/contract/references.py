"""``<<<image_N>>>``, ``<<<element_N>>>`` and ``<<<video_N>>>`` in prompts (reference §1.4).

N is 1-based and points into ``image_list``, ``element_list`` or ``video_list`` in list order.
"""

from __future__ import annotations

import re
from typing import Final, Literal

ReferenceKind = Literal["image", "element", "video"]

#: where each kind points; used in messages and by the rules
LIST_OF: Final[dict[ReferenceKind, str]] = {
    "image": "image_list",
    "element": "element_list",
    "video": "video_list",
}

# Nine digits at most: a longer run is not a plausible index, and int() of thousands of
# digits is slow (and refused by Python above 4300).
_REFERENCE: Final = re.compile(r"<<<(image|element|video)_([0-9]{1,9})>>>")


def find_references(prompt: str | None) -> list[tuple[ReferenceKind, int]]:
    """The references in ``prompt``, in the order they appear (repeats included).

    >>> find_references("<<<image_1>>> meets <<<element_2>>>")
    [('image', 1), ('element', 2)]
    """
    if not prompt:
        return []
    out: list[tuple[ReferenceKind, int]] = []
    for match in _REFERENCE.finditer(prompt):
        kind: ReferenceKind = match.group(1)  # type: ignore[assignment]
        out.append((kind, int(match.group(2))))
    return out


def caption(prompt: str | None) -> str:
    """``prompt`` with each reference written as plain words: ``[image 1]``, ``[element 2]``.

    Engines that take only text (or log prompts) use this form.
    """
    if not prompt:
        return ""
    return _REFERENCE.sub(lambda m: f"[{m.group(1)} {int(m.group(2))}]", prompt)
