#!/usr/bin/env python3
"""The yardstick for the video pipeline (issue 12): the plainest loop a user could write.

ffmpeg decodes to raw RGB on a pipe -> one onnxruntime session runs the same .onnx file on each
frame (reflect-padded by --pad pixels, cropped after) -> ffmpeg encodes from a pipe (libx264 at
its defaults, yuv420p), the input's audio and subtitles copied. Prints `fps=<frames per second>`
counted from the first frame read to the encoder's exit (the session is made before), and
`cpu=<CPU seconds per frame>` of this process and the two ffmpeg together.

    python3 tools/plain_loop.py IN.mp4 OUT.mp4 --model .cache/models/realesr-animevideov3-x4.onnx
"""
import argparse, json, resource, subprocess, sys, time

import numpy as np
import onnxruntime as ort

p = argparse.ArgumentParser()
p.add_argument("input"), p.add_argument("output")
p.add_argument("--model", required=True)
p.add_argument("--pad", type=int, default=10, help="reflected border around each frame (upscale's --tile-pad)")
p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: onnxruntime's choice, all cores)")
a = p.parse_args()

probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "stream=width,height,avg_frame_rate", "-of", "json", a.input],
                       check=True, capture_output=True, text=True)
st = json.loads(probe.stdout)["streams"][0]
w, h, rate = st["width"], st["height"], st["avg_frame_rate"]

opts = ort.SessionOptions()
opts.intra_op_num_threads = a.threads
sess = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
scale = sess.run(None, {name: np.zeros((1, 3, 8, 8), np.float32)})[0].shape[2] // 8

dec = subprocess.Popen(["ffmpeg", "-v", "error", "-i", a.input, "-map", "0:v:0", "-f", "rawvideo",
                        "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE)
enc = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                        "-s", f"{w * scale}x{h * scale}", "-r", rate, "-i", "-", "-i", a.input,
                        "-map", "0:v", "-map", "1:a?", "-map", "1:s?", "-c:a", "copy", "-c:s", "copy",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest", a.output],
                       stdin=subprocess.PIPE)
def cpu():  # CPU seconds of this process and of its finished children (the two ffmpeg)
    return sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))

start, cpu0, frames, pad = time.perf_counter(), cpu(), 0, a.pad
while True:
    buf = dec.stdout.read(w * h * 3)
    if len(buf) < w * h * 3:
        break
    x = np.frombuffer(buf, np.uint8).reshape(h, w, 3).astype(np.float32) / 255.0
    if pad:
        x = np.pad(x, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    y = sess.run(None, {name: x.transpose(2, 0, 1)[None]})[0][0]
    if pad:
        y = y[:, pad * scale:(pad + h) * scale, pad * scale:(pad + w) * scale]
    enc.stdin.write((y.transpose(1, 2, 0).clip(0, 1) * 255.0).round().astype(np.uint8).tobytes())
    frames += 1
enc.stdin.close()
if enc.wait() != 0 or dec.wait() != 0:
    sys.exit("ffmpeg failed")
print(f"frames={frames} fps={frames / (time.perf_counter() - start):.3f} cpu={(cpu() - cpu0) / frames:.4f}")
