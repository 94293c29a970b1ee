#!/usr/bin/env python3
"""The shell scripts of bench/, tests/, fuzz/ and .ci/ run under `set -e`: a line
`[ cond ] && cmd` has status 1 when cond is false, so as the last command
of a function it makes the call fail (and set -e stop the script), and as
the last command of the script it makes the script exit 1 after a run that
succeeded (review 6, finding 1). They say `if [ cond ]; then cmd; fi`
instead; a `[ ... ] && ... || ...` line has a status of its own and is
allowed. In awk, a `>` among the arguments of a print or printf without
parentheses redirects (`printf "%s", x, i > 1 ? " " : "\n"` writes to a
file named " " and prints nothing: bench_fleet.sh's even runs timed
nothing): a script parenthesizes the arguments. Each script must also parse
(bash -n). Prints TAP.

usage: test_scripts.py SOURCE_ROOT"""
import glob
import os
import re
import subprocess
import sys

root = sys.argv[1]
# .ci/'s scripts have no .sh: every file there is one (CI runs them with bash).
scripts = sorted(glob.glob(os.path.join(root, "bench", "*.sh")) +
                 glob.glob(os.path.join(root, "tests", "*.sh")) + [os.path.join(root, "tests", "run")] +
                 glob.glob(os.path.join(root, "tests", "*", "*.sh")) + glob.glob(os.path.join(root, "fuzz", "*.sh")) +
                 [p for p in glob.glob(os.path.join(root, ".ci", "*")) if os.path.isfile(p)])
# [ ], [[ ]], test and (( )) alike: each has status 1 when false.
test_form = re.compile(r"^\s*(\[\[? .*\]\]?|test .*|\(\(.*\)\)) &&")
# print/printf ARGS > X, X not a quoted file name, /dev/..., $var or &2.
awk_redirect = re.compile(r"\bprintf?\s+[^(\s;{}|#][^;{}|#]*[^\s=!<>]\s*>\s*[^\s>=&\"/$]")
n = 0
print("1..%d" % (3 * len(scripts)))
for path in scripts:
    rel = os.path.relpath(path, root)
    n += 1
    r = subprocess.run(["bash", "-n", path], capture_output=True, text=True)
    print("%s %d - %s parses%s" % ("ok" if r.returncode == 0 else "not ok", n, rel,
                                    "" if r.returncode == 0 else ": " + r.stderr.strip()))
    bad = []
    with open(path) as f:
        for no, line in enumerate(f, 1):
            if test_form.match(line) and "||" not in line:
                bad.append("%s:%d: %s" % (rel, no, line.strip()))
    n += 1
    print("%s %d - %s has no `[ ... ] && ...` line (use if ...; then ...; fi)" % ("ok" if not bad else "not ok", n, rel))
    for b in bad:
        print("#   " + b)
    with open(path) as f:
        bad = ["%s:%d: %s" % (rel, no, line.strip()) for no, line in enumerate(f, 1)
               if not line.lstrip().startswith("#") and awk_redirect.search(line)]
    n += 1
    print("%s %d - %s has no print or printf whose `>` redirects (parenthesize awk's arguments)"
          % ("ok" if not bad else "not ok", n, rel))
    for b in bad:
        print("#   " + b)
