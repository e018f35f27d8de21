"""The wan engine as every process knows it: built from the checkpoint's JSON configs alone.

An API replica routes and checks requests for a Wan model without torch, diffusers or the
weights: ``model_index.json`` and the transformer's ``config.json`` say which pipeline it is
(:func:`.models.detect`), hence which modes and windows it serves. The renderer
(:class:`.engine.WanEngine`) loads the weights, and checks against what it loaded with the
same function, so both halves refuse the same requests with the same words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnivideo.contract.errors import OmniError
from omnivideo.contract.spec import TaskSpec
from omnivideo.engines.audio.stage import AUDIO_ENDPOINTS
from omnivideo.engines.base import EngineDescriptor
from omnivideo.engines.wan.loading import read_configs
from omnivideo.engines.wan.models import ModelSpec, UnknownModel, describe, detect, request_needs
from omnivideo.engines.wan.options import WanOptions

if TYPE_CHECKING:
    from omnivideo.engines.base import Engine


def check_spec(
    spec: TaskSpec, model: ModelSpec, window: int, source: str, audio_model: str | None
) -> None:
    """Refuse (1201) what the checkpoint (and the audio model, if any) cannot render, naming
    what is missing."""
    if spec.character_orientation is not None:
        # No Wan pipeline here transfers a video's motion onto a character image.
        raise OmniError(
            1201,
            "motion-control: the wan engine of this server cannot animate a character "
            "along a reference video's motion; use the preview or relay engine",
        )
    if spec.endpoint in AUDIO_ENDPOINTS or spec.sound:
        if not audio_model:
            what = spec.endpoint if spec.endpoint in AUDIO_ENDPOINTS else "sound"
            raise OmniError(
                1201,
                f"{what}: the wan engine ({model.key}) makes no audio of its own and has "
                "no audio model; start it with --audio-model PATH_OR_HUB_ID (env "
                "OMNIVIDEO_AUDIO_MODEL, e.g. stabilityai/stable-audio-open-1.0; see "
                "docs/audio.md), or send sound 'off'",
            )
        if spec.endpoint in AUDIO_ENDPOINTS:
            return
    missing = request_needs(spec, window, model.fps) - model.modes
    if missing:
        raise OmniError(
            1201,
            f"the loaded Wan model {model.key} ({source}) cannot serve this "
            f"request: it does not support {describe(missing)} "
            "(a Wan2.1 VACE checkpoint serves every mode)",
        )


class WanDescriptor(EngineDescriptor):
    def __init__(self, engine: type[Engine], options: dict[str, object] | None = None) -> None:
        super().__init__(engine, options)
        self.opts = WanOptions.parse(self.options)
        _, index, transformer = read_configs(self.opts.model)
        try:
            self.model: ModelSpec = detect(index, transformer)
        except UnknownModel as exc:
            raise OmniError(
                5000, f"model {self.opts.model!r} is not a supported Wan checkpoint: {exc}"
            ) from None
        self.window = self.opts.window or self.model.window

    def check(self, spec: TaskSpec) -> None:
        check_spec(spec, self.model, self.window, self.opts.model, self.opts.audio_model)

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "engine_model": self.opts.model, "checkpoint": self.model.key}
