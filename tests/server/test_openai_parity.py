"""The OpenAI Videos face beyond create/retrieve, with the official `openai` package against a
real server: remix, edits, extensions, characters, content variants, and fidelity details."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from tests.mp4 import decode
from tests.server.harness import Server

SLOW = {"X-Omnivideo-Simulate": "delay=4s"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("data"), extra_args=["--max-concurrent-tasks", "50"]
    ).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=server.api_key, max_retries=0)


def finished(client: openai.OpenAI, video_id: str, timeout: float = 120) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        video = client.videos.retrieve(video_id)
        if video.status in ("completed", "failed"):
            return video
        time.sleep(0.2)
    raise AssertionError(f"{video_id} did not finish")


def by_id(client: openai.OpenAI, route: str, **body: Any) -> Any:
    return client.post(f"/videos/{route}", body=body, cast_to=openai.types.Video)


def made(client: openai.OpenAI, **kw: Any) -> Any:
    video = client.videos.create(**{"prompt": "A paper boat", "seconds": "4", **kw})
    done = finished(client, video.id)
    assert done.status == "completed", done
    return done


def test_answer_echoes_the_ask_and_renders_at_the_asked_size(
    client: openai.OpenAI, tmp_path: Path
) -> None:
    video = client.videos.create(
        model="sora-2-pro", prompt="A lighthouse at dusk", size="1792x1024", seconds="4"
    )
    assert (video.model, video.size, video.seconds) == ("sora-2-pro", "1792x1024", "4")
    done = finished(client, video.id)
    assert (done.status, done.model, done.size, done.seconds) == (
        "completed",
        "sora-2-pro",
        "1792x1024",
        "4",
    )
    assert done.expires_at is not None and done.expires_at > time.time() + 24 * 3600
    client.videos.download_content(video.id).write_to_file(tmp_path / "v.mp4")
    d = decode(tmp_path / "v.mp4")
    assert (d.width, d.height, d.frames) == (1792, 1024, 96)


def test_in_progress_read_carries_poll_after_and_poll_honours_it(
    client: openai.OpenAI,
) -> None:
    video = client.videos.create(prompt="slow", seconds="4", extra_headers=SLOW)
    raw = client.videos.with_raw_response.retrieve(video.id)
    assert raw.parse().status in ("queued", "in_progress")
    assert int(raw.headers["openai-poll-after-ms"]) > 0
    done = client.videos.poll(video.id)
    assert done.status == "completed"
    after = client.videos.with_raw_response.retrieve(video.id)
    assert "openai-poll-after-ms" not in after.headers


def test_thumbnail_and_spritesheet_are_images(client: openai.OpenAI, server: Server) -> None:
    done = made(client, size="1280x720")
    thumb = Image.open(
        io.BytesIO(client.videos.download_content(done.id, variant="thumbnail").read())
    )
    assert thumb.format == "JPEG" and thumb.size == (1280, 720)
    sheet_bytes = client.videos.download_content(done.id, variant="spritesheet").read()
    sheet = Image.open(io.BytesIO(sheet_bytes))
    assert sheet.format == "JPEG" and sheet.size == (4 * 256, 3 * 144)
    # Served like results: image type, Range.
    url = f"{server.base_url}/v1/videos/{done.id}/content"
    r = httpx.get(url, params={"variant": "spritesheet"}, headers=server.headers(Range="bytes=0-9"))
    assert r.status_code == 206 and r.headers["content-type"] == "image/jpeg"
    assert r.content == sheet_bytes[:10]
    with pytest.raises(openai.BadRequestError) as bad:
        client.videos.download_content(done.id, variant="poster")  # type: ignore[arg-type]
    assert bad.value.body["param"] == "variant"  # type: ignore[index]


@pytest.mark.slow
def test_remix_edit_and_extension(client: openai.OpenAI, tmp_path: Path) -> None:
    source = made(client, size="720x1280")
    remix = client.videos.remix(source.id, prompt="The same boat, at night")
    assert remix.remixed_from_video_id == source.id and remix.status == "queued"
    remix = finished(client, remix.id)
    assert remix.status == "completed", remix
    assert (remix.remixed_from_video_id, remix.size, remix.seconds) == (
        source.id,
        "720x1280",
        "4",
    )
    # openai 3.63's edit()/extend() refuse a {"id"} reference before sending it (they expect a
    # file there); the same request through the SDK's own client, as JSON:
    edit = by_id(client, "edits", prompt="Make it snow", video={"id": source.id})
    edit = finished(client, edit.id)
    assert edit.status == "completed" and edit.size == "720x1280", edit
    longer = by_id(
        client, "extensions", prompt="The boat sails on", seconds="4", video={"id": source.id}
    )
    assert longer.seconds == "8"
    longer = finished(client, longer.id)
    assert longer.status == "completed" and longer.seconds == "8", longer
    client.videos.download_content(longer.id).write_to_file(tmp_path / "long.mp4")
    d = decode(tmp_path / "long.mp4")
    assert (d.width, d.height, d.frames) == (720, 1280, 192)
    with pytest.raises(openai.BadRequestError) as bad:
        by_id(client, "extensions", prompt="x", seconds="5", video={"id": source.id})
    assert bad.value.body["param"] == "seconds"  # type: ignore[index]


@pytest.mark.slow
def test_edit_of_an_uploaded_video_and_a_character(client: openai.OpenAI, tmp_path: Path) -> None:
    source = made(client, size="720x1280")
    client.videos.download_content(source.id).write_to_file(tmp_path / "src.mp4")
    edit = client.videos.edit(
        prompt="In watercolour", video=("src.mp4", (tmp_path / "src.mp4").read_bytes(), "video/mp4")
    )
    edit = finished(client, edit.id)
    assert edit.status == "completed" and (edit.size, edit.seconds) == ("720x1280", "4"), edit
    character = client.videos.create_character(
        name="Captain", video=("src.mp4", (tmp_path / "src.mp4").read_bytes(), "video/mp4")
    )
    assert character.id and character.id.startswith("char_") and character.name == "Captain"
    again = client.videos.get_character(character.id)
    assert (again.id, again.name, again.created_at) == (
        character.id,
        "Captain",
        character.created_at,
    )
    cast = client.videos.create(
        prompt="The captain waves", seconds="4", extra_body={"character_ids": [character.id]}
    )
    assert finished(client, cast.id).status == "completed"
    with pytest.raises(openai.NotFoundError):
        client.videos.get_character("char_999999")


def test_errors_are_openai_shaped_on_the_whole_tree(server: Server) -> None:
    h = server.headers()
    b = f"{server.base_url}/v1/videos"
    for method, path in [
        ("POST", "/video_123/remix"),
        ("POST", "/123/remix"),
        ("GET", "/video_123/content"),
        ("GET", "/video_123/frames"),
        ("PUT", "/video_123"),
        ("GET", "/characters/char_987654321"),
        ("DELETE", "/edits"),
    ]:
        r = httpx.request(method, b + path, headers=h, json={"prompt": "x"})
        assert r.status_code in (400, 404), (path, r.text)
        assert set(r.json()) == {"error"}, (path, r.text)
    # Kling's own tree under /v1/videos/ keeps Kling's envelope.
    for method, path in [
        ("POST", "/lip-sync"),
        ("GET", "/omni-video/x/y"),
        ("POST", "/omni-video/remix"),
    ]:
        r = httpx.request(method, b + path, headers=h, json={})
        assert r.json()["code"] == 1202, (path, r.text)


@pytest.mark.slow
def test_json_input_reference_and_rate_limit(server: Server, fresh_server: Any) -> None:
    h = server.headers()
    png = io.BytesIO()
    Image.new("RGB", (720, 1280), (20, 120, 200)).save(png, "PNG")
    uploaded = httpx.post(
        f"{server.base_url}/v1/kling/assets",
        content=png.getvalue(),
        headers=h | {"Content-Type": "image/png"},
    )
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["fileName"]
    r = httpx.post(
        f"{server.base_url}/v1/videos",
        json={"prompt": "x", "seconds": "4", "input_reference": {"file_id": file_id}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    missing = httpx.post(
        f"{server.base_url}/v1/videos",
        json={"prompt": "x", "input_reference": {"file_id": "nope.png"}},
        headers=h,
    )
    assert (
        missing.status_code == 400 and missing.json()["error"]["param"] == "input_reference.file_id"
    )
    busy = fresh_server("--max-concurrent-tasks", "1").start()
    bh = busy.headers(**SLOW)
    first = httpx.post(f"{busy.base_url}/v1/videos", json={"prompt": "a"}, headers=bh)
    assert first.status_code == 200
    second = httpx.post(f"{busy.base_url}/v1/videos", json={"prompt": "b"}, headers=bh)
    assert second.status_code == 429 and second.headers["retry-after"].isdigit()
    assert second.json()["error"]["code"] == "slow_down"


def test_idempotency_key_on_every_face(client: openai.OpenAI, server: Server) -> None:
    key = {"Idempotency-Key": "retry-me-1"}
    first = client.videos.create(prompt="Once", seconds="4", extra_headers=key)
    again = client.videos.create(prompt="Once", seconds="4", extra_headers=key)
    assert again.id == first.id
    with pytest.raises(openai.ConflictError) as clash:
        client.videos.create(prompt="Twice", seconds="4", extra_headers=key)
    assert clash.value.status_code == 409 and "Idempotency-Key" in clash.value.message
    # Multipart: the same file again is the same request, though it is stored anew each time.
    png = io.BytesIO()
    Image.new("RGB", (720, 1280), (200, 40, 40)).save(png, "PNG")
    upload = ("f.png", png.getvalue(), "image/png")
    key2 = {"Idempotency-Key": "retry-me-2"}
    a = client.videos.create(prompt="Up", input_reference=upload, extra_headers=key2)
    b = client.videos.create(prompt="Up", input_reference=upload, extra_headers=key2)
    assert a.id == b.id
    # Kling's face: the same task id; another body is 409 in Kling's envelope.
    h = server.headers(**{"Idempotency-Key": "kling-1"})
    body = {"prompt": "k", "mode": "std", "duration": "5"}
    url = f"{server.base_url}/v1/videos/omni-video"
    one = httpx.post(url, json=body, headers=h).json()["data"]["task_id"]
    two = httpx.post(url, json=dict(reversed(body.items())), headers=h).json()["data"]["task_id"]
    assert one == two
    other = httpx.post(url, json={**body, "prompt": "other"}, headers=h)
    assert other.status_code == 409 and other.json()["code"] == 1201
    # Keys are per account and per route: the same key on useapi's create is a new request.
    u = httpx.post(f"{server.base_url}/v1/kling/videos/omni", json={"prompt": "u"}, headers=h)
    assert u.status_code == 409
    # A create that failed leaves the key free.
    bad = httpx.post(url, json={"prompt": ""}, headers=server.headers(**{"Idempotency-Key": "k3"}))
    assert bad.status_code == 400
    ok = httpx.post(url, json=body, headers=server.headers(**{"Idempotency-Key": "k3"}))
    assert ok.status_code == 200


@pytest.mark.slow
def test_idempotency_key_holds_across_replicas_on_postgresql(tmp_path: Path) -> None:
    from tests import pg

    with pg.fresh_database() as url:
        args = ["--database-url", url, "--workers", "0"]
        one = Server(tmp_path / "a", extra_args=args).start()
        two = Server(tmp_path / "b", extra_args=args).start()
        try:
            h = one.headers(**{"Idempotency-Key": "replicas-1"})
            body = {"prompt": "Once, anywhere", "seconds": "4"}
            first = httpx.post(f"{one.base_url}/v1/videos", json=body, headers=h)
            again = httpx.post(f"{two.base_url}/v1/videos", json=body, headers=h)
            assert first.status_code == again.status_code == 200, again.text
            assert first.json()["id"] == again.json()["id"]
            other = httpx.post(
                f"{two.base_url}/v1/videos", json={**body, "seconds": "8"}, headers=h
            )
            assert other.status_code == 409 and other.json()["error"]["code"] == (
                "idempotency_key_reused"
            )
        finally:
            one.stop()
            two.stop()


@pytest.mark.slow
def test_idempotency_key_on_element_and_character_creates(
    client: openai.OpenAI, server: Server, tmp_path: Path
) -> None:
    import base64

    png = io.BytesIO()
    Image.new("RGB", (400, 400), (90, 30, 160)).save(png, "PNG")
    image = base64.b64encode(png.getvalue()).decode()
    body = {
        "element_name": "Hat",
        "element_frontal_image": image,
        "element_refer_list": [{"image_url": image}],
    }
    h = server.headers(**{"Idempotency-Key": "element-1"})
    url = f"{server.base_url}/v1/general/custom-elements"
    first = httpx.post(url, json=body, headers=h)
    again = httpx.post(url, json=body, headers=h)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["data"]["element_id"] == again.json()["data"]["element_id"]
    clash = httpx.post(url, json={**body, "element_name": "Cap"}, headers=h)
    assert clash.status_code == 409 and clash.json()["code"] == 1201
    source = made(client, size="720x1280")
    client.videos.download_content(source.id).write_to_file(tmp_path / "src.mp4")
    upload = ("src.mp4", (tmp_path / "src.mp4").read_bytes(), "video/mp4")
    key = {"Idempotency-Key": "character-1"}
    one = client.videos.create_character(name="Twin", video=upload, extra_headers=key)
    two = client.videos.create_character(name="Twin", video=upload, extra_headers=key)
    assert one.id == two.id
