#!/usr/bin/env bash
# The `full` checks in one device call of at most 9 minutes, under KERAS_BACKEND=jax on the
# course's GPU machine (JAX, CUDA, no TensorFlow, no internet). Carry [".whl", "runs/gpu"],
# made by benchmarks/gpu/prepare.sh. Each check has its own time limit, so one that runs long
# cannot take the others' time; each writes its JSON to $OUT (the device tool brings it back).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-runs/gpu/out}"
mkdir -p "$OUT"

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"

check() {  # name, seconds, command...
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    echo "$name: rc=$rc in $((SECONDS - start)) s (limit $limit s)" | tee -a "$OUT/summary.txt"
    tail -n 3 "$OUT/$name.log"
}

# Chapter 08: MiniLM, every RT label (64 tokens) and every IMDB label (256 tokens).
check minilm_full 200 python3 benchmarks/minilm_rt.py --config full \
    --data runs/gpu/minilm_full.npz --json "$OUT/minilm_full.json"
# Chapter 06's GPT at nanoGPT's shakespeare-char size (no PyTorch timing: time is short).
check gpt_full 130 python3 benchmarks/gpt_char.py --config full --no-torch \
    --data runs/gpu/shakespeare_char.npz --json "$OUT/gpt_full.json"
# Chapters 07-08's own MLM at GPU compute: does it pay there? (the steps that fit the time)
check bert_imdb_full 180 python3 benchmarks/bert_imdb.py --config full --steps 8000 \
    --data runs/gpu/imdb_full.npz --json "$OUT/bert_imdb_full.json"
cat "$OUT/summary.txt"
