"""Hypothesis strategies for Omni request bodies: valid, nearly valid and junk, all JSON-safe.

Reusable by any face's tests (``from tests.contract.strategies import omni_bodies``): every
body survives ``json.dumps``, so it can be sent over HTTP as well.

- :func:`plausible_bodies`: right types and shapes, values near the limits. Many break a
  cross-field rule, many are accepted; this is what reaches the deep rules.
- :func:`omni_bodies`: plausible bodies, plausible bodies with one or two fields replaced by
  anything (wrong types, huge strings, nested junk), and bodies that are not objects at all.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: anything JSON can hold, a few levels deep
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_keys = st.sampled_from(["", "a", "image_url", "type", "enabled", "0"])
junk: st.SearchStrategy[Any] = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=6,
)
#: long strings are built by repetition: generating them character by character is slow
huge_text = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["x", "9", "<<<image_1>>>", "é", "\ud800", "\x00", " "]),
    st.integers(min_value=500, max_value=5_000),
)
wild = junk | huge_text | st.sampled_from(["", "9" * 5000, "٣", "²", "true", "1.5", -1, 2**64])

_prompt = st.lists(
    st.sampled_from(
        [
            "a cat walks",
            " and ",
            "<<<image_1>>>",
            "<<<image_3>>>",
            "<<<element_1>>>",
            "<<<element_2>>>",
            "<<<video_1>>>",
            "<<<image_0>>>",
            "<<<voice_1>>>",
        ]
    ),
    min_size=1,
    max_size=4,
).map("".join)
_seconds = st.sampled_from([1, 2, 3, 5, 7, 10, 12, 15, 16, "3", "5", "10", "15", " 7 ", 0, -1])


@st.composite
def _shots(draw: st.DrawFn) -> list[dict[str, Any]]:
    durations = draw(st.lists(_seconds, min_size=0, max_size=7))
    shots = [
        {"index": i + 1, "prompt": draw(_prompt), "duration": d} for i, d in enumerate(durations)
    ]
    if shots and draw(st.integers(0, 4)) == 0:
        shots[draw(st.integers(0, len(shots) - 1))]["index"] = draw(st.integers(-1, 8))
    return shots


_images = st.lists(
    st.fixed_dictionaries(
        {"image_url": st.sampled_from(["https://example.com/a.png", "aGVsbG8="] * 3 + [" "])},
        optional={"type": st.sampled_from(["first_frame", "end_frame", ""])},
    ),
    max_size=8,
)
_videos = st.lists(
    st.fixed_dictionaries(
        {"video_url": st.sampled_from(["https://example.com/a.mp4", ""])},
        optional={
            "refer_type": st.sampled_from(["base", "feature"]),
            "keep_original_sound": st.sampled_from(["yes", "no"]),
        },
    ),
    max_size=2,
)

PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "model_name": st.sampled_from(["kling-video-o1", "kling-v3-omni"]),
    "multi_shot": st.booleans(),
    "shot_type": st.sampled_from(["customize", "intelligence"]),
    "multi_prompt": _shots(),
    "image_list": _images,
    "element_list": st.lists(
        st.fixed_dictionaries({"element_id": st.sampled_from([1, 2, "3", 4, 123])}), max_size=5
    ),
    "video_list": _videos,
    "sound": st.sampled_from(["on", "off"]),
    "mode": st.sampled_from(["std", "pro"]),
    "aspect_ratio": st.sampled_from(["16:9", "9:16", "1:1", ""]),
    "duration": _seconds,
    "watermark_info": st.fixed_dictionaries({}, optional={"enabled": st.booleans()}),
    "callback_url": st.sampled_from(["https://example.com/cb", "", "ftp://x", "http://[::1"]),
    "external_task_id": st.sampled_from(["", "job-1", "e" * 64, "e" * 65]),
    "negative_prompt": st.sampled_from(["blurry", ""]),
    "cfg_scale": st.sampled_from([0.5, 1]),
}


def plausible_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Bodies with the right types and shapes; values chosen around every limit."""
    return st.fixed_dictionaries(
        {
            "prompt": st.one_of(
                _prompt, _prompt, _prompt, st.sampled_from(["", "x" * 2500, "x" * 2501])
            )
        },
        optional=PLAUSIBLE,
    )


def omni_bodies() -> st.SearchStrategy[Any]:
    """Any body a client could send: mostly plausible, often with junk in one or two fields."""
    names = st.sampled_from([*PLAUSIBLE, "prompt", "model", "unknown_field"])
    unknown_model = st.sampled_from(["kling-v1", "KLING-V3-OMNI", "kling-video-o1 "])
    damaged = st.builds(
        lambda body, bad: {**body, **bad},
        plausible_bodies(),
        st.dictionaries(names, wild | unknown_model, min_size=1, max_size=2),
    )
    return st.one_of(plausible_bodies(), damaged, st.one_of(plausible_bodies(), damaged), junk)
