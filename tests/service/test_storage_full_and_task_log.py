"""A full disk at submit or at render is a clear 5000; every task logs its start and its end."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest

from omnivideo.contract import OmniError, parse_request
from omnivideo.service import inputs, tasks
from omnivideo.service.runtime import Runtime
from omnivideo.service.simulate import parse as simulation
from tests.service.test_render_job import png_b64


def no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_at_submit_is_5000_and_stores_nothing(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_fetch = inputs.fetch

    def fetch_then_fill(*args: object, **kwargs: object) -> Path:
        path = real_fetch(*args, **kwargs)  # type: ignore[arg-type]
        no_space()
        return path

    monkeypatch.setattr(inputs, "fetch", fetch_then_fill)
    req = parse_request(
        {"prompt": "p", "image_list": [{"image_url": png_b64((400, 400), (1, 2, 3))}]}
    )
    with pytest.raises(OmniError) as info:
        tasks.submit(rt, "acc", req)
    assert info.value.code == 5000
    assert info.value.message == (
        "storage is full: the server could not write to its data directory; free some space"
    )
    assert tasks.list_page(rt, "acc", 0, 10) == []
    assert not any((tmp_path / "blobs").rglob("inputs/*/*"))  # nothing half-written is left


def test_a_full_disk_while_saving_the_output_fails_the_task_plainly(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    task = tasks.submit(
        rt,
        "acc",
        parse_request(
            {"model_name": "kling-v3-omni", "mode": "std", "prompt": "a kite", "duration": "3"}
        ),
    )
    monkeypatch.setattr(rt.blobs, "put_file", no_space)
    with caplog.at_level(logging.INFO, logger="omnivideo.service.tasks"):
        tasks.run(rt, task.task_id)
    ended = tasks.get(rt, "acc", task.task_id)
    assert (ended.status.value, ended.error_code) == ("failed", 5000)
    assert ended.status_msg.startswith("storage is full")
    lines = [r.getMessage() for r in caplog.records]
    assert (
        lines[0]
        == f"task {task.task_id} taken (attempt 1, engine instant, queue preview, face kling)"
    )
    assert lines[-1] == (
        f"task {task.task_id} failed (5000: storage is full: the server could not write to its "
        "data directory; free some space)"
    )


def test_each_task_logs_when_taken_and_when_it_ends(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    extras = tasks.SubmitExtras(face="useapi")
    task = tasks.submit(
        rt, "acc", parse_request({"prompt": "p"}), simulation("fail=1301; msg=blocked"), extras
    )
    with caplog.at_level(logging.INFO, logger="omnivideo.service.tasks"):
        tasks.run(rt, task.task_id)
    taken, ended = (r.getMessage() for r in caplog.records)
    assert (
        taken
        == f"task {task.task_id} taken (attempt 1, engine instant, queue preview, face useapi)"
    )
    assert ended.startswith(f"task {task.task_id} failed after ")
    assert ended.endswith("s (1301: blocked)")
    seconds = float(ended.split("failed after ")[1].split("s ")[0])
    assert 0 <= seconds < 5
