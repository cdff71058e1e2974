#!/usr/bin/env bash
# The video pipeline against its yardsticks, on the same machine in one run (issue 12): for each
# clip and padding, the model alone (realesr-animevideov3 x4 fp32 on frames decoded beforehand: one
# all-core session, and the frame workers), our pipeline (`upscale::video::upscale_file`, audio and
# subtitles copied), and a plain onnxruntime-python loop on the same .onnx file
# (tools/plain_loop.py: ffmpeg pipes, audio copied). Prints frames per second and the ratios.
#
#   tools/bench_yardstick.sh            # pads "10 0", one run each (UPSCALE_BENCH_REPS to repeat)
#   PYTHON=/path/to/venv/bin/python PADS="10" tools/bench_yardstick.sh
# Then the CPU seconds of each thread of one CLI run (tools/thread_times.py) on the first clip.
#
# Then the CPU runtimes (issue 20, benches/runtimes.rs): ONNX Runtime fp32 (today's) against
# OpenVINO fp32/bf16/int8 and `auto`, interleaved and repeated: model alone and the whole pipeline
# on samples/pan.mp4 and the 320x240 clip with audio, and a 1-megapixel photo x4 per network.
#   PARTS=runtimes tools/bench_yardstick.sh      # only that part (PARTS="yardstick runtimes" is the default)
# The yardstick part runs ONNX Runtime (UPSCALE_RUNTIME=onnxruntime), as the Python loop does.
#
# Needs: ffmpeg/ffprobe, ../shared/media (tos.mp4 for live action, bbb.mp4 for its AAC track), a
# Python with onnxruntime (`pip install onnxruntime==1.31.1`), the model in .cache/models or models/.
# Clips are made in a temporary folder, removed at the end: 160x120 x 48 frames with audio, the same
# without audio, the same with audio and subtitles; 320x240 x 24 frames with audio; samples/pan.mp4.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PADS=${PADS:-10 0}
PARTS=${PARTS:-yardstick runtimes}
MEDIA=${UPSCALE_MEDIA:-../shared/media}
[[ " $PARTS " != *" yardstick "* ]] || "$PYTHON" -c "import onnxruntime" 2>/dev/null ||
    { echo "error: $PYTHON has no onnxruntime: pip install onnxruntime==1.31.1 (or set PYTHON)" >&2; exit 2; }
MODEL=""
for m in models/realesr-animevideov3-x4.onnx .cache/models/realesr-animevideov3-x4.onnx; do
    [ -f "$m" ] && { MODEL=$m; break; }
done
[ -n "$MODEL" ] || { echo "error: realesr-animevideov3-x4.onnx not in models/ or .cache/models (run tools/setup.sh)" >&2; exit 2; }
for f in "$MEDIA/tos.mp4" "$MEDIA/bbb.mp4" samples/pan.mp4; do
    [ -f "$f" ] || { echo "error: $f: missing" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
# Live action from 3 s in, scaled; AAC from bbb.mp4 (the only clip in ../shared/media with audio).
clip() { # size frames out [extra args]
    local size=$1 frames=$2 out=$3; shift 3
    ff -ss 3 -i "$MEDIA/tos.mp4" -ss 3 -i "$MEDIA/bbb.mp4" "$@" -map 0:v:0 -frames:v "$frames" \
        -vf "scale=$size" -c:v libx264 -crf 18 -c:a aac -b:a 128k -shortest "$out"
}
printf '1\n00:00:00,000 --> 00:00:01,000\nfirst line\n\n2\n00:00:01,000 --> 00:00:02,000\nsecond line\n' >"$tmp/subs.srt"
clip 160x120 48 "$tmp/audio160.mp4" -map 1:a:0
clip 160x120 48 "$tmp/noaudio160.mp4" -an
clip 160x120 48 "$tmp/subs160.mp4" -i "$tmp/subs.srt" -map 1:a:0 -map 2:s:0 -c:s mov_text
clip 320x240 24 "$tmp/audio320.mp4" -map 1:a:0
cp samples/pan.mp4 "$tmp/pan.mp4"
clips="$tmp/audio160.mp4 $tmp/noaudio160.mp4 $tmp/subs160.mp4 $tmp/audio320.mp4 $tmp/pan.mp4"

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU flags for the runtimes: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|avx512_vnni|avx512_fp16|amx_bf16|amx_int8)$' | tr '\n' ' ')"
if [[ " $PARTS " == *" runtimes "* ]]; then
    echo
    echo "Runtimes (ratios against ONNX Runtime fp32 in the same round; dB against its output):"
    # Short clips, as the machine is shared and every setting runs each twice a round (model
    # alone, pipeline): the first 16 frames of samples/pan.mp4 with its audio, and 8 frames of the
    # 320x240 live-action clip with audio. RUNTIME_FRAMES="48 24" for the whole clips.
    read -r pan_frames live_frames <<<"${RUNTIME_FRAMES:-16 8}"
    ff -i samples/pan.mp4 -frames:v "$pan_frames" -c:v libx264 -crf 18 -c:a aac -b:a 128k -shortest "$tmp/pan_r.mp4"
    clip 320x240 "$live_frames" "$tmp/live320_r.mp4" -map 1:a:0
    UPSCALE_BENCH_CLIPS="$tmp/pan_r.mp4,$tmp/live320_r.mp4" UPSCALE_BENCH_REPS=${UPSCALE_BENCH_REPS:-2} \
        UPSCALE_BENCH_PHOTO_REPS=${UPSCALE_BENCH_PHOTO_REPS:-1} UPSCALE_BENCH_LARGE_MP=${UPSCALE_BENCH_LARGE_MP:-0.05} \
        cargo bench -q --bench runtimes 2>/dev/null | grep '^row' | tee "$tmp/runtimes.txt"
    echo "load after the runtimes: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| clip | setting (ran) | model alone fps (× ORT fp32) | CPU s/frame (×) | pipeline fps (×) | CPU s/frame (×) | PSNR vs ORT fp32 |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    sed -n 's/^row clip //p' "$tmp/runtimes.txt"
    echo
    echo "| photo ×4 | setting (ran) | seconds per MP (× ORT fp32) | CPU s per MP (×) | PSNR vs ORT fp32 |"
    echo "|---|---|---:|---:|---:|"
    sed -n 's/^row photo //p' "$tmp/runtimes.txt"
