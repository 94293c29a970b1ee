#!/usr/bin/env python3
"""The package developer commands as a developer runs them: new, docs,
generate, test.

usage: test_devtools.py DBREG TOMLS_DIR REPO_DIR [CASE...]
Uses tests/clitest.py (run, project, expect, pg_database); prints TAP."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest as t  # noqa: E402
from clitest import case, expect, main, project, run  # noqa: E402

t.configure(sys.argv[1], sys.argv[2], "devtools")
REPO = os.path.abspath(sys.argv[3])


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
    expect(rc == 2 and 'invalid package name "Bad Name"' in err, err)   # an argument: a usage error
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
    expect(rc == 2 and "no package @ydtb/nope" in err, err)   # a usage error, as down and accept say
    rc, _, err = run(["new", "migration", "@ydtb/basic", "bad id"], d)
    expect(rc == 2 and "invalid migration id" in err, err)   # as an unknown package is
    expect(read(path) == after, "the file changed")


@case
def new_migration_and_generate_refuse_a_manifest_whose_migrations_are_an_inline_array():
    # [[migrations]] cannot follow `migrations = [...]`: appending it wrote a
    # file that no longer parsed. Refused (exit 1), the file byte for byte.
    inline = ('migrations = [ { id = "0001", version = "0.1.0", up = "SELECT 1;" } ]\n'
              '[package]\nname = "@t/inl"\nversion = "0.2.0"\ndescription = "x"\n\n'
              '[tables.ydtb_inl_items]\ndescription = "An item"\nworkspace_scoped = true\n\n'
              '[tables.ydtb_inl_items.columns]\nid = { type = "text", primary_key = true }\n')
    d = project({"tomls/inl.toml": inline}, with_tomls=["core.toml"])
    path = os.path.join(d, "tomls", "inl.toml")
    before = read(path)
    for args in (["new", "migration", "@t/inl", "0002_x"], ["generate", "@t/inl"]):
        rc, out, err = run(args, d)
        expect(rc == 1 and "tomls/inl.toml: appending [[migrations]] would make the file invalid TOML" in err
               and "not an array of tables" in err, "%s: exit %d: %s" % (args, rc, out + err))
        expect(read(path) == before, "%s changed the file" % args)
    rc, out, err = run(["generate", "@t/inl", "--dry-run"], d)
    expect(rc == 0 and "[[migrations]]" in out, out + err)


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
def new_migration_and_generate_write_crlf_lines_to_a_crlf_manifest():
    d = project({"tomls/shop.toml": SHOP}, with_tomls=["core.toml", "basic.toml"])
    for name, args in [("basic.toml", ["new", "migration", "@ydtb/basic", "0006_x"]),
                       ("shop.toml", ["generate", "@t/shop"])]:
        path = os.path.join(d, "tomls", name)
        before = read(path).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        with open(path, "wb") as fp:
            fp.write(before)
        rc, _, err = run(args, d)
        expect(rc == 0, err)
        after = read(path)
        added = after[len(before):]
        # The old bytes kept, then only CRLF lines: no bare LF in between.
        expect(after.startswith(before) and added.startswith(b"\r\n[[migrations]]\r\n")
               and added.count(b"\n") == added.count(b"\r\n") > 5, "%s: %r" % (name, added[:80]))
    rc, out, err = run(["validate"], d)
    expect(rc == 0 and "DBR047" not in out + err, out + err)


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


# What a manifest may hold that Markdown or Mermaid would read as markup: SQL
# literals with quotes, pipes, backticks, backslashes and line breaks; HTML;
# Markdown that would make emphasis, links, headings, lists or a table; Mermaid
# keywords as column names ("pk" is a key, "one" and "end" are keywords),
# entity codes, a directive, and a type with a comma and a blank.
NASTY = r"""[package]
name = "@t-x/na.sty_x~1"
version = "1.0.0"
description = "Pipes | stars *bold* _under_ `tick` [link](http://x) <b>bold</b> &amp; <script>alert(1)</script>"

[dependencies]
"@ydtb/basic" = ">=1.0.0 <2.0.0 || ^3.0.0"

[tables.ydtb_nasty_items]
description = "# not a heading <img src=x onerror=alert(1)>\n- not a list\n1. nor this\n    nor code\n> nor a quote\n| a | b |\n|---|---|\n```"
workspace_scoped = true

[tables.ydtb_nasty_items.columns]
id    = { type = "text", primary_key = true, description = "He said \"hi\" | <img src=x onerror=alert(1)> `x` \\ back\r\nnext [a]: b" }
pk    = { type = "text", default = "'a|b'", description = "%%{init: {\"theme\": \"forest\"}}%% #quot; style: #fff; direction TB" }
fk    = { type = "text", default = "'it''s'" }
uk    = { type = "text", default = "E'x\\ny'" }
nl    = { type = "text", default = "line1\nline2" }
one   = { type = "text", default = "a`b``c\\" }
end   = { type = "text", default = "`start" }
price = { type = "numeric(10, 2)", default = 1.5, description = "1. *x* _y_ ~~z~~ <i>i</i> &lt; &amp; & ok" }
expr  = { type = "text", default_sql = "('|' || '`')" }
code  = { type = "char(3)", unique = true, description = "- <script>alert(1)</script>" }
class = { type = "text", references = "ydtb_nasty_items.id", description = "\"quoted\" 'single'" }

[[tools]]
id = "nasty-tool"
name = "Nasty | <b>tool</b>"
description = "Does *things* | [click](javascript:alert(1)) <img src=x onerror=alert(1)>"
icon = "<svg onload=alert(1)>"
"""
NASTY_PKG = "@t-x/na.sty_x~1"
NASTY_FILE = "tomls/na|sty `1`.toml"
DOCSRENDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "docsrender", "run.sh")


def gfm_cells(line):
    """The cells of a table row as GFM splits it: at each '|' not after a '\\'."""
    cells, cur, prev = [], "", ""
    for ch in line.strip()[1:]:
        if ch == "|" and prev != "\\":
            cells.append(cur)
            cur = ""
        else:
            cur += ch
        prev = ch
    return cells


def one_line(text):
    """What Markdown and Mermaid show of a text with line breaks: one line."""
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").strip()


@case
def docs_show_what_the_manifests_hold_as_text_and_keep_every_diagram_valid():
    # The manifest's path is shown too: a file name may hold '|' and '`'.
    d = project({NASTY_FILE: NASTY})
    rc, _, err = run(["generate", NASTY_PKG], d)
    expect(rc == 0, err)
    rc, _, err = run(["docs"], d)
    expect(rc == 0, err)
    root = os.path.join(d, "docs", "schema")
    pages = ["README.md", "t-x/na.sty_x~1.md", "ydtb/basic.md", "ydtb/core.md"]
    written = {page: read(os.path.join(root, page)) for page in pages}
    # Still exact: --check agrees, and a second run writes the same bytes.
    rc, _, err = run(["docs", "--check"], d)
    expect(rc == 0, err)
    rc, _, err = run(["docs", "--out", "again"], d)
    expect(rc == 0, err)
    for page in pages:
        expect(read(os.path.join(d, "again", page)) == written[page], "%s differs on a rerun" % page)

    # The three ways a page can break, each listed for every page: a table
    # row whose cells are not its header's, as GFM splits it; HTML or
    # Markdown markup that came from a manifest; a diagram that Mermaid
    # does not parse.
    broken = []
    for page in pages:
        header = None
        for line in written[page].decode().splitlines():
            if not line.startswith("|"):
                header = None
                continue
            cells = gfm_cells(line)
            header = header if header is not None else len(cells)
            if len(cells) != header:
                broken.append("%s: %d cells, not %d: %s" % (page, len(cells), header, line))

    # Read back as a reader sees them: the Markdown renders to the text itself,
    # with no HTML but our header, and every diagram parses.
    p = subprocess.run(["bash", DOCSRENDER] + [os.path.join(root, page) for page in pages],
                       capture_output=True, text=True, timeout=900)
    expect(p.returncode == 0, p.stderr[-3000:])
    seen = json.loads(p.stdout)
    header = "<!-- Written by `dbreg docs` from the package manifests; do not edit. -->\n"
    for page in pages:
        got = seen[os.path.join(root, page)]
        if got["html"] != [header]:
            broken.append("%s: raw HTML: %s" % (page, got["html"]))
        if got["markup"] or not all(link.endswith(".md") for link in got["links"]):
            broken.append("%s: Markdown markup from the manifests: %s, links %s" % (page, got["markup"], got["links"]))
        expect(got["mermaid"], "%s: no diagram" % page)
        for block in got["mermaid"]:
            for version, r in sorted(block["parsers"].items()):
                if not r["ok"]:
                    broken.append("%s: Mermaid %s rejects\n%s\n%s" % (page, version, block["source"], r["error"]))
            if block["words11_14"]:
                broken.append("%s: Mermaid 11.14 rejects %s" % (page, block["words11_14"]))
    expect(not broken, "\n".join(broken))
    nasty = seen[os.path.join(root, "t-x/na.sty_x~1.md")]
    blocks = nasty["blocks"]
    expect(blocks[0] == NASTY_PKG, blocks)
    expect(nasty["tables"][0][3:] == [["manifest", NASTY_FILE], ["depends on", "@ydtb/basic >=1.0.0 <2.0.0 || ^3.0.0"]],
           nasty["tables"][0])
    expect(blocks[1] == ("Pipes | stars *bold* _under_ `tick` [link](http://x) <b>bold</b> &amp; "
                         "<script>alert(1)</script>"), blocks[1])
    items_desc = ("# not a heading <img src=x onerror=alert(1)>\n- not a list\n1. nor this\n    nor code\n"
                  "> nor a quote\n| a | b |\n|---|---|\n```")
    expect(one_line(items_desc) in blocks, blocks)
    columns = {row[0]: row for row in nasty["tables"][1][1:]}
    want = {  # column: (type, default, description) as a reader sees them
        "id (PK)": ("text", "", 'He said "hi" | <img src=x onerror=alert(1)> `x` \\ back next [a]: b'),
        "pk": ("text", "'''a|b'''", '%%{init: {"theme": "forest"}}%% #quot; style: #fff; direction TB'),
        "fk": ("text", "'''it''''s'''", ""),
        "uk": ("text", "'E''x\\ny'''", ""),
        "nl": ("text", "'line1\u240aline2'", ""),
        "one": ("text", "'a`b``c\\'", ""),
        "end": ("text", "'`start'", ""),
        "price": ("numeric(10, 2)", "1.5", "1. *x* _y_ ~~z~~ <i>i</i> &lt; &amp; & ok"),
        "expr": ("text", "('|' || '`')", ""),
        "code": ("char(3)", "", "- <script>alert(1)</script>; unique"),
        "class": ("text", "", "\"quoted\" 'single'"),
    }
    for name, (type_, default, desc) in want.items():
        row = columns.get(name)
        expect(row and (row[1], row[3], row[5]) == (type_, default, desc), "%s: %r" % (name, row))
    tools = nasty["tables"][3]
    expect(tools[1] == ["nasty-tool", "Nasty | <b>tool</b>",
                        "Does *things* | [click](javascript:alert(1)) <img src=x onerror=alert(1)>",
                        "<svg onload=alert(1)>"], tools)
    # The diagrams read back as declared: names, comments with their quotes;
    # a type Mermaid cannot spell gets '-' for its comma and blank, and names
    # the grammar would take for keys a '_' in front.
    for version, r in sorted(nasty["mermaid"][0]["parsers"].items()):
        er = r["read"]
        items = [e for e in er["entities"] if e["name"] == "ydtb_nasty_items"]
        expect(items, "%s: %s" % (version, er["entities"]))
        attrs = {a["name"]: a for a in items[0]["attributes"]}
        expect(sorted(attrs) == sorted(["id", "_pk", "_fk", "_uk", "nl", "one", "end", "price", "expr", "code",
                                        "class", "workspace_id"]), "%s: %s" % (version, sorted(attrs)))
        expect(attrs["id"]["comment"] == one_line(want["id (PK)"][2]) and attrs["id"]["keys"] == ["PK"],
               "%s: %s" % (version, attrs["id"]))
        expect(attrs["_pk"]["comment"] == want["pk"][2], "%s: %s" % (version, attrs["_pk"]))
        expect(attrs["price"]["type"] == "numeric(10--2)" and attrs["price"]["comment"] == want["price"][2],
               "%s: %s" % (version, attrs["price"]))
        expect(attrs["code"]["comment"] == "- <script>alert(1)</script>", "%s: %s" % (version, attrs["code"]))
        expect(attrs["class"]["comment"] == "\"quoted\" 'single'", "%s: %s" % (version, attrs["class"]))
        expect({"from": "ydtb_nasty_items", "to": "ydtb_nasty_items", "role": "class"} in er["relationships"],
               "%s: %s" % (version, er["relationships"]))
    for version, r in sorted(seen[os.path.join(root, "README.md")]["mermaid"][0]["parsers"].items()):
        graph = r["read"]
        expect({"id": "p0", "text": NASTY_PKG + " 1.0.0"} in graph["nodes"], "%s: %s" % (version, graph["nodes"]))
        expect({"from": "p0", "to": "p1", "text": ">=1.0.0 <2.0.0 || ^3.0.0"} in graph["edges"],
               "%s: %s" % (version, graph["edges"]))


# ---- generate: one case per kind of change, from databases with rows ----

SHOP = """[package]
name = "@t/shop"
version = "1.0.0"
description = "Items and the lines that point at them"

