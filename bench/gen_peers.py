#!/usr/bin/env python3
"""Generates the peers' workload (issue 18) for every tool that bench/peers.sh times.

usage: gen_peers.py DIR [MIGRATIONS]   (default 1000, plus the core's one)
The workload: a core migration creating ydtb_workspaces, then MIGRATIONS
migrations, each creating one table with a foreign key to ydtb_workspaces and
an index on it; the same SQL for every tool, valid on SQLite and PostgreSQL.
Writes
  DIR/dbreg/tomls/core.toml, DIR/dbreg/tomls/app.toml   a dbreg project
  DIR/dbmate/NNNN_name.sql          dbmate (-- migrate:up / -- migrate:down)
  DIR/pgmigrate/NNNN_name.sql       node-pg-migrate (-- Up Migration / -- Down Migration)
  DIR/limit.sql                     every up body in order: the databases' own limit"""
import os
import sys

CORE_UP = "CREATE TABLE IF NOT EXISTS ydtb_workspaces (id text PRIMARY KEY NOT NULL, name text NOT NULL);"
CORE_DOWN = "DROP TABLE IF EXISTS ydtb_workspaces;"


def table(i):
    return "ydtb_app_t%04d" % i


def up(i):
    t = table(i)
    return ("CREATE TABLE IF NOT EXISTS %s (id text PRIMARY KEY NOT NULL,"
            " workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE, title text NOT NULL);\n"
            "CREATE INDEX IF NOT EXISTS %s_workspace_id_idx ON %s (workspace_id);" % (t, t, t))


def down(i):
    return "DROP TABLE IF EXISTS %s;" % table(i)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fp:
        fp.write(text)


def main(out, n):
    steps = [("0000_workspaces", CORE_UP, CORE_DOWN)] + [("%04d_table_%04d" % (i + 1, i), up(i), down(i))
                                                         for i in range(n)]
    write(os.path.join(out, "limit.sql"), "\n".join(u for _, u, _ in steps) + "\n")
    for k, (name, u, d) in enumerate(steps):
        write(os.path.join(out, "dbmate", "%04d_%s.sql" % (k, name)), "-- migrate:up\n%s\n\n-- migrate:down\n%s\n" % (u, d))
        write(os.path.join(out, "pgmigrate", "%04d_%s.sql" % (k, name)),
              "-- Up Migration\n%s\n\n-- Down Migration\n%s\n" % (u, d))
    core = ['[package]', 'name = "@peers/core"', 'version = "1.0.0"', 'kind = "core"', '',
            '[tables.ydtb_workspaces]', 'description = "workspaces"', '',
            '[tables.ydtb_workspaces.columns]', 'id = { type = "text", primary_key = true }',
            'name = { type = "text", not_null = true }', '',
            '[[migrations]]', 'id = "0000_workspaces"', 'version = "1.0.0"', 'up = "%s"' % CORE_UP,
            'down = "%s"' % CORE_DOWN, '']
    write(os.path.join(out, "dbreg", "tomls", "core.toml"), "\n".join(core))
    app = ['[package]', 'name = "@peers/app"', 'version = "1.0.0"', '', '[dependencies]',
           '"@peers/core" = "^1.0.0"', '']
    for i in range(n):
        app += ['[tables.%s]' % table(i), 'description = "generated"', 'workspace_scoped = true', '',
                '[tables.%s.columns]' % table(i), 'id = { type = "text", primary_key = true }',
                'title = { type = "text", not_null = true }', '']
    for name, u, d in steps[1:]:
        app += ['[[migrations]]', 'id = "%s"' % name, 'version = "1.0.0"', "up = '''\n%s\n'''" % u,
                'down = "%s"' % d, '']
    write(os.path.join(out, "dbreg", "tomls", "app.toml"), "\n".join(app))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
