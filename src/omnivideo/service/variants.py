"""A result's still images: a thumbnail and a spritesheet, made once when the video is stored.

They sit next to the MP4 in the blob store under keys derived from its key, so any replica
finds them from the video's URL alone, and they are served (Range, signed URLs) like results.
A video stored before this existed, or whose images could not be made, simply has none.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Final

from omnivideo.media.frames import write_previews
from omnivideo.service.runtime import Runtime

log = logging.getLogger(__name__)

#: variant -> (file suffix, media type); "video" is the MP4 itself
IMAGES: Final = {"thumbnail": (".jpg", "image/jpeg"), "spritesheet": (".jpg", "image/jpeg")}
VARIANTS: Final = ("video", *IMAGES)


def key_of(video_key: str, variant: str) -> str:
    """The blob key of ``variant`` of the MP4 at ``video_key``."""
    if variant == "video":
        return video_key
    stem = video_key.removesuffix(".mp4")
    return f"{stem}-{variant}{IMAGES[variant][0]}"


def store(rt: Runtime, video_key: str, video: Path) -> None:
    """Make and store the images of a result; a failure is logged, never the task's."""
    try:
        with tempfile.TemporaryDirectory(prefix="omnivideo-variants-") as scratch:
            thumb = Path(scratch) / "thumbnail.jpg"
            sheet = Path(scratch) / "spritesheet.jpg"
            write_previews(video, thumb, sheet)
            rt.blobs.put_file(key_of(video_key, "thumbnail"), thumb)
            rt.blobs.put_file(key_of(video_key, "spritesheet"), sheet)
    except Exception:
        log.warning("no thumbnail or spritesheet for %s", video_key, exc_info=True)