[tables.ydtb_shop_items]
description = "An item"
workspace_scoped = true

[tables.ydtb_shop_items.columns]
id    = { type = "text", primary_key = true }
title = { type = "text", not_null = true }
price = { type = "integer" }

[tables.ydtb_shop_lines]
description = "A line of an item (its child table)"
workspace_scoped = true

[tables.ydtb_shop_lines.columns]
id      = { type = "text", primary_key = true }
item_id = { type = "text", not_null = true, references = "ydtb_shop_items.id", on_delete = "cascade" }
qty     = { type = "integer", not_null = true, default = 1 }
ref_id  = { type = "text" }
"""

ROWS = [
    "INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W', 'w')",
    "INSERT INTO ydtb_shop_items (id, title, price, workspace_id) VALUES ('i1', 'A', 5, 'w1'), ('i2', 'B', NULL, 'w1')",
    "INSERT INTO ydtb_shop_lines (id, item_id, qty, ref_id, workspace_id) VALUES "
    "('l1', 'i1', 2, 'i2', 'w1'), ('l2', 'i2', 3, NULL, 'w1'), ('l3', 'i1', 4, 'i1', 'w1')",
]


def shop_project():
    d = project({"tomls/shop.toml": SHOP}, with_tomls=["core.toml"])
    # The first migration is generated too: the "add table" kind.
    rc, _, err = run(["generate", "@t/shop"], d)
    expect(rc == 0, err)
    return d


def psql(url, sql):
    p = subprocess.run(["psql", url, "-XAtqv", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
    expect(p.returncode == 0, p.stderr)
    return p.stdout.strip()


def sqlite_q(d, sql):
    db = sqlite3.connect(os.path.join(d, "ydtb.db"))
    try:
        rows = db.execute(sql).fetchall()
        db.commit()
        return rows
    finally:
        db.close()


def edit(d, old, new, name="shop.toml"):
    path = os.path.join(d, "tomls", name)
    with open(path) as fp:
        text = fp.read()
    expect(old in text, "fixture text not found: " + old)
    with open(path, "w") as fp:
        fp.write(text.replace(old, new, 1))


def change_case(change, check_sqlite, check_pg, expect_loss=False, on_pg=False):
    """Init both dialects with rows, change the manifest, generate, then
    validate, apply, verify and test; the rows are checked on both."""
    d = shop_project()
    url, drop = t.pg_database()
    try:
        for target in [[], ["--target", url]]:
            rc, _, err = run(["init"] + target, d)
            expect(rc == 0, err)
        for sql in ROWS:
            db = sqlite3.connect(os.path.join(d, "ydtb.db"))
            db.execute(sql)
            db.commit()
            db.close()
            psql(url, sql)
        manifest = os.path.join(d, "tomls", "shop.toml")
        before = read(manifest)
        change(d, url)
        edited = read(manifest)
        replay = ["--target", url] if on_pg else []
        rc, out, err = run(["generate", "@t/shop"] + replay, d)
        expect(rc == 0, err)
        expect(read(manifest).startswith(edited), "generate changed bytes of the manifest it appends to")
        expect(read(manifest) != edited and before != edited, "nothing was generated")
        expect(("DBR103" in err) == expect_loss, err)
        rc, _, err = run(["validate"], d)
        expect(rc == 0 and "DBR047" not in err, err)
        rc, _, err = run(["generate", "@t/shop"] + replay, d)
        expect(rc == 0 and "nothing to generate" in err, "a second generate found more: " + err)
        for target in [[], ["--target", url]]:
            rc, _, err = run(["apply"] + target, d)
            expect(rc == 0, err)
            rc, _, err = run(["verify"] + target, d)
            expect(rc == 0, err)
        # Every row the change does not drop is still there, children too.
        expect(sqlite_q(d, "SELECT count(*) FROM ydtb_shop_items")[0][0] == 2, "SQLite lost items")
        check_sqlite(d)
        expect(psql(url, "SELECT count(*) FROM ydtb_shop_items") == "2", "PostgreSQL lost items")
        check_pg(url)
        rc, _, err = run(["test", "@t/shop", "--target", url], d)
        expect(rc == 0, err)
    finally:
        drop()


def lines_kept_sqlite(d, table="ydtb_shop_lines"):
    rows = sqlite_q(d, "SELECT id, item_id FROM %s ORDER BY id" % table)
    expect(rows == [("l1", "i1"), ("l2", "i2"), ("l3", "i1")], rows)


def lines_kept_pg(url, table="ydtb_shop_lines"):
    got = psql(url, "SELECT string_agg(id || ':' || item_id, ',' ORDER BY id) FROM %s" % table)
    expect(got == "l1:i1,l2:i2,l3:i1", got)


@case
def generate_add_table():
    def change(d, url=None):
        edit(d, '[tables.ydtb_shop_lines]', """[tables.ydtb_shop_tags]
description = "A tag of an item"
workspace_scoped = true

[tables.ydtb_shop_tags.columns]
id      = { type = "text", primary_key = true }
item_id = { type = "text", not_null = true, references = "ydtb_shop_items.id", on_delete = "cascade" }
tag     = { type = "varchar(40)", not_null = true }

[tables.ydtb_shop_tags.indexes]
ydtb_shop_tags_tag_idx = { columns = ["workspace_id", "tag"], unique = true }

[tables.ydtb_shop_lines]""")

    def sq(d):
        lines_kept_sqlite(d)
        sqlite_q(d, "SELECT item_id, tag FROM ydtb_shop_tags")

    def pg(url):
        lines_kept_pg(url)
        psql(url, "SELECT item_id, tag FROM ydtb_shop_tags")
    change_case(change, sq, pg)


@case
def generate_add_nullable_column_and_one_with_default():
    def change(d, url=None):
        edit(d, 'price = { type = "integer" }',
             'price = { type = "integer" }\nnote  = { type = "text" }\ncolor = { type = "text", default = "red" }')

    def sq(d):
        lines_kept_sqlite(d)
        rows = sqlite_q(d, "SELECT id, note, color FROM ydtb_shop_items ORDER BY id")
        expect(rows == [("i1", None, "red"), ("i2", None, "red")], rows)

    def pg(url):
        lines_kept_pg(url)
        got = psql(url, "SELECT string_agg(id || ':' || coalesce(note, '-') || ':' || color, ',' ORDER BY id) FROM ydtb_shop_items")
        expect(got == "i1:-:red,i2:-:red", got)
    change_case(change, sq, pg)


@case
def generate_add_columns_with_expression_defaults():
    # SQLite's DEFAULT takes an expression only in parentheses, and ALTER
    # TABLE ADD COLUMN none at all (nor CURRENT_TIMESTAMP): generate wrote
    # DEFAULT lower('A') || 'b', a syntax error there.
    def change(d, url=None):
        edit(d, 'price = { type = "integer" }',
             'price = { type = "integer" }\ntag = { type = "text", default_sql = "lower(\'A\') || \'b\'" }\n'
             'made = { type = "timestamptz", default_sql = "CURRENT_TIMESTAMP" }')

    def sq(d):
        lines_kept_sqlite(d)
        rows = sqlite_q(d, "SELECT id, tag, made IS NOT NULL FROM ydtb_shop_items ORDER BY id")
        expect(rows == [("i1", "ab", 1), ("i2", "ab", 1)], rows)

    def pg(url):
        lines_kept_pg(url)
        got = psql(url, "SELECT string_agg(id || ':' || tag || ':' || (made IS NOT NULL), ',' ORDER BY id) FROM ydtb_shop_items")
        expect(got == "i1:ab:true,i2:ab:true", got)
    change_case(change, sq, pg)


@case
def generate_changes_a_type_under_a_default_that_does_not_cast():
    # PostgreSQL refuses ALTER COLUMN ... TYPE boolean while the default is
    # the integer 1 ("cannot be cast automatically"): generate drops the
    # default, changes the type and sets the column's default again, and
    # its down does the same the other way.
    def change(d, url=None):
        edit(d, 'qty     = { type = "integer", not_null = true, default = 1 }',
             'qty     = { type = "boolean", not_null = true, default = true }')

    def sq(d):
        lines_kept_sqlite(d)

    def pg(url):
        got = psql(url, "SELECT string_agg(id || ':' || qty::text, ',' ORDER BY id) FROM ydtb_shop_lines")
        expect(got == "l1:true,l2:true,l3:true", got)
        expect(psql(url, "SELECT column_default FROM information_schema.columns WHERE table_name = 'ydtb_shop_lines'"
                         " AND column_name = 'qty'") == "true", "the default")
    change_case(change, sq, pg, expect_loss=True, on_pg=True)


SERIAL = """[package]
name = "@t/ser"
version = "1.0.0"
description = "Numbered items"