fi
[[ " $PARTS " == *" yardstick "* ]] || exit 0
export UPSCALE_RUNTIME=onnxruntime
UPSCALE_BENCH_CLIPS=$(echo $clips | tr ' ' ,) UPSCALE_BENCH_PADS=$(echo $PADS | tr ' ' ,) \
    UPSCALE_BENCH_REPS=${UPSCALE_BENCH_REPS:-1} cargo bench -q --bench pipeline 2>/dev/null |
    grep '^yardstick' >"$tmp/rust.txt"
: >"$tmp/py.txt"
for c in $clips; do
    for pad in $PADS; do
        r=$("$PYTHON" tools/plain_loop.py "$c" "$tmp/py.mp4" --model "$MODEL" --pad "$pad")
        echo "$c $pad $(echo "$r" | sed -n 's/.*fps=\([0-9.]*\).*/\1/p') $(echo "$r" | sed -n 's/.*cpu=//p')" >>"$tmp/py.txt"
    done
done
# Where the time goes: CPU seconds per thread of the CLI on the first clip (pad 10).
cargo build -q --release
echo
echo "Per thread, upscale $(basename "${clips%% *}") -s 4 -d cpu (CPU seconds):"
"$PYTHON" tools/thread_times.py target/release/upscale "${clips%% *}" -o "$tmp/cli.mp4" -s 4 -d cpu -y -q
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Frames per second (wall clock), and CPU seconds per frame (all threads and processes):"
echo
echo "| clip | pad | model alone: 1 session / workers | pipeline | python loop | pipeline / best model alone | pipeline / python | CPU s/frame: model (best) / pipeline / python |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
while read -r _ clip frames pad single workers pipe cs cw cp; do
    clip=${clip#clip=} pad=${pad#pad=} single=${single#model_single=} workers=${workers#model_workers=} pipe=${pipe#pipeline=}
    cs=${cs#cpu_single=} cw=${cw#cpu_workers=} cp=${cp#cpu_pipeline=}
    read -r py pycpu < <(awk -v c="$clip" -v p="$pad" '$1 == c && $2 == p { print $3, $4 }' "$tmp/py.txt")
    awk -v n="$(basename "$clip") (${frames#frames=})" -v pad="$pad" -v s="$single" -v w="$workers" -v f="$pipe" \
        -v py="$py" -v cs="$cs" -v cw="$cw" -v cp="$cp" -v pc="$pycpu" 'BEGIN {
            best = s > w ? s : w; cb = s > w ? cs : cw
            printf "| %s | %s | %.2f / %.2f | %.2f | %.2f | %.3f | %.2f | %.3f / %.3f / %.3f |\n", n, pad, s, w, f, py, f / best, f / py, cb, cp, pc }'
done <"$tmp/rust.txt"
