#!/usr/bin/env bash
# What temporal stabilisation costs (issue #27): the same clip upscaled with `--temporal on` and
# `off`, alternated, REPS times each, median wall time; and the peak memory (max RSS) with it on
# for 4 s and the whole 10 s of the clip (flat in length: the stabiliser holds 3 frames).
#
# The clip: ../shared/media/bbb.mp4 (animation with its AAC audio) at 320x176, x4 to 1280x704
# (720p), x264 at its defaults, the default video network at --precision auto. Figures go to
# BENCHMARKS.md with the CPU named (printed first).
#
# Usage: tools/bench_temporal.sh [REPS] [SECONDS]   (defaults 3 and 4)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${UPSCALE_BIN:-$ROOT/target/release/upscale}"
REPS="${1:-3}"
SECS="${2:-4}"
WORK="$ROOT/target/bench-temporal"
mkdir -p "$WORK"
command -v /usr/bin/time >/dev/null || { echo "error: /usr/bin/time is missing (apt install time)" >&2; exit 1; }
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'); $(grep -o -w -E 'avx512_bf16|amx_bf16|avx512_vnni|avx512f|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "cores: $(nproc)  load before: $(cut -d' ' -f1-3 /proc/loadavg)"

clip() { # clip SECONDS -> path
  local out="$WORK/bbb_${1}s.mp4"
  [ -f "$out" ] || ffmpeg -v error -y -i "$ROOT/../shared/media/bbb.mp4" -t "$1" -c copy "$out"
  echo "$out"
}

run() { # run CLIP MODE -> "seconds maxrss_kb"
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$BIN" "$1" -o "$WORK/out_$2.mkv" -s 4 -y -q --temporal "$2" >/dev/null
  cat "$WORK/time"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

c="$(clip "$SECS")"
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$c")
: > "$WORK/on"; : > "$WORK/off"
for _ in $(seq "$REPS"); do
  for mode in off on; do
    read -r secs rss < <(run "$c" "$mode")
    echo "$secs" >> "$WORK/$mode"
    echo "  $mode: ${secs} s, max RSS $((rss / 1024)) MiB"
  done
done
off=$(median < "$WORK/off"); on=$(median < "$WORK/on")
echo "clip: $c ($frames frames, 320x176 -> 1280x704, audio copied)"
echo "median off ${off} s ($(echo "$frames / $off" | bc -l | cut -c1-5) fps), on ${on} s ($(echo "$frames / $on" | bc -l | cut -c1-5) fps): on/off $(echo "$on / $off" | bc -l | cut -c1-5)"
for s in "$SECS" 10; do
  read -r secs rss < <(run "$(clip "$s")" on)
  echo "memory: the first ${s} s of the clip, temporal on: max RSS $((rss / 1024)) MiB (${secs} s)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