[tables.ydtb_ser_items]
description = "An item"
workspace_scoped = true

[tables.ydtb_ser_items.columns]
id = { type = "integer", primary_key = true }
n  = { type = "integer" }
"""


@case
def generate_makes_an_integer_column_a_bigserial_with_its_sequence_past_the_rows():
    # PostgreSQL has no type bigserial to ALTER TYPE to: generate wrote
    # TYPE bigserial, which fails (42704). A serial is bigint plus a
    # sequence owned by the column, started after the rows' highest value.
    d = project({"tomls/ser.toml": SERIAL}, with_tomls=["core.toml"])
    rc, _, err = run(["generate", "@t/ser"], d)
    expect(rc == 0, err)
    url, drop = t.pg_database()
    try:
        rc, _, err = run(["init", "--target", url], d)
        expect(rc == 0, err)
        psql(url, "INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W', 'w');"
                  "INSERT INTO ydtb_ser_items (id, workspace_id, n) VALUES (5, 'w1', 1), (9, 'w1', 2)")
        edit(d, 'version = "1.0.0"\ndescription', 'version = "1.1.0"\ndescription', "ser.toml")
        edit(d, 'id = { type = "integer", primary_key = true }', 'id = { type = "bigserial", primary_key = true }',
             "ser.toml")
        rc, _, err = run(["generate", "@t/ser", "--target", url], d)
        expect(rc == 0, err)
        for args in (["validate"], ["test", "@t/ser", "--target", url], ["apply", "--target", url],
                     ["verify", "--target", url]):
            rc, out, err = run(args, d)
            expect(rc == 0, "%s: %d %s%s" % (args[:2], rc, out, err))
        got = psql(url, "INSERT INTO ydtb_ser_items (workspace_id, n) VALUES ('w1', 3) RETURNING id")
        expect(got.splitlines()[0] == "10", "the next id: %r" % got)
        expect(psql(url, "SELECT data_type FROM information_schema.columns WHERE table_name = 'ydtb_ser_items'"
                         " AND column_name = 'id'") == "bigint", "the type")
        rc, out, err = run(["down", "@t/ser", "--to", "1.0.0", "--target", url], d)
        expect(rc == 0, out + err)
        expect(psql(url, "SELECT count(*) FROM pg_class WHERE relname = 'ydtb_ser_items_id_seq'") == "0"
               and psql(url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM ydtb_ser_items") == "5,9,10",
               "the down: %s" % psql(url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM ydtb_ser_items"))
    finally:
        drop()


@case
def generate_add_not_null_column_with_default_to_a_table_with_rows():
    def change(d, url=None):
        edit(d, 'price = { type = "integer" }',
             'price = { type = "integer" }\nstock = { type = "integer", not_null = true, default = 7 }')

    def sq(d):
        lines_kept_sqlite(d)
        expect(sqlite_q(d, "SELECT DISTINCT stock FROM ydtb_shop_items") == [(7,)], "stock")

    def pg(url):
        lines_kept_pg(url)
        expect(psql(url, "SELECT string_agg(DISTINCT stock::text, ',') FROM ydtb_shop_items") == "7", "stock")
    change_case(change, sq, pg)


@case
def generate_not_null_with_a_default_fills_the_nulls_on_both_dialects():
    # Item i2 holds NULL in price. SQLite's rebuild gave it the default
    # (COALESCE), PostgreSQL's SET NOT NULL failed on it: the same manifest
    # applied on one dialect and not the other (the audit). Both fill it now.
    def change(d, url=None):
        edit(d, 'price = { type = "integer" }', 'price = { type = "integer", not_null = true, default = 1 }')

    def sq(d):
        lines_kept_sqlite(d)
        expect(sqlite_q(d, "SELECT id, price FROM ydtb_shop_items ORDER BY id") == [("i1", 5), ("i2", 1)], "price")

    def pg(url):
        lines_kept_pg(url)
        expect(psql(url, "SELECT string_agg(id || ':' || price, ',' ORDER BY id) FROM ydtb_shop_items") == "i1:5,i2:1",
               "price")
    change_case(change, sq, pg)


@case
def generate_drop_column_is_reported_as_dbr103():
    def change(d, url=None):
        edit(d, 'price = { type = "integer" }\n', '')

    def sq(d):
        lines_kept_sqlite(d)
        cols = [r[1] for r in sqlite_q(d, "PRAGMA table_info(ydtb_shop_items)")]
        expect("price" not in cols and "title" in cols, cols)

    def pg(url):
        lines_kept_pg(url)
        expect(psql(url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'ydtb_shop_items' "
                    "AND column_name = 'price' AND table_schema = current_schema()") == "0", "price is still there")
    change_case(change, sq, pg, expect_loss=True)


@case
def generate_add_index():
    def change(d, url=None):
        edit(d, '[tables.ydtb_shop_lines]', """[tables.ydtb_shop_items.indexes]
ydtb_shop_items_title_idx = { columns = ["workspace_id", "title"] }

