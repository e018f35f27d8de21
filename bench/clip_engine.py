"""An engine for benchmarks of the task path: it renders nothing and hands back one small clip.

`bench/scale.py` uses it for its throughput figure, where a task's render time must be exactly
its simulated `delay=`: with the preview engine, 40 real renders on a 2-core machine measure the
CPU, not how tasks spread over workers. Load it with ``--engine clip_engine:ClipEngine`` and
``bench/`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

import av
import numpy as np

from omnivideo.engines.base import Engine, RenderedVideo, RenderJob, RunContext


class ClipEngine(Engine):
    name: ClassVar[str] = "clip"

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._clip = Path(tempfile.mkdtemp(prefix="omnivideo-clip-")) / "clip.mp4"
        with av.open(str(self._clip), "w") as out:
            stream = out.add_stream("libx264", rate=24)
            stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
            for i in range(6):
                rgb = np.full((64, 64, 3), 40 * i, dtype=np.uint8)
                out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            out.mux(stream.encode())

    def render(self, job: RenderJob, ctx: RunContext) -> RenderedVideo:
        ctx.report(1.0, "done")
        job.work_dir.mkdir(parents=True, exist_ok=True)
        out = job.work_dir / "out.mp4"
        shutil.copyfile(self._clip, out)
        return RenderedVideo(out, job.duration_s, job.width, job.height)
