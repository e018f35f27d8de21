"""The synchronous client: sends and sleeps; every decision is :class:`BaseClient`'s."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

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
    # Annotations only: the request model (pydantic) is imported where a request is built
    # (BaseClient.prepare), not with the SDK.
    from omnivideo.contract.request import ElementInput, ImageInput, OmniRequest, Shot, VideoInput
    from omnivideo.contract.values import AspectRatio, Mode, OnOff

    ImageArg = ImageInput | Mapping[str, Any]
    ElementArg = ElementInput | Mapping[str, Any] | int
    VideoArg = VideoInput | Mapping[str, Any]
    ShotArg = Shot | Mapping[str, Any]

__all__ = ["Client", "EndpointVideos", "Generation", "Videos"]

TaskRef = TaskView | str


@dataclass(frozen=True)
class Generation:
    """A finished task and the files its videos were saved to."""

    task: TaskView
    files: tuple[Path, ...] = ()

    @property
    def task_id(self) -> str:
        return self.task.task_id

    @property
    def path(self) -> Path | None:
        return self.files[0] if self.files else None


def task_id_of(task: TaskRef) -> str:
    return task.task_id if isinstance(task, TaskView) else str(task)


def _plain(items: Sequence[Any] | None) -> list[Any] | None:
    if items is None:
        return None
    out = []
    for item in items:
        if hasattr(item, "model_dump"):
            item = item.model_dump(mode="json", exclude_none=True)
        elif isinstance(item, int) and not isinstance(item, bool):
            item = {"element_id": item}
        out.append(item)
    return out


def request_fields(**given: Any) -> dict[str, Any]:
    """The contract's fields from ``create``'s keyword arguments."""
    for key in ("image_list", "element_list", "video_list", "multi_prompt"):
        given[key] = _plain(given.get(key))
    watermark = given.pop("watermark", None)
    if watermark is not None:
        given["watermark_info"] = {"enabled": bool(watermark)}
    return {k: v for k, v in given.items() if v is not None}


class Videos:
    """``client.videos``: create, read, wait for and download Omni video tasks."""

    #: the Kling endpoint whose tasks this resource creates, reads and lists
    endpoint: str = "omni-video"

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
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
        """Create a task; return it as submitted.

        The request is checked against the server's rules for its model before anything is
        sent (:class:`InvalidRequestError`). Every create carries an ``external_task_id`` (one
        is made when not given): when the answer is lost or is a 5xx, the task is looked up by
        it before a second create is sent, so a task is never paid for twice.
        """
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
        return self._create(c.create_call(req, extra_headers, extra_body))

    def _create(self, call: Call) -> TaskView:
        c = self._client
        attempt = 0
        while True:
            try:
                created: TaskView = c.send(call)
                return created
            except OmniVideoError as exc:
                if not c.should_look_up(call, exc, attempt):
                    raise c.unconfirmed(exc, call) from exc.__cause__
                found = self._look_up(call, exc)
                if found is not None:
                    return found
                attempt += 1
                if attempt > c.max_retries:
                    raise c.unconfirmed(exc, call) from exc.__cause__
                c.sleep(c.backoff(attempt - 1, exc))

    def _look_up(self, call: Call, original: OmniVideoError) -> TaskView | None:
        """The task created by ``call``; None when the provider has none under its id."""
        try:
            return self.get(call.external_task_id or "")
        except NotFoundError:
            return None
        except OmniVideoError as exc:
            raise self._client.unconfirmed(original, call) from exc

    def get(self, task: TaskRef, *, extra_headers: Mapping[str, str] | None = None) -> TaskView:
        """A task by ``task_id`` or, on Kling-style providers, by ``external_task_id``."""
        call = self._client.get_call(task_id_of(task), extra_headers, self.endpoint)
        view: TaskView = self._client.send(call)
        return view

    def _get_call(self, task_id: str) -> Call:
        return self._client.get_call(task_id, None, self.endpoint)

    def list(self, *, page: int = 1, page_size: int = 30) -> list[TaskView]:
        """A page of the account's tasks, newest first (not offered by useapi)."""
        call = self._client.list_call(page, page_size, self.endpoint)
        tasks: list[TaskView] = self._client.send(call)
        return tasks

    def cancel(self, task: TaskRef) -> TaskView:
        """Cancel a task (omnivideo only): it ends ``failed`` with ``task_status_msg`` cancelled."""
        view: TaskView = self._client.send(self._client.cancel_call(task_id_of(task)))
        return view

    def watch(
        self,
        task: TaskRef,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        interval: float = DEFAULT_INTERVAL_S,
        max_interval: float = DEFAULT_MAX_INTERVAL_S,
    ) -> Iterator[TaskView]:
        """Yield the task each time it changes, ending with its final state.

        Raises :class:`WaitTimeout` (with the task id and the last state) after ``timeout``
        seconds. Passing failures of the provider (5xx, 429, no answer) do not end the watch.
        """
        task_id = task_id_of(task)
        poller = Poller(timeout, interval, max_interval, clock=self._client.clock)
        seen: TaskView | None = None
        while True:
            error: OmniVideoError | None = None
            try:
                # Retries inside one poll stop at the wait's own deadline too.
                get = self._get_call(task_id)
                call = replace(get, deadline=poller.deadline)
                view = self._client.send(call)
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
            self._client.sleep(delay)

    def wait(
        self,
        task: TaskRef,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        on_update: Callable[[TaskView], Any] | None = None,
        interval: float = DEFAULT_INTERVAL_S,
        max_interval: float = DEFAULT_MAX_INTERVAL_S,
    ) -> TaskView:
        """Poll until the task succeeds and return it; ``on_update`` sees every change.

        Raises :class:`TaskFailed` (``code``, ``task_status_msg``) when it fails and
        :class:`WaitTimeout` after ``timeout`` seconds; ``wait(exc.task_id)`` resumes.
        """
        final: TaskView | None = None
        for view in self.watch(task, timeout=timeout, interval=interval, max_interval=max_interval):
            if on_update is not None:
                on_update(view)
            final = view
        assert final is not None
        if final.status is TaskStatus.FAILED:
            raise TaskFailed(final)
        return final

    def download(self, task: TaskRef, path: str | Path | None = None) -> builtins.list[Path]:
        """Save a finished task's videos; see :func:`omnivideo.client.download.plan` for names."""
        view = (
            task
            if isinstance(task, TaskView) and (task.videos or task.audios)
            else self.get(task_id_of(task))
        )
        c = self._client
        return [
            _download.download_file(
                c.http, video.url, target, max_retries=c.max_retries, sleep=c.sleep
            )
            for video, target in _download.plan(view, path)
        ]

    def create_and_wait(
        self,
        prompt: str | None = None,
        *,
        download_to: str | Path | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        on_update: Callable[[TaskView], Any] | None = None,
        interval: float = DEFAULT_INTERVAL_S,
        max_interval: float = DEFAULT_MAX_INTERVAL_S,
        **create: Any,
    ) -> Generation:
        """``create`` + ``wait`` (+ ``download`` when ``download_to`` is given)."""
        task = self.create(prompt, **create)
        final = self.wait(
            task,
            timeout=timeout,
            on_update=on_update,
            interval=interval,
            max_interval=max_interval,
        )
        files = self.download(final, download_to) if download_to is not None else []
        return Generation(final, tuple(files))


