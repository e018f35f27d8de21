"""The element library over HTTP, and an element's picture reaching the render."""

from __future__ import annotations

import base64
import io
import subprocess

import httpx
from PIL import Image

from tests.server.harness import Server


def png_b64(color: tuple[int, int, int], size: tuple[int, int] = (400, 400)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_custom_element_round_trip_and_use_in_a_task(server: Server) -> None:
    body = {
        "element_name": "red cube",
        "element_description": "a red cube",
        "element_frontal_image": png_b64((220, 30, 30)),
        "element_refer_list": [{"image_url": png_b64((200, 20, 20))}],
        "tag_list": [{"tag_id": "o_104"}],
    }
    r = httpx.post(
        f"{server.base_url}/v1/general/custom-elements",
        json=body,
        headers=server.headers(),
        timeout=30,
    )
    assert r.json()["code"] == 0, r.text
    element = r.json()["data"]
    assert element["element_name"] == "red cube" and element["tag_list"][0]["name"] == "Item"
    assert httpx.get(element["element_frontal_image"]).status_code == 200
    listed = httpx.get(
        f"{server.base_url}/v1/general/custom-elements", headers=server.headers()
    ).json()["data"]
    assert element["element_id"] in {e["element_id"] for e in listed}

    task = server.create(
        {
            "model_name": "kling-v3-omni",
            "mode": "std",
            "aspect_ratio": "1:1",
            "duration": "3",
            "prompt": "<<<element_1>>> spinning",
            "element_list": [{"element_id": element["element_id"]}],
        }
    )
    assert task.json()["code"] == 0, task.text
    assert server.wait(task.json()["data"]["task_id"])["task_status"] == "succeed"

    missing = server.create(
        {
            "model_name": "kling-v3-omni",
            "prompt": "x <<<element_1>>>",
            "element_list": [{"element_id": 999999}],
        }
    )
    assert (missing.status_code, missing.json()["code"]) == (400, 1201)
    assert "element_list[0]" in missing.json()["message"]

    deleted = httpx.post(
        f"{server.base_url}/v1/general/delete-elements",
        json={"element_id": str(element["element_id"])},
        headers=server.headers(),
    )
    assert deleted.json()["code"] == 0
    again = httpx.post(
        f"{server.base_url}/v1/general/delete-elements",
        json={"element_id": element["element_id"]},
        headers=server.headers(),
    )
    assert (again.status_code, again.json()["code"]) == (404, 1203)


def test_bad_element_bodies_are_1201(server: Server) -> None:
    url = f"{server.base_url}/v1/general/custom-elements"
    cases = [
        ({"element_frontal_image": png_b64((1, 2, 3))}, "element_name"),
        ({"element_name": "x" * 21, "element_frontal_image": png_b64((1, 2, 3))}, "element_name"),
        (
            {
                "element_name": "a",
                "element_frontal_image": png_b64((1, 2, 3)),
                "element_refer_list": [],
            },
            "element_refer_list",
        ),
        (
            {
                "element_name": "a",
                "element_frontal_image": png_b64((1, 2, 3), (100, 100)),
                "element_refer_list": [{"image_url": png_b64((1, 2, 3))}],
            },
            "element_frontal_image",
        ),
    ]
    for body, field in cases:
        r = httpx.post(url, json=body, headers=server.headers(), timeout=30)
        assert (r.status_code, r.json()["code"]) == (400, 1201), r.text
        assert r.json()["message"].startswith(field), r.json()["message"]


def test_advanced_element_is_a_task_queryable_by_external_id(server: Server) -> None:
    body = {
        "element_name": "blue ball",
        "reference_type": "image_refer",
        "element_image_list": {
            "frontal_image": png_b64((20, 20, 220)),
            "refer_images": [{"image_url": png_b64((10, 10, 200))}],
        },
        "external_task_id": "ball-1",
    }
    r = httpx.post(
        f"{server.base_url}/v1/general/advanced-custom-elements",
        json=body,
        headers=server.headers(),
        timeout=30,
    )
    created = r.json()["data"]
    assert len(created["task_id"]) == 18 and created["task_info"] == {"external_task_id": "ball-1"}
    got = httpx.get(
        f"{server.base_url}/v1/general/advanced-custom-elements/ball-1", headers=server.headers()
    ).json()["data"]
    assert got["task_id"] == created["task_id"] and got["task_status"] == "succeed"
    assert got["task_result"]["elements"][0]["element_name"] == "blue ball"


def test_presets_are_visible_to_every_account(server: Server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    img = tmp_path / "p.png"
    Image.new("RGB", (500, 500), (0, 150, 0)).save(img)
    subprocess.run(
        [
            "omnivideo",
            "elements",
            "add-preset",
            "--name",
            "green",
            "--frontal",
            str(img),
            *server.admin_args(),
        ],
        check=True,
        capture_output=True,
    )
    presets = httpx.get(
        f"{server.base_url}/v1/general/presets-elements", headers=server.headers()
    ).json()["data"]
    assert any(p["element_name"] == "green" and p["owned_by"] == "kling" for p in presets)


def test_delete_takes_only_whole_element_ids(server: Server) -> None:
    for raw in (True, 1.9, "1" * 40, -3, "abc"):
        r = httpx.post(
            f"{server.base_url}/v1/general/delete-elements",
            json={"element_id": raw},
            headers=server.headers(),
        )
        assert (r.status_code, r.json()["code"]) == (400, 1201), (raw, r.text)
