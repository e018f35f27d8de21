"""`omnivideo audio`: Kling's audio endpoints from the command line.

    omnivideo audio text "rain on a tin roof" --duration 5 -o rain.mp3
    omnivideo audio video --video-id 8254… --sfx "waves" --bgm "calm piano" -o beach.mp4

Created, logged, followed and saved like ``omnivideo generate`` (same exit codes); a
text-to-audio task saves its MP3, a video-to-audio task the video with its new sound.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from omnivideo.cli.generate import (
    BaseUrlOpt,
    JsonOpt,
    ProviderOpt,
    TimeoutOpt,
    _headers,
    make_client,
    want_json,
)

app = typer.Typer(help="Sound from Kling's audio endpoints.", no_args_is_help=True)

OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="File or directory (default: ./{task_id}_1.mp3 / .mp4)."),
]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="Create the task and print it.")]
CallbackOpt = Annotated[str | None, typer.Option("--callback-url", help="URL to POST to.")]
ExternalOpt = Annotated[str | None, typer.Option("--external-id", help="Your own task id.")]
HeaderOpt = Annotated[
    list[str] | None, typer.Option("--header", "-H", help="Extra header 'Name: value'.")
]


@app.command("text")
def text(
    prompt: Annotated[str, typer.Argument(help="The sound to make (at most 200 characters).")],
    duration: Annotated[
        float, typer.Option("--duration", "-d", help="Seconds, 3.0 to 10.0 (one decimal).")
    ] = 5.0,
    output: OutputOpt = None,
    provider: ProviderOpt = "omnivideo",
    base_url: BaseUrlOpt = None,
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = 600.0,
    no_wait: NoWaitOpt = False,
    callback_url: CallbackOpt = None,
    external_id: ExternalOpt = None,
    header: HeaderOpt = None,
) -> None:
    """Text to audio: a sound effect from a prompt, saved as MP3."""
    from omnivideo.cli.classic import run_classic

    as_json = want_json(as_json)
    started = time.monotonic()
    client = make_client(provider, base_url, as_json)
    fields = {"prompt": prompt, "duration": duration, "callback_url": callback_url,
              "external_task_id": external_id}  # fmt: skip
    run_classic(client, "text-to-audio", fields, _headers(header or []), output, as_json,
                timeout, no_wait, started)  # fmt: skip


@app.command("video")
def video(
    video_id: Annotated[
        str | None, typer.Option("--video-id", help="A video generated on this provider.")
    ] = None,
    video_url: Annotated[
        str | None, typer.Option("--video-url", help="A link to an MP4/MOV of 3 to 20 s.")
    ] = None,
    sfx: Annotated[
        str | None, typer.Option("--sfx", help="Sound effects to hear (sound_effect_prompt).")
    ] = None,
    bgm: Annotated[str | None, typer.Option("--bgm", help="Background music (bgm_prompt).")] = None,
    asmr: Annotated[bool, typer.Option("--asmr", help="ASMR mode: detailed close sound.")] = False,
    output: OutputOpt = None,
    provider: ProviderOpt = "omnivideo",
    base_url: BaseUrlOpt = None,
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = 600.0,
    no_wait: NoWaitOpt = False,
    callback_url: CallbackOpt = None,
    external_id: ExternalOpt = None,
    header: HeaderOpt = None,
) -> None:
    """Video to audio: a video's new sound track; saves the video with it."""
    from omnivideo.cli.classic import run_classic

    as_json = want_json(as_json)
    started = time.monotonic()
    client = make_client(provider, base_url, as_json)
    fields = {
        "video_id": video_id,
        "video_url": video_url,
        "sound_effect_prompt": sfx,
        "bgm_prompt": bgm,
        "asmr_mode": asmr,
        "callback_url": callback_url,
        "external_task_id": external_id,
    }
    run_classic(client, "video-to-audio", fields, _headers(header or []), output, as_json,
                timeout, no_wait, started)  # fmt: skip
