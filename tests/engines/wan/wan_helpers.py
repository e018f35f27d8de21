"""Helpers of the wan engine tests: a pipeline spy and small test media."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from omnivideo.engines.base import RenderJob


def job_of(tmp_path: Path, **fields: Any) -> RenderJob:
    """A 64×64, 1 s job rendered under ``tmp_path/work``; ``fields`` override."""
    base: dict[str, Any] = {
        "task_id": "t",
        "model": "kling-v3-omni",
        "mode": "std",
        "width": 64,
        "height": 64,
        "fps": 24,
        "frame_count": 24,
        "seed": 1,
        "prompt": "a cat",
        "shots": (),
        "work_dir": tmp_path / "work",
    }
    base.update(fields)
    return RenderJob.of(**base)


class PipeSpy:
    """Stands in for a pipeline: records each call's keyword arguments and output."""

    def __init__(self, pipe: Any) -> None:
        self._pipe = pipe
        self.calls: list[dict[str, Any]] = []
        self.outputs: list[np.ndarray] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        result = self._pipe(**kwargs)
        self.outputs.append(np.asarray(result.frames[0]))
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)


def solid(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> Path:
    from PIL import Image

    Image.new("RGB", size, rgb).save(path)
    return path


def gradient(path: Path, size: tuple[int, int] = (60, 40)) -> Path:
    from PIL import Image

    w, h = size
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None, None]
    rgb = np.concatenate(
        [np.broadcast_to(x, (h, w, 1)), np.broadcast_to(y, (h, w, 1)), np.full((h, w, 1), 90.0)],
        axis=2,
    )
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return path


def make_video(
    path: Path,
    frames: int = 36,
    size: tuple[int, int] = (64, 48),
    fps: int = 24,
    audio: bool = True,
) -> Path:
    """An H.264 clip whose frames brighten over time, with a 440 Hz tone when ``audio``."""
    from omnivideo.media.encode import EncoderSettings, Mp4Writer, audio_from_array

    w, h = size
    sound = None
    if audio:
        t = np.arange(int(48_000 * frames / fps)) / 48_000
        sound = audio_from_array(0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32))
    with Mp4Writer(path, w, h, settings=EncoderSettings(fps=fps), audio=sound) as writer:
        for i in range(frames):
            rgb = np.zeros((h, w, 3), dtype=np.uint8)
            rgb[..., 0] = 40 + 5 * i
            rgb[: h // 2, : w // 2, 1] = 200
            writer.write(rgb)
    return path
