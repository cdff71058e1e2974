#!/usr/bin/env python3
"""Makes the tiny ONNX models under tests/data/bad_models/ that break the model contract
(NCHW float32 RGB in [0, 1] in, the same picture `scale` times larger out) in one way each.

tests/hardening.rs runs `upscale` with each one and expects one clear `error:` line naming the
model and the cause, a non-zero exit and no output. Needs the `onnx` Python package only:

    python3 tools/make_bad_models.py            # rewrites tests/data/bad_models/*.onnx

Each model is a few nodes without weights, so each file is a few hundred bytes. The list of
files and what each one breaks is also written to tests/data/bad_models/README.md.
"""

import os
import sys

import onnx
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "bad_models")
OPSET = 17
F32 = TensorProto.FLOAT


def const(name, values, dtype=F32):
    """A Constant node giving a 1-D tensor."""
    t = helper.make_tensor(name + "_value", dtype, [len(values)], values)
    return helper.make_node("Constant", [], [name], value=t)


def resize(inp, out, factors, prefix="r"):
    """Nearest-neighbour Resize of a 4-D tensor by `factors` (one per axis)."""
    return [
        const(prefix + "_scales", factors),
        helper.make_node("Resize", [inp, "", prefix + "_scales"], [out], mode="nearest"),
    ]


def model(name, nodes, inputs, outputs, initializers=(), opset=OPSET):
    graph = helper.make_graph(nodes, name, list(inputs), list(outputs), list(initializers))
    m = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="upscale/tools/make_bad_models.py"
    )
    m.ir_version = 8
    return m


