"""The element library (reference §1.12): custom elements, advanced elements, presets.

Element images are fetched and checked like task inputs and kept in storage, so a task that
names an element hands its pictures to the engine.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

from omnivideo.contract.errors import OmniError, invalid
from omnivideo.media.checks import MAX_IMAGE_BYTES, MAX_VIDEO_BYTES, check_image
from omnivideo.media.frames import extract_middle_frame
from omnivideo.media.probe import probe_image, probe_video
from omnivideo.service import outages
from omnivideo.service.inputs import fetch
from omnivideo.service.runtime import Runtime
from omnivideo.store.records import ElementRecord

TAGS = {
    "o_101": "Hottest",
    "o_102": "Character",
    "o_103": "Animal",
    "o_104": "Item",
    "o_105": "Costume",
    "o_106": "Scene",
    "o_107": "Effect",
    "o_108": "Others",
}


def _text(body: dict[str, Any], field: str, limit: int, *, required: bool) -> str:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise invalid(f"{field}: is required")
        return ""
    if not isinstance(value, str):
        raise invalid(f"{field}: must be a string")
    if len(value) > limit:
        raise invalid(f"{field}: is {len(value)} characters; at most {limit} are allowed")
    return value


def _tags(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("tag_list") or []
    if not isinstance(raw, list):
        raise invalid("tag_list: must be an array of {tag_id}")
    tags = []
    for i, item in enumerate(raw):
        tag_id = item.get("tag_id") if isinstance(item, dict) else None
        if tag_id not in TAGS:
            raise invalid(f"tag_list[{i}].tag_id: must be one of {', '.join(TAGS)}")
        tags.append({"id": tag_id, "name": TAGS[tag_id], "description": TAGS[tag_id]})
    return tags


def _url_list(raw: Any, field: str, key: str, low: int, high: int) -> list[str]:
    if not isinstance(raw, list) or not low <= len(raw) <= high:
        raise invalid(f"{field}: must hold {low} to {high} items of {{{key}}}")
    urls = []
    for i, item in enumerate(raw):
        value = item.get(key) if isinstance(item, dict) else None
        if not isinstance(value, str) or not value:
            raise invalid(f"{field}[{i}].{key}: is required")
        urls.append(value)
    return urls


def _stage(rt: Runtime) -> Path:
    """A scratch folder for one element's files; its name is the element's blob folder."""
    root = Path(tempfile.mkdtemp(prefix="omnivideo-element-")) / secrets.token_hex(8)
    root.mkdir()
    return root


def _unstage(rt: Runtime, root: Path, *, failed: BaseException | None) -> None:
    shutil.rmtree(root.parent, ignore_errors=True)
    if failed is not None:
        rt.sweeper.discard(f"elements/{root.name}/", now=not outages.is_outage(failed))


def _fetch_image(rt: Runtime, value: str, dest: Path, label: str) -> Path:
    path = fetch(rt, value, dest, max_bytes=MAX_IMAGE_BYTES, label=label)
    check_image(probe_image(path, label=label), label)
    return path


def _key(rt: Runtime, path: Path) -> str:
    """Store a staged file in the blob store; its key."""
    key = f"elements/{path.parent.name}/{path.name}"
    rt.blobs.put_file(key, path)
    return key


def create_custom(rt: Runtime, account_id: str, body: Any) -> ElementRecord:
    """The old, synchronous API: `POST /v1/general/custom-elements`."""
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    name = _text(body, "element_name", 20, required=True)
    description = _text(body, "element_description", 100, required=False)
    frontal = _text(body, "element_frontal_image", 10**9, required=True)
    refer = _url_list(body.get("element_refer_list"), "element_refer_list", "image_url", 1, 3)
    tags = _tags(body)
    root = _stage(rt)
    try:
        front = _fetch_image(rt, frontal, root / "frontal", "element_frontal_image")
        refs = [
            _fetch_image(rt, url, root / f"refer_{i + 1}", f"element_refer_list[{i}].image_url")
            for i, url in enumerate(refer)
        ]
        return rt.stores.elements.add(
            account_id,
            name,
            description,
            "image_refer",
            _key(rt, front),
            [_key(rt, p) for p in refs],
            {
                "element_frontal_image": frontal if len(frontal) < 2048 else "<base64>",
                "element_refer_list": len(refer),
            },
            tags,
        )
    except BaseException as exc:
        _unstage(rt, root, failed=exc)
        raise
    finally:
        _unstage(rt, root, failed=None)


def create_advanced(rt: Runtime, account_id: str, body: Any) -> ElementRecord:
    """`POST /v1/general/advanced-custom-elements`: image or video elements, as a task."""
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    name = _text(body, "element_name", 20, required=True)
    description = _text(body, "element_description", 100, required=False)
    reference_type = body.get("reference_type") or "image_refer"
    if reference_type not in ("image_refer", "video_refer"):
        raise invalid("reference_type: must be image_refer or video_refer")
    external = body.get("external_task_id") or None
    if external is not None and (not isinstance(external, str) or len(external) > 64):
        raise invalid("external_task_id: must be a string of at most 64 characters")
    tags = _tags(body)
    root = _stage(rt)
    try:
        if reference_type == "image_refer":
            images = body.get("element_image_list")
            if not isinstance(images, dict):
                raise invalid("element_image_list: is required for reference_type image_refer")
            frontal = images.get("frontal_image")
            if not isinstance(frontal, str) or not frontal:
                raise invalid("element_image_list.frontal_image: is required")
            refer = _url_list(
                images.get("refer_images"), "element_image_list.refer_images", "image_url", 1, 3
            )
            front = _fetch_image(rt, frontal, root / "frontal", "element_image_list.frontal_image")
            refs = [
                _fetch_image(
                    rt,
                    url,
                    root / f"refer_{i + 1}",
                    f"element_image_list.refer_images[{i}].image_url",
                )
                for i, url in enumerate(refer)
            ]
        else:
            videos = body.get("element_video_list")
            if not isinstance(videos, dict):
                raise invalid("element_video_list: is required for reference_type video_refer")
            [video_url] = _url_list(
                videos.get("refer_videos"), "element_video_list.refer_videos", "video_url", 1, 1
            )
            label = "element_video_list.refer_videos[0].video_url"
            video = fetch(rt, video_url, root / "video.mp4", max_bytes=MAX_VIDEO_BYTES, label=label)
            info = probe_video(video, label=label)
            if not 3 <= info.duration_s <= 8.05:
                raise invalid(f"{label}: video is {info.duration_s:.2f} s; it must last 3 to 8 s")
            front = extract_middle_frame(video, root / "frontal.png")
            refs = [video]
        return rt.stores.elements.add(
            account_id,
            name,
            description,
            reference_type,
            _key(rt, front),
            [_key(rt, p) for p in refs],
            {},
            tags,
            task_id=str(10**17 + secrets.randbelow(9 * 10**17)),
            external_task_id=external,
        )
    except BaseException as exc:
        _unstage(rt, root, failed=exc)
        raise
    finally:
        _unstage(rt, root, failed=None)


def list_page(rt: Runtime, account_id: str | None, offset: int, limit: int) -> list[ElementRecord]:
    """Custom elements of the account, or the presets when ``account_id`` is None."""
    return rt.stores.elements.page(account_id, offset, limit)


def get_advanced(rt: Runtime, account_id: str, ident: str) -> ElementRecord:
    record = rt.stores.elements.by_task(account_id, ident)
    if record is None:
        raise OmniError(1203, f"task {ident!r} does not exist")
    return record


def delete(rt: Runtime, account_id: str, body: Any) -> int:
    raw = body.get("element_id") if isinstance(body, dict) else None
    # Only whole numbers: True or 1.9 must not quietly become element 1.
    if (
        isinstance(raw, str)
        and raw.strip().isascii()
        and raw.strip().isdigit()
        and len(raw.strip()) <= 19
    ):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw < 2**63:
        raise invalid("element_id: must be an element id (a whole number)")
    element_id = raw
    if not rt.stores.elements.delete(account_id, element_id):
        raise OmniError(
            1203, f"element {element_id} does not exist or is not a custom element of this account"
        )
    return element_id


def add_preset(
    rt: Runtime, name: str, frontal: Path, refer: list[Path], description: str = ""
) -> ElementRecord:
    """An operator-registered preset, visible to every account (`omnivideo elements add-preset`)."""
    root = _stage(rt)
    try:
        front = root / f"frontal{frontal.suffix.lower()}"
        shutil.copyfile(frontal, front)
        check_image(probe_image(front, label="frontal"), "frontal")
        refs = []
        for i, path in enumerate(refer):
            dest = root / f"refer_{i + 1}{path.suffix.lower()}"
            shutil.copyfile(path, dest)
            check_image(probe_image(dest, label=f"refer[{i}]"), f"refer[{i}]")
            refs.append(dest)
        return rt.stores.elements.add(
            None,
            name,
            description,
            "image_refer",
            _key(rt, front),
            [_key(rt, p) for p in refs],
            {},
            [],
        )
    except BaseException as exc:
        _unstage(rt, root, failed=exc)
        raise
    finally:
        _unstage(rt, root, failed=None)
