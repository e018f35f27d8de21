"""Find, recognise and load a Wan checkpoint: one path for a local directory and a hub id.

1. resolve: a directory must hold ``model_index.json``; anything else must look like a hub id,
   whose ``model_index.json`` and transformer config are fetched first (honouring
   ``HF_HUB_OFFLINE``), so an unknown or unreachable model fails before gigabytes move.
2. detect: the model-table row (:func:`omnivideo.engines.wan.models.detect`).
3. load: ``<Pipeline>.from_pretrained`` with the VAE (and CLIP) kept in float32, then device
   placement or CPU offload, VAE tiling, no progress bars.

Every failure is ``OmniError(5000)`` with the model named, raised from the engine's
constructor, so ``omnivideo serve`` refuses to start instead of failing the first task.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnivideo.contract.errors import OmniError
from omnivideo.engines.wan.errors import loading_errors
from omnivideo.engines.wan.models import ModelSpec, UnknownModel, check_pipeline, detect
from omnivideo.engines.wan.options import WanOptions

log = logging.getLogger(__name__)

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


@dataclass
class Loaded:
    """A loaded checkpoint: the pipeline, its I2V twin (TI2V-5B) and where it came from."""

    pipe: Any
    spec: ModelSpec
    source: str
    device: Any
    dtype: Any
    #: WanImageToVideoPipeline over the same modules, for TI2V first frames
    i2v: Any = None


def _read_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} is not a JSON object")
    return data


def _transformer_folder(model_index: dict[str, Any]) -> str:
    entry = model_index.get("transformer")
    if isinstance(entry, list | tuple) and entry and entry[0] is not None:
        return "transformer"
    return "transformer_2"


def _check_pipeline(model: str, index: dict[str, Any]) -> None:
    try:
        check_pipeline(index)
    except UnknownModel as exc:
        raise OmniError(5000, f"model {model!r} is not a supported Wan checkpoint: {exc}") from None


def read_configs(model: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The source to load from, its ``model_index.json`` and its transformer config."""
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise OmniError(5000, f"model {model!r} is a file; pass a diffusers-format directory")
        index_path = path / "model_index.json"
        if not index_path.is_file():
            raise OmniError(
                5000,
                f"model {model!r} is not a diffusers-format directory (no model_index.json); "
                "use a *-Diffusers checkpoint such as Wan-AI/Wan2.1-VACE-1.3B-diffusers",
            )
        with loading_errors(model):
            index = _read_json(index_path)
            _check_pipeline(model, index)
            transformer = _read_json(path / _transformer_folder(index) / "config.json")
        return str(path), index, transformer
    if not _HUB_ID.fullmatch(model):
        raise OmniError(
            5000, f"model {model!r} is neither a directory nor a Hugging Face hub id (owner/name)"
        )
    try:
        from huggingface_hub import hf_hub_download

        index = _read_json(Path(hf_hub_download(model, "model_index.json")))
        _check_pipeline(model, index)
        folder = _transformer_folder(index)
        transformer = _read_json(Path(hf_hub_download(model, f"{folder}/config.json")))
    except OmniError:
        raise
    except Exception as exc:
        raise OmniError(
            5000,
            f"could not fetch model {model!r} from the Hugging Face hub ({type(exc).__name__}); "
            "without network access pass a local diffusers-format directory",
        ) from exc
    return model, index, transformer


def _torch_device(name: str | None) -> Any:
    import torch

    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise OmniError(5000, f"unknown torch device {name!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise OmniError(
            5000, f"device {name!r} is not available (no CUDA GPU visible); use --device cpu"
        )
    return device


def _torch_dtype(name: str | None, device: Any) -> Any:
    import torch

    if name is None:
        return torch.float32 if device.type == "cpu" else torch.bfloat16
    return getattr(torch, name)


def build_i2v_twin(pipe: Any) -> Any:
    """A WanImageToVideoPipeline sharing ``pipe``'s modules (TI2V-5B takes first frames so)."""
    from diffusers import WanImageToVideoPipeline

    c = pipe.components
    return WanImageToVideoPipeline(
        tokenizer=c["tokenizer"],
        text_encoder=c["text_encoder"],
        vae=c["vae"],
        scheduler=c["scheduler"],
        transformer=c.get("transformer"),
        transformer_2=c.get("transformer_2"),
        boundary_ratio=pipe.config.get("boundary_ratio"),
        expand_timesteps=True,
    )


def place(pipe: Any, opts: WanOptions, device: Any) -> None:
    """Put ``pipe`` on ``device``, or install CPU offload hooks for it."""
    if opts.offload == "none" or device.type == "cpu":
        pipe.to(device)
    elif opts.offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.enable_sequential_cpu_offload(device=device)


def load(opts: WanOptions) -> Loaded:
    """Load the checkpoint ``opts.model`` names, ready to render."""
    source, index, transformer_config = read_configs(opts.model)
    try:
        spec = detect(index, transformer_config)
    except UnknownModel as exc:
        raise OmniError(
            5000, f"model {opts.model!r} is not a supported Wan checkpoint: {exc}"
        ) from None
    device = _torch_device(opts.device)
    dtype = _torch_dtype(opts.dtype, device)
    with loading_errors(opts.model):
        import diffusers
        import torch
        import transformers

        # A server logs, it does not draw progress bars (these switches are process-wide).
        diffusers.utils.logging.disable_progress_bar()
        transformers.utils.logging.disable_progress_bar()
        cls = getattr(diffusers, spec.pipeline)
        pipe = cls.from_pretrained(
            source,
            dtype={"default": dtype, "vae": torch.float32, "image_encoder": torch.float32},
        )
        pipe.set_progress_bar_config(disable=True)
        if opts.vae_tiling:
            pipe.vae.enable_tiling()
        place(pipe, opts, device)
        i2v = None
        if spec.expand_timesteps:
            i2v = build_i2v_twin(pipe)
            i2v.set_progress_bar_config(disable=True)
    log.info("wan: loaded %s as %s on %s (%s)", opts.model, spec.key, device, dtype)
    return Loaded(pipe=pipe, spec=spec, source=source, device=device, dtype=dtype, i2v=i2v)
