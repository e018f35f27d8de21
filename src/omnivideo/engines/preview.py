"""Placeholder, replaced by the preview engine."""
from omnivideo.engines.base import Engine


class PreviewEngine(Engine):
    name = "preview"
