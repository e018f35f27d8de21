"""Tiny random-weight Wan checkpoints, built in code, for tests and the CPU bench.

The shapes follow diffusers' own fast tests (``tests/pipelines/wan/``) with two fixes from
``reference/wan-on-cpu.md``: the tokenizer is built in code (no download) and the transformer
keeps ``rope_max_seq_len=1024``. :func:`save_tiny` writes a diffusers-format directory that
the engine then loads through the same path as a real checkpoint.

Each architecture has the layout of the real checkpoint it stands for, so detection picks
the same model-table row: ``vace`` (Wan2.1 VACE), ``t2v`` (Wan2.1 T2V), ``i2v`` (Wan2.1 I2V
with CLIP), ``flf2v`` (Wan2.1 FLF2V), ``ti2v`` (Wan2.2 TI2V-5B), ``a14b-t2v`` / ``a14b-i2v``
(Wan2.2 two-expert) and ``vace-a14b`` (Wan2.2 VACE-Fun).
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Final

TINY_ARCHS: Final = ("vace", "t2v", "i2v", "flf2v", "ti2v", "a14b-t2v", "a14b-i2v", "vace-a14b")

_WORDS: Final = ("a", "the", "cat", "dog", "walks", "runs", "red", "blue", "sky", "on", "in")


def tiny_tokenizer() -> Any:
    """A 60-piece Unigram T5 tokenizer (no sentencepiece model, no download)."""
    from transformers import T5Tokenizer

    pieces = ["<pad>", "</s>", "<unk>", "▁"]
    pieces += [f"▁{w}" for w in _WORDS]
    pieces += list(string.ascii_lowercase) + list(string.digits)
    vocab = [(p, 0.0 if i < 3 else -float(i)) for i, p in enumerate(pieces)]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def _text_encoder(vocab_size: int) -> Any:
    from transformers import UMT5Config, UMT5EncoderModel

    config = UMT5Config(
        vocab_size=vocab_size,
        d_model=32,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
    )
    return UMT5EncoderModel(config)


def _vae(wide: bool = False) -> Any:
    from diffusers import AutoencoderKLWan

    if wide:  # the Wan2.2 TI2V-5B VAE: 48 channels, 16x spatial, patchified
        return AutoencoderKLWan(
            base_dim=3,
            z_dim=48,
            dim_mult=[1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
            is_residual=True,
            in_channels=12,
            out_channels=12,
            patch_size=2,
            scale_factor_spatial=16,
            scale_factor_temporal=4,
            latents_mean=[0.0] * 48,
            latents_std=[1.0] * 48,
        )
    return AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )


def _transformer_kwargs(in_channels: int, out_channels: int) -> dict[str, Any]:
    return {
        "patch_size": (1, 2, 2),
        "num_attention_heads": 2,
        "attention_head_dim": 12,
        "in_channels": in_channels,
        "out_channels": out_channels,
        "text_dim": 32,
        "freq_dim": 256,
        "ffn_dim": 32,
        "num_layers": 2,
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "rope_max_seq_len": 1024,
    }


def _transformer(in_channels: int = 16, out_channels: int = 16, **extra: Any) -> Any:
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(**{**_transformer_kwargs(in_channels, out_channels), **extra})


def _vace_transformer() -> Any:
    from diffusers import WanVACETransformer3DModel

    kwargs = _transformer_kwargs(16, 16)
    kwargs.update(num_layers=3, vace_layers=[0, 2], vace_in_channels=96)
    return WanVACETransformer3DModel(**kwargs)


def _clip() -> tuple[Any, Any]:
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    config = CLIPVisionConfig(
        hidden_size=4,
        projection_dim=4,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        intermediate_size=16,
        patch_size=4,
    )
    processor = CLIPImageProcessor(crop_size=32, size=32)
    return CLIPVisionModel(config), processor


def build_tiny(arch: str, seed: int = 0) -> Any:
    """A tiny pipeline of ``arch`` (one of :data:`TINY_ARCHS`) with seeded random weights."""
    import torch
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        UniPCMultistepScheduler,
        WanImageToVideoPipeline,
        WanPipeline,
        WanVACEPipeline,
    )

    if arch not in TINY_ARCHS:
        raise ValueError(f"unknown tiny architecture {arch!r}; choose from {', '.join(TINY_ARCHS)}")
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    common: dict[str, Any] = {
        "tokenizer": tokenizer,
        "text_encoder": _text_encoder(len(tokenizer)),
    }
    euler = FlowMatchEulerDiscreteScheduler(shift=7.0)
    if arch == "vace":
        return WanVACEPipeline(
            vae=_vae(), scheduler=euler, transformer=_vace_transformer(), **common
        )
    if arch == "vace-a14b":
        return WanVACEPipeline(
            vae=_vae(),
            scheduler=euler,
            transformer=_vace_transformer(),
            transformer_2=_vace_transformer(),
            boundary_ratio=0.875,
            **common,
        )
    if arch == "t2v":
        return WanPipeline(vae=_vae(), scheduler=euler, transformer=_transformer(), **common)
    if arch == "a14b-t2v":
        return WanPipeline(
            vae=_vae(),
            scheduler=UniPCMultistepScheduler(flow_shift=3.0, prediction_type="flow_prediction"),
            transformer=_transformer(),
            transformer_2=_transformer(),
            boundary_ratio=0.875,
            **common,
        )
    if arch == "ti2v":
        return WanPipeline(
            vae=_vae(wide=True),
            scheduler=UniPCMultistepScheduler(flow_shift=5.0, prediction_type="flow_prediction"),
            transformer=_transformer(48, 48),
            expand_timesteps=True,
            **common,
        )
    if arch == "a14b-i2v":
        return WanImageToVideoPipeline(
            vae=_vae(),
            scheduler=UniPCMultistepScheduler(flow_shift=5.0, prediction_type="flow_prediction"),
            transformer=_transformer(36, 16),
            transformer_2=_transformer(36, 16),
            boundary_ratio=0.9,
            image_encoder=None,
            image_processor=None,
            **common,
        )
    # Wan2.1 I2V / FLF2V: CLIP image embeddings; FLF2V embeds two images (first and last).
    encoder, processor = _clip()
    extra: dict[str, Any] = {"image_dim": 4}
    if arch == "flf2v":
        tokens = (32 // 4) ** 2 + 1  # CLIP patches + class token, per image
        extra["pos_embed_seq_len"] = 2 * tokens
    return WanImageToVideoPipeline(
        vae=_vae(),
        scheduler=euler,
        transformer=_transformer(36, 16, **extra),
        image_encoder=encoder,
        image_processor=processor,
        **common,
    )


def save_tiny(arch: str, directory: Path, seed: int = 0) -> Path:
    """Write a tiny ``arch`` checkpoint in diffusers format to ``directory``; returns it."""
    directory = Path(directory)
    build_tiny(arch, seed).save_pretrained(str(directory))
    return directory


#: LoRA key layouts the community ships (see :mod:`omnivideo.engines.wan.lora`)
LORA_LAYOUTS: Final = ("diffusers", "lightx2v", "lightx2v-ab")

#: diffusers module name → original Wan module name, inside ``blocks.N``
_WAN_NAMES: Final = {
    "attn1.to_q": "self_attn.q",
    "attn1.to_k": "self_attn.k",
    "attn1.to_v": "self_attn.v",
    "attn1.to_out.0": "self_attn.o",
    "attn2.to_q": "cross_attn.q",
    "attn2.to_k": "cross_attn.k",
    "attn2.to_v": "cross_attn.v",
    "attn2.to_out.0": "cross_attn.o",
    "ffn.net.0.proj": "ffn.0",
    "ffn.net.2": "ffn.2",
}


def random_lora(
    transformer: Any, layout: str = "lightx2v", rank: int = 4, seed: int = 0, std: float = 0.05
) -> dict[str, Any]:
    """A LoRA with random weights for every linear layer of ``transformer.blocks``.

    ``layout`` picks the key names: ``diffusers`` (``transformer.blocks.N.attn1.to_q.lora_A``),
    ``lightx2v`` (the original Wan names, ``diffusion_model.blocks.N.self_attn.q.lora_down`` /
    ``lora_up`` with an ``alpha`` of half the rank, a ``diff_b`` bias and the zero norm ``diff``
    that real step-distill files carry) or ``lightx2v-ab`` (original names, ``lora_A``/``lora_B``).
    The weight delta of a layer is ``alpha / rank · up @ down`` (``alpha = rank`` when absent).
    """
    import torch

    if layout not in LORA_LAYOUTS:
        raise ValueError(f"unknown LoRA layout {layout!r}; choose from {', '.join(LORA_LAYOUTS)}")
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, Any] = {}
    for i in range(len(transformer.blocks)):
        for ours, theirs in _WAN_NAMES.items():
            out_features, in_features = transformer.get_submodule(f"blocks.{i}.{ours}").weight.shape
            down = torch.randn(rank, in_features, generator=generator) * std
            up = torch.randn(out_features, rank, generator=generator) * std
            if layout == "diffusers":
                state[f"transformer.blocks.{i}.{ours}.lora_A.weight"] = down
                state[f"transformer.blocks.{i}.{ours}.lora_B.weight"] = up
                continue
            key = f"diffusion_model.blocks.{i}.{theirs}"
            a, b = ("lora_down", "lora_up") if layout == "lightx2v" else ("lora_A", "lora_B")
            state[f"{key}.{a}.weight"] = down
            state[f"{key}.{b}.weight"] = up
            if layout == "lightx2v":
                state[f"{key}.alpha"] = torch.tensor(rank / 2)
                state[f"{key}.diff_b"] = torch.randn(out_features, generator=generator) * std
        if layout == "lightx2v":
            width = transformer.blocks[i].norm2.weight.shape[0]
            state[f"diffusion_model.blocks.{i}.norm3.diff"] = torch.zeros(width)
    return state


def lora_delta(state: dict[str, Any], module: str) -> Any:
    """The weight change ``state`` makes to ``module`` (``blocks.0.attn1.to_q``) at scale 1."""
    block, _, name = module.partition(".")[2].partition(".")
    if f"transformer.{module}.lora_A.weight" in state:
        return (
            state[f"transformer.{module}.lora_B.weight"]
            @ state[f"transformer.{module}.lora_A.weight"]
        )
    key = f"diffusion_model.blocks.{block}.{_WAN_NAMES[name]}"
    if f"{key}.lora_down.weight" in state:
        down, up = state[f"{key}.lora_down.weight"], state[f"{key}.lora_up.weight"]
    else:
        down, up = state[f"{key}.lora_A.weight"], state[f"{key}.lora_B.weight"]
    alpha = float(state[f"{key}.alpha"]) if f"{key}.alpha" in state else down.shape[0]
    return (alpha / down.shape[0]) * (up @ down)


def save_lora(state: dict[str, Any], path: Path) -> Path:
    """Write ``state`` as a ``.safetensors`` LoRA file; returns ``path``."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path
