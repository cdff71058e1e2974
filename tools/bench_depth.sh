#!/usr/bin/env bash
# The cost of high bit depth through the video path, and the 8-bit path against a baseline
# binary, measured in one run with the runs interleaved (the machine is shared):
#
#   tools/bench_depth.sh BASELINE_BIN [NEW_BIN] [REPEATS]
#
# Clips: ../shared/media/tos.mp4 from 3 s, 160x120, 24 frames, H.264 8-bit (yuv420p) and
# 10-bit (yuv420p10le, High 10). Each binary upscales each clip ×4 with the default network
# and with `-m nearest` (decode + conversions + encode alone) into .mkv (libx264 at its
# defaults; 10-bit out for the 10-bit clip). Prints one line per run and the median per case.
set -euo pipefail
base=${1:?baseline binary}
new=${2:-target/release/upscale}
reps=${3:-3}
media=$(dirname "$0")/../../shared/media/tos.mp4
[ -f "$media" ] || { echo "bench_depth: $media is missing" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for d in 8 10; do
  fmt=yuv420p; [ $d = 10 ] && fmt=yuv420p10le
  ffmpeg -v error -y -ss 3 -i "$media" -frames:v 24 -an -vf scale=160:120 -c:v libx264 -crf 16 \
    -pix_fmt $fmt "$dir/in$d.mp4"
done
declare -A times
for r in $(seq 1 "$reps"); do
  for model in realesr-animevideov3 nearest; do
    for d in 8 10; do
      for which in base new; do
        bin=$base; [ $which = new ] && bin=$new
        start=$(date +%s.%N)
        "$bin" -q -y -m $model -s 4 --threads 0 "$dir/in$d.mp4" -o "$dir/out.mkv"
        t=$(echo "$(date +%s.%N) - $start" | bc)
        fps=$(echo "scale=2; 24 / $t" | bc)
        echo "run $r $model ${d}-bit $which: $t s ($fps fps, $(ffprobe -v error -show_entries stream=pix_fmt -of csv=p=0 "$dir/out.mkv"))"
        times["$model $d $which"]+="$fps "
      done
    done
  done
done
echo "medians (frames/s, whole run including start-up):"
for k in "${!times[@]}"; do
  echo "$k: $(echo ${times[$k]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done | sort
