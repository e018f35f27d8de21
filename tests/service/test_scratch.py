"""A start removes the scratch directories of killed workers, never a live neighbour's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from omnivideo.service import scratch

HOLD = (
    "from omnivideo.service import scratch; import sys, time; "
    "d = scratch.task_dir('123'); (d / 'frame.raw').write_bytes(b'x' * 1000); "
    "print(d, flush=True); time.sleep(60)"
)


def _worker(tmp: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_a_start_sweeps_what_killed_workers_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(scratch, "_mine", None)
    killed, killed_dir = _worker(tmp_path)
    live, live_dir = _worker(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        assert killed_dir.is_dir() and live_dir.is_dir()
        assert scratch.sweep() == 1
        assert not killed_dir.parent.exists()  # the killed process's whole directory
        assert live_dir.is_dir()  # its owner lives: its lock holds
        mine = scratch.task_dir("456")
        assert mine.parent.parent == tmp_path / "omnivideo-scratch"
        assert scratch.sweep() == 0 and mine.is_dir()
    finally:
        live.kill()
        live.wait(10)
