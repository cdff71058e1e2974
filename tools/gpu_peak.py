#!/usr/bin/env python3
"""The device's measured matrix-multiply peak, for the model bench's ratio (tools/gpu_run.sh).

Usage: gpu_peak.py --device cuda|cpu [--size N] [--json FILE]

cuda: fp16 (fp32 accumulate), bf16 and tf32 N x N x N products through cuBLAS (PyTorch, else
CuPy), random data, timed with CUDA events after a warm-up, median of the repeats; several input
pairs in rotation so the cache does not serve them. cpu (the dry run): numpy fp32 on the CPU.
Prints one line per precision and writes {"fp16_tflops": ...} to --json.
"""

import argparse
import json
import statistics
import time


def cuda_torch(n, reps):
    import torch

    out = {"backend": f"torch {torch.__version__}", "device_name": torch.cuda.get_device_name(0)}
    for name, dtype, tf32 in (("fp16", torch.float16, False), ("bf16", torch.bfloat16, False), ("tf32", torch.float32, True)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        pairs = [(torch.randn(n, n, device="cuda", dtype=dtype), torch.randn(n, n, device="cuda", dtype=dtype)) for _ in range(4)]
        c = torch.empty(n, n, device="cuda", dtype=dtype)
        for a, b in pairs:
            torch.matmul(a, b, out=c)
        torch.cuda.synchronize()
        times = []
        for i in range(reps):
            a, b = pairs[i % len(pairs)]
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            torch.matmul(a, b, out=c)
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e) / 1e3)
        if not torch.isfinite(c.float()).all():
            raise SystemExit(f"{name}: non-finite product")
        out[f"{name}_tflops"] = 2 * n**3 / statistics.median(times) / 1e12
    return out


def cuda_cupy(n, reps):
    import cupy as cp

    out = {"backend": f"cupy {cp.__version__}", "device_name": cp.cuda.runtime.getDeviceProperties(0)["name"].decode()}
    for name, dtype in (("fp16", cp.float16), ("tf32", cp.float32)):
        pairs = [(cp.random.standard_normal((n, n)).astype(dtype), cp.random.standard_normal((n, n)).astype(dtype)) for _ in range(4)]
        cp.matmul(*pairs[0])
        cp.cuda.Device(0).synchronize()
        times = []
        for i in range(reps):
            s, e = cp.cuda.Event(), cp.cuda.Event()
            s.record()
            cp.matmul(*pairs[i % len(pairs)])
            e.record()
            e.synchronize()
            times.append(cp.cuda.get_elapsed_time(s, e) / 1e3)
        out[f"{name}_tflops"] = 2 * n**3 / statistics.median(times) / 1e12
    return out


def cpu_numpy(n, reps):
    import numpy as np

    rng = np.random.default_rng(1)
    pairs = [(rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)) for _ in range(2)]
    np.matmul(*pairs[0])
    times = []
    for i in range(reps):
        t = time.perf_counter()
        np.matmul(*pairs[i % 2])
        times.append(time.perf_counter() - t)
    tf = 2 * n**3 / statistics.median(times) / 1e12
    # The CPU runs the "fp16" models' arithmetic in fp32: the fp32 peak stands for both.
    return {"backend": f"numpy {np.__version__}", "device_name": "cpu", "fp32_tflops": tf, "fp16_tflops": tf}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", choices=["cuda", "cpu"], required=True)
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.device == "cpu":
        r = cpu_numpy(a.size or 1024, min(a.reps, 10))
    else:
        try:
            r = cuda_torch(a.size or 8192, a.reps)
        except ImportError:
            r = cuda_cupy(a.size or 8192, a.reps)
    r["size"] = a.size or (8192 if a.device == "cuda" else 1024)
    for k, v in r.items():
        if k.endswith("_tflops"):
            print(f"peak {k[:-7]}: {v:.4g} TFLOP/s ({r['backend']}, {r['device_name']}, {r['size']}^3)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f)


if __name__ == "__main__":
    main()
