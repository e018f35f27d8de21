"""The wan speed options reach `omnivideo worker`, and a bad --gpus stops it with one line."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("gpus", "words"), [("0,0", "gpus"), ("a,b", "gpus")]
)  # fmt: skip
def test_a_bad_gpus_list_stops_the_worker_with_one_line(gpus: str, words: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "omnivideo.cli.main", "worker",
         "--database-url", "postgresql://nobody@127.0.0.1:1/none",
         "--engine", "wan", "--model", "Wan-AI/Wan2.1-VACE-1.3B-diffusers", "--device", "cpu",
         "--gpus", gpus],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], proc.stderr
