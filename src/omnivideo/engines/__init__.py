"""Engines render a :class:`~omnivideo.engines.base.RenderJob` into an MP4."""
