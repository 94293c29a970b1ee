#!/usr/bin/env python3
"""The package developer commands as a developer runs them: new, docs,
generate, test.

usage: test_devtools.py DBREG TOMLS_DIR REPO_DIR
Reuses test_cli.py's helpers (run, project, expect, pg_database); prints TAP."""
import os
import shutil
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.abspath(sys.argv[3])
sys.argv = sys.argv[:3]
import test_cli as t  # noqa: E402
from test_cli import expect, project, run, Skip  # noqa: E402

cases = []


def case(fn):
    cases.append(fn)
    return fn


def read(path):
    with open(path, "rb") as fp:
        return fp.read()


@case
def new_package_validates_and_inits_as_written():
    d = project()
    rc, out, err = run(["new", "package", "@acme/crm"], d)
    expect(rc == 0, err)
    path = os.path.join(d, "tomls", "crm.toml")
    expect(os.path.exists(path), os.listdir(os.path.join(d, "tomls")))
    expect(err.strip() == "wrote tomls/crm.toml (package @acme/crm 0.1.0)", err)
    text = read(path).decode()
    for want in ('name = "@acme/crm"', 'version = "0.1.0"', "workspace_scoped = true", "up_postgres",
                 "up_sqlite", "description ="):
        expect(want in text, want)
    rc, out, err = run(["validate"], d)
    # No finding in the new package (the real manifests may carry their own warnings).
    expect(rc == 0 and "3 packages, 0 errors," in err and "crm.toml" not in err, err)
    rc, out, err = run(["init"], d)
    expect(rc == 0, err)
    rc, out, err = run(["verify"], d)
    expect(rc == 0, err)


@case
def new_package_refuses_a_taken_name_a_bad_name_and_an_existing_file():
    d = project()
    rc, _, err = run(["new", "package", "@ydtb/basic"], d)
    expect(rc == 1 and "already exists in tomls/basic.toml" in err, err)
    rc, _, err = run(["new", "package", "Bad Name"], d)
    expect(rc == 1 and 'invalid package name "Bad Name"' in err, err)
    expect(not os.path.exists(os.path.join(d, "tomls", "Bad Name.toml")), "a file was written")
    rc, _, err = run(["new", "package", "@other/basic"], d)
    expect(rc == 1 and "tomls/basic.toml already exists" in err, err)
    rc, _, err = run(["new", "package", "@other/basic", "--dir", "tomls/other"], d)
    expect(rc == 0 and os.path.exists(os.path.join(d, "tomls", "other", "basic.toml")), err)
    rc, _, err = run(["validate"], d)
    expect(rc == 0, err)


@case
def new_migration_appends_and_keeps_every_byte():
    d = project()
    path = os.path.join(d, "tomls", "basic.toml")
    before = read(path)
    rc, _, err = run(["new", "migration", "@ydtb/basic", "0006_add_color"], d)
    expect(rc == 0, err)
    after = read(path)
    expect(after.startswith(before), "the old bytes are not a prefix of the new file")
    added = after[len(before):].decode()
    expect(added == ("\n[[migrations]]\nid = \"0006_add_color\"\nversion = \"1.1.0\"\ndescription = \"\"\n"
                     "up_postgres = \"\"\"\n\"\"\"\nup_sqlite = \"\"\"\n\"\"\"\n"
                     "down_postgres = \"\"\"\n\"\"\"\ndown_sqlite = \"\"\"\n\"\"\"\n"), repr(added))
    rc, _, err = run(["validate"], d)
    expect(rc == 0, err)
    # A second one with the same id is refused and changes nothing.
    rc, _, err = run(["new", "migration", "@ydtb/basic", "0006_add_color"], d)
    expect(rc == 1 and 'already has a migration "0006_add_color"' in err, err)
    expect(read(path) == after, "the file changed")
    rc, _, err = run(["new", "migration", "@ydtb/nope", "x"], d)
    expect(rc == 1 and "no package @ydtb/nope" in err, err)
    rc, _, err = run(["new", "migration", "@ydtb/basic", "bad id"], d)
    expect(rc == 1 and "invalid migration id" in err, err)
    expect(read(path) == after, "the file changed")


