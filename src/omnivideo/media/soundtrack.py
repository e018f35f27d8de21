"""Sound tracks on their own: resample, write as WAV or MP3, and put one into an MP4.

A video's new track replaces whatever sound it had; the picture is copied packet for packet,
never re-encoded, so adding sound to a finished render costs only the audio encode.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.audio.frame import AudioFrame

from omnivideo.media.encode import AUDIO_RATE, audio_from_array

#: bit rate of the AAC track muxed into videos and of the MP3 file
AAC_BITRATE = 192_000
MP3_BITRATE = 192_000


def _stereo(samples: np.ndarray) -> np.ndarray:
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[None]
    if data.shape[0] == 1:
        data = np.concatenate([data, data])
    return np.ascontiguousarray(data[:2])


def resample(samples: np.ndarray, rate_in: int, rate_out: int = AUDIO_RATE) -> np.ndarray:
    """``samples`` (channels, n) at ``rate_in`` as stereo float32 at ``rate_out`` (swresample)."""
    data = _stereo(samples)
    if rate_in == rate_out or data.shape[1] == 0:
        return data
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate_out)
    out: list[np.ndarray] = []
    chunk = 1 << 16
    for start in range(0, data.shape[1], chunk):
        frame = AudioFrame.from_ndarray(
            np.ascontiguousarray(data[:, start : start + chunk]), format="fltp", layout="stereo"
        )
        frame.sample_rate = rate_in
        frame.pts = start
        frame.time_base = Fraction(1, rate_in)
        out.extend(f.to_ndarray() for f in resampler.resample(frame))
    out.extend(f.to_ndarray() for f in resampler.resample(None))
    joined = np.concatenate(out, axis=1).astype(np.float32, copy=False)
    # swresample may keep or add a few samples at the ends: the length is the rate's.
    want = round(data.shape[1] * rate_out / rate_in)
    if joined.shape[1] >= want:
        return joined[:, :want]
    return np.pad(joined, ((0, 0), (0, want - joined.shape[1])))


def _encode(path: Path, fmt: str, codec: str, samples: np.ndarray, rate: int, **opts: Any) -> None:
    with av.open(str(path), "w", format=fmt) as container:
        stream: Any = container.add_stream(codec, rate=rate, layout="stereo")
        for key, value in opts.items():
            setattr(stream, key, value)
        for frame in audio_from_array(_stereo(samples), rate):
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_wav(path: Path, samples: np.ndarray, rate: int = AUDIO_RATE) -> Path:
    """A 16-bit PCM stereo WAV: exactly the samples given."""
    _encode(path, "wav", "pcm_s16le", samples, rate)
    return path


def write_mp3(path: Path, samples: np.ndarray, rate: int = AUDIO_RATE) -> Path:
    """A stereo MP3 (LAME)."""
    _encode(path, "mp3", "libmp3lame", samples, rate, bit_rate=MP3_BITRATE)
    return path


def replace_audio(video: Path, samples: np.ndarray, out: Path, rate: int = AUDIO_RATE) -> Path:
    """``video``'s picture (copied, not re-encoded) with ``samples`` as its only sound (AAC)."""
    audio = audio_from_array(_stereo(samples), rate)
    pending: AudioFrame | None = next(audio, None)
    with (
        av.open(str(video)) as source,
        av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as target,
    ):
        picture = source.streams.video[0]
        copied: Any = target.add_stream_from_template(picture)
        sound: Any = target.add_stream("aac", rate=rate, layout="stereo")
        sound.bit_rate = AAC_BITRATE

        def mux_audio(until_s: float | None) -> None:
            nonlocal pending
            while pending is not None and (until_s is None or (pending.pts or 0) / rate <= until_s):
                for packet in sound.encode(pending):
                    target.mux(packet)
                pending = next(audio, None)

        for packet in source.demux(picture):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            # Audio a little ahead of the picture, so the muxer interleaves without buffering.
            at = float(packet.pts * packet.time_base) if packet.pts is not None else None
            mux_audio(None if at is None else at + 0.5)
            packet.stream = copied
            target.mux(packet)
        mux_audio(None)
        for packet in sound.encode(None):
            target.mux(packet)
    return out
