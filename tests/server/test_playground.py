"""The playground in a real browser (headless chromium through Playwright) against a real server.

Set ``PLAYGROUND_SCREENSHOT_DIR`` to keep the screenshots the tests take (docs/observe.md's come
from here).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.server.harness import Server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FRAME_S = 1 / 24

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"no chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def page(server: Server) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1360, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(server.base_url + "/")
        assert page.url.endswith("/playground")
        page.wait_for_selector("body[data-ready=true]")
        yield page
        browser.close()


def screenshot(page: Any, name: str) -> None:
    where = os.environ.get("PLAYGROUND_SCREENSHOT_DIR")
    if where:
        # Every player showing its first frame, not a loading spinner.
        page.wait_for_function(
            "[...document.querySelectorAll('video')].every(v => v.readyState >= 2)"
        )
        page.screenshot(path=str(Path(where) / name), full_page=True)


def sign_in(page: Any, key: str) -> None:
    page.fill("#api-key", key)
    page.click("#signin button[type=submit]")


def create(page: Any, simulate: str = "") -> str:
    """Press Create; the id of the task that then appears at the top of the list."""
    before = set(page.eval_on_selector_all("li.task", "els => els.map(e => e.dataset.taskId)"))
    page.evaluate("document.querySelector('#task-form details').open = true")
    page.fill("input[name=simulate]", simulate)
    page.click("#create-button")
    page.wait_for_function("n => document.querySelectorAll('li.task').length > n", arg=len(before))
    after = page.eval_on_selector_all("li.task", "els => els.map(e => e.dataset.taskId)")
    (new,) = set(after) - before
    return str(new)


def watch(page: Any, task_id: str, timeout: float = 90) -> tuple[str, list[int]]:
    """Follow a task in the list until it ends: (final status, progress values seen)."""
    item = f"li.task[data-task-id='{task_id}']"
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, percent = page.eval_on_selector(
            item, "e => [e.dataset.status, e.querySelector('progress').value]"
        )
        if not seen or seen[-1] != percent:
            seen.append(int(percent))
        if status in ("succeed", "failed"):
            return str(status), seen
        page.wait_for_timeout(80)
    raise AssertionError(f"task {task_id} did not finish in the page; progress {seen}")


def video_duration(page: Any, task_id: str) -> float:
    selector = f"li.task[data-task-id='{task_id}'] video"
    page.wait_for_selector(selector)
    return float(
        page.eval_on_selector(
            selector,
            """v => v.readyState >= 1 ? v.duration : new Promise((ok, fail) => {
                 v.addEventListener('loadedmetadata', () => ok(v.duration));
                 v.addEventListener('error', () => fail(new Error('video error')));
               })""",
        )
    )


def choose(page: Any, model: str = "kling-v3-omni", mode: str = "std", duration: str = "3") -> None:
    page.select_option("select[name=model_name]", model)
    page.select_option("select[name=mode]", mode)
    page.select_option("select[name=duration]", duration)


def test_a_refused_key_says_401_and_the_right_key_signs_in(page: Any, server: Server) -> None:
    sign_in(page, "ov-not-a-key")
    page.wait_for_selector("#signin-status.error")
    assert "401" in page.inner_text("#signin-status")
    assert page.evaluate("localStorage.getItem('omnivideo.apiKey')") == "ov-not-a-key"
    sign_in(page, server.api_key)
    page.wait_for_selector("body.signed-in")
    # The key lives in this browser only; a reload keeps the session.
    page.reload()
    page.wait_for_selector("body.signed-in")
    assert page.evaluate("localStorage.getItem('omnivideo.apiKey')") == server.api_key


def test_fields_follow_the_capability_map(page: Any) -> None:
    caps = httpx.get(page.url.replace("/playground", "/v1/omnivideo/capabilities")).json()
    o1 = next(c for c in caps["capabilities"] if c["model_name"] == "kling-video-o1")
    page.select_option("select[name=model_name]", "kling-video-o1")
    durations = page.eval_on_selector_all(
        "select[name=duration] option", "os => os.map(o => Number(o.value))"
    )
    assert durations == o1["fixed_durations_s"] == [5, 10]
    assert page.is_disabled("input[name=sound]") and page.is_disabled("#multi-shot")
    page.select_option("select[name=model_name]", "kling-v3-omni")
    durations = page.eval_on_selector_all(
        "select[name=duration] option", "os => os.map(o => Number(o.value))"
    )
    assert durations == list(range(3, 16))
    assert page.is_enabled("input[name=sound]") and page.is_enabled("#multi-shot")


def test_text_to_video_runs_with_moving_progress_and_plays(page: Any) -> None:
    choose(page)
    page.fill("#prompt", "A paper lantern rising over a dark lake")
    task_id = create(page, simulate="delay=2s")
    status, seen = watch(page, task_id)
    assert status == "succeed"
    assert len({p for p in seen if 0 < p < 100}) >= 2 and seen == sorted(seen), seen
    assert abs(video_duration(page, task_id) - 3) <= FRAME_S


def test_first_and_end_frame_task(page: Any, tmp_path: Path) -> None:
    paths = []
    for name, color in (("first.png", (200, 60, 40)), ("end.png", (40, 80, 200))):
        Image.new("RGB", (640, 360), color).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    choose(page, duration="4")
    page.set_input_files("#image-files", paths)
    page.wait_for_selector("#images li:nth-child(2)")
    page.select_option("#images li:nth-child(2) select", "end_frame")
    page.fill("#prompt", "")
    page.type("#prompt", "From @")
    page.wait_for_selector("#prompt-box .mentions:not([hidden]) li")
    page.keyboard.press("Enter")
    page.type("#prompt", " to ")
    page.type("#prompt", "@image_2")
    page.keyboard.press("Enter")
    assert page.input_value("#prompt") == "From <<<image_1>>> to <<<image_2>>>"
    screenshot(page, "playground-form.png")
    task_id = create(page, simulate="delay=1s")
    status, _ = watch(page, task_id)
    assert status == "succeed"
    assert abs(video_duration(page, task_id) - 4) <= FRAME_S
    for _ in range(2):
        page.click("#images li:first-child .remove")


def test_three_shot_task_whose_shots_add_up(page: Any) -> None:
    choose(page, duration="5")
    page.check("#multi-shot")
    page.click("#add-shot")
    shots = page.query_selector_all("#shots li")
    assert len(shots) == 3
    for i, (shot, seconds) in enumerate(zip(shots, ("2", "2", "2"), strict=True)):
        shot.query_selector("textarea").fill(f"shot {i + 1}: the lantern, closer")
        shot.query_selector("input").fill(seconds)
    assert page.inner_text("#shots-sum") == "2 + 2 + 2 = 6 of 5 s"
    assert page.get_attribute("#shots-sum", "class") == "bad"
    shots[2].query_selector("input").fill("1")
    assert page.inner_text("#shots-sum") == "2 + 2 + 1 = 5 of 5 s"
    task_id = create(page, simulate="delay=1s")
    status, seen = watch(page, task_id)
    assert status == "succeed", seen
    assert abs(video_duration(page, task_id) - 5) <= FRAME_S
    screenshot(page, "playground-tasks.png")
    page.uncheck("#multi-shot")


def test_cancel_a_slow_task(page: Any) -> None:
    choose(page)
    page.fill("#prompt", "A very slow sunrise")
    task_id = create(page, simulate="delay=60s")
    item = f"li.task[data-task-id='{task_id}']"
    page.wait_for_selector(f"{item}[data-status=processing]")
    page.click(f"{item} .cancel")
    status, _ = watch(page, task_id, timeout=20)
    assert status == "failed"
    assert page.inner_text(f"{item} .message") == "cancelled"


def test_an_invalid_submit_shows_the_error_next_to_its_field(page: Any) -> None:
    choose(page)
    page.fill("#prompt", "A harbour at night")
    page.evaluate("document.querySelector('#task-form details').open = true")
    page.fill("input[name=callback_url]", "ftp://example.com/hook")
    count = len(page.query_selector_all("li.task"))
    page.click("#create-button")
    error = page.wait_for_selector(".field-error[data-for=callback_url]")
    assert error.inner_text().startswith("callback_url: must be an http or https URL")
    # Next to the field: right after the label that holds the input.
    assert page.eval_on_selector(
        ".field-error[data-for=callback_url]",
        "e => e.previousElementSibling.querySelector('input[name=callback_url]') !== null",
    )
    assert len(page.query_selector_all("li.task")) == count
    page.fill("input[name=callback_url]", "")


def test_open_as_curl_shows_the_exact_request(page: Any) -> None:
    page.click("li.task:first-child .curl")
    text = page.inner_text("#curl-text")
    assert text.startswith("curl -X POST") and "/v1/videos/omni-video" in text
    assert "X-Omnivideo-Simulate: delay=" in text and "$OMNIVIDEO_API_KEY" in text
    page.click("#curl-dialog button")


def test_again_with_changes_refills_the_form(page: Any) -> None:
    page.click("li.task:has(.prompt:text-is('A very slow sunrise')) .again")
    assert page.input_value("#prompt") == "A very slow sunrise"
    assert page.input_value("select[name=duration]") == "3"


@pytest.mark.database_agnostic
def test_again_with_changes_keeps_the_images_and_curl_keeps_base64_whole(
    page: Any, tmp_path: Path
) -> None:
    # Noise does not compress: the Base64 of these is far past what localStorage keeps.
    import base64

    import numpy as np

    rng = np.random.default_rng(7)
    paths = []
    for name in ("start.png", "style.png"):
        Image.fromarray(rng.integers(0, 255, (420, 420, 3), dtype=np.uint8)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    encoded = [base64.b64encode(Path(p).read_bytes()).decode() for p in paths]
    assert min(len(e) for e in encoded) > 200_000
    choose(page, duration="3")
    page.set_input_files("#image-files", paths)
    page.wait_for_selector("#images li:nth-child(2)")
    page.fill("#prompt", "<<<image_1>>> in the style of <<<image_2>>>")
    task_id = create(page, simulate="delay=1s")
    item = f"li.task[data-task-id='{task_id}']"
    # The curl command carries every input whole, so it runs as copied.
    page.click(f"{item} .curl")
    text = page.inner_text("#curl-text")
    assert all(e in text for e in encoded) and "chars)" not in text
    page.click("#curl-dialog button")
    # Clear the form, then "again with changes": the prompt and both images come back.
    for _ in range(2):
        page.click("#images li:first-child .remove")
    page.fill("#prompt", "")
    page.click(f"{item} .again")
    assert page.input_value("#prompt") == "<<<image_1>>> in the style of <<<image_2>>>"
    assert len(page.query_selector_all("#images li")) == 2
    assert page.input_value("#images li:first-child select") == "first_frame"
    assert page.input_value("#images li:nth-child(2) select") == ""
    again = create(page, simulate="delay=1s")
    page.click(f"li.task[data-task-id='{again}'] .curl")
    resent = page.inner_text("#curl-text")
    page.click("#curl-dialog button")
    assert all(e in resent for e in encoded)
    assert watch(page, again)[0] == "succeed"
    for _ in range(2):
        page.click("#images li:first-child .remove")
