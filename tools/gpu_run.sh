#!/usr/bin/env bash
# The one GPU measurement run, for a bare GPU machine that reaches no registry (the device tool's
# H200: CUDA 13 driver, PyTorch and NVIDIA's CUDA 13 wheels in its python3). tools/gpu_pieces.sh
# prepares the pieces here; each call of the device tool carries one .gpu-pieces/callN and runs
# this script, which keeps the checked pieces in --state (kept while the machine stays warm, 30 s
# after a call). The call that completes them installs the onnxruntime-gpu libraries, converts
# the models and measures: the card's matrix-multiply peak (tools/gpu_peak.py), the model-only
# bench (frames/s, TFLOP/s, share of the peak; one and two frames in flight; NHWC for fp16) and
# the out-of-memory retry under a memory cap. Writes gpu_report.json, gpu_report.txt, model.jsonl,
# peak.json, env.txt and log.txt under $OUT.
#
# Usage: tools/gpu_run.sh [--device cuda|cpu] [--state DIR] [--pieces DIR]
#   --device cpu   the dry run: everything on the CPU at small sizes, from the same pieces
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
device=cuda state=/tmp/upscale-gpu pieces=$ROOT/.gpu-pieces
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --state) state=$2; shift 2 ;;
    --pieces) pieces=$2; shift 2 ;;
    *) echo "gpu_run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$device" in cuda|cpu) ;; *) echo "gpu_run.sh: --device cuda or cpu" >&2; exit 2 ;; esac
OUT=${OUT:-$ROOT/target/gpu-out}
mkdir -p "$OUT" "$state/pieces"
exec > >(tee -a "$OUT/log.txt") 2>&1
say() { echo "gpu_run: $*"; }
fail() { say "error: $*"; exit 1; }
t_start=$(date +%s)

