"""Settings of the wan engine: the serve flags plus tuning knobs from ``OMNIVIDEO_WAN_*``.

``omnivideo serve`` passes ``model``, ``device``, ``dtype``, ``offload`` and ``vae_tiling`` (and
``lora``, ``profile``, ``gpus`` where its command line has them).
Everything else comes from the options dict when a caller builds the engine directly, or from
environment variables named ``OMNIVIDEO_WAN_<FIELD>`` (``OMNIVIDEO_WAN_STEPS=30``). The dict wins
over the environment. An unknown ``OMNIVIDEO_WAN_*`` variable is an error, so a typo does not
silently leave a knob at its default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from omnivideo.contract.errors import OmniError
from omnivideo.engines.wan.profiles import PROFILES

ENV_PREFIX = "OMNIVIDEO_WAN_"


class WanOptions(BaseModel):
    """Every knob of the wan engine, validated once at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: a diffusers-format directory or a hub id
    model: str
    #: torch device; default ``cuda`` when available, else ``cpu``
    device: str | None = None
    #: weights and activations; default bfloat16 on GPU, float32 on CPU (the VAE stays float32)
    dtype: Literal["bfloat16", "float16", "float32"] | None = None
    #: CPU offload: ``model`` moves each component to the GPU while it runs, ``sequential``
    #: goes layer by layer (slowest, least memory)
    offload: Literal["none", "model", "sequential"] = "none"
    #: decode the VAE in tiles (less GPU memory for large videos)
    vae_tiling: bool = False
    #: denoising steps; default the model table's (50 for Wan2.1, 40 for Wan2.2 A14B)
    steps: int | None = Field(default=None, ge=1, le=200)
    #: classifier-free guidance scale; default the model table's
    guidance: float | None = Field(default=None, ge=0.0, le=30.0)
    #: short side of the size generated at; default the model's native size nearest the output
    resolution: int | None = Field(default=None, ge=16, le=2048)
    #: frames per pipeline call (4k+1); default the model's window (81, or 121 for TI2V-5B)
    window: int | None = Field(default=None, ge=5, le=321)
    #: conditioning scale of a ``feature`` reference video (a base video uses 1.0)
    feature_scale: float = Field(default=0.5, ge=0.0, le=2.0)
    #: the model's negative prompt; default Wan's own (a request's negative_prompt wins)
    negative_prompt: str | None = None
    #: step caching: ``taylorseer`` (default; fixed schedule, see docs/wan.md), ``taylorseer:N``
    #: (refresh every N steps), ``fbc:THRESHOLD`` (first-block cache) or ``none``
    cache: str = "taylorseer"
    #: diffusers attention backend (``native``, ``flash``, ``_flash_3``, ``sage``, ``_native_cudnn``)
    attention: str | None = None
    #: torch.compile: ``none``, ``blocks`` (regional, compiles in seconds) or ``full``
    compile: Literal["none", "blocks", "full"] = "none"
    #: run the conditional and unconditional passes of CFG as one batch of two
    cfg_batch: bool = False
    #: ``storage`` keeps transformer weights in fp8 (half the memory); ``torchao`` also computes
    #: in fp8 on Hopper-class GPUs (needs torchao)
    fp8: Literal["none", "storage", "torchao"] = "none"
    #: LoRAs, each ``[high=|low=]PATH_OR_ID[:SCALE]``, fused at start-up (see :mod:`.lora`);
    #: ``OMNIVIDEO_WAN_LORA`` takes them comma-separated
    lora: tuple[str, ...] = ()
    #: sampling profile (see :mod:`.profiles`): ``default``, ``distill-4step``, ``distill-8step``
    profile: str = "default"
    #: flow shift of the scheduler; default the checkpoint's (or the profile's)
    shift: float | None = Field(default=None, gt=0.0, le=50.0)
    #: GPU indices, one rank each (``0,1,2,3``): one video spread over them with diffusers'
    #: context parallelism (see :mod:`.parallel`); one index just picks the GPU
    gpus: tuple[int, ...] = ()
    #: the audio stage's model (Stable Audio Open, diffusers format): with it, ``sound: on`` is
    #: served by generating a track after the picture (see docs/audio.md); without it, refused
    audio_model: str | None = None
    #: the audio model's sampling steps; default the model's own
    audio_steps: int | None = Field(default=None, ge=1, le=500)
    #: the audio model's guidance scale; default the model's own
    audio_guidance: float | None = Field(default=None, ge=0.0, le=30.0)

    @field_validator("lora", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("gpus", mode="before")
    @classmethod
    def _gpu_list(cls, value: object) -> object:
        parts = value.split(",") if isinstance(value, str) else value
        if not isinstance(parts, list | tuple):
            return value
        try:
            return tuple(int(str(p).strip()) for p in parts if str(p).strip())
        except ValueError:
            raise ValueError(f"expected GPU indices like 0,1,2,3, got {value!r}") from None

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"must be one of {', '.join(PROFILES)}, got {value!r}")
        return value

    @field_validator("gpus")
    @classmethod
    def _distinct_gpus(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(g < 0 for g in value):
            raise ValueError(f"GPU indices are 0 or more, got {','.join(map(str, value))}")
        if len(set(value)) != len(value):
            raise ValueError(f"a GPU is listed twice in {','.join(map(str, value))}")
        return value

    @field_validator("window")
    @classmethod
    def _four_k_plus_one(cls, value: int | None) -> int | None:
        if value is not None and value % 4 != 1:
            raise ValueError(f"must be 4k+1 frames (e.g. 17, 81), got {value}")
        return value

    @field_validator("cache")
    @classmethod
    def _cache_syntax(cls, value: str) -> str:
        name, _, arg = value.partition(":")
        try:
            if name == "taylorseer" and (not arg or int(arg) >= 2):
                return value
            if name == "fbc" and float(arg or 0.05) > 0:
                return value
        except ValueError:
            pass
        if value == "none":
            return value
        raise ValueError(
            f"must be none, taylorseer, taylorseer:N (N ≥ 2) or fbc:THRESHOLD, got {value!r}"
        )

    @classmethod
    def parse(
        cls, options: Mapping[str, object], environ: Mapping[str, str] | None = None
    ) -> WanOptions:
        """Options from the engine's dict over ``OMNIVIDEO_WAN_*``; raises ``OmniError(5000)``."""
        environ = os.environ if environ is None else environ
        fields = set(cls.model_fields)
        values: dict[str, Any] = {}
        for name, raw in environ.items():
            if not name.startswith(ENV_PREFIX):
                continue
            key = name[len(ENV_PREFIX) :].lower()
            if key not in fields:
                raise OmniError(
                    5000,
                    f"unknown setting {name}; the wan engine knows "
                    + ", ".join(ENV_PREFIX + f.upper() for f in sorted(fields)),
                )
            values[key] = raw
        values.update({k: v for k, v in options.items() if k in fields and v is not None})
        if not values.get("model"):
            raise OmniError(
                5000,
                "the wan engine needs a model: pass --model PATH_OR_HUB_ID "
                "(a diffusers-format Wan checkpoint, e.g. Wan-AI/Wan2.1-VACE-1.3B-diffusers)",
            )
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise OmniError(5000, f"wan engine setting {where}: {first['msg']}") from None
