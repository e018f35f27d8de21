"""Context parallelism: degrees, the bad ``--gpus`` messages, and two CPU ranks over gloo.

The two-rank test runs the real path: :func:`launch_ranks` spawns rank 1, both ranks load
the engine, diffusers' ``enable_parallelism`` splits every transformer call over them
(Ulysses 2), rank 0 sends each job to rank 1 and a cancel reaches both at the same step.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wan_helpers import PipeSpy, job_of

from omnivideo.contract.errors import OmniError
from omnivideo.engines.base import Cancelled, RunContext
from omnivideo.engines.wan import WanEngine, launch_ranks, ranks
from omnivideo.engines.wan.options import WanOptions
from omnivideo.engines.wan.parallel import Degrees, choose_degrees, fit_tokens


@pytest.mark.parametrize(
    ("world", "heads", "degrees"),
    [
        (2, 12, Degrees(2, 1)),
        (4, 12, Degrees(4, 1)),
        (8, 12, Degrees(4, 2)),  # 1.3B on 8 GPUs: Ulysses 8 does not divide 12 heads
        (5, 12, Degrees(1, 5)),
        (8, 40, Degrees(8, 1)),  # 14B
        (3, 40, Degrees(1, 3)),
        (8, 24, Degrees(8, 1)),  # TI2V-5B
    ],
)
def test_degrees_divide_the_heads(world: int, heads: int, degrees: Degrees) -> None:
    chosen = choose_degrees(world, heads)
    assert chosen == degrees
    assert heads % chosen.ulysses == 0 and chosen.world == world


@pytest.mark.parametrize(("width", "height"), [(832, 480), (624, 624), (480, 832), (1280, 704)])
@pytest.mark.parametrize("world", [2, 3, 4, 8])
def test_generated_size_splits_into_equal_token_shards(width: int, height: int, world: int) -> None:
    w, h = fit_tokens(width, height, 16, world)
    assert h == height and w % 16 == 0
    assert (w // 16) * (h // 16) % world == 0
    assert 0 <= w - width < 16 * world  # the smallest widening that works
    if (width // 16) * (height // 16) % world == 0:
        assert w == width


@pytest.mark.parametrize(
    ("gpus", "words"),
    [
        ("0,0", "listed twice"),
        ("0,x", "GPU indices like 0,1,2,3"),
        ("-1", "0 or more"),
    ],
)
def test_bad_gpu_lists_stop_start_up_with_one_line(gpus: str, words: str) -> None:
    with pytest.raises(OmniError) as err:
        launch_ranks({"model": "m", "gpus": gpus}, lambda: None, environ={})
    assert err.value.code == 5000 and words in err.value.message
    assert "\n" not in err.value.message


def test_gpus_without_a_gpu_stop_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    started: list[bool] = []
    with pytest.raises(OmniError, match=r"--gpus 0,1: no CUDA GPU is visible") as err:
        launch_ranks({"model": "m", "gpus": "0,1"}, lambda: started.append(True), environ={})
    assert "\n" not in err.value.message and not started


def test_gpus_beyond_the_visible_ones_stop_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(OmniError, match=r"GPU 3 does not exist; 2 CUDA GPUs are visible"):
        launch_ranks({"model": "m", "gpus": "0,1,3"}, lambda: None, environ={})


def test_one_gpu_runs_rank0_in_place() -> None:
    ran: list[Any] = []
    launch_ranks({"model": "m", "gpus": "1"}, lambda: ran.append(ranks.current()), environ={})
    assert ran == [None]


def test_engine_with_several_gpus_needs_the_launcher(tiny_model: Any) -> None:
    with pytest.raises(OmniError, match=r"omnivideo worker --engine wan --gpus 0,1"):
        WanEngine({"model": str(tiny_model("vace")), "device": "cpu", "gpus": "0,1"})


def test_env_gpus_parse() -> None:
    opts = WanOptions.parse({"model": "m"}, {"OMNIVIDEO_WAN_GPUS": "0, 1,2,3"})
    assert opts.gpus == (0, 1, 2, 3)


class _CancelAt(RunContext):
    """Cancels the task once ``steps`` denoising steps were reported."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps

    def report(self, fraction: float, note: str = "") -> None:
        if note == "denoising":
            self.steps -= 1
            if self.steps < 0:
                self.cancel()
        super().report(fraction, note)


@pytest.mark.slow
@pytest.mark.system
@pytest.mark.timeout(240)
@pytest.mark.parametrize("arch", ["vace", "a14b-t2v"])
def test_two_cpu_ranks_render_the_frames_of_one_process(
    arch: str,
    engine_for: Any,
    spy: Any,
    tiny_model: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # rank 1 inherits it
    options = {
        "model": str(tiny_model(arch)),
        "device": "cpu",
        "resolution": 32,
        "steps": 3,
        "window": 17,
        "gpus": "0,1",
    }
    single = engine_for(arch, steps=3)
    reference = spy(single)
    single.render(job_of(tmp_path / "ref", seed=5, width=64, height=32), RunContext())
    seen: dict[str, Any] = {}

    def rank0() -> None:
        engine = WanEngine(options)
        try:
            seen["degrees"] = engine.degrees
            seen["parallel"] = [
                t._parallel_config is not None
                for t in (engine.pipe.transformer, engine.pipe.transformer_2)
                if t is not None
            ]
            recorder = PipeSpy(engine.pipe)
            engine.pipe = recorder
            engine.render(job_of(tmp_path / "a", seed=5, width=64, height=32), RunContext())
            with pytest.raises(Cancelled):
                engine.render(job_of(tmp_path / "b", seed=6, width=64, height=32), _CancelAt(1))
            # The follower left the cancelled job at the same step: the next one still runs.
            engine.render(job_of(tmp_path / "c", seed=5, width=64, height=32), RunContext())
            seen["outputs"] = recorder.outputs
        finally:
            engine.close()

    launch_ranks(options, rank0, environ={})
    assert ranks.current() is None
    assert seen["degrees"] == Degrees(2, 1) and all(seen["parallel"])
    first, last = seen["outputs"][0], seen["outputs"][-1]
    assert len(seen["outputs"]) == 2  # the cancelled render decoded nothing
    expected = reference.outputs[0]
    assert first.shape == expected.shape
    assert np.abs(first - expected).max() < 1e-4
    assert np.abs(last - expected).max() < 1e-4
    assert math.isfinite(float(first.mean()))
    assert (tmp_path / "a" / "work" / "t.mp4").stat().st_size > 0


def _die(options: dict[str, object]) -> Any:
    import os

    os._exit(3)


@pytest.mark.timeout(120)
def test_a_rank_that_dies_while_loading_stops_start_up(
    tiny_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    options = {"model": str(tiny_model("t2v")), "device": "cpu", "gpus": "0,1"}
    served: list[bool] = []

    def rank0() -> None:
        WanEngine(options)
        served.append(True)

    with pytest.raises(OmniError) as err:
        launch_ranks(options, rank0, make_engine=_die, environ={})
    assert err.value.code == 5000 and "\n" not in err.value.message
    assert "rank" in err.value.message and not served
    assert ranks.current() is None
