"""``omnivideo generate --route PRODUCT/MODEL``: a task on Kling's 3.x API (model in the path).

The flags ``generate`` already has fill the 3.x body: ``--image`` (reference images; motion
control's character), ``--first-frame`` / ``--end-frame``, ``--element``, ``--video`` (with
``--refer-type``; motion control's motion video), ``--duration``, ``--aspect``, ``--sound``
(``audio: native``) and ``--keep-sound`` (``audio: original``); ``--resolution`` and
``--orientation`` are the 3.x settings of their own.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn

import typer

from omnivideo.cli.generate import EXIT_OK, emit, fail, follow, task_json
from omnivideo.client import Client, OmniVideoError
from omnivideo.client._base import new_external_id
from omnivideo.client.joblog import REFUSED, JobLog
from omnivideo.dialects.kling3 import MOTION_CONTROL, ROUTES


def split_route(route: str) -> tuple[str, str]:
    product, sep, model = route.strip("/").partition("/")
    if not sep or product not in ROUTES:
        raise typer.BadParameter(
            f"{route!r}: write it as PRODUCT/MODEL, PRODUCT one of {', '.join(ROUTES)}",
            param_hint="--route",
        )
    return product, model


def body_of(product: str, flags: dict[str, Any]) -> dict[str, Any]:
    """The 3.x body of ``generate``'s flags (media still as given: files or URLs)."""
    contents: list[dict[str, Any]] = []
    if flags.get("prompt"):
        contents.append({"type": "prompt", "text": flags["prompt"]})
    motion = product == MOTION_CONTROL
    for image in flags.get("image") or []:
        contents.append({"type": "image" if motion else "refer_image", "url": image})
    if flags.get("first_frame"):
        contents.append({"type": "first_frame", "url": flags["first_frame"]})
    if flags.get("end_frame"):
        contents.append({"type": "last_frame", "url": flags["end_frame"]})
    for element in flags.get("element") or []:
        contents.append({"type": "element", "element_id": str(element)})
    if flags.get("video"):
        kind = "video" if motion else f"{flags.get('refer_type') or 'base'}_video"
        contents.append({"type": kind, "url": flags["video"]})
    audio = "original" if flags.get("keep_sound") else "native" if flags.get("sound") else None
    settings = {
        "resolution": flags.get("resolution"),
        "aspect_ratio": flags.get("aspect"),
        "duration": flags.get("duration"),
        "audio": audio,
        "character_orientation": flags.get("orientation"),
    }
    options = {
        "callback_url": flags.get("callback_url"),
        "external_task_id": flags.get("external_id") or new_external_id(),
    }
    return {
        "contents": contents,
        "settings": {k: v for k, v in settings.items() if v is not None},
        "options": {k: v for k, v in options.items() if v is not None},
    }


def run_3x(
    client: Client,
    route: str,
    flags: dict[str, Any],
    headers: dict[str, str],
    output: str | None,
    as_json: bool,
    timeout: float,
    no_wait: bool,
    started: float,
) -> NoReturn:
    """``generate`` on a 3.x route (checked, logged, created, followed)."""
    product, model = split_route(route)
    body = body_of(product, flags)
    external = body["options"]["external_task_id"]
    log = JobLog()
    job = log.begin(client.provider.name, client.base_url, body, external, output)
    try:
        task = client.kling3.create(
            product,
            model,
            contents=body["contents"],
            settings=body["settings"],
            options=body["options"],
            extra_headers=headers,
        )
    except OmniVideoError as exc:
        log.note(job.id, exc.message, status=None if exc.maybe_created else REFUSED)
        fail(exc, as_json, {"job": job.id, "external_task_id": external})
    log.record(job.id, task)
    if no_wait:
        data = task_json(task, job, [], time.monotonic() - started)
        emit(data, as_json, f"{task.task_id} {task.status.value} on {route}")
        raise typer.Exit(EXIT_OK)
    with client:
        follow(
            client, log, job, task, timeout=timeout, output=output, as_json=as_json,
            started=started, videos=client.kling3,
        )  # fmt: skip
