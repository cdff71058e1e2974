#!/usr/bin/env python3
"""vs-mlrt's OpenVINO CPU path on one clip, for tools/bench_vsmlrt.sh (issue 29's yardstick).

Runs in the venv that tools/bench_vsmlrt.sh makes (VapourSynth 81, vapoursynth-mlrt-ov 17.1,
vapoursynth-bestsource 22 from PyPI). vs-mlrt's `vsmlrt.py` helper is in neither wheel nor on
PyPI, so this file calls the plugin (`core.ov.Model`) exactly the way vsmlrt.py 3.23.2
(`_inference`, `Backend.OV_CPU` with OpenVINO >= 2024) does:

    core.ov.Model(clips, network_path, device="CPU", fp16=False,
                  config=lambda: {NUM_STREAMS, INFERENCE_NUM_THREADS,
                                  ENABLE_CPU_PINNING "YES"/"NO",
                                  INFERENCE_PRECISION_HINT "bf16"/"f32"},
                  overlap=(0, 0), tilesize=(width, height))

with `Backend.OV_CPU(num_streams=2, bf16=..., bind_thread=True, num_threads=0)` and no tiling
(`vsmlrt.inference(clip, path)` / `RealESRGAN(tiles=None)`: one tile the frame's size, no
overlap, no padding). vsmlrt.py passes `builtin=False` too; this plugin build has no `builtin`
parameter (a path is always a path), so it is left out.

The source is decoded by bestsource (no index cache, so every run does the same work), turned
into RGBS with zimg (the clip's matrix; 709 when asked), upscaled, and either
  --y4m: turned back into YUV420P8 (same matrix, limited range) and written as y4m to stdout
         (pipe it into ffmpeg), or
  --null: fetched and dropped (the network's speed: frames/s over the fetch, after the model
         is compiled), one line `vsmlrt frames=N compile_s=X fetch_s=Y fps=Z` on stderr.
`--versions` alone prints VapourSynth's, the plugin's and OpenVINO's versions.
VapourSynth fetches core.num_threads frames at once (2 on 2 cores): one infer request per
VapourSynth thread, as the plugin does (fmParallel).
"""

import argparse
import sys
import time

import vapoursynth as vs

core = vs.core


def has_bf16() -> bool:
    """Whether the CPU has bf16 arithmetic (AVX512_BF16 or AMX-BF16), from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        pass
    return False


def main() -> int:
    if sys.argv[1:] == ["--versions"]:
        v = {k: (x.decode() if isinstance(x, bytes) else x) for k, x in core.ov.Version().items()}
        print(f"VapourSynth R{core.core_version.release_major}, vs-mlrt ov plugin {v['version']}, OpenVINO {v['openvino_version']}")
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip")
    ap.add_argument("model", help="the .onnx network (e.g. .cache/models/realesr-animevideov3-x4.onnx)")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--y4m", action="store_true", help="write YUV420P8 y4m to stdout")
    mode.add_argument("--null", action="store_true", help="fetch the frames and drop them; print the speed")
    ap.add_argument("--streams", type=int, default=2, help="Backend.OV_CPU num_streams (default 2)")
    ap.add_argument("--threads", type=int, default=0, help="Backend.OV_CPU num_threads (default 0: OpenVINO's)")
    ap.add_argument("--pin", choices=["yes", "no"], default="yes", help="bind_thread (default yes)")
    ap.add_argument(
        "--precision", choices=["auto", "bf16", "f32"], default="auto",
        help="auto: bf16 where the CPU has AVX512_BF16 or AMX-BF16, else f32",
    )
    ap.add_argument("--matrix", default="709", help="the YUV matrix both ways (zimg name, default 709)")
    a = ap.parse_args()

    precision = a.precision if a.precision != "auto" else ("bf16" if has_bf16() else "f32")
    # vsmlrt.py, _inference, Backend.OV_CPU, OpenVINO >= 2024:
    config_dict = dict(
        NUM_STREAMS=a.streams,
        INFERENCE_NUM_THREADS=a.threads,
        ENABLE_CPU_PINNING="YES" if a.pin == "yes" else "NO",
        INFERENCE_PRECISION_HINT=precision,
    )

    try:
        src = core.bs.VideoSource(a.clip, cachemode=0)
    except vs.Error as e:
        print(f"error: {a.clip}: bestsource cannot open it: {e}", file=sys.stderr)
        return 1
    rgb = core.resize.Bicubic(src, format=vs.RGBS, matrix_in_s=a.matrix)
    t0 = time.perf_counter()
    try:
        up = core.ov.Model(
            [rgb], a.model, device="CPU", fp16=False, config=lambda: config_dict,
            overlap=[0, 0], tilesize=[rgb.width, rgb.height],
        )
    except vs.Error as e:
        print(f"error: {a.model}: vs-mlrt cannot load it: {e}", file=sys.stderr)
        return 1
    compile_s = time.perf_counter() - t0
    print(
        f"vsmlrt config {config_dict} tilesize={rgb.width}x{rgb.height} overlap=0 "
        f"-> {up.width}x{up.height}, {up.num_frames} frames, vs threads {core.num_threads}",
        file=sys.stderr,
    )

    if a.null:
        t1 = time.perf_counter()
        n = 0
        for _ in up.frames():
            n += 1
        fetch_s = time.perf_counter() - t1
        print(
            f"vsmlrt frames={n} compile_s={compile_s:.2f} fetch_s={fetch_s:.2f} fps={n / fetch_s:.2f}",
            file=sys.stderr,
        )
        return 0

    out = core.resize.Bicubic(up, format=vs.YUV420P8, matrix_s=a.matrix, range_s="limited")
    out.output(sys.stdout.buffer, y4m=True)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