def io(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


NCHW = [1, 3, "height", "width"]
NCHW_OUT = [1, 3, "out_height", "out_width"]


def build():
    """(file name, model or raw bytes, what it breaks) for every bad model."""
    models = []

    def add(file, m, why):
        models.append((file, m, why))

    # A valid x2 model, the base the others break: ONNX Runtime must accept it.
    good = model("good_x2", resize("input", "output", [1, 1, 2, 2]), [io("input", F32, NCHW)],
                 [io("output", F32, NCHW_OUT)])
    add("good_x2.onnx", good, "valid: x2 nearest-neighbour (the control: must work)")

    add("one_channel_input.onnx",
        model("one_channel", resize("input", "output", [1, 1, 2, 2]), [io("input", F32, [1, 1, "h", "w"])],
              [io("output", F32, [1, 1, "oh", "ow"])]),
        "input is [1, 1, H, W] (grey), not 3-channel")

    add("nhwc_input.onnx",
        model("nhwc",
              [helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2])]
              + resize("nchw", "big", [1, 1, 2, 2])
              + [helper.make_node("Transpose", ["big"], ["output"], perm=[0, 2, 3, 1])],
              [io("input", F32, [1, "h", "w", 3])], [io("output", F32, [1, "oh", "ow", 3])]),
        "input is NHWC [1, H, W, 3] (channels last, dynamic H and W)")

    add("int64_input.onnx",
        model("int64_input",
              [helper.make_node("Cast", ["input"], ["f"], to=F32)] + resize("f", "output", [1, 1, 2, 2]),
              [io("input", TensorProto.INT64, NCHW)], [io("output", F32, NCHW_OUT)]),
        "input element type is int64")

    add("float16_input.onnx",
        model("float16_input",
              [helper.make_node("Cast", ["input"], ["f"], to=F32)] + resize("f", "output", [1, 1, 2, 2]),
              [io("input", TensorProto.FLOAT16, NCHW)], [io("output", F32, NCHW_OUT)]),
        "input element type is float16 (an fp16 model without float32 inputs and outputs)")

    add("two_inputs.onnx",
        model("two_inputs",
              [helper.make_node("Add", ["input", "other"], ["sum"])] + resize("sum", "output", [1, 1, 2, 2]),
              [io("input", F32, NCHW), io("other", F32, NCHW)], [io("output", F32, NCHW_OUT)]),
        "two inputs")

    # Declared 2-channel output: caught from the model's declared types.
    add("two_channel_output.onnx",
        model("two_channel_output",
              resize("input", "big", [1, 1, 2, 2])
              + [const("starts", [0], TensorProto.INT64), const("ends", [2], TensorProto.INT64),
                 const("axes", [1], TensorProto.INT64),
                 helper.make_node("Slice", ["big", "starts", "ends", "axes"], ["output"])],
              [io("input", F32, NCHW)], [io("output", F32, [1, 2, "oh", "ow"])]),
        "output is [1, 2, H, W], declared")

    # Undeclared channel count, 1 at run time: caught when the output comes back.
    add("one_channel_output_dynamic.onnx",
        model("one_channel_output_dynamic",
              resize("input", "big", [1, 1, 2, 2])
              + [helper.make_node("ReduceMean", ["big"], ["output"], axes=[1], keepdims=1)],
              [io("input", F32, NCHW)], [io("output", F32, [1, "c", "oh", "ow"])], opset=13),
        "output has a dynamic channel count that is 1 at run time")

    add("int64_output.onnx",
        model("int64_output",
              resize("input", "big", [1, 1, 2, 2]) + [helper.make_node("Cast", ["big"], ["output"], to=TensorProto.INT64)],
              [io("input", F32, NCHW)], [io("output", TensorProto.INT64, NCHW_OUT)]),
        "output element type is int64")

    # NaN everywhere: log(x - 2) for x in [0, 1]. The scale probe (a black picture) sees it.
    add("nan_output.onnx",
        model("nan_output",
              resize("input", "big", [1, 1, 2, 2])
              + [const("two", [2.0]), helper.make_node("Sub", ["big", "two"], ["neg"]),
                 helper.make_node("Log", ["neg"], ["output"])],
              [io("input", F32, NCHW)], [io("output", F32, NCHW_OUT)]),
        "outputs NaN for every input (log of a negative number)")

    # NaN only where the picture is bright: sqrt(0.5 - x). A black probe passes; a real picture
    # must still be refused, not written with black or garbage pixels.
    add("nan_when_bright.onnx",
        model("nan_when_bright",
              resize("input", "big", [1, 1, 2, 2])
              + [const("half", [0.5]), helper.make_node("Sub", ["half", "big"], ["d"]),
                 helper.make_node("Sqrt", ["d"], ["output"])],
              [io("input", F32, NCHW)], [io("output", F32, NCHW_OUT)]),
        "outputs NaN only where the input is brighter than 0.5 (passes a black probe)")

    # +inf for a black picture: 1 / x.
    add("inf_output.onnx",
        model("inf_output",
              resize("input", "big", [1, 1, 2, 2])
              + [const("one", [1.0]), helper.make_node("Div", ["one", "big"], ["output"])],
              [io("input", F32, NCHW)], [io("output", F32, NCHW_OUT)]),
        "outputs +infinity for a black picture (1 / x)")

    add("identity.onnx",
        model("identity", [helper.make_node("Identity", ["input"], ["output"])], [io("input", F32, NCHW)],
              [io("output", F32, NCHW)]),
        "not super-resolution: output the same size as the input (scale 1)")

    add("downscale_half.onnx",
        model("downscale_half", resize("input", "output", [1, 1, 0.5, 0.5]), [io("input", F32, NCHW)],
              [io("output", F32, NCHW_OUT)]),
        "makes pictures smaller (x0.5)")

    add("scale_1_5.onnx",
        model("scale_1_5", resize("input", "output", [1, 1, 1.5, 1.5]), [io("input", F32, NCHW)],
              [io("output", F32, NCHW_OUT)]),
        "non-integer scale (Resize by 1.5)")

    add("anisotropic_2x1.onnx",
        model("anisotropic", resize("input", "output", [1, 1, 2, 1]), [io("input", F32, NCHW)],
              [io("output", F32, NCHW_OUT)]),
        "different scales across and down (height x2, width x1)")

    # Works only on 32x32 inputs (the size the scale probe uses): a fixed Reshape.
    add("fixed_32x32.onnx",
        model("fixed_32x32",
              [const("shape", [1, 3, 32, 32], TensorProto.INT64),
               helper.make_node("Reshape", ["input", "shape"], ["fixed"])]
              + resize("fixed", "output", [1, 1, 2, 2]),
              [io("input", F32, NCHW)], [io("output", F32, NCHW_OUT)]),
        "runs only on 32x32 inputs (a fixed Reshape): fails on a real picture, after the probe")

    add("opset_99.onnx",
        model("opset_99", resize("input", "output", [1, 1, 2, 2]), [io("input", F32, NCHW)],
              [io("output", F32, NCHW_OUT)], opset=99),
        "asks for operator set 99, which no runtime has")

    truncated = good.SerializeToString()
    add("truncated.onnx", truncated[: len(truncated) // 2], "a valid model cut in half")

    # Weights in an external file that is not there.
    ext = helper.make_tensor("w", F32, [1], [1.0])
    ext.data_location = TensorProto.EXTERNAL
    ext.ClearField("float_data")
    for k, v in (("location", "missing_weights.bin"), ("offset", "0"), ("length", "4")):
        e = ext.external_data.add()
        e.key, e.value = k, v
    add("missing_external_weights.onnx",
        model("missing_external", [helper.make_node("Mul", ["input", "w"], ["m"])] + resize("m", "output", [1, 1, 2, 2]),
              [io("input", F32, NCHW)], [io("output", F32, NCHW_OUT)], initializers=[ext]),
        "weights in an external file (missing_weights.bin) that does not exist")
    return models


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for file, m, why in build():
        path = os.path.join(OUT, file)
        data = m if isinstance(m, bytes) else m.SerializeToString()
        with open(path, "wb") as f:
            f.write(data)
        rows.append(f"- `{file}` ({len(data)} bytes): {why}")
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(
            "# Bad models\n\n"
            "Made by `tools/make_bad_models.py` (rerun it to rebuild them); used by `tests/hardening.rs`.\n"
            "Each breaks the model contract (NCHW float32 RGB in [0, 1] in, an integer-scaled picture out)\n"
            "in one way; `upscale` must refuse each with one `error:` line naming the model and the cause.\n\n"
            + "\n".join(rows) + "\n"
        )
    print("\n".join(rows))


if __name__ == "__main__":
    sys.exit(main())