class EndpointVideos(Videos):
    """One of Kling's classic video endpoints (``client.text2video``, ``client.image2video``,
    ``client.multi_image2video``, ``client.video_extend``): the same create, get, list, wait
    and download as ``client.videos``, with that endpoint's own fields.

    >>> client.text2video.create(prompt="A fox", model_name="kling-v1")  # doctest: +SKIP
    """

    def __init__(self, client: Client, endpoint: str) -> None:
        super().__init__(client)
        self.endpoint = endpoint

    def create(
        self,
        prompt: str | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> TaskView:
        """Create a task from the endpoint's wire fields (``model_name``, ``image``,
        ``camera_control``, ...); local image files are sent as Base64. Checked before sending
        and never created twice, as :meth:`Videos.create`."""
        c = self._client
        body = c.prepare_endpoint(self.endpoint, {"prompt": prompt, **fields})
        return self._create(c.endpoint_create_call(self.endpoint, body, extra_headers))


class Kling3Videos(Videos):
    """``client.kling3``: Kling's 3.x API, the model in the path (``/omni-video/kling-3.0-omni``,
    ``/text-to-video/kling-3.0``, …): create, get, wait, download and the ``/tasks`` queries.

    Creates are checked before sending and never made twice (an ``options.external_task_id``
    is added, and a create whose answer was lost is looked up by it), as ``client.videos``'.

    >>> client.kling3.create("omni-video", "kling-3.0-omni", contents=[  # doctest: +SKIP
    ...     {"type": "prompt", "text": "shot 1, 2s, a lake; shot 2, 3s, a city"}])
    """

    def create(  # type: ignore[override]
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
        """Create a task on ``/{product}/{model}``; media ``url`` items may be local files
        (sent as Base64)."""
        c = self._client
        body = c.kling3_body(contents, prompt, settings, options)
        return self._create(c.kling3_create_call(product, model, body, extra_headers))

    def _look_up(self, call: Call, original: OmniVideoError) -> TaskView | None:
        try:
            found: TaskView = self._client.send(
                self._client.kling3_get_call(call.external_task_id or "", external=True)
            )
            return found
        except NotFoundError:
            return None
        except OmniVideoError as exc:
            raise self._client.unconfirmed(original, call) from exc

    def _get_call(self, task_id: str) -> Call:
        return self._client.kling3_get_call(task_id)

    def get(self, task: TaskRef, *, extra_headers: Mapping[str, str] | None = None) -> TaskView:
        """A task of any product by its id (``GET /tasks?task_ids=``)."""
        view: TaskView = self._client.send(self._get_call(task_id_of(task)))
        return view

    def query(
        self,
        task_ids: Sequence[str] | None = None,
        *,
        external_task_ids: Sequence[str] | None = None,
    ) -> builtins.list[TaskView]:
        """Several tasks in one ``GET /tasks`` (ids that name no task are left out)."""
        call = self._client.kling3_query_call(
            list(task_ids) if task_ids else None,
            list(external_task_ids) if external_task_ids else None,
        )
        found: builtins.list[TaskView] = self._client.send(call)
        return found

    def list(  # type: ignore[override]
        self,
        *,
        status: str | builtins.list[str] | None = None,
        product_type: str | builtins.list[str] | None = None,
        page_size: int = 20,
        cursor: str | None = None,
    ) -> tuple[builtins.list[TaskView], str | None]:
        """A page of tasks (``POST /tasks``), newest first, and the next page's cursor."""
        call = self._client.kling3_list_call(
            status=status, product_type=product_type, page_size=page_size, cursor=cursor
        )
        page: tuple[builtins.list[TaskView], str | None] = self._client.send(call)
        return page


class Client(BaseClient):
    """A client of one provider's Omni video API.

    >>> with Client("omnivideo", api_key="ov-...") as client:  # doctest: +SKIP
    ...     done = client.videos.create_and_wait("A fox in the snow", download_to="fox.mp4")
    """

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
        transport: httpx.BaseTransport | None = None,
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
        self.http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True)
        self.videos = Videos(self)
        self.text2video = EndpointVideos(self, "text2video")
        self.image2video = EndpointVideos(self, "image2video")
        self.multi_image2video = EndpointVideos(self, "multi-image2video")
        self.video_extend = EndpointVideos(self, "video-extend")
        #: Kling's audio endpoints: ``create(prompt=..., duration=5)``, ``create(video_id=...)``
        self.text_to_audio = EndpointVideos(self, "text-to-audio")
        self.video_to_audio = EndpointVideos(self, "video-to-audio")
        self.kling3 = Kling3Videos(self)
        self.sleep: Callable[[float], None] = time.sleep
        self.clock: Callable[[], float] = time.monotonic

    def send(self, call: Call) -> Any:
        """Send ``call`` with retries; its parsed result, or the error it ended with."""
        attempt, refreshed = 0, False
        while True:
            try:
                with map_network_errors():
                    args = self.request_args(call)
                    if (left := self.time_left(call, self.clock())) is not None:
                        args["timeout"] = max(left, 0.001)
                    response = self.http.send(self.http.build_request(**args))
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
                self.sleep(delay)

    def upload(self, path: str | Path) -> str:
        """Upload a local file as an asset (useapi, omnivideo); returns its URL."""
        file = Path(path).expanduser()
        result: str = self.send(self.upload_call(file.read_bytes(), content_type_of(file)))
        return result

    def media(self, value: str | Path) -> str:
        """An input for ``image_url``/``video_url``: URLs as they are; a local file uploaded
        as an asset on useapi, sent as Base64 elsewhere."""
        text = str(value)
        if self.provider.wire == "useapi" and Path(text).expanduser().is_file():
            return self.upload(text)
        return media_input(value)

    def check_auth(self) -> None:
        """Raise :class:`AuthenticationError` unless the credentials are accepted."""
        self.send(self.probe_call())

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