# 1. Keep the pieces this call carried, each checked against the manifest.
for d in "$pieces"/call*/; do
  [ -f "$d/manifest" ] || continue
  if [ -f "$state/pieces/manifest" ] && ! cmp -s "$d/manifest" "$state/pieces/manifest"; then
    say "new pieces (another preparation): starting over"
    rm -rf "${state:?}"/pieces/* "$state/payload" "$state/models"
  fi
  cp "$d/manifest" "$state/pieces/manifest"
  for f in "$d"/piece.*; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    want=$(awk -v n="$name" '$1 == "piece" && $2 == n { print $3 }' "$state/pieces/manifest")
    got=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$want" = "$got" ] || fail "$name: sha256 $got, manifest says $want (damaged in transfer: carry it again)"
    cp "$f" "$state/pieces/$name"
    say "$name: checked ($(stat -c %s "$f") bytes)"
  done
done
[ -f "$state/pieces/manifest" ] || fail "no pieces: run tools/gpu_pieces.sh here and carry .gpu-pieces/call1"
missing=()
while read -r _ name sum _; do
  [ -f "$state/pieces/$name" ] || missing+=("$name")
done < <(grep '^piece ' "$state/pieces/manifest")
total=$(awk '$1 == "pieces" { print $2 }' "$state/pieces/manifest")
if [ ${#missing[@]} -gt 0 ]; then
  say "have $((total - ${#missing[@]})) of $total pieces; next: carry .gpu-pieces/call$((total - ${#missing[@]} + 1)) within 30 s"
  exit 0
fi

# 2. Reassemble, check, unpack (once per machine).
P=$state/payload
if [ ! -f "$P/.ok" ]; then
  rm -rf "$P" && mkdir -p "$P"
  cat "$state"/pieces/piece.* > "$state/payload.tar.xz"
  want=$(awk '$1 == "payload" { print $2 }' "$state/pieces/manifest")
  got=$(sha256sum "$state/payload.tar.xz" | cut -d' ' -f1)
  [ "$want" = "$got" ] || fail "reassembled payload sha256 $got, manifest says $want"
  if command -v xz >/dev/null; then
    xz -dc "$state/payload.tar.xz" | tar -x -C "$P" || fail "cannot unpack the payload"
  else
    python3 -c 'import lzma, sys, tarfile; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])' \
      "$state/payload.tar.xz" "$P" || fail "cannot unpack the payload"
  fi
  (cd "$P" && sha256sum --quiet -c contents.sha256) || fail "unpacked files differ from contents.sha256"
  rm -f "$state/payload.tar.xz"
  touch "$P/.ok"
  say "payload installed in $P ($(du -sh "$P" | cut -f1))"
fi
export ORT_DYLIB_PATH=$P/ort/libonnxruntime.so.1.31.1
BENCH=$P/bin/gpu_model

# 3. The models, converted from the official ncnn weights as tools/setup.sh does; their sha256
#    against what the same conversion gave where the pieces were made (the manifest).
M=$state/models
mkdir -p "$M"
model_notes=()
for spec in "realesrgan-x4plus:realesrgan-x4plus.onnx:" "realesrgan-x4plus:realesrgan-x4plus-fp16.onnx:--fp16" \
            "realesr-animevideov3-x4:realesr-animevideov3-x4-fp16.onnx:--fp16"; do
  IFS=: read -r src file flag <<<"$spec"
  if [ ! -f "$M/$file" ]; then
    # shellcheck disable=SC2086
    python3 tools/ncnn2onnx.py "$P/ncnn/$src.param" "$P/ncnn/$src.bin" "$M/$file.tmp" $flag >/dev/null ||
      fail "converting $file"
    mv "$M/$file.tmp" "$M/$file"
  fi
  sum=$(sha256sum "$M/$file" | cut -d' ' -f1)
  want=$(awk -v f="$file" '$1 == "model" && $2 == f { print $3 }' "$state/pieces/manifest")
  if [ "$sum" = "$want" ]; then model_notes+=("$file: sha256 $sum, as converted where the pieces were made")
  else model_notes+=("$file: sha256 $sum DIFFERS from ${want:-nothing recorded} (onnx $(python3 -c 'import onnx; print(onnx.__version__)'))"); fi
done
printf 'gpu_run: %s\n' "${model_notes[@]}"
export UPSCALE_MODEL_DIR=$M

# 4. The machine.
{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(uname -srm)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
  echo "python3: $(python3 --version 2>&1)"
  echo "onnxruntime: $ORT_DYLIB_PATH (GPU build 1.31.1, CUDA provider keeps sm_$(awk '$1 == "keep_sm" { print $2 }' "$state/pieces/manifest"))"
  echo "pieces: $(grep '^made' "$state/pieces/manifest")"
  if [ "$device" = cuda ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv,noheader 2>&1
    nvidia-smi 2>&1 | head -15
  fi
} > "$OUT/env.txt"
cat "$OUT/env.txt"

# 5. NVIDIA's CUDA 13 libraries: the machine's own wheels (python3's site-packages), as a user's
#    .cache/cuda13 would be.
if [ "$device" = cuda ]; then
  dirs=$(python3 -c 'import site; print(":".join(site.getsitepackages()))')
  for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib; do
    [ -d "$d" ] && dirs="$dirs:$d"
  done
  export UPSCALE_CUDA_LIBS=$dirs
  say "UPSCALE_CUDA_LIBS=$UPSCALE_CUDA_LIBS"
  for lib in libcudart.so.13 libcublasLt.so.13 libcublas.so.13 libcurand.so.10 libcufft.so.12 libnvrtc.so.13 libcudnn.so.9; do
    hit=$(IFS=:; for d in $dirs; do find "$d" -maxdepth 4 -name "$lib" 2>/dev/null | head -1; done | head -1)
    say "  $lib: ${hit:-not found in those folders (the system path is tried too)}"
  done
fi

# 6. The matrix-multiply peak, then the model-only bench against it.
if [ "$device" = cuda ]; then
  timeout 90 python3 tools/gpu_peak.py --device cuda --json "$OUT/peak.json"
  sizes=720x480,1920x1080 frames=5 seconds=2 oom=1073741824:1920x1080 bench_dev=cuda limit=330
else
  timeout 120 python3 tools/gpu_peak.py --device cpu --json "$OUT/peak.json"
  sizes=64x48 frames=2 seconds=0 oom=$((48 << 20)):256x192 bench_dev=cpu limit=300
fi
peak=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["fp16_tflops"])' "$OUT/peak.json" 2>/dev/null || echo "")
export UPSCALE_BENCH_DEVICE=$bench_dev UPSCALE_BENCH_SIZES=$sizes UPSCALE_BENCH_FRAMES=$frames \
  UPSCALE_BENCH_SECONDS=$seconds UPSCALE_BENCH_PEAK_TFLOPS=$peak
say "model-only bench ($bench_dev, $sizes)"
UPSCALE_BENCH_JSON=$OUT/model.jsonl UPSCALE_BENCH_OOM=$oom timeout $limit "$BENCH"
bench_rc=$?
if [ "$device" = cuda ]; then
  say "fp16 with NHWC convolutions (prefer_nhwc=1), one frame in flight"
  UPSCALE_CUDA_OPTIONS=prefer_nhwc=1 UPSCALE_BENCH_PRECISIONS=fp16 UPSCALE_BENCH_INFLIGHT=1 \
    UPSCALE_BENCH_JSON=$OUT/model_nhwc.jsonl timeout 100 "$BENCH"
  cat "$OUT/model_nhwc.jsonl" >> "$OUT/model.jsonl" 2>/dev/null
  rm -f "$OUT/model_nhwc.jsonl"
fi

# 7. The report: every row, the peak, the goals.
python3 - "$OUT" "$device" "$bench_rc" "$(( $(date +%s) - t_start ))" <<'EOF'
import json, os, sys
out, device, bench_rc, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
peak = json.load(open(os.path.join(out, "peak.json"))) if os.path.exists(os.path.join(out, "peak.json")) else {}
rows, oom = [], None
for line in open(os.path.join(out, "model.jsonl")) if os.path.exists(os.path.join(out, "model.jsonl")) else []:
    r = json.loads(line)
    if "oom_check" in r:
        oom = r["oom_check"]
    else:
        rows.append(r)
fp16 = [r for r in rows if r.get("model") == "realesrgan-x4plus" and r.get("precision") == "fp16" and "ratio_to_peak" in r]
best = max((r["ratio_to_peak"] or 0 for r in fp16), default=None)
report = {
    "device": device, "env": open(os.path.join(out, "env.txt")).read().splitlines(), "peak": peak, "rows": rows,
    "oom_check": oom, "bench_exit": bench_rc, "seconds": secs,
    "goal_fp16_40pct_of_peak": None if best is None else {"best_ratio": best, "met": best >= 0.4},
    "pipeline": "not measured here: the upscale binary links Debian 12's FFmpeg 5.1 (libavcodec.so.59 and "
                "about 160 libraries, 224 MB), which neither travels in the pieces nor is on the GPU machine",
}
json.dump(report, open(os.path.join(out, "gpu_report.json"), "w"), indent=1)
with open(os.path.join(out, "gpu_report.txt"), "w") as f:
    f.write(f"device {device}; peak fp16 {peak.get('fp16_tflops', float('nan')):.4g} TFLOP/s ({peak.get('backend')}, {peak.get('device_name')})\n")
    f.write(f"{'model':<22} {'prec':<5} {'input':>11} {'n':>2} {'frames/s':>9} {'TFLOP/s':>9} {'of peak':>8} {'dB/fp32':>8} options\n")
    for r in rows:
        if "error" in r:
            f.write(f"{r['model']:<22} {r['precision']:<5} {r['width']:>5}x{r['height']:<5} {r['inflight']:>2} error: {r['error']}\n")
            continue
        pct = "-" if r["ratio_to_peak"] is None else f"{100 * r['ratio_to_peak']:.1f}%"
        db = "-" if r["psnr_vs_fp32_db"] is None else f"{r['psnr_vs_fp32_db']:.1f}"
        f.write(f"{r['model']:<22} {r['precision']:<5} {r['width']:>5}x{r['height']:<5} {r['inflight']:>2} "
                f"{r['fps']:>9.3f} {r['tflops']:>9.4f} {pct:>8} {db:>8} {r.get('cuda_options', '')}\n")
    if oom:
        f.write(f"oom retry: cap {oom['limit_bytes'] >> 20} MiB, {oom['width']}x{oom['height']}: "
                f"{'complete with tile ' + str(oom['retried_with_tile']) if oom['complete'] and oom['retried_with_tile'] else 'FAILED ' + oom['error']}\n")
    if best is not None:
        verdict = ("met" if best >= 0.4 else "NOT met") if device == "cuda" else "(a CPU dry run: says nothing)"
        f.write(f"goal: realesrgan-x4plus fp16 >= 40% of the fp16 peak: best {100 * best:.1f}% -> {verdict}\n")
    f.write(f"pipeline: {report['pipeline']}\n")
    f.write(f"bench exit {bench_rc}, {secs} s in all\n")
EOF
cat "$OUT/gpu_report.txt"
say "done in $(( $(date +%s) - t_start )) s; files in $OUT"
exit "$bench_rc"
