#!/usr/bin/env python3
"""CPU seconds per thread of a command (issue 12: which stage a missed goal goes to).

Runs the command, reads /proc/PID/task/*/stat every 50 ms and keeps each thread's last user +
system time; at the end prints one line per thread name (threads of the same name summed), the
wall time, and the share of the cores kept busy.

    python3 tools/thread_times.py target/release/upscale clip.mp4 -o out.mp4 -s 4 -d cpu -y -q
"""
import collections, os, subprocess, sys, time

tick = os.sysconf("SC_CLK_TCK")
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
last = {}
while proc.poll() is None:
    try:
        tids = os.listdir(f"/proc/{proc.pid}/task")
    except FileNotFoundError:
        break
    for tid in tids:
        try:
            with open(f"/proc/{proc.pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        last[tid] = (name, (int(fields[11]) + int(fields[12])) / tick)
    time.sleep(0.05)
wall = time.perf_counter() - start
by_name = collections.defaultdict(float)
for name, cpu in last.values():
    by_name[name] += cpu
total = sum(by_name.values())
for name, cpu in sorted(by_name.items(), key=lambda kv: -kv[1]):
    print(f"{name:16} {cpu:8.2f} s")
print(f"{'all threads':16} {total:8.2f} s in {wall:.2f} s wall: {total / wall:.2f} of {os.cpu_count()} cores busy")
sys.exit(proc.returncode)
