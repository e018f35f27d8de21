#!/usr/bin/env bash
# The GPU benchmark matrix in one go, within 10 minutes: Wan at real sizes with random weights
# (bench/wan.py: plain diffusers against the engine, same run) and the audio stage
# (bench/audio.py), printing one JSON line per figure on stdout.
#
#   bench/gpu.sh             on a machine with an NVIDIA GPU (two or more: context parallelism too)
#   bench/gpu.sh --dry-run   anywhere: the same cases at tiny sizes on the CPU (checks the flags)
#
# Cases run in order of importance, each under the time left (GPU_BENCH_BUDGET_S, default 570 s
# for the whole script); a case that fails or runs out of time prints a JSON line saying so and
# the next one runs. Denoising figures (s_per_step) need few steps, so the 14B cases take 2.
# Without a GPU (and without --dry-run) it prints one "skipped" line and exits 0.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
BUDGET=${GPU_BENCH_BUDGET_S:-570}
START=$(date +%s)
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT
export HF_HUB_OFFLINE=1 PYTHONWARNINGS=ignore TOKENIZERS_PARALLELISM=false

note() {  # note KEY=VALUE ... : one JSON status line (not a figure)
    "$PY" - "$@" <<'PYEOF'
import json, sys
print(json.dumps({"bench": "gpu", **dict(a.split("=", 1) for a in sys.argv[1:])}), flush=True)
PYEOF
}

DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
GPUS=0
if [ "$DRY" = 0 ]; then
    if command -v nvidia-smi >/dev/null 2>&1; then
        GPUS=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
    fi
    if [ "$GPUS" -lt 1 ] || ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
        note skipped="no NVIDIA GPU that torch can use (run with --dry-run to check the script)"
        exit 0
    fi
    note gpus="$GPUS" device="$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1)" budget_s="$BUDGET"
else
    note dry_run=1 budget_s="$BUDGET"
fi

# case NAME CAP_S SCRIPT ARGS... : run one benchmark under min(CAP_S, time left)
case_() {
    local name=$1 cap=$2
    shift 2
    local left=$((BUDGET - ($(date +%s) - START)))
    if [ "$left" -lt 20 ]; then
        note case="$name" skipped="out of time"
        return
    fi
    [ "$cap" -lt "$left" ] || cap=$left
    [ "$DRY" = 1 ] && cap=$left
    local t0=$(date +%s)
    timeout --kill-after=15 "$cap" "$PY" "$@" 2>"$LOG/$name.err"
    local rc=$?
    if [ "$rc" = 0 ]; then
        note case="$name" ok=1 wall_s=$(($(date +%s) - t0))
    elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        note case="$name" timed_out_after_s="$cap"
    else
        note case="$name" failed_rc="$rc" last_error="$(tail -n 3 "$LOG/$name.err" | tr '\n"' ' ' | cut -c1-400)"
    fi
}

if [ "$DRY" = 1 ]; then
    SMALL=(--tiny --device cpu)
    BIG=(--tiny --device cpu)
    AUDIO=(--tiny --rounds 1)
else
    SMALL=(--res 480p --frames 81 --steps 10)
    BIG=(--frames 81 --steps 2)
    AUDIO=(--res 480p --frames 81 --steps 10 --audio-steps 100 --rounds 1)
fi

# 1.3B at 480p, 81 frames: plain diffusers against the engine's defaults
case_ wan-1.3b-480p-defaults 110 bench/wan.py --arch wan2.1-vace-1.3b "${SMALL[@]}"
# the audio stage against the render it follows (Stable Audio Open's size, random weights)
case_ audio-stage 100 bench/audio.py --arch wan2.1-vace-1.3b "${AUDIO[@]}"
# step distillation: the distill-4step profile with a random rank-64 LoRA standing in
case_ wan-1.3b-480p-distill-4step 80 bench/wan.py --arch wan2.1-vace-1.3b "${SMALL[@]}" \
    --profile distill-4step --random-lora 64
# 14B at 480p
case_ wan-14b-480p-defaults 130 bench/wan.py --arch wan2.1-vace-14b --res 480p "${BIG[@]}"
# fp8 weights (storage: any recent NVIDIA GPU; the plain run goes first, in bfloat16)
case_ wan-1.3b-480p-fp8 80 bench/wan.py --arch wan2.1-vace-1.3b "${SMALL[@]}" --fp8 storage
# two GPUs: one video spread over both with context parallelism
if [ "$GPUS" -ge 2 ] || [ "$DRY" = 1 ]; then
    case_ wan-1.3b-480p-2gpus 110 bench/wan.py --arch wan2.1-vace-1.3b "${SMALL[@]}" --gpus 0,1
fi
# 14B at 720p: the largest, last
case_ wan-14b-720p-defaults 240 bench/wan.py --arch wan2.1-vace-14b --res 720p "${BIG[@]}"
note done=1 wall_s=$(($(date +%s) - START))
