"""What a client sees while the database or the storage is down: HTTP 503 with ``Retry-After``
and a message that names what is down, in each face's own form; nothing half-stored left
behind; and its keep-alive connection kept open through every error, expected or not.

The dependencies are real (PostgreSQL, an S3-protocol server) and go down as in production:
a TCP proxy in front of them drops every connection and refuses new ones (tests/proxy.py).
Each test talks to the server through one connection and checks that it was never replaced.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests import pg, s3
from tests.proxy import TcpProxy, tcp_proxy
from tests.server.harness import Server

pytestmark = pytest.mark.timeout(600)

OMNI = {"model_name": "kling-video-o1", "prompt": "a paper boat", "duration": "5"}


def png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 360), color).save(buf, format="PNG")
    return buf.getvalue()


class Connection:
    """One keep-alive connection to the server, shared by every request of a test: a request
    that needed a new connection fails the test."""

    def __init__(self, server: Server) -> None:
        self.client = httpx.Client(
            base_url=server.base_url,
            headers=server.headers(),
            timeout=120,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self.address: tuple[str, int] | None = None

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        r = self.client.request(method, path, **kw)
        r.read()
        address = r.extensions["network_stream"].get_extra_info("client_addr")
        if self.address is None:
            self.address = address
        assert address == self.address, f"{method} {path} came on a new connection"
        return r

    def wait(self, task_id: str, timeout: float = 300) -> dict[str, Any]:
        """The task once final, polled on this connection (an idle one would be closed by the
        server's keep-alive timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task: dict[str, Any] = self.request("GET", f"/v1/videos/omni-video/{task_id}").json()
            if task["data"]["task_status"] in ("succeed", "failed"):
                return task["data"]
            time.sleep(0.5)
        raise AssertionError(f"task {task_id} did not finish")

    def close(self) -> None:
        self.client.close()


def assert_down(r: httpx.Response, face: str, what: str) -> None:
    """A 503 with Retry-After, in ``face``'s form, whose message names ``what``."""
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) > 0
    body = r.json()
    if face == "useapi":
        assert body["code"] == 503
        message = body["error"]
    elif face == "openai":
        assert (
            body["error"]["type"] == "server_error"
            and body["error"]["code"] == "server_is_overloaded"
        )  # OpenAI's 503 code
        message = body["error"]["message"]
    else:  # Kling's envelope, which CometAPI passes through
        assert body["code"] == 5001 and body["request_id"]
        message = body["message"]
    assert message.startswith(f"{what} unavailable"), message
    assert "internal" not in message.lower()


# -- the database --------------------------------------------------------------------------


@pytest.fixture
def pg_behind_proxy(tmp_path: Path) -> Iterator[tuple[Server, TcpProxy, str]]:
    """A server (`--workers 0`: an API replica) whose PostgreSQL is reached through a proxy."""
    with pg.fresh_database() as url, tcp_proxy("127.0.0.1", 5432) as proxy:
        proxied = url.replace("127.0.0.1:5432", proxy.address)
        assert proxied != url
        server = Server(
            tmp_path / "data", extra_args=["--workers", "0", "--database-url", proxied]
        ).start()
        try:
            yield server, proxy, url
        finally:
            server.stop()


POLLS = [
    ("kling", "/v1/videos/omni-video/{id}"),
    ("cometapi", "/kling/v1/videos/omni-video/{id}"),
    ("useapi", "/v1/kling/tasks/{id}"),
    ("openai", "/v1/videos/video_{id}"),
    ("kling", "/v1/videos/omni-video"),
]
CREATES = [
    ("kling", "/v1/videos/omni-video", OMNI),
    ("cometapi", "/kling/v1/videos/omni-video", OMNI),
    ("useapi", "/v1/kling/videos/omni", {"prompt": "a paper boat"}),
    ("openai", "/v1/videos", {"prompt": "a paper boat", "seconds": "4"}),
]


