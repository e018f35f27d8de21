"""What a result's thumbnail and spritesheet cost, against the render that made the video.

One preview render (pro, 16:9, 1920x1080, 24 fps, 5 s), then the thumbnail and spritesheet made
from its MP4 (what ``service.variants.store`` does as the result is stored), in the same
process; the best of ``--repeat`` runs of each counts. Prints one JSON line:
  {"case", "frames", "render_s", "variants_s", "ratio", "render_cpu_s", "variants_cpu_s",
   "cpu_ratio", "thumbnail_bytes", "spritesheet_bytes"}
(CPU seconds are the process's user+system time: steadier than wall time on a busy machine.)

Usage: python bench/variants.py [--repeat N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import tempfile
import time
from pathlib import Path


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from omnivideo.contract.spec import ShotPlan
    from omnivideo.engines.base import RenderJob, RunContext
    from omnivideo.engines.preview import PreviewEngine
    from omnivideo.media.frames import write_previews

    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        engine = PreviewEngine()
        prompt = "A red fox trotting through fresh snow at dawn, cinematic"
        job = RenderJob.of(
            task_id="1", work_dir=tmp, model="kling-v3-omni", mode="pro", width=1920, height=1080, fps=24,
            frame_count=120, seed=7, prompt=prompt, shots=(ShotPlan(prompt=prompt, frames=120),),
        )  # fmt: skip
        render_s, variants_s, render_cpu, variants_cpu = [], [], [], []
        video = None
        for i in range(args.repeat):
            start, cpu = time.perf_counter(), _cpu_s()
            video = engine.render(
                dataclasses.replace(job, work_dir=tmp / f"r{i}"), RunContext()
            ).path
            render_s.append(time.perf_counter() - start)
            render_cpu.append(_cpu_s() - cpu)
            start, cpu = time.perf_counter(), _cpu_s()
            write_previews(video, tmp / "thumb.jpg", tmp / "sheet.jpg")
            variants_s.append(time.perf_counter() - start)
            variants_cpu.append(_cpu_s() - cpu)
        print(
            json.dumps(
                {
                    "case": "t2v_1080p_5s",
                    "frames": job.frame_count,
                    "render_s": round(min(render_s), 3),
                    "variants_s": round(min(variants_s), 3),
                    "ratio": round(min(variants_s) / min(render_s), 3),
                    "render_cpu_s": round(min(render_cpu), 3),
                    "variants_cpu_s": round(min(variants_cpu), 3),
                    "cpu_ratio": round(min(variants_cpu) / min(render_cpu), 3),
                    "thumbnail_bytes": (tmp / "thumb.jpg").stat().st_size,
                    "spritesheet_bytes": (tmp / "sheet.jpg").stat().st_size,
                }
            )
        )


if __name__ == "__main__":
    main()
