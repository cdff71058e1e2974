#!/usr/bin/env python3
"""Import circles in src/, in both crates: the library (src/lib.rs) and the binary
(src/bin/upscale/main.rs, its modules shown as `bin:cli`, `bin:serve::jobs`, its root `bin:crate`).
In each crate, at two levels: between files and between top-level modules.

An arrow goes from a module to the module that defines what it names: every path in a `use`
tree, and every `crate::`, `super::` and `self::` path (or path starting with a name in scope)
in the code; comments and `#[cfg(test)] mod tests` left out. Names are followed through every
`use`, `pub use` and `pub(crate) use` (chains and globs included) to the module that defines them,
so `crate::Config` is an arrow to `config`, not to the root. A child's `super::…` is an arrow to
its parent; a parent naming its own child (`mod x;`, `use x::…`) is not (a module and its own
children are one room). `upscale::…` in the binary leaves the crate: no arrow.

Also checks, in the library only:
  - the layers (LAYERS below, as ARCHITECTURE.md draws them): no arrow goes up, every
    top-level module is in a layer;
  - no file but src/lib.rs names `crate::X` where X is one of the root's re-exports
    (`pub use config::Config` in lib.rs is for the crate's users; inside, name crate::config::Config).

Usage: tools/import_circles.py [--check] [-v]
  --check  exit 1 on a circle (either crate), an arrow going up, a module in no layer or an
           import through the root's re-exports (CI runs this)
  -v       list the arrows of each circle
"""
import os, re, sys

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
BIN = os.path.join("bin", "upscale")  # the binary crate, under src/

# The library's layers, bottom to top (ARCHITECTURE.md), one line each: a module calls only
# modules of its own layer or below. `crate` is the root, src/lib.rs.
LAYERS = """
    error
    planes memory resize tile
    progress
    edit
    output
    config formats
    model
    engine
    engines speed
    provenance
    still
    outcome
    video
    budget
    segments
    jobs
    compare exit
    crate
"""

USE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)
PATH = re.compile(r"\b(\w+(?:::\w+)+)")
DEF = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:(?:async|const|unsafe|extern\s+\"[^\"]*\")\s+)*"
                 r"(?:fn|struct|enum|trait|type|const|static(?:\s+mut)?|union|mod|macro_rules!)\s+(\w+)", re.M)


def crate_files(root, skip=None):
    """Module name ("" for the root, "serve::jobs") → file, for the crate whose root file is in `root`."""
    files = {}
    for d, _, fs in os.walk(root):
        rel = os.path.relpath(d, root)
        if skip and (rel + os.sep).startswith(skip + os.sep):
            continue
        for f in fs:
            if f.endswith(".rs"):
                parts = os.path.relpath(os.path.join(d, f), root)[:-3].split(os.sep)
                if parts[-1] == "mod" or parts in (["lib"], ["main"]):
                    parts = parts[:-1]
                files["::".join(parts)] = os.path.join(d, f)
    return files


def use_tree(tree):
    """`a::{b as c, d::{self, *}}` → [(["a", "b"], "c"), (["a", "d"], "d"), (["a", "d"], "*")]:
    each path with the name it binds."""
    out = []

    def rec(prefix, t):
        depth, cur, items = 0, "", []
        for ch in t + ",":
            depth += (ch == "{") - (ch == "}")
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
            else:
                cur += ch
        for it in filter(None, items):
            if "{" in it:
                i = it.index("{")
                rec(prefix + [p for p in it[:i].split("::") if p], it[i + 1 : it.rindex("}")])
                continue
            path, _, alias = it.partition(" as ")
            segs = prefix + [p for p in path.split("::") if p]
            if segs[-1] == "*":
                out.append((segs[:-1], "*"))
                continue
            if segs[-1] == "self":
                segs = segs[:-1]
            out.append((segs, alias or segs[-1]))

    rec([], re.sub(r"\s*(::|[{},])\s*", r"\1", re.sub(r"\s+", " ", tree.strip())))
    return out


def anchored(m, segs):
    """A `crate::`/`self::`/`super::` path written in module m, as (module path, rest); None else."""
    here = m.split("::") if m else []
    if segs[0] == "crate":
        return [], segs[1:]
    if segs[0] not in ("self", "super"):
        return None
    segs = segs[1:] if segs[0] == "self" else segs
    while segs and segs[0] == "super":
        segs, here = segs[1:], here[:-1]
    return here, segs


def inside(a, b):
    """Module a is b or one of b's descendants."""
    return b == "" or a == b or a.startswith(b + "::")