@case
def new_migration_on_a_file_without_final_newline():
    d = project()
    path = os.path.join(d, "tomls", "basic.toml")
    before = read(path).rstrip(b"\n")
    with open(path, "wb") as fp:
        fp.write(before)
    rc, _, err = run(["new", "migration", "@ydtb/basic", "0006_x"], d)
    expect(rc == 0, err)
    after = read(path)
    expect(after.startswith(before + b"\n\n[[migrations]]\nid = \"0006_x\"\n"), after[len(before):][:60])
    rc, _, err = run(["validate"], d)
    expect(rc == 0, err)


@case
def docs_check_passes_on_the_repository():
    rc, _, err = run(["-C", REPO, "docs", "--check"], "/")
    expect(rc == 0, "docs/schema is out of date: run `build/dbreg docs` at the repository root\n" + err)


@case
def docs_check_fails_after_a_manifest_edit_and_docs_fixes_it():
    d = project()
    shutil.copytree(os.path.join(REPO, "docs", "schema"), os.path.join(d, "docs", "schema"))
    rc, _, err = run(["docs", "--check"], d)
    expect(rc == 0, err)
    path = os.path.join(d, "tomls", "basic.toml")
    text = read(path).decode().replace('title      = { type = "text", not_null = true }',
                                       'title      = { type = "text", not_null = true, description = "Shown in lists" }')
    with open(path, "w") as fp:
        fp.write(text)
    rc, _, err = run(["docs", "--check"], d)
    expect(rc == 1, err)
    expect("differs: docs/schema/ydtb/basic.md" in err.splitlines(), err)
    expect("differs: docs/schema/ydtb/core.md" not in err, err)
    page = os.path.join(d, "docs", "schema", "ydtb", "basic.md")
    before = read(page)
    rc, _, err = run(["docs"], d)
    expect(rc == 0 and read(page) != before and b"Shown in lists" in read(page), err)
    rc, _, err = run(["docs", "--check"], d)
    expect(rc == 0, err)
    # A package removed leaves a stale page, which --check reports and docs removes.
    os.remove(path)
    rc, _, err = run(["docs", "--check"], d)
    expect(rc == 1 and "differs: docs/schema/ydtb/basic.md" in err, err)
    rc, _, err = run(["docs"], d)
    expect(rc == 0 and not os.path.exists(page), err)


@case
def docs_are_the_same_from_any_folder_and_hold_the_diagrams():
    d = project()
    rc, _, err = run(["docs", "--out", "a"], d)
    expect(rc == 0, err)
    rc, _, err = run(["-C", d, "docs", "--out", os.path.join(d, "b")], "/")
    expect(rc == 0, err)
    for page in ["README.md", "ydtb/core.md", "ydtb/basic.md"]:
        expect(read(os.path.join(d, "a", page)) == read(os.path.join(d, "b", page)), page)
    index = read(os.path.join(d, "a", "README.md")).decode()
    expect("```mermaid\ngraph TD\n" in index and '-->|"^1.0.0"|' in index, index)
    basic = read(os.path.join(d, "a", "ydtb", "basic.md")).decode()
    for want in ["```mermaid\nerDiagram\n", '  ydtb_basic_notes ||--o{ ydtb_basic_note_tags : "note_id"',
                 "| `pinned` | boolean | no | `false` |  | Added in 1.1.0 |",
                 "| `ydtb_basic_tasks_open_idx` | `workspace_id`, `done`, `due_at` | no |",
                 "| `basic-notes` | Notes | Write and pin notes | note |",
                 "| `0004_index_note_pinned` | 1.1.0 |", "Primary key: `note_id`, `tag`."]:
        expect(want in basic, want)


def main():
    print("1..%d" % len(cases))
    failed = 0
    for i, fn in enumerate(cases, 1):
        try:
            fn()
            print("ok %d - %s" % (i, fn.__name__))
        except Skip as s:
            print("ok %d - %s # SKIP %s" % (i, fn.__name__, s))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, fn.__name__))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
    for d in t.made:
        shutil.rmtree(d, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
