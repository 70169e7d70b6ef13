#!/usr/bin/env bash
# Prepare the GPU check here, on the CPU machine with the course installed: token ids and
# weights for the three `full` runs, and the pure-Python wheels the GPU image lacks.
# Writes runs/gpu/ and .whl/ (both git-ignored), then prints their sizes: together they must
# stay under the device's 64 MiB carry.
set -euo pipefail
cd "$(dirname "$0")/../.."

mkdir -p runs/gpu
python benchmarks/gpt_char.py --config full --save-data runs/gpu/shakespeare_char.npz
python benchmarks/bert_imdb.py --config full --save-data runs/gpu/imdb_full.npz
python benchmarks/minilm_rt.py --config full --save-data runs/gpu/minilm_full.npz
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl \
    keras==3.15.1 namex optree
du -ch runs/gpu/*.npz .whl/*.whl
