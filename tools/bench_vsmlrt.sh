#!/usr/bin/env bash
# Our video path against vs-mlrt on the same clip and network (issue 29 point 1's yardstick).
#
# vs-mlrt: VapourSynth 81 + vapoursynth-mlrt-ov 17.1 (vs-mlrt's OpenVINO plugin, OpenVINO 2026.4.1)
# + vapoursynth-bestsource 22, all from PyPI into their own venv under target/ (CPython 3.12 from
# pyenv: the wheels want >= 3.12). vs-mlrt's `vsmlrt.py` helper is neither in these wheels nor on
# PyPI, so tools/vsmlrt_run.py calls the plugin as vsmlrt.py 3.23.2 configures `Backend.OV_CPU`
# (`_inference`, OpenVINO >= 2024), with `Backend.OV_CPU(num_streams=2, bf16=<CPU has bf16>)`:
#   core.ov.Model([rgbs], network, device="CPU", fp16=False, overlap=(0, 0),
#                 tilesize=(width, height), config=lambda: dict(
#       NUM_STREAMS=2,                     # num_streams=2 (vsmlrt.py's default is 1)
#       INFERENCE_NUM_THREADS=0,           # num_threads=0: OpenVINO's default, all cores
#       ENABLE_CPU_PINNING="YES",          # bind_thread=True (the default)
#       INFERENCE_PRECISION_HINT="bf16"))  # bf16=True where /proc/cpuinfo has avx512_bf16 or
#                                          # amx_bf16, else "f32" (vsmlrt.py's fp16=False path)
# i.e. one tile the size of the frame, no overlap, no padding (`tiles=1`, `overlap=0`), two frames
# in flight (VapourSynth's 2 threads on 2 cores, one infer request each). Source decoded by
# bestsource (no index cache), RGBS by zimg (BT.709), back to YUV420P8 by zimg, y4m piped into
# `ffmpeg -c:v ffv1` -> .mkv.
#
# Ours, on the same clip, FFV1 in .mkv (`--codec ffv1`), `--precision auto`:
#   pad 0:    -m realesr-animevideov3 -s 4 --tile-pad 0 --temporal off  (the same work as vs-mlrt)
#   defaults: -m realesr-animevideov3 -s 4, --temporal off, and --temporal on (the default: the
#             stabiliser is work vs-mlrt does not do)
# The runs alternate (vs-mlrt, ours pad 0, ours defaults off, ours defaults on) for REPS rounds;
# each round also times vs-mlrt's network alone (frames fetched and dropped, after compiling).
# Prints wall seconds and CPU seconds (user + system of every process of the run: on a shared
# machine the steadier figure), medians, speed ratios (their time / our time), output frame
# counts (ffprobe) and the PSNR between vs-mlrt's output and ours at pad 0 (ffmpeg's psnr filter)
# and at our defaults.
#
# The clip: ../shared/media/tos.mp4 (live action), first FRAMES frames, scaled to SIZE, tagged
# BT.709 (so both sides use the same matrix), x264 CRF 18, no audio (vs-mlrt's path has none).
#
#   tools/bench_vsmlrt.sh                       # REPS=3, FRAMES=120, SIZE=320x180
#   UPSCALE=/tmp/upscale-vs REPS=5 tools/bench_vsmlrt.sh
# Env: UPSCALE (our binary, default target/release/upscale), REPS, FRAMES, SIZE, VENV (default
# target/vsmlrt-venv), UPSCALE_MEDIA (default ../shared/media).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
UPSCALE=${UPSCALE:-$ROOT/target/release/upscale}
REPS=${REPS:-3}
FRAMES=${FRAMES:-120}
SIZE=${SIZE:-320x180}
VENV=${VENV:-$ROOT/target/vsmlrt-venv}
MEDIA=${UPSCALE_MEDIA:-../shared/media}
PKGS="vapoursynth==81 vapoursynth-mlrt-ov==17.1 vapoursynth-bestsource==22"

for t in ffmpeg ffprobe; do
    command -v "$t" >/dev/null || { echo "error: $t: not found (apt-get install ffmpeg)" >&2; exit 2; }
done
[ -x "$UPSCALE" ] || { echo "error: $UPSCALE: no such executable (build it, or set UPSCALE)" >&2; exit 2; }
[ -f "$MEDIA/tos.mp4" ] || { echo "error: $MEDIA/tos.mp4: missing" >&2; exit 2; }
MODEL=""
for m in models/realesr-animevideov3-x4.onnx .cache/models/realesr-animevideov3-x4.onnx; do
    [ -f "$m" ] && { MODEL=$ROOT/$m; break; }