def test_while_the_database_is_down_every_face_answers_503(
    pg_behind_proxy: tuple[Server, TcpProxy, str],
) -> None:
    server, proxy, _ = pg_behind_proxy
    conn = Connection(server)
    try:
        task_id = conn.request("POST", "/v1/videos/omni-video", json=OMNI).json()["data"]["task_id"]
        assert conn.request("GET", f"/v1/videos/omni-video/{task_id}").status_code == 200
        proxy.cut()
        for face, path in POLLS:
            assert_down(conn.request("GET", path.format(id=task_id)), face, "database")
        for face, path, body in CREATES:
            assert_down(conn.request("POST", path, json=body), face, "database")
        proxy.restore()
        # The pool's connections died with the cut: the first read after it reconnects.
        r = conn.request("GET", f"/v1/videos/omni-video/{task_id}")
        assert r.status_code == 200, r.text
        created = conn.request("POST", "/v1/videos/omni-video", json=OMNI)
        assert created.status_code == 200, created.text
    finally:
        conn.close()
    assert not any("Traceback" in line for line in server.log), "\n".join(server.log)


def test_after_its_connections_are_terminated_nothing_answers_500(
    pg_behind_proxy: tuple[Server, TcpProxy, str],
) -> None:
    server, _, url = pg_behind_proxy
    conn = Connection(server)
    try:
        task_id = conn.request("POST", "/v1/videos/omni-video", json=OMNI).json()["data"]["task_id"]
        poll = f"/v1/videos/omni-video/{task_id}"
        for _ in range(3):
            assert conn.request("GET", poll).status_code == 200  # a pooled connection
            assert pg.kill_connections(url) >= 1
            # A read is tried again on a fresh connection.
            r = conn.request("GET", poll)
            assert r.status_code == 200, r.text
            assert pg.kill_connections(url) >= 1
            # A write on a connection that died is not: it may answer 503 once.
            r = conn.request("POST", "/v1/videos/omni-video", json=OMNI)
            if r.status_code != 200:
                assert_down(r, "kling", "database")
    finally:
        conn.close()


def test_an_event_stream_waits_out_a_database_outage(
    pg_behind_proxy: tuple[Server, TcpProxy, str],
) -> None:
    server, proxy, _ = pg_behind_proxy
    lines: list[str] = []
    broken: list[Exception] = []

    def listen() -> None:
        url = f"{server.base_url}/v1/omnivideo/events"
        try:
            with httpx.stream("GET", url, headers=server.headers(), timeout=60) as r:
                for line in r.iter_lines():
                    lines.append(line)
        except httpx.HTTPError as exc:  # the server stopping at the end ends it too
            broken.append(exc)

    def seen(words: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(words in line for line in lines):
            assert time.monotonic() < deadline, f"no {words!r} in {lines}"
            time.sleep(0.1)

    threading.Thread(target=listen, daemon=True).start()
    seen("retry:")
    proxy.cut()
    seen(": database unavailable")
    proxy.restore()
    task_id = server.create(OMNI).json()["data"]["task_id"]
    seen(task_id)  # the same stream, still open, goes on with the new task
    assert broken == []


# -- the storage ---------------------------------------------------------------------------


class Inputs:
    """Input images at http://127.0.0.1:PORT/NAME; ``before[NAME]`` runs before NAME is sent."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.before: dict[str, Callable[[], None]] = {}
        inputs = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.lstrip("/")
                if name in inputs.before:
                    inputs.before[name]()
                data = inputs.files.get(name)
                self.send_response(200 if data is not None else 404)
                self.send_header("content-type", "image/png")
                self.send_header("content-length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@dataclass
class Bucket:
    server: Server
    proxy: TcpProxy
    inputs: Inputs
    client: Any
    name: str

    def stored(self) -> list[str]:
        found = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        return sorted(o["Key"] for o in found)

    def stored_inputs(self) -> list[str]:
        """Blobs of tasks' inputs and of uploads: the only ones a create stores."""
        return [k for k in self.stored() if "/inputs/" in k or "/uploads/" in k]


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[Bucket]:
    """A server (SQLite) whose S3 bucket is reached through a proxy."""
    import boto3

    inputs = Inputs({"red.png": png((200, 30, 30)), "blue.png": png((30, 30, 200))})
    with s3.s3_server() as endpoint:
        name = s3.make_bucket(endpoint)
        port = int(endpoint.rsplit(":", 1)[1])
        with tcp_proxy("127.0.0.1", port) as proxy:
            env = s3.env_for(f"http://{proxy.address}")
            server = Server(
                tmp_path / "data", extra_args=["--storage", f"s3://{name}/ov"], env=env
            ).start()
            client = boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            )
            try:
                yield Bucket(server, proxy, inputs, client, name)
            finally:
                server.stop()
                inputs.close()


