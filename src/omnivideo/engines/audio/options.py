"""Settings of the audio stage: the model, where it runs and how long it samples."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AudioOptions(BaseModel):
    """The audio model's settings; device and dtype follow the video engine's by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: a diffusers-format directory or a hub id (Stable Audio Open)
    model: str
    device: str | None = None
    dtype: Literal["bfloat16", "float16", "float32"] | None = None
    #: sampling steps; default the model's own (100 for Stable Audio Open)
    steps: int | None = Field(default=None, ge=1, le=500)
    #: classifier-free guidance; default the model's own (7.0)
    guidance: float | None = Field(default=None, ge=0.0, le=30.0)