[tables.ydtb_shop_lines]""")

    def sq(d):
        lines_kept_sqlite(d)
        expect(sqlite_q(d, "SELECT count(*) FROM sqlite_master WHERE name = 'ydtb_shop_items_title_idx'")[0][0] == 1, "index")

    def pg(url):
        lines_kept_pg(url)
        expect(psql(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ydtb_shop_items_title_idx'::regclass") == "t",
               "index not valid")
    change_case(change, sq, pg)


@case
def generate_add_unique_constraint():
    def change(d, url=None):
        edit(d, '[tables.ydtb_shop_items]\ndescription = "An item"',
             '[tables.ydtb_shop_items]\ndescription = "An item"\nunique = [["workspace_id", "title"]]')

    def sq(d):
        lines_kept_sqlite(d)
        try:
            sqlite_q(d, "INSERT INTO ydtb_shop_items (id, title, workspace_id) VALUES ('i3', 'A', 'w1')")
            raise AssertionError("a duplicate title was accepted")
        except sqlite3.IntegrityError:
            pass

    def pg(url):
        lines_kept_pg(url)
        p = subprocess.run(["psql", url, "-Xqc", "INSERT INTO ydtb_shop_items (id, title, workspace_id) VALUES ('i3', 'A', 'w1')"],
                           capture_output=True, text=True)
        expect(p.returncode != 0 and "duplicate key" in p.stderr, p.stderr)
    change_case(change, sq, pg)


@case
def generate_rename_column_with_renamed_from():
    def change(d, url=None):
        edit(d, 'title = { type = "text", not_null = true }',
             'name  = { type = "text", not_null = true, renamed_from = "title" }')

    def sq(d):
        lines_kept_sqlite(d)
        rows = sqlite_q(d, "SELECT id, name FROM ydtb_shop_items ORDER BY id")
        expect(rows == [("i1", "A"), ("i2", "B")], rows)

    def pg(url):
        lines_kept_pg(url)
        expect(psql(url, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM ydtb_shop_items") == "i1:A,i2:B", "renamed")
    change_case(change, sq, pg)


@case
def generate_rename_table_with_renamed_from():
    def change(d, url=None):
        edit(d, '[tables.ydtb_shop_lines]\ndescription', '[tables.ydtb_shop_entries]\nrenamed_from = "ydtb_shop_lines"\ndescription')
        edit(d, '[tables.ydtb_shop_lines.columns]', '[tables.ydtb_shop_entries.columns]')

    def sq(d):
        lines_kept_sqlite(d, "ydtb_shop_entries")
        expect(sqlite_q(d, "SELECT count(*) FROM sqlite_master WHERE name = 'ydtb_shop_lines'")[0][0] == 0, "old table")

    def pg(url):
        lines_kept_pg(url, "ydtb_shop_entries")
        # The constraints follow the table's name, so later migrations find them.
        names = psql(url, "SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint "
                     "WHERE conrelid = 'ydtb_shop_entries'::regclass")
        expect(names == "ydtb_shop_entries_item_id_fkey,ydtb_shop_entries_pkey,ydtb_shop_entries_workspace_id_fkey",
               names)
    change_case(change, sq, pg)


@case
def generate_refuses_a_renamed_from_that_names_nothing_the_migrations_build():
    # A typo in renamed_from made the rename the author asked for a drop
    # (the rows lost) and an add, with exit 0 and a DBR103 warning without a
    # line (the audit). Now an error at the column or table, with the name
    # meant, and the manifest untouched; so for a table too.
    d = shop_project()
    path = os.path.join(d, "tomls", "shop.toml")
    edit(d, 'title = { type = "text", not_null = true }',
         'name  = { type = "text", not_null = true, renamed_from = "titel" }')
    before = open(path, "rb").read()
    line = before.decode().splitlines().index('name  = { type = "text", not_null = true, renamed_from = "titel" }') + 1
    rc, out, err = run(["generate", "@t/shop", "--json"], d)
    doc = json.loads(out)
    found = [x for x in doc["diagnostics"] if x["code"] == "DBR047"]
    expect(rc == 1 and len(found) == 1 and found[0]["line"] == line and found[0]["column_name"] == "name" and
           found[0]["hint"] == 'did you mean renamed_from = "title"?', "%d %s %s" % (rc, out, err))
    expect(open(path, "rb").read() == before, "the manifest changed")
    rc, out, err = run(["generate", "@t/shop"], d)
    expect(rc == 1 and "tomls/shop.toml:%d:1: error[DBR047]" % line in err and "nothing was generated" in err, err)
    edit(d, 'renamed_from = "titel"', 'renamed_from = "title"')
    edit(d, '[tables.ydtb_shop_lines]\ndescription', '[tables.ydtb_shop_entries]\nrenamed_from = "ydtb_shop_line"\ndescription')
    edit(d, '[tables.ydtb_shop_lines.columns]', '[tables.ydtb_shop_entries.columns]')
    rc, out, err = run(["generate", "@t/shop", "--dry-run"], d)
    expect(rc == 1 and 'did you mean renamed_from = "ydtb_shop_lines"?' in err and "RENAME" not in out, "%d %s" % (rc, err))
    edit(d, 'renamed_from = "ydtb_shop_line"', 'renamed_from = "ydtb_shop_lines"')
    rc, out, err = run(["generate", "@t/shop", "--dry-run"], d)
    expect(rc == 0 and 'RENAME COLUMN "title" TO "name"' in out and 'RENAME TO "ydtb_shop_entries"' in out,
           "%d %s %s" % (rc, out, err))


# SQLite rebuilds (foreign_keys = false): the parent table is rebuilt while
# its child table holds rows that ON DELETE CASCADE would delete.

@case
def generate_change_a_default_rebuilds_the_parent_and_keeps_child_rows():
    def change(d, url=None):
        edit(d, 'price = { type = "integer" }', 'price = { type = "integer", default = 10 }')

    def sq(d):
        lines_kept_sqlite(d)
        expect(sqlite_q(d, "SELECT id, price FROM ydtb_shop_items ORDER BY id") == [("i1", 5), ("i2", None)], "prices")
        sqlite_q(d, "INSERT INTO ydtb_shop_items (id, title, workspace_id) VALUES ('i9', 'Z', 'w1')")
        expect(sqlite_q(d, "SELECT price FROM ydtb_shop_items WHERE id = 'i9'") == [(10,)], "new default")

    def pg(url):
        lines_kept_pg(url)
        psql(url, "INSERT INTO ydtb_shop_items (id, title, workspace_id) VALUES ('i9', 'Z', 'w1')")
        expect(psql(url, "SELECT price FROM ydtb_shop_items WHERE id = 'i9'") == "10", "new default")
        psql(url, "DELETE FROM ydtb_shop_items WHERE id = 'i9'")
    change_case(change, sq, pg)


@case
def generate_widen_a_type_keeps_values_and_child_rows():
    def change(d, url=None):
        edit(d, 'price = { type = "integer" }', 'price = { type = "numeric(12,2)" }')

    def sq(d):
        lines_kept_sqlite(d)
        expect(sqlite_q(d, "SELECT id, price FROM ydtb_shop_items ORDER BY id") == [("i1", 5), ("i2", None)], "prices")

    def pg(url):
        lines_kept_pg(url)
        expect(psql(url, "SELECT string_agg(id || ':' || coalesce(price::text, '-'), ',' ORDER BY id) FROM ydtb_shop_items")
               == "i1:5.00,i2:-", "prices")
        expect(psql(url, "SELECT data_type || numeric_precision FROM information_schema.columns WHERE table_name = "
                    "'ydtb_shop_items' AND column_name = 'price' AND table_schema = current_schema()") == "numeric12", "type")
    change_case(change, sq, pg)


@case
def generate_add_foreign_key_not_valid_then_validated():
    def change(d, url=None):
        edit(d, 'ref_id  = { type = "text" }',
             'ref_id  = { type = "text", references = "ydtb_shop_items.id", on_delete = "set null" }')

    def sq(d):
        lines_kept_sqlite(d)
        expect(sqlite_q(d, "SELECT id, ref_id FROM ydtb_shop_lines ORDER BY id") == [("l1", "i2"), ("l2", None), ("l3", "i1")],
               "ref_id")
        fks = sqlite_q(d, "PRAGMA foreign_key_list(ydtb_shop_lines)")
        expect(any(r[3] == "ref_id" and r[2] == "ydtb_shop_items" for r in fks), fks)

    def pg(url):
        lines_kept_pg(url)
        expect(psql(url, "SELECT convalidated FROM pg_constraint WHERE conname = 'ydtb_shop_lines_ref_id_fkey'") == "t",
               "the foreign key was not validated")
    change_case(change, sq, pg)


@case
def generate_down_of_a_foreign_key_change_validates_the_key_it_adds_back():
    # The PostgreSQL down added the old key back NOT VALID and never
    # checked it (the audit): after the down the constraint showed NOT VALID.
    import tomllib
    d = shop_project()
    url, drop = t.pg_database()
    try:
        rc, _, err = run(["init", "--target", url], d)
        expect(rc == 0, err)
        for sql in ROWS:
            psql(url, sql)
        edit(d, 'references = "ydtb_shop_items.id", on_delete = "cascade" }',
             'references = "ydtb_shop_items.id", on_delete = "restrict" }')
        rc, _, err = run(["generate", "@t/shop"], d)
        expect(rc == 0, err)
        rc, _, err = run(["apply", "--target", url], d)
        expect(rc == 0, err)
        with open(os.path.join(d, "tomls", "shop.toml"), "rb") as fp:
            last = [m for m in tomllib.load(fp)["migrations"] if not m["id"].endswith("_online")][-1]
        down = last.get("down_postgres") or last.get("down")
        expect("VALIDATE CONSTRAINT" in down, down)
        psql(url, down)
        got = psql(url, "SELECT confdeltype::text || ':' || convalidated::text FROM pg_constraint"
                        " WHERE conname = 'ydtb_shop_lines_item_id_fkey'")
        expect(got == "c:true", "after the down: %s" % got)
    finally:
        drop()


@case
def generate_rebuild_that_would_orphan_rows_fails_and_rolls_back():
    # A foreign key whose existing rows do not satisfy it: SQLite's
    # foreign_key_check before COMMIT refuses the rebuild, nothing changes.
    d = shop_project()
    rc, _, err = run(["init"], d)
    expect(rc == 0, err)
    db = sqlite3.connect(os.path.join(d, "ydtb.db"))
    for sql in ROWS:
        db.execute(sql)
    db.execute("UPDATE ydtb_shop_lines SET ref_id = 'nope' WHERE id = 'l2'")
    db.commit()
    db.close()
    edit(d, 'ref_id  = { type = "text" }', 'ref_id  = { type = "text", references = "ydtb_shop_items.id" }')
    rc, _, err = run(["generate", "@t/shop"], d)
    expect(rc == 0, err)
    rc, _, err = run(["apply"], d)
    expect(rc == 4, "apply of a rebuild that orphans a row: exit %d\n%s" % (rc, err))
    # Nothing ran before it: the report said "1 transaction committed
    # before the failure stay applied" of the empty one before the split.
    expect("nothing was changed" in err and "committed before the failure" not in err, err)
    expect(sqlite_q(d, "SELECT count(*) FROM ydtb_shop_lines")[0][0] == 3, "rows lost")
    fks = sqlite_q(d, "PRAGMA foreign_key_list(ydtb_shop_lines)")
    expect(not any(r[3] == "ref_id" for r in fks), "the rebuild was kept: %r" % fks)


@case
def generate_widen_varchar_seen_by_a_postgres_replay():
    # Offline, SQLite stores varchar(20) and varchar(100) alike; replayed
    # on PostgreSQL (generate --target) the widening is seen and written.
    def change(d, url=None):
        edit(d, 'qty     = { type = "integer", not_null = true, default = 1 }',
             'qty     = { type = "integer", not_null = true, default = 1 }\ncode    = { type = "varchar(100)" }')
        rc, _, err = run(["generate", "@t/shop"], d)
        expect(rc == 0, err)
        for target in [[], ["--target", url]]:
            rc, _, err = run(["apply"] + target, d)
            expect(rc == 0, err)
        psql(url, "UPDATE ydtb_shop_lines SET code = repeat('x', 20) WHERE id = 'l1'")
        edit(d, 'code    = { type = "varchar(100)" }', 'code    = { type = "varchar(200)" }')

    def sq(d):
        lines_kept_sqlite(d)

    def pg(url):
        lines_kept_pg(url)
        expect(psql(url, "SELECT character_maximum_length FROM information_schema.columns WHERE table_name = "
                    "'ydtb_shop_lines' AND column_name = 'code' AND table_schema = current_schema()") == "200", "length")
        expect(psql(url, "SELECT length(code) FROM ydtb_shop_lines WHERE id = 'l1'") == "20", "value")
    change_case(change, sq, pg, on_pg=True)


def with_rows(d, url):
    """Both dialects initialised, with the rows of ROWS."""
    for target in [[], ["--target", url]]:
        rc, _, err = run(["init"] + target, d)
        expect(rc == 0, err)
    for sql in ROWS:
        sqlite_q(d, sql)
        psql(url, sql)


def up_down_up(d, url, check):
    """The generated migrations (version 1.1.0) up, down to 1.0.0 and up
    again on both dialects; after each, verify, SQLite's foreign key check
    and check(when) on the rows."""
    for when, cmd in [("up", ["apply"]), ("down", ["down", "@t/shop", "--to", "1.0.0"]), ("up again", ["apply"])]:
        for target in [[], ["--target", url]]:
            rc, _, err = run(cmd + target, d)
            expect(rc == 0, "%s %s: %s" % (when, target[:1], err))
            rc, _, err = run(["verify"] + target, d)
            expect(rc == 0, "verify after %s %s: %s" % (when, target[:1], err))
        expect(sqlite_q(d, "PRAGMA foreign_key_check") == [], "foreign key check after " + when)
        lines_kept_sqlite(d)
        lines_kept_pg(url)
        check(when)


def generate_1_1(d, old, new, replay=()):
    edit(d, old, new)
    edit(d, 'version = "1.0.0"', 'version = "1.1.0"')
    rc, _, err = run(["generate", "@t/shop"] + list(replay), d)
    expect(rc == 0, err)
    rc, _, err = run(["validate"], d)
    expect(rc == 0 and "DBR047" not in err, err)


@case
def generate_primary_key_change_drops_and_adds_back_the_foreign_keys_on_it():
    # ydtb_shop_lines.item_id references ydtb_shop_items.id. Moving the
    # items' primary key to (workspace_id, id), id staying unique: PostgreSQL
    # refused DROP CONSTRAINT ydtb_shop_items_pkey while the lines' foreign
    # key depended on its index (2BP01, rolled back), and the unique key on
    # id that the old primary key had held was not written for PostgreSQL at
    # all. Now the foreign key is dropped first and added back after on the
    # new unique key, in the up and in the down; SQLite's rebuild keeps it.
    d = shop_project()
    url, drop = t.pg_database()
    try:
        with_rows(d, url)
        generate_1_1(d, '[tables.ydtb_shop_items.columns]\nid    = { type = "text", primary_key = true }',
                     'primary_key = ["workspace_id", "id"]\n\n[tables.ydtb_shop_items.columns]\n'
                     'id    = { type = "text", not_null = true, unique = true }')

        def check(when):
            key = psql(url, "SELECT string_agg(a.attname, ',' ORDER BY k.i) FROM pg_constraint c, "
                       "unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attnum = k.n "
                       "AND a.attrelid = 'ydtb_shop_items'::regclass WHERE c.conname = 'ydtb_shop_items_pkey'")
            expect(key == ("id" if when == "down" else "workspace_id,id"), "%s: primary key %s" % (when, key))
            fk = psql(url, "SELECT convalidated FROM pg_constraint WHERE conname = 'ydtb_shop_lines_item_id_fkey'")
            expect(fk == "t", "%s: the foreign key is %r" % (when, fk))
            for dup in ["INSERT INTO ydtb_shop_items (id, title, workspace_id) VALUES ('i1', 'C', 'w1')"]:
                try:
                    sqlite_q(d, dup)
                    raise AssertionError("%s: SQLite took a second i1" % when)
                except sqlite3.IntegrityError:
                    pass
                p = subprocess.run(["psql", url, "-Xqc", dup], capture_output=True, text=True)
                expect(p.returncode != 0 and "duplicate key" in p.stderr, p.stderr)
        up_down_up(d, url, check)
        rc, _, err = run(["test", "@t/shop", "--target", url], d)
        expect(rc == 0, err)
    finally:
        drop()


@case
def generate_drops_a_unique_constraint_on_both_dialects():
    # A column's unique = true, built by CREATE TABLE (SQLite names its
    # index sqlite_autoindex_*), then removed: generate wrote DROP INDEX
    # sqlite_autoindex_... for both dialects, which SQLite refuses for a
    # constraint's index and which drops nothing on PostgreSQL, where the
    # constraint is ydtb_shop_items_title_key. Replayed on PostgreSQL
    # (generate --target) the index had that name, and DROP INDEX failed
    # there (the constraint requires it) and did nothing on SQLite. Now
    # SQLite rebuilds and PostgreSQL drops the constraint; the down puts it
    # back.
    for replay in [False, True]:
        unique_dropped(replay)


def unique_dropped(replay):
    d = project({"tomls/shop.toml": SHOP.replace('title = { type = "text", not_null = true }',
                                                 'title = { type = "text", not_null = true, unique = true }')},
                with_tomls=["core.toml"])
    rc, _, err = run(["generate", "@t/shop"], d)
    expect(rc == 0, err)
    url, drop = t.pg_database()
    try:
        with_rows(d, url)
        generate_1_1(d, 'title = { type = "text", not_null = true, unique = true }',
                     'title = { type = "text", not_null = true }', ["--target", url] if replay else [])

        def check(when):
            unique = when == "down"
            dup = "INSERT INTO ydtb_shop_items (id, title, workspace_id) VALUES ('i9', 'A', 'w1')"
            try:
                sqlite_q(d, dup)
                sqlite_q(d, "DELETE FROM ydtb_shop_items WHERE id = 'i9'")
                expect(not unique, "SQLite took a duplicate title after the down")
            except sqlite3.IntegrityError:
                expect(unique, "SQLite refused a duplicate title after " + when)
            p = subprocess.run(["psql", url, "-Xqc", dup + "; DELETE FROM ydtb_shop_items WHERE id = 'i9'"],
                               capture_output=True, text=True)
            expect((p.returncode != 0 and "duplicate key" in p.stderr) == unique, "%s: %s" % (when, p.stderr))
        up_down_up(d, url, check)
        rc, _, err = run(["test", "@t/shop", "--target", url], d)
        expect(rc == 0, err)
    finally:
        drop()


@case
def generate_down_adds_a_dropped_column_back_before_the_index_on_it():
    # The down of one table's changes ran in the up's order: the index on
    # a dropped column was created again before the column (PostgreSQL:
    # column "price" does not exist). The down undoes them in reverse.
    d = shop_project()
    edit(d, '[tables.ydtb_shop_lines]', '[tables.ydtb_shop_items.indexes]\n'
         'ydtb_shop_items_price_idx = { columns = ["workspace_id", "price"] }\n\n[tables.ydtb_shop_lines]')
    rc, _, err = run(["generate", "@t/shop"], d)
    expect(rc == 0, err)
    url, drop = t.pg_database()
    try:
        with_rows(d, url)
        edit(d, 'ydtb_shop_items_price_idx = { columns = ["workspace_id", "price"] }\n', '')
        generate_1_1(d, 'price = { type = "integer" }\n', '')

        def check(when):
            n = psql(url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ydtb_shop_items_price_idx'")
            expect(n == ("1" if when == "down" else "0"), "%s: %s price indexes" % (when, n))
        up_down_up(d, url, check)
        rc, _, err = run(["test", "@t/shop", "--target", url], d)
        expect(rc == 0, err)
    finally:
        drop()


@case
def generate_down_of_a_dropped_not_null_column_runs_on_a_table_with_rows():
    # title is NOT NULL without a default: the down added it back as such,
    # which PostgreSQL refuses on a table with rows (contains null values)
    # and SQLite's rebuild too (NOT NULL constraint failed), so the down of
    # the drop could run only on an empty table. Its rows take '' now: the
    # values are gone with the up, the column and its index come back.
    d = shop_project()
    url, drop = t.pg_database()
    try:
        with_rows(d, url)
        generate_1_1(d, 'title = { type = "text", not_null = true }\n', '')

        def check(when):
            got = sqlite_q(d, "SELECT * FROM pragma_table_info('ydtb_shop_items') WHERE name = 'title'")
            expect(bool(got) == (when == "down"), "%s: SQLite title %r" % (when, got))
            if when == "down":
                expect(got[0][3] == 1, "title is not NOT NULL on SQLite: %r" % got)
                expect(sqlite_q(d, "SELECT DISTINCT title FROM ydtb_shop_items") == [("",)], "SQLite titles")
                expect(psql(url, "SELECT string_agg(DISTINCT title, ',') || ':' || bool_and(true) FROM ydtb_shop_items")
                       == ":true", "PostgreSQL titles")
                expect(psql(url, "SELECT is_nullable || ':' || coalesce(column_default, '-') FROM information_schema.columns "
                            "WHERE table_name = 'ydtb_shop_items' AND column_name = 'title' "
                            "AND table_schema = current_schema()") == "NO:-", "PostgreSQL title")
        up_down_up(d, url, check)
    finally:
        drop()


GUARD = (
    '\n[[migrations]]\nid = "0002_title_guard"\nversion = "1.0.0"\n'
    'up_postgres = "SELECT 1;"\n'
    'up_sqlite = """\nCREATE TRIGGER IF NOT EXISTS ydtb_shop_items_title_guard BEFORE UPDATE OF title ON ydtb_shop_items\n'
    "WHEN NEW.title = '' BEGIN SELECT RAISE(ABORT, 'empty title'); END;\n" + '"""\n'
    'down_postgres = "SELECT 1;"\n'
    'down_sqlite = "DROP TRIGGER IF EXISTS ydtb_shop_items_title_guard;"\n'
)


