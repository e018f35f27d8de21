"""Kling's 3.x API ("model in the path", docs/kling-3x.md): wire dicts ⇄ the contract.

A create body is ``{contents: [...], settings: {...}, options: {...}}`` sent to
``/{product}/{model}``. :func:`parse_create` maps it onto the one :class:`OmniRequest` every
engine renders (first_frame / last_frame -> first and end frame, refer_image -> reference
images, element -> elements, base_video / feature_video -> the video, ``settings.audio`` ->
sound or the input's kept sound, a ``shot 1, 2s, …; shot 2, 3s, …`` prompt -> the shot plan of
``multi_prompt``). The rules themselves live in :mod:`omnivideo.contract.rules`; their
messages name the Omni field, and :meth:`Parsed.explain` renames it to the 3.x field the
client sent (``duration: …`` -> ``settings.duration: …``, ``image_list[1].image_url: …`` ->
``contents[2].url: …``).

The answers (the 3.x task object: ``id``, ``status`` ``succeeded`` where the classic API
says ``succeed``, ``outputs[]``, ``billing[]``) are written by :mod:`.kling3_answers` and
re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from omnivideo.contract.capabilities import MODELS_3X, capability
from omnivideo.contract.errors import OmniError, invalid
from omnivideo.contract.output import RESOLUTIONS
from omnivideo.contract.request import OmniRequest, _shown, parse_request
from omnivideo.dialects.kling3_answers import (
    IMAGE_TO_VIDEO,
    MOTION_CONTROL,
    OMNI_VIDEO,
    PRODUCT_OF,
    PRODUCT_TYPES,
    STATUS_OF_WORD,
    STATUS_WORDS,
    TEXT_TO_VIDEO,
    envelope,
    parse_task,
    product_type,
    render_created,
    render_task,
)

#: the models each product serves (its path's last segment)
ROUTES: Final[dict[str, tuple[str, ...]]] = {
    # S2 lists kling-3.0-omni under text-to-video too; accepting it costs nothing.
    TEXT_TO_VIDEO: ("kling-3.0", "kling-3.0-turbo", "kling-3.0-omni"),
    IMAGE_TO_VIDEO: ("kling-3.0", "kling-3.0-turbo"),
    OMNI_VIDEO: ("kling-3.0-omni", "kling-o1"),
    MOTION_CONTROL: ("kling-3.0",),
}
#: where a product's tasks are found on the classic face (and what its view shows)
CLASSIC_ENDPOINT: Final = {
    TEXT_TO_VIDEO: "text2video",
    IMAGE_TO_VIDEO: "image2video",
    OMNI_VIDEO: "omni-video",
    MOTION_CONTROL: "motion-control",
}

#: contents item types each product takes
ITEM_TYPES: Final[dict[str, tuple[str, ...]]] = {
    TEXT_TO_VIDEO: ("prompt", "element"),
    IMAGE_TO_VIDEO: ("prompt", "first_frame", "last_frame", "element"),
    OMNI_VIDEO: (
        "prompt",
        "first_frame",
        "last_frame",
        "element",
        "refer_image",
        "feature_video",
        "base_video",
    ),
    MOTION_CONTROL: ("prompt", "image", "video", "element"),
}
ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1")
AUDIO: Final = ("native", "original", "off")
ORIENTATIONS: Final = ("image", "video")
MIN_DURATION_S: Final = 3
MAX_DURATION_S: Final = 15
#: motion control: the motion video's length, by ``character_orientation``
MOTION_SECONDS: Final = {"image": (3.0, 10.0), "video": (3.0, 30.0)}
#: a feature (reference) video may last up to 15 s
FEATURE_SECONDS: Final = (3.0, 15.0)
#: what the prompt of a motion-control task reads when the client sent none
MOTION_PROMPT: Final = "motion control: the character moves as in the video"


@dataclass(frozen=True)
class Parsed:
    """A 3.x create body on the contract, and how to name its fields in messages."""

    product: str
    model: str
    request: OmniRequest
    resolution: str
    audio: str
    character_orientation: Literal["image", "video"] | None = None
    #: Omni field path -> the 3.x path it came from
    paths: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return CLASSIC_ENDPOINT[self.product]

    @property
    def route(self) -> str:
        return f"{self.product}/{self.model}"

    @property
    def short_side(self) -> int:
        return RESOLUTIONS[self.resolution]

    @property
    def video_seconds(self) -> tuple[float, float] | None:
        if self.character_orientation is not None:
            return MOTION_SECONDS[self.character_orientation]
        video = self.request.video_list[0] if self.request.video_list else None
        return FEATURE_SECONDS if video is not None and video.refer_type == "feature" else None

    def explain(self, error: OmniError) -> OmniError:
        """``error`` with the Omni field its message starts with renamed to the 3.x one."""
        return OmniError(error.code, rename(error.message, self.paths))


_LEAD = re.compile(r"^([a-z_]+)((?:\[\d+\])?)((?:\.[a-z_]+)?)(?=:)")


def rename(message: str, paths: dict[str, str]) -> str:
    """Rename the field path a rule message starts with (``duration: …``)."""
    match = _LEAD.match(message)
    if match is None:
        return message
    head, index, leaf = match.groups()
    rest = message[match.end() :]
    if head == "multi_prompt":
        target = paths.get("prompt", "prompt")
        if index:
            shot = int(index[1:-1]) + 1
            what = leaf[1:] if leaf else ""
            rest = f": shot {shot}{' ' + what if what and what != 'prompt' else ''}" + rest[1:]
        rest = rest.replace("duration (", "settings.duration (")
        return target + rest
    for key in (head + index + leaf, head + index, head):
        if key in paths:
            renamed = paths[key]
            if key == head + index and leaf:
                renamed += _LEAF.get(leaf, leaf)
            return renamed + rest
    return message


#: leaves of Omni list items, as the 3.x contents item spells them
_LEAF: Final = {".image_url": ".url", ".video_url": ".url", ".type": ".type"}


# -- create -----------------------------------------------------------------------------------


def _object(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{path}: must be a JSON object, got {_shown(value)}")
    return value


def _string(value: Any, path: str, allowed: tuple[str, ...] | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"{path}: must be a string, got {_shown(value)}")
    if allowed is not None and value not in allowed:
        raise invalid(f"{path}: must be one of {', '.join(allowed)}, got {_shown(value)}")
    return value


def _duration(value: Any) -> int | None:
    if value is None:
        return None
    # A JSON number, as Kling documents it (C1 refuses "5" and 5.5 too).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(
            f"settings.duration: must be a whole number of seconds as a JSON number, "
            f"got {_shown(value)}"
        )
    if isinstance(value, float) and not value.is_integer():
        raise invalid(f"settings.duration: must be a whole number of seconds, got {value}")
    seconds = int(value)
    if not MIN_DURATION_S <= seconds <= MAX_DURATION_S:
        raise invalid(
            f"settings.duration: must be between {MIN_DURATION_S} and {MAX_DURATION_S} s, "
            f"got {seconds}"
        )
    return seconds


_SHOT = re.compile(
    r"^\s*(?:shot|镜头)\s*(\d+)\s*[,，]\s*([0-9]+(?:\.[0-9]+)?)\s*(?:s|sec|秒)?\s*[,，:：]\s*(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_SHOT_START = re.compile(r"^\s*(?:shot|镜头)\s*\d+\s*[,，]", re.IGNORECASE)
# A ";" followed by "shot <n>" starts the next shot (one that then does not read right is an
# error, not words of the shot before).
_SHOT_SPLIT = re.compile(r"[;；]\s*(?=(?:shot|镜头)\s*\d+(?!\d))", re.IGNORECASE)


def parse_shots(text: str, path: str) -> list[dict[str, Any]] | None:
    """``shot 1, 2s, …; shot 2, 3s, …`` -> Omni's ``multi_prompt``; None for a plain prompt."""
    if not _SHOT_START.match(text):
        return None
    shots = []
    for n, part in enumerate(_SHOT_SPLIT.split(text.strip()), start=1):
        match = _SHOT.match(part.strip().rstrip(";；").strip())
        if match is None:
            raise invalid(
                f'{path}: shot {n} must read "shot <n>, <seconds>s, <words>", got {_shown(part)}'
            )
        number, seconds, words = match.groups()
        if "." in seconds and not float(seconds).is_integer():
            raise invalid(f"{path}: shot {n} lasts {seconds} s; shots last whole seconds")
        shots.append(
            {"index": int(number), "prompt": words.strip(), "duration": int(float(seconds))}
        )
    return shots


