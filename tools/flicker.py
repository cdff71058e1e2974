#!/usr/bin/env python3
"""Flicker of upscaled video, measured without a reference (issue #27).

For each clip (a cut of ../shared/media made here: 320x180, x264 crf 16) and each way of
upscaling it (a family with `--temporal off` and `on`, lanczos), this prints:

- the warping error (Lai et al., ECCV 2018): frame t-1 of the output warped onto frame t with
  optical flow, mean squared difference over the pixels the flow can be trusted on, summed over
  the clip; as a ratio to what bicubic (OpenCV's, not the program's) gives on the same clip.
  The flow is OpenCV's DIS (not the program's own motion search, so the judge is independent of
  the stabiliser), computed on the bicubic upscale of the input, both ways: a pixel whose
  forward and backward flows disagree (occluded, or a bad match) is left out. "static": pixels
  whose flow is under 0.25 output pixels. 1.0 means the output changes no more over time than
  the input does.
- input consistency: each output frame scaled back down by area averaging against its input
  frame (PSNR, dB), so a stabiliser cannot win by smearing.

The outputs are FFV1 in RGB (bgr0, lossless): the figures are the program's, not an encoder's.

Usage: tools/flicker.py [--frames 48] [--families a,b] [--clips sintel:12,tos:30] [--binary P]
Needs numpy and opencv-python-headless (tools/setup.sh installs them).
"""

import argparse
import os
import subprocess
import sys
import time

try:
    import cv2
    import numpy as np
except ImportError as e:  # the tool names what is missing, never a traceback
    sys.exit(f"error: {e}: run tools/setup.sh (pip install numpy opencv-python-headless)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEDIA = os.path.join(ROOT, "..", "shared", "media")
STATIC_PX = 0.25


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)}: {r.stderr.decode(errors='replace').strip()[-400:]}")
    return r.stdout


def cut(name, start, frames, width, height, work):
    """A cut of ../shared/media/NAME.mp4 at START seconds: FRAMES frames at WIDTHxHEIGHT, crf 16."""
    out = os.path.join(work, f"{name}_{start}_{frames}_{width}x{height}.mp4")
    if not os.path.exists(out):
        src = os.path.join(MEDIA, f"{name}.mp4")
        run(["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-i", src, "-frames:v", str(frames),
             "-vf", f"scale={width}:{height}:flags=area", "-an", "-c:v", "libx264", "-crf", "16",
             "-pix_fmt", "yuv420p", out])
    return out


def frames_of(path):
    """Every frame of PATH as an (N, H, W, 3) uint8 array (RGB)."""
    probe = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                 "stream=width,height", "-of", "csv=p=0", path]).decode().strip().split(",")
    w, h = int(probe[0]), int(probe[1])
    raw = run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


class Flow:
    """DIS flow between consecutive frames of the bicubic upscale, with a trust mask."""

    def __init__(self, bicubic):
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.pairs = []
        h, w = bicubic.shape[1:3]
        grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).astype(np.float32)
        gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in bicubic]
        for t in range(1, len(gray)):
            fw = dis.calc(gray[t], gray[t - 1], None)  # t -> t-1: where pixel x of t was
            bw = dis.calc(gray[t - 1], gray[t], None)
            at = grid + fw
            bw_at = cv2.remap(bw, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            round_trip = fw + bw_at
            mag2 = (fw ** 2).sum(-1) + (bw_at ** 2).sum(-1)
            inside = (at[..., 0] >= 0) & (at[..., 0] <= w - 1) & (at[..., 1] >= 0) & (at[..., 1] <= h - 1)
            trusted = ((round_trip ** 2).sum(-1) <= 0.01 * mag2 + 0.5) & inside
            static = trusted & (np.sqrt((fw ** 2).sum(-1)) < STATIC_PX)
            self.pairs.append((at, trusted, static))

    def error(self, frames):
        """Warping error of FRAMES (same size as the flow): (all trusted pixels, static ones)."""
        tot = [0.0, 0.0]
        n = [0, 0]
        for t, (at, trusted, static) in enumerate(self.pairs, start=1):
            prev = cv2.remap(frames[t - 1].astype(np.float32), at[..., 0], at[..., 1], cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
            d = ((frames[t].astype(np.float32) - prev) ** 2).mean(-1)
            for k, m in enumerate((trusted, static)):
                tot[k] += float(d[m].sum())
                n[k] += int(m.sum())
        return tuple(tot[k] / max(n[k], 1) for k in range(2)), n


def consistency(inp, out):
    """PSNR (dB) of OUT scaled down by area averaging against INP, over all frames."""
    h, w = inp.shape[1:3]
    mse = 0.0
    for a, b in zip(inp, out):
        small = cv2.resize(b, (w, h), interpolation=cv2.INTER_AREA).astype(np.float64)
        mse += ((small - a.astype(np.float64)) ** 2).mean()
    mse /= len(inp)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--size", default="320x180")
    ap.add_argument("--families", default="realesr-animevideov3,realesr-general-x4v3,realcugan")
    ap.add_argument("--clips", default="sintel:12,tos:30", help="NAME:START_SECONDS, comma separated")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "upscale"))
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "flicker"))
    ap.add_argument("--extra", default="", help="more options for every upscale run")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    width, height = (int(v) for v in args.size.split("x"))
    rows = []
    for clip in args.clips.split(","):
        name, start = clip.split(":")
        src = cut(name, start, args.frames, width, height, args.work)
        inp = frames_of(src)
        bicubic = np.stack([cv2.resize(f, (width * args.scale, height * args.scale), interpolation=cv2.INTER_CUBIC)
                            for f in inp])
        flow = Flow(bicubic)
        (base_all, base_static), n = flow.error(bicubic)
        print(f"# {name} at {start} s: {len(inp)} frames {width}x{height} x{args.scale}; "
              f"trusted {n[0] / len(flow.pairs) / bicubic[0, ..., 0].size:.0%} of pixels, "
              f"static {n[1] / len(flow.pairs) / bicubic[0, ..., 0].size:.0%}", flush=True)
        ways = [("lanczos", "lanczos", None)]
        for fam in filter(None, args.families.split(",")):
            ways += [(fam, fam, "off"), (fam, fam, "on")]
        for label, model, temporal in ways:
            out = os.path.join(args.work, f"{name}_{start}_{label}_{temporal or 'na'}.mkv")
            cmd = [args.binary, src, "-o", out, "-m", model, "-s", str(args.scale), "-y", "-q",
                   "--codec", "ffv1", "--pix-fmt", "bgr0", "--no-provenance"]
            if temporal:
                cmd += ["--temporal", temporal]
            cmd += args.extra.split()
            t0 = time.time()
            run(cmd)
            secs = time.time() - t0
            frames = frames_of(out)
            if len(frames) != len(inp):
                sys.exit(f"error: {out}: {len(frames)} frames, the input has {len(inp)}")
            (e_all, e_static), _ = flow.error(frames)
            psnr = consistency(inp, frames)
            row = (name, label, temporal or "-", e_all / base_all, e_static / base_static, psnr, secs)
            rows.append(row)
            print(f"{name:8} {label:24} temporal {row[2]:3}  all {row[3]:5.2f}  static {row[4]:5.2f}  "
                  f"input consistency {psnr:5.2f} dB  ({secs:.1f} s)", flush=True)
    print("\n| clip | network | temporal | flicker, all pixels | flicker, static pixels | input consistency (dB) | run (s) |")
    print("|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.1f} |")


if __name__ == "__main__":
    main()
