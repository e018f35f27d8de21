"""Speed-ups the engine applies to a loaded pipeline (see docs/wan.md for measurements).

Default: **step caching** with diffusers' TaylorSeer (lite) on a fixed schedule. The first 20%
of the steps and the last 10% run the transformer; in between it runs every third step, and
the steps in between extrapolate the transformer's output to first order from the last two
full steps. At 50 steps that is 27 transformer passes instead of 50. The schedule does not
depend on the weights, so the saving is the same for every prompt and checkpoint.

Options, all off by default: an attention backend (``flash``, ``_flash_3``, ``sage``,
``_native_cudnn``), ``torch.compile`` of the repeated blocks, CFG batching (the conditional and
unconditional passes as one batch of two), and fp8 weights (storage only, or torchao compute).
"""

from __future__ import annotations

import logging
from typing import Any

from omnivideo.contract.errors import OmniError
from omnivideo.engines.wan import parallel
from omnivideo.engines.wan.options import WanOptions
from omnivideo.engines.wan.parallel import Degrees

log = logging.getLogger(__name__)

#: TaylorSeer schedule: share of steps computed first and last, and the refresh interval
WARMUP = 0.2
COOLDOWN = 0.1
INTERVAL = 3


def transformers_of(pipe: Any) -> list[Any]:
    return [
        t
        for t in (getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None))
        if t is not None
    ]


def taylorseer_schedule(steps: int, interval: int = INTERVAL) -> tuple[int, int]:
    """(steps computed before caching starts, step from which every step is computed)."""
    warmup = max(2, round(steps * WARMUP))
    cooldown_from = steps - max(1, round(steps * COOLDOWN))
    return warmup, cooldown_from


def computed_steps(steps: int, interval: int = INTERVAL) -> int:
    """Transformer passes per CFG branch that the TaylorSeer schedule runs out of ``steps``."""
    warmup, cooldown_from = taylorseer_schedule(steps, interval)
    return sum(
        1
        for s in range(steps)
        if s < warmup or s >= cooldown_from or (s - warmup - 1) % interval == 0
    )


def cache_config(spec: str, steps: int) -> Any:
    """The diffusers cache config that ``spec`` (the ``cache`` option) names, or None."""
    import torch
    from diffusers import FirstBlockCacheConfig, TaylorSeerCacheConfig

    name, _, arg = spec.partition(":")
    if name == "none":
        return None
    if name == "fbc":
        return FirstBlockCacheConfig(threshold=float(arg or 0.05))
    interval = int(arg or INTERVAL)
    warmup, cooldown_from = taylorseer_schedule(steps, interval)
    return TaylorSeerCacheConfig(
        cache_interval=interval,
        disable_cache_before_step=warmup,
        disable_cache_after_step=cooldown_from,
        max_order=1,
        taylor_factors_dtype=torch.float32,
        use_lite_mode=True,
    )


class CfgBatcher:
    """Runs CFG's two transformer passes as one batch of two.

    The pipeline calls the transformer twice per step with the same latents: first with the
    prompt's embeddings, then with the negative prompt's. The engine tells the batcher both
    embeddings (:meth:`expect`); on the first call it runs both halves at once and keeps the
    unconditional half for the second call, which then costs nothing. Any other call passes
    straight through.
    """

    def __init__(self, transformer: Any) -> None:
        self._inner = transformer.forward
        self._positive: Any = None
        self._negative: Any = None
        self._stash: tuple[Any, Any] | None = None
        transformer.forward = self

    def expect(self, positive: Any, negative: Any) -> None:
        self._positive, self._negative, self._stash = positive, negative, None

    def __call__(
        self, hidden_states: Any, timestep: Any, encoder_hidden_states: Any, **kw: Any
    ) -> Any:
        import torch

        return_dict = kw.pop("return_dict", True)
        if self._stash is not None and encoder_hidden_states is self._negative:
            latents, uncond = self._stash
            self._stash = None
            if latents is hidden_states:
                return self._wrap(uncond, return_dict)
        if self._negative is None or encoder_hidden_states is not self._positive:
            return self._inner(
                hidden_states, timestep, encoder_hidden_states, return_dict=return_dict, **kw
            )
        two = {
            k: torch.cat([v, v])
            if k in ("encoder_hidden_states_image", "control_hidden_states") and v is not None
            else v
            for k, v in kw.items()
        }
        out = self._inner(
            torch.cat([hidden_states, hidden_states]),
            torch.cat([timestep, timestep]),
            torch.cat([encoder_hidden_states, self._negative]),
            return_dict=False,
            **two,
        )[0]
        cond, uncond = out.chunk(2)
        self._stash = (hidden_states, uncond)
        return self._wrap(cond, return_dict)

    @staticmethod
    def _wrap(sample: Any, return_dict: bool) -> Any:
        if return_dict:
            from diffusers.models.modeling_outputs import Transformer2DModelOutput

            return Transformer2DModelOutput(sample=sample)
        return (sample,)


def apply(
    pipe: Any, opts: WanOptions, steps: int, dtype: Any, degrees: Degrees | None = None
) -> list[CfgBatcher]:
    """Apply ``opts``' speed settings to every transformer of ``pipe``; returns the batchers.

    ``degrees`` spreads each transformer over the ranks (after the attention backend is set,
    which diffusers checks, and before the step cache and compilation wrap the blocks).
    """
    import torch

    if degrees is not None and opts.cache.startswith("fbc"):
        # The first-block cache decides from each rank's own shard: the ranks would disagree.
        raise OmniError(5000, "cache fbc cannot run over several GPUs; use taylorseer or none")

    batchers = []
    for transformer in transformers_of(pipe):
        if opts.fp8 == "storage":
            transformer.enable_layerwise_casting(
                storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype
            )
        elif opts.fp8 == "torchao":
            try:
                from torchao.quantization import (
                    Float8DynamicActivationFloat8WeightConfig,
                    PerRow,
                    quantize_,
                )
            except ImportError:
                raise OmniError(5000, "fp8=torchao needs torchao: pip install torchao") from None
            quantize_(transformer, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()))
        if opts.attention:
            try:
                transformer.set_attention_backend(opts.attention)
            except Exception as exc:
                raise OmniError(5000, f"attention backend {opts.attention!r}: {exc}") from exc
        if degrees is not None:
            parallel.enable(transformer, degrees)
        config = cache_config(opts.cache, steps)
        if config is not None:
            transformer.enable_cache(config)
        if opts.compile == "blocks":
            transformer.compile_repeated_blocks()
        elif opts.compile == "full":
            transformer.compile()
        if opts.cfg_batch:
            batchers.append(CfgBatcher(transformer))
    log.info(
        "wan speed: cache=%s attention=%s compile=%s cfg_batch=%s fp8=%s",
        opts.cache,
        opts.attention or "default",
        opts.compile,
        opts.cfg_batch,
        opts.fp8,
    )
    return batchers
