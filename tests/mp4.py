"""Decode an MP4 the way a user's player would, to check what omnivideo delivered."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av


@dataclass
class Decoded:
    codec: str
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    has_audio: bool


def decode(path: Path) -> Decoded:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        return Decoded(
            codec=stream.codec_context.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=fps,
            frames=frames,
            duration_s=frames / fps if fps else 0.0,
            has_audio=bool(container.streams.audio),
        )
