"""`omnivideo generate`: create a video on any provider, watch it, save the MP4.

Every create is written to the local job log (with its ``external_task_id``) before it is
sent, so ``omnivideo tasks wait`` can pick up a task whose terminal died. Exit codes:
0 ok, 1 other errors, 2 usage, 3 task failed, 4 timeout, 5 authentication or billing,
130 interrupted (the task goes on; the command to resume is printed).
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner

from omnivideo.cli import events
from omnivideo.client import (
    AuthenticationError,
    BillingError,
    Client,
    ContentPolicyError,
    InvalidRequestError,
    OmniVideoError,
    TaskFailed,
    TaskView,
    Videos,
    WaitTimeout,
)
from omnivideo.client.joblog import REFUSED, Job, JobLog
from omnivideo.client.providers import PROVIDERS

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_FAILED, EXIT_TIMEOUT, EXIT_AUTH = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130

ProviderOpt = Annotated[
    str,
    typer.Option(
        "--provider",
        "-p",
        envvar="OMNIVIDEO_PROVIDER",
        help=f"Provider: {', '.join(PROVIDERS)} (env OMNIVIDEO_PROVIDER).",
    ),
]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", help="Base URL instead of the provider's default.")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON (the default when stdout is not a terminal).")
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for the task before giving up.")
]

err = Console(stderr=True)


def want_json(flag: bool) -> bool:
    return flag or not sys.stdout.isatty()


def exit_code(exc: BaseException) -> int:
    if isinstance(exc, TaskFailed | ContentPolicyError):
        return EXIT_FAILED
    if isinstance(exc, WaitTimeout):
        return EXIT_TIMEOUT
    if isinstance(exc, AuthenticationError | BillingError):
        return EXIT_AUTH
    if isinstance(exc, InvalidRequestError):
        return EXIT_USAGE
    return EXIT_ERROR


def error_json(exc: OmniVideoError) -> dict[str, Any]:
    return {
        "type": type(exc).__name__,
        "code": exc.code,
        "message": exc.message,
        "request_id": exc.request_id,
        "task_id": exc.task_id,
        "external_task_id": exc.external_task_id,
    }


def emit(data: dict[str, Any], as_json: bool, human: str) -> None:
    if as_json:
        typer.echo(json.dumps(data))
    else:
        Console().print(human, highlight=False, soft_wrap=True)


def fail(exc: OmniVideoError, as_json: bool, data: dict[str, Any] | None = None) -> NoReturn:
    """Report ``exc`` (as JSON on stdout, or in words on stderr) and exit with its code."""
    if as_json:
        typer.echo(json.dumps({**(data or {}), "error": error_json(exc)}))
    else:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        for note in getattr(exc, "__notes__", []):
            err.print(f"  {note}", highlight=False, soft_wrap=True)
    raise typer.Exit(exit_code(exc))


def make_client(provider: str, base_url: str | None, as_json: bool) -> Client:
    try:
        return Client(provider, base_url=base_url)
    except OmniVideoError as exc:
        fail(exc, as_json)


def _audios_json(task: TaskView) -> dict[str, Any]:
    """The sound tracks of an audio endpoint's task (none: no key)."""
    if not task.audios:
        return {}
    return {
        "audios": [
            {"id": a.id, "url_mp3": a.url_mp3, "url_wav": a.url_wav,
             "duration": a.duration_wav or a.duration_mp3}
            for a in task.audios
        ]
    }  # fmt: skip


def task_json(task: TaskView, job: Job | None, files: list[Path], elapsed: float) -> dict[str, Any]:
    return {
        "job": job.id if job else None,
        "provider": job.provider if job else None,
        "task_id": task.task_id,
        "external_task_id": task.external_task_id,
        "status": task.status.value,
        "status_msg": task.status_msg,
        "videos": [{"id": v.id, "url": v.url, "duration": v.duration} for v in task.videos],
        **_audios_json(task),
        **({"task_info": dict(task.info)} if task.info else {}),
        "files": [str(Path(f).resolve()) for f in files],
        "elapsed_s": round(elapsed, 3),
    }


