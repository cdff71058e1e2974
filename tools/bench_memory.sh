#!/usr/bin/env bash
# Peak memory of the video pipeline against video length: the same frames size, a 5 s and a
# 60 s clip (Big Buck Bunny from ../shared/media, looped), upscaled by realesr-animevideov3 x2
# on the CPU. Prints one line a clip: frames, wall time, peak RSS (GNU time's maximum resident
# set size). Memory is bounded by the channel depth, so the two peaks should be about equal.
#
# Usage: tools/bench_memory.sh [SIZE]   (SIZE default 128x72; needs ffmpeg and /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-128x72}
src=../shared/media/bbb.mp4
bin=target/release/upscale
[ -x "$bin" ] || { echo "bench_memory: build first (tools/setup.sh)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_memory: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for secs in 5 60; do
  ffmpeg -hide_banner -loglevel error -y -stream_loop -1 -i "$src" -t "$secs" -vf "scale=$size" \
    -c:v libx264 -crf 20 -c:a aac "$dir/in$secs.mp4"
  frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$dir/in$secs.mp4")
  /usr/bin/time -f '%e %M' -o "$dir/time$secs" "$bin" "$dir/in$secs.mp4" -o "$dir/out$secs.mp4" -s 2 -d cpu -q -y
  read -r wall kb < "$dir/time$secs"
  out=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$dir/out$secs.mp4")
  echo "${secs} s clip, $size -> x2: $frames frames in, $out out, ${wall} s, peak RSS $((kb / 1024)) MiB"
done
