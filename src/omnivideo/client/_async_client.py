"""The asynchronous client: the twin of :mod:`omnivideo.client._client`, awaiting instead."""

from __future__ import annotations

import builtins
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from omnivideo.client import download as _download
from omnivideo.client._base import (
    DEFAULT_TIMEOUT,
    BaseClient,
    Call,
    content_type_of,
    map_network_errors,
    media_input,
)
from omnivideo.client._client import (
    Generation,
    TaskRef,
    request_fields,
    task_id_of,
)
from omnivideo.client.errors import (
    NotFoundError,
    OmniVideoError,
    RateLimitError,
    ServerError,
    TaskFailed,
    WaitTimeout,
)
from omnivideo.client.wait import (
    DEFAULT_INTERVAL_S,
    DEFAULT_MAX_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    Poller,
    is_news,
)
from omnivideo.contract.task import TaskStatus, TaskView

if TYPE_CHECKING:
    from omnivideo.client._client import ElementArg, ImageArg, ShotArg, VideoArg
    from omnivideo.contract.request import OmniRequest
    from omnivideo.contract.values import AspectRatio, Mode, OnOff

__all__ = ["AsyncClient", "AsyncEndpointVideos", "AsyncVideos"]

OnUpdate = Callable[[TaskView], Any]


class AsyncVideos:
    """``client.videos`` of :class:`AsyncClient`; same methods as :class:`Videos`, awaited."""

    endpoint: str = "omni-video"

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        prompt: str | None = None,
        *,
        model_name: str | None = None,
        mode: Mode | None = None,
        aspect_ratio: AspectRatio | None = None,
        duration: int | None = None,
        image_list: Sequence[ImageArg] | None = None,
        element_list: Sequence[ElementArg] | None = None,
        video_list: Sequence[VideoArg] | None = None,
        multi_shot: bool | None = None,
        shot_type: str | None = None,
        multi_prompt: Sequence[ShotArg] | None = None,
        sound: OnOff | None = None,
        watermark: bool | None = None,
        callback_url: str | None = None,
        external_task_id: str | None = None,
        request: OmniRequest | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> TaskView:
        """Create a task; see :meth:`Videos.create`."""
        c = self._client
        fields = request_fields(
            prompt=prompt,
            model_name=model_name,
            mode=mode,
            aspect_ratio=aspect_ratio,
            duration=duration,
            image_list=image_list,
            element_list=element_list,
            video_list=video_list,
            multi_shot=multi_shot,
            shot_type=shot_type,
            multi_prompt=multi_prompt,
            sound=sound,
            watermark=watermark,
            callback_url=callback_url,
            external_task_id=external_task_id,
        )
        req = c.prepare(request, fields)
        return await self._create(c.create_call(req, extra_headers, extra_body))

    async def _create(self, call: Call) -> TaskView:
        c = self._client
        attempt = 0
        while True:
            try:
                created: TaskView = await c.send(call)
                return created
            except OmniVideoError as exc:
                if not c.should_look_up(call, exc, attempt):
                    raise c.unconfirmed(exc, call) from exc.__cause__
                found = await self._look_up(call, exc)
                if found is not None:
                    return found
                attempt += 1
                if attempt > c.max_retries:
                    raise c.unconfirmed(exc, call) from exc.__cause__
                await c.sleep(c.backoff(attempt - 1, exc))

    async def _look_up(self, call: Call, original: OmniVideoError) -> TaskView | None:
        try:
            return await self.get(call.external_task_id or "")
        except NotFoundError:
            return None
        except OmniVideoError as exc:
            raise self._client.unconfirmed(original, call) from exc

    async def get(
        self, task: TaskRef, *, extra_headers: Mapping[str, str] | None = None
    ) -> TaskView:
        """A task by ``task_id`` or, on Kling-style providers, by ``external_task_id``."""
        call = self._client.get_call(task_id_of(task), extra_headers, self.endpoint)
        view: TaskView = await self._client.send(call)
        return view

    def _get_call(self, task_id: str) -> Call:
        return self._client.get_call(task_id, None, self.endpoint)

    async def list(self, *, page: int = 1, page_size: int = 30) -> list[TaskView]:
        """A page of the account's tasks, newest first (not offered by useapi)."""
        call = self._client.list_call(page, page_size, self.endpoint)
        tasks: list[TaskView] = await self._client.send(call)
        return tasks

    async def cancel(self, task: TaskRef) -> TaskView:
        """Cancel a task (omnivideo only)."""
        view: TaskView = await self._client.send(self._client.cancel_call(task_id_of(task)))
        return view

    async def watch(
        self,
        task: TaskRef,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        interval: float = DEFAULT_INTERVAL_S,
        max_interval: float = DEFAULT_MAX_INTERVAL_S,
    ) -> AsyncIterator[TaskView]:
        """``async for task in client.videos.watch(id)``: each change, ending with the final
        state; :class:`WaitTimeout` after ``timeout`` seconds."""
        task_id = task_id_of(task)
        poller = Poller(timeout, interval, max_interval, clock=self._client.clock)
        seen: TaskView | None = None
        while True:
            error: OmniVideoError | None = None
            try:
                # Retries inside one poll stop at the wait's own deadline too.
                get = self._get_call(task_id)
                call = replace(get, deadline=poller.deadline)
                view = await self._client.send(call)
            except (ServerError, RateLimitError) as exc:
                error = exc
            else:
                if is_news(seen, view):
                    seen = view
                    yield view
                if view.status.is_final:
                    return
            delay = poller.next_sleep()
            if delay is None:
                raise WaitTimeout(task_id, seen, timeout) from error
            await self._client.sleep(delay)

    async def wait(
        self,
        task: TaskRef,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        on_update: OnUpdate | None = None,
        interval: float = DEFAULT_INTERVAL_S,
        max_interval: float = DEFAULT_MAX_INTERVAL_S,
    ) -> TaskView:
        """Poll until the task succeeds; see :meth:`Videos.wait`. ``on_update`` may be async."""
        final: TaskView | None = None
        async for view in self.watch(
            task, timeout=timeout, interval=interval, max_interval=max_interval
        ):
            if on_update is not None:
                result = on_update(view)
                if inspect.isawaitable(result):
                    await result
            final = view
        assert final is not None
        if final.status is TaskStatus.FAILED:
            raise TaskFailed(final)
        return final

    async def download(self, task: TaskRef, path: str | Path | None = None) -> builtins.list[Path]:
        """Save a finished task's videos; see :meth:`Videos.download`."""
        if isinstance(task, TaskView) and (task.videos or task.audios):
            view = task
        else:
            view = await self.get(task_id_of(task))
        c = self._client
        return [
            await _download.adownload_file(
                c.http, video.url, target, max_retries=c.max_retries, sleep=c.sleep
            )
            for video, target in _download.plan(view, path)
        ]

    async def create_and_wait(
        self,
        prompt: str | None = None,
        *,
        download_to: str | Path | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        on_update: OnUpdate | None = None,
        interval: float = DEFAULT_INTERVAL_S,
        max_interval: float = DEFAULT_MAX_INTERVAL_S,
        **create: Any,
    ) -> Generation:
        """``create`` + ``wait`` (+ ``download`` when ``download_to`` is given)."""
        task = await self.create(prompt, **create)
        final = await self.wait(
            task,
            timeout=timeout,
            on_update=on_update,
            interval=interval,
            max_interval=max_interval,
        )
        files = await self.download(final, download_to) if download_to is not None else []
        return Generation(final, tuple(files))


