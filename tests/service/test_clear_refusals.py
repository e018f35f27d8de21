"""Refusals at submit name the field, the rule and the way out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omnivideo.contract import OmniError, parse_request
from omnivideo.service import tasks
from omnivideo.service.runtime import Runtime
from tests.twin import memory_runtime


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = memory_runtime(tmp_path, allow_hosts=[])  # no private host allowed
    runtime.stores.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
    yield runtime
    runtime.stop()


def refusal(rt: Runtime, body: dict[str, object]) -> str:
    with pytest.raises(OmniError) as info:
        tasks.submit(rt, "acc", parse_request(body))
    assert info.value.code == 1201
    return info.value.message


def test_a_loopback_input_url_names_the_option_that_allows_it(rt: Runtime) -> None:
    message = refusal(
        rt, {"prompt": "p <<<image_1>>>", "image_list": [{"image_url": "http://127.0.0.1:9/a.png"}]}
    )
    assert message == (
        "image_list[0].image_url: could not fetch http://127.0.0.1:9/a.png: host 127.0.0.1 is a "
        "loopback address; to allow it, start the server with --allow-host 127.0.0.1 "
        "(or OMNIVIDEO_ALLOW_HOSTS=127.0.0.1)"
    )


def test_a_word_is_not_called_an_unreadable_image(rt: Runtime) -> None:
    message = refusal(rt, {"prompt": "p", "image_list": [{"image_url": "not a url"}]})
    assert message == (
        "image_list[0].image_url: is neither an http(s) URL nor valid Base64 data (it has spaces)"
    )
