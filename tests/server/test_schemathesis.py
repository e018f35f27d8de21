"""Schemathesis against the server's own OpenAPI document: every operation of every face,
fuzzed with bodies, parameters and forms generated from the document, never answers 5xx and
answers only statuses, media types and bodies the document declares.

The app runs in-process (the same routes, auth, rules and service as a server, with the instant
engine), once on SQLite and once on PostgreSQL, so each run costs well under a minute.
Schemathesis's examples and coverage phases add their own cases to the ``MAX_EXAMPLES`` fuzzed
ones of each operation.

Not checked: that schema-valid bodies are accepted (the contract's rules refuse many of them,
e.g. an image URL that cannot be fetched), that schema-violating ones are refused (Kling's
clients send ``""`` for unset fields, which the server accepts as unset), and 405 for methods
the document does not list (Kling answers 1202, and so does omnivideo).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.twin import app_client_on

#: fuzzed cases per operation
MAX_EXAMPLES = 5
#: the account's event stream never ends: it is cut after this long and checked as it stands
STREAM_TIMEOUT_S = 1.0
#: any other answer, generous: the machine running the suite may be busy
REQUEST_TIMEOUT_S = 30.0
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def without_lifespan(app: ASGIApp) -> ASGIApp:
    """``app`` with its lifespan left to the fixture, which starts and stops the runtime; a
    lifespan Schemathesis started would run until the interpreter exits."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        await app(scope, receive, send)

    return serve


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def twin(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[TestClient, str]]:
    # On both databases: PostgreSQL refuses values SQLite takes (a NUL in a text, an integer
    # wider than its column), and a request carrying one must get the same 4xx on both.
    with app_client_on(
        request.param,
        tmp_path_factory.mktemp("twin"),
        max_concurrent_tasks=10**9,
        events_poll_s=0.05,
    ) as (client, key):
        yield client, key


@pytest.fixture(scope="module")
def api_schema(twin: tuple[TestClient, str]) -> schemathesis.BaseSchema:
    client, key = twin
    loaded = schemathesis.openapi.from_asgi("/openapi.json", without_lifespan(client.app))
    loaded.config.update(headers={"Authorization": f"Bearer {key}"})
    loaded.config.generation.update(max_examples=MAX_EXAMPLES, database="none")
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


def streams(operation: schemathesis.APIOperation) -> bool:
    answers = operation.definition.raw["responses"]
    return any("text/event-stream" in answer.get("content", {}) for answer in answers.values())


@pytest.mark.slow
@schema.parametrize()
def test_every_operation_answers_as_documented(case: schemathesis.Case) -> None:
    timeout = STREAM_TIMEOUT_S if streams(case.operation) else REQUEST_TIMEOUT_S
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        # A path that breaks its parameter's pattern (an OpenAI id without `video_`) is not
        # this operation's: another route answers it, so only its status class is checked.
        case.call_and_validate(checks=[not_a_server_error], timeout=timeout)
    else:
        case.call_and_validate(checks=CONFORMANCE, timeout=timeout)


#: requests Schemathesis once answered with a 5xx, and what they must get instead
FOUND = [
    # "¹".isdigit() is true, so useapi's task lookup took it for a task number: int() failed.
    ("/v1/kling/tasks/%C2%B9", 404, {"error": "task '¹' does not exist", "code": 404}),
]


@pytest.mark.parametrize(("path", "status", "answer"), FOUND)
def test_what_fuzzing_found_stays_fixed(
    twin: tuple[TestClient, str], path: str, status: int, answer: dict[str, object]
) -> None:
    client, key = twin
    got = client.get(path, headers={"Authorization": f"Bearer {key}"})
    assert (got.status_code, got.json()) == (status, answer)