done
[ -n "$MODEL" ] || { echo "error: realesr-animevideov3-x4.onnx not in models/ or .cache/models (run tools/setup.sh)" >&2; exit 2; }

# The venv, made once (a stamp holds the package list it was made with).
if [ "$(cat "$VENV/.bench_vsmlrt" 2>/dev/null)" != "$PKGS" ]; then
    PY312=$(ls -d "$HOME"/.pyenv/versions/3.12.*/bin/python3 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$PY312" ] || { echo "error: no CPython 3.12 in ~/.pyenv/versions (the vs-mlrt wheels need >= 3.12): pyenv install 3.12" >&2; exit 2; }
    echo "making $VENV with $PY312: $PKGS"
    rm -rf "$VENV"
    "$PY312" -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install -q $PKGS || { echo "error: pip could not install $PKGS into $VENV" >&2; exit 2; }
    echo "$PKGS" >"$VENV/.bench_vsmlrt"
fi
PY=$VENV/bin/python
"$PY" -c 'from vapoursynth import core; core.ov.Version(); core.bs.VideoSource' ||
    { echo "error: $VENV: VapourSynth cannot load the ov or bs plugin" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
w=${SIZE%x*} h=${SIZE#*x}
ff -i "$MEDIA/tos.mp4" -frames:v "$FRAMES" -an -vf "scale=$w:$h:out_color_matrix=bt709:out_range=tv" \
    -colorspace bt709 -color_primaries bt709 -color_trc bt709 -c:v libx264 -crf 18 "$tmp/clip.mkv"
TAGS=(-colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv)

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' |
    grep -E '^(avx2|avx512f|avx512_vnni|avx512_bf16|avx512_fp16|amx_tile|amx_bf16|amx_int8)$' | tr '\n' ' ')"
echo "load at start: $(uptime)"
echo "ours: $UPSCALE; vs-mlrt: $("$PY" tools/vsmlrt_run.py --versions)"
echo "clip: tos.mp4, $FRAMES frames at ${w}x${h} -> x4 $((w * 4))x$((h * 4)), FFV1; network $MODEL"

now() { date +%s.%N; }
fail() { echo "error: $1 failed; its log:" >&2; tail -n 20 "$2" >&2; exit 1; }
# "wall_s cpu_s": wall clock, and the user + system seconds of every process the run waited for
# (bash's `times` in the command substitution's own shell: its children, pipes included). CPU
# seconds move much less than wall clock when other work shares the cores.
timed() { # command... -> "wall cpu"
    local t0 t1 f=$tmp/times.$BASHPID
    t0=$(now)
    "$@"
    t1=$(now)
    times >"$f"
    tail -n 1 "$f" | awk -v a="$t0" -v b="$t1" '{
        for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); c += p[1] * 60 + p[2] }
        printf "%.2f %.2f\n", b - a, c }'
}
vsmlrt_e2e() { # out.mkv
    ( set -o pipefail; "$PY" tools/vsmlrt_run.py "$tmp/clip.mkv" "$MODEL" --y4m 2>"$tmp/vs.log" |
        ff -f yuv4mpegpipe -i - -c:v ffv1 "${TAGS[@]}" "$1" ) || fail vs-mlrt "$tmp/vs.log"
}
ours() { # out.mkv log args...
    local out=$1 log=$2
    shift 2
    "$UPSCALE" "$tmp/clip.mkv" -o "$out" -m realesr-animevideov3 -s 4 --precision auto --codec ffv1 -y "$@" \
        >"$log" 2>&1 || fail "upscale $*" "$log"
}
names="vsmlrt pad0 def_off def_on null"
for n in $names; do : >"$tmp/$n.t"; done
for r in $(seq "$REPS"); do
    read -r s c < <(timed vsmlrt_e2e "$tmp/vs.mkv"); echo "$s $c" >>"$tmp/vsmlrt.t"
    line="round $r (wall s / CPU s): vs-mlrt $s / $c"
    read -r s c < <(timed ours "$tmp/pad0.mkv" "$tmp/pad0.log" --tile-pad 0 --temporal off); echo "$s $c" >>"$tmp/pad0.t"
    line="$line, ours pad 0 $s / $c"
    read -r s c < <(timed ours "$tmp/def_off.mkv" "$tmp/def_off.log" --temporal off); echo "$s $c" >>"$tmp/def_off.t"
    line="$line, ours defaults (temporal off) $s / $c"
    read -r s c < <(timed ours "$tmp/def_on.mkv" "$tmp/def_on.log"); echo "$s $c" >>"$tmp/def_on.t"
    line="$line, ours defaults (temporal on) $s / $c"
    "$PY" tools/vsmlrt_run.py "$tmp/clip.mkv" "$MODEL" --null 2>"$tmp/null.log" || fail "vs-mlrt (network alone)" "$tmp/null.log"
    fps=$(sed -n 's/^vsmlrt frames=.* fps=//p' "$tmp/null.log"); echo "$fps" >>"$tmp/null.t"
    echo "$line; vs-mlrt network alone $fps frames/s"
    for n in pad0 def_off def_on; do
        sed -n 's/^upscale: [^ ]*clip\.mkv: \(.* at [0-9.]* frames\/s.*\)$/  ours '"$n"' calibration: \1/p' "$tmp/$n.log"
    done
