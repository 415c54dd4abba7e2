#!/usr/bin/env bash
# Train the tagger on a lent GPU (the device tool) in one call, and bring the weights back.
#
#   scripts/device_train.sh --pack             # here, once: .device/ (training pairs, xz) and .whl/ (datasets
#                                              # for the GPU's Python 3.12), both kept out of git
#   device run: carry [".device", ".whl"], command "bash scripts/device_train.sh 6", timeout_s 560
#   python scripts/train.py --run <files_at>/model --export models/restore-t5-tagger   # here: ONNX + decider
#
# On the GPU: warm start from the shipped model, train MINUTES (default 6) with bigger batches, then write
# the last checkpoints' average in fp16 shards of at most 15 MB and the log to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--pack" ]; then
  for d in .device .whl; do grep -qx "/$d/" .git/info/exclude || echo "/$d/" >> .git/info/exclude; done
  mkdir -p .device .whl
  xz -T2 -6 -c data/pairs/train.jsonl > .device/train.jsonl.xz
  cp data/pairs/dev.jsonl .device/dev.jsonl
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19  # as in the CPU venv
  du -sh .device .whl
  exit 0
fi
MINUTES=${1:-6}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:?set by the device tool}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! python3 -c "import datasets" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
mkdir -p data/pairs
xz -dc .device/train.jsonl.xz > data/pairs/train.jsonl
cp .device/dev.jsonl data/pairs/dev.jsonl
RUN=/tmp/restore-run
python3 scripts/train.py --data data/pairs --run "$RUN" --init models/restore-t5-tagger --device "$DEVICE" \
  --batch-size 256 --max-hours "$(python3 -c "print($MINUTES / 60)")" 2>&1 | grep -v "examples/s" | tee "$OUT/train.log"
python3 scripts/train.py --run "$RUN" --export "$OUT/model" --weights-only
ls -la "$OUT/model"
