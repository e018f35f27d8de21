from __future__ import annotations

import pytest

from omnivideo.contract.errors import OmniError
from omnivideo.service.simulate import Simulation, parse


def test_parse_full_spec() -> None:
    sim = parse("fail=1301; msg=content blocked; delay=20s; queue=500ms")
    assert sim == Simulation(fail_code=1301, fail_msg="content blocked", delay_s=20.0, queue_s=0.5)


def test_empty_spec_simulates_nothing() -> None:
    assert parse(None) == parse("") == Simulation()


@pytest.mark.parametrize(
    "spec", ["fail=abc", "fail=1", "delay=forever", "boom=1", "queue", "delay=2h"]
)
def test_bad_specs_are_1201(spec: str) -> None:
    with pytest.raises(OmniError) as info:
        parse(spec)
    assert info.value.code == 1201
    assert "X-Omnivideo-Simulate" in info.value.message


def test_request_overrides_server_wide() -> None:
    server = parse("delay=2s; fail=1301")
    assert parse("fail=5000").merged_over(server) == Simulation(fail_code=5000, delay_s=2.0)
