#!/usr/bin/env python3
"""Make the int8 realesr-animevideov3 models for the CPU (`--precision int8`).

The CPU runs 8-bit convolutions (VNNI where the processor has it) about 2.5x faster than fp32.
What keeps the int8 network close to the fp32 one (38.6-42.9 dB from the ncnn reference on
the skimage photos of tools/check_reference.py, see tools/reference_table.md) is:

  1. Activation smoothing (SmoothQuant's migration, alpha 0.5): the PReLU between two
     convolutions is positively homogeneous, so each channel c can be scaled by 1/s_c at the
     output of one convolution and by s_c at the input of the next without changing the
     function. s_c = sqrt(max|activation_c| / max|weights_c|) evens out the channels' ranges
     before activations are quantized per tensor.
  2. Static quantization (onnxruntime.quantization, QDQ): the convolutions only, weights int8
     per output channel, activations uint8 per tensor from the 99.999th percentile of
     calibration activations; the first and the last convolution stay fp32 (they hold the
     picture itself and the residual that is added to the enlarged input). PReLU stays fp32
     (as BatchNormalization + Relu, which are cheap here).

Calibration pictures: six frames of each of ../shared/media's three clips, scaled to 160x120
(the calibrator takes one size) and pre-padded by 10 px by reflection as the runtime does; none
of them is used to check the result. The output is deterministic (same sha256 on a rerun with
the same onnxruntime, 1.31.1 here). Inputs are the fp32 models in models/ (made by
tools/ncnn2onnx.py); outputs go beside them as <name>-int8.onnx. Needs python3 with onnx,
onnxruntime and numpy, and the ffmpeg CLI.

The same recipe serves other SRVGGNetCompact networks: `--src .cache/models --out .cache/models
--names realesr-general-x4v3-x4-d0` makes realesr-general-x4v3's int8 file (tools/setup.sh).

Usage:
    python3 tools/quantize_int8.py [--media ../shared/media] [--src models] [--out models] [--names N...]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ["realesr-animevideov3-x2", "realesr-animevideov3-x3", "realesr-animevideov3-x4"]
PREPAD = 10
ALPHA = 0.5
PERCENTILE = 99.999


def calibration_frames(media):
    """RGB float32 NCHW arrays in [0, 1]: frames of each clip, scaled, pre-padded."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in ["bbb.mp4", "sintel.mp4", "tos.mp4"]:
            src = os.path.join(media, clip)
            if not os.path.isfile(src):
                sys.exit(f"quantize_int8.py: {src}: missing (pass --media)")
            for t in [1, 2.5, 4, 5.5, 7, 8.5]:
                for w, h in [(160, 120)]:
                    raw = subprocess.run(
                        ["ffmpeg", "-v", "error", "-ss", str(t), "-i", src, "-frames:v", "1",
                         "-vf", f"scale={w}:{h}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                        check=True, capture_output=True).stdout
                    a = np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(np.float32) / 255.0
                    a = np.pad(a, ((PREPAD, PREPAD), (PREPAD, PREPAD), (0, 0)), mode="reflect")
                    out.append(np.ascontiguousarray(a.transpose(2, 0, 1)[None]))
    return out


def smooth(model, frames):
    """Rescales the channels between consecutive convolutions (same function, even ranges)."""
    import onnxruntime as ort

    init = {i.name: i for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inner = [c.input[0] for c in convs[1:]]
    for name in inner:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    amax = {n: 0.0 for n in inner}
    for f in frames:
        for name, act in zip(inner, sess.run(inner, {"input": f})):
            amax[name] = np.maximum(amax[name], np.abs(act).max(axis=(0, 2, 3)))
    for prev, conv in zip(convs[:-1], convs[1:]):
        wp = numpy_helper.to_array(init[prev.input[1]]).astype(np.float64)
        bp = numpy_helper.to_array(init[prev.input[2]]).astype(np.float64)
        wc = numpy_helper.to_array(init[conv.input[1]]).astype(np.float64)
        a = np.maximum(amax[conv.input[0]], 1e-5)
        w = np.maximum(np.abs(wc).max(axis=(0, 2, 3)), 1e-5)
        s = a**ALPHA / w ** (1 - ALPHA)
        for name, arr in [(prev.input[1], wp / s[:, None, None, None]), (prev.input[2], bp / s),
                          (conv.input[1], wc * s[None, :, None, None])]:
            init[name].CopyFrom(numpy_helper.from_array(arr.astype(np.float32), name))
    return convs[0].name, convs[-1].name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", default=os.path.join(ROOT, "..", "shared", "media"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models"))
    ap.add_argument("--src", default=os.path.join(ROOT, "models"), help="folder of the fp32 models")
    ap.add_argument("--names", nargs="+", default=NAMES)
    args = ap.parse_args()
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)

    frames = calibration_frames(args.media)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter({"input": f} for f in frames)

        def get_next(self):
            return next(self.it, None)

    for name in args.names:
        model = onnx.load(os.path.join(args.src, f"{name}.onnx"))
        first, last = smooth(model, frames)
        with tempfile.TemporaryDirectory() as tmp:
            smoothed = os.path.join(tmp, "smoothed.onnx")
            onnx.save(model, smoothed)
            out = os.path.join(args.out, f"{name}-int8.onnx")
            quantize_static(smoothed, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            op_types_to_quantize=["Conv"], nodes_to_exclude=[first, last],
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.Percentile,
                            extra_options={"CalibPercentile": PERCENTILE})
        print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
