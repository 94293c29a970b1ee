#!/usr/bin/env python3
"""Runs a toml-test decoder over every case of a toml-test folder, as TAP.

Usage: toml_suite.py DECODER TOML_TEST_DIR

valid/X.toml must decode (exit 0) to JSON equal to valid/X.json, compared as
values (floats by number, NaN by kind, date/times as instants); invalid/X.toml
must be refused with exit 1 (a signal or another code is a failure).
"""
import datetime
import json
import math
import os
import re
import subprocess
import sys

TIMEOUT = 10


def cases(root, kind):
    out = []
    base = os.path.join(root, kind)
    for d, _, files in os.walk(base):
        for f in files:
            if f.endswith(".toml"):
                out.append(os.path.join(d, f))
    return sorted(out)


DT = re.compile(
    r"^(?:(\d{4})-(\d{2})-(\d{2}))?[Tt ]?(?:(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?"
    r"([Zz]|[+-]\d{2}:\d{2})?$")


def norm_datetime(kind, v):
    """A comparable tuple for a date/time string: instants for offset ones."""
    m = DT.match(v)
    if not m:
        return ("bad", v)
    y, mo, d, h, mi, s, frac, off = m.groups()
    ns = int((frac or "0")[:9].ljust(9, "0"))
    if kind == "datetime":
        if off is None:
            return ("bad", v)
        sec = min(int(s), 59)  # datetime() refuses a leap second
        t = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), sec)
        if off not in ("Z", "z"):
            sign = 1 if off[0] == "+" else -1
            t -= sign * datetime.timedelta(hours=int(off[1:3]), minutes=int(off[4:6]))
        return (t.isoformat(), int(s) - sec, ns)
    if off is not None:
        return ("bad", v)
    return (y, mo, d, h, mi, s, ns)


def scalar_equal(a, b):
    ta, tb = a["type"], b["type"]
    if ta != tb:
        return False
    va, vb = a["value"], b["value"]
    if not isinstance(va, str) or not isinstance(vb, str):
        return False
    if ta == "float":
        try:
            fa, fb = float(va), float(vb)
        except ValueError:
            return False
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return fa == fb and math.copysign(1, fa) == math.copysign(1, fb)
    if ta == "bool":
        return va.lower() == vb.lower()
    if ta in ("datetime", "datetime-local", "date-local", "time-local"):
        return norm_datetime(ta, va) == norm_datetime(tb, vb)
    return va == vb


def is_scalar(x):
    return isinstance(x, dict) and set(x) == {"type", "value"}


def equal(got, want, path="$"):
    """None when equal, else a description of the first difference."""
    if is_scalar(want) or is_scalar(got):
        if not (is_scalar(want) and is_scalar(got)):
            return "%s: %r != %r" % (path, got, want)
        if not scalar_equal(got, want):
            return "%s: %r != %r" % (path, got, want)
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return "%s: expected a table, got %r" % (path, got)
        if set(got) != set(want):
            return "%s: keys %s != %s" % (path, sorted(got), sorted(want))
        for k in want:
            r = equal(got[k], want[k], "%s.%s" % (path, k))
            if r:
                return r
        return None
    if isinstance(want, list):
        if not isinstance(got, list):
            return "%s: expected an array, got %r" % (path, got)
        if len(got) != len(want):
            return "%s: %d elements != %d" % (path, len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            r = equal(g, w, "%s[%d]" % (path, i))
            if r:
                return r
        return None
    return "%s: unexpected %r" % (path, want)


def run(decoder, path):
    with open(path, "rb") as f:
        data = f.read()
    return subprocess.run([decoder], input=data, capture_output=True, timeout=TIMEOUT)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    decoder, root = sys.argv[1], sys.argv[2]
    valid, invalid = cases(root, "valid"), cases(root, "invalid")
    total = len(valid) + len(invalid)
    if not valid or not invalid:
        # No cases is no pass: a plan of 0 would report the suite skipped.
        print("TAP version 13\n1..1\nnot ok 1 - the toml-test cases are not at %s" % root)
        print("# the shared conformance suites belong beside the source tree (../shared),"
              " or: meson setup BUILD -Dshared_dir=DIR")
        return 1
    print("TAP version 13")
    print("1..%d" % total)
    n = 0
    passed = {"valid": 0, "invalid": 0}
    for kind, files in (("valid", valid), ("invalid", invalid)):
        for path in files:
            n += 1
            name = "%s/%s" % (kind, os.path.relpath(path, os.path.join(root, kind))[:-5])
            why = None
            try:
                r = run(decoder, path)
            except subprocess.TimeoutExpired:
                r, why = None, "timed out"
            if r is not None and kind == "valid":
                if r.returncode != 0:
                    why = "exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace").strip())
                else:
                    with open(path[:-5] + ".json", encoding="utf-8") as f:
                        want = json.load(f)
                    try:
                        got = json.loads(r.stdout.decode("utf-8"))
                    except ValueError as e:
                        why = "bad JSON output: %s" % e
                    else:
                        why = equal(got, want)
            elif r is not None:
                if r.returncode != 1:
                    why = ("killed by signal %d" % -r.returncode if r.returncode < 0
                           else "exit %d, expected 1" % r.returncode)
            if why is None:
                passed[kind] += 1
                print("ok %d - %s" % (n, name))
            else:
                print("not ok %d - %s" % (n, name))
                for line in why.splitlines()[:5]:
                    print("  # %s" % line)
    print("# valid: %d/%d passed" % (passed["valid"], len(valid)))
    print("# invalid: %d/%d passed" % (passed["invalid"], len(invalid)))
    return 0 if passed["valid"] + passed["invalid"] == total else 1


if __name__ == "__main__":
    sys.exit(main())
