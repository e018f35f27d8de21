"""Kling's ``camera_control`` on the preview engine: each axis moves the camera its way."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from omnivideo.contract.spec import Camera as KlingCamera
from omnivideo.contract.spec import ShotPlan
from omnivideo.engines.base import RenderJob, RunContext
from omnivideo.engines.preview import PreviewEngine
from omnivideo.engines.preview_camera import camera_move


def centre_and_span(box: tuple[float, float, float, float] | None) -> tuple[float, float, float]:
    x0, y0, x1, y1 = box or (0.0, 0.0, 1.0, 1.0)
    return (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0


@pytest.mark.parametrize(
    ("axes", "moves"),
    [
        ({"zoom": 5}, "wider"),
        ({"zoom": -5}, "narrower"),
        ({"horizontal": 5}, "right"),
        ({"horizontal": -5}, "left"),
        ({"pan": 5}, "right"),
        ({"vertical": 5}, "up"),
        ({"tilt": -5}, "down"),
    ],
)
def test_each_axis_moves_the_camera_its_way(axes: dict[str, float], moves: str) -> None:
    cam = camera_move("simple", **axes)
    (x0, y0, s0), (x1, y1, s1) = centre_and_span(cam.box(0.0)), centre_and_span(cam.box(1.0))
    observed = {
        "wider": s1 > s0,
        "narrower": s1 < s0,
        "right": x1 > x0,
        "left": x1 < x0,
        "up": y1 < y0,  # image rows grow downwards
        "down": y1 > y0,
    }
    assert observed[moves], (cam, observed)


def test_bigger_values_move_further() -> None:
    small, big = camera_move("simple", zoom=-2), camera_move("simple", zoom=-9)
    assert centre_and_span(big.box(1.0))[2] < centre_and_span(small.box(1.0))[2]


def test_named_moves_and_an_anchored_first_frame() -> None:
    down_back = camera_move("down_back")
    assert centre_and_span(down_back.box(1.0))[2] > centre_and_span(down_back.box(0.0))[2]
    forward = camera_move("forward_up", anchored=True)
    assert forward.box(0.0) is None  # the first frame is the image, whole
    assert centre_and_span(forward.box(1.0))[2] < 1.0


def test_render_follows_camera_control(tmp_path: Path) -> None:
    def job(camera: KlingCamera | None) -> RenderJob:
        return RenderJob.of(
            task_id="cam", model="kling-v1", mode="std", width=320, height=180, fps=24,
            frame_count=12, seed=3, prompt="a hill", shots=(ShotPlan(prompt="a hill", frames=12),),
            work_dir=tmp_path / str(camera is not None), camera=camera,
        )  # fmt: skip

    def frames(camera: KlingCamera | None) -> list[np.ndarray]:
        out = PreviewEngine().render(job(camera), RunContext()).path
        with av.open(str(out)) as c:
            return [f.to_ndarray(format="gray").astype(float) for f in c.decode(video=0)]

    drift = frames(None)
    moved = frames(KlingCamera(type="simple", zoom=-10))
    assert len(moved) == 12
    # Same scene, another camera: the frames differ once the camera has moved.
    assert np.abs(moved[-1] - drift[-1]).mean() > 1.0
