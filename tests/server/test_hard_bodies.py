"""Hostile bodies against a real server: refused in the face's own form, nothing stored."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.server.harness import Server


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_lone_surrogate_is_a_400_before_any_task_exists(server: Server) -> None:
    base = f"{server.base_url}/v1/kling"
    raw = b'{"prompt":"p","duration":"5","replyRef":"\\ud800"}'
    headers = server.headers(**{"Content-Type": "application/json"})
    r = httpx.post(f"{base}/videos/omni", content=raw, headers=headers)
    assert (r.status_code, r.json()) == (
        400,
        {"error": "replyRef: is not valid Unicode text (it holds a lone surrogate)", "code": 400},
    )
    # The Kling face answers the same in its own envelope, naming the nested field.
    raw = b'{"prompt":"p","image_list":[{"image_url":"\\udc00"}]}'
    r = httpx.post(f"{server.base_url}/v1/videos/omni-video", content=raw, headers=headers)
    assert (r.status_code, r.json()["code"]) == (400, 1201)
    assert r.json()["message"].startswith("image_list[0].image_url: is not valid Unicode text")
    listed = httpx.get(
        f"{server.base_url}/v1/videos/omni-video", params={"pageSize": 500}, headers=headers
    )
    assert all("\\ud800" not in str(t) for t in listed.json()["data"])


def test_an_oversized_upload_is_refused_as_it_streams(server: Server) -> None:
    assert server.proc is not None
    before = rss_kb(server.proc.pid)
    big = b"\0" * (120 * 1024 * 1024)
    r = httpx.post(
        f"{server.base_url}/v1/kling/videos/omni",
        data={"prompt": "a kite", "duration": "5"},
        files={"image_1": ("big.png", big, "image/png")},
        headers=server.headers(),
        timeout=60,
    )
    assert (r.status_code, r.json()) == (
        400,
        {"error": "image_1: the file is larger than 10 MB", "code": 400},
    )
    # The part was never held whole: the server grew by far less than the upload.
    assert rss_kb(server.proc.pid) - before < 60 * 1024
    assert not list(server.data_dir.glob("**/uploads/*/*/part*"))
