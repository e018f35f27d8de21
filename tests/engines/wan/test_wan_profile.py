"""Sampling profiles: ``distill-4step`` renders in four transformer passes with CFG off, on
the flow-match Euler schedule distilled LoRAs were trained with; explicit options win; the
model the engine reports serving does not change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from wan_helpers import job_of

from omnivideo.contract.errors import OmniError
from omnivideo.engines.base import RunContext
from omnivideo.engines.wan.options import WanOptions
from omnivideo.engines.wan.testing import random_lora, save_lora


def count_passes(engine: Any) -> dict[str, int]:
    """Forward calls per expert, counted from now on."""
    counts: dict[str, int] = {}
    for name in ("transformer", "transformer_2"):
        module = getattr(engine.pipe, name, None)
        if module is not None:
            counts[name] = 0

            def hook(*_: Any, name: str = name) -> None:
                counts[name] += 1

            module.register_forward_pre_hook(hook)
    return counts


def test_lightx2v_lora_with_distill_4step_makes_four_passes_and_no_cfg_pass(
    engine_for: Any, spy: Any, tmp_path: Path
) -> None:
    from diffusers import FlowMatchEulerDiscreteScheduler

    # A random LoRA in lightx2v's layout stands in for the step-distill LoRA.
    state = random_lora(engine_for("vace").pipe.transformer, "lightx2v", rank=4, seed=31)
    path = save_lora(state, tmp_path / "lightx2v_4step.safetensors")
    engine = engine_for("vace", profile="distill-4step", steps=None, lora=(str(path),))
    assert len(engine.loras) == 1
    assert isinstance(engine.pipe.scheduler, FlowMatchEulerDiscreteScheduler)
    assert engine.pipe.scheduler.config.shift == 5.0
    assert not engine.pipe.transformer.is_cache_enabled  # nothing to skip in four steps
    counts = count_passes(engine)
    recorder = spy(engine)
    engine.render(job_of(tmp_path / "job"), RunContext())
    call = recorder.calls[0]
    assert len(recorder.calls) == 1  # one window
    assert call["num_inference_steps"] == 4
    assert call["guidance_scale"] == 1.0 and call["negative_prompt_embeds"] is None
    assert counts == {"transformer": 4}


def test_two_experts_share_the_four_passes(engine_for: Any, tmp_path: Path) -> None:
    engine = engine_for("a14b-t2v", profile="distill-4step", steps=None)
    counts = count_passes(engine)
    engine.render(job_of(tmp_path), RunContext())
    # Shift 5 puts timesteps 1000, 938 above the 0.875 boundary and 833, 625 below it.
    assert counts == {"transformer": 2, "transformer_2": 2}


def test_explicit_options_win_over_the_profile(engine_for: Any, tmp_path: Path) -> None:
    engine = engine_for("t2v", profile="distill-8step", steps=6, shift=3.0, cache="taylorseer")
    assert engine.steps == 6 and engine.guidance == 1.0
    assert engine.pipe.scheduler.config.shift == 3.0
    assert engine.pipe.transformer.is_cache_enabled
    counts = count_passes(engine)
    engine.render(job_of(tmp_path), RunContext())
    assert counts == {"transformer": 6}


def test_shift_alone_keeps_the_checkpoint_scheduler(engine_for: Any) -> None:
    engine = engine_for("a14b-t2v", shift=8.0, steps=None)
    assert type(engine.pipe.scheduler).__name__ == "UniPCMultistepScheduler"
    assert engine.pipe.scheduler.config.flow_shift == 8.0
    assert engine.steps == engine.spec.steps  # the model table's


def test_profile_lora_and_gpus_leave_the_model_identity(engine_for: Any) -> None:
    plain = engine_for("vace")
    fast = engine_for("vace", profile="distill-4step", gpus="0")
    assert fast.spec == plain.spec and fast.opts.model == plain.opts.model
    assert fast.spec.key == "wan2.1-vace-1.3b"


def test_profile_settings_from_the_environment() -> None:
    env = {
        "OMNIVIDEO_WAN_PROFILE": "distill-4step",
        "OMNIVIDEO_WAN_LORA": "/loras/high_noise_model.safetensors:0.8, low=/loras/b.safetensors",
    }
    opts = WanOptions.parse({"model": "m"}, env)
    assert opts.profile == "distill-4step"
    assert opts.lora == ("/loras/high_noise_model.safetensors:0.8", "low=/loras/b.safetensors")


def test_unknown_profile_stops_start_up() -> None:
    with pytest.raises(OmniError, match="distill-4step") as err:
        WanOptions.parse({"model": "m", "profile": "turbo"}, {})
    assert err.value.code == 5000
