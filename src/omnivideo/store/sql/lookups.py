"""Lookup values that no row can hold: a lookup by one of them finds nothing, on both databases.

Ids reach the store straight from requests (a path, a query, a body, a token's claim).
SQLite compares any value and finds no row; PostgreSQL refuses, before running the query, a
text parameter holding a NUL character and an integer wider than its column, so the same
request failed there as an internal error. No stored text holds a NUL (the contract refuses
them on the way in) and no stored id is out of its column's range, so answering "no such row"
for them is exact.
"""

from __future__ import annotations

from collections.abc import Iterable

#: an ``Integer`` column: 32 bits on PostgreSQL; SQLite's integers are 64 bits
INT32 = range(-(2**31), 2**31)
#: a ``BigInteger`` column (and any SQLite integer)
INT64 = range(-(2**63), 2**63)


def can_match(*values: str | None) -> bool:
    """Whether a stored text could equal each of ``values`` (a NUL never can)."""
    return not any(value is not None and "\x00" in value for value in values)


def integer_ids(ids: Iterable[int], *, sqlite: bool) -> list[int]:
    """The ids an ``Integer`` column could hold; the others match no row."""
    bounds = INT64 if sqlite else INT32
    return [i for i in ids if i in bounds]
