#!/usr/bin/env python3
"""The release build (meson --buildtype=release, -O3, what bench/ and a
packager build) compiles with the project's -Werror: the optimiser warns
of things a debug build never shows (a pointer it takes for maybe
uninitialized once a function is inlined), and the suite itself builds
only at -O0. Prints TAP.

usage: test_release_build.py SOURCE_ROOT SHARED_DIR"""
import os
import shutil
import subprocess
import sys
import tempfile

root, shared = sys.argv[1], sys.argv[2]
build = tempfile.mkdtemp(prefix="dbreg-release-")
try:
    print("1..1")
    setup = ["meson", "setup", build, root, "--buildtype=release"] + (["-Dshared_dir=" + shared] if shared else [])
    r = subprocess.run(setup, capture_output=True, text=True)
    if r.returncode == 0:
        r = subprocess.run(["meson", "compile", "-C", build], capture_output=True, text=True)
    ok = r.returncode == 0
    print("%s 1 - the release build compiles with -Werror" % ("ok" if ok else "not ok"))
    if not ok:
        for line in (r.stdout + r.stderr).splitlines():
            if "error" in line or "warning" in line:
                print("#   " + line)
finally:
    shutil.rmtree(build, ignore_errors=True)
