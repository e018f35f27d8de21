"""The ``preview`` engine: a deterministic CPU renderer that obeys a request's structure.

It renders what a request asks for in shape, not in content: the exact size, 24 fps and
frame count; the first and end frame images on the first and last frame; each shot on its
exact frames with its own caption and look; reference images and elements as labelled
cards; a base video regraded with its sound kept; a feature video driving the picture; a
soft chord bed when sound is on; a watermarked copy when asked.

This module is the engine's class, which every server builds at start; the painting and the
encoding (:mod:`omnivideo.engines.preview_render`, with numpy, PyAV and Pillow) are imported
by the first render.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from omnivideo.engines.base import Engine, RenderedVideo, RenderJob, RunContext

if TYPE_CHECKING:
    from omnivideo.engines.preview_render import paint_frame, paint_frames
    from omnivideo.media.encode import EncoderSettings

__all__ = ["PreviewEngine", "paint_frame", "paint_frames"]


class PreviewEngine(Engine):
    """Deterministic preview renderer; options: ``preset``, ``crf``, ``threads`` (x264)."""

    name: ClassVar[str] = "preview"
    max_duration_s: ClassVar[float] = 15.0
    supports_sound: ClassVar[bool] = True
    supports_video_input: ClassVar[bool] = True
    supports_cancel: ClassVar[bool] = True
    honours: ClassVar[frozenset[str]] = frozenset({"camera", "negative_prompt", "motion_brush"})

    def settings(self) -> EncoderSettings:
        from omnivideo.engines.preview_render import encoder_settings

        return encoder_settings(self.options)

    def render(self, job: RenderJob, ctx: RunContext) -> RenderedVideo:
        from omnivideo.engines import preview_render

        return preview_render.render(self.options, job, ctx)


def __getattr__(name: str) -> Any:
    # ``paint_frame`` and ``paint_frames`` (the still command, benchmarks) are the renderer's.
    if name in ("paint_frame", "paint_frames"):
        from omnivideo.engines import preview_render

        return getattr(preview_render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
