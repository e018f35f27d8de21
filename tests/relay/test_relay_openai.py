"""The relay's ``openai`` upstream: against another omnivideo's OpenAI face (end to end, Kling in
front), and against a small fake server on loopback that answers like vLLM-Omni."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from PIL import Image

from omnivideo.contract.errors import OmniError
from omnivideo.contract.spec import ShotPlan
from omnivideo.engines.base import RenderJob, RunContext
from omnivideo.engines.relay import RelayEngine
from omnivideo.media.encode import Mp4Writer
from tests.mp4 import decode
from tests.relay.test_relay import BODY, first_frame, upstream_env, upstream_tasks
from tests.server.harness import Server, free_port


class FakeVllmOmni:
    """Answers like vLLM-Omni's Videos API: multipart creates with its own fields, a job that
    is queued, then in progress, then completed, and the MP4 at ``/content``."""

    def __init__(self, tmp: Path, *, fail_creates: int = 0) -> None:
        self.tmp = tmp
        self.creates: list[dict[str, Any]] = []
        self.keys: list[str | None] = []
        self.polls: dict[str, int] = {}
        self.fail_creates = fail_creates
        app = FastAPI()

        @app.get("/v1/models")
        def models() -> dict[str, Any]:
            return {
                "object": "list",
                "data": [{"id": "Wan-AI/Wan2.2-T2V", "owned_by": "vllm-omni"}],
            }

        @app.post("/v1/videos")
        async def create(request: Request) -> Response:
            if self.fail_creates:
                self.fail_creates -= 1
                return Response(status_code=503, content=b'{"error":{"message":"busy"}}')
            form = await request.form()
            fields: dict[str, Any] = {}
            for name, value in form.multi_items():
                if isinstance(value, str):
                    fields[name] = value
                else:
                    fields.setdefault(name + "[]", []).append(await value.read())
            self.creates.append(fields)
            self.keys.append(request.headers.get("idempotency-key"))
            video_id = f"video_fake{len(self.creates)}"
            self.polls[video_id] = 0
            return self._video(video_id, "queued", 0)

        @app.get("/v1/videos/{video_id}")
        def get(video_id: str) -> Response:
            if video_id not in self.polls:
                return Response(status_code=404, content=b'{"error":{"message":"no such video"}}')
            self.polls[video_id] += 1
            n = self.polls[video_id]
            return self._video(video_id, "completed" if n >= 3 else "in_progress", 30 * n)

        @app.get("/v1/videos/{video_id}/content")
        def content(video_id: str) -> Response:
            fields = self.creates[int(video_id.removeprefix("video_fake")) - 1]
            path = self.tmp / f"{video_id}.mp4"
            width, height = int(fields["width"]), int(fields["height"])
            assert fields["fps"] == "24"  # omnivideo writes 24 fps
            with Mp4Writer(path, width, height) as writer:
                for i in range(int(fields["num_frames"])):
                    writer.write(np.full((height, width, 3), (i * 3) % 255, dtype=np.uint8))
            return Response(path.read_bytes(), media_type="video/mp4")

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def _video(self, video_id: str, status: str, progress: int) -> Response:
        import json

        body = {"id": video_id, "object": "video", "status": status, "progress": progress,
                "created_at": int(time.time()), "model": "Wan-AI/Wan2.2-T2V"}  # fmt: skip
        return Response(json.dumps(body), media_type="application/json")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeVllmOmni:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started and time.time() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def job(tmp: Path, *, first: Path | None = None) -> RenderJob:
    return RenderJob.of(
        task_id="123456789012345678", model="kling-v3-omni", mode="std", width=320, height=192,
        fps=24, frame_count=72, seed=77, prompt="a kite", shots=(ShotPlan(prompt="a kite", frames=72),),
        work_dir=tmp / "work", first_frame=first, negative_prompt="blur",
    )  # fmt: skip


def engine(*upstreams: str) -> RelayEngine:
    return RelayEngine(
        {"upstreams": list(upstreams), "poll_interval_s": 0.05, "max_poll_interval_s": 0.1}
    )


@pytest.fixture
def frame(tmp_path: Path) -> Path:
    path = tmp_path / "first.png"
    Image.new("RGB", (320, 192), (10, 200, 30)).save(path)
    return path


def test_vllm_like_upstream_gets_its_own_fields_and_the_result_is_mirrored(
    tmp_path: Path, frame: Path
) -> None:
    with FakeVllmOmni(tmp_path) as fake:
        relay = engine(f"openai={fake.url}")
        saved: list[dict[str, Any]] = []
        ctx = RunContext(on_save=saved.append)
        out = relay.render(job(tmp_path, first=frame), ctx)
    [sent] = fake.creates
    assert {k: sent[k] for k in ("prompt", "size", "seconds", "width", "height")} == {
        "prompt": "a kite", "size": "320x192", "seconds": "3", "width": "320", "height": "192",
    }  # fmt: skip
    assert (sent["num_frames"], sent["fps"], sent["seed"], sent["negative_prompt"]) == (
        "72",
        "24",
        "77",
        "blur",
    )
    assert Image.open(io.BytesIO(sent["input_reference[]"][0])).size == (320, 192)
    assert fake.keys == ["ov-123456789012345678"]
    assert out.info == {"upstream": "openai", "upstream_task_id": "video_fake1"}
    d = decode(out.path)
    assert (d.width, d.height, d.frames) == (320, 192, 72)
    # The upstream's id was saved right after the create: a restart polls, never re-creates.
    assert saved[-1] == {
        "upstream": "openai",
        "external_task_id": "ov-123456789012345678",
        "task_id": "video_fake1",
    }


def test_a_restart_polls_the_saved_video_and_a_busy_upstream_fails_over(tmp_path: Path) -> None:
    with FakeVllmOmni(tmp_path) as fake, FakeVllmOmni(tmp_path, fail_creates=9) as busy:
        relay = engine(f"openai.busy={busy.url}", f"openai={fake.url}")
        relay.render(job(tmp_path), RunContext())
        assert len(busy.creates) == 0 and len(fake.creates) == 1  # failed over after 503s
        resumed = RunContext(state={"upstream": "openai", "task_id": "video_fake1"})
        out = relay.render(job(tmp_path / "again"), resumed)
        assert len(fake.creates) == 1 and out.info["upstream_task_id"] == "video_fake1"
        gone = RunContext(state={"upstream": "openai", "task_id": "video_nope"})
        with pytest.raises(OmniError) as lost:
            relay.render(job(tmp_path / "gone"), gone)
        assert "no such video" in lost.value.message


def test_upstream_name_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from omnivideo.engines.relay_openai import api_key

    env = {"OPENAI_API_KEY": "sk-all", "OPENAI_API_KEY_VLLM": "sk-v"}
    assert api_key("openai", env) == "sk-all"
    assert api_key("openai.vllm", env) == "sk-v"
    assert api_key("openai.sglang", env) == "sk-all"
    assert api_key("openai", {}) is None
    with pytest.raises(OmniError):
        engine("opena1=http://x")


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("upstream")).start()
    yield srv
    srv.stop()


@pytest.mark.slow
def test_kling_create_relayed_to_another_omnivideos_openai_face(
    upstream: Server, tmp_path: Path
) -> None:
    env = {**upstream_env(upstream), "OPENAI_API_KEY": upstream.api_key}
    args = ["--engine", "relay", "--workers", "2", "--upstream", f"openai={upstream.base_url}/v1"]
    srv = Server(tmp_path / "relay", extra_args=args, env=env).start()
    try:
        body = {**BODY, "image_list": [{"image_url": first_frame(), "type": "first_frame"}]}
        created = srv.create(body).json()
        assert created["code"] == 0, created
        task = srv.wait(created["data"]["task_id"], timeout=120)
        assert task["task_status"] == "succeed", task["task_status_msg"]
        info = task["task_info"]
        assert info["upstream"] == "openai" and info["upstream_task_id"].startswith("video_")
        target = tmp_path / "relayed.mp4"
        target.write_bytes(httpx.get(task["task_result"]["videos"][0]["url"]).content)
        d = decode(target)
        assert (d.width, d.height, d.frames) == (720, 1280, 72)
        # Exactly one video upstream, made through its OpenAI face at the asked size.
        theirs = info["upstream_task_id"].removeprefix("video_")
        assert [t["task_id"] for t in upstream_tasks(upstream)].count(theirs) == 1
        video = httpx.get(
            f"{upstream.base_url}/v1/videos/{info['upstream_task_id']}", headers=upstream.headers()
        ).json()
        assert (video["size"], video["seconds"], video["status"]) == ("720x1280", "3", "completed")
        # What an openai upstream cannot take is refused at submit.
        frames = [
            {"image_url": first_frame(), "type": "first_frame"},
            {"image_url": first_frame(), "type": "end_frame"},
        ]
        refused = srv.create({**BODY, "image_list": frames}).json()
        assert refused["code"] == 1201 and "openai upstreams" in refused["message"]
    finally:
        srv.stop()
