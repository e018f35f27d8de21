"""Completing FastAPI's OpenAPI document from what each route states and does.

FastAPI sees no request bodies (routes read them themselves) and adds a 422 that is never
answered (:mod:`omnivideo.server.errors` answers validation errors as the face's 1201, HTTP
400). For every route in the document this adds:

- the request body, from the route's ``describe`` types: JSON, and forms where the route
  reads them (it depends on ``form_or_json``);
- the success answer's type and media type, and the query parameters read by hand;
- the errors the route answers, grouped by the HTTP status its face gives each Kling code,
  in its face's error body; FastAPI's 422 goes;
- the bearer credential, on routes that take one (unless the server runs without auth).

A route in the document without ``describe``, or one that reads a body it does not describe,
is a programming error and fails the build, so the document cannot silently fall behind.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from omnivideo.server import deps
from omnivideo.server.errors import Face
from omnivideo.server.openapi import content, errors
from omnivideo.server.openapi.components import Components
from omnivideo.server.openapi.operation import JSON, Operation, declared
from omnivideo.service import idempotency

#: FastAPI's schemas for the 422 this server never answers
FASTAPI_422_SCHEMAS = ("HTTPValidationError", "ValidationError")
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An omnivideo API key (`ov-…`), or a Kling JWT signed (HS256) with the "
    "secret key, its `iss` the access key.",
}


def install(app: FastAPI, *, auth: bool) -> None:
    """Serve the completed document at ``app.openapi_url`` (built once, on first request)."""
    fastapi_document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = copy.deepcopy(fastapi_document())
            app.openapi_schema = complete(document, list(_schema_routes(app)), auth=auth)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


Routes = list[tuple[str, set[str], APIRoute]]


def _schema_routes(app: FastAPI) -> Iterator[tuple[str, set[str], APIRoute]]:
    """(path, methods, route) of every route in the document, prefixes applied."""
    # FastAPI 0.150+ keeps included routers lazily; older versions copy routes into the app.
    contexts: Callable[[Any], Iterable[Any]] | None = getattr(routing, "iter_route_contexts", None)
    entries: Iterable[Any] = contexts(app.routes) if contexts else app.routes
    for entry in entries:
        route = getattr(entry, "original_route", entry)
        if isinstance(route, APIRoute) and entry.include_in_schema:
            yield entry.path_format, set(entry.methods or ()), route


def complete(document: dict[str, Any], routes: Routes, *, auth: bool) -> dict[str, Any]:
    """``document`` (FastAPI's, for ``routes``) with bodies, answers, errors and credentials."""
    components = _components(routes)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_422_SCHEMAS:
        schemas.pop(name, None)
    for path, methods, route in routes:
        operation = _operation_of(route)
        for method in methods:
            entry = document["paths"][path][method.lower()]
            _complete_operation(entry, route, operation, components, auth=auth)
    clash = set(schemas) & set(components.definitions)
    if clash:
        raise RuntimeError(f"OpenAPI schema names used twice: {sorted(clash)}")
    schemas.update(components.definitions)
    if auth:
        document["components"]["securitySchemes"] = {"bearer": BEARER}
    return document


def _components(routes: Routes) -> Components:
    components = Components()
    for face_error in errors.ERROR_BODY.values():
        components.add(face_error, "serialization")
    for _, _, route in routes:
        operation = _operation_of(route)
        for kind in (operation.body, operation.form):
            if kind is not None:
                components.add(kind, "validation")
        if operation.answer is not None:
            components.add(operation.answer, "serialization")
    components.build()
    return components


def _operation_of(route: APIRoute) -> Operation:
    operation = declared(route.endpoint)
    if operation is None:
        raise LookupError(f"{route.path}: the route has no @describe(...) for the OpenAPI document")
    return operation


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _complete_operation(
    entry: dict[str, Any],
    route: APIRoute,
    operation: Operation,
    components: Components,
    *,
    auth: bool,
) -> None:
    calls = set(_calls(route.dependant))
    forms = deps.form_or_json in calls
    codes = list(operation.errors)
    if forms or deps.json_body in calls:
        if operation.body is None:
            raise LookupError(f"{route.path}: the route reads a body but describes none")
        # Malformed or too large, or text that is not Unicode; a form's files may fill the disk.
        codes += errors.BODY + (errors.STORED if forms else ())
    body = content.request_body(operation, components, forms=forms)
    if body is not None:
        entry["requestBody"] = body
    if operation.headers or operation.query:
        entry.setdefault("parameters", []).extend(operation.headers + operation.query)
    if deps.current_account in calls:
        # Every call of an account reads the database (its credentials, at least).
        codes += errors.DOWN
        if auth:
            entry["security"] = [{"bearer": []}]
            codes += errors.AUTH

    responses: dict[str, Any] = entry.setdefault("responses", {})
    responses.pop("422", None)
    success = responses.setdefault(str(route.status_code or 200), {"description": "Success"})
    success["content"] = content.answer(operation, components)
    face: Face = getattr(route, "route_face", "kling")
    error_body = components.schema(errors.ERROR_BODY[face], "serialization")
    for status, status_codes in errors.by_status(face, tuple(codes)).items():
        responses[str(status)] = {
            "description": errors.describe_codes(status_codes),
            "content": {JSON: {"schema": error_body}},
            **({"headers": errors.RETRY_AFTER} if status == 503 else {}),
        }
    if any(p["name"] == idempotency.HEADER for p in operation.headers):
        responses[str(idempotency.CONFLICT)] = {
            "description": f"1201: the {idempotency.HEADER} was used with another request in "
            "the last 24 hours, or its first request is still being created",
            "content": {JSON: {"schema": error_body}},
        }
