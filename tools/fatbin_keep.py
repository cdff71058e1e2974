#!/usr/bin/env python3
"""Keeps only the GPU code for some architectures in a CUDA library's fat binary.

Usage: fatbin_keep.py IN.so OUT.so SM [SM ...]      e.g. ... 90   (H100/H200)

The `.nv_fatbin` section holds one compiled copy of every kernel per GPU architecture (the
onnxruntime-gpu 1.31.1 CUDA provider: sm_75, 80, 86, 89, 90, 120, 218 MB of its 284 MB). The
payloads of the other architectures are zeroed in place: headers, sizes and offsets stay as they
are, so the CUDA runtime still reads a well-formed fat binary and picks its own architecture's
entry, and the zeros compress to nothing. Prints what it kept and cleared. The result runs on the
kept architectures only, and there only when an entry for the device exists (no PTX is kept to
compile for others): check a run on the device before relying on it.
"""

import struct
import sys

FATBIN_MAGIC = 0xBA55ED50


def section(data, name):
    """(offset, size) of the ELF64 section `name`."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    str_off, = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 0x18)
    for i in range(shnum):
        h = shoff + i * shentsize
        name_off, = struct.unpack_from("<I", data, h)
        end = data.index(b"\0", str_off + name_off)
        if data[str_off + name_off:end].decode() == name:
            off, size = struct.unpack_from("<QQ", data, h + 0x18)
            return off, size
    raise SystemExit(f"no {name} section")


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    src, dst, keep = sys.argv[1], sys.argv[2], {int(a) for a in sys.argv[3:]}
    data = bytearray(open(src, "rb").read())
    off, size = section(data, ".nv_fatbin")
    kept, cleared, p, end = {}, {}, off, off + size
    while p + 16 <= end:
        magic, _version, hsize, fsize = struct.unpack_from("<IHHQ", data, p)
        if magic != FATBIN_MAGIC:
            p += 8  # containers are 8-byte aligned, with padding between them
            continue
        q, stop = p + hsize, p + hsize + fsize
        while q < stop:
            kind, _v, ehsize, padded = struct.unpack_from("<HHIQ", data, q)
            sm, = struct.unpack_from("<I", data, q + 28)
            tally = kept if sm in keep else cleared
            tally[(kind, sm)] = tally.get((kind, sm), 0) + padded
            if sm not in keep:
                data[q + ehsize:q + ehsize + padded] = bytes(padded)
            q += ehsize + padded
        p = stop
    if not kept:
        raise SystemExit(f"no entry for sm {sorted(keep)} in {src}: nothing would run")
    open(dst, "wb").write(data)
    kinds = {1: "ptx", 2: "elf"}
    for what, t in (("kept", kept), ("cleared", cleared)):
        parts = [f"{kinds.get(k, k)} sm_{sm} {n / 1e6:.1f} MB" for (k, sm), n in sorted(t.items())]
        print(f"fatbin_keep: {what}: {', '.join(parts) or 'nothing'}")


if __name__ == "__main__":
    main()