done
median() { cut -d' ' -f"${2:-1}" "$1" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
vs=$(median "$tmp/vsmlrt.t") vc=$(median "$tmp/vsmlrt.t" 2)
echo
echo "config: $(sed -n 's/^vsmlrt config //p' "$tmp/vs.log")"
# The same network file on both sides: ours records its sha256 in the output's encoder tag.
ours_sha=$(ffprobe -v error -show_entries format_tags=encoder -of csv=p=0 "$tmp/pad0.mkv" | sed -n 's/.*sha256:\([0-9a-f]*\).*/\1/p')
vs_sha=$(sha256sum "$MODEL" | cut -d' ' -f1)
[ "$ours_sha" = "$vs_sha" ] || { echo "error: ours ran a network with sha256 '$ours_sha', vs-mlrt $MODEL ($vs_sha): not the same work" >&2; exit 1; }
ours_prec=$(ffprobe -v error -show_entries format_tags=encoder -of csv=p=0 "$tmp/pad0.mkv" | sed -n 's/.*precision \([a-z0-9]*\).*/\1/p')
vs_prec=$(sed -n "s/.*'INFERENCE_PRECISION_HINT': '\([a-z0-9]*\)'.*/\1/p" "$tmp/vs.log")
echo "network: both sides $MODEL, sha256 $vs_sha; precision: ours $ours_prec, vs-mlrt $vs_prec"
[ "${ours_prec/fp32/f32}" = "$vs_prec" ] || echo "warning: the precisions differ: not the same work"
echo "ours: $(sed -n 's/^upscale: device //p' "$tmp/pad0.log")"
echo "medians over $REPS rounds ($FRAMES frames):"
echo "| run | median wall s | frames/s | speed vs vs-mlrt (their s / ours) | median CPU s | CPU s/frame | CPU: theirs / ours | output frames |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
count() { ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$1"; }
row() { # label file out
    awk -v l="$1" -v m="$(median "$tmp/$2.t")" -v c="$(median "$tmp/$2.t" 2)" -v vs="$vs" -v vc="$vc" -v f="$FRAMES" \
        -v n="$(count "$3")" 'BEGIN { printf "| %s | %.2f | %.2f | %.3f | %.2f | %.3f | %.3f | %s |\n", l, m, f / m, vs / m, c, c / f, vc / c, n }'
}
row "vs-mlrt (OV_CPU, tiles=1, overlap=0)" vsmlrt "$tmp/vs.mkv"
row "ours --tile-pad 0 --temporal off (equal work)" pad0 "$tmp/pad0.mkv"
row "ours defaults, --temporal off" def_off "$tmp/def_off.mkv"
row "ours defaults (--temporal on)" def_on "$tmp/def_on.mkv"
echo "vs-mlrt network alone: median $(median "$tmp/null.t") frames/s (runs: $(tr '\n' ' ' <"$tmp/null.t"))"
# -loglevel error hides the psnr summary: ask for it at info level.
psnr() { ffmpeg -hide_banner -i "$1" -i "$2" -lavfi psnr -f null - 2>&1 | sed -n 's/.*PSNR \(y:.*\)$/\1/p'; }
echo "PSNR vs-mlrt against ours pad 0 (equal work): $(psnr "$tmp/vs.mkv" "$tmp/pad0.mkv")"
echo "PSNR vs-mlrt against ours defaults, temporal off: $(psnr "$tmp/vs.mkv" "$tmp/def_off.mkv")"
echo "PSNR vs-mlrt against ours defaults, temporal on: $(psnr "$tmp/vs.mkv" "$tmp/def_on.mkv")"
echo "load at end: $(uptime)"
