#!/usr/bin/env python3
"""Layers point one way: no module of libdbreg calls, directly or through
others, a function of a module that calls back into it (the registry used
to conduct the checks that use it). Reads which object defines each function and which
uses it from the static library with nm. Drivers stand on the public headers
alone, as a driver built against an installed libdbreg must: they include no
header of the core's and call no function the public headers do not declare.
The command line reads elapsed time one way, dbreg_clock_ms. Prints TAP.

usage: test_layers.py LIBDBREG_A SOURCE_DIR"""
import collections
import glob
import os
import re
import subprocess
import sys

lib, source = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(source, "core"))
import exports  # noqa: E402  the same reading of the public headers as the build's
out = subprocess.run(["nm", "-A", lib], check=True, capture_output=True, text=True).stdout


def is_driver(obj):
    # core/meson.build names them ../drivers/...: .._drivers_sqlite_sqlite.c.o
    return re.match(r"(\.\._)?drivers_", obj) is not None


defined, used = {}, collections.defaultdict(set)
by_drivers = set()                 # what the drivers' own objects define
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
    if kind in "TDBR" and is_driver(obj):
        by_drivers.add(name)

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

# A driver's quoted includes: its own folder's headers (or one its folder's
# script writes: pq_calls.py -> pq_calls.h) and the public headers.
private_includes = []
for path in sorted(glob.glob(os.path.join(source, "drivers", "**", "*.[ch]"), recursive=True)):
    folder = os.path.dirname(path)
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if not m:
            continue
        inc = m.group(1)
        own = "/" not in inc and (os.path.exists(os.path.join(folder, inc)) or
                                  os.path.exists(os.path.join(folder, inc[:-2] + ".py")))
        if not own and inc not in ("dbreg.h", "dbreg/driver.h"):
            private_includes.append("%s:%d: %s" % (os.path.relpath(path, source), n, inc))

public = set(exports.declared([os.path.join(source, "core", "include", "dbreg.h"),
                               os.path.join(source, "core", "include", "dbreg", "driver.h")]))
private_calls = sorted("%s: %s" % (obj, n) for obj, names in used.items() if is_driver(obj)
                       for n in names if n.startswith("dbreg_") and n not in public and n not in by_drivers)
driver_objs = sorted(o for o in used if is_driver(o))

# The CLI times itself with the library's clock, never its own read of one.
own_clock = []
for path in sorted(glob.glob(os.path.join(source, "core", "cli", "*.[ch]"))):
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if re.search(r"\b(clock_gettime|gettimeofday|CLOCK_MONOTONIC)\b", line):
            own_clock.append("%s:%d: %s" % (os.path.relpath(path, source), n, line.strip()))


def tap(n, ok, what, lines=()):
    print("%s %d - %s" % ("ok" if ok else "not ok", n, what))
    for line in lines:
        print("# " + line)


print("1..5")
print("ok 1 - the library's objects were read (%d modules)" % len(deps) if len(deps) > 5 else
      "not ok 1 - too few modules in %s" % lib)
if cycles:
    print("not ok 2 - no module calls back into a module that calls it")
    for c in cycles:
        print("# cycle: " + " -> ".join(c))
else:
    print("ok 2 - no module calls back into a module that calls it")
tap(3, not private_includes and len(driver_objs) >= 3, "a driver includes only its own and the public headers",
    private_includes or ["driver objects read: %s" % driver_objs])
tap(4, not private_calls, "a driver calls only functions of the public headers", private_calls)
tap(5, not own_clock, "the command line reads elapsed time only through dbreg_clock_ms", own_clock)
