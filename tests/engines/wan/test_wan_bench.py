"""``bench/wan.py --tiny`` stays alive on CPU and prints one JSON line per figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "wan.py"


@pytest.mark.slow
@pytest.mark.system
def test_tiny_bench_prints_every_figure() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--tiny", "--steps", "6"],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    figures = {(line["variant"], line["figure"]): line["value"] for line in lines}
    for variant in ("diffusers", "engine"):
        for figure in ("s_per_step", "s_per_video", "peak_rss_gb"):
            assert figures[(variant, figure)] > 0
    assert figures[("diffusers", "transformer_passes")] == 12
    assert figures[("engine", "transformer_passes")] == 2 * 4  # steps 0, 1, 3, 5 of 6
    assert figures[("engine", "speedup")] > 0
    assert figures[("engine", "denoise_speedup")] > 0
    assert all(line["steps"] == 6 and line["device"] == "cpu" for line in lines)
    # three interleaved rounds by default, each round's speedup shown beside the median's
    speedup = next(line for line in lines if line["figure"] == "speedup")
    assert speedup["of"] == "ratio of medians" and len(speedup["rounds"]) == 3


@pytest.mark.slow
@pytest.mark.system
def test_tiny_bench_distilled_profile_alternates_and_counts_four_passes() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--tiny", "--steps", "6", "--profile", "distill-4step",
         "--random-lora", "4", "--rounds", "2"],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    figures = {(line["variant"], line["figure"]): line for line in lines}
    assert figures[("diffusers", "transformer_passes")]["value"] == 12  # 6 steps, CFG
    engine_passes = figures[("engine", "transformer_passes")]
    assert engine_passes["value"] == 4 and engine_passes["loras"] == 1
    assert len(figures[("diffusers", "s_per_video")]["runs"]) == 2
    assert len(figures[("engine", "s_per_video")]["runs"]) == 2
    assert figures[("engine", "speedup")]["value"] > 0
