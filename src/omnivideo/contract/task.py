"""The task as every face sees it: status, result videos, timestamps in milliseconds."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from omnivideo.contract.output import DEFAULT_DURATION_S, FPS


class TaskStatus(enum.StrEnum):
    """The lifecycle of a task; the values are Kling's wire words (note `succeed`)."""

    SUBMITTED = "submitted"
    PROCESSING = "processing"
    SUCCEED = "succeed"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.SUCCEED, TaskStatus.FAILED)


@dataclass(frozen=True)
class VideoResult:
    """One generated video."""

    #: globally unique video id
    id: str
    #: signed URL of the MP4
    url: str
    #: length in seconds, as Kling writes it ("5.0")
    duration: str
    #: signed URL of the watermarked copy, when one was asked for
    watermark_url: str | None = None
    width: int | None = None
    height: int | None = None
    #: signed URL of the sound alone (an M4A), where the video has sound and it was asked for
    audio_url: str | None = None


@dataclass(frozen=True)
class AudioResult:
    """One generated sound track (Kling's audio endpoints), as MP3 and WAV."""

    id: str
    url_mp3: str
    url_wav: str
    #: length in seconds, as Kling writes it ("5.0")
    duration_mp3: str = ""
    duration_wav: str = ""


@dataclass(frozen=True)
class PackHold:
    """The resource pack a pre-paid account's task was paid from, and how much (milli-units),
    until the task's real cost settles it."""

    pack_id: str
    milli: int


@dataclass(frozen=True)
class Task:
    """A task as stored, in provider-neutral form. Faces render it into their dialect."""

    #: 18-digit numeric string
    task_id: str
    account_id: str
    status: TaskStatus
    #: the request as the official API spells it
    request: dict[str, Any]
    created_at: int
    updated_at: int
    status_msg: str = ""
    external_task_id: str | None = None
    videos: tuple[VideoResult, ...] = ()
    #: Kling units, as a string ("4")
    final_unit_deduction: str = "0"
    #: 0.0-1.0, reported by the engine
    progress: float = 0.0
    #: business code a failed task failed with (1301, 5000, ...)
    error_code: int | None = None
    callback_url: str | None = None
    #: a shorter numeric id (below 2**53) for faces whose clients parse ids as numbers
    number: int = 0
    #: the useapi account (email) the task runs under, if any
    channel: str | None = None
    #: the Kling endpoint that created it (``omni-video``, ``text2video``, ...)
    endpoint: str = "omni-video"
    #: the TaskSpec planned at submit, as stored (see :func:`omnivideo.contract.spec.load`):
    #: all a worker reads of the task
    spec: dict[str, Any] | None = None
    # What the faces remember of a task beyond its request (the store keeps these together
    # in one JSON column); workers write only ``engine_state``, and ``info``/``audios`` as the
    # task finishes.
    #: the face that created it (``kling``, ``cometapi``, ``useapi``, ``openai``)
    face: str = "kling"
    #: the form of its callbacks where not Kling's (``useapi``, ``kling3``)
    callback_format: str | None = None
    #: useapi's ``replyRef``, echoed in its callbacks
    reply_ref: str | None = None
    #: a price fixed at submit (Kling units), instead of the per-second table
    fixed_units: str | None = None
    #: facts ``task_info`` shows besides the ids (``parent_video``; the relay's upstream)
    info: dict[str, Any] = field(default_factory=dict)
    #: what an OpenAI-face client asked for (``seconds``, ``size``, …), answered back as asked
    openai: dict[str, Any] = field(default_factory=dict)
    #: the resource pack that paid for it at submit
    pack: PackHold | None = None
    #: what the engine saved during an interrupted render, by video (``"0"``, ``"1"``, …)
    engine_state: dict[str, Any] = field(default_factory=dict)
    #: the audio endpoints' tracks
    audios: tuple[AudioResult, ...] = ()

    @property
    def watermark_enabled(self) -> bool:
        return bool((self.request.get("watermark_info") or {}).get("enabled"))

    @property
    def seconds(self) -> float:
        """The video's length as planned at submit (its spec's frames at its rate); a task
        stored before specs existed: its request's duration."""
        if self.spec and self.spec.get("frame_count"):
            return float(self.spec["frame_count"]) / float(self.spec.get("fps") or FPS)
        return float(self.request.get("duration") or DEFAULT_DURATION_S)


@dataclass(frozen=True)
class TaskView:
    """A task as read back from any provider's wire format (what the SDK works with)."""

    task_id: str
    status: TaskStatus
    status_msg: str = ""
    external_task_id: str | None = None
    videos: tuple[VideoResult, ...] = ()
    final_unit_deduction: str | None = None
    created_at: int | None = None
    updated_at: int | None = None
    #: 0.0-1.0 where the provider reports it
    progress: float | None = None
    #: Kling business code of a failure, where the provider reports one
    error_code: int | None = None
    #: the provider's own status word or number, for display
    provider_status: str = ""
    #: further facts of `task_info` (an omnivideo relay shows `upstream`, `upstream_task_id`)
    info: dict[str, Any] = field(default_factory=dict)
    #: the sound tracks of Kling's audio endpoints (text-to-audio, video-to-audio)
    audios: tuple[AudioResult, ...] = ()
