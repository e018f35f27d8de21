"""The local job log, useapi's flat wire form, and the SDK's import footprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnivideo.client.joblog import CREATING, JobLog, user_dir
from omnivideo.contract import OmniError, TaskStatus, TaskView, parse_request
from omnivideo.dialects import useapi
from tests.isolation import run_without


def test_job_log_migrates_once_and_keeps_what_was_asked(tmp_path: Path) -> None:
    log = JobLog(tmp_path / "jobs.db")
    assert log.migrations() == ["_m001_jobs"]
    assert JobLog(tmp_path / "jobs.db").migrations() == ["_m001_jobs"]
    request = {"prompt": "a fox", "image_list": [{"image_url": "A" * 5000}]}
    job = log.begin("kling", "https://k", request, "ov-1", "out.mp4")
    assert job.status == CREATING and job.ident == "ov-1" and job.output == "out.mp4"
    assert job.request["image_list"][0]["image_url"] == "<5000 characters of Base64>"
    log.record(job.id, TaskView(task_id="123", status=TaskStatus.PROCESSING))
    for ident in ("123", "ov-1", str(job.id), f"#{job.id}"):
        found = log.find(ident)
        assert found is not None and found.task_id == "123" and found.status == "processing"
    log.add_files(job.id, [tmp_path / "a.mp4", tmp_path / "a.mp4"])
    assert log.list()[0].files == (str((tmp_path / "a.mp4").resolve()),)
    assert log.list(pending=True)[0].id == job.id
    log.record(job.id, TaskView(task_id="123", status=TaskStatus.SUCCEED))
    assert log.list(pending=True) == []


def test_user_dir_honours_omnivideo_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNIVIDEO_HOME", str(tmp_path / "h"))
    assert user_dir() == tmp_path / "h"
    assert JobLog().path == tmp_path / "h" / "jobs.db"


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "a kite", "model_name": "kling-v3-omni", "mode": "std", "duration": "3"},
        {
            "prompt": "<<<image_2>>> walks past <<<image_1>>> with <<<element_1>>>",
            "image_list": [
                {"image_url": "https://x/first.png", "type": "first_frame"},
                {"image_url": "https://x/ref.png"},
            ],
            "element_list": [{"element_id": 42}],
            "model_name": "kling-v3-omni",
            "duration": "5",
            "aspect_ratio": "9:16",
        },
        {
            "model_name": "kling-v3-omni",
            "multi_shot": True,
            "shot_type": "customize",
            "duration": "5",
            "multi_prompt": [
                {"index": 1, "prompt": "a door opens", "duration": "2"},
                {"index": 2, "prompt": "<<<image_1>>> enters", "duration": "3"},
            ],
            "image_list": [{"image_url": "https://x/ref.png"}],
            "sound": "on",
        },
        {
            "prompt": "make <<<video_1>>> snowy",
            "video_list": [{"video_url": "https://x/v.mp4", "refer_type": "feature"}],
            "model_name": "kling-video-o1",
            "duration": "5",
            "callback_url": "https://me/hook",
        },
    ],
)
def test_useapi_wire_round_trips_through_the_server_dialect(body: dict) -> None:  # type: ignore[type-arg]
    req = parse_request(body)
    wire = useapi.to_wire(req)
    back = useapi.parse_create(wire)
    assert back.reply_url == req.callback_url
    expected = req.model_copy(update={"callback_url": None}).to_wire()
    got = back.request.to_wire()
    # useapi lists reference images before the frames; the references follow the images.
    assert sorted(got.get("image_list", []), key=str) == sorted(
        expected.get("image_list", []), key=str
    )
    for key in (
        "prompt",
        "multi_prompt",
        "element_list",
        "video_list",
        "model_name",
        "duration",
        "sound",
        "aspect_ratio",
        "mode",
        "multi_shot",
    ):
        if key == "prompt" and "image_list" in expected:
            continue
        assert got.get(key) == expected.get(key), key
    if body.get("image_list") and body.get("prompt", "").startswith("<<<image_2>>>"):
        assert wire["prompt"].startswith("@image_1 walks past @image_2 with @element_1")
        assert back.request.prompt == "<<<image_1>>> walks past <<<image_2>>> with <<<element_1>>>"


def test_useapi_wire_refuses_what_useapi_cannot_say() -> None:
    req = parse_request(
        {
            "model_name": "kling-v3-omni",
            "prompt": "a, b",
            "multi_shot": True,
            "shot_type": "intelligence",
        }
    )
    with pytest.raises(OmniError, match="customized shots only"):
        useapi.to_wire(req)


_ISOLATION = """
import omnivideo.client
from omnivideo.client import AsyncClient, Client, webhooks
from omnivideo.client.joblog import JobLog

Client("cometapi", api_key="k").close()
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not leaked, leaked
print("ok")
"""
BLOCKED = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "av",
    "PIL",
    "numpy",
    "typer",
    "rich",
    "pydantic_settings",
    "torch",
    "uvicorn",
)


def test_the_sdk_imports_with_only_pydantic_httpx_and_pyjwt() -> None:
    result = run_without(BLOCKED, _ISOLATION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    blocked = run_without(BLOCKED, _ISOLATION.replace("import omnivideo.client", "import rich"))
    assert "blocked for this test: rich" in blocked.stderr
