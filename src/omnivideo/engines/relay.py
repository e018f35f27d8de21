"""The relay engine: omnivideo as a durable gateway to hosted Kling providers, and to servers
that speak OpenAI's ``/v1/videos`` (``openai`` upstreams, :mod:`.relay_openai`).

A task is sent to the first upstream that takes it, in the upstream's own dialect (through the
SDK, :mod:`omnivideo.client`), polled until it ends, and its MP4 is downloaded into omnivideo's
storage, so results outlive the provider's 30 days and its hotlink protection.

    for each upstream, in the order given:
        wait for a free slot on it (the per-upstream concurrency limit: queue, don't provoke 1303)
        create with external_task_id "ov-<task_id>", after saving that choice with the task
        connection error, 5xx, "at capacity", bad credentials  -> next upstream
        1301 (content policy), 1201 (invalid request)          -> the task fails with its message
    poll with growing intervals; a 429 / 1302 / 1303 while polling means wait, not fail
    download the result; task_info shows the upstream, its task id and its units

Restarts: the engine saves ``{upstream, external_task_id}`` before it creates and the upstream
task id right after. A task interrupted by a restart resumes polling that upstream task; where
only the external id was saved, it looks the task up by it before creating, so it never submits
one twice (useapi has no external ids: there a crash in the instant between its create and the
save could submit twice).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx

from omnivideo.client import (
    AuthenticationError,
    BillingError,
    Client,
    ContentPolicyError,
    InvalidRequestError,
    NotFoundError,
    OmniVideoError,
    RateLimitError,
    ServerError,
    TaskFailed,
    TaskStatus,
    TaskView,
    UnsupportedError,
    Videos,
    WaitTimeout,
)
from omnivideo.client.download import download_file
from omnivideo.client.providers import PROVIDERS
from omnivideo.contract.errors import OmniError
from omnivideo.contract.request import OmniRequest, parse_request
from omnivideo.contract.spec import TaskSpec
from omnivideo.engines import relay_openai
from omnivideo.engines.audio.stage import AUDIO_ENDPOINTS, VIDEO_TO_AUDIO
from omnivideo.engines.base import (
    Engine,
    EngineDescriptor,
    RenderedVideo,
    RenderJob,
    RunContext,
)
from omnivideo.media.encode import read_audio
from omnivideo.media.probe import probe_video
from omnivideo.media.soundtrack import write_mp3, write_wav

log = logging.getLogger(__name__)

OMNI_VIDEO = "omni-video"

#: longest a relayed task may take upstream
UPSTREAM_TIMEOUT_S = 6 * 3600.0
#: how long the relay keeps asking whether an unconfirmed create landed upstream
LOOKUP_WINDOW_S = 600.0


@dataclass(frozen=True)
class Upstream:
    provider: str
    base_url: str


def parse_upstreams(specs: list[str]) -> list[Upstream]:
    """``["kling=https://api-singapore.klingai.com", ...]`` -> upstreams, refusing bad ones."""
    upstreams: list[Upstream] = []
    for spec in specs:
        provider, sep, url = spec.partition("=")
        provider, url = provider.strip().lower(), url.strip().rstrip("/")
        known = provider in PROVIDERS or relay_openai.is_openai(provider)
        if not sep or not known or not url.startswith(("http://", "https://")):
            raise OmniError(
                5000,
                f"upstream {spec!r}: expected PROVIDER=URL with PROVIDER one of "
                f"{', '.join(PROVIDERS)}, openai (or openai.NAME)",
            )
        if any(u.provider == provider for u in upstreams):
            raise OmniError(5000, f"upstream {provider!r} is given twice")
        upstreams.append(Upstream(provider, url))
    if not upstreams:
        raise OmniError(5000, "the relay engine needs at least one --upstream PROVIDER=URL")
    return upstreams


class _Failover(Exception):
    """This upstream cannot take the task now; try the next one."""


class RelayDescriptor(EngineDescriptor):
    """The relay as every process knows it: its upstreams, and what it cannot forward."""

    def __init__(self, engine: type[Engine], options: dict[str, object] | None = None) -> None:
        super().__init__(engine, options)
        specs = self.options.get("upstreams") or []
        # A bad or missing upstream is a start-up error in API replicas too.
        self.upstreams = parse_upstreams(list(specs) if isinstance(specs, list) else [str(specs)])

    def check(self, spec: TaskSpec) -> None:
        uploads = any(
            u.provider in PROVIDERS and PROVIDERS[u.provider].can_upload for u in self.upstreams
        )
        if spec.endpoint == VIDEO_TO_AUDIO and spec.engine_options.get("video_id") and not uploads:
            raise OmniError(
                1201,
                "video_id: names a video of this server, which the relay's upstreams "
                f"({', '.join(u.provider for u in self.upstreams)}) cannot fetch; "
                "send its video_url instead",
            )
        if spec.elements:
            raise OmniError(
                1201,
                "element_list: the relay engine cannot forward elements of this server's library "
                "to its upstreams",
            )
        if all(relay_openai.is_openai(u.provider) for u in self.upstreams):
            # /v1/videos servers take a prompt and a first frame (and reference images).
            if spec.video is not None:
                raise OmniError(
                    1201, "video_list: this server's openai upstreams take no input video"
                )
            if spec.image("end_frame") is not None:
                raise OmniError(
                    1201, "image_list: this server's openai upstreams take no end frame"
                )

    def describe(self) -> dict[str, object]:
        return {"engine": self.name, "upstreams": [u.provider for u in self.upstreams]}


class RelayEngine(Engine):
    """Forwards tasks to hosted providers and mirrors their results."""

    name: ClassVar[str] = "relay"
    descriptor: ClassVar[type[EngineDescriptor]] = RelayDescriptor
    # The classic endpoints' bodies are forwarded whole, so the upstream honours them.
    honours: ClassVar[frozenset[str]] = frozenset(
        {"camera", "camera.roll", "negative_prompt", "cfg_scale", "motion_brush"}
    )
    # A video id names a video of this server, which no upstream knows.
    endpoints: ClassVar[frozenset[str] | None] = frozenset(
        {
            "omni-video",
            "text2video",
            "image2video",
            "multi-image2video",
            "motion-control",
            *AUDIO_ENDPOINTS,
        }
    )

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        specs = self.options.get("upstreams") or []
        self.upstreams = parse_upstreams(list(specs) if isinstance(specs, list) else [str(specs)])
        limit = int(str(self.options.get("upstream_concurrency", 5)))
        self._slots = {u.provider: threading.BoundedSemaphore(limit) for u in self.upstreams}
        self.poll_interval_s = float(str(self.options.get("poll_interval_s", 1.0)))
        self.max_poll_interval_s = float(str(self.options.get("max_poll_interval_s", 5.0)))
        transport = self.options.get("transport")
        self._openai = {
            u.provider: relay_openai.OpenAIUpstream(
                u.provider,
                u.base_url,
                self.poll_interval_s,
                self.max_poll_interval_s,
                transport if isinstance(transport, httpx.BaseTransport) else None,
            )
            for u in self.upstreams
            if relay_openai.is_openai(u.provider)
        }
        # Credentials come from each provider's environment variables (KLING_ACCESS_KEY, ...),
        # never from the end user's request; a missing one is a start-up error.
        for upstream in self.upstreams:
            if upstream.provider not in self._openai:
                self._client(upstream).close()

    def _client(self, upstream: Upstream) -> Client:
        # `transport` lets tests stand in for the network (httpx.MockTransport).
        transport = self.options.get("transport")
        try:
            return Client(
                upstream.provider,
                base_url=upstream.base_url,
                max_retries=2,
                transport=transport if isinstance(transport, httpx.BaseTransport) else None,
            )
        except OmniVideoError as exc:
            raise OmniError(5000, f"upstream {upstream.provider}: {exc.message}") from None

    # -- render ----------------------------------------------------------------------------

    def render(self, job: RenderJob, ctx: RunContext) -> RenderedVideo:
        saved = ctx.state
        order = list(self.upstreams)
        if saved.get("upstream"):
            # Resuming after a restart: that upstream may already run the task.
            order.sort(key=lambda u: u.provider != saved["upstream"])
        failures: list[str] = []
        for upstream in order:
            try:
                return self._relay(upstream, job, ctx)
            except _Failover as exc:
                log.warning(
                    "task %s: upstream %s failed over: %s", job.task_id, upstream.provider, exc
                )
                failures.append(f"{upstream.provider}: {exc}")
        raise OmniError(5001, "no upstream could take the task (" + "; ".join(failures) + ")")

    def _relay(self, upstream: Upstream, job: RenderJob, ctx: RunContext) -> RenderedVideo:
        slot = self._slots[upstream.provider]
        while not slot.acquire(timeout=0.2):
            ctx.report(0.0, f"waiting for a free slot on {upstream.provider}")
        try:
            openai_upstream = self._openai.get(upstream.provider)
            if openai_upstream is not None:
                if job.video is not None or job.end_frame is not None:
                    raise _Failover("takes no input video or end frame")
                try:
                    return openai_upstream.render(job, ctx, _sleeper(ctx))
                except relay_openai.Failover as exc:
                    raise _Failover(str(exc)) from None
            with self._client(upstream) as client:
                client.sleep = _sleeper(ctx)
                view = self._start(client, upstream, job, ctx)
                final = self._poll(client, upstream, view, ctx, self._resource(client, job))
                return self._mirror(client, upstream, final, job)
        finally:
            slot.release()

    def _start(
        self, client: Client, upstream: Upstream, job: RenderJob, ctx: RunContext
    ) -> TaskView:
        saved = ctx.state
        external_task_id = f"ov-{job.task_id}"
        if saved.get("upstream") == upstream.provider:
            if saved.get("task_id"):
                # Created before a restart: polling picks it up where it is.
                return TaskView(task_id=str(saved["task_id"]), status=TaskStatus.SUBMITTED)
            if saved.get("external_task_id") and client.provider.external_ids:
                found = self._find(client, upstream, str(saved["external_task_id"]), ctx, job)
                if found is not None:
                    return found
        ctx.save_state({"upstream": upstream.provider, "external_task_id": external_task_id})
        try:
            if job.api_route:
                # A 3.x task goes to the upstream's same 3.x route.
                product, _, model = job.api_route.partition("/")
                body = self._api_body(job, external_task_id)
                view = client.kling3._create(client.kling3_create_call(product, model, body))
            elif job.endpoint == OMNI_VIDEO:
                request = self._upstream_request(job, client, external_task_id)
                view = client.videos.create(request=request)
            else:
                body = self._endpoint_body(job, external_task_id)
                if job.endpoint == VIDEO_TO_AUDIO:
                    body = self._video_source(job, client, body)
                view = self._resource(client, job).create(**body)
        except UnsupportedError as exc:
            raise _Failover(exc.message) from None
        except (ContentPolicyError, InvalidRequestError) as exc:
            raise OmniError(exc.code or 1201, exc.message) from None
        except (AuthenticationError, BillingError, RateLimitError, ServerError) as exc:
            if getattr(exc, "maybe_created", False):
                # The upstream may run (and bill) the task: only a clear "not found" lets the
                # task move on to the next upstream.
                if not client.provider.external_ids:
                    raise OmniError(
                        5000, f"{upstream.provider} may have created the task: {exc.message}"
                    ) from None
                found = self._find(client, upstream, external_task_id, ctx, job)
                if found is not None:
                    return found
            raise _Failover(exc.message) from None
        ctx.save_state({**ctx.state, "task_id": view.task_id})
        return view

    def _find(
        self,
        client: Client,
        upstream: Upstream,
        external_task_id: str,
        ctx: RunContext,
        job: RenderJob,
    ) -> TaskView | None:
        """The upstream task created as ``external_task_id``, None when the upstream says there
        is none; while it cannot say, ask again (for up to ``LOOKUP_WINDOW_S``)."""
        deadline = time.monotonic() + LOOKUP_WINDOW_S
        delay = self.poll_interval_s
        while True:
            try:
                if job.api_route:
                    found = client.send(client.kling3_get_call(external_task_id, external=True))
                else:
                    found = self._resource(client, job).get(external_task_id)
            except NotFoundError:
                return None
            except (ServerError, RateLimitError) as exc:
                if time.monotonic() + delay > deadline:
                    raise OmniError(
                        5000,
                        f"{upstream.provider} did not say whether task {external_task_id} exists "
                        f"({exc.message}); look it up there before submitting again",
                    ) from None
                client.sleep(delay)
                delay = min(delay * 2, self.max_poll_interval_s)
            else:
                ctx.save_state({**ctx.state, "task_id": found.task_id})
                return found

    def _poll(
        self,
        client: Client,
        upstream: Upstream,
        view: TaskView,
        ctx: RunContext,
        videos: Videos,
    ) -> TaskView:
        def update(task: TaskView) -> None:
            ctx.report(
                task.progress
                if task.progress is not None
                else 0.5
                if task.status.value == "processing"
                else 0.1
            )

        try:
            return videos.wait(
                view.task_id,
                timeout=UPSTREAM_TIMEOUT_S,
                on_update=update,
                interval=self.poll_interval_s,
                max_interval=self.max_poll_interval_s,
            )
        except TaskFailed as exc:
            # The upstream ran the task and it failed: it is not retried elsewhere (it may have
            # been billed), and its own message becomes ours.
            raise OmniError(exc.code or 5000, exc.message) from None
        except WaitTimeout:
            raise OmniError(
                5002, f"{upstream.provider} did not finish task {view.task_id} in time"
            ) from None
        except OmniVideoError as exc:
            raise OmniError(exc.code or 5000, f"{upstream.provider}: {exc.message}") from None

    def _mirror(
        self, client: Client, upstream: Upstream, final: TaskView, job: RenderJob
    ) -> RenderedVideo:
        """Download the result into our storage; what the task will show comes along."""
        job.work_dir.mkdir(parents=True, exist_ok=True)
        if job.endpoint in AUDIO_ENDPOINTS:
            return self._mirror_audio(client, upstream, final, job)
        if not final.videos:
            raise OmniError(
                5000, f"{upstream.provider} finished task {final.task_id} without a video"
            )
        video = final.videos[0]
        path = download_file(client.http, video.url, job.work_dir / "relayed.mp4", max_retries=3)
        watermarked = None
        if job.watermark and video.watermark_url:
            watermarked = download_file(
                client.http, video.watermark_url, job.work_dir / "relayed-wm.mp4"
            )
        info = probe_video(path, label="upstream result")
        return RenderedVideo(
            path=path,
            duration_s=info.duration_s,
            width=info.width,
            height=info.height,
            watermarked_path=watermarked,
            info={"upstream": upstream.provider, "upstream_task_id": final.task_id},
            units=final.final_unit_deduction,
        )

    def _mirror_audio(
        self, client: Client, upstream: Upstream, final: TaskView, job: RenderJob
    ) -> RenderedVideo:
        """An audio endpoint's result: the track as WAV and MP3 (one made from the other when
        the upstream gave only one), and video-to-audio's video with it."""
        if not final.audios or not (final.audios[0].url_wav or final.audios[0].url_mp3):
            raise OmniError(
                5000, f"{upstream.provider} finished task {final.task_id} without a sound track"
            )
        track = final.audios[0]
        work = job.work_dir
        wav = mp3 = None
        if track.url_wav:
            wav = download_file(client.http, track.url_wav, work / "relayed.wav", max_retries=3)
        if track.url_mp3:
            mp3 = download_file(client.http, track.url_mp3, work / "relayed.mp3", max_retries=3)
        samples = read_audio(wav or mp3)  # type: ignore[arg-type]
        if samples is None:
            raise OmniError(5000, f"{upstream.provider}'s sound track of {final.task_id} is empty")
        wav = wav or write_wav(work / "track.wav", samples)
        mp3 = mp3 or write_mp3(work / "track.mp3", samples)
        seconds = samples.shape[1] / 48_000
        path, width, height = wav, 0, 0
        if final.videos and final.videos[0].url:
            path = download_file(
                client.http, final.videos[0].url, work / "relayed.mp4", max_retries=3
            )
            info = probe_video(path, label="upstream result")
            width, height = info.width, info.height
        return RenderedVideo(
            path=path,
            duration_s=seconds,
            width=width,
            height=height,
            track_wav=wav,
            track_mp3=mp3,
            info={"upstream": upstream.provider, "upstream_task_id": final.task_id},
            units=final.final_unit_deduction,
        )

    @staticmethod
    def _video_source(job: RenderJob, client: Client, body: dict[str, Any]) -> dict[str, Any]:
        """video-to-audio's source as the upstream can reach it: uploaded where the upstream
        takes uploads, else the client's own link; a video of this server (video_id) cannot be
        reached by Kling or CometAPI, so the next upstream is tried."""
        if job.video is not None and client.provider.can_upload:
            body.pop("video_id", None)
            body["video_url"] = client.upload(job.video.path)
        elif body.get("video_id"):
            # check() made sure some upstream takes uploads: try it.
            raise _Failover(f"{client.provider.name} cannot fetch a video of this server")
        return body

    @staticmethod
    def _resource(client: Client, job: RenderJob) -> Videos:
        """The SDK resource of the endpoint the task came in on: the upstream gets the same."""
        if job.api_route:
            return client.kling3
        if job.endpoint == OMNI_VIDEO:
            return client.videos
        resource: Videos = getattr(client, job.endpoint.replace("-", "_"))
        return resource

    @staticmethod
    def _endpoint_body(job: RenderJob, external_task_id: str) -> dict[str, Any]:
        """A classic endpoint's body as the upstream gets it: no callback of ours, our own
        external id, and our local images inline as Base64."""

        def inline(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        body: dict[str, Any] = dict(job.request)
        body.pop("callback_url", None)
        body["external_task_id"] = external_task_id
        if job.first_frame is not None:
            body["image"] = inline(job.first_frame)
        if job.end_frame is not None:
            body["image_tail"] = inline(job.end_frame)
        if job.endpoint == "multi-image2video":
            body["image_list"] = [{"image": inline(p)} for p in job.reference_images]
        return body

    @staticmethod
    def _api_body(job: RenderJob, external_task_id: str) -> dict[str, Any]:
        """A 3.x body as the upstream gets it: no callback of ours, our own external id, and
        our local media inline as Base64, item for item."""

        def inline(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        body: dict[str, Any] = dict(job.request)
        images = iter(job.image_files)
        contents = []
        for item in body.get("contents") or []:
            item = dict(item)
            if item.get("type") in ("video", "base_video", "feature_video") and job.video:
                item["url"] = inline(job.video.path)
            elif "url" in item and item.get("type") != "prompt":
                path = next(images, None)
                if path is not None:
                    item["url"] = inline(path)
            contents.append(item)
        if contents:
            body["contents"] = contents
        options = {k: v for k, v in (body.get("options") or {}).items() if k != "callback_url"}
        options["external_task_id"] = external_task_id
        body["options"] = options
        return body

    @staticmethod
    def _upstream_request(job: RenderJob, client: Client, external_task_id: str) -> OmniRequest:
        """The task's request as the upstream gets it: no callback of ours, our own external id,
        and our local inputs (which the upstream cannot reach) inline as Base64, or uploaded as
        assets where the dialect takes only URLs (useapi)."""

        def media(path: Path) -> str:
            if client.provider.wire == "useapi":
                return client.upload(path)
            return base64.b64encode(path.read_bytes()).decode()

        body: dict[str, Any] = dict(job.request)
        body.pop("callback_url", None)
        body["external_task_id"] = external_task_id
        images = [
            {**item, "image_url": media(path)}
            for item, path in zip(body.get("image_list") or [], job.image_files, strict=False)
        ]
        if images:
            body["image_list"] = images
        if body.get("video_list") and job.video is not None:
            body["video_list"] = [{**body["video_list"][0], "video_url": media(job.video.path)}]
        return parse_request(body)


def _sleeper(ctx: RunContext) -> Callable[[float], None]:
    """The SDK's sleep, cut in slices so a cancelled task stops within a fraction of a second."""

    def sleep(seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ctx.check()
            time.sleep(min(left, 0.2))

    return sleep
