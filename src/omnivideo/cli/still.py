"""``omnivideo still``: one frame of the preview engine as a PNG, without encoding a video."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from PIL import Image

from omnivideo.contract.output import FPS, frame_count, output_size
from omnivideo.engines.base import RenderJob
from omnivideo.engines.preview import paint_frame


def make_still(
    output: Path,
    prompt: str,
    *,
    mode: Literal["std", "pro"] = "pro",
    aspect_ratio: str = "16:9",
    seconds: float = 5,
    at_second: float = 2.5,
    seed: int = 0,
) -> Path:
    """Render the frame at ``at_second`` of a ``seconds``-long text-to-video preview to ``output``.

    The frame is exactly the one the preview engine puts in the video (same size, look and
    caption), so a still shows what a render will look like in a fraction of the time.
    """
    output = Path(output)
    width, height = output_size(mode, aspect_ratio)
    frames = frame_count(seconds)
    index = min(max(round(at_second * FPS), 0), frames - 1)
    job = RenderJob.of(
        "still",
        output.parent,
        model="kling-v3-omni",
        mode=mode,
        width=width,
        height=height,
        fps=FPS,
        frame_count=frames,
        seed=seed,
        prompt=prompt,
    )
    rgb = paint_frame(job, index).to_ndarray(format="rgb24")
    output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(output)
    return output
