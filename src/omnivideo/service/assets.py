"""Uploaded assets (useapi's `POST /assets`): raw bytes in, a signed URL usable as an input out."""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from omnivideo.contract.errors import invalid
from omnivideo.media.probe import probe_image, probe_video
from omnivideo.service.runtime import Runtime
from omnivideo.service.storage_full import storage_errors
from omnivideo.store.interfaces import now_ms
from omnivideo.store.records import AssetRecord

MB: Final = 1024 * 1024
#: Content-Type -> (kind, file suffix, byte limit), as useapi documents them (reference §3.3)
CONTENT_TYPES: Final = {
    "image/png": ("image", ".png", 10 * MB),
    "image/jpeg": ("image", ".jpg", 10 * MB),
    "video/mp4": ("video", ".mp4", 100 * MB),
    "video/quicktime": ("video", ".mov", 100 * MB),
    "audio/wav": ("audio", ".wav", 20 * MB),
    "audio/wave": ("audio", ".wav", 20 * MB),
    "audio/mpeg": ("audio", ".mp3", 20 * MB),
    "audio/mp4": ("audio", ".m4a", 20 * MB),
    "audio/flac": ("audio", ".flac", 20 * MB),
    "audio/aac": ("audio", ".aac", 20 * MB),
    "audio/ogg": ("audio", ".ogg", 20 * MB),
}


@dataclass(frozen=True)
class Asset:
    file_name: str
    kind: str
    url: str
    width: int
    height: int
    #: milliseconds, 0 for images
    duration_ms: int
    created_at: int


def upload(rt: Runtime, account_id: str, content_type: str | None, data: bytes) -> Asset:
    """Store an upload after checking its type, size and (for media) that it decodes."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in CONTENT_TYPES:
        raise invalid(
            f"Content-Type {media_type or '(none)'} is not supported. Valid values: {','.join(CONTENT_TYPES)}"
        )
    kind, suffix, limit = CONTENT_TYPES[media_type]
    if not data:
        raise invalid("the body is empty; send the file's bytes")
    if len(data) > limit:
        raise invalid(f"{kind} is {len(data) / MB:.1f} MB; at most {limit // MB} MB is allowed")
    name = secrets.token_hex(8) + suffix
    width = height = duration_ms = 0
    with tempfile.TemporaryDirectory(prefix="omnivideo-asset-") as scratch:
        path = Path(scratch) / name
        with storage_errors():
            path.write_bytes(data)
        if kind == "image":
            info = probe_image(path, label="body")
            width, height = info.width, info.height
            if min(width, height) < 300:
                raise invalid(f"image is {width}x{height} px; each side must be at least 300 px")
        elif kind == "video":
            video = probe_video(path, label="body")
            width, height, duration_ms = video.width, video.height, round(video.duration_s * 1000)
        key = f"assets/{account_id}/{name}"
        with storage_errors():
            rt.blobs.put_file(key, path)
    record = AssetRecord(key, account_id, name, kind, width, height, duration_ms, now_ms())
    rt.stores.assets.add(record)
    return _asset(rt, record)


def _asset(rt: Runtime, record: AssetRecord) -> Asset:
    return Asset(
        record.file_name,
        record.kind,
        rt.signed_url(record.key),
        record.width,
        record.height,
        record.duration_ms,
        record.created_at,
    )


def list_uploaded(rt: Runtime, account_id: str, kind: str | None = None) -> list[Asset]:
    """The account's uploads, newest first."""
    return [
        _asset(rt, r) for r in rt.stores.assets.page(account_id) if kind is None or r.kind == kind
    ]
