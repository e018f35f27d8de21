"""Refuse request text that cannot be stored and sent back: lone UTF-16 surrogates.

JSON lets ``"\\ud800"`` through as an escape, and Python's parser turns it into a ``str`` that no
UTF-8 encoder accepts. Such a value would be stored with the task and then break every answer
that shows it, so it is refused at the body parser, with the field's path, before any task
exists.
"""

from __future__ import annotations

import re
from typing import Any

from omnivideo.contract.errors import invalid

# A lone surrogate can only enter through a \\uD800-\\uDFFF escape (raw UTF-8 bytes of one are
# already refused by the decoder), so bodies without one skip the walk.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def has_escaped_surrogate(raw: bytes) -> bool:
    return _SURROGATE_ESCAPE.search(raw) is not None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refuse_lone_surrogates(value: Any, path: str = "") -> None:
    """Raise ``OmniError(1201)`` naming the first string (or key) in ``value`` that holds a lone
    surrogate; paired surrogates were already joined into one character by the parser."""
    if isinstance(value, str):
        if not _encodable(value):
            where = path or "request body"
            raise invalid(f"{where}: is not valid Unicode text (it holds a lone surrogate)")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            child = f"{path}.{name}" if path else name
            if not _encodable(name):
                raise invalid(f"{path or 'request body'}: a field name is not valid Unicode text")
            refuse_lone_surrogates(item, child)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            refuse_lone_surrogates(item, f"{path}[{i}]")
