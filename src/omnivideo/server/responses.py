"""JSON answers that can always be sent, whatever text a stored task holds."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


class TolerantJSONResponse(JSONResponse):
    """Like ``JSONResponse``, but text that is not valid Unicode (a lone surrogate stored before
    the body parser refused them) is sent as a ``\\uXXXX`` escape instead of failing the
    answer, so a stored task can always be read back."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")