def image_create(bucket: Bucket, *names: str) -> dict[str, Any]:
    return {
        **OMNI,
        "prompt": " and ".join(f"<<<image_{i + 1}>>>" for i in range(len(names))),
        "image_list": [{"image_url": f"{bucket.inputs.base}/{n}"} for n in names],
    }


@pytest.mark.slow
def test_while_the_storage_is_down_a_create_with_inputs_answers_503_and_stores_nothing(
    bucket: Bucket,
) -> None:
    conn = Connection(bucket.server)
    try:
        ok = conn.request("POST", "/v1/videos/omni-video", json=image_create(bucket, "red.png"))
        assert ok.status_code == 200, ok.text
        before = bucket.stored_inputs()
        assert before  # the first create stored its image
        done = conn.wait(ok.json()["data"]["task_id"])
        assert done["task_status"] == "succeed", done
        video_url = done["task_result"]["videos"][0]["url"]

        bucket.proxy.cut()
        # A result is streamed from the bucket: its download says the storage is down.
        assert_down(conn.request("GET", video_url), "kling", "storage")
        r = conn.request("POST", "/v1/videos/omni-video", json=image_create(bucket, "red.png"))
        assert_down(r, "kling", "storage")
        upload = conn.request(
            "POST",
            "/v1/videos",
            data={"prompt": "it moves", "seconds": "4"},
            files={"input_reference": ("first.png", png((9, 9, 9)), "image/png")},
        )
        assert_down(upload, "openai", "storage")
        # Polls, and creates without inputs, need no storage: they go on through the outage.
        task_id = ok.json()["data"]["task_id"]
        assert conn.request("GET", f"/v1/videos/omni-video/{task_id}").status_code == 200
        plain = conn.request("POST", "/v1/videos/omni-video", json=OMNI)
        assert plain.status_code == 200, plain.text
        bucket.proxy.restore()
        assert bucket.stored_inputs() == before
    finally:
        conn.close()


@pytest.mark.slow
def test_a_storage_outage_in_the_middle_of_a_create_leaves_nothing_behind(
    bucket: Bucket,
) -> None:
    """The first image is stored, then the storage goes away before the second: the create
    answers 503 at once, and the first image is removed once the storage is back."""
    conn = Connection(bucket.server)
    bucket.inputs.before["blue.png"] = bucket.proxy.cut
    try:
        started = time.monotonic()
        r = conn.request(
            "POST", "/v1/videos/omni-video", json=image_create(bucket, "red.png", "blue.png")
        )
        assert_down(r, "kling", "storage")
        assert any("/inputs/" in k for k in bucket.stored_inputs())  # half-stored, for now
        bucket.proxy.restore()
        deadline = time.monotonic() + 90
        while bucket.stored_inputs() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert bucket.stored_inputs() == [], f"left after {time.monotonic() - started:.0f} s"
        # Every task that exists still has its inputs: none was created by the failed call.
        listed = conn.request("GET", "/v1/videos/omni-video").json()["data"]
        assert listed == []
    finally:
        conn.close()


@pytest.mark.slow
def test_an_unexpected_error_keeps_the_connection_open(bucket: Bucket) -> None:
    """A bucket deleted under the server is no outage but a broken deployment: a 500 in the
    face's form, on a connection that then goes on serving polls."""
    conn = Connection(bucket.server)
    try:
        for key in bucket.stored():
            bucket.client.delete_object(Bucket=bucket.name, Key=key)
        bucket.client.delete_bucket(Bucket=bucket.name)
        red = f"{bucket.inputs.base}/red.png"
        for path, body in [
            ("/v1/videos/omni-video", image_create(bucket, "red.png")),
            ("/v1/kling/videos/omni", {"prompt": "@image_1 moves", "image_1": red}),
        ]:
            r = conn.request("POST", path, json=body)
            assert r.status_code == 500, r.text
            assert "Server internal error" in r.text
            assert conn.request("GET", "/v1/videos/omni-video").status_code == 200
    finally:
        conn.close()
