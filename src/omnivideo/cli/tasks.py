"""`omnivideo tasks list | show | wait | download`: the local job log and its tasks.

A task is named by its task id, its external task id or its job number in the log (``3`` or
``#3``). Provider and base URL come from the log, so a job created by ``omnivideo generate``
resumes with ``omnivideo tasks wait ID`` alone; ``--provider`` reaches tasks the log never saw.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from omnivideo.cli.generate import (
    EXIT_OK,
    EXIT_USAGE,
    BaseUrlOpt,
    JsonOpt,
    TimeoutOpt,
    emit,
    fail,
    follow,
    make_client,
    task_json,
    want_json,
)
from omnivideo.client import (
    Client,
    InvalidRequestError,
    NotFoundError,
    OmniVideoError,
    TaskView,
    Videos,
)
from omnivideo.client.joblog import REFUSED, Job, JobLog

app = typer.Typer(
    help="Tasks in the local job log: list, show, wait for, download.", no_args_is_help=True
)

ProviderOverride = Annotated[
    str | None,
    typer.Option("--provider", "-p", help="Provider (default: the job's, else omnivideo)."),
]
IdArg = Annotated[str, typer.Argument(help="Task id, external task id, or job number.")]
JobOutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="File or directory (default: the job's own)."),
]


def _job_json(job: Job) -> dict[str, object]:
    return {
        "job": job.id,
        "provider": job.provider,
        "base_url": job.base_url,
        "task_id": job.task_id,
        "external_task_id": job.external_task_id,
        "status": job.status,
        "status_msg": job.status_msg,
        "prompt": job.prompt,
        "files": list(job.files),
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


def _open(
    ident: str, provider: str | None, base_url: str | None, as_json: bool
) -> tuple[JobLog, Job, Client]:
    """The job named ``ident`` (added to the log when only the provider knows it) and a client
    of its provider."""
    log = JobLog()
    job = log.find(ident)
    if job is None:
        client = make_client(provider or "omnivideo", base_url, as_json)
        try:
            _, task = find_task(client, ident)
        except OmniVideoError as exc:
            fail(exc, as_json)
        job = log.begin(client.provider.name, client.base_url, {}, task.external_task_id)
        log.record(job.id, task)
        found = log.get(job.id)
        assert found is not None
        return log, found, client
    if job.status == REFUSED:
        fail(
            InvalidRequestError(f"job {job.id} was refused at create ({job.status_msg}): no task"),
            as_json,
            _job_json(job),
        )
    if job.task_id is None and job.external_task_id is None:
        _unrecoverable(job, as_json)
    return log, job, make_client(provider or job.provider, base_url or job.base_url, as_json)


def find_task(client: Client, ident: str) -> tuple[Videos, TaskView]:
    """A task and the endpoint resource it lives under: omni-video first, then Kling's classic
    endpoints (a task is found only under the endpoint that created it), then the 3.x
    ``/tasks`` query (which finds any product, motion control included)."""
    resources = [client.videos]
    if client.provider.wire == "kling":
        resources += [client.text2video, client.image2video, client.multi_image2video,
                      client.video_extend, client.kling3]  # fmt: skip
    for videos in resources[:-1]:
        try:
            return videos, videos.get(ident)
        except NotFoundError:
            continue
    return resources[-1], resources[-1].get(ident)


def _unrecoverable(job: Job, as_json: bool) -> NoReturn:
    fail(
        InvalidRequestError(
            f"job {job.id} has no task id and no external task id ({job.provider} gives none): "
            "look for the task in the provider's own history"
        ),
        as_json,
    )


def _current(log: JobLog, job: Job, client: Client, as_json: bool) -> tuple[Videos, TaskView]:
    try:
        videos, task = find_task(client, job.task_id or job.external_task_id or "")
    except OmniVideoError as exc:
        fail(exc, as_json, _job_json(job))
    log.record(job.id, task)
    return videos, task


@app.command("list")
def list_jobs(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")] = 20,
    pending: Annotated[bool, typer.Option("--pending", help="Only unfinished jobs.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Jobs in the local log, newest first."""
    jobs = JobLog().list(limit, pending=pending)
    if want_json(as_json):
        typer.echo(json.dumps([_job_json(j) for j in jobs]))
        return
    table = Table("job", "task", "status", "provider", "created", "prompt", box=None)
    for j in jobs:
        created = datetime.fromtimestamp(j.created_at / 1000).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            f"#{j.id}",
            j.task_id or j.external_task_id or "-",
            j.status,
            j.provider,
            created,
            j.prompt[:50],
        )
    Console().print(table)


