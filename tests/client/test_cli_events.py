"""`omnivideo generate` / `tasks wait` follow an omnivideo task through its event stream."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from typer.testing import CliRunner

from omnivideo.cli.events import COMMENT, parse_sse
from omnivideo.cli.generate import StatusLine
from omnivideo.cli.main import app
from omnivideo.contract.task import TaskStatus, TaskView
from tests.server.harness import Server


def test_parse_sse_frames_events_and_keeps_comments_apart() -> None:
    lines = [
        "retry: 1000",
        "",
        ": keepalive",
        "",
        "id: 1",
        "event: task",
        'data: {"a":',
        "data: 1}",
    ]
    assert list(parse_sse([*lines, ""])) == [
        (COMMENT, "keepalive"),
        ("task", '{"a":\n1}'),
    ]
    # A stream cut before its blank line still gives its last event.
    assert list(parse_sse(["data: x"])) == [("message", "x")]


def test_the_status_line_draws_a_progress_bar_once_progress_is_known() -> None:
    line = StatusLine()
    line.update(TaskView(task_id="1", status=TaskStatus.PROCESSING, progress=None))
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(line)
    assert "━" not in console.file.getvalue()  # type: ignore[attr-defined]
    line.update(TaskView(task_id="1", status=TaskStatus.PROCESSING, progress=0.5))
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(line)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "processing 50%" in out and "━" in out


def _requests(server: Server, route: str) -> float:
    text = httpx.get(f"{server.base_url}/metrics", timeout=30).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "omnivideo_http_requests_total" and s.labels["route"] == route
    )


def test_generate_waits_on_the_event_stream_not_by_polling(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIVIDEO_API_KEY", server.api_key)
    monkeypatch.setenv("OMNIVIDEO_BASE_URL", server.base_url)
    monkeypatch.chdir(tmp_path)
    streams = _requests(server, "/v1/videos/omni-video/{ident}/events")
    polls = _requests(server, "/v1/videos/omni-video/{ident}")
    result = CliRunner().invoke(
        app,
        [
            *("generate", "a slow tide", "--model", "kling-v3-omni", "--mode", "std"),
            *("--duration", "3", "-H", "X-Omnivideo-Simulate: delay=3s", "--json", "-o", "t.mp4"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stdout
    data = json.loads(result.stdout)
    assert data["status"] == "succeed" and (tmp_path / "t.mp4").stat().st_size > 0
    assert _requests(server, "/v1/videos/omni-video/{ident}/events") == streams + 1
    # Polling every 2 s would have asked at least twice in 3 s.
    assert _requests(server, "/v1/videos/omni-video/{ident}") == polls
