#!/usr/bin/env bash
# The video issue's acceptance check: `upscale CLIP -o CLIP_x2.mp4 -s 2` on each clip of
# ../shared/media (default model, CPU), then ffprobe compares input and output: stream list,
# video frame count, every frame's timestamp, duration, and the audio packets (MD5 of the
# packets copied out). Prints one line a clip and exits non-zero if any differs.
#
# Usage: tools/check_media.sh [CLIP...]   (default: every ../shared/media/*.mp4)
set -uo pipefail
cd "$(dirname "$0")/.."
bin=target/release/upscale
[ -x "$bin" ] || { echo "check_media: build first (tools/setup.sh)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
clips=("$@")
[ ${#clips[@]} -gt 0 ] || clips=(../shared/media/*.mp4)
status=0
probe() { ffprobe -v error "$@"; }
for clip in "${clips[@]}"; do
  name=$(basename "$clip" .mp4)
  out=$dir/${name}_x2.mp4
  start=$(date +%s.%N)
  if ! "$bin" "$clip" -o "$out" -s 2 -d cpu -q; then
    echo "$name: upscale failed"; status=1; continue
  fi
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  facts() { # stream list | frames | frame times | duration | audio md5
    probe -show_entries stream=codec_type -of csv=p=0 "$1" | tr '\n' ' '; echo
    probe -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1"
    probe -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 "$1" | md5sum | cut -c1-12
    probe -show_entries format=duration -of csv=p=0 "$1"
    if [ -n "$(probe -select_streams a -show_entries stream=index -of csv=p=0 "$1")" ]; then
      ffmpeg -v error -i "$1" -map 0:a -c copy -f md5 - | cut -c5-16
    else echo "no audio"; fi
  }
  facts "$clip" > "$dir/in.txt"; facts "$out" > "$dir/out.txt"
  size=$(probe -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$out")
  if cmp -s "$dir/in.txt" "$dir/out.txt"; then
    mapfile -t f < "$dir/out.txt"
    printf '%s: same: streams [%s], %s frames (timestamps md5 %s), %s s, audio md5 %s; %s, %.0f s (%.2f fps)\n' \
      "$name" "${f[0]% }" "${f[1]}" "${f[2]}" "${f[3]}" "${f[4]}" "$size" "$secs" "$(awk -v n="${f[1]}" -v t="$secs" 'BEGIN { print n / t }')"
  else
    echo "$name: DIFFERENT"; diff "$dir/in.txt" "$dir/out.txt" | sed 's/^/  /'; status=1
  fi
done
exit $status
