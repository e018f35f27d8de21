"""useapi.net's bodies (reference §3): flat create fields, the task document, assets, accounts."""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict

#: fields of a create that take a file in a multipart body, or a URL or Base64 text
UPLOADS = (
    *(f"image_{n}" for n in range(1, 8)),
    "frame_start",
    "frame_end",
    "video_1",
)


class UseapiOmniCreate(TypedDict):
    """``POST /v1/kling/videos/omni``: a prompt (or shots) and numbered inputs, referenced in
    the prompt as ``@image_2``, ``@element_1``, ``@video_1``."""

    #: at most 1700 characters; required unless shots are given
    prompt: NotRequired[str]
    omni_version: NotRequired[Literal["o1", "v3"]]
    mode: NotRequired[Literal["std", "pro"]]
    sound: NotRequired[Literal["on", "off"]]
    aspect_ratio: NotRequired[Literal["16:9", "9:16", "1:1", "auto"]]
    #: 3 to 15 seconds (5 when not sent)
    duration: NotRequired[int | str]
    image_1: NotRequired[str]
    image_2: NotRequired[str]
    image_3: NotRequired[str]
    image_4: NotRequired[str]
    image_5: NotRequired[str]
    image_6: NotRequired[str]
    image_7: NotRequired[str]
    frame_start: NotRequired[str]
    frame_end: NotRequired[str]
    element_1: NotRequired[str]
    element_2: NotRequired[str]
    element_3: NotRequired[str]
    element_4: NotRequired[str]
    element_5: NotRequired[str]
    element_6: NotRequired[str]
    element_7: NotRequired[str]
    video_1: NotRequired[str]
    refer_type: NotRequired[Literal["base", "feature"]]
    keep_original_sound: NotRequired[Literal["yes", "no"]]
    shot_1_prompt: NotRequired[str]
    shot_1_duration: NotRequired[int | str]
    shot_2_prompt: NotRequired[str]
    shot_2_duration: NotRequired[int | str]
    shot_3_prompt: NotRequired[str]
    shot_3_duration: NotRequired[int | str]
    shot_4_prompt: NotRequired[str]
    shot_4_duration: NotRequired[int | str]
    shot_5_prompt: NotRequired[str]
    shot_5_duration: NotRequired[int | str]
    shot_6_prompt: NotRequired[str]
    shot_6_duration: NotRequired[int | str]
    #: the useapi account (an email) whose maxJobs limits this call
    email: NotRequired[str]
    #: videos to make, 1 to 4
    count: NotRequired[int | str]
    #: the account's concurrency for this call, 1 to 50
    maxJobs: NotRequired[int | str]
    #: an http(s) URL that gets the task document as it changes
    replyUrl: NotRequired[str]
    replyRef: NotRequired[str]


class UseapiAccountPut(TypedDict):
    """``POST /v1/kling/accounts``: an account (email) and its concurrency; a password is
    accepted and not kept."""

    email: str
    #: 1 to 50
    maxJobs: int | str
    password: NotRequired[str]


class UseapiStatus(TypedDict):
    #: 5 submitted, 10 processing, 50 failed, 99 succeed
    status: int
    status_name: Literal["submitted", "processing", "succeed", "failed"]
    status_final: bool


class UseapiArgument(TypedDict):
    name: str
    value: str


class UseapiTaskInfo(TypedDict):
    type: str
    arguments: list[UseapiArgument]
    scene: str


class UseapiTask(UseapiStatus):
    #: the task number, as ``GET /v1/kling/tasks/{id}`` takes it
    id: int
    type: str
    scene: str
    taskInfo: UseapiTaskInfo
    createTime: int
    updateTime: int


class UseapiResource(TypedDict):
    resource: str
    height: int
    width: int
    #: milliseconds
    duration: int
    resourceKey: str


class UseapiWork(UseapiStatus):
    workId: int
    workItemId: int
    taskId: int
    contentType: Literal["video"]
    resource: UseapiResource
    cover: UseapiResource


class UseapiTaskDocument(UseapiStatus):
    """The task document, with ``works`` once it succeeded."""

    etaTime: int
    queuingEtaTime: int
    message: str
    task: UseapiTask
    works: list[UseapiWork]
    error: NotRequired[str]
    replyRef: NotRequired[str]


class UseapiAssetUploaded(TypedDict):
    """An upload; ``url`` works as ``image_N`` or ``video_1``."""

    #: 3 image, 1 video, 2 audio
    status: int
    url: str
    message: str
    fileName: str


class UseapiAsset(TypedDict):
    name: str
    contentType: Literal["image", "video", "audio"]
    resource: UseapiResource
    createTime: int
    updateTime: int


class UseapiAssetList(TypedDict):
    uploadAssetsList: list[UseapiAsset]


class UseapiAccount(TypedDict):
    email: str
    maxJobs: int
    #: never the password itself
    password: str
    session: dict[str, str]


#: every configured account, by email
UseapiAccounts = dict[str, UseapiAccount]
