"""The body parsers: lone surrogates refused with the field's path, forms streamed to disk."""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from omnivideo.contract import OmniError
from omnivideo.server.bodies import has_escaped_surrogate, refuse_lone_surrogates
from omnivideo.server.forms import read_multipart

BOUNDARY = "b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
MB = 1024 * 1024


def refusal(value: Any) -> str:
    with pytest.raises(OmniError) as info:
        refuse_lone_surrogates(value)
    assert info.value.code == 1201
    return info.value.message


def test_a_lone_surrogate_is_refused_with_its_path() -> None:
    raw = b'{"prompt":"p","image_list":[{"image_url":"x"},{"image_url":"a\\ud800"}]}'
    assert has_escaped_surrogate(raw)
    assert refusal(json.loads(raw)) == (
        "image_list[1].image_url: is not valid Unicode text (it holds a lone surrogate)"
    )
    assert refusal({"replyRef": "\udfff"}) == (
        "replyRef: is not valid Unicode text (it holds a lone surrogate)"
    )
    assert refusal({"\ud800": 1}) == "request body: a field name is not valid Unicode text"


def test_paired_surrogates_are_one_character_and_pass() -> None:
    raw = b'{"prompt":"a cat \\ud83d\\ude00"}'
    body = json.loads(raw)
    refuse_lone_surrogates(body)
    assert body["prompt"] == "a cat \U0001f600"
    assert not has_escaped_surrogate(b'{"prompt":"\\u00e9t\\u00e9"}')


def part(name: str, data: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
    return head + data + b"\r\n"


async def chunks(*pieces: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for piece in pieces:
        for start in range(0, len(piece), size):
            yield piece[start : start + size]


def read(folder: Path, *pieces: bytes, limit: int = MB, field_limit: int = 1024) -> Any:
    return asyncio.run(
        read_multipart(
            CONTENT_TYPE,
            chunks(*pieces, f"--{BOUNDARY}--\r\n".encode()),
            folder,
            file_limit=lambda name: limit,
            max_field_bytes=field_limit,
        )
    )


def test_fields_and_files_of_a_form(tmp_path: Path) -> None:
    picture = bytes(range(256)) * 1000
    form = read(
        tmp_path / "up",
        part("prompt", "a kite in the wind é".encode()),
        part("image_1", picture, "kite.png"),
    )
    assert form.fields == [("prompt", "a kite in the wind é")]
    [(name, path)] = form.files
    assert name == "image_1" and path.read_bytes() == picture


def test_a_file_over_its_limit_is_refused_while_it_streams(tmp_path: Path) -> None:
    seen = 0

    async def endless() -> AsyncIterator[bytes]:
        # 290 MB announced, never built: the refusal must come after about the limit.
        nonlocal seen
        yield part("image_1", b"", "big.png")[:-2]
        block = b"\0" * 65536
        for _ in range(290 * 16):
            seen += len(block)
            yield block

    async def go() -> None:
        await read_multipart(
            CONTENT_TYPE,
            endless(),
            tmp_path / "up",
            file_limit=lambda name: 10 * MB,
            max_field_bytes=1024,
        )

    with pytest.raises(OmniError) as info:
        asyncio.run(go())
    assert (info.value.code, info.value.message) == (
        1201,
        "image_1: the file is larger than 10 MB",
    )
    assert seen <= 10 * MB + 65536
    assert not (tmp_path / "up").exists()  # nothing half-written is left


def test_a_text_field_over_its_limit_says_to_send_a_file(tmp_path: Path) -> None:
    with pytest.raises(OmniError) as info:
        read(tmp_path / "up", part("image_1", b"A" * 2048))
    assert info.value.message == (
        "image_1: the field is larger than 1024 bytes; send a file as a file part, not as text"
    )


def test_a_field_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OmniError) as info:
        read(tmp_path / "up", part("prompt", b"\xed\xa0\x80"))
    assert info.value.message == "prompt: is not valid UTF-8 text"


def test_a_full_disk_is_storage_full_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = Path.open

    class FullFile:
        def __init__(self, path: Path) -> None:
            self.inner = real_open(path, "wb")

        def write(self, data: bytes) -> int:
            self.inner.write(data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            self.inner.close()

    monkeypatch.setattr(Path, "open", lambda self, mode="r": FullFile(self))
    with pytest.raises(OmniError) as info:
        read(tmp_path / "up", part("image_1", b"x" * 5000, "a.png"))
    assert info.value.code == 5000
    assert info.value.message.startswith("storage is full")
    assert not (tmp_path / "up").exists()


def test_a_malformed_form_is_1200(tmp_path: Path) -> None:
    with pytest.raises(OmniError) as info:
        asyncio.run(
            read_multipart(
                "multipart/form-data",
                chunks(b"x"),
                tmp_path,
                file_limit=lambda n: MB,
                max_field_bytes=MB,
            )
        )
    assert info.value.code == 1200


def test_a_task_stored_with_a_lone_surrogate_can_still_be_read(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from omnivideo.contract import parse_request
    from omnivideo.server.app import create_app
    from omnivideo.service import tasks
    from tests.twin import memory_runtime

    runtime = memory_runtime(tmp_path, no_auth=True, simulate="queue=30m")
    runtime.stores.accounts.create_account("acc", "test", "whsec_" + "A" * 44)
    settings = runtime.settings
    # As an older server stored it, before the body parser refused such text.
    extras = tasks.SubmitExtras(reply_ref="ref-\ud800", face="useapi")
    task = tasks.submit(runtime, "acc", parse_request({"prompt": "p"}), None, extras)
    with TestClient(create_app(settings, runtime)) as client:
        r = client.get(f"/v1/kling/tasks/{task.number}")
    assert r.status_code == 200
    assert r.json()["replyRef"] == "ref-\ud800"
