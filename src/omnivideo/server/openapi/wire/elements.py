"""The element library's bodies (reference §1.12): what creating takes, what the routes answer."""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict

from omnivideo.server.openapi.wire.kling import CreatedTaskInfo, KlingEnvelope, TaskStatus

TagId = Literal["o_101", "o_102", "o_103", "o_104", "o_105", "o_106", "o_107", "o_108"]


class ImageUrl(TypedDict):
    #: a URL or Base64 image
    image_url: str


class VideoUrl(TypedDict):
    video_url: str


class TagChoice(TypedDict):
    tag_id: TagId


class CustomElementCreate(TypedDict):
    """``POST /v1/general/custom-elements``: an element from a frontal and 1-3 more images."""

    element_name: str
    element_description: NotRequired[str]
    #: a URL or Base64 image
    element_frontal_image: str
    element_refer_list: list[ImageUrl]
    tag_list: NotRequired[list[TagChoice]]


class ElementImageInput(TypedDict):
    frontal_image: str
    refer_images: list[ImageUrl]


class ElementVideoInput(TypedDict):
    #: one video of 3 to 8 seconds
    refer_videos: list[VideoUrl]


class AdvancedElementCreate(TypedDict):
    """``POST /v1/general/advanced-custom-elements``: an image or a video element."""

    element_name: str
    element_description: NotRequired[str]
    reference_type: NotRequired[Literal["image_refer", "video_refer"]]
    #: required for image_refer
    element_image_list: NotRequired[ElementImageInput]
    #: required for video_refer
    element_video_list: NotRequired[ElementVideoInput]
    tag_list: NotRequired[list[TagChoice]]
    external_task_id: NotRequired[str]


class ElementDelete(TypedDict):
    """``POST /v1/general/delete-elements``."""

    #: a whole number, or its digits as text
    element_id: int | str


class ElementTag(TypedDict):
    id: str
    name: str
    description: str


class Element(TypedDict):
    """An element of the custom-element API."""

    element_id: int
    element_name: str
    element_description: str
    element_frontal_image: str
    element_refer_list: list[ImageUrl]
    tag_list: list[ElementTag]
    #: "kling" for presets, else the owning account
    owned_by: str


class ElementImages(TypedDict):
    frontal_image: str
    refer_images: list[ImageUrl]


class ElementVideos(TypedDict):
    refer_videos: list[VideoUrl]


class AdvancedElement(TypedDict):
    """An element of the advanced element API."""

    element_id: int
    element_name: str
    element_description: str
    reference_type: str
    element_image_list: ElementImages
    element_video_list: ElementVideos
    tag_list: list[ElementTag]
    owned_by: str


class ElementTaskResult(TypedDict):
    elements: list[AdvancedElement]


class ElementTaskInfo(TypedDict, total=False):
    external_task_id: str


class ElementTask(TypedDict):
    """The task that created an advanced element (it finishes within the create call)."""

    task_id: str
    task_status: TaskStatus
    task_status_msg: str
    task_info: ElementTaskInfo
    task_result: ElementTaskResult
    final_unit_deduction: str
    created_at: int
    updated_at: int


class CreatedElementTask(TypedDict):
    task_id: str
    task_status: TaskStatus
    created_at: int
    updated_at: int
    task_info: CreatedTaskInfo


class DeletedElement(TypedDict):
    #: the deleted element's id
    task_id: str
    task_status: TaskStatus


class KlingElement(KlingEnvelope):
    data: Element


class KlingElementList(KlingEnvelope):
    data: list[Element]


class KlingAdvancedElementList(KlingEnvelope):
    data: list[AdvancedElement]


class KlingElementCreated(KlingEnvelope):
    data: CreatedElementTask


class KlingElementTask(KlingEnvelope):
    data: ElementTask


class KlingElementTaskList(KlingEnvelope):
    data: list[ElementTask]


class KlingElementDeleted(KlingEnvelope):
    data: DeletedElement
