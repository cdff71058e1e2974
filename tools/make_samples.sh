#!/usr/bin/env bash
# Makes the bundled samples from scikit-image's photographs (public domain / CC0, see
# samples/README.md): a small photo and a 2-second 160x120 clip panning over a photo, with a
# 440 Hz tone as audio. Rerun to regenerate; the outputs are committed.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet scikit-image pillow
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp" <<'PY'
import sys
from skimage import data
from PIL import Image
tmp = sys.argv[1]
Image.fromarray(data.coffee()).resize((200, 133), Image.LANCZOS).save("samples/coffee.png", optimize=True)
# A slow pan: 48 frames of a 160x120 window sliding over a downscaled astronaut photo.
src = Image.fromarray(data.astronaut()).resize((256, 256), Image.LANCZOS)
for i in range(48):
    x, y = int(i * 96 / 47), int(i * 40 / 47)
    src.crop((x, y, x + 160, y + 120)).save(f"{tmp}/f{i:03d}.png")
PY
ffmpeg -v error -y -framerate 24 -i "$tmp/f%03d.png" -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=2" \
  -c:v libx264 -pix_fmt yuv420p -crf 18 -color_primaries bt709 -color_trc bt709 -colorspace bt709 \
  -c:a aac -b:a 64k -shortest -movflags +faststart samples/pan.mp4
ls -l samples