class AsyncEndpointVideos(AsyncVideos):
    """One of Kling's classic video endpoints on :class:`AsyncClient`; see
    :class:`~omnivideo.client.EndpointVideos`."""

    def __init__(self, client: AsyncClient, endpoint: str) -> None:
        super().__init__(client)
        self.endpoint = endpoint

    async def create(
        self,
        prompt: str | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> TaskView:
        """Create a task from the endpoint's wire fields; checked before sending."""
        c = self._client
        body = c.prepare_endpoint(self.endpoint, {"prompt": prompt, **fields})
        return await self._create(c.endpoint_create_call(self.endpoint, body, extra_headers))


class AsyncKling3Videos(AsyncVideos):
    """``client.kling3`` of :class:`AsyncClient`; same methods as :class:`Kling3Videos`,
    awaited."""

    async def create(  # type: ignore[override]
        self,
        product: str,
        model: str,
        *,
        contents: Sequence[Mapping[str, Any]] | None = None,
        prompt: str | None = None,
        settings: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> TaskView:
        """Create a task on ``/{product}/{model}``; see :meth:`Kling3Videos.create`."""
        c = self._client
        body = c.kling3_body(contents, prompt, settings, options)
        return await self._create(c.kling3_create_call(product, model, body, extra_headers))

    async def _look_up(self, call: Call, original: OmniVideoError) -> TaskView | None:
        try:
            found: TaskView = await self._client.send(
                self._client.kling3_get_call(call.external_task_id or "", external=True)
            )
            return found
        except NotFoundError:
            return None
        except OmniVideoError as exc:
            raise self._client.unconfirmed(original, call) from exc

    def _get_call(self, task_id: str) -> Call:
        return self._client.kling3_get_call(task_id)

    async def get(
        self, task: TaskRef, *, extra_headers: Mapping[str, str] | None = None
    ) -> TaskView:
        """A task of any product by its id (``GET /tasks?task_ids=``)."""
        view: TaskView = await self._client.send(self._get_call(task_id_of(task)))
        return view

    async def query(
        self,
        task_ids: Sequence[str] | None = None,
        *,
        external_task_ids: Sequence[str] | None = None,
    ) -> builtins.list[TaskView]:
        """Several tasks in one ``GET /tasks``."""
        call = self._client.kling3_query_call(
            list(task_ids) if task_ids else None,
            list(external_task_ids) if external_task_ids else None,
        )
        found: builtins.list[TaskView] = await self._client.send(call)
        return found

    async def list(  # type: ignore[override]
        self,
        *,
        status: str | builtins.list[str] | None = None,
        product_type: str | builtins.list[str] | None = None,
        page_size: int = 20,
        cursor: str | None = None,
    ) -> tuple[builtins.list[TaskView], str | None]:
        """A page of tasks (``POST /tasks``) and the next page's cursor."""
        call = self._client.kling3_list_call(
            status=status, product_type=product_type, page_size=page_size, cursor=cursor
        )
        page: tuple[builtins.list[TaskView], str | None] = await self._client.send(call)
        return page


class AsyncClient(BaseClient):
    """The async twin of :class:`Client`: same arguments, same methods, awaited."""

    def __init__(
        self,
        provider: str = "omnivideo",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        email: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            provider,
            base_url=base_url,
            api_key=api_key,
            access_key=access_key,
            secret_key=secret_key,
            email=email,
            max_retries=max_retries,
            headers=headers,
        )
        self.http = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=True)
        self.videos = AsyncVideos(self)
        self.text2video = AsyncEndpointVideos(self, "text2video")
        self.image2video = AsyncEndpointVideos(self, "image2video")
        self.multi_image2video = AsyncEndpointVideos(self, "multi-image2video")
        self.video_extend = AsyncEndpointVideos(self, "video-extend")
        #: Kling's audio endpoints: ``create(prompt=..., duration=5)``, ``create(video_id=...)``
        self.text_to_audio = AsyncEndpointVideos(self, "text-to-audio")
        self.video_to_audio = AsyncEndpointVideos(self, "video-to-audio")
        self.kling3 = AsyncKling3Videos(self)
        self.sleep: Callable[[float], Awaitable[None]] = anyio.sleep
        self.clock: Callable[[], float] = time.monotonic

    async def send(self, call: Call) -> Any:
        """Send ``call`` with retries; see :meth:`Client.send`."""
        attempt, refreshed = 0, False
        while True:
            try:
                with map_network_errors():
                    args = self.request_args(call)
                    if (left := self.time_left(call, self.clock())) is not None:
                        args["timeout"] = max(left, 0.001)
                    request = self.http.build_request(**args)
                    response = await self.http.send(request)
                return self.answer(call, response)
            except OmniVideoError as exc:
                if self.should_refresh(exc, refreshed):
                    refreshed = True
                    self.credentials.refresh()
                    continue
                delay = self.capped_delay(call, self.retry_delay(call, exc, attempt), self.clock())
                if delay is None:
                    raise
                attempt += 1
                await self.sleep(delay)

    async def upload(self, path: str | Path) -> str:
        """Upload a local file as an asset (useapi, omnivideo); returns its URL."""
        file = Path(path).expanduser()
        data = await anyio.Path(file).read_bytes()
        result: str = await self.send(self.upload_call(data, content_type_of(file)))
        return result

    async def media(self, value: str | Path) -> str:
        """An input for ``image_url``/``video_url``; see :meth:`Client.media`."""
        text = str(value)
        if self.provider.wire == "useapi" and Path(text).expanduser().is_file():
            return await self.upload(text)
        return media_input(value)

    async def check_auth(self) -> None:
        """Raise :class:`AuthenticationError` unless the credentials are accepted."""
        await self.send(self.probe_call())

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
