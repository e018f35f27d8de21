"""The all-in-one server on a disk that fills during renders: every task ends, failed with the
storage-full message, none stays processing or submitted; once there is room, tasks render.

The disk is a small tmpfs (data dir and scratch both on it), so the test needs the right to
mount one (root in a container that allows it); elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnivideo.service.storage_full import STORAGE_FULL
from tests.server.harness import Server

pytestmark = [pytest.mark.slow, pytest.mark.system, pytest.mark.timeout(300)]

BODY = {"model_name": "kling-v3-omni", "mode": "std", "duration": "3", "aspect_ratio": "1:1"}
#: what the filler leaves free: nothing (a preview's video is small, and would fit in a little)
LEFT_FREE = 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small disk here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` but ``leave`` bytes."""
    filler = disk / "filler"
    chunk = b"\0" * (1024 * 1024)
    with open(filler, "wb") as out:
        while True:
            try:
                out.write(chunk)
                out.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    # The failed write may have left part of the chunk; count what the file holds.
    size = filler.stat().st_size
    with open(filler, "r+b") as out:
        out.truncate(max(0, size - leave))
    return filler


def test_a_disk_filling_mid_render_fails_each_task_plainly(small_disk: Path) -> None:
    (small_disk / "tmp").mkdir()
    server = Server(
        small_disk / "data",
        extra_args=["--workers", "1"],
        env={"TMPDIR": str(small_disk / "tmp"), "OMNIVIDEO_STALL_AFTER_S": "5"},
    ).start()
    try:
        ids = []
        for i in range(3):
            r = server.create(
                {**BODY, "prompt": f"full {i}"}, **{"X-Omnivideo-Simulate": "delay=2s"}
            )
            assert r.status_code == 200, r.text
            ids.append(r.json()["data"]["task_id"])
        deadline = time.time() + 30
        while server.get_task(ids[0])["task_status"] != "processing":
            assert time.time() < deadline
            time.sleep(0.1)
        filler = fill(small_disk, LEFT_FREE)
        ended = {}
        deadline = time.time() + 120
        while len(ended) < len(ids) and time.time() < deadline:
            for task_id in ids:
                with contextlib.suppress(AssertionError):
                    task = server.get_task(task_id)
                    if task["task_status"] in ("succeed", "failed"):
                        ended[task_id] = task
            time.sleep(0.3)
        stuck = [t for t in ids if t not in ended]
        assert not stuck, "\n".join(server.log[:40])
        # The first render hit the full disk; the others ended as well, failed the same way
        # or rendered in the room its failure left.
        assert ended[ids[0]]["task_status_msg"] == STORAGE_FULL
        for task in ended.values():
            assert task["task_status"] == "succeed" or task["task_status_msg"] == STORAGE_FULL
        # Once there is room again, the same server renders.
        filler.unlink()
        r = server.create({**BODY, "prompt": "room again"})
        assert server.wait(r.json()["data"]["task_id"], timeout=60)["task_status"] == "succeed"
    finally:
        server.stop()
