#!/usr/bin/env python3
"""The mistakes a new user makes on the README's path, and that what dbreg
says to each names what to do: the command that fixes it, where it is.

usage: test_newuser.py DBREG TOMLS_DIR
Uses tests/clitest.py (run, project, expect); prints TAP."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as t  # noqa: E402
from clitest import case, expect, main, project, run  # noqa: E402

t.configure(sys.argv[1], sys.argv[2], "newuser")


def edit(d, rel, old, new):
    path = os.path.join(d, rel)
    with open(path) as fp:
        text = fp.read()
    expect(text.count(old) == 1, "%s: %r not found once" % (rel, old))
    with open(path, "w") as fp:
        fp.write(text.replace(old, new))


def hint_of(err, code):
    """The hint of the first finding with that code, as printed."""
    for line in err.splitlines():
        if "[%s]" % code in line and "(hint: " in line:
            return line.split("(hint: ", 1)[1].rstrip(")")
    raise AssertionError("no %s with a hint in: %s" % (code, err))


@case
def a_declared_column_the_migrations_lack_names_generate_and_generate_fixes_it():
    d = project()
    edit(d, "tomls/basic.toml", 'body       = { type = "text" }\n',
         'body       = { type = "text" }\nsummary    = { type = "text" }\n')
    rc, _, err = run(["validate"], d)
    hint = hint_of(err, "DBR047")
    expect(rc == 1 and "column summary is declared" in err, err)
    expect(hint.startswith("dbreg generate @ydtb/basic appends the migration"), hint)
    # The command the hint names is the fix.
    rc, _, err = run(["generate", "@ydtb/basic"], d)
    expect(rc == 0, err)
    rc, _, err = run(["validate"], d)
    expect(rc == 0 and "DBR047" not in err, err)


@case
def an_applied_migration_edited_names_accept_and_accept_lets_apply_run():
    d = project()
    rc, _, err = run(["init"], d)
    expect(rc == 0, err)
    # A comment added to the SQLite body that ran: the checksum changes.
    edit(d, "tomls/basic.toml", 'up_sqlite = """\nCREATE TABLE IF NOT EXISTS "ydtb_basic_notes"',
         'up_sqlite = """\n-- notes of a workspace\nCREATE TABLE IF NOT EXISTS "ydtb_basic_notes"')
    rc, _, err = run(["apply"], d)
    expect(rc == 1 and "error[DBR045]" in err, err)
    hint = hint_of(err, "DBR045")
    expect("restore the applied body" in hint and hint.endswith("dbreg accept @ydtb/basic 0001_create_notes"), hint)
    rc, _, err = run(hint.split(": ")[-1].split()[1:], d)
    expect(rc == 0, err)
    rc, _, err = run(["apply"], d)
    expect(rc == 0 and "DBR045" not in err, err)


sys.exit(main())
