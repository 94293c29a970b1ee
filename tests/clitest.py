"""What the Python tests of the dbreg command share: the TAP runner, expect,
running the binary (and parsing its JSON), temporary projects and fresh
databases on the PostgreSQL test server (DBREG_TEST_PG_URL).

A test script imports it from its own folder (meson runs them as
`python3 tests/test_x.py ...`):

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from clitest import case, expect, run, main  # noqa: E402
    clitest.configure(sys.argv[1], sys.argv[2], "x")

then marks its cases with @case and ends with sys.exit(main())."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

DBREG = None   # the binary under test, absolute
TOMLS = None   # the repository's tomls/, absolute
NAME = "test"  # names temporary folders and databases: dbreg-NAME-*, dbreg_NAME_*
TIMEOUT = 120  # seconds a dbreg run may take
SECRETS = []   # strings no dbreg run may print (passwords)
PG_URL = os.environ.get("DBREG_TEST_PG_URL")
NO_PG = os.environ.get("DBREG_TEST_NO_PG") == "1"

cases = []
made = []       # folders removed at the end
cleanups = []   # functions called at the end, last added first


def configure(dbreg=None, tomls=None, name="test", timeout=120):
    global DBREG, TOMLS, NAME, TIMEOUT
    DBREG = os.path.abspath(dbreg) if dbreg else None
    TOMLS = os.path.abspath(tomls) if tomls else None
    NAME = name
    TIMEOUT = timeout


def case(fn):
    cases.append(fn)
    return fn


class Skip(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


# ---- the dbreg binary ---------------------------------------------------------

def dbreg_env(extra=None):
    """The environment of a dbreg run: no colour, and no test server URL (a
    case names its target itself)."""
    e = dict(os.environ, NO_COLOR="1")
    e.pop("DBREG_TEST_PG_URL", None)
    if extra:
        e.update(extra)
    return e


def run(args, cwd, env=None, timeout=None):
    """dbreg ARGS in cwd: (exit code, stdout, stderr)."""
    p = subprocess.run([DBREG] + args, cwd=cwd, env=dbreg_env(env), capture_output=True, text=True,
                       timeout=timeout or TIMEOUT)
    for secret in SECRETS:
        expect(secret not in p.stdout + p.stderr, "the password was printed")
    return p.returncode, p.stdout, p.stderr



def parse_json(rc, out, err):
    """stdout as one JSON document, or a failure that shows what it was."""
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError("not one JSON document (exit %d): %r\nstderr: %s" % (rc, out[:2000], err[-2000:]))


def run_json(args, cwd, **kw):
    """dbreg ARGS --json: (exit code, the document, stderr)."""
    rc, out, err = run(args + ["--json"], cwd, **kw)
    return rc, parse_json(rc, out, err), err


# ---- projects -----------------------------------------------------------------

def project(files=None, with_tomls=True):
    """A temporary project folder holding `files` ({relative path: text}) and
    a copy of tomls/: all of it (True), no folder (False) or a folder with
    the names listed (maybe none)."""
    d = tempfile.mkdtemp(prefix="dbreg-%s-" % NAME)
    made.append(d)
    if with_tomls is True:
        shutil.copytree(TOMLS, os.path.join(d, "tomls"))
    elif with_tomls is not False:
        os.makedirs(os.path.join(d, "tomls"))
        for name in with_tomls:
            shutil.copy(os.path.join(TOMLS, name), os.path.join(d, "tomls", name))
    for name, text in (files or {}).items():
        path = os.path.join(d, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fp:
            fp.write(text)
    return d


# ---- the PostgreSQL test server -------------------------------------------------

def need_pg():
    """Skips the case under DBREG_TEST_NO_PG=1; fails it when the server is missing."""
    if not PG_URL:
        if NO_PG:
            raise Skip("DBREG_TEST_NO_PG=1")
        raise AssertionError("DBREG_TEST_PG_URL is not set: the PostgreSQL test server did not start")


def pg_url(db):
    """The test server's URL for database db."""
    return PG_URL.rsplit("/", 1)[0] + "/" + db


def pg_name():
    """A database name no other run uses."""
    return "dbreg_%s_%d_%d" % (NAME, os.getpid(), int(time.time() * 1000000) % 10**12)


def pg_drop(names):
    """Drops the databases (gone already is fine)."""
    if not names or not PG_URL:
        return
    sql = "".join("DROP DATABASE IF EXISTS %s WITH (FORCE);" % n for n in names)
    subprocess.run(["psql", "-X", "-q", PG_URL], input=sql, text=True, capture_output=True, timeout=60)


def pg_database():
    """A fresh database on the test server; returns (url, drop function)."""
    need_pg()
    name = pg_name()
    subprocess.run(["psql", PG_URL, "-qc", "CREATE DATABASE %s" % name], check=True, capture_output=True, timeout=60)
    return pg_url(name), lambda: pg_drop([name])


def splice(c, u):
    """Relays bytes both ways between two sockets, each way on a thread of
    its own, until either side closes; then shuts both down."""
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()


# ---- TAP ----------------------------------------------------------------------

def run_cases(fns, first=1, skip=None, timed=False):
    """Runs fns as TAP cases numbered from first (each skipped when skip is
    a Skip); returns how many failed. A failure's traceback follows as # lines."""
    failed = 0
    for i, fn in enumerate(fns, first):
        if skip:
            print("ok %d - %s # SKIP %s" % (i, fn.__name__, skip))
            continue
        try:
            t0 = time.time()
            fn()
            print("ok %d - %s%s" % (i, fn.__name__, " (%.1f s)" % (time.time() - t0) if timed else ""))
        except Skip as s:
            print("ok %d - %s # SKIP %s" % (i, fn.__name__, s))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, fn.__name__))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        sys.stdout.flush()
    return failed


def cleanup():
    while cleanups:
        cleanups.pop()()
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def main(timed=False, only=()):
    """The plan, every @case (or those named in only), then the clean-up; the
    exit status of the script."""
    todo = [fn for fn in cases if not only or fn.__name__ in only]
    print("1..%d" % len(todo))
    try:
        failed = run_cases(todo, timed=timed)
    finally:
        cleanup()
    return 1 if failed else 0