@case
def generate_rebuild_recreates_the_tables_triggers():
    # A trigger a migration wrote by hand on a table that generate rebuilds
    # on SQLite: DROP TABLE takes it along, the rebuild creates it again.
    def change(d, url=None):
        with open(os.path.join(d, "tomls", "shop.toml"), "a") as fp:
            fp.write(GUARD)
        for target in [[], ["--target", url]]:
            rc, _, err = run(["apply"] + target, d)
            expect(rc == 0, err)
        edit(d, 'price = { type = "integer" }', 'price = { type = "integer", default = 3 }')

    def sq(d):
        lines_kept_sqlite(d)
        try:
            sqlite_q(d, "UPDATE ydtb_shop_items SET title = '' WHERE id = 'i1'")
            raise AssertionError("the trigger is gone after the rebuild")
        except sqlite3.IntegrityError as e:
            expect("empty title" in str(e), str(e))

    change_case(change, sq, lines_kept_pg)

@case
def generate_finds_nothing_on_the_repository_and_the_schema_corpus():
    # Every portable type, default and key of the corpus, as its migrations
    # build them: no spurious migration, offline or replayed on PostgreSQL.
    url, drop = t.pg_database()
    try:
        d = project()
        corpus = os.path.join(REPO, "tests", "schema-corpus")
        for f in os.listdir(corpus):
            shutil.copy(os.path.join(corpus, f), os.path.join(d, "tomls"))
        names = sorted({"@ydtb/core", "@ydtb/basic"} |
                       {line.split('"')[1] for f in os.listdir(corpus)
                        for line in open(os.path.join(corpus, f)) if line.startswith("name = ")})
        expect(len(names) >= 4, names)
        for name in names:
            for replay in [[], ["--target", url]]:
                rc, out, err = run(["generate", name, "--dry-run"] + replay, d)
                expect(rc == 0 and out == "" and "nothing to generate" in err, "%s %s: %s%s" % (name, replay, out, err))
    finally:
        drop()

# ---- dbreg test ----

