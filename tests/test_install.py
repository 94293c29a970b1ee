#!/usr/bin/env python3
"""What `meson install` gives a user and an embedding developer, checked on
the installed files only (nothing from the source or build tree):

usage: test_install.py BUILD_DIR SOURCE_DIR B_SANITIZE
Installs into a DESTDIR; checks the file list, the versioned SONAME, that
`nm -D` of the library lists only functions of the installed public
headers; compiles and runs a C program with `pkg-config --cflags --libs
dbreg`; renders dbreg(1) with `man -l`; completes commands, options,
package and target names with the installed bash completion. Prints TAP."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BUILD, SOURCE, SANITIZE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
sys.path.insert(0, os.path.join(SOURCE, "core"))
import exports  # noqa: E402  the same reading of the headers as the build's
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import case, expect, main  # noqa: E402


def sh(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p.stdout


DEST = tempfile.mkdtemp(prefix="dbreg-install-")
clitest.made.append(DEST)
opts = {o["name"]: o["value"] for o in json.loads(sh(["meson", "introspect", BUILD, "--buildoptions"]))}
PREFIX = DEST + opts["prefix"]


def at(option, *rest):
    """An installed path: the option's folder under the prefix (or as is
    when absolute), inside the DESTDIR."""
    d = opts[option]
    return os.path.join(DEST + d if d.startswith("/") else os.path.join(PREFIX, d), *rest)


BIN = at("bindir", "dbreg")
LIBDIR = at("libdir")
INCLUDE = at("includedir")
MAN = at("mandir", "man1", "dbreg.1")
COMPLETION = at("datadir", "bash-completion", "completions", "dbreg")
ENV = dict(os.environ, LD_LIBRARY_PATH=LIBDIR, NO_COLOR="1",
           PKG_CONFIG_PATH=os.path.join(LIBDIR, "pkgconfig"), PKG_CONFIG_SYSROOT_DIR=DEST,
           PATH=os.path.dirname(BIN) + ":" + os.environ.get("PATH", ""))
ENV.pop("PKG_CONFIG_LIBDIR", None)


@case
def meson_install_into_a_destdir_installs_every_file_of_the_contract():
    sh(["meson", "install", "-C", BUILD, "--destdir", DEST, "--no-rebuild", "--quiet"])
    for path in (BIN, os.path.join(LIBDIR, "libdbreg.a"), os.path.join(LIBDIR, "libdbreg.so"),
                 os.path.join(LIBDIR, "libdbreg.so.0"), os.path.join(INCLUDE, "dbreg.h"),
                 os.path.join(INCLUDE, "dbreg", "driver.h"), os.path.join(LIBDIR, "pkgconfig", "dbreg.pc"),
                 MAN, COMPLETION):
        expect(os.path.exists(path), "not installed: %s" % path[len(DEST):])


@case
def the_library_has_a_versioned_soname():
    out = sh(["readelf", "-d", os.path.join(LIBDIR, "libdbreg.so")])
    expect("Library soname: [libdbreg.so.0]" in out, out)


@case
def nm_lists_only_functions_of_the_installed_public_headers():
    public = set(exports.declared([os.path.join(INCLUDE, "dbreg.h"), os.path.join(INCLUDE, "dbreg", "driver.h")]))
    out = sh(["nm", "-D", "--defined-only", os.path.join(LIBDIR, "libdbreg.so.0")])
    exported = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    exported.discard("DBREG_0")   # the version node
    extra = sorted(exported - public)
    expect(not extra, "exported but not in the public headers: %s" % extra)
    expect("dbreg_registry_new" in exported and "dbreg_plan_build" in exported, sorted(exported))
    # The internals that used to leak.
    static = sh(["nm", "--defined-only", os.path.join(LIBDIR, "libdbreg.a")])
    expect(" T dbreg_toml_parse" in static, "internal symbols moved: the check above proves nothing")
    # The archive hides nothing (no version script links it), so each of
    # its global names is one a program could define too: all prefixed
    # (ddl.c's ddl_type collided with an embedder's), ASan's markers aside.
    globals_ = [l.split() for l in static.splitlines() if len(l.split()) == 3 and l.split()[1] in "TDBRCV"]
    unprefixed = sorted({w[2] for w in globals_ if not w[2].startswith(("dbreg_", "__odr_asan."))})
    expect(not unprefixed, "global symbols of libdbreg.a without the dbreg_ prefix: %s" % unprefixed)
    expect(not any(n.startswith(("dbreg_buf_", "dbreg_toml_")) for n in exported), sorted(exported))
    # And the other way: every function the headers declare is there to call
    # (the driver API's helpers, dbreg_strv_push and the like, included).
    missing = sorted(public - exported)
    expect(not missing, "declared in the public headers but not exported: %s" % missing)


@case
def each_driver_builds_against_the_installed_headers_and_library_only():
    # A third-party driver is written the way ours are: each of ours
    # compiles with the installed include folder (no -I of the source's core)
    # and links as a shared object against the installed libdbreg with
    # nothing left undefined. The PostgreSQL driver's pq_calls.h comes from
    # its own script, as its build writes it.
    work = tempfile.mkdtemp(prefix="dbreg-driver-", dir=DEST)
    drivers = os.path.join(SOURCE, "drivers")
    pq = os.path.join(drivers, "postgres")
    sh([sys.executable, os.path.join(pq, "pq_calls.py"), os.path.join(pq, "pq.h"), os.path.join(work, "pq_calls.h")])
    libpq = sh(["pkg-config", "--cflags", "libpq"]).split()
    cases = {
        "sqlite": ([os.path.join(drivers, "sqlite", f) for f in ("sqlite.c", "sqlite_alloc.c")], [], ["-lsqlite3"]),
        "postgres": ([os.path.join(pq, f) for f in ("postgres.c", "pq.c")], ["-I" + work] + libpq,
                     ["-lpg_query", "-ldl", "-lpthread"]),
    }
    for name, (srcs, cflags, libs) in cases.items():
        out = os.path.join(work, "dbreg-%s.so" % name)
        sh(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
            "-fPIC", "-shared", "-I" + INCLUDE] + cflags + srcs +
           ["-L" + LIBDIR, "-ldbreg"] + libs + ["-Wl,--no-undefined", "-o", out], cwd=work, env=ENV)
        expect(os.path.exists(out), name)


PROGRAM = r"""
#include <dbreg.h>
#include <dbreg/driver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char manifest[] =
	"[package]\nname = \"@ydtb/core\"\nversion = \"1.0.0\"\nkind = \"core\"\n"
	"[tables.ydtb_workspaces]\ndescription = \"workspaces\"\n"
	"[tables.ydtb_workspaces.columns]\nid = { type = \"text\", primary_key = true }\n"
	"[[migrations]]\nid = \"0001_workspaces\"\nversion = \"1.0.0\"\n"
	"up = \"CREATE TABLE IF NOT EXISTS ydtb_workspaces (id TEXT PRIMARY KEY);\"\n";

