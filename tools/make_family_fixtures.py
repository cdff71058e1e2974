#!/usr/bin/env python3
"""Write tests/data/families/: for each test case of models/families.json (a variant with a
`test` picture) the picture and its package's ncnn CPU output (tools/check_families.py's
references), for tests/models.rs to compare the Rust engine with. `coffee` is a crop of
samples/coffee.png (photo families), `sintel` a crop of a Sintel frame (../shared/media/sintel.mp4,
5 s). Also checks our ONNX file against each (>= 45 dB).

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
# The pictures a test case may name (models/families.json, a variant's `test`): 64x48 crops.
CROPS = {"coffee": (40, 88, 60, 124), "sintel": (40, 88, 100, 164)}


def main():
    cases = families.cases()
    unknown = sorted({pic for _, _, _, pic in cases} - set(CROPS))
    if unknown:
        sys.exit(f"make_family_fixtures: {families.TABLE}: no picture called {', '.join(unknown)} "
                 f"(pictures: {', '.join(CROPS)})")
    pics = check_families.pictures(10_000)
    crops = {name: pics[name][y0:y1, x0:x1] for name, (y0, y1, x0, x1) in CROPS.items()}
    os.makedirs(OUT, exist_ok=True)
    for name, a in crops.items():
        Image.fromarray(np.ascontiguousarray(a)).save(os.path.join(OUT, f"{name}_in.png"))
    for fam, s, d, pic in cases:
        v = next((v for v in families.VARIANTS if (v["family"], v["scale"], v["denoise"]) == (fam, s, d)), None)
        if v is None:
            sys.exit(f"make_family_fixtures: {fam} x{s} d{d}: a test case of a family that tools/families.py "
                     "does not convert")
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
