"""WanEngine around the modes: loading, submit-time checks, progress, cancellation, the
non-VACE pipelines and the speed options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wan_helpers import job_of, solid

from omnivideo.contract.errors import OmniError
from omnivideo.contract.request import OmniRequest
from omnivideo.contract.spec import ElementSpec, ImageSpec, ShotPlan, TaskSpec, VideoSpec, plan
from omnivideo.engines.base import Cancelled, RunContext, load_engine_class
from omnivideo.engines.wan import WanEngine
from omnivideo.engines.wan.options import WanOptions
from omnivideo.engines.wan.speed import computed_steps


def req(**fields: Any) -> TaskSpec:
    """The spec the server plans for a request with these fields (inputs as if probed)."""
    r = OmniRequest.model_validate({"model_name": "kling-v3-omni", "prompt": "a cat", **fields})
    roles = {"first_frame": "first_frame", "end_frame": "end_frame"}
    images = [
        ImageSpec(
            key=f"inputs/t/image_{n}.png",
            width=1024,
            height=576,
            role=roles.get(i.type or "", "reference"),  # type: ignore[arg-type]
            index=n,
        )
        for n, i in enumerate(r.image_list, 1)
    ]
    video = None
    if r.video_list:
        v = r.video_list[0]
        video = VideoSpec(
            key="inputs/t/video_1.mp4",
            width=1280,
            height=720,
            fps=24.0,
            duration_s=5.0,
            has_audio=False,
            refer_type=v.refer_type,
            keep_original_sound=False,
        )
    elements = [
        ElementSpec(element_id=e.element_id, name="e", frontal_key="elements/e/f.png", position=i)
        for i, e in enumerate(r.element_list, start=1)
    ]
    return plan(r, images=images, video=video, elements=elements)


FIRST = {"image_url": "https://x/a.png", "type": "first_frame"}
END = {"image_url": "https://x/b.png", "type": "end_frame"}
REF = {"image_url": "https://x/c.png"}


# -- registration and loading ----------------------------------------------------------------


def test_registered_as_wan_entry_point() -> None:
    assert load_engine_class("wan") is WanEngine
    assert WanEngine.supports_sound is False


def test_loads_through_the_production_path(engine_for: Any, tiny_model: Any) -> None:
    engine = engine_for("vace")
    assert engine.spec.key == "wan2.1-vace-1.3b"
    assert engine.loaded.source == str(tiny_model("vace"))
    assert engine.pipe.transformer.is_cache_enabled  # default step caching is on


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("/nonexistent/wan-model", "neither a directory nor a Hugging Face hub id"),
        ("Wan-AI/Wan2.1-VACE-1.3B-diffusers", "could not fetch model"),  # offline
    ],
)
def test_missing_model_is_a_clear_start_up_error(model: str, words: str) -> None:
    with pytest.raises(OmniError) as err:
        WanEngine({"model": model, "device": "cpu"})
    assert err.value.code == 5000 and words in err.value.message


def test_directory_without_model_index(tmp_path: Path) -> None:
    with pytest.raises(OmniError, match=r"no model_index\.json"):
        WanEngine({"model": str(tmp_path), "device": "cpu"})


def test_not_a_wan_pipeline(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    with pytest.raises(OmniError, match="not a supported Wan checkpoint"):
        WanEngine({"model": str(tmp_path), "device": "cpu"})


def test_broken_weights(tmp_path: Path, tiny_model: Any) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model("t2v"), broken)
    for f in (broken / "transformer").glob("*.safetensors"):
        f.write_bytes(b"not safetensors")
    with pytest.raises(OmniError, match="could not load the Wan model") as err:
        WanEngine({"model": str(broken), "device": "cpu"})
    assert err.value.code == 5000


def test_unavailable_device(tiny_model: Any) -> None:
    with pytest.raises(OmniError, match="no CUDA GPU"):
        WanEngine({"model": str(tiny_model("t2v")), "device": "cuda"})


def test_no_model_and_unknown_settings() -> None:
    with pytest.raises(OmniError, match="needs a model"):
        WanOptions.parse({}, environ={})
    with pytest.raises(OmniError, match="unknown setting OMNIVIDEO_WAN_STEPZ"):
        WanOptions.parse({"model": "m"}, environ={"OMNIVIDEO_WAN_STEPZ": "3"})
    with pytest.raises(OmniError, match="window"):
        WanOptions.parse({"model": "m"}, environ={"OMNIVIDEO_WAN_WINDOW": "16"})
    opts = WanOptions.parse(
        {"model": "m", "steps": 4},
        environ={"OMNIVIDEO_WAN_STEPS": "9", "OMNIVIDEO_WAN_CFG_BATCH": "1"},
    )
    assert opts.steps == 4 and opts.cfg_batch is True  # the dict wins over the environment


def test_serve_refuses_to_start_without_a_usable_model(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "omnivideo.cli.main", "serve", "--data-dir", str(tmp_path),
         "--engine", "wan", "--model", str(tmp_path / "missing"), "--device", "cpu"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "neither a directory nor a Hugging Face hub id" in proc.stderr


# -- submit-time checks ----------------------------------------------------------------------


def test_vace_serves_every_mode_but_sound(engine_for: Any) -> None:
    engine = engine_for("vace")
    engine.check(req())
    engine.check(req(image_list=[FIRST, END, REF], element_list=[{"element_id": 1}]))
    engine.check(req(video_list=[{"video_url": "https://x/v.mp4", "refer_type": "base"}]))
    engine.check(req(video_list=[{"video_url": "https://x/v.mp4", "refer_type": "feature"}]))
    engine.check(req(duration=15, multi_shot=True, shot_type="intelligence"))
    with pytest.raises(OmniError) as err:
        engine.check(req(sound="on"))
    assert err.value.code == 1201 and "makes no audio" in err.value.message
    # Kling 3.x motion control (a character moved as in a video) is no Wan pipeline's mode.
    motion = req(image_list=[REF], video_list=[{"video_url": "https://x/v.mp4"}])
    with pytest.raises(OmniError) as err:
        engine.check(motion.model_copy(update={"character_orientation": "video"}))
    assert err.value.code == 1201 and err.value.message.startswith("motion-control: the wan")


@pytest.mark.parametrize(
    ("arch", "fields", "missing"),
    [
        ("t2v", {"image_list": [FIRST]}, "a first frame image"),
        ("t2v", {"image_list": [REF]}, "reference images or elements"),
        ("t2v", {"duration": 10}, "longer than one generation window"),
        ("i2v", {}, "text-to-video without a first frame"),
        ("i2v", {"image_list": [FIRST, END]}, "an end frame image"),
        ("ti2v", {"image_list": [FIRST, END]}, "an end frame image"),
        ("a14b-i2v", {"video_list": [{"video_url": "https://x/v.mp4"}], "image_list": [FIRST]},
         "a base video to edit"),
    ],
)  # fmt: skip
def test_refused_at_submit_naming_model_and_capability(
    engine_for: Any, arch: str, fields: dict[str, Any], missing: str
) -> None:
    engine = engine_for(arch, window=81)
    with pytest.raises(OmniError) as err:
        engine.check(req(**fields))
    assert err.value.code == 1201
    assert engine.spec.key in err.value.message and missing in err.value.message


def test_accepted_where_the_pipeline_can(engine_for: Any) -> None:
    engine_for("t2v", window=81).check(req(duration=5, multi_shot=True, shot_type="intelligence"))
    engine_for("i2v", window=81).check(req(image_list=[FIRST], duration=10))
    engine_for("flf2v", window=81).check(req(image_list=[FIRST, END]))
    engine_for("ti2v", window=81).check(req())


# -- progress and cancellation ---------------------------------------------------------------


def test_progress_is_per_step_and_monotonic(engine_for: Any, tmp_path: Path) -> None:
    engine = engine_for("vace")
    seen: list[tuple[float, str]] = []
    engine.render(job_of(tmp_path, frame_count=48), RunContext(lambda f, n: seen.append((f, n))))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    # three windows (see test_long_video_is_extended_in_conditioned_chunks) x 2 steps
    assert sum(1 for _, note in seen if note == "denoising") == 3 * 2


def test_cancel_mid_steps_stops_before_decoding(
    engine_for: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for("vace")
    decodes: list[int] = []
    vae = engine.pipe.vae
    original = vae.decode
    monkeypatch.setattr(vae, "decode", lambda *a, **k: decodes.append(1) or original(*a, **k))
    holder: list[RunContext] = []

    def on_progress(fraction: float, note: str) -> None:
        if note == "denoising":
            holder[0].cancel()  # the worker cancels from outside; the next step sees it

    ctx = RunContext(on_progress)
    holder.append(ctx)
    with pytest.raises(Cancelled):
        engine.render(job_of(tmp_path), ctx)
    assert decodes == []
    assert not list((tmp_path / "work").glob("*.mp4"))  # the partial file is gone
    # The engine is still usable, and its step caches were reset.
    assert engine.render(job_of(tmp_path / "again"), RunContext()).path.exists()


# -- the other pipelines ---------------------------------------------------------------------


def test_i2v_starts_from_the_first_frame(engine_for: Any, spy: Any, tmp_path: Path) -> None:
    engine = engine_for("i2v")
    first = solid(tmp_path / "f.png", (200, 30, 30))
    calls = spy(engine).calls
    out = engine.render(job_of(tmp_path, frame_count=40, first_frame=first), RunContext())
    assert out.path.exists()
    # 40 frames need 27 native frames: 17 + a second window started from the last frame.
    assert [c["num_frames"] for c in calls] == [17, 13]
    assert np.asarray(calls[0]["image"])[3, 3].tolist() == [200, 30, 30]
    assert "last_image" not in calls[0]


def test_flf2v_takes_first_and_last_image(engine_for: Any, spy: Any, tmp_path: Path) -> None:
    engine = engine_for("flf2v")
    first = solid(tmp_path / "f.png", (200, 30, 30))
    end = solid(tmp_path / "e.png", (30, 30, 200))
    calls = spy(engine).calls
    engine.render(job_of(tmp_path, first_frame=first, end_frame=end), RunContext())
    (call,) = calls
    assert np.asarray(call["last_image"])[3, 3].tolist() == [30, 30, 200]


def test_ti2v_text_and_first_frame(engine_for: Any, spy: Any, tmp_path: Path) -> None:
    engine = engine_for("ti2v")
    first = solid(tmp_path / "f.png", (200, 30, 30))
    recorder = spy(engine)
    # TI2V runs at 24 fps: 12 output frames are 13 native frames, one window
    engine.render(job_of(tmp_path, frame_count=12), RunContext())
    engine.render(job_of(tmp_path / "b", frame_count=12, first_frame=first), RunContext())
    text, image = recorder.calls
    assert "image" not in text and "image" in image
    assert text["width"] % 32 == 0 and text["height"] % 32 == 0


def test_two_expert_models_get_both_guidance_scales(
    engine_for: Any, spy: Any, tmp_path: Path
) -> None:
    engine = engine_for("a14b-t2v")
    calls = spy(engine).calls
    job = job_of(
        tmp_path,
        frame_count=30,
        shots=(ShotPlan(prompt="a", frames=12), ShotPlan(prompt="b", frames=18)),
    )
    engine.render(job, RunContext())
    assert len(calls) == 2  # T2V: shots are independent cuts
    assert calls[0]["guidance_scale"] == 4.0 and calls[0]["guidance_scale_2"] == 3.0


# -- speed options ---------------------------------------------------------------------------


def test_taylorseer_schedule_runs_about_half_the_steps() -> None:
    assert computed_steps(50) == 27
    assert computed_steps(40) == 21
    assert computed_steps(2) == 2


def test_cfg_batching_matches_two_passes(engine_for: Any, spy: Any, tmp_path: Path) -> None:
    plain = engine_for("vace", cache="none", steps=3)
    batched = engine_for("vace", cache="none", steps=3, cfg_batch=True)
    a, b = spy(plain), spy(batched)
    plain.render(job_of(tmp_path / "a"), RunContext())
    batched.render(job_of(tmp_path / "b"), RunContext())
    assert np.abs(a.outputs[0] - b.outputs[0]).max() < 1e-4


def test_step_cache_skips_transformer_passes_on_schedule(
    engine_for: Any, spy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = engine_for("vace", cache="none", steps=10)
    cached = engine_for("vace", steps=10)
    counts = {}
    for name, engine in (("full", full), ("cached", cached)):
        attn = engine.pipe.transformer.blocks[0].attn1
        original = attn.processor
        counts[name] = 0

        def counting(*args: Any, _original: Any = original, _name: str = name, **kw: Any) -> Any:
            counts[_name] += 1
            return _original(*args, **kw)

        monkeypatch.setattr(attn, "processor", counting)
    a, b = spy(full), spy(cached)
    full.render(job_of(tmp_path / "a"), RunContext())
    cached.render(job_of(tmp_path / "b"), RunContext())
    # conditional + unconditional pass per computed step
    assert counts == {"full": 2 * 10, "cached": 2 * computed_steps(10)}
    assert computed_steps(10) == 5
    assert a.outputs[0].shape == b.outputs[0].shape


def test_kling_negative_prompt_and_cfg_scale_reach_the_pipeline(
    engine_for: Any, spy: Any, tmp_path: Path
) -> None:
    engine = engine_for("a14b-t2v")
    calls = spy(engine).calls
    encoded: list[str] = []
    encode = engine.pipe.encode_prompt

    def record(**kwargs: Any) -> Any:
        encoded.append(kwargs["negative_prompt"])
        return encode(**kwargs)

    engine.pipe.encode_prompt = record
    try:
        engine.render(job_of(tmp_path, frame_count=12, negative_prompt="rain", cfg_scale=1.0),
                      RunContext())  # fmt: skip
        engine.render(job_of(tmp_path / "b", frame_count=12, cfg_scale=0.5), RunContext())
    finally:
        engine.pipe.encode_prompt = encode
    assert encoded[0] == "rain" and encoded[-1] != "rain"  # the model's own negative otherwise
    # cfg_scale 0.5 is the model's default; 1.0 doubles its distance from no guidance.
    assert calls[0]["guidance_scale"] == 7.0 and calls[0]["guidance_scale_2"] == 5.0
    assert calls[-1]["guidance_scale"] == 4.0 and calls[-1]["guidance_scale_2"] == 3.0
