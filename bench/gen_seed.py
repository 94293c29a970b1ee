#!/usr/bin/env python3
"""Generates a project whose one package seeds a table with one body of many statements.

usage: gen_seed.py DIR STATEMENTS [manifest|file]
One core package (no prefix or workspace rules apply to it) declares the
tables ydtb_workspaces and ydtb_seed; migration 0001 creates it, migration 0002 inserts STATEMENTS
rows, one INSERT ... ON CONFLICT DO NOTHING per row (idempotent, so the SQL
checks find nothing), written in the manifest as a multi-line string
(default) or in an up_file (seed.sql beside the manifest)."""
import os
import sys


def main(out, n, where):
    tomls = os.path.join(out, "tomls")
    os.makedirs(tomls, exist_ok=True)
    rows = "".join("INSERT INTO ydtb_seed (id, label) VALUES ('r%d', 'row \\u00e9 %d') ON CONFLICT DO NOTHING;\n"
                   % (i, i) if where == "manifest" else
                   "INSERT INTO ydtb_seed (id, label) VALUES ('r%d', 'row \u00e9 %d') ON CONFLICT DO NOTHING;\n"
                   % (i, i) for i in range(n))
    lines = ['[package]', 'name = "@bench/seed"', 'version = "1.0.0"', 'kind = "core"', '',
             '[tables.ydtb_workspaces]', 'description = "workspaces"', '',
             '[tables.ydtb_workspaces.columns]', 'id = { type = "text", primary_key = true }', '',
             '[tables.ydtb_seed]', 'description = "seeded rows"', '',
             '[tables.ydtb_seed.columns]', 'id = { type = "text", primary_key = true }',
             'label = { type = "text", not_null = true }', '',
             '[[migrations]]', 'id = "0001_table"', 'version = "1.0.0"',
             'up = "CREATE TABLE IF NOT EXISTS ydtb_workspaces (id text PRIMARY KEY NOT NULL);'
             ' CREATE TABLE IF NOT EXISTS ydtb_seed (id text PRIMARY KEY NOT NULL, label text NOT NULL);"',
             'down = "DROP TABLE IF EXISTS ydtb_seed; DROP TABLE IF EXISTS ydtb_workspaces;"', '',
             '[[migrations]]', 'id = "0002_seed"', 'version = "1.0.0"']
    if where == "manifest":
        lines.append('up = """\n%s"""' % rows)
    else:
        with open(os.path.join(tomls, "seed.sql"), "w", encoding="utf-8") as fp:
            fp.write(rows)
        lines.append('up_file = "seed.sql"')
    lines.append('down = "DELETE FROM ydtb_seed;"')
    with open(os.path.join(tomls, "seed.toml"), "w", encoding="utf-8") as fp:
        fp.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "manifest")
