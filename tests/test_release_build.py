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
    print("1..2")
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
    # The install test on the unsanitized build too: what needs a program
    # without the sanitizers' runtimes (one linked with -static) runs here.
    t = subprocess.run([sys.executable, os.path.join(root, "tests", "test_install.py"), build, root, "none"],
                       capture_output=True, text=True, timeout=600) if ok else None
    passed = t is not None and t.returncode == 0 and "not ok" not in t.stdout
    print("%s 2 - the release build's meson install passes test_install" % ("ok" if passed else "not ok"))
    for line in (t.stdout + t.stderr).splitlines() if t is not None and not passed else []:
        print("#   " + line)
finally:
    shutil.rmtree(build, ignore_errors=True)
