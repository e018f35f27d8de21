"""What the engine receives: a RenderJob built from a stored task, with every input resolved."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from pathlib import Path

from PIL import Image

from omnivideo.contract import parse_request
from omnivideo.contract.spec import load
from omnivideo.contract.task import Task, TaskStatus
from omnivideo.engines.base import RenderJob
from omnivideo.service import elements, inputs, legacy, tasks
from omnivideo.service.runtime import Runtime
from tests.media import make


def job_of(rt: Runtime, task: Task, work_dir: Path) -> RenderJob:
    """The job a worker makes of the stored task: from its spec alone."""
    return inputs.build_job(rt, load(task.spec or {}), task.task_id, work_dir)


def png_b64(size: tuple[int, int], color: tuple[int, int, int]) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_elements_and_images_reach_the_job_in_prompt_order(rt: Runtime) -> None:
    element = elements.create_custom(
        rt,
        "acc",
        {
            "element_name": "cube",
            "element_frontal_image": png_b64((400, 400), (200, 0, 0)),
            "element_refer_list": [{"image_url": png_b64((400, 400), (150, 0, 0))}],
        },
    )
    req = parse_request(
        {
            "model_name": "kling-v3-omni",
            "mode": "std",
            "duration": "4",
            "aspect_ratio": "9:16",
            "prompt": "<<<element_1>>> meets <<<image_2>>> and <<<image_1>>>",
            "image_list": [
                {"image_url": png_b64((400, 500), (0, 200, 0))},
                {"image_url": png_b64((500, 400), (0, 0, 200))},
            ],
            "element_list": [{"element_id": element.element_id}],
        }
    )
    task = tasks.submit(rt, "acc", req)
    job = job_of(rt, task, rt.settings.data_dir / "work")
    assert (job.width, job.height, job.fps, job.frame_count) == (720, 1280, 24, 96)
    assert [(r.kind, r.index) for r in job.references] == [
        ("element", 1),
        ("image", 2),
        ("image", 1),
    ]
    assert job.references[0].element is not None
    assert Image.open(job.references[0].element.frontal_image).getpixel((5, 5)) == (200, 0, 0)
    assert Image.open(job.references[1].image).getpixel((5, 5)) == (0, 0, 200)  # type: ignore[arg-type]
    assert len(job.reference_images) == 2 and job.first_frame is None
    assert sum(s.frames for s in job.shots) == job.frame_count


def test_first_frame_sets_the_shape_and_shots_cut_exactly(rt: Runtime) -> None:
    req = parse_request(
        {
            "model_name": "kling-v3-omni",
            "mode": "pro",
            "multi_shot": True,
            "shot_type": "customize",
            "duration": "7",
            "multi_prompt": [
                {"index": 1, "prompt": "one", "duration": "2"},
                {"index": 2, "prompt": "two", "duration": "5"},
            ],
            "image_list": [{"image_url": png_b64((600, 600), (9, 9, 9))}],
        }
    )
    job = job_of(rt, tasks.submit(rt, "acc", req), rt.settings.data_dir / "work")
    assert [(s.prompt, s.frames) for s in job.shots] == [("one", 48), ("two", 120)]
    first = parse_request(
        {
            "prompt": "go",
            "duration": "5",
            "mode": "std",
            "image_list": [{"image_url": png_b64((1000, 500), (1, 2, 3)), "type": "first_frame"}],
        }
    )
    job = job_of(rt, tasks.submit(rt, "acc", first), rt.settings.data_dir / "work")
    assert (job.width, job.height) == (1440, 720) and job.first_frame is not None


def test_a_base_video_with_longer_audio_sets_the_frame_count_from_its_pictures(
    rt: Runtime, tmp_path: Path
) -> None:
    # 4.0 s of pictures with an AAC track of 4.06 s: the container says about 4.07 s, which
    # rounds to 98 frames at 24 fps; the output must follow the 96 pictures.
    clip = make.video(tmp_path / "base.mp4", 720, 720, seconds=4.0, audio=True, audio_seconds=4.06)
    req = parse_request(
        {
            "model_name": "kling-video-o1",
            "prompt": "make it snow",
            "video_list": [
                {
                    "video_url": base64.b64encode(clip.read_bytes()).decode(),
                    "refer_type": "base",
                    "keep_original_sound": "yes",
                }
            ],
        }
    )
    job = job_of(rt, tasks.submit(rt, "acc", req), rt.settings.data_dir / "work")
    assert job.frame_count == 96


def test_the_worker_reads_nothing_of_the_task_but_its_spec(rt: Runtime) -> None:
    # TaskSpec is the worker's contract: with the stored request and every face's note about
    # the task blanked, the render gets the same job, the endpoint's own body included.
    task = legacy.submit(
        rt,
        "acc",
        "image2video",
        {"model_name": "kling-v1", "image": png_b64((640, 360), (9, 9, 9)), "prompt": "a kite"},
    )
    expected = job_of(rt, task, rt.settings.data_dir / "expected")
    rt.stores.tasks._update(  # type: ignore[attr-defined]
        task.task_id, request={}, face="", info={}, openai={}, callback_format=None
    )
    tasks.run(rt, task.task_id)
    assert tasks.get(rt, "acc", task.task_id).status is TaskStatus.SUCCEED
    (rendered,) = rt.engine.jobs  # type: ignore[attr-defined]
    assert rendered.request["image"] and rendered.request["prompt"] == "a kite"
    assert rendered.endpoint == "image2video" and rendered.first_frame is not None
    assert replace(rendered, work_dir=expected.work_dir, first_frame=None, image_files=()) == (
        replace(expected, first_frame=None, image_files=())
    )
