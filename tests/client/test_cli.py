"""`omnivideo generate | tasks | auth` against a real server; the job log keeps every create."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from omnivideo.cli.main import app
from omnivideo.client.joblog import JobLog
from tests.mp4 import decode
from tests.server.harness import Server

FAST = ["--model", "kling-v3-omni", "--mode", "std", "--duration", "3"]


@pytest.fixture
def cli(server: Server, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run the CLI in-process against ``server`` (omnivideo provider unless told otherwise)."""
    monkeypatch.setenv("OMNIVIDEO_API_KEY", server.api_key)
    monkeypatch.setenv("OMNIVIDEO_BASE_URL", server.base_url)
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
        result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        try:
            data = json.loads(result.stdout) if result.stdout.strip() else None
        except json.JSONDecodeError:
            data = result.stdout
        return result.exit_code, data, result.stderr

    return run


def test_generate_writes_a_playable_mp4_and_prints_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "fox.mp4"
    code, data, _ = cli("generate", "A red fox in the snow", *FAST, "-o", str(out), "--json")
    assert code == 0, data
    assert data["status"] == "succeed" and data["files"] == [str(out.resolve())]
    assert data["external_task_id"].startswith("ov-") and data["job"] == 1
    d = decode(out)
    assert (d.codec, d.width, d.height, d.frames) == ("h264", 1280, 720, 72)
    job = JobLog().find(data["task_id"])
    assert job is not None and job.status == "succeed" and job.files == (str(out.resolve()),)


