#!/usr/bin/env python3
"""Write tests/data/families/: for each family one small real picture and its package's ncnn
CPU output (tools/check_families.py's references), for tests/models.rs to compare the Rust
engine with. Photo families get a crop of samples/coffee.png, the others a crop of a Sintel
frame (../shared/media/sintel.mp4, 5 s). Also checks our ONNX file against each (>= 45 dB).

Usage: python3 tools/make_family_fixtures.py
"""

import os
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tools"))
import check_families  # noqa: E402
import families  # noqa: E402

OUT = os.path.join(ROOT, "tests", "data", "families")
# family -> (scale, denoise, picture)
CASES = {
    "realesr-general-x4v3": (4, 0, "coffee"),
    "span": (2, 0, "coffee"),
    "realcugan": (2, 1, "sintel"),
    "realcugan-pro": (3, 3, "sintel"),
    "waifu2x-cunet": (2, 2, "sintel"),
    "waifu2x-upconv7-anime": (2, 1, "sintel"),
    "waifu2x-upconv7-photo": (2, 3, "coffee"),
}
EXTRA = [("waifu2x-cunet", 1, 2, "sintel")]  # the 1x clean-up network


def main():
    pics = check_families.pictures(10_000)
    crops = {"coffee": pics["coffee"][40:88, 60:124], "sintel": pics["sintel"][40:88, 100:164]}
    os.makedirs(OUT, exist_ok=True)
    for name, a in crops.items():
        Image.fromarray(np.ascontiguousarray(a)).save(os.path.join(OUT, f"{name}_in.png"))
    cases = [(f, s, d, p) for f, (s, d, p) in CASES.items()] + EXTRA
    for fam, s, d, pic in cases:
        v = next(v for v in families.VARIANTS if (v["family"], v["scale"], v["denoise"]) == (fam, s, d))
        img = np.ascontiguousarray(crops[pic])
        ref = check_families.reference(v, img)
        path = os.path.join(ROOT, ".cache", "models", families.file_name(v))
        p = check_families.psnr(check_families.ours(path, v, img), ref)
        out = os.path.join(OUT, f"{fam}_x{s}_d{d}_ref.png")
        Image.fromarray(np.ascontiguousarray(ref)).save(out)
        print(f"{out}: ours {p:.2f} dB", file=sys.stderr)
        if p < 45:
            sys.exit(f"make_family_fixtures: {fam} x{s} d{d} only {p:.2f} dB")


if __name__ == "__main__":
    main()
