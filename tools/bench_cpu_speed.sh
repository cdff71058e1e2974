#!/usr/bin/env bash
# Issue 29's picture and int8 goals on this CPU, in one run, alternated (tools/bench_vsmlrt.sh is
# the video yardstick; `cargo bench --bench model` the peak-share table):
#   1. A ~1 MP real frame x4 (Tears of Steel, 1280x720 by Lanczos from the 640x360 source) with the
#      picture default (realesr-general-x4v3) at `auto`, at `auto` with tiles of 256 and of 128,
#      and at fp32; realesrgan-x4plus the same on a 320x180 frame (its runs are 30x longer).
#   2. `--precision int8` against `auto` on the video default (realesr-animevideov3 x4) on a
#      320x180 real clip of 48 frames with its audio (Big Buck Bunny), FFV1 out, --temporal off.
# Each figure is the median of REPS alternated runs (wall seconds), after one untimed run of each
# (compiling for the shapes, timing the automatic tile on first use). Prints the CPU first.
#
#   tools/bench_cpu_speed.sh          # REPS=3
# Env: UPSCALE (default target/release/upscale), REPS, UPSCALE_MEDIA (default ../shared/media).
set -euo pipefail
cd "$(dirname "$0")/.."
UPSCALE=${UPSCALE:-$PWD/target/release/upscale}
REPS=${REPS:-3}
MEDIA=${UPSCALE_MEDIA:-../shared/media}
for t in ffmpeg ffprobe python3; do
    command -v "$t" >/dev/null || { echo "error: $t: not found" >&2; exit 2; }
done
[ -x "$UPSCALE" ] || { echo "error: $UPSCALE: no such executable (cargo build --release)" >&2; exit 2; }
for f in tos.mp4 bbb.mp4; do
    [ -f "$MEDIA/$f" ] || { echo "error: $MEDIA/$f: missing" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'); flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|avx512_vnni|amx_bf16|amx_int8)$' | tr '\n' ' ')"
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"

ffmpeg -v error -y -ss 5 -i "$MEDIA/tos.mp4" -frames:v 1 -vf scale=1280:720:flags=lanczos "$tmp/mp1.png"
ffmpeg -v error -y -ss 5 -i "$MEDIA/tos.mp4" -frames:v 1 -vf scale=320:180:flags=lanczos "$tmp/small.png"
ffmpeg -v error -y -i "$MEDIA/bbb.mp4" -frames:v 48 -vf scale=320:180 -c:v libx264 -crf 18 -c:a copy "$tmp/clip.mp4"

# name|args...: one case per line.
cases=(
    "general auto|$tmp/mp1.png -m realesr-general-x4v3 -s 4"
    "general auto -t 256|$tmp/mp1.png -m realesr-general-x4v3 -s 4 -t 256"
    "general auto -t 128|$tmp/mp1.png -m realesr-general-x4v3 -s 4 -t 128"
    "general fp32|$tmp/mp1.png -m realesr-general-x4v3 -s 4 --precision fp32"
    "x4plus auto|$tmp/small.png -m realesrgan-x4plus -s 4"
    "x4plus fp32|$tmp/small.png -m realesrgan-x4plus -s 4 --precision fp32"
    "video auto|$tmp/clip.mp4 -m realesr-animevideov3 -s 4 --codec ffv1 --temporal off"
    "video int8|$tmp/clip.mp4 -m realesr-animevideov3 -s 4 --codec ffv1 --temporal off --precision int8"
)
run() { # $1 = case index, $2 = output name; prints seconds
    local spec=${cases[$1]} ext=png
    local args=${spec#*|}
    [[ $args == *clip.mp4* ]] && ext=mkv
    local s e
    s=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$UPSCALE" $args -o "$tmp/$2.$ext" -y -q 2>"$tmp/err" || { echo "error: ${spec%%|*}: $(tail -1 "$tmp/err")" >&2; exit 1; }
    e=$(date +%s.%N)
    python3 -c "print(f'{$e - $s:.3f}')"
}
for i in "${!cases[@]}"; do
    # One untimed run each, whose note (runtime, precision, tile) is shown.
    spec=${cases[$i]}
    ext=png
    [[ $spec == *clip.mp4* ]] && ext=mkv
    # shellcheck disable=SC2086
    note=$("$UPSCALE" ${spec#*|} -o "$tmp/warm$i.$ext" -y 2>&1 >/dev/null | grep -m1 'device' || true)
    echo "${spec%%|*}: $note"
done
declare -A times
for r in $(seq "$REPS"); do
    for i in "${!cases[@]}"; do
        times[$i]+="$(run "$i" "r$i") "
    done
done
python3 - "$REPS" "${#cases[@]}" <<EOF
import statistics, sys
names = """$(for c in "${cases[@]}"; do echo "${c%%|*}"; done)""".split("\n")
times = """$(for i in "${!cases[@]}"; do echo "${times[$i]}"; done)""".split("\n")
med = {}
for n, t in zip(names, times):
    v = [float(x) for x in t.split()]
    med[n] = statistics.median(v)
    print(f"{n:22s} median {med[n]:8.2f} s   runs {' '.join(f'{x:.2f}' for x in v)}")
print(f"general-x4v3 1 MP x4: auto is {med['general fp32'] / med['general auto']:.2f}x fp32; "
      f"tiles of 256 {med['general auto'] / med['general auto -t 256']:.2f}x and of 128 "
      f"{med['general auto'] / med['general auto -t 128']:.2f}x the automatic tile's speed")
print(f"realesrgan-x4plus 320x180 x4: auto is {med['x4plus fp32'] / med['x4plus auto']:.2f}x fp32")
print(f"video default, 48 frames 320x180 x4: int8 is {med['video auto'] / med['video int8']:.2f}x auto")
EOF
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
