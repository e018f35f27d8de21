"""The relay's ``openai`` upstreams: servers that speak OpenAI's ``/v1/videos`` (OpenAI itself,
vLLM-Omni, SGLang Diffusion, FastVideo, TensorRT-LLM's ``trtllm-serve``, NVIDIA Dynamo, another
omnivideo's OpenAI face).

    --upstream openai=http://gpu-box:8091/v1          key: OPENAI_API_KEY
    --upstream openai.vllm=http://gpu-box:8091/v1     key: OPENAI_API_KEY_VLLM, else OPENAI_API_KEY

A task goes as a multipart create (the form every one of them takes): ``prompt``, ``size``,
``seconds``, the first frame as ``input_reference``. Where the upstream's ``GET /models`` says
it is one of the open servers (``owned_by`` vllm, sglang, fastvideo, …), their own fields go
along: ``width``, ``height``, ``num_frames``, ``fps``, ``negative_prompt``, ``seed`` and the
reference images as ``image_reference``, so the exact frame count is rendered. The create
carries ``Idempotency-Key: ov-<task_id>``; the relay saves that choice before it creates and
the upstream's video id right after, so a restart polls the same video, and a create whose
answer was lost is sent again with the same key (an upstream that honours keys, as omnivideo
and OpenAI do, answers the same video; one that does not may then run it twice).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from omnivideo.contract.errors import OmniError
from omnivideo.engines.base import RenderedVideo, RenderJob, RunContext
from omnivideo.media.probe import probe_video

PROVIDER: Final = "openai"
#: ``owned_by`` words of the open servers whose extra fields the relay sends
EXTENDED_OWNERS: Final = ("vllm", "sglang", "fastvideo", "trtllm", "tensorrt", "dynamo")
#: how long polling may go on without one good answer from the upstream
UNREACHABLE_FOR_S: Final = 600.0
#: how often a create whose answer was lost is sent again (same Idempotency-Key)
CREATE_TRIES: Final = 3


class Failover(Exception):
    """This upstream cannot take the task now; the relay tries the next one."""


def is_openai(provider: str) -> bool:
    return provider == PROVIDER or provider.startswith(PROVIDER + ".")


def api_key(provider: str, environ: dict[str, str] | None = None) -> str | None:
    """``OPENAI_API_KEY_<NAME>`` for ``openai.<name>``, else ``OPENAI_API_KEY`` (None: send
    no key, for open servers started without one)."""
    env = dict(os.environ) if environ is None else environ
    _, _, name = provider.partition(".")
    if name:
        own = env.get(f"OPENAI_API_KEY_{name.upper().replace('-', '_')}")
        if own:
            return own
    return env.get("OPENAI_API_KEY") or None


@dataclass
class OpenAIUpstream:
    """One ``/v1/videos`` server: create, poll, download."""

    provider: str
    base_url: str
    poll_interval_s: float = 1.0
    max_poll_interval_s: float = 5.0
    transport: httpx.BaseTransport | None = None
    #: None until asked (``GET /models``)
    extended: bool | None = None

    def _http(self) -> httpx.Client:
        key = api_key(self.provider)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(60.0, connect=10.0),
            transport=self.transport,
        )

    # -- the run ------------------------------------------------------------------------------

    def render(
        self, job: RenderJob, ctx: RunContext, sleep: Callable[[float], None]
    ) -> RenderedVideo:
        with self._http() as http:
            video_id = self._start(http, job, ctx, sleep)
            final = self._poll(http, video_id, ctx, sleep)
            return self._mirror(http, final, job)

    def _start(
        self, http: httpx.Client, job: RenderJob, ctx: RunContext, sleep: Callable[[float], None]
    ) -> str:
        saved = ctx.state
        key = f"ov-{job.task_id}"
        if saved.get("upstream") == self.provider and saved.get("task_id"):
            return str(saved["task_id"])  # created before a restart: poll it
        ctx.save_state({"upstream": self.provider, "external_task_id": key})
        fields, files = self.form(http, job)
        last = ""
        for attempt in range(CREATE_TRIES):
            try:
                answer = http.post(
                    "/videos", data=fields, files=files, headers={"Idempotency-Key": key}
                )
            except httpx.ConnectError as exc:
                raise Failover(f"cannot connect: {exc}") from None
            except httpx.TransportError as exc:
                # The create may have landed: the same key again finds it (where honoured).
                last = f"no answer to the create ({type(exc).__name__})"
                sleep(self.poll_interval_s * (attempt + 1))
                continue
            if answer.status_code == 200:
                video = _video(answer)
                ctx.save_state({**ctx.state, "task_id": video["id"]})
                return str(video["id"])
            message = _message(answer)
            if answer.status_code in (400, 404, 409, 413, 415, 422):
                raise OmniError(1201, f"{self.provider}: {message}")
            if answer.status_code in (401, 403):
                raise Failover(f"refused our credentials ({answer.status_code}: {message})")
            if answer.status_code == 429 or answer.status_code >= 500:
                last = f"{answer.status_code}: {message}"
                sleep(_retry_after(answer, self.poll_interval_s * (attempt + 1)))
                continue
            raise Failover(f"{answer.status_code}: {message}")
        raise Failover(last or "the create failed")

    def form(
        self, http: httpx.Client, job: RenderJob
    ) -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]:
        """The multipart create of ``job``: OpenAI's fields, and the open servers' own."""
        fields = {
            "prompt": job.prompt,
            "size": f"{job.width}x{job.height}",
            "seconds": str(max(1, round(job.frame_count / job.fps))),
        }
        files: list[tuple[str, tuple[str, bytes, str]]] = []
        if job.first_frame is not None:
            files.append(("input_reference", _file(job.first_frame)))
        if self.is_extended(http):
            fields.update(
                width=str(job.width),
                height=str(job.height),
                num_frames=str(job.frame_count),
                fps=str(job.fps),
                seed=str(job.seed),
            )
            if job.negative_prompt:
                fields["negative_prompt"] = job.negative_prompt
            files.extend(("image_reference", _file(p)) for p in job.reference_images)
        return fields, files

    def is_extended(self, http: httpx.Client) -> bool:
        """Whether the upstream is one of the open servers (asked once)."""
        if self.extended is None:
            try:
                answer = http.get("/models", timeout=10.0)
                models = answer.json().get("data") if answer.status_code == 200 else None
            except (httpx.HTTPError, ValueError, AttributeError):
                models = None
            owners = " ".join(
                str(m.get("owned_by", "")).lower() for m in models or [] if isinstance(m, dict)
            )
            self.extended = any(word in owners for word in EXTENDED_OWNERS)
        return self.extended

    def _poll(
        self, http: httpx.Client, video_id: str, ctx: RunContext, sleep: Callable[[float], None]
    ) -> dict[str, Any]:
        delay = self.poll_interval_s
        last_ok = time.monotonic()
        while True:
            try:
                answer = http.get(f"/videos/{video_id}")
            except httpx.TransportError as exc:
                answer = None
                problem = type(exc).__name__
            if answer is not None and answer.status_code == 200:
                video = _video(answer)
                last_ok = time.monotonic()
                status = video.get("status")
                if status == "completed":
                    return video
                if status == "failed":
                    error = video.get("error") or {}
                    raise OmniError(
                        5000, f"{self.provider}: {error.get('message') or 'the video failed'}"
                    )
                ctx.report(min(max(float(video.get("progress") or 0) / 100, 0.0), 0.99))
                wait = _poll_after(answer, delay)
            elif answer is not None and answer.status_code in (404, 410):
                raise OmniError(5000, f"{self.provider} lost video {video_id}: {_message(answer)}")
            else:
                if answer is not None:
                    problem = f"{answer.status_code}: {_message(answer)}"
                if time.monotonic() - last_ok > UNREACHABLE_FOR_S:
                    raise OmniError(
                        5001, f"{self.provider} did not answer for video {video_id} ({problem})"
                    )
                wait = _retry_after(answer, delay) if answer is not None else delay
            ctx.check()
            sleep(min(wait, self.max_poll_interval_s))
            delay = min(delay * 1.5, self.max_poll_interval_s)

    def _mirror(self, http: httpx.Client, video: dict[str, Any], job: RenderJob) -> RenderedVideo:
        job.work_dir.mkdir(parents=True, exist_ok=True)
        path = job.work_dir / "relayed.mp4"
        for attempt in range(3):
            try:
                with http.stream("GET", f"/videos/{video['id']}/content") as answer:
                    if answer.status_code != 200:
                        answer.read()
                        raise OmniError(
                            5000,
                            f"{self.provider}: the content of {video['id']} is not available "
                            f"({answer.status_code}: {_message(answer)})",
                        )
                    with path.open("wb") as out:
                        for chunk in answer.iter_bytes(1 << 20):
                            out.write(chunk)
                break
            except httpx.TransportError:
                if attempt == 2:
                    raise OmniError(
                        5000, f"{self.provider}: the download of {video['id']} kept failing"
                    ) from None
        info = probe_video(path, label="upstream result")
        return RenderedVideo(
            path=path,
            duration_s=info.duration_s,
            width=info.width,
            height=info.height,
            info={"upstream": self.provider, "upstream_task_id": str(video["id"])},
        )


def _file(path: Path) -> tuple[str, bytes, str]:
    suffix = path.suffix.lower()
    media = "image/jpeg" if suffix in (".jpg", ".jpeg") else "image/png"
    return (path.name, path.read_bytes(), media)


def _video(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise OmniError(
            5000, f"the upstream answered something that is not a video: {answer.text[:200]!r}"
        )
    return body


def _message(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200] or answer.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)
    if isinstance(body, dict) and ("detail" in body or "message" in body):
        return str(body.get("detail") or body.get("message"))
    return str(body)[:200]


def _retry_after(answer: httpx.Response | None, default: float) -> float:
    raw = answer.headers.get("retry-after") if answer is not None else None
    try:
        return max(0.0, float(raw)) if raw else default
    except ValueError:
        return default


def _poll_after(answer: httpx.Response, default: float) -> float:
    raw = answer.headers.get("openai-poll-after-ms")
    try:
        return max(0.05, int(raw) / 1000) if raw else default
    except ValueError:
        return default
