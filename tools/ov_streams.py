#!/usr/bin/env python3
"""OpenVINO's CPU plugin run two ways on the video default, to see whether streams, threads and
pinning are where the video path loses to vs-mlrt (issue 29, BENCHMARKS.md "vs-mlrt"):
  A (ours): two compiled models, INFERENCE_NUM_THREADS=1 each, LATENCY, pinning off, one thread
     feeding each (the frame workers of src/video/workers.rs);
  B (vs-mlrt's Backend.OV_CPU(num_streams=2)): one compiled model, NUM_STREAMS=2, pinning on,
     two infer requests fed from two threads.
Both at bf16 (the CPU needs AVX512_BF16 or AMX) on models/realesr-animevideov3-x4.onnx, 320x180
inputs, two alternated rounds; prints CPU seconds (user + system of the process) and wall seconds
a frame.

Usage: python3 tools/ov_streams.py [FRAMES]   (needs `pip install openvino==2026.4.1 numpy`)
"""
import openvino as ov, numpy as np, time, threading, resource, sys
core=ov.Core()
M=str(__import__('pathlib').Path(__file__).resolve().parent.parent / 'models' / 'realesr-animevideov3-x4.onnx')
W,H=320,180; N=int(sys.argv[1]) if len(sys.argv)>1 else 16
x=np.random.default_rng(0).random((1,3,H,W),dtype=np.float32)
def cpu(): r=resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime+r.ru_stime
def mk(cfg):
    m=core.read_model(M); m.reshape([1,3,H,W]); return core.compile_model(m,'CPU',cfg)
A=[mk({'INFERENCE_PRECISION_HINT':'bf16','PERFORMANCE_HINT':'LATENCY','NUM_STREAMS':'1','ENABLE_CPU_PINNING':'NO','INFERENCE_NUM_THREADS':'1'}) for _ in range(2)]
B=mk({'INFERENCE_PRECISION_HINT':'bf16','NUM_STREAMS':'2','ENABLE_CPU_PINNING':'YES'})
def runA():
    reqs=[c.create_infer_request() for c in A]
    def w(r):
        for _ in range(N//2): r.infer({0:x})
    ts=[threading.Thread(target=w,args=(r,)) for r in reqs]
    [t.start() for t in ts]; [t.join() for t in ts]
def runB():
    reqs=[B.create_infer_request() for _ in range(2)]
    def w(r):
        for _ in range(N//2): r.infer({0:x})
    ts=[threading.Thread(target=w,args=(r,)) for r in reqs]
    [t.start() for t in ts]; [t.join() for t in ts]
for f in (runA,runB): f()  # warm
for rnd in range(2):
    for name,f in (('A ours: 2 models x 1 thread, unpinned',runA),('B vs-mlrt: 1 model, 2 streams, pinned',runB)):
        c0,t0=cpu(),time.perf_counter(); f(); c1,t1=cpu(),time.perf_counter()
        print(f'{name}: {(c1-c0)/N:.3f} cpu-s/frame, {(t1-t0)/N:.3f} wall-s/frame', flush=True)
