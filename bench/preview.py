"""Benchmark of the preview engine against the encoder floor, measured in the same run.

Cases (all pro, 16:9, 1920x1080, 24 fps):
  t2v        5 s text-to-video
  first_end  10 s, first and end frame (generated images)
  six_shots  15 s, six shots

For each case a fresh subprocess renders the job (peak RSS from getrusage), then another
fresh subprocess measures the floor: the very frames of that render, painted beforehand and
held in memory (yuv420p), encoded with the same encoder settings (libx264, preset, crf,
threads). The floor is what x264 alone costs for this picture content; the ratio is what
the engine adds on top of it.

Render and floor alternate ``--repeat`` times and the best time of each counts, so a burst of
load from elsewhere on the machine does not decide the ratio. Prints one JSON line per case:
  {"case", "frames", "wall_s", "floor_s", "ratio", "cpu_s", "floor_cpu_s", "peak_mb", ...}
(cpu_s: user+system CPU seconds of the render; peak_mb: the largest peak RSS of its runs.)

Usage: python bench/preview.py [--cases t2v,first_end,six_shots] [--repeat N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omnivideo.engines.base import RenderJob

CASES = ("t2v", "first_end", "six_shots")
PROMPTS = (
    "A red fox trotting through fresh snow at dawn, cinematic",
    "Close-up: the fox stops and lifts its head, breath visible in the cold air",
    "Wide shot of the valley as the sun clears the ridge, long blue shadows",
    "The fox leaps into a snowbank, powder bursting around it",
    "A lone pine on the hill, branches heavy with snow, light wind",
    "The fox curls up under the pine as golden light fills the frame",
)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _test_image(path: Path, palette: int, seed: int) -> Path:
    """A detailed synthetic photo: a landscape with sharp shapes and fine texture."""
    import numpy as np
    from PIL import Image, ImageDraw

    from omnivideo.engines.preview_art import PALETTES, landscape

    rgb = landscape(1920, 1080, PALETTES[palette], seed)
    rng = np.random.default_rng(seed)
    rgb += rng.normal(0, 6, rgb.shape[:2])[..., None].astype(np.float32)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = int(rng.integers(0, 1920)), int(rng.integers(0, 1080))
        r = int(rng.integers(8, 60))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse((x - r, y - r, x + r, y + r), outline=colour, width=3)
    img.save(path, quality=92)
    return path


def _job(case: str, work: Path) -> RenderJob:
    from omnivideo.contract.spec import ShotPlan
    from omnivideo.engines.base import RenderJob

    common = dict(model="kling-v3-omni", mode="pro", width=1920, height=1080, fps=24, seed=42)
    if case == "t2v":
        return RenderJob.of(
            task_id=case,
            frame_count=120,
            prompt=PROMPTS[0],
            shots=(ShotPlan(prompt=PROMPTS[0], frames=120),),
            work_dir=work,
            **common,  # type: ignore[arg-type]
        )
    if case == "first_end":
        first = _test_image(work / "first.jpg", 7, 1)
        end = _test_image(work / "end.jpg", 0, 2)
        prompt = "The fox walks from the golden field into the snowy valley"
        return RenderJob.of(
            task_id=case,
            frame_count=240,
            prompt=prompt,
            shots=(ShotPlan(prompt=prompt, frames=240),),
            first_frame=first,
            end_frame=end,
            work_dir=work,
            **common,  # type: ignore[arg-type]
        )
    if case == "six_shots":
        shots = tuple(ShotPlan(prompt=p, frames=60) for p in PROMPTS)
        return RenderJob.of(
            task_id=case,
            frame_count=360,
            prompt="",
            shots=shots,
            work_dir=work,
            **common,  # type: ignore[arg-type]
        )
    raise SystemExit(f"unknown case {case!r}")


def _child_render(case: str, work: Path) -> dict[str, object]:
    from omnivideo.engines.base import RunContext
    from omnivideo.engines.preview import PreviewEngine

    job = _job(case, work)
    start, cpu = time.perf_counter(), _cpu_s()
    result = PreviewEngine().render(job, RunContext())
    wall, cpu = time.perf_counter() - start, _cpu_s() - cpu
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_mb": _peak_mb(),
        "path": str(result.path),
        "frames": job.frame_count,
    }


def _child_floor(case: str, work: Path) -> dict[str, float]:
    from omnivideo.engines.preview import paint_frames
    from omnivideo.media.encode import Mp4Writer

    job = _job(case, work)
    # The very frames the engine encodes, painted beforehand and held in memory.
    frames = list(paint_frames(job))
    start, cpu = time.perf_counter(), _cpu_s()
    with Mp4Writer(work / "floor.mp4", job.width, job.height) as writer:
        for frame in frames:
            writer.write(frame)
    wall, cpu = time.perf_counter() - start, _cpu_s() - cpu
    return {"floor_s": wall, "floor_cpu_s": cpu, "floor_peak_mb": _peak_mb()}


def _run_child(*args: str) -> dict[str, float | str]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float | str] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="render and floor alternate this many times; the best of each counts",
    )
    parser.add_argument("--keep", type=Path, help="keep the outputs in this directory")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "render":
            print(json.dumps(_child_render(rest[0], Path(rest[1]))))
        else:
            print(json.dumps(_child_floor(rest[0], Path(rest[1]))))
        return

    from omnivideo.media.encode import DEFAULT_SETTINGS

    settings = DEFAULT_SETTINGS
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        for case in args.cases.split(","):
            work = root / case
            work.mkdir(parents=True, exist_ok=True)
            renders, floors = [], []
            for _ in range(max(1, args.repeat)):
                renders.append(_run_child("render", case, str(work)))
                floors.append(_run_child("floor", case, str(work)))

            def best(runs: list[dict[str, float | str]], key: str) -> float:
                return min(float(r[key]) for r in runs)

            wall, floor = best(renders, "wall_s"), best(floors, "floor_s")
            line = {
                "case": case,
                "frames": int(renders[0]["frames"]),
                "size": "1920x1080",
                "encoder": f"libx264 {settings.preset} crf {settings.crf} threads {settings.threads}",
                "wall_s": round(wall, 3),
                "floor_s": round(floor, 3),
                "ratio": round(wall / floor, 3),
                "cpu_s": round(best(renders, "cpu_s"), 3),
                "floor_cpu_s": round(best(floors, "floor_cpu_s"), 3),
                "peak_mb": round(max(float(r["peak_mb"]) for r in renders), 1),
                "floor_peak_mb": round(max(float(r["floor_peak_mb"]) for r in floors), 1),
                "runs": len(renders),
            }
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
