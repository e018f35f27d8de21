"""Kling business codes and the one error type that carries them.

Every layer raises :class:`OmniError`; each face turns it into its own wire form.
The HTTP status belongs to the code (reference §1.11), so nobody picks a status by hand.

    OmniError(code, message)
      code 1000-1004  authentication        -> 401
      code 1100-1103  account               -> 429 / 403
      code 1200-1203  invalid request       -> 400 / 404
      code 1300-1304  platform strategy     -> 400 / 429
      code 5000-5002  internal              -> 500 / 503 / 504
"""

from __future__ import annotations

from typing import Final

#: code -> (HTTP status, default message). The messages follow Kling's English docs.
KLING_CODES: Final[dict[int, tuple[int, str]]] = {
    0: (200, "SUCCEED"),
    1000: (401, "Authentication failed"),
    1001: (401, "Authorization is empty"),
    1002: (401, "Authorization is invalid"),
    1003: (401, "Authorization is not yet valid"),
    1004: (401, "Authorization has expired"),
    1100: (429, "Account exception"),
    1101: (429, "Account in arrears"),
    1102: (429, "Resource pack depleted or expired"),
    1103: (403, "Unauthorized access to requested resource"),
    1200: (400, "Invalid request parameters"),
    1201: (400, "Invalid parameters"),
    1202: (404, "The requested method is invalid"),
    1203: (404, "The requested resource does not exist"),
    1300: (400, "Trigger strategy of the platform"),
    1301: (400, "Trigger the content security policy of the platform"),
    1302: (429, "The API request is too fast, exceeding the platform's rate limit"),
    1303: (429, "parallel task over resource pack limit"),
    1304: (429, "Trigger the platform's IP whitelisting policy"),
    5000: (500, "Server internal error"),
    5001: (503, "Server temporarily unavailable"),
    5002: (504, "Server internal timeout"),
}


def http_status_for(code: int) -> int:
    """The HTTP status Kling answers with for a business code (500 for unknown codes)."""
    return KLING_CODES.get(code, (500, ""))[0]


def default_message(code: int) -> str:
    return KLING_CODES.get(code, (500, "Server internal error"))[1]


class OmniError(Exception):
    """A request or task failed with a Kling business code."""

    def __init__(self, code: int, message: str | None = None, *, status: int | None = None) -> None:
        self.code = code
        self.message = message or default_message(code)
        #: an HTTP status other than the code's own (409 for a reused Idempotency-Key)
        self.status = status
        super().__init__(f"{code}: {self.message}")

    @property
    def http_status(self) -> int:
        return self.status or http_status_for(self.code)


def invalid(message: str) -> OmniError:
    """Shorthand for the most common error: code 1201, a field path and the rule."""
    return OmniError(1201, message)
