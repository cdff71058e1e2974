#!/usr/bin/env python3
"""Import circles in the library (src/, the binary left out), at two levels: between files and
between top-level modules. Every `crate::`, `super::` and `self::` path (in `use` trees and in
code, tests and comments left out) is an arrow to the module that holds it. A parent's plain
`use child::…` is not an arrow (a module and its own children are one room).

Also checks the layers (LAYERS below, as ARCHITECTURE.md draws them): no arrow goes up.

Usage: tools/import_circles.py [--check] [-v]
  --check  exit 1 when there is a circle, an arrow going up or a module in no layer (CI runs this)
  -v       list the arrows of each top-level circle
"""
import os, re, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def modules():
    files = {}
    for d, _, fs in os.walk(ROOT):
        if os.path.relpath(d, ROOT).startswith("bin"):
            continue
        for f in fs:
            if f.endswith(".rs"):
                p = os.path.join(d, f)
                parts = os.path.relpath(p, ROOT)[:-3].split("/")
                if parts[-1] in ("mod", "lib"):
                    parts = parts[:-1]
                files["::".join(parts)] = p
    return files


def use_paths(tree):
    """`a::{b, c::{d}}` → ["a::b", "a::c::d"]."""
    out = []

    def rec(prefix, t):
        depth, cur, items = 0, "", []
        for ch in t:
            depth += ch == "{"
            depth -= ch == "}"
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
            else:
                cur += ch
        items.append(cur)
        for it in filter(None, items):
            if "{" in it and "}" in it:
                i = it.index("{")
                rec(prefix + [p for p in it[:i].split("::") if p], it[i + 1 : it.rindex("}")])
            else:
                out.append("::".join(prefix + [p for p in it.split(" as ")[0].split("::") if p]))

    rec([], re.sub(r"\s+", "", tree))
    return out


def arrows(files):
    mods = set(files)

    def owner(segs):
        for i in range(len(segs), 0, -1):
            if "::".join(segs[:i]) in mods:
                return "::".join(segs[:i])
        return None

    edges = set()
    for m, p in files.items():
        src = re.sub(r"//[^\n]*", "", open(p).read())
        src = re.split(r"#\[cfg\(test\)\]\s*mod tests", src)[0]
        paths = [q for u in re.findall(r"\buse\s+([^;]+);", src, re.S) for q in use_paths(u)]
        paths += re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", src)
        here = m.split("::") if m else []
        for q in paths:
            segs = q.split("::")
            if segs[0] == "crate":
                target = segs[1:]
            elif segs[0] in ("super", "self"):
                base = here[:]
                if segs[0] == "self":
                    segs = segs[1:]
                while segs and segs[0] == "super":
                    segs, base = segs[1:], base[:-1]
                target = base + segs
            else:
                continue
            t = owner(target)
            if t and t != m and not m.startswith(t + "::"):
                edges.add((m, t))
    return edges


def circles(nodes, edges):
    adj = {n: [b for a, b in edges if a == n] for n in nodes}
    index, low, stack, on, found = {}, {}, [], set(), []
    sys.setrecursionlimit(10000)

    def visit(n):
        index[n] = low[n] = len(index)
        stack.append(n)
        on.add(n)
        for w in adj[n]:
            if w not in index:
                visit(w)
                low[n] = min(low[n], low[w])
            elif w in on:
                low[n] = min(low[n], index[w])
        if low[n] == index[n]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == n:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return found


# The library's layers, bottom to top (ARCHITECTURE.md): a module calls only modules of its own
# layer or below. `--check` also fails on an arrow that goes up.
LAYERS = [
    ["error"],
    ["planes", "memory", "resize", "tile"],
    ["progress"],
    ["edit"],
    ["output"],
    ["config"],
    ["model"],
    ["engine"],
    ["provenance"],
    ["still"],
    ["outcome"],
    ["video"],
    ["segments"],
    ["jobs"],
    ["budget", "compare", "exit"],
    [""],
]


def main():
    files = modules()
    edges = arrows(files)
    top = lambda m: m.split("::")[0]
    tedges = {(top(a), top(b)) for a, b in edges if top(a) != top(b)}
    tnodes = {top(m) for m in files}
    fc, tc = circles(set(files), edges), circles(tnodes, tedges)
    print(f"files: {len(files)}, arrows {len(edges)}, circles {len(fc)}")
    for c in fc:
        print("  circle:", " ".join(c))
    print(f"top-level modules: {len(tnodes)}, arrows {len(tedges)}, circles {len(tc)}")
    for c in tc:
        print("  circle:", " ".join(c))
        if "-v" in sys.argv:
            for a, b in sorted(edges):
                if top(a) in c and top(b) in c and top(a) != top(b):
                    print("    ", a, "->", b)
    rank = {m: i for i, layer in enumerate(LAYERS) for m in layer}
    up = sorted((a, b) for a, b in edges if rank.get(top(a), -1) < rank.get(top(b), -1))
    unplaced = sorted(n for n in tnodes if n not in rank)
    print(f"arrows going up a layer: {len(up)}; modules in no layer: {len(unplaced)}")
    for a, b in up:
        print("  up:", a, "->", b)
    for n in unplaced:
        print("  no layer:", n)
    if "--check" in sys.argv and (fc or tc or up or unplaced):
        sys.exit(1)


main()
