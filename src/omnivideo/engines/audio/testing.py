"""Tiny random-weight Stable Audio checkpoints, built in code, for tests and the CPU bench.

The shapes follow diffusers' fast test (``tests/pipelines/stable_audio/``) with the tokenizer
built in code (no download, as :mod:`omnivideo.engines.wan.testing` does for Wan) and a VAE
whose rate and hop let one call make up to 16 s, so every Kling duration fits one call, as
with the real 47 s model. :func:`save_tiny` writes a diffusers-format directory that the stage
then loads through the same path as a real checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: samples per second of the tiny VAE (real: 44100)
TINY_RATE = 1024


def build_tiny(seed: int = 0, *, sample_size: int = 64) -> Any:
    """A StableAudioPipeline of about 100k parameters; one call makes up to 16 s."""
    import torch
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )
    from transformers import T5Config, T5EncoderModel

    from omnivideo.engines.wan.testing import tiny_tokenizer

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    tokenizer.model_max_length = 96
    text_encoder = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
        )
    )
    # hop 256 (16 x 16): sample_size 64 covers 16 s at 1024 Hz
    ratios = [16, 16]
    transformer = StableAudioDiTModel(
        sample_size=sample_size,
        in_channels=3,
        num_layers=2,
        attention_head_dim=4,
        num_key_value_attention_heads=2,
        out_channels=3,
        cross_attention_dim=4,
        time_proj_dim=8,
        global_states_input_dim=8,
        cross_attention_input_dim=4,
    )
    scheduler = CosineDPMSolverMultistepScheduler(
        solver_order=2, prediction_type="v_prediction", sigma_data=1.0, sigma_schedule="exponential"
    )
    vae = AutoencoderOobleck(
        encoder_hidden_size=6,
        downsampling_ratios=ratios,
        decoder_channels=3,
        decoder_input_channels=3,
        audio_channels=2,
        channel_multiples=[2, 4],
        sampling_rate=TINY_RATE,
    )
    projection = StableAudioProjectionModel(
        text_encoder_dim=32, conditioning_dim=4, min_value=0, max_value=64
    )
    pipe = StableAudioPipeline(
        vae=vae,
        text_encoder=text_encoder,
        projection_model=projection,
        tokenizer=tokenizer,
        transformer=transformer,
        scheduler=scheduler,
    )
    pipe.set_progress_bar_config(disable=True)  # type: ignore[attr-defined]
    return pipe


def save_tiny(directory: Path, seed: int = 0) -> Path:
    """Write a tiny checkpoint to ``directory`` (diffusers format) and return it."""
    import warnings

    directory.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Oobleck's weight_norm
        build_tiny(seed).save_pretrained(str(directory))
    return directory
