"""The engine interface: one blocking ``render`` method, capabilities as class attributes.

An engine never sees HTTP, a dialect or the store. The worker hands it a :class:`RenderJob`
whose inputs are already local files and whose numbers (size, frames) are already decided,
and a :class:`RunContext` through which it reports progress and learns of cancellation.

Engines are found through the ``omnivideo.engines`` entry-point group, so a third-party
package registers one the same way the built-in ``preview`` engine does.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Literal

from omnivideo.contract.errors import OmniError
from omnivideo.contract.spec import Camera, ShotPlan, TaskSpec

ENTRY_POINT_GROUP = "omnivideo.engines"


class Cancelled(Exception):
    """The task was cancelled; raised by :meth:`RunContext.report`."""


class Interrupted(Cancelled):
    """The server is stopping: the render ends now and the task resumes at the next start.

    Engines need not tell it from :class:`Cancelled`: both mean "stop at once".
    """


@dataclass(frozen=True)
class Element:
    """An element from the element library, resolved to local image files."""

    element_id: int
    name: str
    frontal_image: Path
    refer_images: tuple[Path, ...] = ()


@dataclass(frozen=True)
class VideoSource:
    """The request's video, downloaded and probed."""

    path: Path
    refer_type: Literal["base", "feature"]
    keep_original_sound: bool
    duration_s: float
    width: int
    height: int
    fps: float
    has_audio: bool


@dataclass(frozen=True)
class Reference:
    """One ``<<<kind_N>>>`` in the prompt, mapped to what it points at (None when missing)."""

    kind: Literal["image", "element", "video"]
    #: 1-based, as written in the prompt
    index: int
    #: the image file (image), the element, or None for a video or a missing entry
    image: Path | None = None
    element: Element | None = None


@dataclass(frozen=True)
class MovingMask:
    """One group of Kling's motion brush: the masked part of the first frame moves along
    ``trajectory`` (pixels of the input image, origin at its bottom-left, in order)."""

    mask: Path
    trajectory: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class MotionBrush:
    """Kling's motion brush (image2video): parts that move, and a part held still."""

    moving: tuple[MovingMask, ...] = ()
    static_mask: Path | None = None


@dataclass(frozen=True)
class RenderJob:
    """A task's spec with its inputs fetched to local files: everything an engine needs.

    The numbers (size, frames, shots) are the spec's, decided at submit, and read through it;
    the job adds where the inputs lie on this machine and which of the spec's ``count`` videos
    this render makes.
    """

    task_id: str
    spec: TaskSpec
    #: where the engine writes its files
    work_dir: Path = field(default_factory=lambda: Path("."))
    #: which of the spec's ``count`` videos this is (0-based): its seed is the spec's plus this
    index: int = 0
    #: references in the order the prompt names them
    references: tuple[Reference, ...] = ()
    first_frame: Path | None = None
    end_frame: Path | None = None
    #: image_list entries without a type, in list order
    reference_images: tuple[Path, ...] = ()
    elements: tuple[Element, ...] = ()
    video: VideoSource | None = None
    #: every image_list entry's local file, in list order (frames included)
    image_files: tuple[Path, ...] = ()
    #: Kling's motion brush (image2video): masked parts that move or hold
    motion_brush: MotionBrush | None = None

    @classmethod
    def of(cls, task_id: str, work_dir: Path, **fields: Any) -> RenderJob:
        """A job from keyword fields, the job's own (local files) and the spec's (numbers);
        the shots default to one shot of the whole video. For engine tests and tools that
        render without a task."""
        own = {k: fields.pop(k) for k in list(fields) if k in cls.__dataclass_fields__}
        fields.setdefault("model", "kling-video-o1")
        fields.setdefault("mode", "std")
        if not fields.get("shots"):
            fields["shots"] = (
                ShotPlan(prompt=fields.get("prompt", ""), frames=fields["frame_count"]),
            )
        return cls(task_id=task_id, spec=TaskSpec(**fields), work_dir=work_dir, **own)

    # The spec's numbers, as every engine reads them.
    @property
    def model(self) -> str:
        return self.spec.model

    @property
    def mode(self) -> Literal["std", "pro"]:
        return self.spec.mode

    @property
    def width(self) -> int:
        return self.spec.width

    @property
    def height(self) -> int:
        return self.spec.height

    @property
    def fps(self) -> int:
        return self.spec.fps

    @property
    def frame_count(self) -> int:
        return self.spec.frame_count

    @property
    def duration_s(self) -> float:
        return self.spec.duration_s

    @property
    def seed(self) -> int:
        return self.spec.seed + self.index

    @property
    def prompt(self) -> str:
        return self.spec.prompt

    @property
    def shots(self) -> tuple[ShotPlan, ...]:
        """The shots in order, each at least one frame, adding up to ``frame_count``."""
        return self.spec.shots

    @property
    def sound(self) -> bool:
        return self.spec.sound

    @property
    def watermark(self) -> bool:
        return self.spec.watermark

    @property
    def endpoint(self) -> str:
        """The Kling endpoint the task came from (omni-video, text2video, image2video, …)."""
        return self.spec.endpoint

    @property
    def negative_prompt(self) -> str | None:
        return self.spec.negative_prompt

    @property
    def cfg_scale(self) -> float | None:
        """Kling's ``cfg_scale`` (0-1): how closely to follow the prompt; None: the engine's."""
        return self.spec.cfg_scale

    @property
    def camera(self) -> Camera | None:
        return self.spec.camera

    @property
    def character_orientation(self) -> Literal["image", "video"] | None:
        """Motion control: the character (first reference image) follows ``video``'s motion,
        facing as in the image or as in the video."""
        return self.spec.character_orientation

    @property
    def request(self) -> dict[str, Any]:
        """The body as its endpoint received it, for engines that forward it (relay)."""
        return self.spec.request

    @property
    def api_route(self) -> str | None:
        """A 3.x API task's route (``omni-video/kling-3.0-omni``), for engines that forward it."""
        return self.spec.api_route


