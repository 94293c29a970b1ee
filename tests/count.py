#!/usr/bin/env python3
"""Counts test cases in meson's testlog.json and prints 'N passed, N failed'.

A TAP test counts each 'ok'/'not ok' line; a test that produced no TAP line,
or whose process failed after its TAP lines (a sanitizer report, a crash),
counts as one failure more, so nothing that went wrong is hidden."""
import json
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b(.*)$")

def main(path):
    passed = failed = skipped = 0
    with open(path, encoding="utf-8", errors="replace") as fp:
        for line in fp:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            result = t.get("result", "")
            out = t.get("stdout") or ""
            p = f = s = 0
            for l in out.splitlines():
                m = TAP.match(l.strip())
                if not m:
                    continue
                if "# SKIP" in m.group(2).upper():
                    s += 1
                elif m.group(1) == "ok":
                    p += 1
                else:
                    f += 1
            if p + f + s == 0:
                if result in ("OK", "EXPECTEDFAIL"):
                    p = 1
                elif result == "SKIP":
                    s = 1
                else:
                    f = 1
            elif result not in ("OK", "EXPECTEDFAIL", "SKIP") and f == 0:
                f = 1
            passed += p
            failed += f
            skipped += s
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
