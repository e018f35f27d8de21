"""LoRAs through diffusers' Wan loader: every community key layout, the Wan2.2 expert pair,
fusing, and the start-up errors. The LoRA files are built in code with random weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wan_helpers import job_of

from omnivideo.contract.errors import OmniError
from omnivideo.engines.base import RunContext
from omnivideo.engines.wan import WanEngine
from omnivideo.engines.wan.lora import LoraSpec, expert_of_name
from omnivideo.engines.wan.testing import (
    LORA_LAYOUTS,
    build_tiny,
    lora_delta,
    random_lora,
    save_lora,
)

Q = "blocks.1.attn1.to_q"  # a layer every layout touches


def weight(transformer: Any, module: str = Q) -> Any:
    return transformer.get_submodule(module).weight.detach().clone()


def peft_layer(module: Any) -> bool:
    from peft.tuners.tuners_utils import BaseTunerLayer

    return isinstance(module, BaseTunerLayer)


def render(engine: Any, spy: Any, tmp_path: Path) -> np.ndarray:
    recorder = spy(engine)
    engine.render(job_of(tmp_path, seed=3), RunContext())
    return recorder.outputs[0]


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("loras")


@pytest.mark.parametrize("layout", LORA_LAYOUTS)
def test_each_key_layout_loads_fused_and_changes_the_output(
    layout: str, engine_for: Any, spy: Any, lora_dir: Path, tmp_path: Path
) -> None:
    plain = engine_for("vace", cache="none")
    state = random_lora(plain.pipe.transformer, layout, rank=4, seed=11)
    path = save_lora(state, lora_dir / f"{layout}.safetensors")
    engine = engine_for("vace", cache="none", lora=(f"{path}:0.5",))
    expected = weight(plain.pipe.transformer) + 0.5 * lora_delta(state, Q)
    assert np.abs((weight(engine.pipe.transformer) - expected).numpy()).max() < 1e-6
    # Fused: the layers are plain Linear again, nothing left of PEFT.
    assert not peft_layer(engine.pipe.transformer.get_submodule(Q))
    assert not np.allclose(
        render(engine, spy, tmp_path / "lora"), render(plain, spy, tmp_path / "plain")
    )


def test_fused_lora_renders_the_frames_of_the_unfused_one(lora_dir: Path) -> None:
    from omnivideo.engines.wan import lora

    state = random_lora(build_tiny("t2v").transformer, "lightx2v", rank=4, seed=12)
    path = str(save_lora(state, lora_dir / "fuse.safetensors"))
    frames = []
    for fuse in (False, True):
        pipe = build_tiny("t2v")
        lora.apply(pipe, [f"{path}:0.8"], fuse=fuse)
        assert peft_layer(pipe.transformer.get_submodule(Q)) != fuse
        out = pipe(
            prompt="a cat",
            height=32,
            width=32,
            num_frames=9,
            num_inference_steps=2,
            generator=__import__("torch").Generator().manual_seed(0),
            output_type="np",
        )
        frames.append(out.frames[0])
    baseline = build_tiny("t2v")(
        prompt="a cat",
        height=32,
        width=32,
        num_frames=9,
        num_inference_steps=2,
        generator=__import__("torch").Generator().manual_seed(0),
        output_type="np",
    ).frames[0]
    assert np.abs(frames[0] - frames[1]).max() < 1e-4
    assert np.abs(frames[0] - baseline).max() > 1e-3


def _pair(directory: Path, transformer: Any, names: tuple[str, str]) -> tuple[Any, Any]:
    high = random_lora(transformer, "lightx2v", rank=4, seed=21)
    low = random_lora(transformer, "lightx2v", rank=4, seed=22)
    save_lora(high, directory / names[0])
    save_lora(low, directory / names[1])
    return high, low


@pytest.mark.parametrize(
    "names",
    [
        ("high_noise_model.safetensors", "low_noise_model.safetensors"),  # lightx2v/Lightning
        ("Wan2.2-Lightning_T2V-A14B-4steps-lora_HIGH_fp16.safetensors", "x_LOW_fp16.safetensors"),
    ],
)
def test_wan22_pair_goes_to_each_expert(
    names: tuple[str, str], engine_for: Any, spy: Any, lora_dir: Path, tmp_path: Path
) -> None:
    plain = engine_for("a14b-t2v", cache="none")
    folder = lora_dir / names[0][:8]
    folder.mkdir()
    high, low = _pair(folder, plain.pipe.transformer, names)
    engine = engine_for("a14b-t2v", cache="none", lora=(str(folder),))
    for module, state in ((engine.pipe.transformer, high), (engine.pipe.transformer_2, low)):
        before = weight(plain.pipe.transformer if state is high else plain.pipe.transformer_2)
        assert np.abs((weight(module) - before - lora_delta(state, Q)).numpy()).max() < 1e-6
    assert not np.allclose(render(engine, spy, tmp_path / "a"), render(plain, spy, tmp_path / "b"))


def test_expert_prefix_and_an_untagged_file_on_both(engine_for: Any, lora_dir: Path) -> None:
    plain = engine_for("a14b-t2v", cache="none")
    state = random_lora(plain.pipe.transformer, "diffusers", rank=4, seed=23)
    path = save_lora(state, lora_dir / "style.safetensors")
    only_low = engine_for("a14b-t2v", cache="none", lora=(f"low={path}",))
    both = engine_for("a14b-t2v", cache="none", lora=(f"{path}:2",))
    delta = lora_delta(state, Q)
    t1, t2 = plain.pipe.transformer, plain.pipe.transformer_2
    assert np.allclose(weight(only_low.pipe.transformer), weight(t1))
    assert np.allclose(weight(only_low.pipe.transformer_2), weight(t2) + delta, atol=1e-6)
    assert np.allclose(weight(both.pipe.transformer), weight(t1) + 2 * delta, atol=1e-6)
    assert np.allclose(weight(both.pipe.transformer_2), weight(t2) + 2 * delta, atol=1e-6)


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("/nonexistent/distill.safetensors", "no such file"),
        ("lightx2v/Wan2.1-Distill-Loras/x.safetensors", "could not load LoRA"),  # offline
    ],
)
def test_unusable_lora_stops_start_up(entry: str, words: str, tiny_model: Any) -> None:
    options = {"model": str(tiny_model("vace")), "device": "cpu", "lora": entry}
    with pytest.raises(OmniError) as err:
        WanEngine(options)
    assert err.value.code == 5000 and words in err.value.message


def test_file_without_lora_keys_stops_start_up(tiny_model: Any, lora_dir: Path) -> None:
    import torch

    path = save_lora(
        {"blocks.0.attn1.to_q.weight": torch.zeros(2, 2)}, lora_dir / "bad.safetensors"
    )
    with pytest.raises(OmniError, match="could not load LoRA") as err:
        WanEngine({"model": str(tiny_model("vace")), "device": "cpu", "lora": str(path)})
    assert "\n" not in err.value.message


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("a.safetensors", LoraSpec("a.safetensors")),
        ("a.safetensors:0.7", LoraSpec("a.safetensors", 0.7)),
        ("high=dir:1.5", LoraSpec("dir", 1.5, "high")),
        ("low=owner/repo/f.safetensors", LoraSpec("owner/repo/f.safetensors", 1.0, "low")),
    ],
)
def test_lora_entry_syntax(text: str, spec: LoraSpec) -> None:
    assert LoraSpec.parse(text) == spec


@pytest.mark.parametrize(
    ("name", "expert"),
    [
        ("high_noise_model.safetensors", "high"),
        ("wan2.2_t2v_A14b_low_noise_lora_rank64_lightx2v_4step.safetensors", "low"),
        ("Wan2.2-Lightning_I2V-A14B-4steps-lora_HIGH_fp16.safetensors", "high"),
        ("flower_style.safetensors", "both"),
        ("lowlight.safetensors", "both"),
    ],
)
def test_expert_from_file_name(name: str, expert: str) -> None:
    assert expert_of_name(name) == expert
