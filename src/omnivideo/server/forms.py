"""Multipart forms read as they stream in: file parts go straight to disk, each cut off at its limit.

Starlette's form parser keeps no per-file limit and the old path read whole parts into memory
and Base64'd them, so one large upload multiplied into gigabytes of RSS. Here every file part is
written to its own file as the bytes arrive and refused the moment it passes its limit; the
caller hands the dialects a reference to the file (a signed URL of ours), never its bytes.

    part with a filename  -> a file under ``folder``, at most ``file_limit(name)`` bytes
    part without one      -> a text field, at most ``max_field_bytes``, strict UTF-8
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from omnivideo.contract.errors import OmniError, invalid
from omnivideo.service.storage_full import storage_errors

#: text fields and files a form may carry in all (useapi's biggest form has about 20)
MAX_PARTS = 100


@dataclass
class StreamedForm:
    """The text fields, and the file written for each file part (in form order)."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[tuple[str, Path]] = field(default_factory=list)


@dataclass
class _Part:
    name: str = ""
    is_file: bool = False
    size: int = 0
    text: bytearray = field(default_factory=bytearray)
    out: IO[bytes] | None = None
    path: Path | None = None


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"


class _Reader:
    def __init__(
        self, folder: Path, file_limit: Callable[[str], int], max_field_bytes: int
    ) -> None:
        self.folder = folder
        self.file_limit = file_limit
        self.max_field_bytes = max_field_bytes
        self.form = StreamedForm()
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.count = 0

    # python-multipart callbacks -------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.part = _Part()
        self.disposition = b""
        self.count += 1
        if self.count > MAX_PARTS:
            raise OmniError(1200, f"the form has more than {MAX_PARTS} parts")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.strip().lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        raw_name = options.get(b"name")
        if raw_name is None:
            raise OmniError(1200, "a form part has no name in its Content-Disposition")
        self.part.name = _text(raw_name, "a form field's name")
        if b"filename" in options:
            self.part.is_file = True
            self.part.path = self.folder / f"part{self.count}"
            self.part.out = self.part.path.open("wb")
            self.form.files.append((self.part.name, self.part.path))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        part.size += end - start
        if part.out is not None:
            limit = self.file_limit(part.name)
            if part.size > limit:
                raise invalid(f"{part.name}: the file is larger than {_size(limit)}")
            part.out.write(data[start:end])
            return
        if part.size > self.max_field_bytes:
            raise invalid(
                f"{part.name}: the field is larger than {_size(self.max_field_bytes)}; "
                "send a file as a file part, not as text"
            )
        part.text += data[start:end]

    def on_part_end(self) -> None:
        part = self.part
        if part.out is not None:
            part.out.close()
            part.out = None
        else:
            self.form.fields.append((part.name, _text(bytes(part.text), part.name)))

    def close(self) -> None:
        if self.part.out is not None:
            self.part.out.close()


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid(f"{name}: is not valid UTF-8 text") from None


async def read_multipart(
    content_type: str,
    stream: AsyncIterator[bytes],
    folder: Path,
    *,
    file_limit: Callable[[str], int],
    max_field_bytes: int,
) -> StreamedForm:
    """Parse a multipart body from ``stream``, writing file parts under ``folder``.

    Raises ``OmniError`` (1200 malformed, 1201 a part over its limit, 5000 storage full); on any
    failure the files written so far are removed.
    """
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise OmniError(1200, "request body is not a valid form: the boundary is missing")
    reader = _Reader(folder, file_limit, max_field_bytes)
    callbacks = {
        name: getattr(reader, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        with storage_errors():
            folder.mkdir(parents=True, exist_ok=True)
            async for chunk in stream:
                parser.write(chunk)
            parser.finalize()
    except FormParserError as exc:
        remove(reader.form, folder)
        raise OmniError(1200, f"request body is not a valid form: {exc}") from None
    except BaseException:
        reader.close()
        remove(reader.form, folder)
        raise
    return reader.form


def remove(form: StreamedForm, folder: Path) -> None:
    """Delete the files of ``form`` and ``folder`` itself once empty."""
    for _, path in form.files:
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty or already gone: nothing of ours left
        os.rmdir(folder)
