"""Mocked edge cases: retries, Retry-After, JWT refresh, billing and policy, lost creates."""

from __future__ import annotations

import asyncio
import json

import httpx
import jwt
import pytest

from omnivideo.client import (
    AsyncClient,
    AuthenticationError,
    BillingError,
    Client,
    ContentPolicyError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    OmniVideoError,
    RateLimitError,
    ServerError,
    UnsupportedError,
    WaitTimeout,
)
from omnivideo.client._base import parse_retry_after
from omnivideo.client.errors import code_in, error_for_answer
from tests.client.fakes import SECRET, FakeKling, client_for, envelope, kling_error

BODY = {"prompt": "a kite", "model_name": "kling-v3-omni", "mode": "std", "duration": 3}


# -- the error mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (401, {"code": 1004, "message": "expired"}, AuthenticationError, 1004),
        (429, {"code": 1102, "message": "pack depleted"}, BillingError, 1102),
        (429, {"code": 1303, "message": "parallel"}, RateLimitError, 1303),
        (400, {"code": 1301, "message": "policy"}, ContentPolicyError, 1301),
        (404, {"code": 1203, "message": "no task"}, NotFoundError, 1203),
        (200, {"code": 1201, "message": "bad field"}, InvalidRequestError, 1201),
        (503, {"code": 5001, "message": "maintenance"}, ServerError, 5001),
        # useapi: `code` is the HTTP status, not a Kling code
        (429, {"error": "all accounts at capacity", "code": 429}, RateLimitError, None),
        (402, {"error": "Subscription required", "code": 402}, BillingError, None),
        (401, {"error": "Unauthorized", "code": 401}, AuthenticationError, None),
        # new-api relays
        (400, {"code": "task_failed", "message": "bad", "data": None}, InvalidRequestError, None),
        (502, None, ServerError, None),
    ],
)
def test_answers_map_to_one_hierarchy(status, body, cls, code) -> None:  # type: ignore[no-untyped-def]
    error = error_for_answer(status, body, request_id="r")
    assert type(error) is cls
    assert error is not None and error.code == code and error.request_id in ("r", None)


def test_success_answers_are_not_errors() -> None:
    assert error_for_answer(200, {"code": 0, "message": "SUCCEED", "data": {}}) is None
    assert error_for_answer(200, {"code": "success", "data": {}}) is None
    assert error_for_answer(200, {"status": 5, "task": {}}) is None


def test_failure_messages_name_their_code() -> None:
    assert code_in("Trigger the content security policy of the platform") == 1301
    assert code_in("1302: slow down") == 1302
    assert code_in("cancelled") is None


def test_retry_after_as_seconds_or_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None


# -- retries ----------------------------------------------------------------------------------


def test_429_sequence_honours_retry_after_then_succeeds() -> None:
    fake = FakeKling()
    fake.script = [
        kling_error(1303, 429, "parallel task over resource pack limit", **{"Retry-After": "2"}),
        kling_error(1302, 429, "too fast", **{"Retry-After": "1"}),
        httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "3"}),
    ]
    client, sleeps = client_for(fake)
    task = client.videos.create(**BODY)
    assert task.status.value == "submitted"
    assert sleeps == [2.0, 1.0, 3.0]
    assert len(fake.creates()) == 4 and len(fake.tasks) == 1


def test_rate_limit_gives_up_after_max_retries() -> None:
    fake = FakeKling()
    fake.script = [kling_error(1303, 429, **{"Retry-After": "1"}) for _ in range(10)]
    client, sleeps = client_for(fake, max_retries=2)
    with pytest.raises(RateLimitError) as info:
        client.videos.create(**BODY)
    assert info.value.code == 1303 and info.value.request_id == "req-err"
    assert sleeps == [1.0, 1.0] and len(fake.creates()) == 3


@pytest.mark.parametrize(
    ("code", "cls"), [(1100, BillingError), (1101, BillingError), (1102, BillingError)]
)
def test_billing_errors_are_never_retried(code: int, cls: type) -> None:
    fake = FakeKling()
    fake.script = [kling_error(code, 429, "Resource pack depleted", **{"Retry-After": "1"})]
    client, sleeps = client_for(fake)
    with pytest.raises(cls) as info:
        client.videos.create(**BODY)
    assert info.value.code == code
    assert sleeps == [] and len(fake.requests) == 1


