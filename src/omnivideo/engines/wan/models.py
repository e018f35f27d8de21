"""The Wan checkpoints the engine serves, and how a loaded checkpoint is recognised.

    key                   pipeline (experts)           serves                     native     fps  window
    wan2.1-vace-1.3b      WanVACEPipeline              every mode                 480p        16    81
    wan2.1-vace-14b       WanVACEPipeline              every mode                 480p, 720p  16    81
    wan2.2-vace-fun-a14b  WanVACEPipeline (2)          every mode                 480p, 720p  16    81
    wan2.1-t2v-1.3b       WanPipeline                  text, multi-shot           480p        16    81
    wan2.1-t2v-14b        WanPipeline                  text, multi-shot           480p, 720p  16    81
    wan2.2-t2v-a14b       WanPipeline (2)              text, multi-shot           480p, 720p  16    81
    wan2.2-ti2v-5b        WanPipeline + I2V twin       text, first frame,         704p        24   121
                                                       multi-shot, long
    wan2.1-i2v-14b        WanImageToVideoPipeline      first frame, multi-shot,   480p, 720p  16    81
                                                       long
    wan2.1-flf2v-14b      WanImageToVideoPipeline      the same + end frame       720p        16    81
    wan2.2-i2v-a14b       WanImageToVideoPipeline (2)  the same + end frame       480p, 720p  16    81

"every mode" is text, first frame, end frame, reference images and elements, base video
(edit), feature video, multi-shot and long (several windows); ``sound: on`` is never served.

Every row generates ``4k+1`` frames per window (the VAE compresses time by 4). A row is found
from ``model_index.json`` (``_class_name``, ``transformer_2``, ``expand_timesteps``) and the
transformer's ``config.json`` (width, ``image_dim``, ``pos_embed_seq_len``); the width picks the
size (1536 → 1.3B, 3072 → 5B, 5120 → 14B), and an unknown width (a tiny test model, a
fine-tune) takes the row of the same family closest in width.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from omnivideo.contract.spec import TaskSpec
from omnivideo.engines.wan.plan import native_frames_needed

#: Omni capabilities a checkpoint may have; ``check()`` compares a request's needs to them.
TEXT: Final = "text"  # a video from the prompt alone (no first frame, no base video)
FIRST_FRAME: Final = "first_frame"
END_FRAME: Final = "end_frame"
REFERENCES: Final = "references"  # reference images and elements
EDIT: Final = "edit"  # a base video, re-rendered
VIDEO_REFERENCE: Final = "video_reference"  # a feature video guiding a new one
MULTI_SHOT: Final = "multi_shot"
LONG: Final = "long"  # longer than one window: extended in conditioned chunks

CAPABILITY_WORDS: Final = {
    TEXT: "text-to-video without a first frame",
    FIRST_FRAME: "a first frame image",
    END_FRAME: "an end frame image",
    REFERENCES: "reference images or elements",
    EDIT: "a base video to edit (refer_type=base)",
    VIDEO_REFERENCE: "a reference video (refer_type=feature)",
    MULTI_SHOT: "multi-shot",
    LONG: "videos longer than one generation window",
}

ALL_MODES: Final = frozenset(CAPABILITY_WORDS)

#: Wan's own negative prompt (from the reference implementation's shared config).
DEFAULT_NEGATIVE_PROMPT: Final = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，"
    "低质量，JPEG压缩残留，丑陋，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，"
    "形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
)


@dataclass(frozen=True)
class ModelSpec:
    """One supported checkpoint: what it can do and how it likes to be run."""

    key: str
    #: the diffusers-format checkpoint on the Hugging Face hub (None: community conversions only)
    hub_id: str | None
    #: ``_class_name`` in model_index.json
    pipeline: str
    modes: frozenset[str]
    #: short sides of the native 16:9 sizes, smallest first (480 → 832×480)
    resolutions: tuple[int, ...]
    fps: int
    #: most frames one pipeline call makes (a 4k+1 count)
    window: int
    #: width of the transformer (heads × head dim), which tells the sizes apart
    width: int
    steps: int
    guidance: float
    #: guidance of the low-noise expert (two-expert Wan2.2 checkpoints)
    guidance_2: float | None = None
    two_experts: bool = False
    #: Wan2.2 TI2V: per-token timesteps, 16× VAE; first frames go through an I2V twin
    expand_timesteps: bool = False
    #: Wan2.1 I2V/FLF2V: CLIP image embeddings
    clip: bool = False
    #: native sizes are multiples of this
    multiple: int = 16
    #: frames of the previous chunk a VACE extension keeps (1 for the I2V pipelines)
    overlap: int = 5

    @property
    def window_s(self) -> float:
        """Seconds of video one window covers."""
        return (self.window - 1) / self.fps

    def native_size(self, aspect: float, resolution: int | None = None) -> tuple[int, int]:
        """Width and height to generate for an output of ``aspect`` (width / height).

        Wan's trained sizes for 16:9 and 9:16 (832×480, 1280×720, 1280×704 …); any other
        shape gets the same pixel count in multiples of :attr:`multiple` (624×624 at 480p).
        """
        short = resolution or self.resolutions[0]
        m = self.multiple
        long_side = _TRAINED_LONG_SIDE.get(short) or max(m, round(short * 16 / 9 / m) * m)
        if abs(aspect - long_side / short) < 0.06:
            return long_side, short
        if abs(aspect - short / long_side) < 0.02:
            return short, long_side
        area = short * long_side
        height = max(m, round(math.sqrt(area / aspect) / m) * m)
        width = max(m, round(math.sqrt(area * aspect) / m) * m)
        return width, height

    def resolution_for(self, short_side: int) -> int:
        """The native resolution for an output whose short side is ``short_side``."""
        fitting = [r for r in self.resolutions if r >= short_side]
        return fitting[0] if fitting else self.resolutions[-1]


#: long side of Wan's trained 16:9 size per short side
_TRAINED_LONG_SIDE: Final = {480: 832, 704: 1280, 720: 1280}

_VACE = ALL_MODES
_T2V = frozenset({TEXT, MULTI_SHOT})
_TI2V = frozenset({TEXT, FIRST_FRAME, MULTI_SHOT, LONG})
_I2V = frozenset({FIRST_FRAME, MULTI_SHOT, LONG})
_FLF = _I2V | {END_FRAME}

MODELS: Final[tuple[ModelSpec, ...]] = (
    ModelSpec("wan2.1-vace-1.3b", "Wan-AI/Wan2.1-VACE-1.3B-diffusers", "WanVACEPipeline",
              _VACE, (480,), 16, 81, 1536, 50, 5.0),
    ModelSpec("wan2.1-vace-14b", "Wan-AI/Wan2.1-VACE-14B-diffusers", "WanVACEPipeline",
              _VACE, (480, 720), 16, 81, 5120, 50, 5.0),
    ModelSpec("wan2.2-vace-fun-a14b", None, "WanVACEPipeline",
              _VACE, (480, 720), 16, 81, 5120, 40, 4.0, 3.0, two_experts=True),
    ModelSpec("wan2.1-t2v-1.3b", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "WanPipeline",
              _T2V, (480,), 16, 81, 1536, 50, 5.0),
    ModelSpec("wan2.1-t2v-14b", "Wan-AI/Wan2.1-T2V-14B-Diffusers", "WanPipeline",
              _T2V, (480, 720), 16, 81, 5120, 50, 5.0),
    ModelSpec("wan2.2-t2v-a14b", "Wan-AI/Wan2.2-T2V-A14B-Diffusers", "WanPipeline",
              _T2V, (480, 720), 16, 81, 5120, 40, 4.0, 3.0, two_experts=True),
    ModelSpec("wan2.2-ti2v-5b", "Wan-AI/Wan2.2-TI2V-5B-Diffusers", "WanPipeline",
              _TI2V, (704,), 24, 121, 3072, 50, 5.0, expand_timesteps=True, multiple=32,
              overlap=1),
    ModelSpec("wan2.1-i2v-14b", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", "WanImageToVideoPipeline",
              _I2V, (480, 720), 16, 81, 5120, 50, 5.0, clip=True, overlap=1),
    ModelSpec("wan2.1-flf2v-14b", "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers",
              "WanImageToVideoPipeline", _FLF, (720,), 16, 81, 5120, 50, 5.0, clip=True,
              overlap=1),
    ModelSpec("wan2.2-i2v-a14b", "Wan-AI/Wan2.2-I2V-A14B-Diffusers", "WanImageToVideoPipeline",
              _FLF, (480, 720), 16, 81, 5120, 40, 3.5, 3.5, two_experts=True, overlap=1),
)  # fmt: skip

BY_KEY: Final = {spec.key: spec for spec in MODELS}
PIPELINES: Final = frozenset(spec.pipeline for spec in MODELS)


class UnknownModel(ValueError):
    """The checkpoint is not one of the Wan pipelines in :data:`MODELS`."""


def _present(value: Any) -> bool:
    """A model_index entry names a component (``[library, class]``), not ``[null, null]``."""
    return isinstance(value, list | tuple) and len(value) == 2 and value[0] is not None


def check_pipeline(model_index: Mapping[str, Any]) -> str:
    """The pipeline class a model_index.json names, if the engine serves it."""
    pipeline = str(model_index.get("_class_name", ""))
    if pipeline not in PIPELINES:
        raise UnknownModel(
            f"its pipeline is {pipeline or 'unnamed'!r}; the wan engine serves "
            f"{', '.join(sorted(PIPELINES))}"
        )
    return pipeline


def detect(model_index: Mapping[str, Any], transformer: Mapping[str, Any]) -> ModelSpec:
    """The row of :data:`MODELS` that a checkpoint's ``model_index.json`` and transformer config
    describe. Raises :class:`UnknownModel` for anything that is not a supported Wan pipeline."""
    pipeline = check_pipeline(model_index)
    two = (
        _present(model_index.get("transformer_2")) and model_index.get("boundary_ratio") is not None
    )
    clip = transformer.get("image_dim") is not None
    if model_index.get("expand_timesteps"):
        candidates = [s for s in MODELS if s.expand_timesteps]
    elif pipeline == "WanImageToVideoPipeline" and clip:
        flf = transformer.get("pos_embed_seq_len") is not None
        candidates = [s for s in MODELS if s.clip and (END_FRAME in s.modes) == flf]
    else:
        candidates = [
            s for s in MODELS if s.pipeline == pipeline and not s.clip and not s.expand_timesteps
        ]
        # A single-expert build of a two-expert family still runs as that family.
        candidates = [s for s in candidates if s.two_experts == two] or candidates
    heads = int(transformer.get("num_attention_heads", 0) or 0)
    head_dim = int(transformer.get("attention_head_dim", 0) or 0)
    width = heads * head_dim
    return min(candidates, key=lambda s: (abs(s.width - width), s.width))


def describe(missing: set[str] | frozenset[str]) -> str:
    return ", ".join(CAPABILITY_WORDS[m] for m in sorted(missing))


def request_needs(spec: TaskSpec, window_frames: int, fps: int) -> set[str]:
    """The capabilities a task spec asks of a model (see :mod:`.models`)."""
    needs: set[str] = set()
    video = spec.video
    base = video if video is not None and video.refer_type == "base" else None
    first = spec.image("first_frame")
    if first is not None:
        needs.add(FIRST_FRAME)
    if spec.image("end_frame") is not None:
        needs.add(END_FRAME)
    if first is None and base is None:
        needs.add(TEXT)
    if any(i.role == "reference" for i in spec.images) or spec.elements:
        needs.add(REFERENCES)
    if base is not None:
        needs.add(EDIT)
    if video is not None and video.refer_type == "feature":
        needs.add(VIDEO_REFERENCE)
    if len(spec.shots) > 1:
        needs.add(MULTI_SHOT)
    if base is None:
        longest = max(s.frames for s in spec.shots)
        if native_frames_needed(longest, 1, fps, 24) > window_frames:
            needs.add(LONG)
    return needs
