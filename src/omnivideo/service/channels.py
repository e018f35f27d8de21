"""useapi-style accounts: an email under an omnivideo account, with its own `maxJobs`."""

from __future__ import annotations

import re

from omnivideo.contract.errors import invalid
from omnivideo.service.runtime import Runtime

# No control characters: a NUL cannot be stored on PostgreSQL, and no address has one.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
MAX_JOBS = 50


def checked_email(email: object) -> str:
    if not isinstance(email, str) or not _EMAIL.match(email) or len(email) > 200:
        raise invalid("email: must be an email address")
    return email


def put(rt: Runtime, account_id: str, email: object, max_jobs: object) -> tuple[str, int]:
    email = checked_email(email)
    try:
        jobs = int(str(max_jobs))
    except ValueError:
        raise invalid(f"maxJobs: must be an integer from 1 to {MAX_JOBS}") from None
    if not 1 <= jobs <= MAX_JOBS:
        raise invalid(f"maxJobs: must be from 1 to {MAX_JOBS}, got {jobs}")
    rt.stores.accounts.put_channel(account_id, email, jobs)
    return email, jobs


def all_of(rt: Runtime, account_id: str) -> dict[str, int]:
    return rt.stores.accounts.channels(account_id)