@app.command("show")
def show(
    ident: IdArg,
    provider: ProviderOverride = None,
    base_url: BaseUrlOpt = None,
    offline: Annotated[bool, typer.Option("--offline", help="Only what the log knows.")] = False,
    as_json: JsonOpt = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Server side: read the task from this omnivideo data directory (any account), "
            "with its task_info (a relay's upstream and upstream task id), units and callbacks.",
        ),
    ] = None,
) -> None:
    """A task as its provider reports it now (and as the log remembers it)."""
    as_json = want_json(as_json)
    if data_dir is not None:
        _show_server_side(ident, data_dir, as_json)
        return
    if offline:
        job = JobLog().find(ident)
        if job is None:
            typer.echo(f"error: no job {ident} in the log", err=True)
            raise typer.Exit(EXIT_USAGE)
        emit(_job_json(job), as_json, f"#{job.id} {job.ident} {job.status} {job.status_msg}")
        return
    log, job, client = _open(ident, provider, base_url, as_json)
    with client:
        _, task = _current(log, job, client, as_json)
    data = task_json(task, job, [], 0.0)
    data.pop("elapsed_s")
    data["files"] = list(job.files)
    urls = " ".join(v.url for v in task.videos)
    emit(data, as_json, f"#{job.id} {task.task_id} {task.status.value} {task.status_msg} {urls}")


@app.command("wait")
def wait(
    ident: IdArg,
    provider: ProviderOverride = None,
    base_url: BaseUrlOpt = None,
    output: JobOutputOpt = None,
    no_download: Annotated[
        bool, typer.Option("--no-download", help="Do not save the videos.")
    ] = False,
    timeout: TimeoutOpt = 900.0,
    as_json: JsonOpt = False,
) -> None:
    """Wait for a task (resuming a detached `generate`) and save its videos."""
    as_json = want_json(as_json)
    log, job, client = _open(ident, provider, base_url, as_json)
    with client:
        videos, task = _current(log, job, client, as_json)
        follow(
            client,
            log,
            job,
            task,
            timeout=timeout,
            output=output or job.output,
            as_json=as_json,
            download=not no_download,
            started=time.monotonic(),
            videos=videos,
        )


@app.command("download")
def download(
    ident: IdArg,
    provider: ProviderOverride = None,
    base_url: BaseUrlOpt = None,
    output: JobOutputOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Save a finished task's videos (resuming a partial download)."""
    as_json = want_json(as_json)
    log, job, client = _open(ident, provider, base_url, as_json)
    with client:
        videos, task = _current(log, job, client, as_json)
        try:
            files = videos.download(task, output or job.output)
        except OmniVideoError as exc:
            fail(exc, as_json, _job_json(job))
    log.add_files(job.id, files)
    emit(task_json(task, job, files, 0.0), as_json, "\n".join(str(f) for f in files))
    raise typer.Exit(EXIT_OK)


def _show_server_side(task_id: str, data_dir: Path, as_json: bool) -> None:
    from omnivideo.service.inspect import describe_task

    data = describe_task(f"sqlite:///{data_dir / 'omnivideo.db'}", task_id)
    if data is None:
        typer.echo(f"error: no task {task_id} in {data_dir}", err=True)
        raise typer.Exit(EXIT_USAGE)
    info = " ".join(f"{k}={v}" for k, v in data["task_info"].items())
    emit(
        data,
        as_json,
        f"{data['task_id']} {data['task_status']} {data['task_status_msg']} units={data['final_unit_deduction']} {info}".strip(),
    )
