"""Context parallelism: one video spread over several GPUs by diffusers, not by us.

diffusers does the splitting (``ModelMixin.enable_parallelism`` with a
``ContextParallelConfig``): the transformer's ``_cp_plan`` shards the token sequence over the
ranks at ``blocks.0`` and gathers it at ``proj_out``; attention runs Ulysses (all-to-all over
heads), ring (key/value blocks passed around) or both. Nothing here computes attention. This
module picks the degrees, the generated size, and the plan of the VACE transformer; the
processes themselves are :mod:`.ranks`.

Degrees: Ulysses needs the head count divisible by its degree, so the largest divisor of the
rank count that divides the heads goes to Ulysses and the rest to ring (the 1.3B models have
12 heads: 8 GPUs run Ulysses 4 × ring 2). Ring attention needs an attention kernel that
returns the log-sum-exp; torch's SDPA does not, so the engine gives ring ``_native_flash``
unless another backend is set. The token count per frame is made divisible by the rank count
by widening the generated size by a few 16-pixel columns (the output is scaled to the job's
size anyway).

diffusers 0.42 has no parallel VAE decode for Wan; every rank decodes the full video (the
next window's conditioning needs the frames on every rank).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from omnivideo.contract.errors import OmniError


@dataclass(frozen=True)
class Degrees:
    ulysses: int
    ring: int

    @property
    def world(self) -> int:
        return self.ulysses * self.ring


def choose_degrees(world: int, heads: int) -> Degrees:
    """Ulysses gets the largest divisor of ``world`` that divides ``heads``; ring the rest."""
    if world < 1 or heads < 1:
        raise ValueError(f"need at least one rank and one head, got {world} and {heads}")
    ulysses = max(d for d in range(1, world + 1) if world % d == 0 and heads % d == 0)
    return Degrees(ulysses, world // ulysses)


def fit_tokens(width: int, height: int, multiple: int, world: int) -> tuple[int, int]:
    """``(width, height)`` widened by ``multiple`` steps until each frame's tokens split evenly.

    A frame of ``w × h`` pixels is ``(w / multiple) · (h / multiple)`` tokens (VAE × patch).
    """
    columns, rows = width // multiple, height // multiple
    need = world // math.gcd(rows, world)  # columns must be a multiple of this
    columns = -(-columns // need) * need
    return columns * multiple, height


def plan_for(transformer: Any) -> Any:
    """The context-parallel plan of ``transformer``: its own, or Wan's extended for VACE.

    diffusers 0.42 gives ``WanTransformer3DModel`` a plan but not its VACE subclass. VACE runs
    the same blocks plus a control branch that starts at ``vace_blocks.0`` from the latents and
    the control latents and adds its hints to the main blocks' sequence, so both of its
    inputs are split the way ``blocks.0``'s are.
    """
    if getattr(transformer, "_cp_plan", None) is not None:
        return None
    from diffusers import WanTransformer3DModel, WanVACETransformer3DModel
    from diffusers.models._modeling_parallel import ContextParallelInput

    if not isinstance(transformer, WanVACETransformer3DModel):
        raise OmniError(5000, f"{type(transformer).__name__} has no context-parallel plan")
    split = ContextParallelInput(split_dim=1, expected_dims=3, split_output=False)
    plan = dict(WanTransformer3DModel._cp_plan)
    plan["vace_blocks.0"] = {"hidden_states": split, "control_hidden_states": split}
    return plan


@contextmanager
def _device_index_on_cpu() -> Iterator[None]:
    # diffusers picks each rank's device as `rank % torch.accelerator.device_count()`
    # (ModelMixin._resolve_parallel_config), which divides by zero on a machine without an
    # accelerator. Gloo ranks on CPU need one device index: report one while it looks.
    import torch

    if torch.accelerator.device_count() > 0:
        yield
        return
    original = torch.accelerator.device_count
    torch.accelerator.device_count = lambda: 1
    try:
        yield
    finally:
        torch.accelerator.device_count = original


def enable(transformer: Any, degrees: Degrees) -> None:
    """``transformer.enable_parallelism`` with ``degrees`` over the default process group."""
    from diffusers import ContextParallelConfig

    config = ContextParallelConfig(ulysses_degree=degrees.ulysses, ring_degree=degrees.ring)
    with _device_index_on_cpu():
        transformer.enable_parallelism(config=config, cp_plan=plan_for(transformer))