@case
def test_passes_on_the_repository_manifests_and_the_schema_corpus():
    url, drop = t.pg_database()
    try:
        rc, _, err = run(["-C", REPO, "test", "--target", url], "/")
        expect(rc == 0, err)
        n = sum(open(os.path.join(t.TOMLS, f)).read().count("[[migrations]]") for f in os.listdir(t.TOMLS))
        expect("SQLite (in memory): %d migrations up, down and up again" % n in err, err)
        expect(psql(url, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dbreg_scratch%'") == "0",
               "the scratch schema was left behind")
        d = project(with_tomls=False)
        os.makedirs(os.path.join(d, "tomls"))
        shutil.copy(os.path.join(t.TOMLS, "core.toml"), os.path.join(d, "tomls"))
        corpus = os.path.join(REPO, "tests", "schema-corpus")
        for f in os.listdir(corpus):
            shutil.copy(os.path.join(corpus, f), os.path.join(d, "tomls"))
        rc, _, err = run(["test", "--target", url], d)
        expect(rc == 0, err)
    finally:
        drop()


@case
def test_names_table_and_column_of_a_down_that_forgets_a_column():
    d = project()
    path = os.path.join(d, "tomls", "basic.toml")
    text = read(path).decode()
    for key in ["down_sqlite", "down_postgres"]:
        start = text.index(key + ' = """\nALTER TABLE')
        end = text.index('"""', start + len(key) + 6) + 3
        if "pinned" in text[start:end]:
            text = text[:start] + key + ' = """\nSELECT 1;\n"""' + text[end:]
    with open(path, "w") as fp:
        fp.write(text)
    rc, out, err = run(["test", "@ydtb/basic", "--json"], d)
    expect(rc == 1, err)
    doc = json.loads(out)
    problems = doc["runs"][0]["problems"]
    expect(problems[0]["table"] == "ydtb_basic_notes" and problems[0]["column"] == "pinned", problems)
    # At the migration's [[migrations]], as a finding is (it had no place).
    line = text.splitlines().index('id = "0003_add_note_pinned"')
    expect("tomls/basic.toml:%d:1: @ydtb/basic migration 0003_add_note_pinned: after its down, column "
           "ydtb_basic_notes.pinned is still there" % line in err.splitlines()[0], err)
    url, drop = t.pg_database()
    try:
        rc, _, err = run(["test", "@ydtb/basic", "--target", url], d)
        expect(rc == 1, err)
        expect(any(line.startswith("postgres") and "column ydtb_basic_notes.pinned is still there" in line
                   for line in err.splitlines()), err)
    finally:
        drop()


@case
def test_on_postgres_finds_an_up_that_is_not_idempotent():
    d = project()
    path = os.path.join(d, "tomls", "basic.toml")
    text = read(path).decode()
    old = 'ADD COLUMN IF NOT EXISTS "pinned"'
    expect(old in text, "fixture")
    with open(path, "w") as fp:
        fp.write(text.replace(old, 'ADD COLUMN "pinned"', 1))
    rc, _, err = run(["test", "@ydtb/basic"], d)
    expect(rc == 0, "SQLite runs a migration once: " + err)
    url, drop = t.pg_database()
    try:
        rc, _, err = run(["test", "@ydtb/basic", "--target", url], d)
        expect(rc == 1, err)
        expect("@ydtb/basic migration 0003_add_note_pinned: up run twice fails on PostgreSQL (not idempotent)" in err, err)
    finally:
        drop()



@case
def test_and_generate_on_postgres_run_a_transaction_false_body_of_several_statements():
    # The kind generate writes (its _online migration): two CONCURRENTLY
    # builds in one transaction = false body. apply runs them one by one;
    # test and generate --target ran the body in one round trip, which
    # PostgreSQL refused ("cannot run inside a transaction block").
    d = project()
    path = os.path.join(d, "tomls", "basic.toml")
    text = read(path).decode()
    head = text.index("[tables.ydtb_basic_notes.indexes]\n") + len("[tables.ydtb_basic_notes.indexes]\n")
    text = (text[:head] + 'ydtb_basic_notes_title_idx = { columns = ["title"] }\n'
            'ydtb_basic_notes_body_idx = { columns = ["body"] }\n' + text[head:] +
            '\n[[migrations]]\nid = "0009_online"\nversion = "1.1.0"\ntransaction = false\n'
            'up_postgres = """\nCREATE INDEX CONCURRENTLY IF NOT EXISTS ydtb_basic_notes_title_idx ON ydtb_basic_notes (title);\n'
            'CREATE INDEX CONCURRENTLY IF NOT EXISTS ydtb_basic_notes_body_idx ON ydtb_basic_notes (body);\n"""\n'
            'up_sqlite = """\nCREATE INDEX IF NOT EXISTS ydtb_basic_notes_title_idx ON ydtb_basic_notes (title);\n'
            'CREATE INDEX IF NOT EXISTS ydtb_basic_notes_body_idx ON ydtb_basic_notes (body);\n"""\n'
            'down_postgres = """\nDROP INDEX CONCURRENTLY IF EXISTS ydtb_basic_notes_title_idx;\n'
            'DROP INDEX CONCURRENTLY IF EXISTS ydtb_basic_notes_body_idx;\n"""\n'
            'down_sqlite = """\nDROP INDEX IF EXISTS ydtb_basic_notes_title_idx;\nDROP INDEX IF EXISTS ydtb_basic_notes_body_idx;\n"""\n')
    with open(path, "w") as fp:
        fp.write(text)
    rc, _, err = run(["validate"], d)
    expect(rc == 0, err)
    url, drop = t.pg_database()
    try:
        rc, _, err = run(["test", "@ydtb/basic", "--target", url], d)
        expect(rc == 0 and "inside a transaction block" not in err, "test: %d %s" % (rc, err))
        rc, out, err = run(["generate", "@ydtb/basic", "--target", url, "--dry-run"], d)
        expect(rc == 0 and out == "" and "nothing to generate" in err, "generate: %d %s %s" % (rc, out, err))
    finally:
        drop()


TYPED = """[package]
name = "@t/typed"
version = "1.0.0"

[tables.ydtb_typed_a]
description = "kept, two columns dropped"
workspace_scoped = true

[tables.ydtb_typed_a.columns]
id = { type = "uuid", primary_key = true }
at = { type = "timestamptz" }
big = { type = "bigint" }

[tables.ydtb_typed_b]
description = "dropped"
workspace_scoped = true

[tables.ydtb_typed_b.columns]
id = { type = "uuid", primary_key = true }
flag = { type = "boolean", not_null = true, default = false }
doc = { type = "jsonb" }
price = { type = "numeric(10,2)" }
"""


@case
def generate_downs_recreate_postgres_columns_with_their_postgres_types():
    # The replay is SQLite's, whose types say only the storage class: the
    # PostgreSQL down of a dropped table or column recreated uuid,
    # timestamptz and jsonb as text, boolean and bigint as integer, so after
    # a down the schema was not the one before (the audit). Now the types
    # the PostgreSQL bodies gave them, and the round trip on PostgreSQL holds.
    d = project({"tomls/typed.toml": TYPED}, with_tomls=["core.toml"])
    rc, _, err = run(["generate", "@t/typed"], d)
    expect(rc == 0, err)
    path = os.path.join(d, "tomls", "typed.toml")
    text = read(path).decode()
    b = text.index("[tables.ydtb_typed_b]")
    text = (text[:b] + text[text.index("[[migrations]]"):]).replace('version = "1.0.0"', 'version = "2.0.0"', 1)
    text = text.replace('at = { type = "timestamptz" }\nbig = { type = "bigint" }\n', "")
    with open(path, "w") as fp:
        fp.write(text)
    rc, _, err = run(["generate", "@t/typed"], d)
    expect(rc == 0, err)
    down = read(path).decode().split('id = "0002_')[1]
    down = down[down.index("down_postgres"):]
    for words in ('"id" uuid NOT NULL', '"flag" boolean NOT NULL DEFAULT false', '"doc" jsonb', '"price" numeric(10,2)',
                  '"at" timestamp with time zone', '"big" bigint'):
        expect(words in down, "%r not in the PostgreSQL down:\n%s" % (words, down))
    url, drop = t.pg_database()
    try:
        rc, _, err = run(["test", "@t/typed", "--target", url], d)
        expect(rc == 0, "test on PostgreSQL: %d %s" % (rc, err))
    finally:
        drop()


@case
def generate_downs_recreate_postgres_types_of_a_table_renamed_past_another():
    # The PostgreSQL types were put on the view's tables by place, but the
    # view is sorted by the names after the renames: ydtb_ren_a renamed to
    # ydtb_ren_c moves past ydtb_ren_b, so ydtb_ren_b took ydtb_ren_a's types
    # written past its columns (a heap overflow under ASan) and the down of
    # the columns dropped from ydtb_ren_c recreated them as text and integer.
    ren = """[package]
name = "@t/ren"
version = "1.0.0"
description = "Renames"

[tables.ydtb_ren_a]
description = "A"
workspace_scoped = true

[tables.ydtb_ren_a.columns]
id = { type = "uuid", primary_key = true }
flag = { type = "boolean", not_null = true, default = false }
doc = { type = "jsonb" }
at = { type = "timestamptz" }
big = { type = "bigint" }

[tables.ydtb_ren_b]
description = "B"
workspace_scoped = true

[tables.ydtb_ren_b.columns]
id = { type = "uuid", primary_key = true }
"""
    d = project({"tomls/ren.toml": ren}, with_tomls=["core.toml"])
    rc, _, err = run(["generate", "@t/ren"], d)
    expect(rc == 0, err)
    edit(d, '[tables.ydtb_ren_a]\n', '[tables.ydtb_ren_c]\nrenamed_from = "ydtb_ren_a"\n', "ren.toml")
    edit(d, '[tables.ydtb_ren_a.columns]', '[tables.ydtb_ren_c.columns]', "ren.toml")
    edit(d, 'at = { type = "timestamptz" }\nbig = { type = "bigint" }\n', '', "ren.toml")
    edit(d, 'version = "1.0.0"', 'version = "2.0.0"', "ren.toml")
    rc, _, err = run(["generate", "@t/ren"], d)
    expect(rc == 0, err)
    down = read(os.path.join(d, "tomls", "ren.toml")).decode().split('id = "0002_')[1]
    down = down[down.index("down_postgres"):]
    for words in ('"at" timestamp with time zone', '"big" bigint'):
        expect(words in down, "%r not in the PostgreSQL down:\n%s" % (words, down))
    url, drop = t.pg_database()
    try:
        rc, _, err = run(["test", "@t/ren", "--target", url], d)
        expect(rc == 0, "test on PostgreSQL: %d %s" % (rc, err))
    finally:
        drop()


@case
def generate_offline_changes_postgres_types_sqlite_cannot_see():
    # integer to bigint, varchar(20) to varchar(50), text to varchar(10) and
    # timestamp to timestamptz are one storage class each on SQLite: offline
    # generate compared SQLite's replay only, found nothing ("nothing was
    # generated"), and PostgreSQL kept the old types (verify --target
    # reported them). Now the types the PostgreSQL bodies give the columns
    # are compared too: ALTER COLUMN ... TYPE on PostgreSQL, nothing to do on
    # SQLite, the rows kept on both.
    def change(d, url):
        edit(d, 'price = { type = "integer" }',
             'price = { type = "integer" }\ncode  = { type = "varchar(20)" }\nat    = { type = "timestamp" }')
        rc, _, err = run(["generate", "@t/shop"], d)
        expect(rc == 0, err)
        for target in [[], ["--target", url]]:
            rc, _, err = run(["apply"] + target, d)
            expect(rc == 0, err)
        psql(url, "UPDATE ydtb_shop_items SET price = 7, code = 'c-one', at = '2024-05-06 07:08:09' WHERE id = 'i1'")
        sqlite_q(d, "UPDATE ydtb_shop_items SET price = 7, code = 'c-one', at = '2024-05-06 07:08:09' WHERE id = 'i1'")
        edit(d, 'title = { type = "text", not_null = true }', 'title = { type = "varchar(10)", not_null = true }')
        edit(d, 'price = { type = "integer" }\ncode  = { type = "varchar(20)" }\nat    = { type = "timestamp" }',
             'price = { type = "bigint" }\ncode  = { type = "varchar(50)" }\nat    = { type = "timestamptz" }')
        rc, out, err = run(["generate", "@t/shop", "--dry-run"], d)
        expect(rc == 0, err)
        # PostgreSQL's alone: no rebuild of SQLite's table.
        expect("Rebuild" not in out and out.count(" TYPE ") == 8, out)  # up and down

    def sq(d):
        lines_kept_sqlite(d)
        expect(sqlite_q(d, "SELECT id, title, price, code, at FROM ydtb_shop_items ORDER BY id")
               == [("i1", "A", 7, "c-one", "2024-05-06 07:08:09"), ("i2", "B", None, None, None)], "items")

    def pg(url):
        lines_kept_pg(url)
        types = psql(url, "SELECT string_agg(column_name || ':' || format_type(atttypid, atttypmod), ',' ORDER BY "
                     "column_name) FROM information_schema.columns JOIN pg_attribute ON attrelid = "
                     "'ydtb_shop_items'::regclass AND attname = column_name WHERE table_name = 'ydtb_shop_items' "
                     "AND table_schema = current_schema() AND column_name IN ('title', 'price', 'code', 'at')")
        expect(types == "at:timestamp with time zone,code:character varying(50),price:bigint,"
               "title:character varying(10)", types)
        got = psql(url, "SET TIME ZONE 'UTC'; SELECT string_agg(concat_ws(':', id, title, price, code, at), ',' "
                   "ORDER BY id) FROM ydtb_shop_items")
        expect(got == "i1:A:7:c-one:2024-05-06 07:08:09+00,i2:B", got)
    change_case(change, sq, pg, expect_loss=True)



STOCK = '''
[[migrations]]
id = "0002_stock"
version = "1.0.0"
description = "stock"
up_sqlite = "ALTER TABLE ydtb_shop_items ADD COLUMN stock integer;"
up_postgres = """
DO $$ BEGIN
  ALTER TABLE ydtb_shop_items ADD COLUMN IF NOT EXISTS stock integer;
END $$;
"""
down = "ALTER TABLE ydtb_shop_items DROP COLUMN stock;"
'''


@case
def generate_warns_of_a_postgres_type_it_cannot_read_offline():
    # A column the PostgreSQL body adds inside a DO block: its type there
    # cannot be read offline, and SQLite's integer stores bigint alike, so
    # integer to bigint went unseen without a word. Now a warning at the
    # column's declaration with the way to see it (--target).
    d = shop_project()
    with open(os.path.join(d, "tomls", "shop.toml"), "a") as fp:
        fp.write(STOCK)
    edit(d, 'price = { type = "integer" }', 'price = { type = "integer" }\nstock = { type = "bigint" }')
    line = read(os.path.join(d, "tomls", "shop.toml")).decode().split("\n").index('stock = { type = "bigint" }') + 1
    rc, out, err = run(["generate", "@t/shop", "--dry-run"], d)
    expect(rc == 0 and out == "" and "nothing to generate" in err, err)
    expect("tomls/shop.toml:%d:1: warning[DBR103]: column ydtb_shop_items.stock is declared bigint" % line in err
           and "makes it integer" in err and "pass --target a PostgreSQL URL" in err, err)
    # Where the PostgreSQL body's type can be read there is nothing to say.
    rc, out, err = run(["generate", "@ydtb/core", "--dry-run"], d)
    expect(rc == 0 and "DBR103" not in err.replace("DBR103 suppressed", ""), err)



@case
def generate_offline_reads_the_postgres_type_of_a_column_it_renamed():
    # generate renames a PostgreSQL column inside a DO block (RENAME COLUMN
    # has no IF EXISTS), which the parse of the PostgreSQL bodies does not
    # read: the renamed column's type is the one of its renamed_from.
    d = shop_project()
    url, drop = t.pg_database()
    try:
        with_rows(d, url)
        edit(d, 'price = { type = "integer" }', 'cost = { type = "integer", renamed_from = "price" }')
        rc, _, err = run(["generate", "@t/shop"], d)
        expect(rc == 0, err)
        edit(d, 'cost = { type = "integer", renamed_from = "price" }',
             'cost = { type = "bigint", renamed_from = "price" }')
        rc, out, err = run(["generate", "@t/shop", "--dry-run"], d)
        expect(rc == 0 and 'ALTER COLUMN "cost" TYPE bigint' in out and "DBR103" not in err, out + err)
        rc, _, err = run(["generate", "@t/shop"], d)
        expect(rc == 0, err)
        for target in [[], ["--target", url]]:
            rc, _, err = run(["apply"] + target, d)
            expect(rc == 0, err)
            rc, _, err = run(["verify"] + target, d)
            expect(rc == 0, err)
        got = psql(url, "SELECT string_agg(id || ':' || coalesce(cost::text, '-') || ':' || pg_typeof(cost), ',' "
                   "ORDER BY id) FROM ydtb_shop_items")
        expect(got == "i1:5:bigint,i2:-:bigint", got)
        lines_kept_pg(url)
    finally:
        drop()



CAT = """[package]
name = "@t/cat"
version = "1.0.0"
description = "Kinds and their tags"

[tables.ydtb_cat_kinds]
description = "A kind"
workspace_scoped = true

[tables.ydtb_cat_kinds.columns]
id   = { type = "integer", primary_key = true }
name = { type = "text" }

[tables.ydtb_cat_tags]
description = "A tag of a kind"
workspace_scoped = true

[tables.ydtb_cat_tags.columns]
id      = { type = "text", primary_key = true }
kind_id = { type = "integer", references = "ydtb_cat_kinds.id", on_delete = "cascade" }
"""

USE = """[package]
name = "@t/use"
version = "1.0.0"
description = "Things of a kind, in another package"

[dependencies]
"@t/cat" = "^1.0.0"

[tables.ydtb_use_things]
description = "A thing of a kind"
workspace_scoped = true

[tables.ydtb_use_things.columns]
id      = { type = "text", primary_key = true }
kind_id = { type = "integer", references = "ydtb_cat_kinds.id" }
"""

CAT_ROWS = [
    "INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W', 'w')",
    "INSERT INTO ydtb_cat_kinds (id, name, workspace_id) VALUES (1, 'one', 'w1'), (2, 'two', 'w1')",
    "INSERT INTO ydtb_cat_tags (id, kind_id, workspace_id) VALUES ('t1', 1, 'w1'), ('t2', 2, 'w1'), ('t3', NULL, 'w1')",
]


def cat_project(with_use):
    """@t/cat (and @t/use) generated, initialised on both dialects with rows."""
    files = {"tomls/cat.toml": CAT}
    if with_use:
        files["tomls/use.toml"] = USE
    d = project(files, with_tomls=["core.toml"])
    for name in ["@t/cat"] + (["@t/use"] if with_use else []):
        rc, _, err = run(["generate", name], d)
        expect(rc == 0, err)
    url, drop = t.pg_database()
    rows = CAT_ROWS + (["INSERT INTO ydtb_use_things (id, kind_id, workspace_id) VALUES ('u1', 1, 'w1')"]
                       if with_use else [])
    for target in [[], ["--target", url]]:
        rc, _, err = run(["init"] + target, d)
        expect(rc == 0, err)
    for sql in rows:
        sqlite_q(d, sql)
        psql(url, sql)
    return d, url, drop


@case
def generate_refuses_a_key_type_another_packages_foreign_key_cannot_reference():
    # ydtb_use_things.kind_id (@t/use, integer) references
    # ydtb_cat_kinds.id. Making the id text in @t/cat: generate wrote
    # ALTER COLUMN id TYPE text, which PostgreSQL refuses ("foreign key
    # constraint ydtb_use_things_kind_id_fkey cannot be implemented"), and
    # @t/cat cannot change @t/use's table. Now generate refuses, at the
    # column, naming @t/use's table and column. A change within the family
    # (integer to bigint), which PostgreSQL takes, is generated and applied.
    d, url, drop = cat_project(with_use=True)
    try:
        edit(d, 'version = "1.0.0"', 'version = "1.1.0"', "cat.toml")
        edit(d, 'id   = { type = "integer", primary_key = true }', 'id   = { type = "bigint", primary_key = true }',
             "cat.toml")
        edit(d, 'kind_id = { type = "integer", references', 'kind_id = { type = "bigint", references', "cat.toml")
        rc, _, err = run(["generate", "@t/cat"], d)
        expect(rc == 0 and "DBR029" not in err, err)
        for target in [[], ["--target", url]]:
            rc, _, err = run(["apply"] + target, d)
            expect(rc == 0, err)
            rc, _, err = run(["verify"] + target, d)
            expect(rc == 0, err)
        expect(psql(url, "SELECT string_agg(id || ':' || kind_id, ',' ORDER BY id) FROM ydtb_use_things") == "u1:1",
               "the other package's rows")
        path = os.path.join(d, "tomls", "cat.toml")
        edit(d, 'id   = { type = "bigint", primary_key = true }', 'id   = { type = "text", primary_key = true }',
             "cat.toml")
        edit(d, 'kind_id = { type = "bigint", references', 'kind_id = { type = "text", references', "cat.toml")
        edit(d, 'kind_id = { type = "integer", references', 'kind_id = { type = "text", references', "use.toml")
        before = read(path)
        line = before.decode().split("\n").index('id   = { type = "text", primary_key = true }') + 1
        rc, out, err = run(["generate", "@t/cat"], d)
        expect(rc == 1 and read(path) == before, "exit %d, manifest %s: %s" % (rc, read(path) != before, err))
        expect(("tomls/cat.toml:%d:1: error[DBR029]: column ydtb_cat_kinds.id cannot change to text here: column "
                "ydtb_use_things.kind_id of package @t/use references it and is integer" % line) in err
               and "nothing was generated" in err and "hint: in steps: a release of @t/use" in err, err)
        rc, out, err = run(["generate", "@t/cat", "--dry-run", "--json"], d)
        doc = t.parse_json(rc, out, err)
        expect(rc == 1 and any(x["code"] == "DBR029" and x.get("table") == "ydtb_cat_kinds"
                               for x in doc["diagnostics"]), out)
    finally:
        drop()



@case
def generate_changes_a_key_type_and_the_foreign_key_on_it_in_one_package():
    # ydtb_cat_tags.kind_id references ydtb_cat_kinds.id, both integer, both
    # made text: generate wrote the two ALTER COLUMN ... TYPE, the first of
    # which PostgreSQL refuses while the foreign key stands ("cannot be
    # implemented": text and integer), rolled back. Now the foreign key is
    # dropped before the types change and added back after both (NOT VALID,
    # then validated), in the up and in the down.
    d, url, drop = cat_project(with_use=False)
    try:
        edit(d, 'version = "1.0.0"', 'version = "1.1.0"', "cat.toml")
        edit(d, 'id   = { type = "integer", primary_key = true }', 'id   = { type = "text", primary_key = true }',
             "cat.toml")
        edit(d, 'kind_id = { type = "integer", references', 'kind_id = { type = "text", references', "cat.toml")
        rc, _, err = run(["generate", "@t/cat"], d)
        expect(rc == 0, err)
        rc, _, err = run(["validate"], d)
        expect(rc == 0 and "DBR047" not in err, err)

        def check(when):
            want = "integer" if when == "down" else "text"
            got = psql(url, "SELECT string_agg(attrelid::regclass || '.' || attname || ':' || format_type(atttypid, "
                       "atttypmod), ',' ORDER BY 1) FROM pg_attribute WHERE attrelid IN ('ydtb_cat_kinds'::regclass, "
                       "'ydtb_cat_tags'::regclass) AND attname IN ('id', 'kind_id') AND attrelid::regclass::text || "
                       "attname <> 'ydtb_cat_tagsid'")
            expect(got == "ydtb_cat_kinds.id:%s,ydtb_cat_tags.kind_id:%s" % (want, want), "%s: %s" % (when, got))
            fk = psql(url, "SELECT convalidated FROM pg_constraint WHERE conname = 'ydtb_cat_tags_kind_id_fkey'")
            expect(fk == "t", "%s: the foreign key is %r" % (when, fk))
            for rows in (sqlite_q(d, "SELECT id, kind_id FROM ydtb_cat_tags ORDER BY id"),
                         psql(url, "SELECT string_agg(id || ':' || coalesce(kind_id::text, '-'), ',' ORDER BY id) "
                              "FROM ydtb_cat_tags")):
                expect(rows in ([("t1", 1), ("t2", 2), ("t3", None)], [("t1", "1"), ("t2", "2"), ("t3", None)],
                                "t1:1,t2:2,t3:-"), "%s: tags %r" % (when, rows))
            # The key still holds: deleting a kind takes its tags.
            expect(psql(url, "SELECT count(*) FROM ydtb_cat_kinds") == "2", when)
        for when, cmd in [("up", ["apply"]), ("down", ["down", "@t/cat", "--to", "1.0.0"]), ("up again", ["apply"])]:
            for target in [[], ["--target", url]]:
                rc, _, err = run(cmd + target, d)
                expect(rc == 0, "%s %s: %s" % (when, target[:1], err))
                rc, _, err = run(["verify"] + target, d)
                expect(rc == 0, "verify after %s %s: %s" % (when, target[:1], err))
            expect(sqlite_q(d, "PRAGMA foreign_key_check") == [], "foreign key check after " + when)
            check(when)
        rc, _, err = run(["test", "@t/cat", "--target", url], d)
        expect(rc == 0, err)
    finally:
        drop()



ORD = """[package]
name = "@t/ord"
version = "1.0.0"
description = "A table whose columns the migrations built in another order than declared"

[tables.ydtb_ord_items]
description = "An item"
workspace_scoped = true

[tables.ydtb_ord_items.columns]
id        = { type = "text", primary_key = true }
gone      = { type = "text" }
b         = { type = "text" }
old_label = { type = "text" }
a         = { type = "integer" }

[tables.ydtb_ord_notes]
description = "A note on an item (its child table)"
workspace_scoped = true

[tables.ydtb_ord_notes.columns]
id      = { type = "text", primary_key = true }
item_id = { type = "text", not_null = true, references = "ydtb_ord_items.id", on_delete = "cascade" }

[[migrations]]
id = "0001_init"
version = "1.0.0"
description = "the items, columns in the order of 1.0.0"
up = \"\"\"
CREATE TABLE IF NOT EXISTS ydtb_ord_items (
  id text PRIMARY KEY,
  gone text,
  b text,
  old_label text,
  a integer,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ydtb_ord_items_workspace_id_idx ON ydtb_ord_items (workspace_id);
CREATE TABLE IF NOT EXISTS ydtb_ord_notes (
  id text PRIMARY KEY,
  item_id text NOT NULL REFERENCES ydtb_ord_items(id) ON DELETE CASCADE,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ydtb_ord_notes_workspace_id_idx ON ydtb_ord_notes (workspace_id);
\"\"\"
down = "DROP TABLE IF EXISTS ydtb_ord_notes; DROP TABLE IF EXISTS ydtb_ord_items;"
"""


@case
def generate_rebuild_copies_by_name_into_the_declared_column_order():
    # SQLite's rebuild creates the table in the declared order (id, a,
    # label, b, fresh, workspace_id) from one the migrations built as (id,
    # gone, b, old_label, a, workspace_id): the copy names the columns on
    # both sides, so each value lands in its own column, the renamed one
    # included, the dropped one left out, the new one taking its default;
    # the child table's rows stay (foreign_keys = false). After it validate
    # reports no DBR047, verify no difference, on both dialects, and the
    # down rebuilds the old order with the same rows.
    d = project({"tomls/ord.toml": ORD}, with_tomls=["core.toml"])
    url, drop = t.pg_database()
    try:
        rows = ["INSERT INTO ydtb_workspaces (id, name, slug) VALUES ('w1', 'W', 'w')",
                "INSERT INTO ydtb_ord_items (id, gone, b, old_label, a, workspace_id) VALUES "
                "('r1', 'g1', 'B1', 'L1', 11, 'w1'), ('r2', NULL, NULL, 'L2', NULL, 'w1')",
                "INSERT INTO ydtb_ord_notes (id, item_id, workspace_id) VALUES ('n1', 'r1', 'w1'), ('n2', 'r2', 'w1')"]
        for target in [[], ["--target", url]]:
            rc, _, err = run(["init"] + target, d)
            expect(rc == 0, err)
        for sql in rows:
            sqlite_q(d, sql)
            psql(url, sql)
        edit(d, 'version = "1.0.0"\ndescription = "A table', 'version = "1.1.0"\ndescription = "A table', "ord.toml")
        edit(d, 'gone      = { type = "text" }\nb         = { type = "text" }\nold_label = { type = "text" }\n'
             'a         = { type = "integer" }',
             'a         = { type = "integer", not_null = true, default = 7 }\n'
             'label     = { type = "text", renamed_from = "old_label" }\n'
             'b         = { type = "text", default = "x" }\nfresh     = { type = "integer", default = 3 }', "ord.toml")
        rc, out, err = run(["generate", "@t/ord", "--dry-run"], d)
        expect(rc == 0, err)
        sq = out.split('up_sqlite = """')[1].split('"""')[0]
        expect('INSERT INTO "ydtb_ord_items__new" ("id", "a", "label", "b", "workspace_id")\n'
               '  SELECT "id", COALESCE("a", 7), "label", "b", "workspace_id" FROM "ydtb_ord_items";' in sq, sq)
        rc, _, err = run(["generate", "@t/ord"], d)
        expect(rc == 0, err)
        rc, _, err = run(["validate"], d)
        expect(rc == 0 and "DBR047" not in err, err)
        rc, _, err = run(["validate", "--target", url], d)
        expect(rc == 0 and "DBR047" not in err, err)
        rc, _, err = run(["generate", "@t/ord", "--target", url], d)
        expect(rc == 0 and "nothing to generate" in err, err)
        new = [("r1", 11, "L1", "B1", 3, "w1"), ("r2", 7, "L2", None, 3, "w1")]
        old = [("r1", None, "B1", "L1", 11, "w1"), ("r2", None, None, "L2", 7, "w1")]
        for when, cmd, order, want in [
                ("up", ["apply"], "id, a, label, b, fresh, workspace_id", new),
                ("down", ["down", "@t/ord", "--to", "1.0.0"], "id, gone, b, old_label, a, workspace_id", old),
                ("up again", ["apply"], "id, a, label, b, fresh, workspace_id", new)]:
            for target in [[], ["--target", url]]:
                rc, _, err = run(cmd + target, d)
                expect(rc == 0, "%s %s: %s" % (when, target[:1], err))
                rc, _, err = run(["verify"] + target, d)
                expect(rc == 0, "verify after %s %s: %s" % (when, target[:1], err))
            cols = [r[1] for r in sqlite_q(d, "PRAGMA table_info(ydtb_ord_items)")]
            expect(cols == order.split(", "), "%s: SQLite's columns %r" % (when, cols))
            got = sqlite_q(d, "SELECT %s FROM ydtb_ord_items ORDER BY id" % order)
            expect(got == want, "%s: SQLite's rows %r" % (when, got))
            pg = psql(url, "SELECT string_agg(concat_ws('|', %s), ',' ORDER BY id) FROM ydtb_ord_items" % order)
            expect(pg == ",".join("|".join(str(v) for v in r if v is not None) for r in want),
                   "%s: PostgreSQL's rows %r" % (when, pg))
            expect(sqlite_q(d, "SELECT id, item_id FROM ydtb_ord_notes ORDER BY id") == [("n1", "r1"), ("n2", "r2")],
                   "%s: the notes" % when)
            expect(sqlite_q(d, "PRAGMA foreign_key_check") == [], "foreign key check after " + when)
        rc, _, err = run(["test", "@t/ord", "--target", url], d)
        expect(rc == 0, err)
    finally:
        drop()


if __name__ == "__main__":
    sys.exit(main(only=sys.argv[4:]))
