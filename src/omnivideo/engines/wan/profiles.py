"""Sampling profiles: what a step-distilled LoRA needs, bundled under one name.

Step-distilled Wan LoRAs (lightx2v, CausVid, Wan2.2 Lightning) were trained to denoise in a
few Euler steps of a shifted flow schedule, with classifier-free guidance baked in. Run with
the checkpoint's own settings (40–50 UniPC steps, CFG 5) they waste 10–25× the work and
over-saturate. A profile sets, where the options do not:

    profile          steps  guidance       scheduler                        step cache
    default          model  model          the checkpoint's (UniPC)         taylorseer
    distill-4step    4      1 (CFG off)    flow-match Euler, shift 5.0      none
    distill-8step    8      1 (CFG off)    flow-match Euler, shift 5.0      none

Guidance 1 turns CFG off in diffusers' Wan pipelines: one transformer pass per step, no
negative prompt. The step cache is off because a four-step schedule has no step to skip.
``steps``, ``guidance``, ``shift`` and ``cache`` set explicitly win over the profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class Profile:
    name: str
    #: None: the model table's
    steps: int | None
    guidance: float | None
    #: flow shift of an Euler scheduler that replaces the checkpoint's; None keeps it
    shift: float | None
    cache: str


PROFILES: Final = {
    p.name: p
    for p in (
        Profile("default", None, None, None, "taylorseer"),
        # lightx2v's own configs: 4 steps, shift 5, CFG disabled (timesteps 1000/750/500/250).
        Profile("distill-4step", 4, 1.0, 5.0, "none"),
        Profile("distill-8step", 8, 1.0, 5.0, "none"),
    )
}


def resolve(opts: Any) -> Any:
    """``opts`` (a WanOptions) with its profile's settings where they were not set."""
    profile = PROFILES[opts.profile]
    given = opts.model_fields_set
    update: dict[str, Any] = {}
    if "steps" not in given and profile.steps is not None:
        update["steps"] = profile.steps
    if "guidance" not in given and profile.guidance is not None:
        update["guidance"] = profile.guidance
    if "shift" not in given and profile.shift is not None:
        update["shift"] = profile.shift
    if "cache" not in given:
        update["cache"] = profile.cache
    return opts.model_copy(update=update)


def set_shift(pipes: list[Any], shift: float, euler: bool) -> None:
    """Give ``pipes`` (sharing one scheduler) a scheduler with flow shift ``shift``.

    ``euler`` swaps in diffusers' flow-match Euler scheduler (what distilled LoRAs were
    trained with); otherwise the checkpoint's own scheduler class keeps its other settings.
    """
    from diffusers import FlowMatchEulerDiscreteScheduler

    current = pipes[0].scheduler
    if euler:
        scheduler = FlowMatchEulerDiscreteScheduler(
            num_train_timesteps=current.config.get("num_train_timesteps", 1000), shift=shift
        )
    elif "flow_shift" in current.config:
        scheduler = type(current).from_config(current.config, flow_shift=shift)
    else:
        scheduler = type(current).from_config(current.config, shift=shift)
    for pipe in pipes:
        pipe.scheduler = scheduler