def parse_create(product: str, model: str, body: Any) -> Parsed:
    """The contract request of a 3.x create; bad input is ``OmniError`` naming the 3.x field.

    Unknown product or model is 1203 (their route does not exist); everything else is 1201.
    """
    if product not in ROUTES:
        raise OmniError(1202, f"the requested method is invalid: POST /{product}/{model}")
    if model not in ROUTES[product]:
        raise OmniError(
            1203,
            f"model: {product} does not serve {_shown(model, 60)}; it serves "
            f"{', '.join(ROUTES[product])}",
        )
    if not isinstance(body, dict):
        raise invalid(f"body: must be a JSON object, got {_shown(body)}")
    settings = _object(body.get("settings"), "settings")
    options = _object(body.get("options"), "options")
    paths: dict[str, str] = {
        "duration": "settings.duration",
        "sound": "settings.audio",
        "aspect_ratio": "settings.aspect_ratio",
        "mode": "settings.resolution",
        "multi_shot": "settings.multi_shot",
        "shot_type": "settings.multi_shot",
        "callback_url": "options.callback_url",
        "external_task_id": "options.external_task_id",
        "watermark_info": "options.watermark_info",
        "model_name": "model",
        "image_list": "contents",
        "element_list": "contents",
        "video_list": "contents",
    }

    # settings
    resolution = _string(settings.get("resolution"), "settings.resolution", tuple(RESOLUTIONS))
    resolution = resolution or "720p"
    cap = capability(model, "std" if resolution == "720p" else "pro")
    allowed = cap.resolutions if product != MOTION_CONTROL else frozenset({"720p", "1080p"})
    if resolution not in allowed:
        raise invalid(
            f"settings.resolution: {product}/{model} renders "
            f"{' or '.join(sorted(allowed, key=RESOLUTIONS.__getitem__))}, not {resolution}"
        )
    aspect = _string(settings.get("aspect_ratio"), "settings.aspect_ratio", ASPECT_RATIOS)
    duration = _duration(settings.get("duration"))
    audio = _string(settings.get("audio"), "settings.audio", AUDIO) or "off"
    multi_shot = settings.get("multi_shot", True)
    if multi_shot is None:
        multi_shot = True
    if not isinstance(multi_shot, bool):
        raise invalid(f"settings.multi_shot: must be true or false, got {_shown(multi_shot)}")
    orientation = None
    if product == MOTION_CONTROL:
        orientation = _string(
            settings.get("character_orientation"), "settings.character_orientation", ORIENTATIONS
        )
        if orientation is None:
            raise invalid(
                "settings.character_orientation: is required for motion-control (image or video)"
            )
    if audio == "original" and product not in (OMNI_VIDEO, MOTION_CONTROL):
        raise invalid(
            "settings.audio: original keeps the input video's sound; only omni-video and "
            "motion-control take a video"
        )

    # options
    callback = _string(options.get("callback_url"), "options.callback_url") or None
    external = _string(options.get("external_task_id"), "options.external_task_id") or None
    watermark = _object(options.get("watermark_info"), "options.watermark_info")
    enabled = watermark.get("enabled", False)
    if enabled is None:
        enabled = False
    if not isinstance(enabled, bool):
        raise invalid(
            f"options.watermark_info.enabled: must be true or false, got {_shown(enabled)}"
        )

    # contents
    raw = body.get("contents")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise invalid(f"contents: must be an array, got {_shown(raw)}")
    if product != TEXT_TO_VIDEO and not raw:
        raise invalid("contents: must be a non-empty array")
    prompt = _string(body.get("prompt"), "prompt")
    # Where a rule on the prompt points when there is none: text-to-video's own field.
    paths["prompt"] = "prompt" if product == TEXT_TO_VIDEO else "contents"
    prompt_item = False
    images: list[dict[str, Any]] = []
    elements: list[dict[str, Any]] = []
    videos: list[dict[str, Any]] = []
    kinds = ITEM_TYPES[product]
    for i, item in enumerate(raw):
        at = f"contents[{i}]"
        if not isinstance(item, dict):
            raise invalid(f"{at}: must be a JSON object, got {_shown(item)}")
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in kinds:
            raise invalid(f"{at}.type: {product} takes {', '.join(kinds)}; got {_shown(kind)}")
        if kind == "prompt":
            text = item.get("text")
            if not isinstance(text, str):
                raise invalid(f"{at}.text: must be a string, got {_shown(text)}")
            if prompt_item:
                raise invalid(f"{at}.type: only one prompt item is allowed")
            prompt_item = True
            # A top-level prompt (text-to-video) and a prompt item are read as one text.
            prompt = text if prompt is None else f"{prompt}\n{text}"
            paths["prompt"] = f"{at}.text"
            continue
        if kind == "element":
            ident = item.get("element_id", item.get("id"))
            if ident is None or (isinstance(ident, str) and not ident.strip()):
                raise invalid(f"{at}.element_id: is required")
            paths[f"element_list[{len(elements)}]"] = at
            paths[f"element_list[{len(elements)}].element_id"] = f"{at}.element_id"
            elements.append({"element_id": ident})
            continue
        url = item.get("url")
        if not isinstance(url, str) or not url.strip():
            raise invalid(f"{at}.url: is required (a URL or Base64), got {_shown(url)}")
        if kind in ("feature_video", "base_video", "video"):
            paths[f"video_list[{len(videos)}]"] = at
            paths[f"video_list[{len(videos)}].video_url"] = f"{at}.url"
            paths[f"video_list[{len(videos)}].refer_type"] = f"{at}.type"
            videos.append(
                {
                    "video_url": url,
                    "refer_type": "feature" if kind == "feature_video" else "base",
                    "keep_original_sound": "yes" if audio == "original" else "no",
                }
            )
            continue
        role = {"first_frame": "first_frame", "last_frame": "end_frame"}.get(kind)
        paths[f"image_list[{len(images)}]"] = at
        paths[f"image_list[{len(images)}].image_url"] = f"{at}.url"
        paths[f"image_list[{len(images)}].type"] = f"{at}.type"
        images.append({"image_url": url, **({"type": role} if role else {})})

    if product == IMAGE_TO_VIDEO and not any(i.get("type") == "first_frame" for i in images):
        raise invalid("contents: image-to-video needs a first_frame item")
    if product == MOTION_CONTROL:
        for kind, found in (("image", images), ("video", videos)):
            if len(found) != 1:
                raise invalid(
                    f"contents: motion-control needs exactly one {kind} item, got {len(found)}"
                )
    if product == MOTION_CONTROL and audio == "native":
        raise invalid(
            "settings.audio: motion-control keeps the video's sound (original) or makes none "
            "(off); native is not offered"
        )
    if audio == "original" and not videos:
        raise invalid("settings.audio: original keeps the input video's sound; send a video")

    fields: dict[str, Any] = {
        "model_name": model,
        "mode": "std" if resolution == "720p" else "pro",
        "aspect_ratio": aspect,
        "duration": duration,
        "image_list": images,
        "element_list": elements,
        "video_list": videos,
        "sound": "on" if audio == "native" or cap.always_sound else "off",
        "watermark_info": {"enabled": enabled},
        "callback_url": callback,
        "external_task_id": external,
    }
    if product == MOTION_CONTROL:
        # The output follows the video's length; no duration applies.
        fields["duration"] = None
        fields["sound"] = "off"
        prompt = prompt if prompt and prompt.strip() else MOTION_PROMPT
    shots = parse_shots(prompt, paths.get("prompt", "prompt")) if prompt and multi_shot else None
    if shots is not None:
        # Their seconds must add up to settings.duration (5 when not sent), as on Kling.
        fields.update(multi_shot=True, shot_type="customize", multi_prompt=shots, prompt=None)
    else:
        fields["prompt"] = prompt
    try:
        request = parse_request(fields)
    except OmniError as exc:
        raise OmniError(exc.code, rename(exc.message, paths)) from None
    return Parsed(
        product=product,
        model=model,
        request=request,
        resolution=resolution,
        audio=audio,
        character_orientation=orientation,  # type: ignore[arg-type]
        paths=paths,
    )


def is_3x_model(model: str) -> bool:
    return model in MODELS_3X


__all__ = [
    "IMAGE_TO_VIDEO",
    "MOTION_CONTROL",
    "OMNI_VIDEO",
    "PRODUCT_OF",
    "PRODUCT_TYPES",
    "ROUTES",
    "STATUS_OF_WORD",
    "STATUS_WORDS",
    "TEXT_TO_VIDEO",
    "Parsed",
    "envelope",
    "is_3x_model",
    "parse_create",
    "parse_shots",
    "parse_task",
    "product_type",
    "rename",
    "render_created",
    "render_task",
]
