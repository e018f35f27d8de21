"""What a route states about itself for the OpenAPI document: ``@describe(...)``.

Only what the code cannot show is stated here: the body's and the answer's types, the query
parameters and headers a handler reads by hand, and the Kling codes its own logic answers with. Whether a
route reads JSON or forms, takes credentials or declares parameters is read from its
dependencies by :mod:`.document`, so it cannot drift from what the route does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

JSON = "application/json"
EVENT_STREAM = "text/event-stream"


@dataclass(frozen=True)
class Operation:
    #: the JSON body's type (a pydantic model or a TypedDict)
    body: Any = None
    #: a form body's type, when it differs from the JSON one (flat fields instead of objects)
    form: Any = None
    #: form fields that may also be sent as file parts of a multipart body
    uploads: tuple[str, ...] = ()
    #: media types of a body that is the upload itself (raw bytes)
    raw_body: tuple[str, ...] = ()
    #: the success answer's type (each event's data, for an event stream); None for bytes or text
    answer: Any = None
    media_type: str = JSON
    #: query parameters the handler reads itself (OpenAPI parameter objects)
    query: tuple[dict[str, Any], ...] = ()
    #: headers the handler reads itself (OpenAPI parameter objects; see server.deps)
    headers: tuple[dict[str, Any], ...] = ()
    #: Kling codes the route's own logic answers with, beyond credentials and body parsing
    errors: tuple[int, ...] = ()


_DECLARED: dict[Callable[..., Any], Operation] = {}


def describe(
    *,
    answer: Any = None,
    body: Any = None,
    form: Any = None,
    uploads: tuple[str, ...] = (),
    raw_body: tuple[str, ...] = (),
    media_type: str = JSON,
    query: tuple[dict[str, Any], ...] = (),
    headers: tuple[dict[str, Any], ...] = (),
    errors: tuple[int, ...] = (),
) -> Callable[[F], F]:
    """Record the route's :class:`Operation`; the endpoint itself is returned unchanged."""
    operation = Operation(body, form, uploads, raw_body, answer, media_type, query, headers, errors)

    def record(endpoint: F) -> F:
        _DECLARED[endpoint] = operation
        return endpoint

    return record


def declared(endpoint: Callable[..., Any]) -> Operation | None:
    return _DECLARED.get(endpoint)


def header_param(name: str, description: str) -> dict[str, Any]:
    """An optional text header, as FastAPI writes a declared ``Header()`` parameter."""
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {**schema, "description": description, "title": name},
        "description": description,
    }


def query_param(
    name: str, schema: dict[str, Any], description: str, *, required: bool = False
) -> dict[str, Any]:
    """A query parameter as OpenAPI writes it."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }
