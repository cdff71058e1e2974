#!/usr/bin/env bash
# The video issue's acceptance check: `upscale CLIP -o CLIP_x2.mp4 -s 2` on each clip of
# ../shared/media (default model, CPU), then ffprobe compares input and output: stream list,
# chapters, video frame count, every frame's timestamp, duration, and the audio packets (MD5 of
# the packets copied out). Prints one line a clip and exits non-zero if any differs.
#
# Usage: tools/check_media.sh [--keep DIR] [CLIP...]   (default: every ../shared/media/*.mp4)
#        tools/check_media.sh --compare IN OUT         (only the comparison, for a done output)
set -uo pipefail
cd "$(dirname "$0")/.."
bin=target/release/upscale
probe() { ffprobe -v error "$@" 2>/dev/null; }

# One fact a line: streams, chapters, frames, timestamps (md5), duration, audio packets (md5).
# The MP4 muxer stores chapters as a text track: that track is compared as chapters, not as a
# stream (an input whose chapter track reference is broken lists the chapters but not the track).
facts() {
  probe -show_entries stream=codec_type,codec_name,codec_tag_string -of csv=p=0 "$1" |
    grep -v '^bin_data,data,text$' | cut -d, -f2 | tr '\n' ' '; echo
  probe -show_entries chapter=start_time,end_time -of csv=p=0 "$1" | tr '\n' ' '; echo
  probe -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1"
  probe -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 "$1" | grep -E '^[0-9.-]+$' | md5sum | cut -c1-12
  probe -show_entries format=duration -of csv=p=0 "$1"
  if [ -n "$(probe -select_streams a -show_entries stream=index -of csv=p=0 "$1")" ]; then
    ffmpeg -v error -i "$1" -map 0:a -c copy -f md5 - | cut -c5-16
  else echo "no audio"; fi
}

# compare IN OUT [SECONDS]: prints the verdict line; fails if a fact differs.
compare() {
  local name; name=$(basename "$1" .mp4)
  facts "$1" > "$tmp/in.txt"; facts "$2" > "$tmp/out.txt"
  local size; size=$(probe -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$2")
  if ! cmp -s "$tmp/in.txt" "$tmp/out.txt"; then
    echo "$name: DIFFERENT"; diff "$tmp/in.txt" "$tmp/out.txt" | sed 's/^/  /'; return 1
  fi
  mapfile -t f < "$tmp/out.txt"
  local rate=""
  [ -n "${3:-}" ] && rate=$(awk -v n="${f[2]}" -v t="$3" 'BEGIN { printf ", %.0f s (%.2f fps)", t, n / t }')
  echo "$name: same: streams [${f[0]% }], chapters [${f[1]% }], ${f[2]} frames (timestamps md5 ${f[3]}), ${f[4]} s, audio md5 ${f[5]}; $size$rate"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${1:-}" = "--compare" ]; then compare "$2" "$3"; exit; fi
keep=$tmp
if [ "${1:-}" = "--keep" ]; then keep=$2; mkdir -p "$keep"; shift 2; fi
[ -x "$bin" ] || { echo "check_media: build first (tools/setup.sh)" >&2; exit 1; }
clips=("$@")
[ ${#clips[@]} -gt 0 ] || clips=(../shared/media/*.mp4)
status=0
for clip in "${clips[@]}"; do
  out=$keep/$(basename "$clip" .mp4)_x2.mp4
  start=$(date +%s.%N)
  if ! "$bin" "$clip" -o "$out" -s 2 -d cpu -q -y; then
    echo "$(basename "$clip"): upscale failed"; status=1; continue
  fi
  compare "$clip" "$out" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" || status=1
done
exit $status
