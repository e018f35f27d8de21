"""LoRAs on a loaded pipeline, through diffusers' Wan LoRA loader, fused at start-up.

An entry is ``[EXPERT=]PATH_OR_ID[:SCALE]``:

- ``PATH`` a ``.safetensors`` file, or a directory holding one, or the Wan2.2 pair
  ``high_noise_model.safetensors`` + ``low_noise_model.safetensors`` (the Lightning layout);
- ``ID`` a hub repo (``owner/name``, diffusers picks its one weight file) or a file in one
  (``owner/name/sub/file.safetensors``);
- ``SCALE`` the adapter weight (default 1.0);
- ``EXPERT`` ``high`` (``transformer``, the high-noise expert of Wan2.2 A14B) or ``low``
  (``transformer_2``). Without it a file named like ``…_high_noise_…``/``…_HIGH_…`` or
  ``…_low_noise_…``/``…_LOW_…`` goes to that expert and any other file to both.

diffusers reads every key layout the community ships: diffusers/PEFT
(``transformer.blocks.N….lora_A``), the original Wan and lightx2v layout
(``diffusion_model.blocks.N.self_attn.q.lora_down`` + ``.alpha``, or ``lora_A``/``lora_B``,
with ``diff_b`` biases) and musubi's. The adapters are then fused into the weights and the
LoRA layers dropped, so a render costs what it costs without them.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from omnivideo.contract.errors import OmniError

log = logging.getLogger(__name__)

Expert = Literal["high", "low", "both"]

#: the Wan2.2 Lightning / lightx2v pair inside one directory
PAIR: dict[str, Expert] = {
    "high_noise_model.safetensors": "high",
    "low_noise_model.safetensors": "low",
}

# "high" / "low" as a word of the file name: "…_HIGH_fp16", "high_noise_model", not "flower".
_TAG = re.compile(r"(?:^|[^a-z])(high|low)(?:[_-]?noise)?(?:[^a-z]|$)", re.IGNORECASE)
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


@dataclass(frozen=True)
class LoraSpec:
    """One ``--lora`` entry as written."""

    source: str
    scale: float = 1.0
    #: None: decided per file from its name
    expert: Expert | None = None

    @classmethod
    def parse(cls, text: str) -> LoraSpec:
        """``[high=|low=]PATH_OR_ID[:SCALE]``; raises ``ValueError`` naming the problem."""
        text = text.strip()
        expert: Expert | None = None
        head, sep, rest = text.partition("=")
        if sep and head in ("high", "low", "both"):
            expert, text = head, rest  # type: ignore[assignment]
        source, sep, tail = text.rpartition(":")
        scale = 1.0
        if sep:
            try:
                scale = float(tail)
            except ValueError:
                pass  # the ':' belongs to the path
            else:
                text = source
        if not math.isfinite(scale):
            raise ValueError(f"scale must be a finite number, got {tail}")
        if not text:
            raise ValueError("empty LoRA entry; expected PATH_OR_ID[:SCALE]")
        return cls(text, scale, expert)


@dataclass(frozen=True)
class LoraFile:
    """One weight file resolved for loading, and the expert it goes to."""

    #: local file path, or hub repo id
    source: str
    #: the file inside a hub repo (None: local file, or diffusers' pick)
    weight_name: str | None
    scale: float
    expert: Expert
    label: str


def expert_of_name(name: str) -> Expert:
    """``high``/``low`` when the file name says so, else ``both``."""
    match = _TAG.search(Path(name).stem)
    if match is None:
        return "both"
    return "high" if match.group(1).lower() == "high" else "low"


def resolve(spec: LoraSpec) -> list[LoraFile]:
    """The files one entry stands for (a pair directory gives two)."""
    path = Path(spec.source).expanduser()
    if path.is_file():
        return [_file(str(path), None, spec, path.name)]
    if path.is_dir():
        pair = [path / name for name in PAIR if (path / name).is_file()]
        if pair:
            return [
                LoraFile(str(p), None, spec.scale, spec.expert or PAIR[p.name], str(p))
                for p in pair
            ]
        files = sorted(path.glob("*.safetensors"))
        if len(files) == 1:
            return [_file(str(files[0]), None, spec, files[0].name)]
        tagged = [f for f in files if expert_of_name(f.name) != "both"]
        if files and len(tagged) == len(files):
            return [_file(str(f), None, spec, f.name) for f in files]
        raise OmniError(
            5000,
            f"LoRA {spec.source!r}: expected one .safetensors file (or a high/low pair) in the "
            f"directory, found {len(files)}; name the file",
        )
    parts = spec.source.split("/")
    local = spec.source.startswith((".", "/", "~")) or not _HUB_ID.match(spec.source)
    if local or (len(parts) < 3 and spec.source.endswith(".safetensors")):
        raise OmniError(5000, f"LoRA {spec.source!r}: no such file or directory")
    repo = "/".join(parts[:2])
    weight_name = "/".join(parts[2:]) or None
    return [_file(repo, weight_name, spec, weight_name or repo)]


def _file(source: str, weight_name: str | None, spec: LoraSpec, name: str) -> LoraFile:
    expert = spec.expert or expert_of_name(name)
    return LoraFile(source, weight_name, spec.scale, expert, spec.source)


def targets(expert: Expert, two_experts: bool, label: str) -> list[str]:
    """The pipeline components a file goes into."""
    if not two_experts:
        if expert != "both":
            log.warning("wan: LoRA %s is marked %s-noise; this model has one expert", label, expert)
        return ["transformer"]
    return {"high": ["transformer"], "low": ["transformer_2"]}.get(
        expert, ["transformer", "transformer_2"]
    )


def apply(pipe: Any, entries: Sequence[str], *, fuse: bool = True) -> list[str]:
    """Load ``entries`` into ``pipe``'s transformers and (by default) fuse them.

    Returns one line per file loaded (``path -> transformer_2 ×0.8``) for the log. Every
    failure is ``OmniError(5000)`` naming the entry, raised at start-up.
    """
    if not entries:
        return []
    two_experts = getattr(pipe, "transformer_2", None) is not None
    has_first = getattr(pipe, "transformer", None) is not None
    adapters: dict[str, tuple[list[str], list[float]]] = {}
    applied: list[str] = []
    for i, entry in enumerate(entries):
        try:
            spec = LoraSpec.parse(entry)
        except ValueError as exc:
            raise OmniError(5000, f"LoRA {entry!r}: {exc}") from None
        for j, file in enumerate(resolve(spec)):
            for component in targets(file.expert, two_experts, file.label):
                if component == "transformer" and not has_first:
                    continue
                name = f"lora{i}_{j}_{component}"
                _load(pipe, file, name, component)
                names, weights = adapters.setdefault(component, ([], []))
                names.append(name)
                weights.append(file.scale)
                applied.append(f"{file.source} -> {component} x{file.scale:g}")
    for component, (names, weights) in adapters.items():
        model = getattr(pipe, component)
        model.set_adapters(names, weights)
        if fuse:
            pipe.fuse_lora(components=[component], lora_scale=1.0, adapter_names=names)
    if fuse:
        # The weights now hold the LoRAs; dropping the PEFT layers makes them plain Linear again.
        pipe.unload_lora_weights()
    for line in applied:
        log.info("wan: LoRA %s%s", line, " (fused)" if fuse else "")
    return applied


def _load(pipe: Any, file: LoraFile, name: str, component: str) -> None:
    kwargs: dict[str, Any] = {"adapter_name": name}
    if file.weight_name:
        kwargs["weight_name"] = file.weight_name
    if component == "transformer_2":
        kwargs["load_into_transformer_2"] = True
    try:
        pipe.load_lora_weights(file.source, **kwargs)
    except OmniError:
        raise
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OmniError(
            5000, f"could not load LoRA {file.label!r} into {component}: {detail}"
        ) from exc