@pytest.mark.parametrize("provider", ["kling", "cometapi", "useapi"])
def test_generate_on_each_provider_face_with_a_local_first_frame(
    cli,
    server: Server,
    provider: str,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    image = tmp_path / "first.png"
    buf = io.BytesIO()
    Image.new("RGB", (720, 720), (10, 90, 200)).save(buf, format="PNG")
    image.write_bytes(buf.getvalue())
    env = {
        "KLING_ACCESS_KEY": server.credentials["access_key"],
        "KLING_SECRET_KEY": server.credentials["secret_key"],
        "COMETAPI_KEY": server.api_key,
        "USEAPI_TOKEN": server.api_key,
    }
    code, data, err = cli(
        "generate",
        "it turns",
        "--first-frame",
        str(image),
        *FAST,
        "--provider",
        provider,
        "--base-url",
        server.base_url,
        "-o",
        str(tmp_path),
        env=env,
    )
    assert code == 0, (data, err)
    d = decode(Path(data["files"][0]))
    assert (d.width, d.height) == (720, 720)


def test_multi_shot_from_the_command_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, data, _ = cli(
        "generate",
        "--shot",
        "a door opens:1",
        "--shot",
        "a cat walks in: 2",
        "--model",
        "kling-v3-omni",
        "--mode",
        "std",
        "-o",
        str(tmp_path / "shots.mp4"),
    )
    assert code == 0, data
    assert decode(tmp_path / "shots.mp4").frames == 72


def test_exit_codes(cli, server: Server) -> None:  # type: ignore[no-untyped-def]
    code, data, _ = cli("generate", "blocked", *FAST, "-H", "X-Omnivideo-Simulate: fail=1301")
    assert code == 3
    assert data["error"]["type"] == "TaskFailed" and data["error"]["code"] == 1301
    assert data["status"] == "failed"
    code, data, _ = cli("generate", "a fox", "--model", "kling-video-o1", "--duration", "3")
    assert code == 2 and "5 or 10 s" in data["error"]["message"]
    code, _, _ = cli("generate", "a fox", "--mode", "huge")
    assert code == 2
    code, data, _ = cli("generate", "a fox", *FAST, env={"OMNIVIDEO_API_KEY": "ov-wrong"})
    assert code == 5 and data["error"]["code"] == 1002
    assert JobLog().list()[0].status == "refused"


def test_timeout_exits_4_and_tasks_wait_resumes(
    cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, data, _ = cli(
        "generate",
        "slow",
        *FAST,
        "-H",
        "X-Omnivideo-Simulate: queue=2s",
        "--timeout",
        "0.5",
        "-o",
        "later.mp4",
    )
    assert code == 4 and data["error"]["type"] == "WaitTimeout"
    task_id = data["task_id"]
    code, listed, _ = cli("tasks", "list", "--pending")
    assert [j["task_id"] for j in listed] == [task_id]
    code, data, _ = cli("tasks", "wait", task_id)
    assert code == 0 and data["files"] == [str(tmp_path / "later.mp4")]
    assert decode(tmp_path / "later.mp4").frames == 72
    code, shown, _ = cli("tasks", "show", f"#{data['job']}")
    assert code == 0 and shown["status"] == "succeed"
    code, _, _ = cli("tasks", "download", task_id, "-o", str(tmp_path / "copy.mp4"))
    assert (
        code == 0 and (tmp_path / "copy.mp4").read_bytes() == (tmp_path / "later.mp4").read_bytes()
    )


def test_tasks_show_reaches_tasks_the_log_never_saw(cli, server: Server) -> None:  # type: ignore[no-untyped-def]
    task_id = server.create({"prompt": "made elsewhere", "mode": "std"}).json()["data"]["task_id"]
    code, data, _ = cli("tasks", "show", task_id)
    assert code == 0 and data["task_id"] == task_id
    assert JobLog().find(task_id) is not None


def test_auth_check(cli, server: Server) -> None:  # type: ignore[no-untyped-def]
    code, data, _ = cli("auth", "check")
    assert code == 0 and data["ok"] is True
    env = {
        "KLING_ACCESS_KEY": server.credentials["access_key"],
        "KLING_SECRET_KEY": server.credentials["secret_key"],
    }
    code, data, _ = cli(
        "auth", "check", "--provider", "kling", "--base-url", server.base_url, env=env
    )
    assert code == 0 and "JWT" in data["credentials"]
    code, data, _ = cli("auth", "check", env={"OMNIVIDEO_API_KEY": "ov-nope"})
    assert code == 5 and data["ok"] is False
    code, data, _ = cli("auth", "check", "--provider", "cometapi")
    assert code == 5 and "COMETAPI_KEY" in data["error"]["message"]
    code, rows, _ = cli("auth", "status")
    assert {r["provider"]: bool(r["set"]) for r in rows}["omnivideo"] is True


def test_ctrl_c_detaches_and_prints_how_to_resume(server: Server, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OMNIVIDEO_API_KEY": server.api_key,
        "OMNIVIDEO_BASE_URL": server.base_url,
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "omnivideo.cli.main",
            "generate",
            "interrupted",
            *FAST,
            "-H",
            "X-Omnivideo-Simulate: queue=30s",
            "-o",
            str(tmp_path / "x.mp4"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    log = JobLog()
    deadline = time.time() + 30
    while time.time() < deadline:
        jobs = log.list(1)
        if jobs and jobs[0].task_id:
            break
        time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("the job never got its task id")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    task_id = jobs[0].task_id
    assert proc.returncode == 130, (out, err)
    assert f"omnivideo tasks wait {task_id}" in err
    # The job is safe in the log, and its task is still running at the server.
    assert log.find(task_id) is not None
    assert server.get_task(task_id)["task_status"] == "submitted"
    httpx_cancel = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            f"{server.base_url}/v1/videos/omni-video/{task_id}/cancel",
            "-H",
            f"Authorization: Bearer {server.api_key}",
        ],
        capture_output=True,
        timeout=30,
    )
    assert httpx_cancel.returncode == 0


def test_a_create_cut_off_before_its_answer_is_recovered_by_external_id(
    cli,
    server: Server,  # type: ignore[no-untyped-def]
) -> None:
    # The log row is written before the create leaves; the terminal dies before the answer.
    log = JobLog()
    job = log.begin("omnivideo", server.base_url, {"prompt": "orphan"}, "ov-orphan-1")
    body = {"prompt": "orphan", "mode": "std", "external_task_id": "ov-orphan-1"}
    task_id = server.create(body).json()["data"]["task_id"]
    assert log.find("ov-orphan-1").task_id is None  # type: ignore[union-attr]
    code, data, _ = cli("tasks", "wait", "ov-orphan-1", "--no-download")
    assert code == 0 and data["task_id"] == task_id and data["job"] == job.id
    assert log.find(task_id).status == "succeed"  # type: ignore[union-attr]
    # useapi has no external ids: such a job cannot be looked up, and the CLI says so.
    lost = log.begin("useapi", server.base_url, {"prompt": "lost"}, None)
    code, data, _ = cli("tasks", "wait", str(lost.id))
    assert code == 2 and "no task id" in data["error"]["message"]


def test_video_edit_with_a_local_base_video(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, data, _ = cli("generate", "a street", *FAST, "-o", str(tmp_path / "src.mp4"))
    assert code == 0
    code, data, _ = cli(
        "generate",
        "make <<<video_1>>> snowy",
        "--video",
        str(tmp_path / "src.mp4"),
        "--refer-type",
        "base",
        "--keep-sound",
        "--mode",
        "std",
        "-o",
        str(tmp_path / "edit.mp4"),
    )
    assert code == 0, data
    d = decode(tmp_path / "edit.mp4")
    assert (d.width, d.height, d.frames) == (1280, 720, 72)


def test_no_wait_prints_the_task_and_leaves_it_in_the_log(cli) -> None:  # type: ignore[no-untyped-def]
    code, data, _ = cli("generate", "later", *FAST, "--no-wait")
    assert code == 0 and data["status"] == "submitted" and data["files"] == []
    job = JobLog().find(data["task_id"])
    assert job is not None and job.external_task_id == data["external_task_id"]
