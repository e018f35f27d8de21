"""The ``wan`` engine: real generation with open Wan 2.x models through diffusers.

``omnivideo serve --engine wan --model PATH_OR_HUB_ID`` loads one checkpoint once, at start-up,
and keeps it warm. Which checkpoint it is (model table in :mod:`.models`) decides what it can
serve; :meth:`WanEngine.check` refuses the rest at submit with code 1201, naming the model and
the missing capability. Wan makes no audio: ``sound: on`` is served by the audio stage
(:mod:`omnivideo.engines.audio`) when ``--audio-model`` names one, and refused otherwise.

How each Omni mode is generated:

    text-to-video          the prompt alone (T2V, VACE with no conditioning, TI2V)
    first frame            VACE: frame 0 of the conditioning video, masked "keep";
                           I2V / FLF2V / TI2V: the pipeline's ``image``
    first + end frame      VACE: frames 0 and n-1 kept; FLF2V / Wan2.2 I2V: ``last_image``
    reference images,      VACE ``reference_images``, in the order the prompt names them
    elements               (an element gives its frontal image, then its other views), then
                           the unnamed ones in list order
    base video (edit)      VACE conditioning video = the input, resampled and cover-fitted,
                           mask "generate", scale 1: the output follows the input's structure
                           and is as long as it; keep_original_sound muxes the input's audio
    feature video          the same with the reference video (looped) at a reduced
                           conditioning scale (``feature_scale``, default 0.5)
    multi-shot             shots in order, each started from the previous shot's last frame
                           (VACE keep-mask or I2V image); every shot gets exactly its frames
    beyond one window      (Wan makes 81 frames = 5 s per call) chunks, each conditioned on the
                           last 5 frames (VACE) or the last frame (I2V) of the one before

Output contract: frames are generated at the model's native size for the aspect ratio and at
its native rate (16 fps; 24 for TI2V-5B), then delivered at ``job.width × job.height``, 24 fps
and exactly ``job.frame_count`` frames: each output frame is the linear blend of its two
nearest native frames, cropped to the aspect ratio and scaled.

Seeds are honoured (same seed, same machine → same video), progress is reported per
denoising step, and a cancel stops the pipeline at the next step, before anything is decoded.

Speed: LoRAs are fused at start-up (:mod:`.lora`), a profile sets what step-distilled LoRAs
need (:mod:`.profiles`), and ``gpus`` spreads each video over several GPUs with diffusers'
context parallelism (:mod:`.parallel`), one process per GPU (:mod:`.ranks`, started by
:func:`launch_ranks`).
"""

from __future__ import annotations

from omnivideo.engines.wan.engine import WanEngine
from omnivideo.engines.wan.ranks import launch_ranks

__all__ = ["WanEngine", "launch_ranks"]
