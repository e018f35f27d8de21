"""The media types of a request body or an answer, as the document shows them.

A route that reads forms takes its JSON body's fields as a urlencoded form too, and as a
multipart form whose upload fields may be file parts. An event stream's schema is that of one
event (before OpenAPI 3.2, a sequential media type's ``schema`` describes each item).
"""

from __future__ import annotations

import copy
from typing import Any

from omnivideo.server.openapi.components import Components, ref, ref_name
from omnivideo.server.openapi.operation import EVENT_STREAM, JSON, Operation

MULTIPART = "multipart/form-data"
URLENCODED = "application/x-www-form-urlencoded"
BINARY = {"type": "string", "format": "binary"}


def request_body(
    operation: Operation, components: Components, *, forms: bool
) -> dict[str, Any] | None:
    """The ``requestBody`` of a route that reads JSON (and ``forms``) or raw bytes, else None."""
    if operation.raw_body:
        media = {media_type: {"schema": dict(BINARY)} for media_type in operation.raw_body}
        return {"required": True, "content": media}
    if operation.body is None:
        return None
    content = {JSON: {"schema": components.schema(operation.body, "validation")}}
    if forms:
        form = components.schema(operation.form or operation.body, "validation")
        content[MULTIPART] = {"schema": _with_files(form, operation.uploads, components)}
        content[URLENCODED] = {"schema": form}
    return {"required": True, "content": content}


def _with_files(
    form: dict[str, Any], uploads: tuple[str, ...], components: Components
) -> dict[str, Any]:
    """The form's schema with each upload field as a file part: a component of its own."""
    if not uploads:
        return form
    name = f"{ref_name(form)}Multipart"
    if name not in components.definitions:
        schema = copy.deepcopy(components.definitions[ref_name(form)])
        schema["title"] = name
        for field in uploads:
            schema["properties"][field] = {
                **BINARY,
                "description": "A file; as a text field, its URL or Base64.",
            }
        components.definitions[name] = schema
    return ref(name)


def answer(operation: Operation, components: Components) -> dict[str, Any]:
    """The success answer's ``content``."""
    if operation.answer is None:
        text = operation.media_type.startswith("text/")
        return {operation.media_type: {"schema": {"type": "string"} if text else dict(BINARY)}}
    schema = components.schema(operation.answer, "serialization")
    if operation.media_type == EVENT_STREAM:
        schema = _event(schema)
    return {operation.media_type: {"schema": schema}}


def _event(data: dict[str, Any]) -> dict[str, Any]:
    """One server-sent event: ``event: task``, a numbered ``id``, ``data`` as JSON text."""
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"const": "task"},
            "id": {"type": "string", "pattern": "^[0-9]+$"},
            "data": {"type": "string", "contentMediaType": JSON, "contentSchema": data},
        },
    }