def test_content_policy_is_never_retried() -> None:
    fake = FakeKling()
    fake.script = [kling_error(1301, 400, "content blocked")]
    client, sleeps = client_for(fake)
    with pytest.raises(ContentPolicyError):
        client.videos.create(**BODY)
    assert sleeps == [] and len(fake.requests) == 1


def test_gets_are_retried_on_5xx_and_lost_answers() -> None:
    fake = FakeKling()
    client, sleeps = client_for(fake)
    task = client.videos.create(**BODY)

    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fake.script = [kling_error(5000, 500), httpx.Response(502, text="Bad Gateway"), lost]
    assert client.videos.get(task.task_id).task_id == task.task_id
    assert len(sleeps) == 3 and all(0 < s <= 10 for s in sleeps)


def test_expired_jwt_is_re_signed_once_on_1004() -> None:
    fake = FakeKling()
    fake.script = [kling_error(1004, 401, "Authorization has expired")]
    client, sleeps = client_for(fake)
    signer = client.credentials.signer
    assert signer is not None
    client.videos.create(**BODY)
    assert signer.signed == 2 and sleeps == []
    _first, second = (r.headers["authorization"].split()[1] for r in fake.requests)
    claims = jwt.decode(second, SECRET, algorithms=["HS256"])
    assert claims["iss"] == "AK" and claims["exp"] - claims["nbf"] == 1805
    assert jwt.get_unverified_header(second)["typ"] == "JWT"
    # A second 1004 in a row is the caller's problem (clock skew), not a loop.
    fake.script = [kling_error(1004, 401), kling_error(1004, 401)]
    with pytest.raises(AuthenticationError) as info:
        client.videos.get("1")
    assert info.value.code == 1004 and signer.signed == 3


def test_a_token_is_reused_until_shortly_before_it_expires() -> None:
    now = [1_000_000.0]
    fake = FakeKling()
    client, _ = client_for(fake)
    signer = client.credentials.signer
    assert signer is not None
    signer._clock = lambda: now[0]
    signer.invalidate()
    token = signer.token()
    now[0] += 1000
    assert signer.token() == token
    now[0] += 600  # 1600 s old: within the refresh margin of its 1800 s life
    assert signer.token() != token


# -- no double billing ------------------------------------------------------------------------


def test_create_whose_answer_was_lost_is_found_by_external_task_id() -> None:
    fake = FakeKling()

    def accepted_then_lost(request: httpx.Request) -> httpx.Response:
        fake.default(request)  # the provider stores the task ...
        raise httpx.ReadTimeout("timed out", request=request)  # ... and the answer never comes

    fake.script = [accepted_then_lost]
    client, _ = client_for(fake)
    task = client.videos.create(**BODY)
    assert len(fake.tasks) == 1 and len(fake.creates()) == 1
    (stored,) = fake.tasks.values()
    assert task.task_id == stored["task_id"]
    sent = json.loads(fake.creates()[0].content)["external_task_id"]
    assert task.external_task_id == sent and sent.startswith("ov-")
    assert fake.requests[1].url.path == f"/v1/videos/omni-video/{sent}"


def test_create_that_failed_with_5xx_and_left_nothing_is_sent_again() -> None:
    fake = FakeKling()
    fake.script = [kling_error(5000, 500, "Server internal error")]
    client, sleeps = client_for(fake)
    task = client.videos.create(**BODY, external_task_id="mine-1")
    assert task.external_task_id == "mine-1"
    assert [r.method for r in fake.requests] == ["POST", "GET", "POST"]
    assert len(fake.tasks) == 1 and len(sleeps) == 1


