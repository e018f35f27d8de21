"""omnivideo: an open, self-hostable implementation of the Kling Omni Video API."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
