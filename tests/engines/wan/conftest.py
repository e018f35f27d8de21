"""Fixtures of the wan engine tests: tiny random-weight checkpoints built once per session.

Everything runs on CPU with one torch thread: on a 2-core CI machine shared with other test
processes, OpenMP's spinning threads make tiny models ten times slower, not faster.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Before huggingface_hub is imported (it reads this once): a hub id must fail fast, offline.
os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("torch")
pytest.importorskip("diffusers")

import torch
from wan_helpers import PipeSpy

_ROOT = Path(__file__).resolve().parents[3]
if str(_ROOT) not in sys.path:  # tests.server.harness, tests.mp4
    sys.path.insert(0, str(_ROOT))

torch.set_num_threads(1)

#: engine options every unit test starts from: tiny sizes, 2 steps, 17-frame windows
TINY_OPTIONS: dict[str, object] = {"device": "cpu", "resolution": 32, "steps": 2, "window": 17}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``tiny_model(arch)``: the directory of a tiny checkpoint, saved on first use."""
    from omnivideo.engines.wan.testing import save_tiny

    root = tmp_path_factory.mktemp("wan-models")
    made: dict[str, Path] = {}

    def get(arch: str) -> Path:
        if arch not in made:
            made[arch] = save_tiny(arch, root / arch)
        return made[arch]

    return get


@pytest.fixture(scope="session")
def engine_for(tiny_model: Callable[[str], Path]) -> Iterator[Callable[..., Any]]:
    """``engine_for(arch, **options)``: a WanEngine over a tiny checkpoint, cached per options."""
    from omnivideo.engines.wan import WanEngine

    made: dict[tuple[Any, ...], Any] = {}

    def get(arch: str, **options: object) -> Any:
        merged = {**TINY_OPTIONS, **options, "model": str(tiny_model(arch))}
        key = (arch, *sorted(merged.items()))
        if key not in made:
            made[key] = WanEngine(merged)
        return made[key]

    yield get
    for engine in made.values():
        engine.close()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], PipeSpy]:
    """``spy(engine)`` wraps the engine's pipeline (and its I2V twin) for this test."""

    def install(engine: Any) -> PipeSpy:
        recorder = PipeSpy(engine.pipe)
        monkeypatch.setattr(engine, "pipe", recorder)
        if engine.loaded.i2v is not None:
            twin = PipeSpy(engine.loaded.i2v)
            twin.calls = recorder.calls
            twin.outputs = recorder.outputs
            monkeypatch.setattr(engine.loaded, "i2v", twin)
        return recorder

    return install


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # diffusers' UniPC scheduler trips a numpy 2 DeprecationWarning; not ours to fix.
    for item in items:
        if "engines/wan" in str(item.fspath):
            item.add_marker(pytest.mark.filterwarnings("ignore:__array__ implementation"))