def test_a_repeat_refused_as_duplicate_returns_the_first_task() -> None:
    fake = FakeKling()

    def slow_accept(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def late_commit(request: httpx.Request) -> httpx.Response:
        # The lookup comes before the first create is committed upstream ...
        answer = fake.default(request)
        create = "https://provider.test/v1/videos/omni-video"
        fake.default(httpx.Request("POST", create, json={**BODY, "external_task_id": "x-1"}))
        return answer

    fake.script = [slow_accept, late_commit]
    client, _ = client_for(fake)
    task = client.videos.create(**BODY, external_task_id="x-1")
    # ... so the repeat is refused (1201, id taken) and the client looks again and finds it.
    assert len(fake.tasks) == 1 and task.external_task_id == "x-1"
    assert [r.method for r in fake.requests] == ["POST", "GET", "POST", "GET"]


def test_when_the_lookup_fails_too_the_error_says_how_to_find_the_task() -> None:
    fake = FakeKling()
    fake.script = [kling_error(5000, 500)] + [httpx.Response(503) for _ in range(4)]
    client, _ = client_for(fake)
    with pytest.raises(ServerError) as info:
        client.videos.create(**BODY, external_task_id="find-me")
    assert info.value.maybe_created and info.value.external_task_id == "find-me"
    assert any("videos.get('find-me')" in note for note in info.value.__notes__)
    assert len(fake.creates()) == 1


def test_refused_connection_on_create_is_retried_without_lookup() -> None:
    fake = FakeKling()

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake.script = [refused]
    client, sleeps = client_for(fake)
    client.videos.create(**BODY)
    assert [r.method for r in fake.requests] == ["POST", "POST"] and len(sleeps) == 1


def test_useapi_create_is_not_repeated_after_an_ambiguous_failure() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    client, _ = client_for(FakeKling(), "useapi")
    client.http = httpx.Client(transport=httpx.MockTransport(handler))
    with pytest.raises(NetworkError) as info:
        client.videos.create(**BODY)
    assert len(requests) == 1 and info.value.maybe_created
    assert "useapi has no external_task_id" in info.value.__notes__[0]


# -- checked before sending -------------------------------------------------------------------


def test_requests_are_validated_per_model_before_sending() -> None:
    fake = FakeKling()
    client, _ = client_for(fake)
    with pytest.raises(InvalidRequestError, match="5 or 10 s for text-to-video"):
        client.videos.create("a kite", model_name="kling-video-o1", duration=3)
    with pytest.raises(InvalidRequestError, match="sound on is not supported by kling-video-o1"):
        client.videos.create("a kite", sound="on")
    with pytest.raises(NotFoundError, match="unknown model"):
        client.videos.create("a kite", model_name="kling-v9")
    assert fake.requests == []


def test_unsupported_operations_say_so() -> None:
    client, _ = client_for(FakeKling(), "useapi")
    with pytest.raises(UnsupportedError):
        client.videos.list()
    kling, _ = client_for(FakeKling())
    with pytest.raises(UnsupportedError):
        kling.videos.cancel("1")


def test_missing_credentials_name_the_environment_variables() -> None:
    from omnivideo.client import Client

    with pytest.raises(AuthenticationError, match="KLING_ACCESS_KEY and KLING_SECRET_KEY"):
        Client("kling")
    with pytest.raises(AuthenticationError, match="COMETAPI_KEY"):
        Client("cometapi")
    with pytest.raises(InvalidRequestError, match="unknown provider"):
        Client("sora")


def test_environment_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from omnivideo.client import Client

    monkeypatch.setenv("USEAPI_TOKEN", "user:1-abc")
    monkeypatch.setenv("USEAPI_EMAIL", "me@example.com")
    client = Client("useapi")
    assert client.credentials.headers() == {"Authorization": "Bearer user:1-abc"}
    assert client.email == "me@example.com" and client.base_url == "https://api.useapi.net"
    monkeypatch.setenv("KLING_ACCESS_KEY", "AK1")
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET)
    token = Client("kling").credentials.headers()["Authorization"].split()[1]
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["iss"] == "AK1"
    assert Client("cometapi", api_key="sk-1").base_url == "https://api.cometapi.com"


# -- the async twin ---------------------------------------------------------------------------


def test_async_client_retries_and_looks_up_the_same_way() -> None:
    fake = FakeKling()

    def accepted_then_lost(request: httpx.Request) -> httpx.Response:
        fake.default(request)
        raise httpx.ReadTimeout("timed out", request=request)

    fake.script = [kling_error(1303, 429, **{"Retry-After": "1"}), accepted_then_lost]
    sleeps: list[float] = []

    async def main() -> str:
        async with AsyncClient(
            "kling",
            base_url="https://provider.test",
            access_key="AK",
            secret_key=SECRET,
            transport=httpx.MockTransport(fake),
        ) as client:

            async def sleep(seconds: float) -> None:
                sleeps.append(seconds)

            client.sleep = sleep
            task = await client.videos.create(**BODY)
            return task.task_id

    task_id = asyncio.run(main())
    assert task_id in fake.tasks and len(fake.tasks) == 1 and sleeps == [1.0]