class Crate:
    """One crate's files, each with its `use` names, globs, items and code (comments, tests out)."""

    def __init__(self, root, skip=None):
        self.files = crate_files(root, skip)
        self.code, self.uses, self.binds, self.globs, self.defs = {}, {}, {}, {}, {}
        for m, p in self.files.items():
            src = re.sub(r"//[^\n]*", "", open(p).read())
            src = re.split(r"#\[cfg\(test\)\]\s*mod tests", src)[0]
            self.uses[m] = [u for t in USE.findall(src) for u in use_tree(t)]
            self.binds[m] = {b: segs for segs, b in self.uses[m] if b not in ("*", "_")}
            self.globs[m] = [segs for segs, b in self.uses[m] if b == "*"]
            self.defs[m] = set(DEF.findall(src))
            self.code[m] = USE.sub("", src)

    def provides(self, m, name, depth=0):
        """`name` is in scope in module m: a child, a `use`, an item, or through a glob."""
        if "::".join(filter(None, [m, name])) in self.files or name in self.binds[m] or name in self.defs[m]:
            return True
        return depth < 20 and any(
            r and not r[1] and self.provides(r[0], name, depth + 1)
            for r in (self.absolute(m, g, depth + 1) for g in self.globs[m]))

    def absolute(self, m, segs, depth=0):
        """Where the path `segs`, written in module m, is defined: (module, rest of the path), or
        None when it leaves the crate (another crate, a local name)."""
        if depth > 20 or not segs:
            return None
        a = anchored(m, segs)
        if a:
            return self.walk(a[0] + a[1], depth)
        return self.walk(m.split("::") + segs if m else segs, depth) if self.provides(m, segs[0], depth) else None

    def walk(self, segs, depth):
        """Follow a path from the root through modules, `use` names and globs."""
        cur = []
        for i, s in enumerate(segs):
            m = "::".join(cur)
            if "::".join(cur + [s]) in self.files:
                cur.append(s)
            elif s in self.binds[m]:
                return self.absolute(m, self.binds[m][s] + segs[i + 1 :], depth + 1)
            elif s in self.defs[m]:
                return m, segs[i:]
            else:
                for g in self.globs[m]:
                    r = self.absolute(m, g, depth + 1)
                    if r and not r[1] and self.provides(r[0], s, depth + 1):
                        return self.walk(r[0].split("::") + segs[i:], depth + 1)
                return (m, segs[i:]) if cur else None  # unknown at the root: nothing
        return "::".join(cur), []

    def paths(self, m):
        """Every path module m names: its `use` trees, then its code's paths."""
        yield from (segs for segs, _ in self.uses[m])
        for p in PATH.findall(self.code[m]):
            segs = p.split("::")
            if segs[0] in ("crate", "self", "super") or self.provides(m, segs[0]):
                yield segs

    def arrows(self):
        edges = set()
        for m in self.files:
            for segs in self.paths(m):
                r = self.absolute(m, segs)
                if r and not inside(r[0], m):
                    edges.add((m, r[0]))
        return edges

    def through_root(self):
        """(file, X) for each `crate::X` outside the root where X is a name the root only imports
        (`pub use`, `use`, globs), not a module or an item of its own."""
        found = []
        for m, p in sorted(self.files.items()):
            for a in (anchored(m, segs) for segs in self.paths(m) if m):
                x = a[1][0] if a and not a[0] and a[1] else None
                if x and x not in self.files and x not in self.defs[""] and self.provides("", x):
                    if (p, x) not in found:
                        found.append((p, x))
        return found

    def real_name(self, name):
        """Where the root's name really lives: `Config` → `crate::config::Config`."""
        r = self.walk([name], 0)
        return "crate::" + "::".join(filter(None, r[0].split("::") + r[1])) if r else "::".join(self.binds[""].get(name, [name]))


def circles(nodes, edges):
    """Strongly connected components with more than one node (Tarjan)."""
    adj = {n: sorted(b for a, b in edges if a == n) for n in nodes}
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


top = lambda m: m.split("::")[0]


def report(label, crate, edges, name):
    """Print one crate's circles, files then top-level modules; return how many."""
    tedges = {(top(a), top(b)) for a, b in edges if top(a) != top(b)}
    tnodes = {top(m) for m in crate.files}
    n = 0
    for what, nodes, es, level in (("files", set(crate.files), edges, lambda m: m), ("top-level modules", tnodes, tedges, top)):
        cs = circles(nodes, es)
        n += len(cs)
        print(f"{label}{what}: {len(nodes)}, arrows {len(es)}, circles {len(cs)}")
        for c in cs:
            print("  circle:", " ".join(name(m) for m in c))
            if "-v" in sys.argv:
                for a, b in sorted(edges):
                    if level(a) in c and level(b) in c and level(a) != level(b):
                        print("    ", name(a), "->", name(b))
    return n


def main():
    lib, bin_ = Crate(SRC, skip="bin"), Crate(os.path.join(SRC, BIN))
    ledges, bedges = lib.arrows(), bin_.arrows()
    bad = report("", lib, ledges, lambda m: m or "crate")
    bad += report("binary ", bin_, bedges, lambda m: "bin:" + (m or "crate"))

    rank = {("" if m == "crate" else m): i for i, line in enumerate(LAYERS.strip().splitlines()) for m in line.split()}
    up = sorted((a, b) for a, b in ledges if rank.get(top(a), -1) < rank.get(top(b), -1))
    unplaced = sorted({top(m) for m in lib.files} - set(rank))
    print(f"arrows going up a layer: {len(up)}; modules in no layer: {len(unplaced)}")
    for a, b in up:
        print("  up:", a or "crate", "->", b or "crate")
    for n in unplaced:
        print("  no layer:", n)

    root = lib.through_root()
    print(f"imports through the crate root's re-exports: {len(root)}")
    for p, x in root:
        print(f"  {os.path.relpath(p, os.path.dirname(SRC))}: crate::{x} goes through the crate root's re-export; name {lib.real_name(x)}")
    if "--check" in sys.argv and (bad or up or unplaced or root):
        sys.exit(1)


main()