class StatusLine:
    """The live lines on stderr: spinner, status, elapsed time, task id, and a progress bar
    once the provider reports progress."""

    def __init__(self, status: str = "creating") -> None:
        self.spinner = Spinner("dots")
        self.bar = ProgressBar(total=100, completed=0, width=40)
        self.status = status
        self.task_id = ""
        self.progress: float | None = None
        self.started = time.monotonic()

    def update(self, task: TaskView) -> None:
        self.task_id = task.task_id
        self.progress = task.progress
        progress = f" {task.progress:.0%}" if task.progress else ""
        self.status = task.status.value + progress

    def __rich__(self) -> Group | Spinner:
        elapsed = time.monotonic() - self.started
        task = f"  task {self.task_id}" if self.task_id else ""
        self.spinner.update(text=f"{self.status}  {elapsed:5.1f} s{task}")
        if self.progress is None:
            return self.spinner
        self.bar.update(completed=round(self.progress * 100))
        return Group(self.spinner, self.bar)


def _live(line: StatusLine) -> AbstractContextManager[object]:
    if not err.is_terminal:
        return nullcontext()
    return Live(line, console=err, transient=True, refresh_per_second=8)


def follow(
    client: Client,
    log: JobLog,
    job: Job,
    task: TaskView,
    *,
    timeout: float,
    output: str | None,
    as_json: bool,
    download: bool = True,
    started: float | None = None,
    videos: Videos | None = None,
) -> NoReturn:
    """Wait for ``task``, save its videos, print the outcome and exit with its code.

    Ctrl-C detaches: the task goes on, and the command that resumes it is printed.
    """
    started = time.monotonic() if started is None else started
    omni = videos is None  # Omni tasks can be followed on the server's event stream
    videos = videos or client.videos
    stage = "wait"
    files: list[Path] = []
    try:
        # Inside the try: building the line imports rich's emoji table, long enough for a
        # Ctrl-C to land there and escape the detach message.
        line = StatusLine()
        line.update(task)

        def seen(view: TaskView) -> None:
            log.record(job.id, view)
            line.update(view)

        with _live(line):
            try:
                if omni:
                    final = events.wait(client, task, timeout=timeout, on_update=seen)
                else:  # a classic endpoint's task: no event stream there, so poll
                    final = videos.wait(task, timeout=timeout, on_update=seen)
            except TaskFailed as exc:
                fail(exc, as_json, task_json(exc.task, job, [], time.monotonic() - started))
            except WaitTimeout as exc:
                if exc.last is not None:
                    log.record(job.id, exc.last)
                exc.add_note(f"Resume with: omnivideo tasks wait {task.task_id}")
                fail(exc, as_json, {"job": job.id, "task_id": task.task_id})
            if download:
                stage = "download"
                line.status = "downloading"
                files = videos.download(final, output)
                log.add_files(job.id, files)
    except KeyboardInterrupt:
        verb = "download" if stage == "download" else "wait"
        err.print(
            f"Detached; task {task.task_id} goes on. Resume with: "
            f"omnivideo tasks {verb} {task.task_id}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except OmniVideoError as exc:
        fail(exc, as_json, {"job": job.id, "task_id": task.task_id})
    data = task_json(final, job, files, time.monotonic() - started)
    where = ", ".join(str(f) for f in files) or ", ".join(v.url for v in final.videos)
    emit(
        data, as_json, f"[green]✓[/green] {final.task_id} succeed in {data['elapsed_s']} s: {where}"
    )
    raise typer.Exit(EXIT_OK)


def _shots(shots: list[str]) -> list[dict[str, Any]]:
    out = []
    for n, text in enumerate(shots, 1):
        prompt, sep, seconds = text.rpartition(":")
        if not sep or not (seconds.strip().isascii() and seconds.strip().isdigit()):
            raise typer.BadParameter(
                f"{text!r}: write a shot as 'prompt:seconds'", param_hint="--shot"
            )
        out.append({"index": n, "prompt": prompt.strip(), "duration": int(seconds)})
    return out


def _headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, text = value.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(
                f"{value!r}: write a header as 'Name: value'", param_hint="--header"
            )
        headers[name.strip()] = text.strip()
    return headers


def generate(
    prompt: Annotated[str | None, typer.Argument(help="What the video shows.")] = None,
    image: Annotated[
        list[str] | None,
        typer.Option("--image", "-i", help="Reference image: a file or URL (repeatable)."),
    ] = None,
    first_frame: Annotated[
        str | None, typer.Option("--first-frame", help="First frame: a file or URL.")
    ] = None,
    end_frame: Annotated[
        str | None, typer.Option("--end-frame", help="End frame: a file or URL.")
    ] = None,
    element: Annotated[
        list[int] | None, typer.Option("--element", help="Element id (repeatable).")
    ] = None,
    video: Annotated[
        str | None, typer.Option("--video", help="Video to edit or take after: a file or URL.")
    ] = None,
    refer_type: Annotated[
        Literal["base", "feature"],
        typer.Option("--refer-type", help="base: edit the video; feature: take after it."),
    ] = "base",
    keep_sound: Annotated[
        bool, typer.Option("--keep-sound", help="Keep the video's original sound.")
    ] = False,
    shot: Annotated[
        list[str] | None,
        typer.Option("--shot", help="A shot as 'prompt:seconds' (repeatable; kling-v3-omni)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="kling-video-o1 (default) or kling-v3-omni.")
    ] = None,
    mode: Annotated[
        Literal["std", "pro"] | None, typer.Option("--mode", help="std (720p) or pro (1080p).")
    ] = None,
    aspect: Annotated[
        Literal["16:9", "9:16", "1:1"] | None, typer.Option("--aspect", help="16:9, 9:16 or 1:1.")
    ] = None,
    duration: Annotated[int | None, typer.Option("--duration", "-d", help="Seconds.")] = None,
    sound: Annotated[bool, typer.Option("--sound", help="Generate sound (kling-v3-omni).")] = False,
    provider: ProviderOpt = "omnivideo",
    base_url: BaseUrlOpt = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="File or directory (default: ./{task_id}_1.mp4)."),
    ] = None,
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = 900.0,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Create the task and print it; do not wait.")
    ] = False,
    callback_url: Annotated[
        str | None, typer.Option("--callback-url", help="URL to POST status changes to.")
    ] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="Your own id for the task.")
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", "-H", help="Extra request header 'Name: value' (repeatable)."),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help="Kling endpoint: omni-video, text2video, image2video, multi-image2video or "
            "video-extend (default: picked from the other options).",
        ),
    ] = None,
    negative_prompt: Annotated[
        str | None, typer.Option("--negative-prompt", help="What to avoid (classic endpoints).")
    ] = None,
    cfg_scale: Annotated[
        float | None, typer.Option("--cfg-scale", help="0-1: how closely to follow the prompt.")
    ] = None,
    camera: Annotated[
        str | None,
        typer.Option(
            "--camera",
            help="Camera move: 'zoom=5' (one of horizontal, vertical, pan, tilt, roll, zoom) "
            "or down_back, forward_up, right_turn_forward, left_turn_forward.",
        ),
    ] = None,
    video_id: Annotated[
        str | None, typer.Option("--video-id", help="Video to extend (video-extend).")
    ] = None,
    route: Annotated[
        str | None,
        typer.Option(
            "--route",
            help="Kling 3.x route PRODUCT/MODEL, e.g. omni-video/kling-3.0-omni, "
            "text-to-video/kling-3.0, motion-control/kling-3.0 (docs/kling-3x.md).",
        ),
    ] = None,
    resolution: Annotated[
        Literal["720p", "1080p", "4k"] | None,
        typer.Option("--resolution", help="3.x routes: 720p, 1080p or 4k."),
    ] = None,
    orientation: Annotated[
        Literal["image", "video"] | None,
        typer.Option(
            "--orientation", help="Motion control: the character faces as in the image or video."
        ),
    ] = None,
) -> None:
    """Generate a video and save it as MP4; prints where (JSON when piped)."""
    as_json = want_json(as_json)
    started = time.monotonic()
    shots = _shots(shot or [])
    headers = _headers(header or [])
    client = make_client(provider, base_url, as_json)
    if route is not None:
        from omnivideo.cli.kling3 import run_3x

        flags = {
            "prompt": prompt, "image": image, "first_frame": first_frame,
            "end_frame": end_frame, "element": element, "video": video,
            "refer_type": refer_type, "keep_sound": keep_sound, "sound": sound,
            "resolution": resolution, "aspect": aspect, "duration": duration,
            "orientation": orientation, "callback_url": callback_url, "external_id": external_id,
        }  # fmt: skip
        run_3x(client, route, flags, headers, output, as_json, timeout, no_wait, started)
    from omnivideo.cli.classic import OMNI_VIDEO, camera_control, pick_endpoint, run_classic

    chosen = pick_endpoint(
        endpoint,
        model=model,
        classic_only=negative_prompt is not None or cfg_scale is not None or camera is not None,
        video_id=video_id,
        frames=first_frame is not None or end_frame is not None,
        images=bool(image),
    )
    if chosen != OMNI_VIDEO:
        classic = {
            "prompt": prompt,
            "model_name": model,
            "mode": mode,
            "aspect_ratio": aspect if chosen in ("text2video", "multi-image2video") else None,
            "duration": duration,
            "negative_prompt": negative_prompt,
            "cfg_scale": cfg_scale,
            "camera_control": camera_control(camera),
            "image": first_frame,
            "image_tail": end_frame,
            "image_list": [{"image": x} for x in image or []] or None,
            "video_id": video_id,
            "sound": "on" if sound else None,
            "callback_url": callback_url,
            "external_task_id": external_id,
        }
        run_classic(client, chosen, classic, headers, output, as_json, timeout, no_wait, started)
    try:
        images = [{"image_url": client.media(x)} for x in image or []]
        if first_frame is not None:
            images.append({"image_url": client.media(first_frame), "type": "first_frame"})
        if end_frame is not None:
            images.append({"image_url": client.media(end_frame), "type": "end_frame"})
        fields: dict[str, Any] = {
            "prompt": prompt,
            "model_name": model,
            "mode": mode,
            "aspect_ratio": aspect,
            "duration": duration,
            "image_list": images or None,
            "element_list": [{"element_id": e} for e in element or []] or None,
            "sound": "on" if sound else None,
            "callback_url": callback_url,
            "external_task_id": external_id,
        }
        if video is not None:
            fields["video_list"] = [
                {
                    "video_url": client.media(video),
                    "refer_type": refer_type,
                    "keep_original_sound": "yes" if keep_sound else "no",
                }
            ]
        if shots:
            fields.update(multi_shot=True, shot_type="customize", multi_prompt=shots)
            if duration is None:
                fields["duration"] = sum(s["duration"] for s in shots)
        req = client.prepare(None, fields)
    except OmniVideoError as exc:
        fail(exc, as_json)
    log = JobLog()
    job = log.begin(
        client.provider.name, client.base_url, req.to_wire(), req.external_task_id, output
    )
    try:
        task = client.videos.create(request=req, extra_headers=headers)
    except KeyboardInterrupt:
        log.note(job.id, "interrupted while creating")
        if job.external_task_id:
            hint = f"Resume with: omnivideo tasks wait {job.external_task_id}"
        else:
            hint = f"{client.provider.name} gives no external task id: look for it in its history"
        err.print(
            f"Interrupted while creating: the task may exist. {hint}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except OmniVideoError as exc:
        if exc.maybe_created:
            log.note(job.id, f"create unconfirmed: {exc.message}")
            if job.external_task_id:
                exc.add_note(f"Resume with: omnivideo tasks wait {job.external_task_id}")
        else:
            log.note(job.id, exc.message, status=REFUSED)
        fail(exc, as_json, {"job": job.id, "external_task_id": job.external_task_id})
    log.record(job.id, task)
    if no_wait:
        data = task_json(task, job, [], time.monotonic() - started)
        emit(
            data,
            as_json,
            f"{task.task_id} {task.status.value}: omnivideo tasks wait {task.task_id}",
        )
        raise typer.Exit(EXIT_OK)
    with client:
        follow(
            client, log, job, task, timeout=timeout, output=output, as_json=as_json, started=started
        )
