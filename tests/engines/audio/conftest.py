"""Fixtures of the audio stage tests: a tiny random-weight Stable Audio checkpoint and a tiny
Wan T2V checkpoint, built in code once per session, on CPU with one torch thread."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Before huggingface_hub is imported (it reads this once): a hub id must fail fast, offline.
os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("torchsde")

import torch

_ROOT = Path(__file__).resolve().parents[3]
if str(_ROOT) not in sys.path:  # tests.server.harness, tests.mp4
    sys.path.insert(0, str(_ROOT))

torch.set_num_threads(1)

#: the wan engine's tiny settings, with a 3-step audio model
WAN_OPTIONS: dict[str, object] = {
    "device": "cpu",
    "resolution": 32,
    "steps": 2,
    "window": 17,
    "audio_steps": 3,
}


@pytest.fixture(scope="session")
def audio_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from omnivideo.engines.audio.testing import save_tiny

    return save_tiny(tmp_path_factory.mktemp("audio-model") / "stable-audio")


@pytest.fixture(scope="session")
def wan_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from omnivideo.engines.wan.testing import save_tiny

    return save_tiny("t2v", tmp_path_factory.mktemp("wan-model") / "t2v")


@pytest.fixture(scope="session")
def wan_with_audio(audio_model_dir: Path, wan_model_dir: Path) -> Iterator[Any]:
    from omnivideo.engines.wan import WanEngine

    engine = WanEngine(
        {**WAN_OPTIONS, "model": str(wan_model_dir), "audio_model": str(audio_model_dir)}
    )
    yield engine
    engine.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # diffusers' UniPC scheduler trips a numpy 2 DeprecationWarning; not ours to fix.
    for item in items:
        if "engines/audio" in str(item.fspath):
            item.add_marker(pytest.mark.filterwarnings("ignore:__array__ implementation"))
