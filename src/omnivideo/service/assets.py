"""Uploaded assets (useapi's `POST /assets`): raw bytes in, a signed URL usable as an input out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from omnivideo.contract.errors import invalid
from omnivideo.media.probe import probe_image, probe_video
from omnivideo.service.runtime import Runtime

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


def _folder(rt: Runtime, account_id: str) -> Path:
    return rt.storage.path_for(f"assets/{account_id}")


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
    folder = _folder(rt, account_id)
    folder.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(8) + suffix
    path = folder / name
    path.write_bytes(data)
    try:
        return _describe(rt, account_id, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _describe(rt: Runtime, account_id: str, path: Path) -> Asset:
    kind = next(k for k, suffix, _ in CONTENT_TYPES.values() if suffix == path.suffix)
    width = height = duration_ms = 0
    if kind == "image":
        info = probe_image(path, label="body")
        width, height = info.width, info.height
        if min(width, height) < 300:
            raise invalid(f"image is {width}x{height} px; each side must be at least 300 px")
    elif kind == "video":
        video = probe_video(path, label="body")
        width, height, duration_ms = video.width, video.height, round(video.duration_s * 1000)
    key = f"assets/{account_id}/{path.name}"
    url = rt.storage.signed_url(rt.settings.base_url, key, rt.settings.url_ttl_s)
    return Asset(path.name, kind, url, width, height, duration_ms, int(path.stat().st_mtime * 1000))


def list_uploaded(rt: Runtime, account_id: str, kind: str | None = None) -> list[Asset]:
    """The account's uploads, newest first."""
    folder = _folder(rt, account_id)
    if not folder.is_dir():
        return []
    paths = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    assets = [_describe(rt, account_id, p) for p in paths if p.is_file()]
    return [a for a in assets if kind is None or a.kind == kind]
