#!/usr/bin/env python3
"""FLOPs per input pixel of every network in models/families.json, written into its `flops` column.

The model bench (benches/model.rs) divides them by the time a run takes to print the TFLOP/s a
network reaches and its share of the CPU's peak. Counted from each variant's fp32 ONNX file run once
at a 128x128 input (for the shapes): a convolution is 2 * C_out * C_in/group * k_h * k_w
operations per output pixel (a transposed one per input pixel), a matrix product 2 * M * K * N;
element-wise operations are left out (they are a few per cent and bound by memory, not by the
multiply-add units the peak counts). The count covers the whole graph as it runs: a network that
pads its own border (Real-CUGAN, waifu2x) computes that border too, so its figure at 128x128 is a
little above the one for an infinite picture.

Usage:
    python3 tools/flops.py            # print the table, and rewrite the column where it changed
    python3 tools/flops.py --check    # exit 1 when the column differs from the files
Needs python3 with onnx, onnxruntime and numpy, and the converted files (tools/setup.sh).
"""
import argparse
import json
import pathlib
import re
import sys

import onnx

ROOT = pathlib.Path(__file__).resolve().parent.parent
TABLE = ROOT / "models" / "families.json"
SIDE = 128


def model_path(stem):
    for d in (ROOT / "models", ROOT / ".cache" / "models"):
        p = d / f"{stem}.onnx"
        if p.is_file():
            return p
    return None


def run_shapes(m):
    """Every tensor's shape at a SIDE x SIDE input, by running the graph with every node's
    outputs exposed (ONNX's static inference cannot follow the pads these graphs compute)."""
    import numpy as np
    import onnxruntime as ort

    g = m.graph
    known = {o.name for o in g.output}
    for n in g.node:
        if n.op_type not in ("Conv", "ConvTranspose", "MatMul", "Gemm"):
            continue
        for o in list(n.output) + list(n.input[:1]):
            if o and o not in known:
                g.output.append(onnx.helper.make_empty_tensor_value_info(o))
                known.add(o)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    x = np.zeros((1, 3, SIDE, SIDE), dtype=np.float32)
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    shapes = {o.name: list(v.shape) for o, v in zip(sess.get_outputs(), outs)}
    shapes[g.input[0].name] = [1, 3, SIDE, SIDE]
    return shapes


def flops_per_pixel(path):
    m = onnx.load(str(path))
    inp = m.graph.input[0]
    dims = inp.type.tensor_type.shape.dim
    for i, v in ((2, SIDE), (3, SIDE), (0, 1)):
        dims[i].ClearField("dim_param")
        dims[i].dim_value = v
    shapes = run_shapes(m)
    inits = {i.name: list(i.dims) for i in m.graph.initializer}
    total = 0
    for n in m.graph.node:
        if n.op_type in ("Conv", "ConvTranspose"):
            w = inits.get(n.input[1])
            if w is None:
                raise SystemExit(f"error: {path}: {n.name}: weights are not an initializer")
            group = next((a.i for a in n.attribute if a.name == "group"), 1)
            if n.op_type == "Conv":
                out = shapes.get(n.output[0])
                if not out or 0 in out:
                    raise SystemExit(f"error: {path}: {n.name}: output shape unknown")
                c_out, c_in_g, kh, kw = w
                total += 2 * c_out * c_in_g * kh * kw * out[2] * out[3]
            else:
                x = shapes.get(n.input[0])
                if not x or 0 in x:
                    raise SystemExit(f"error: {path}: {n.name}: input shape unknown")
                c_in, c_out_g, kh, kw = w
                total += 2 * c_in * c_out_g * kh * kw * x[2] * x[3]
        elif n.op_type in ("MatMul", "Gemm"):
            a, b = shapes.get(n.input[0]), inits.get(n.input[1]) or shapes.get(n.input[1])
            if a and b and 0 not in a:
                rows = 1
                for v in a[:-1]:
                    rows *= v
                total += 2 * rows * b[-2] * b[-1]
    return round(total / (SIDE * SIDE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    text = TABLE.read_text()
    table = json.loads(text)
    found = {}
    for f in table["families"]:
        for v in f["variants"]:
            p = model_path(v["file"])
            if p is None:
                print(f"error: {v['file']}.onnx: not in models/ or .cache/models (run tools/setup.sh)", file=sys.stderr)
                return 2
            n = flops_per_pixel(p)
            found[v["file"]] = n
            print(f"{f['name']:26s} x{v['scale']} d{v['denoise']:<2d} {n / 1e6:10.3f} MFLOP per input pixel")
    differ = []
    out = []
    for line in text.split("\n"):
        m = re.search(r'"file": "([^"]+)"', line)
        if m and m.group(1) in found:
            want = f'"flops": {found[m.group(1)]}'
            if '"flops":' in line:
                new = re.sub(r'"flops": \d+', want, line)
            else:
                new = line.replace(f'"file": "{m.group(1)}"', f'"file": "{m.group(1)}", {want}')
            if new != line:
                differ.append(m.group(1))
            line = new
        out.append(line)
    if a.check:
        if differ:
            print(f"error: {TABLE}: flops differ for {', '.join(differ)} (run tools/flops.py)", file=sys.stderr)
            return 1
        return 0
    if differ:
        TABLE.write_text("\n".join(out))
        print(f"{TABLE}: flops written for {len(differ)} variants")
    return 0


if __name__ == "__main__":
    sys.exit(main())
