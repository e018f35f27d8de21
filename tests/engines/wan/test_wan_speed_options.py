"""The wan engine's documented speed options, each run through ``render`` on a tiny model.

The defaults are covered in test_wan_engine.py (step cache, CFG batching); here: attention
backends, fp8 weight storage, regional ``torch.compile`` on top of the step cache, and the
start-up errors for options that cannot work.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wan_helpers import job_of

from omnivideo.contract.errors import OmniError
from omnivideo.engines.base import RunContext
from omnivideo.engines.wan import WanEngine


def render_once(engine: Any, spy: Any, tmp_path: Path) -> np.ndarray:
    recorder = spy(engine)
    engine.render(job_of(tmp_path, seed=3), RunContext())
    assert (tmp_path / "work" / "t.mp4").stat().st_size > 0
    return recorder.outputs[0]


def test_native_attention_backend_gives_the_default_frames(
    engine_for: Any, spy: Any, tmp_path: Path
) -> None:
    from diffusers.models.attention_dispatch import AttentionBackendName

    engine = engine_for("vace", cache="none", attention="native")
    processor = engine.pipe.transformer.blocks[0].attn1.processor
    assert processor._attention_backend == AttentionBackendName.NATIVE
    default = render_once(engine_for("vace", cache="none"), spy, tmp_path / "a")
    native = render_once(engine, spy, tmp_path / "b")
    assert np.abs(default - native).max() < 1e-4


def test_unknown_attention_backend_stops_start_up(tiny_model: Any) -> None:
    options = {"model": str(tiny_model("vace")), "device": "cpu", "attention": "warp-drive"}
    with pytest.raises(OmniError) as err:
        WanEngine(options)
    assert err.value.code == 5000 and "warp-drive" in err.value.message


def test_fp8_storage_keeps_transformer_weights_in_fp8(
    engine_for: Any, spy: Any, tmp_path: Path
) -> None:
    import torch

    engine = engine_for("vace", fp8="storage", cache="none")
    dtypes = {p.dtype for p in engine.pipe.transformer.blocks.parameters()}
    assert torch.float8_e4m3fn in dtypes
    frames = render_once(engine, spy, tmp_path)
    default = render_once(engine_for("vace", cache="none"), spy, tmp_path / "ref")
    assert frames.shape == default.shape and np.isfinite(frames).all()


@pytest.mark.skipif(importlib.util.find_spec("torchao") is not None, reason="torchao installed")
def test_fp8_torchao_without_torchao_names_the_install(tiny_model: Any) -> None:
    options = {"model": str(tiny_model("vace")), "device": "cpu", "fp8": "torchao"}
    with pytest.raises(OmniError, match="pip install torchao") as err:
        WanEngine(options)
    assert err.value.code == 5000


@pytest.mark.slow
def test_compiled_blocks_with_the_step_cache_match_eager(
    engine_for: Any, spy: Any, tmp_path: Path
) -> None:
    # The default cache replaces whole blocks on skipped steps; compiling those same blocks
    # must neither break the hooks nor change the frames beyond kernel rounding.
    engine = engine_for("vace", steps=6, compile="blocks")
    blocks = engine.pipe.transformer.blocks
    assert all(block._compiled_call_impl is not None for block in blocks)
    eager = render_once(engine_for("vace", steps=6), spy, tmp_path / "a")
    compiled = render_once(engine, spy, tmp_path / "b")
    assert np.abs(eager - compiled).max() < 1e-3
