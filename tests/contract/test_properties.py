"""Any body at all: ``parse_request`` + ``check`` answer with OmniError 1201/1203 or accept it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from omnivideo.contract import (
    ElementInfo,
    OmniError,
    caption,
    check,
    effective_duration,
    find_references,
    parse_request,
    resolved_aspect_ratio,
)
from tests.fuzz import EXAMPLES

from .strategies import omni_bodies

LIBRARY = {
    1: ElementInfo(1, "image_refer", "cat"),
    2: ElementInfo(2, "video_refer", "actor"),
}


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=omni_bodies(), strict=st.booleans(), library=st.sampled_from([None, LIBRARY]))
def test_any_body_gets_a_kling_answer(body: Any, strict: bool, library: Any) -> None:
    json.dumps(body)  # the strategy promises JSON-safe bodies for HTTP tests
    try:
        req = parse_request(body)
        check(req, strict=strict, elements=library)
    except OmniError as exc:
        event(f"refused with {exc.code}: {exc.message[:45]}")
        assert exc.code in (1201, 1203)
        assert exc.message.strip()
        assert len(exc.message) < 400, exc.message
        exc.message.encode("utf-8")  # faces send it as JSON text
        return
    event("accepted")
    # Accepted: everything downstream code reads from a request must work too.
    effective_duration(req)
    resolved_aspect_ratio(req)
    caption(req.prompt)
    find_references(req.prompt)
    wire = req.to_wire()
    again = parse_request(json.loads(json.dumps(wire)))
    check(again, strict=strict, elements=library)
    assert again == req
