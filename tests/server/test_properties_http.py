"""Generated bodies (tests/fuzz.py says how many) against the whole app: never a 5xx, always a Kling envelope.

The app runs in-process (the same routes, auth, rules and service as a server, with the instant
engine), on a real SQLite and a real PostgreSQL store, so thousands of requests cost seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from tests.contract.strategies import omni_bodies
from tests.fuzz import EXAMPLES
from tests.twin import app_client_on


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[TestClient]:
    # Both databases: PostgreSQL refuses values SQLite takes, and must answer them alike.
    made = app_client_on(request.param, tmp_path_factory.mktemp("twin"), max_concurrent_tasks=10**9)
    with made as (c, key):
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(body=omni_bodies())
def test_any_body_gets_a_kling_envelope_over_http(client: TestClient, body: Any) -> None:
    r = client.post(
        "/v1/videos/omni-video",
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code < 500, r.text
    answer = r.json()
    assert set(answer) >= {"code", "message", "request_id"}
    if r.status_code == 200:
        assert answer["code"] == 0 and answer["data"]["task_status"] == "submitted"
    else:
        assert answer["code"] in (1201, 1203, 1303), answer
        assert answer["message"].strip()