def test_cometapi_wrapper_shape_b_is_normalised() -> None:
    wrapper = {
        "code": "success",
        "message": "",
        "data": {
            "task_id": "878106484537192522",
            "action": "OMNI_VIDEO",
            "status": "SUCCESS",
            "progress": "100%",
            "fail_reason": "",
            "data": {
                "code": 0,
                "message": "HTTP_OK",
                "data": {
                    "task_id": "878106484537192522",
                    "task_status": "succeed",
                    "task_result": {
                        "videos": [{"id": "v", "url": "https://cdn/v.mp4", "duration": "5.0"}]
                    },
                },
            },
        },
    }
    fake = FakeKling(prefix="/kling")
    fake.script = [httpx.Response(200, json=wrapper)]
    client, _ = client_for(fake, "cometapi")
    task = client.videos.get("878106484537192522")
    assert fake.requests[0].url.path == "/kling/v1/videos/omni-video/878106484537192522"
    assert task.status.value == "succeed" and task.progress == 1.0
    assert task.videos[0].url == "https://cdn/v.mp4"


def test_useapi_numeric_status_and_works_are_normalised() -> None:
    doc = {
        "status": 99,
        "status_name": "succeed",
        "status_final": True,
        "message": "success",
        "task": {"id": 123456789, "status": 99, "createTime": 1, "updateTime": 2},
        "works": [{"workId": 7, "resource": {"resource": "https://s21/x.mp4", "duration": 5041}}],
    }
    fake = FakeKling()
    fake.script = [httpx.Response(200, json=doc)]
    client, _ = client_for(fake, "useapi", email="me@example.com")
    task = client.videos.get("123456789")
    assert (
        str(fake.requests[0].url)
        == "https://provider.test/v1/kling/tasks/123456789?email=me%40example.com"
    )
    assert (task.task_id, task.status.value) == ("123456789", "succeed")
    assert task.videos[0].duration == "5.041" and task.videos[0].url == "https://s21/x.mp4"


def test_list_reads_the_official_array() -> None:
    fake = FakeKling()
    fake.script = [envelope([{"task_id": "1", "task_status": "succeed"}, {"task_id": "2"}])]
    client, _ = client_for(fake)
    assert [t.task_id for t in client.videos.list(page=2, page_size=2)] == ["1", "2"]
    assert fake.requests[0].url.params["pageNum"] == "2"


def test_a_wait_never_outlives_its_timeout_even_when_told_to_retry_later() -> None:
    requests: list[httpx.Request] = []

    def slow_down(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        body = {"code": 1302, "message": "slow down", "request_id": "r"}
        return httpx.Response(429, headers={"Retry-After": "100"}, json=body)

    client = Client(
        "omnivideo", api_key="ov-x", base_url="http://h", transport=httpx.MockTransport(slow_down)
    )
    now = [0.0]
    client.clock = lambda: now[0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    client.sleep = sleep
    with pytest.raises(WaitTimeout) as info:
        client.videos.wait("123", timeout=5)
    assert info.value.task_id == "123"
    assert now[0] <= 5.0 and len(requests) >= 2


@pytest.mark.parametrize(
    ("status", "body", "ok"),
    [
        (404, "<html>Not Found</html>", False),
        (404, {"detail": "Not Found"}, False),
        (
            404,
            {"code": 1202, "message": "the requested method is invalid", "request_id": "r"},
            False,
        ),
        (
            400,
            {"code": 1201, "message": "pageSize: must be between 1 and 500", "request_id": "r"},
            True,
        ),
        (200, {"code": 0, "message": "SUCCEED", "request_id": "r", "data": []}, True),
    ],
)
def test_auth_check_trusts_only_answers_of_a_real_api(status: int, body: object, ok: bool) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    client = Client(
        "omnivideo",
        api_key="ov-x",
        base_url="http://h/wrong",
        transport=httpx.MockTransport(answer),
    )
    if ok:
        client.check_auth()
    else:
        with pytest.raises(OmniVideoError):
            client.check_auth()


def test_non_ascii_digits_are_not_read_as_numbers() -> None:
    # "¹".isdigit() is true yet int("¹") raises: an answer or header from anywhere must not
    # crash the client.
    from omnivideo.client.download import _start_from, _total_from
    from omnivideo.client.errors import code_in, error_for_answer

    assert code_in("¹²⁰¹: nope") is None
    assert _total_from("bytes 0-1/¹²") is None
    assert _start_from("bytes ¹-2/3") is None
    error = error_for_answer(400, {"code": "¹²⁰¹", "message": "bad"})
    assert "bad" in str(error)
