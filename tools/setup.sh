#!/usr/bin/env bash
# Installs what `upscale` needs on Debian 12 and builds it: FFmpeg development packages, the
# ONNX Runtime library (from the `onnxruntime` wheel on PyPI), the large Real-ESRGAN models
# (converted from the official ncnn weights into .cache/models), then `cargo build --release`.
# Idempotent: a second run only checks. Options:
#   --no-build     skip cargo build
#   --no-models    skip converting realesrgan-x4plus and realesrgan-x4plus-anime
#   --gpu          also fetch the CUDA build (onnxruntime-gpu) into .cache/onnxruntime-gpu
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ORT_VERSION=1.31.1
build=1 models=1 gpu=0
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --no-models) models=0 ;;
    --gpu) gpu=1 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
say() { echo "setup: $*" >&2; }

# 1. Debian packages: FFmpeg libraries and headers, clang for bindgen, the ffmpeg CLI (tests
#    make and probe clips with it), libomp5 (the ncnn reference implementation's CPU path),
#    slurm-wlm (tests/slurm.rs runs a one-node cluster: tools/slurm_local.sh; no daemon starts).
pkgs=(pkg-config clang libclang-dev libavcodec-dev libavformat-dev libavfilter-dev libavutil-dev
      libswscale-dev libswresample-dev libavdevice-dev ffmpeg libomp5 python3-pip unzip slurm-wlm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 1b. Chromium, for the browser test of `upscale serve` (tests/serve_browser.rs): Debian's
#     package without its recommends (12 packages, ~130 MB; a hundred more with them).
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
  say "installing chromium (browser tests of upscale serve)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || say "chromium could not be installed: tests/serve_browser.rs will fail saying so"
fi

PY=python3
pip_dl() { # pip_dl PACKAGE==VERSION DIR
  $PY -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    "$1" -d "$2"
}

# tests/k8s.rs validates the emitted Kubernetes manifests offline with kubernetes-validate.
if ! $PY -c 'import kubernetes_validate' 2>/dev/null; then
  say "installing kubernetes-validate (PyPI)"
  $PY -m pip install --quiet kubernetes-validate 2>/dev/null \
    || $PY -m pip install --quiet --user --break-system-packages kubernetes-validate
fi

# 2. ONNX Runtime: the shared library out of the PyPI wheel, nothing else of it.
ORT_DIR=$ROOT/.cache/onnxruntime
if [ ! -f "$ORT_DIR/libonnxruntime.so.$ORT_VERSION" ]; then
  say "fetching onnxruntime $ORT_VERSION (PyPI wheel) into .cache/onnxruntime"
  mkdir -p "$ORT_DIR/wheel"
  pip_dl "onnxruntime==$ORT_VERSION" "$ORT_DIR/wheel"
  unzip -q -o -j "$ORT_DIR"/wheel/onnxruntime-*.whl "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" -d "$ORT_DIR"
  rm -rf "$ORT_DIR/wheel"
fi
ln -sf "libonnxruntime.so.$ORT_VERSION" "$ORT_DIR/libonnxruntime.so"

if [ "$gpu" = 1 ]; then
  GPU_DIR=$ROOT/.cache/onnxruntime-gpu
  if [ ! -f "$GPU_DIR/libonnxruntime.so.$ORT_VERSION" ]; then
    say "fetching onnxruntime-gpu $ORT_VERSION (CUDA 13) into .cache/onnxruntime-gpu"
    mkdir -p "$GPU_DIR/wheel"
    pip_dl "onnxruntime-gpu==$ORT_VERSION" "$GPU_DIR/wheel"
    unzip -q -o -j "$GPU_DIR"/wheel/onnxruntime_gpu-*.whl 'onnxruntime/capi/*.so*' -d "$GPU_DIR"
    rm -rf "$GPU_DIR/wheel"
  fi
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$GPU_DIR/libonnxruntime.so"
  say "GPU runtime in .cache/onnxruntime-gpu: run with ORT_DYLIB_PATH=$GPU_DIR/libonnxruntime.so"
  say "(it needs the NVIDIA driver plus CUDA 13 cuBLAS, cuDNN 9, cuFFT, cuRAND and NVRTC)"
fi

# 3. The large official models, converted from ncnn into the git-ignored cache.
if [ "$models" = 1 ]; then
  # fp32 and fp16 of the large models, fp16 of the built-in one (its fp32 is in models/).
  need=()
  for m in realesrgan-x4plus realesrgan-x4plus-anime realesr-animevideov3-x2 realesr-animevideov3-x3 realesr-animevideov3-x4; do
    [ -f "$ROOT/.cache/models/$m-fp16.onnx" ] || need+=("$m")
  done
  if [ ${#need[@]} -gt 0 ]; then
    say "converting ${need[*]} from the official ncnn weights into .cache/models"
    bash tools/convert_models.sh "$ROOT/.cache/models" --fp16 "${need[@]}"
  fi
fi

# 4. Build; put the library next to the binary so it runs from anywhere.
if [ "$build" = 1 ]; then
  cargo build --release --quiet
  cp -f "$ORT_DIR/libonnxruntime.so.$ORT_VERSION" target/release/
  ln -sf "libonnxruntime.so.$ORT_VERSION" target/release/libonnxruntime.so
fi
say "ready"
