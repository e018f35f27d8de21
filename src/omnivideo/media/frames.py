"""Still frames and sound out of videos (an element's picture; a 3.x task's audio output)."""

from __future__ import annotations

from pathlib import Path

import av

from omnivideo.contract.errors import invalid


def extract_middle_frame(video: Path, out_png: Path) -> Path:
    """Write the frame at the middle of ``video`` as a PNG."""
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            frames = stream.frames or 0
            target = frames // 2
            last = None
            for i, frame in enumerate(container.decode(stream)):
                last = frame
                if frames and i >= target:
                    break
    except (av.FFmpegError, IndexError) as exc:
        raise invalid(f"could not decode the reference video: {exc}") from None
    if last is None:
        raise invalid("the reference video has no frames")
    last.to_image().save(out_png)
    return out_png


def extract_audio(video: Path, out_m4a: Path) -> Path | None:
    """Copy the sound track of ``video`` into an M4A (no re-encoding); None when it has none."""
    with av.open(str(video)) as source:
        if not source.streams.audio:
            return None
        track = source.streams.audio[0]
        with av.open(str(out_m4a), "w", format="ipod") as target:
            copied = target.add_stream_from_template(track)
            for packet in source.demux(track):
                if packet.dts is None:
                    continue  # the demuxer's flush packet
                packet.stream = copied
                target.mux(packet)
    return out_m4a
