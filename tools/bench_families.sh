#!/usr/bin/env bash
# Speed of every network family on this CPU (issue 18): one 320x240 picture (a frame of
# ../shared/media/tos.mp4, live action) through `upscale -d cpu --threads 2` per family of
# models/families.json at its cost_scale with denoise 0, load and PNG included, each run right after
# a yardstick run (realesr-animevideov3 x4 on the same picture) so a loaded machine shows in
# both. Prints the median wall seconds of ROUNDS runs and the ratio to the yardstick: the
# rows' `cost` (and `cost_note` where it was measured).
#
#   tools/bench_families.sh            # ROUNDS=3 by default
# Needs target/release/upscale (cargo build --release) and the families (tools/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
BIN=target/release/upscale
[ -x "$BIN" ] || { echo "error: $BIN missing: cargo build --release" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ffmpeg -loglevel fatal -y -ss 5 -i ../shared/media/tos.mp4 -frames:v 1 -vf scale=320:240 "$tmp/in.png"
# family:scale for every row of models/families.json (its cost_scale).
mapfile -t FAMILIES < <(python3 tools/families.py bench)
[ ${#FAMILIES[@]} -gt 0 ] || { echo "error: models/families.json lists no family" >&2; exit 2; }
secs() { local t0 t1; t0=$(date +%s.%N); "$BIN" "$tmp/in.png" -o "$tmp/out.png" -y -q -d cpu --threads 2 "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
declare -A fam yard
for r in $(seq "$ROUNDS"); do
  for e in "${FAMILIES[@]}"; do
    m=${e%%:*} s=${e##*:}
    yard[$m]+="$(secs -m realesr-animevideov3 -s 4) "
    fam[$m]+="$(secs -m "$m" -s "$s") "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; flags: $(grep -o -w -E 'avx2|avx512f|avx512_vnni|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
printf '| family | scale | seconds (median of %s) | yardstick seconds | ratio |\n|---|---:|---:|---:|---:|\n' "$ROUNDS"
for e in "${FAMILIES[@]}"; do
  m=${e%%:*} s=${e##*:}
  a=$(echo "${fam[$m]}" | median) b=$(echo "${yard[$m]}" | median)
  printf '| %s | x%s | %.2f | %.2f | %.2f |\n' "$m" "$s" "$a" "$b" "$(echo "$a / $b" | bc -l)"
done