@dataclass(frozen=True)
class RenderedVideo:
    path: Path
    duration_s: float
    width: int
    height: int
    watermarked_path: Path | None = None
    #: facts to show in the task's `task_info` (e.g. the relay's upstream and its task id)
    info: dict[str, Any] = field(default_factory=dict)
    #: units the render cost where the engine knows better than the price table (upstream's)
    units: str | None = None
    #: the audio endpoints' sound track alone, as WAV and MP3 (``path`` is the video with it,
    #: or the WAV for text-to-audio, which makes no video)
    track_wav: Path | None = None
    track_mp3: Path | None = None


class RunContext:
    """Progress, cancellation and saved state for one render.

    Thread-safe: the worker cancels from outside. ``state`` is what the engine saved with
    :meth:`save_state` during an earlier, interrupted run of the same task (empty at first): an
    engine that hands work to something outside (the relay's upstream task) saves its handle
    there, so a restart resumes that work instead of starting it twice.
    """

    def __init__(
        self,
        on_progress: Callable[[float, str], None] | None = None,
        *,
        state: dict[str, Any] | None = None,
        on_save: Callable[[dict[str, Any]], None] | None = None,
        parent: RunContext | None = None,
    ) -> None:
        self._on_progress = on_progress
        self._cancelled = threading.Event()
        self._interrupted = False
        #: a part of a larger render (one of `count` videos) stops when the whole does
        self._parent = parent
        self.state: dict[str, Any] = dict(state or {})
        self._on_save = on_save

    def save_state(self, state: dict[str, Any]) -> None:
        """Persist ``state`` (JSON-serialisable) with the task before going on."""
        self.state = dict(state)
        if self._on_save is not None:
            self._on_save(self.state)

    def cancel(self, *, interrupt: bool = False) -> None:
        """Stop the render at its next report; ``interrupt`` when the server is stopping."""
        self._interrupted = interrupt
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set() or (self._parent is not None and self._parent.cancelled)

    def check(self) -> None:
        """Raise :class:`Interrupted` or :class:`Cancelled` once the render must stop."""
        if self._parent is not None:
            self._parent.check()
        if self._cancelled.is_set():
            raise Interrupted() if self._interrupted else Cancelled()

    def report(self, fraction: float, note: str = "") -> None:
        """Report progress (0..1); raises :class:`Cancelled` once the task was cancelled."""
        self.check()
        if self._on_progress is not None:
            self._on_progress(min(max(fraction, 0.0), 1.0), note)


#: the capabilities an engine declares as class attributes, which its descriptor carries
CAPABILITIES: tuple[str, ...] = (
    "name",
    "models",
    "max_duration_s",
    "supports_sound",
    "supports_video_input",
    "supports_cancel",
    "honours",
    "endpoints",
)


