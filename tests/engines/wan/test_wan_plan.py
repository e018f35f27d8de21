"""The render timeline: windows, native positions of output frames, blending (no torch)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from omnivideo.engines.wan.models import BY_KEY
from omnivideo.engines.wan.output import ShotTimeline
from omnivideo.engines.wan.plan import (
    native_frames_needed,
    plan_shots,
    round_up_4k1,
    split_windows,
)


@pytest.mark.parametrize(("n", "expected"), [(1, 1), (2, 5), (5, 5), (17, 17), (18, 21), (80, 81)])
def test_round_up_4k1(n: int, expected: int) -> None:
    assert round_up_4k1(n) == expected


def test_five_seconds_fit_one_81_frame_window() -> None:
    # 120 output frames at 24 fps = 119 intervals = 79.3 native intervals at 16 fps.
    assert native_frames_needed(120, 0, 16, 24) == 81
    # A shot after a cut also starts from the previous shot's last frame: 120 intervals.
    assert native_frames_needed(120, 1, 16, 24) == 81
    (plan,) = plan_shots([("p", 120)], fps=16, out_fps=24, window=81, overlap=5, chained=True)
    assert [w.frames for w in plan.windows] == [81]


def test_ten_seconds_are_two_overlapping_windows() -> None:
    (plan,) = plan_shots([("p", 240)], fps=16, out_fps=24, window=81, overlap=5, chained=True)
    windows = plan.windows
    # 161 native frames: three balanced windows, not 81 + 81 + 9.
    assert [(w.start, w.frames, w.keep) for w in windows] == [(0, 57, 0), (52, 57, 5), (104, 57, 5)]
    assert plan.native >= native_frames_needed(240, 0, 16, 24)
    assert all(w.frames % 4 == 1 for w in windows)


def test_windows_cover_everything_and_overlap_exactly() -> None:
    for needed in range(1, 400, 7):
        windows = split_windows(0, needed, 17, 5)
        assert windows[0].start == 0
        assert windows[-1].end + 1 >= needed
        for a, b in itertools.pairwise(windows):
            assert b.start == a.end + 1 - 5 and b.keep == 5
        assert all(w.frames <= 17 and w.frames % 4 == 1 for w in windows)


def test_first_and_last_output_frames_land_on_native_ends() -> None:
    shots = plan_shots(
        [("a", 30), ("b", 50)], fps=16, out_fps=24, window=81, overlap=5, chained=True
    )
    first, second = shots
    assert first.position(0) == 0.0 and first.position(29) == first.native - 1
    assert second.lead == 1 and second.offset == 30
    assert second.position(0) > 0.0  # native frame 0 is shot a's last frame, not re-emitted
    assert second.position(49) == second.native - 1
    # positions advance at (about) 16/24 native frames per output frame
    steps = np.diff([first.position(k) for k in range(30)])
    assert np.allclose(steps, steps[0]) and 0.66 <= steps[0] <= 0.72


def test_unchained_shots_start_fresh() -> None:
    shots = plan_shots(
        [("a", 24), ("b", 24)], fps=16, out_fps=24, window=81, overlap=1, chained=False
    )
    assert [s.lead for s in shots] == [0, 0]


def test_timeline_blends_neighbours_linearly() -> None:
    (plan,) = plan_shots([("p", 7)], fps=16, out_fps=24, window=81, overlap=5, chained=False)
    assert plan.native == 5  # 6 intervals * 16/24 = 4 -> 5 frames
    timeline = ShotTimeline(plan)
    native = np.stack([np.full((2, 2, 3), 40 * j, dtype=np.uint8) for j in range(plan.native)])
    timeline.add(0, native[:3])
    early = [int(f[0, 0, 0]) for f in timeline.ready()]
    timeline.add(3, native[3:])
    late = [int(f[0, 0, 0]) for f in timeline.ready()]
    assert early + late == [0, 27, 53, 80, 107, 133, 160]
    assert timeline.done


def test_timeline_keeps_earlier_frames_of_an_overlap() -> None:
    (plan,) = plan_shots([("p", 7)], fps=16, out_fps=24, window=81, overlap=5, chained=False)
    timeline = ShotTimeline(plan)
    timeline.add(0, np.zeros((3, 2, 2, 3), dtype=np.uint8))
    timeline.add(2, np.full((3, 2, 2, 3), 200, dtype=np.uint8))  # frame 2 repeats: kept at 0
    assert [int(f[0, 0, 0]) for f in timeline.ready()] == [0, 0, 0, 0, 133, 200, 200]


def test_native_size_keeps_pixel_count_and_multiples() -> None:
    vace = BY_KEY["wan2.1-vace-1.3b"]
    assert vace.native_size(16 / 9) == (832, 480)
    assert vace.native_size(9 / 16) == (480, 832)
    w, h = vace.native_size(1.0)
    assert w == h and w % 16 == 0 and abs(w * h - 832 * 480) / (832 * 480) < 0.05
    big = BY_KEY["wan2.1-vace-14b"]
    assert big.native_size(16 / 9, big.resolution_for(720)) == (1280, 720)
    assert big.resolution_for(1080) == 720 and big.resolution_for(480) == 480
    ti2v = BY_KEY["wan2.2-ti2v-5b"]
    assert ti2v.native_size(16 / 9) == (1280, 704)
    assert all(v % 32 == 0 for v in ti2v.native_size(1.0))
