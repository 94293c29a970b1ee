#!/usr/bin/env python3
"""Statements of cli.md and manifest.md checked end to end on the built
binary, each case one statement that an audit found the binary broke.

usage: test_contract.py DBREG TOMLS_DIR
Each case copies a project into a fresh temporary folder and runs dbreg
there; PostgreSQL cases use DBREG_TEST_PG_URL. Prints TAP."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import case, expect, main, project, run_json  # noqa: E402

clitest.configure(sys.argv[1], sys.argv[2], "contract")

# A migration with no SQLite body: the plan for SQLite has an error (DBR042).
PG_ONLY = """
[[migrations]]
id = "0099_pg_only"
version = "1.1.0"
up_postgres = "SELECT 1;"
"""


def warnings(doc):
    return sorted((d["code"], d["file"], d["line"]) for d in doc["diagnostics"] if d["severity"] == "warning")


@case
def a_failed_plan_keeps_its_warnings_in_the_json_of_every_run():
    # cli.md: warnings found while planning are in "diagnostics" of plan,
    # apply and init. The real core has a suppressed DBR103 (a DBR105) in a
    # pending step; the second run skips the SQL checks the state file
    # remembers, and its plan must still say what the first one said.
    d = project()
    with open(os.path.join(d, "tomls", "basic.toml"), "a") as fp:
        fp.write(PG_ONLY)
    rc, first, err = run_json(["plan"], d)
    expect(rc == 1 and "DBR042" in [x["code"] for x in first["diagnostics"]], (rc, first))
    step = [w for w in warnings(first) if w[1] == "tomls/core.toml"]
    expect(step and step[0][0] == "DBR105", first)
    for cmd in (["plan"], ["apply"], ["apply", "--dry-run"], ["init", "--wait", "0"]):
        rc, doc, err = run_json(cmd, d)
        expect(rc == 1 and doc["exit_code"] == 1, (cmd, rc, doc))
        expect("DBR042" in [x["code"] for x in doc["diagnostics"]], (cmd, doc))
        expect(set(step) <= set(warnings(doc)), "%s lost the plan's warnings %s: %s" % (cmd, step, doc["diagnostics"]))


if __name__ == "__main__":
    sys.exit(main())
