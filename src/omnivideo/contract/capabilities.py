"""What each omni model can do, per mode (reference §1.5 and the §1.4.x rules).

    model           mode  duration  5/10 s only for   multi-shot  sound on  video-character el.
    kling-video-o1  std   3-10 s    T2V, first frame  no          no        no
    kling-video-o1  pro   3-10 s    T2V, first frame  no          no        no
    kling-v3-omni   std   3-15 s *  -                 6 shots     yes       yes
    kling-v3-omni   pro   3-15 s *  -                 6 shots     yes       yes

    * 3-10 s when a reference video is given.

The 3.x API's models (model in the path, see docs/kling-3x.md) are rows of the same table:

    model            like            differences
    kling-3.0-omni   kling-v3-omni   prompt up to 3072 characters; 4k
    kling-o1         kling-video-o1  prompt up to 3072 characters
    kling-3.0        kling-v3-omni   shots may start on a first frame; 4k
    kling-3.0-turbo  kling-v3-omni   shots may start on a first frame; always with sound

std renders 720p and pro 1080p on every model (the 3.x ``settings.resolution`` picks the mode:
720p std, 1080p and 4k pro). The rules in :mod:`omnivideo.contract.rules`
read this table instead of naming models, so a new model is one more row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from omnivideo.contract.errors import OmniError, invalid
from omnivideo.contract.request import _shown

#: the 3.x API's models (the model is in the path there)
MODELS_3X: Final = ("kling-3.0", "kling-3.0-turbo", "kling-3.0-omni", "kling-o1")
MODELS: Final = ("kling-video-o1", "kling-v3-omni", *MODELS_3X)
MODES: Final = ("std", "pro")


@dataclass(frozen=True)
class Capability:
    """One model in one mode."""

    model_name: str
    mode: str
    #: short side of the output in pixels (std 720p, pro 1080p)
    resolution: int
    min_duration_s: int
    max_duration_s: int
    #: longest output when ``video_list`` holds a (feature) video
    max_duration_with_video_s: int
    #: the only durations allowed for text-to-video and first-frame-only image-to-video;
    #: None when those cases take the whole range
    fixed_durations_s: frozenset[int] | None
    #: most shots of a multi-shot request; 0 when multi-shot is not supported
    max_shots: int
    #: ``sound: on`` (native audio) is supported
    sound: bool
    #: elements of ``reference_type=video_refer`` are supported
    video_character_elements: bool
    #: elements may be combined with a first and an end frame
    elements_with_end_frame: bool
    #: an end frame is refused once ``image_list`` holds more images than this (None: no limit)
    end_frame_max_images: int | None
    max_shot_prompt_chars: int = 512
    #: images + elements, without and with a reference video
    max_references: int = 7
    max_references_with_video: int = 4
    max_elements_with_first_frame: int = 3
    max_videos: int = 1
    max_prompt_chars: int = 2500
    #: multi-shot may start on a first frame (text/image-to-video models)
    shots_with_frames: bool = False
    #: the 3.x ``settings.resolution`` values the model renders
    resolutions: frozenset[str] = frozenset({"720p", "1080p"})
    #: every output has sound, asked for or not (kling-3.0-turbo)
    always_sound: bool = False

    @property
    def multi_shot(self) -> bool:
        return self.max_shots > 0


def _row(model_name: str, mode: str) -> Capability:
    o1 = model_name in ("kling-video-o1", "kling-o1")
    three = model_name in MODELS_3X
    return Capability(
        model_name=model_name,
        mode=mode,
        resolution=720 if mode == "std" else 1080,
        min_duration_s=3,
        max_duration_s=10 if o1 else 15,
        max_duration_with_video_s=10,
        fixed_durations_s=frozenset({5, 10}) if o1 else None,
        max_shots=0 if o1 else 6,
        sound=not o1,
        video_character_elements=not o1,
        elements_with_end_frame=not o1,
        end_frame_max_images=2 if o1 else None,
        max_prompt_chars=3072 if three else 2500,
        shots_with_frames=model_name in ("kling-3.0", "kling-3.0-turbo"),
        resolutions=frozenset(
            {"720p", "1080p", "4k"}
            if model_name in ("kling-3.0", "kling-3.0-omni")
            else {"720p", "1080p"}
        ),
        always_sound=model_name == "kling-3.0-turbo",
    )


CAPABILITIES: Final[dict[tuple[str, str], Capability]] = {
    (model, mode): _row(model, mode) for model in MODELS for mode in MODES
}


def check_model(model_name: str) -> None:
    """Raise ``OmniError(1203)`` for a model this API does not serve."""
    if model_name not in MODELS:
        raise OmniError(
            1203,
            f"model_name: unknown model {_shown(model_name, 60)}; supported: {', '.join(MODELS)}",
        )


def capability(model_name: str, mode: str = "pro") -> Capability:
    """The capability row of ``model_name`` in ``mode``.

    Unknown model -> ``OmniError(1203)``; unknown mode -> ``OmniError(1201)``.
    """
    check_model(model_name)
    if mode not in MODES:
        raise invalid(f"mode: must be one of 'std' or 'pro', got {_shown(mode)}")
    return CAPABILITIES[(model_name, mode)]
