#!/usr/bin/env python3
"""Layers point one way: no module of libdbreg calls, directly or through
others, a function of a module that calls back into it (the registry used
to conduct the checks that use it). Reads which object defines each function and which
uses it from the static library with nm; prints TAP.

usage: test_layers.py LIBDBREG_A"""
import collections
import subprocess
import sys

lib = sys.argv[1]
out = subprocess.run(["nm", "-A", lib], check=True, capture_output=True, text=True).stdout
defined, used = {}, collections.defaultdict(set)
for line in out.splitlines():
    # "lib.a:obj.o:0000000000000000 T name" or "lib.a:obj.o:                 U name"
    head, _, rest = line.rpartition(":")
    obj = head.split(":")[-1]
    parts = rest.split()
    if len(parts) < 2:
        continue
    kind, name = parts[-2], parts[-1]
    if kind == "U":
        used[obj].add(name)
    elif kind == "T":
        # Functions only: a driver's vtable is data that builtin.c lists,
        # not a call into the driver.
        defined[name] = obj

def module(obj):
    # meson names objects after their source: core_src_replay.c.o
    return obj.split("_")[-1].rsplit(".c.o", 1)[0] if obj.endswith(".c.o") else obj

deps = collections.defaultdict(set)
for obj, names in used.items():
    for n in names:
        if n in defined and defined[n] != obj:
            deps[module(obj)].add(module(defined[n]))

cycles = []
color = {}

def visit(u, path):
    color[u] = 1
    path.append(u)
    for v in sorted(deps[u]):
        if color.get(v) == 1:
            cycles.append(path[path.index(v):] + [v])
        elif v not in color:
            visit(v, path)
    path.pop()
    color[u] = 2

for m in sorted(set(deps) | {d for s in deps.values() for d in s}):
    if m not in color:
        visit(m, [])

print("1..2")
print("ok 1 - the library's objects were read (%d modules)" % len(deps) if len(deps) > 5 else
      "not ok 1 - too few modules in %s" % lib)
if cycles:
    print("not ok 2 - no module calls back into a module that calls it")
    for c in cycles:
        print("# cycle: " + " -> ".join(c))
else:
    print("ok 2 - no module calls back into a module that calls it")