int main(void)
{
	struct dbreg_registry *reg;
	if (dbreg_registry_new(&reg) != 0)
		return 1;
	if (dbreg_registry_add_string(reg, "core.toml", NULL, manifest, strlen(manifest)) != 0)
		return 1;
	int rc = dbreg_registry_validate(reg, NULL);
	char *shown = dbreg_url_redact("postgres://app:secret@db/app");
	printf("%zu package %s %d %s %s %s %s\n", dbreg_registry_package_count(reg), dbreg_registry_package_name(reg, 0),
	       rc, shown, dbreg_driver_for_url("sqlite::memory:") ? "sqlite-driver" : "no-driver", dbreg_version(),
	       DBREG_VERSION_STRING);
	free(shown);
	dbreg_registry_free(reg);
	return 0;
}
"""


@case
def a_c_program_builds_with_pkg_config_against_the_installed_files_only():
    work = tempfile.mkdtemp(prefix="dbreg-embed-", dir=DEST)
    src = os.path.join(work, "app.c")
    with open(src, "w") as fp:
        fp.write(PROGRAM)
    flags = sh(["pkg-config", "--cflags", "--libs", "dbreg"], env=ENV).split()
    for f in flags:
        if f.startswith(("-I", "-L")):
            expect(f[2:].startswith(DEST), "pkg-config points outside the DESTDIR: %s" % f)
    expect("-ldbreg" in flags, flags)
    extra = ["-fsanitize=" + SANITIZE] if SANITIZE not in ("", "none") else []
    exe = os.path.join(work, "app")
    sh(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", src, "-o", exe] + flags + extra, cwd=work, env=ENV)
    needed = sh(["readelf", "-d", exe])
    expect("libdbreg.so.0" in needed, needed)
    out = sh([exe], env=ENV)
    # The library's version at run time, the header's, and pkg-config's
    # (meson's project version) are one.
    version = sh(["pkg-config", "--modversion", "dbreg"], env=ENV).strip()
    expect(out == "1 package @ydtb/core 0 postgres://app:***@db/app sqlite-driver %s %s\n" % (version, version),
           repr(out))
    resolved = sh(["ldd", exe], env=ENV)
    expect(os.path.join(LIBDIR, "libdbreg.so.0") in resolved, resolved)


@case
def a_cxx_program_links_against_the_headers_and_library():
    # The headers declare C functions to a C++ compiler (extern "C"):
    # without it every call is a mangled name the library does not have.
    work = tempfile.mkdtemp(prefix="dbreg-cxx-", dir=DEST)
    src = os.path.join(work, "app.cc")
    with open(src, "w") as fp:
        fp.write(PROGRAM.replace("#include <stdio.h>", "#include <cstdio>"))
    flags = sh(["pkg-config", "--cflags", "--libs", "dbreg"], env=ENV).split()
    extra = ["-fsanitize=" + SANITIZE] if SANITIZE not in ("", "none") else []
    exe = os.path.join(work, "app")
    sh(["c++", "-std=c++17", "-Wall", "-Wextra", "-Werror", src, "-o", exe] + flags + extra, cwd=work, env=ENV)
    out = sh([exe], env=ENV)
    # The library's version at run time, the header's, and pkg-config's
    # (meson's project version) are one.
    version = sh(["pkg-config", "--modversion", "dbreg"], env=ENV).strip()
    expect(out == "1 package @ydtb/core 0 postgres://app:***@db/app sqlite-driver %s %s\n" % (version, version),
           repr(out))


@case
def the_static_library_links_with_pkg_config_static_and_nothing_needs_libpq():
    # libpq is loaded by the PostgreSQL driver when first needed
    # (drivers/postgres/pq.h): neither the shared library nor dbreg.pc
    # names it, so an embedder links without libpq-dev and, statically,
    # without libpq's own static dependencies.
    pc = open(os.path.join(LIBDIR, "pkgconfig", "dbreg.pc")).read()
    expect("libpq" not in pc, pc)
    for lib in (os.path.join(LIBDIR, "libdbreg.so.0"), BIN):
        needed = sh(["readelf", "-d", lib])
        expect("libpq" not in needed, lib + ":\n" + needed)
    work = tempfile.mkdtemp(prefix="dbreg-static-", dir=DEST)
    src = os.path.join(work, "app.c")
    with open(src, "w") as fp:
        fp.write(PROGRAM)
    flags = [f for f in sh(["pkg-config", "--cflags", "--static", "--libs", "dbreg"], env=ENV).split()
             if f != "-ldbreg"]
    extra = ["-fsanitize=" + SANITIZE] if SANITIZE not in ("", "none") else []
    exe = os.path.join(work, "app")
    sh(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", src, os.path.join(LIBDIR, "libdbreg.a"), "-o", exe]
       + flags + extra, cwd=work, env=ENV)
    expect("libdbreg" not in sh(["readelf", "-d", exe]), "linked against the shared library")
    out = sh([exe], env=ENV)
    expect(out.startswith("1 package @ydtb/core 0 postgres://app:***@db/app sqlite-driver "), repr(out))


STATIC_PG = r"""
#include <dbreg.h>
#include <stdio.h>
int main(void)
{
	struct dbreg_conn *c = NULL;
	char err[512];
	int rc = dbreg_target_connect(&c, "postgres://u@127.0.0.1:1/x", err, sizeof err);
	printf("%d %s\n", rc, err);
	return 0;
}
"""


@case
def a_program_linked_with_static_is_told_that_postgresql_needs_a_dynamic_one():
    # -static has no dynamic loader: the driver's dlopen of libpq brought
    # a second C library in, which crashed (audit asurf 6). It says so.
    if SANITIZE not in ("", "none"):
        raise clitest.Skip("the sanitizers' runtimes do not link with -static")
    work = tempfile.mkdtemp(prefix="dbreg-fullstatic-", dir=DEST)
    src = os.path.join(work, "app.c")
    with open(src, "w") as fp:
        fp.write(STATIC_PG)
    flags = [f for f in sh(["pkg-config", "--cflags", "--static", "--libs", "dbreg"], env=ENV).split()
             if f != "-ldbreg"]
    exe = os.path.join(work, "app")
    p = subprocess.run(["cc", "-static", "-std=c11", src, os.path.join(LIBDIR, "libdbreg.a"), "-o", exe] + flags,
                       cwd=work, env=ENV, capture_output=True, text=True)
    if p.returncode != 0:
        raise clitest.Skip("no static libraries to link with -static: %s" % p.stderr[-300:])
    p = subprocess.run([exe], env=ENV, capture_output=True, text=True, timeout=60)
    expect(p.returncode == 0 and "linked with -static" in p.stdout, (p.returncode, p.stdout, p.stderr[-500:]))


@case
def man_renders_the_installed_page_with_a_section_per_command():
    out = sh(["man", "-l", MAN], env=dict(ENV, MANWIDTH="100", MAN_KEEP_FORMATTING="", PAGER="cat"))
    out = out.replace("\b", "")
    for heading in ("NAME", "SYNOPSIS", "COMMANDS", "OPTIONS OF EVERY COMMAND", "ENVIRONMENT", "EXIT STATUS"):
        expect(("\n%s\n" % heading) in out, "no %s section:\n%s" % (heading, out[:2000]))
    help_out = sh([BIN, "--help"], env=ENV)
    rows = help_out.split("commands:\n")[1].split("\n\n")[0].splitlines()
    commands = [l.split()[0] for l in rows if l[2] != " "]
    for cmd in commands:
        expect(("\n   %s" % cmd) in out, "no section for %s" % cmd)
    expect("--lock-timeout SECONDS" in out and "DBREG_STATE" in out, out)


def complete(line, cwd):
    """The words the installed completion offers at the end of `line`, as
    readline would put them there: bash gives COMP_LINE and COMP_POINT, and
    COMP_WORDS split at COMP_WORDBREAKS too (so @ydtb/b is "@" and "ydtb/b"),
    and readline replaces only what follows the last break character."""
    breaks = "\"'@><=;|&(:"
    words = re.findall(r"[%s]|[^\s%s]+" % (re.escape(breaks), re.escape(breaks)), line)
    if line.endswith(" ") or not words:
        words.append("")
    script = ('source "$0"; COMP_LINE=$1; COMP_POINT=${#COMP_LINE}; COMP_WORDBREAKS=$2; '
              'COMP_WORDS=("${@:3}"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
              '_dbreg; printf "%s\\n" "${COMPREPLY[@]}"')
    out = sh(["bash", "-c", script, COMPLETION, line, breaks] + words, cwd=cwd, env=ENV)
    cur = line.split(" ")[-1]
    # readline's word starts after the last break character, or at it for
    # an @ (bash's rl_special_prefixes keep it in the word).
    at = max(cur.rfind(c) for c in "@:=")
    lead = cur[:at + (0 if at >= 0 and cur[at] == "@" else 1)]
    return sorted(lead + w for w in out.split("\n") if w)


def readline_completes(line, cwd):
    """What an interactive bash (real readline, on a pseudo-terminal) makes
    of `line` after a TAB, with the installed completion sourced."""
    import pty
    import select
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        env = dict(ENV, PATH=os.path.dirname(BIN) + os.pathsep + ENV.get("PATH", ""), PS1="$ ", TERM="dumb",
                   INPUTRC="/dev/null")
        os.execvpe("bash", ["bash", "--norc", "--noprofile", "-i"], env)
    out = b""

    def read_until(mark, timeout=20):
        nonlocal out
        end = time.time() + timeout
        while mark not in out and time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        return mark in out
    try:
        os.write(fd, b'source "%s"; echo READY\n' % COMPLETION.encode())
        read_until(b"READY\r\n$ ")
        out = b""
        # The line, a TAB, then to its start (C-a) to print it with echo.
        os.write(fd, line.encode() + b"\t")
        time.sleep(1.0)
        os.write(fd, b"\x01echo \"<\" \x05 \">\"\n")
        read_until(b">\r\n")
    finally:
        os.write(fd, b"exit\n")
        os.close(fd)
        os.waitpid(pid, 0)
    m = re.findall(rb"\n< (.*) >\r\n", out)
    return m[-1].decode() if m else out.decode(errors="replace")


@case
def bash_completes_commands_options_packages_and_targets():
    proj = tempfile.mkdtemp(prefix="dbreg-complete-", dir=DEST)
    shutil.copytree(os.path.join(SOURCE, "tomls"), os.path.join(proj, "tomls"))
    with open(os.path.join(proj, "dbreg.toml"), "w") as fp:
        fp.write('[targets.dev]\nurl = "sqlite:dev.db"\n[targets.staging]\nurl = "sqlite:staging.db"\n'
                 '[fleets.tenants]\ntargets = ["dev", "staging"]\n')
    checks = [
        ("dbreg pl", ["plan"]),
        ("dbreg ver", ["verify"]),
        ("dbreg plan --re", ["--refresh"]),
        ("dbreg apply --s", ["--state"]),            # apply takes no --sql
        ("dbreg plan --s", ["--sql", "--state"]),
        ("dbreg init --w", ["--wait"]),
        ("dbreg down @ydtb/b", ["@ydtb/basic"]),
        ("dbreg down @yd", ["@ydtb/basic", "@ydtb/core"]),    # bash breaks the word at @
        ("dbreg down ", ["@ydtb/basic", "@ydtb/core"]),
        ("dbreg apply --to @ydtb/c", ["@ydtb/core"]),
        ("dbreg help st", ["status"]),
        ("dbreg plan --target ", ["dev", "staging"]),
        ("dbreg --json st", ["status"]),
        ("dbreg new ", ["migration", "package"]),     # its first word, then what follows it
        ("dbreg new migration @ydtb/b", ["@ydtb/basic"]),
        ("dbreg new package ", []),                   # a new name: nothing to offer
        ("dbreg apply --on-error ", ["continue", "stop"]),
        ("dbreg status --fleet ", ["tenants"]),
        ("dbreg --ver", ["--verbose", "--version"]),  # each once
    ]
    for line, want in checks:
        got = complete(line, proj)
        expect(got == want, "%r: %s, want %s" % (line, got, want))
    # The same through readline itself, which the emulation above models:
    # it kept the @ of a scoped name in the word, and the completion took
    # it away (dbreg down ydtb/basic).
    for line, want in (("dbreg down @ydtb/b", "dbreg down @ydtb/basic "),
                       ("dbreg apply --to @ydtb/c", "dbreg apply --to @ydtb/core "),
                       ("dbreg plan --re", "dbreg plan --refresh ")):
        got = readline_completes(line, proj)
        expect(got.strip() == want.strip(), "readline: %r became %r, want %r" % (line, got, want))
    sub = os.path.join(DEST, "elsewhere")
    os.makedirs(sub, exist_ok=True)
    got = complete("dbreg -C %s down @ydtb/c" % proj, sub)
    expect(got == ["@ydtb/core"], "-C DIR names the project for package names: %s" % got)


if __name__ == "__main__":
    sys.exit(main())