class EngineDescriptor:
    """The light half of an engine, built in every process (API replicas too).

    It carries the engine's name and capabilities and checks specs at submit, from the engine's
    options and, for model engines, the model's *configuration* only: building one never loads
    weights or imports torch. :meth:`renderer` builds the heavy half, which only processes that
    render tasks do.
    """

    def __init__(self, engine: type[Engine], options: dict[str, object] | None = None) -> None:
        self.engine = engine
        self.options = dict(options or {})
        self.name: str = engine.name
        self.models: frozenset[str] = engine.models
        self.max_duration_s: float = engine.max_duration_s
        self.supports_sound: bool = engine.supports_sound
        self.supports_video_input: bool = engine.supports_video_input
        self.supports_cancel: bool = engine.supports_cancel
        self.honours: frozenset[str] = engine.honours
        self.endpoints: frozenset[str] | None = engine.endpoints

    def check(self, spec: TaskSpec) -> None:
        """Refuse at submit what this engine cannot render (raise ``OmniError(1201)``).

        The spec is planned (size, frames, shots, inputs) but its inputs are not stored yet.
        """

    def renderer(self) -> Engine:
        """The engine that renders (weights loaded, warm): built once per rendering process."""
        return self.engine(self.options)

    def describe(self) -> dict[str, object]:
        """What the capabilities endpoint shows of this engine."""
        return {"engine": self.name}


class _Built(EngineDescriptor):
    """The descriptor of an engine already built in this process (tests, benchmarks): it checks
    with the engine's own ``check`` and renders with that very engine."""

    def __init__(self, built: Engine) -> None:
        super().__init__(type(built), built.options)
        self.built = built

    def check(self, spec: TaskSpec) -> None:
        self.built.check(spec)

    def renderer(self) -> Engine:
        return self.built


class Engine:
    """Base class of engines (the renderer). Subclasses set the capabilities and implement
    :meth:`render`; engines whose checks need more than the class attributes give a
    :attr:`descriptor` class of their own.

    A rendering process builds one engine per route as ``EngineClass(options)``, where
    ``options`` are the route's settings (for example the model path of ``wan``); every process
    builds the light :class:`EngineDescriptor` with :meth:`describe`.
    """

    name: ClassVar[str] = ""
    #: model names this engine serves
    models: ClassVar[frozenset[str]] = frozenset(
        {
            "kling-video-o1",
            "kling-v3-omni",
            "kling-3.0",
            "kling-3.0-turbo",
            "kling-3.0-omni",
            "kling-o1",
        }
    )
    #: longest output in seconds
    max_duration_s: ClassVar[float] = 15.0
    supports_sound: ClassVar[bool] = True
    supports_video_input: ClassVar[bool] = True
    supports_cancel: ClassVar[bool] = True
    #: request fields beyond Omni's that the engine honours (``camera``, ``negative_prompt``,
    #: ``cfg_scale``, ``motion_brush``); the others are refused at submit
    honours: ClassVar[frozenset[str]] = frozenset()
    #: Kling endpoints the engine serves (None: all of them)
    endpoints: ClassVar[frozenset[str] | None] = None
    #: the light half's class (see :class:`EngineDescriptor`)
    descriptor: ClassVar[type[EngineDescriptor]] = EngineDescriptor

    def __init__(self, options: dict[str, object] | None = None) -> None:
        self.options = dict(options or {})

    @classmethod
    def describe(cls, options: dict[str, object] | None = None) -> EngineDescriptor:
        """The light half of this engine for ``options`` (no weights loaded)."""
        return cls.descriptor(cls, options)

    def check(self, spec: TaskSpec) -> None:
        """A built engine checks as its descriptor does (engines whose descriptor reads a
        model's configuration check against what they loaded instead)."""
        self.describe(self.options).check(spec)

    def render(self, job: RenderJob, ctx: RunContext) -> RenderedVideo:
        raise NotImplementedError

    def close(self) -> None:
        """Release models, files or connections."""


def built(engine: Engine) -> EngineDescriptor:
    """The descriptor of an engine already built in this process."""
    return _Built(engine)


def available_engines() -> dict[str, type[Engine]]:
    """Engine classes registered in the ``omnivideo.engines`` entry-point group."""
    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_engine_class(name: str) -> type[Engine]:
    """The engine named ``name``: an installed entry point (``preview``, ``wan``, ``relay``), or
    ``package.module:Class`` for an engine of one's own that is importable but not packaged."""
    if ":" in name:
        return _import_engine_class(name)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return _checked(name, ep.load())
    known = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    raise OmniError(
        5000,
        f"unknown engine {name!r}; installed engines: {', '.join(known)} "
        "(or give package.module:Class)",
    )


def _import_engine_class(name: str) -> type[Engine]:
    module_name, _, attr = name.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise OmniError(5000, f"engine {name!r} cannot be imported: {exc}") from exc
    return _checked(name, found)


def _checked(name: str, found: object) -> type[Engine]:
    if not (isinstance(found, type) and issubclass(found, Engine)):
        raise OmniError(5000, f"engine {name!r} does not subclass omnivideo Engine")
    return found
