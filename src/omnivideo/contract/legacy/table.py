"""Which model serves which of Kling's classic endpoints, and with what (the capability map).

    endpoint           model              modes    durations  end frame      masks     camera
    text2video         kling-v1           std/pro  5, 10      -              -         std 5 s
                       kling-v1-6         std/pro  5, 10      -              -         -
                       kling-v2-master    std/pro  5, 10      -              -         -
                       kling-v2-1-master  std/pro  5, 10      -              -         -
                       kling-v2-5-turbo   std/pro  5, 10      -              -         -
                       kling-v2-6         std/pro  5, 10      -              -         -   (sound: pro)
                       kling-v3           std/pro  3-15       -              -         -   (sound, shots)
    image2video        kling-v1           std/pro  5, 10      std/pro 5 s    5 s       -
                       kling-v1-5         std/pro  5, 10      pro            pro 5 s   pro 5 s, simple
                       kling-v1-6         std/pro  5, 10      pro            -         -
                       kling-v2-master    std/pro  5, 10      -              -         -
                       kling-v2-1         std/pro  5, 10      pro            -         -
                       kling-v2-1-master  std/pro  5, 10      -              -         -
                       kling-v2-5-turbo   std/pro  5, 10      pro            -         -
                       kling-v2-6         std/pro  5, 10      pro            -         -   (sound: pro)
                       kling-v3           std/pro  3-15       std/pro        -         -   (sound, shots)
    multi-image2video  kling-v1-6         std/pro  5, 10
    video-extend       inherits the source's model: kling-v1, kling-v1-5, kling-v1-6

``cfg_scale`` is a kling-v1.x setting; later models ignore it, as Kling does (clients send it
to every model). The rules in :mod:`omnivideo.contract.legacy.rules` read this table, never
model names, so a new model is one more row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from omnivideo.contract.errors import OmniError
from omnivideo.contract.request import _shown

TEXT2VIDEO: Final = "text2video"
IMAGE2VIDEO: Final = "image2video"
MULTI_IMAGE2VIDEO: Final = "multi-image2video"
VIDEO_EXTEND: Final = "video-extend"
#: the classic endpoints, in the order Kling documents them
ENDPOINTS: Final = (TEXT2VIDEO, IMAGE2VIDEO, MULTI_IMAGE2VIDEO, VIDEO_EXTEND)

FIVE_OR_TEN: Final = frozenset({5, 10})
THREE_TO_FIFTEEN: Final = frozenset(range(3, 16))
BOTH: Final = frozenset({"std", "pro"})
PRO: Final = frozenset({"pro"})
NONE: Final[frozenset[str]] = frozenset()


@dataclass(frozen=True)
class ModelRow:
    """One model on one endpoint."""

    model_name: str
    modes: frozenset[str] = BOTH
    durations: frozenset[int] = FIVE_OR_TEN
    #: modes in which ``image_tail`` (an end frame) is accepted
    end_frame_modes: frozenset[str] = NONE
    #: durations with an end frame (None: every duration of the model)
    end_frame_durations: frozenset[int] | None = None
    #: modes in which the motion brush (``static_mask``/``dynamic_masks``) is accepted, 5 s only
    mask_modes: frozenset[str] = NONE
    #: modes in which ``camera_control`` is accepted, 5 s only
    camera_modes: frozenset[str] = NONE
    #: camera types accepted (``simple`` and the four named moves, or ``simple`` alone)
    camera_types: frozenset[str] = frozenset()
    #: ``cfg_scale`` is honoured (kling-v1.x); other models ignore it
    cfg_scale: bool = False
    #: modes in which ``sound: on`` is accepted
    sound_modes: frozenset[str] = NONE
    #: most shots of a multi-shot request; 0 when multi-shot is not supported
    max_shots: int = 0
    #: the source of a ``video-extend`` may come from this model
    extendable: bool = False
    #: ``video-extend`` of this model takes ``negative_prompt`` and honours ``cfg_scale``
    #: (otherwise a negative prompt is refused and ``cfg_scale`` ignored)
    extend_with_guidance: bool = True


CAMERA_TYPES: Final = frozenset(
    {"simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward"}
)

_T2V = (
    ModelRow("kling-v1", camera_modes=frozenset({"std"}), camera_types=CAMERA_TYPES,
             cfg_scale=True, extendable=True, extend_with_guidance=False),
    ModelRow("kling-v1-6", cfg_scale=True, extendable=True),
    ModelRow("kling-v2-master"),
    ModelRow("kling-v2-1-master"),
    ModelRow("kling-v2-5-turbo"),
    ModelRow("kling-v2-6", sound_modes=PRO),
    ModelRow("kling-v3", durations=THREE_TO_FIFTEEN, sound_modes=BOTH, max_shots=6),
)  # fmt: skip

_I2V = (
    ModelRow("kling-v1", end_frame_modes=BOTH, end_frame_durations=frozenset({5}),
             mask_modes=BOTH, cfg_scale=True, extendable=True, extend_with_guidance=False),
    ModelRow("kling-v1-5", end_frame_modes=PRO, mask_modes=PRO, camera_modes=PRO,
             camera_types=frozenset({"simple"}), cfg_scale=True, extendable=True),
    ModelRow("kling-v1-6", end_frame_modes=PRO, cfg_scale=True, extendable=True),
    ModelRow("kling-v2-master"),
    ModelRow("kling-v2-1", end_frame_modes=PRO),
    ModelRow("kling-v2-1-master"),
    ModelRow("kling-v2-5-turbo", end_frame_modes=PRO),
    ModelRow("kling-v2-6", end_frame_modes=PRO, sound_modes=PRO),
    ModelRow("kling-v3", durations=THREE_TO_FIFTEEN, end_frame_modes=BOTH, sound_modes=BOTH,
             max_shots=6),
)  # fmt: skip

_MULTI = (ModelRow("kling-v1-6", cfg_scale=True),)

TABLE: Final[dict[str, dict[str, ModelRow]]] = {
    TEXT2VIDEO: {row.model_name: row for row in _T2V},
    IMAGE2VIDEO: {row.model_name: row for row in _I2V},
    MULTI_IMAGE2VIDEO: {row.model_name: row for row in _MULTI},
}

DEFAULT_MODEL: Final = {
    TEXT2VIDEO: "kling-v1",
    IMAGE2VIDEO: "kling-v1",
    MULTI_IMAGE2VIDEO: "kling-v1-6",
}


def model_row(endpoint: str, model_name: str) -> ModelRow:
    """The row of ``model_name`` on ``endpoint``; ``OmniError(1203)`` when it does not serve it."""
    rows = TABLE[endpoint]
    row = rows.get(model_name)
    if row is None:
        raise OmniError(
            1203,
            f"model_name: {_shown(model_name, 60)} is not available on {endpoint}; "
            f"supported: {', '.join(rows)}",
        )
    return row


def source_row(model_name: str) -> ModelRow | None:
    """The row that decides whether a video of ``model_name`` can be extended."""
    for endpoint in (TEXT2VIDEO, IMAGE2VIDEO):
        row = TABLE[endpoint].get(model_name)
        if row is not None and row.extendable:
            return row
    return None
