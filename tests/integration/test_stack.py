# SPDX-License-Identifier: Apache-2.0
"""The stack as operators see it: only Apache on TCP, the database going
away and coming back, the daemon's health, migrations, configuration
checks, restarts that keep the data, and `make run`: its Ctrl-C, and a
part that dies started again while the others serve on."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import types
import urllib.request

import pytest

from client import request
from conftest import CHECKOUT, free_port, make_stack
import stack as stackmod

SCHEMA_MIGRATE = os.path.join(CHECKOUT, "schema", "migrate")
# What /etc/profile gives a normal user on Debian 12: no sbin directories,
# where mariadbd, apache2 and runuser live.
USER_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"


def listening_tcp_inodes():
    """Socket inodes in LISTEN state, over IPv4 and IPv6."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[3] == "0A":
                    inodes.add(fields[9])
    return inodes


def socket_inodes(pid):
    found = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            found.add(m.group(1))
    return found


def process_tree(pid):
    pids = [pid]
    for child in subprocess.run(["pgrep", "-P", str(pid)], text=True,
                                capture_output=True).stdout.split():
        pids += process_tree(int(child))
    return pids


def test_nothing_but_apache_listens_on_tcp(stack):
    listening = listening_tcp_inodes()
    for part in ("mariadb", "eventd"):
        pid = stack.procs[part].pid
        assert not socket_inodes(pid) & listening, part
    apache_listening = set()
    for pid in process_tree(stack.procs["apache"].pid):
        apache_listening |= socket_inodes(pid) & listening
    assert apache_listening, "Apache should listen"


def test_database_down_gives_503_then_recovers(stack):
    assert request(stack, "GET", "/api/health").status == 200
    stack.stop_db()
    try:
        for path in ("/api/health", "/api/menu", "/api/shop"):
            started = time.monotonic()
            ans = request(stack, "GET", path)
            assert ans.status == 503, (path, ans)
            assert ans.json["error"]["code"] == "database_unavailable"
            assert ans.header("retry-after")
            assert time.monotonic() - started < 5, "503 must come quickly"
    finally:
        stack.start_db()
    # No Apache restart: mod_dbd's pool replaces the dead connections.
    deadline = time.monotonic() + 30
    while request(stack, "GET", "/api/menu").status != 200:
        assert time.monotonic() < deadline, "did not recover"
        time.sleep(0.2)
    assert request(stack, "GET", "/api/health").status == 200


def test_daemon_down_degrades_health_only(stack):
    stack.stop_eventd()
    try:
        ans = request(stack, "GET", "/api/health")
        assert ans.status == 200, ans
        assert ans.json["data"] == {"status": "degraded", "db": "up",
                                    "events": "down"}
        assert request(stack, "GET", "/api/menu").status == 200
    finally:
        stack.start_eventd()
    assert request(stack, "GET", "/api/health").json["data"]["events"] == "up"


def test_daemon_exits_cleanly_on_sigterm(stack):
    status = stack.stop_eventd()
    try:
        assert status == 0
        assert not os.path.exists(stack.ws_socket)
        assert not os.path.exists(stack.event_socket)
    finally:
        stack.start_eventd()


def test_migrations_recorded_and_idempotent(stack):
    rows = stack.mariadb("SELECT version, name FROM schema_migrations")
    files = sorted(f[:-4] for f in os.listdir(os.path.join(
        CHECKOUT, "schema", "migrations")) if f.endswith(".sql"))
    assert [r[1] for r in rows] == files
    assert ["1", "001_initial"] in rows
    res = subprocess.run([SCHEMA_MIGRATE, "timing",
                          "--socket=" + stack.db_socket,
                          "--user=" + stack.os_user],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "0 applied" in res.stdout
    assert stack.mariadb("SELECT COUNT(*) FROM schema_migrations") == \
        [[str(len(files))]]


def test_schema_is_innodb_utf8mb4_with_an_epoch(stack):
    rows = stack.mariadb(
        "SELECT table_name, engine, table_collation FROM "
        "information_schema.tables WHERE table_schema = 'timing'")
    tables = {r[0]: r for r in rows}
    for name in ("users", "menu_items", "orders", "order_items",
                 "order_status_history", "events", "shop", "timing_epoch",
                 "idempotency_keys", "rate_events", "pickup_counters"):
        assert name in tables, name
        assert tables[name][1] == "InnoDB", name
    assert tables["orders"][2].startswith("utf8mb4")
    epoch = stack.mariadb("SELECT epoch FROM timing_epoch")
    assert len(epoch) == 1 and re.fullmatch(r"[0-9a-f]{16}", epoch[0][0])


def test_app_user_cannot_change_the_schema(stack):
    with open(os.path.join(stack.secrets_dir, "db.password")) as f:
        password = f.read().strip()
    res = subprocess.run(
        ["mariadb", "--no-defaults", "--socket=" + stack.db_socket,
         "--user=timing", "--password=" + password, "timing", "-e",
         "DROP TABLE events"], capture_output=True, text=True)
    assert res.returncode != 0
    assert "denied" in res.stderr


def test_admin_account_is_provisioned_with_a_bcrypt_hash(stack):
    rows = stack.mariadb("SELECT email, role, password_hash FROM users")
    assert rows[0][0] == "admin@timing.local" and rows[0][1] == "admin"
    assert rows[0][2].startswith("$2y$")
    assert stack.admin_password not in rows[0][2]


@pytest.mark.parametrize("line, message", [
    ("<VirtualHost *:1>\nTimingJWTSecret short\n</VirtualHost>",
     "at least 32 bytes"),
    ("TimingJWTSecretFile /nonexistent/secret", "cannot read"),
    ("TimingEventSocket relative/events.sock", "absolute path"),
    ("TimingEventSocket /" + "x" * 120, "longer than a unix socket path"),
    ("TimingEventSocket /nonexistent/events.sock",
     "the directory '/nonexistent' does not exist"),
    ("TimingTokenLifetime 5", "between 60 seconds and 30 days"),
    ("TimingBodyLimit lots", "TimingBodyLimit must be"),
    ("<Location /x>\nTimingWebSocket everyone\n</Location>",
     "'admin', 'order' or 'off'"),
    ("TimingJWTIssuer " + "i" * 201, "1 to 200 characters"),
    ("TimingSocketLifetime 500ms", "0 (no limit) or from 1s to 7 days"),
    ("TimingSocketLifetime 8d", "0 (no limit) or from 1s to 7 days"),
    ("TimingTunnelSockets 0", "TimingTunnelSockets must be a number of "
     "WebSockets from 1"),
    ("TimingTunnelSockets many", "TimingTunnelSockets must be"),
])
def test_bad_directives_fail_the_config_check(stack, line, message):
    res = stack.config_test(line)
    assert res.returncode != 0
    assert message in res.stderr, res.stderr


def test_good_configuration_passes_the_check(stack):
    res = stack.config_test("TimingTokenLifetime 8h\nTimingBodyLimit 32768"
                            "\nTimingSocketLifetime 90min"
                            "\nTimingTunnelSockets 100")
    assert res.returncode == 0, res.stderr
    assert "Syntax OK" in res.stderr


def test_second_start_reuses_the_data(tmp_root):
    tmp = os.path.join(tmp_root, "restart")
    first = make_stack(tmp, demo=True)
    first.start()
    try:
        epoch = first.mariadb("SELECT epoch FROM timing_epoch")
        first.mariadb("UPDATE menu_items SET name = 'Edited' WHERE id = 1")
        password = first.admin_password
    finally:
        first.stop()
    second = make_stack(tmp, demo=True)
    second.start()
    try:
        assert second.admin_password == password
        assert second.mariadb("SELECT epoch FROM timing_epoch") == epoch
        menu = request(second, "GET", "/api/menu").json["data"]
        assert menu[0]["name"] == "Edited"          # demo data not reloaded
        assert second.mariadb("SELECT COUNT(*) FROM users") == [["1"]]
    finally:
        second.stop()


def test_a_normal_users_path_is_enough(tmp_root, monkeypatch):
    """The README's two commands work for a user with sudo, whose PATH
    has no /usr/sbin: the stack finds its programs there itself.  The
    PATH is this one without its sbin directories, so a wrapper put first
    on it (make module-asan's apache2) still applies."""
    without_sbin = [d for d in os.environ["PATH"].split(os.pathsep)
                    if os.path.basename(d.rstrip("/")) != "sbin"]
    monkeypatch.setenv("PATH", os.pathsep.join(without_sbin))
    s = make_stack(os.path.join(tmp_root, "userpath"))
    s.start()
    try:
        ans = request(s, "GET", "/api/health")
        assert ans.status == 200, ans
        assert ans.json["data"]["events"] == "up", ans
        assert s.config_test("").returncode == 0
    finally:
        s.stop()


class MakeRun:
    """`scripts/stack.py run` as `make run` starts it, for a user whose PATH
    has no /usr/sbin; its console is collected in output, from a thread
    (the console must be read on, or the parts' logs would block it)."""

    def __init__(self, state, **env):
        self.state = state
        self.port = free_port()
        self.output = []
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(CHECKOUT, "scripts", "stack.py"),
             "run"],
            env=dict(os.environ, PATH=USER_PATH, PORT=str(self.port),
                     TIMING_STATE_DIR=state, **env),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line)

    @property
    def text(self):
        return "".join(self.output)

    def wait_for(self, words, timeout=90):
        deadline = time.monotonic() + timeout
        while words not in self.text:
            assert self.proc.poll() is None or words in self.text, \
                "exited with %s:\n%s" % (self.proc.returncode, self.text)
            assert time.monotonic() < deadline, self.text
            time.sleep(0.1)

    def pids(self):
        with open(os.path.join(self.state, "run.pids")) as f:
            return f.read().split()

    def ctrl_c(self):
        """SIGINT to the process group, as a terminal sends it; the exit
        status."""
        pids = self.pids()
        os.killpg(self.proc.pid, signal.SIGINT)
        status = self.proc.wait(90)
        self.reader.join(10)
        for pid in pids:
            assert not os.path.exists("/proc/" + pid), "left running: " + pid
        return status

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def eventd_pid(run_dir):
    """The pid of the timing-eventd serving run_dir's sockets, or None."""
    ws = os.path.join(run_dir, "ws.sock").encode()
    for name in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"timing-eventd") and ws in argv:
            return int(name)
    return None


def accepts(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


ORDER = {"customer_info": {"name": "Somchai"},
         "items": [{"menu_id": 1, "quantity": 2}]}


def test_make_run_keeps_the_shop_open_when_the_daemon_dies(tmp_root):
    """kill -9 of timing-eventd while orders come in: `make run` starts it
    again (saying so on its console) and leaves Apache and MariaDB up, so
    every order is taken; the daemon is back, sockets and all."""
    run = MakeRun(os.path.join(tmp_root, "makerun-kill"))
    shop = types.SimpleNamespace(port=run.port)
    run_dir = stackmod.run_dir_for(run.state)
    ws_socket = os.path.join(run_dir, "ws.sock")
    try:
        run.wait_for("Ctrl-C stops everything")
        first = eventd_pid(run_dir)
        assert first, run.text
        answers = []            # (status, the daemon's pid before the POST)
        killed = threading.Event()
        done = threading.Event()

        def place_orders():
            while not done.is_set() and len(answers) < 25:
                pid = eventd_pid(run_dir)
                answers.append((request(shop, "POST", "/api/orders",
                                        body=ORDER).status, pid))
                if len(answers) == 3:
                    os.kill(first, signal.SIGKILL)
                    killed.set()
                time.sleep(0.1)

        poster = threading.Thread(target=place_orders)
        poster.start()
        try:
            assert killed.wait(30), answers
            deadline = time.monotonic() + 30
            while True:
                again = eventd_pid(run_dir)
                health = request(shop, "GET", "/api/health")
                if (again not in (None, first) and accepts(ws_socket)
                        and health.status == 200
                        and health.json["data"]["events"] == "up"):
                    break
                assert time.monotonic() < deadline, (answers, run.text)
                time.sleep(0.2)
            time.sleep(0.5)     # a few orders more with the daemon back
        finally:
            done.set()
            poster.join(30)
        assert [s for s, _ in answers] == [201] * len(answers), answers
        assert None in [pid for _, pid in answers[3:]], \
            "no order was placed while the daemon was down: %s" % answers
        assert answers[-1][1] == again, answers
        assert "eventd died (killed by SIGKILL)" in run.text, run.text
        assert "eventd is back (pid %d)" % again in run.text, run.text
        assert str(again) in run.pids()
        assert run.ctrl_c() == 0, run.text
        assert "timing: stopped" in run.text
    finally:
        run.close()


@pytest.mark.parametrize("part", ["apache", "mariadb"])
def test_make_run_restarts_apache_and_mariadb_too(tmp_root, part):
    """Rarer, but an operator expects the same: Apache's parent or
    MariaDB killed, started again, and the shop answers as before."""
    run = MakeRun(os.path.join(tmp_root, "makerun-" + part))
    shop = types.SimpleNamespace(port=run.port)
    try:
        run.wait_for("Ctrl-C stops everything")
        pid = dict(zip(("mariadb", "eventd", "apache"), run.pids()))[part]
        os.kill(int(pid), signal.SIGKILL)
        run.wait_for("%s is back" % part, timeout=60)
        deadline = time.monotonic() + 30
        while request(shop, "POST", "/api/orders", body=ORDER).status != 201:
            assert time.monotonic() < deadline, run.text
            time.sleep(0.2)
        health = request(shop, "GET", "/api/health")
        assert health.json["data"] == {"status": "ok", "db": "up",
                                       "events": "up"}, health
        assert pid not in run.pids()
        assert run.ctrl_c() == 0, run.text
    finally:
        run.close()


def test_make_run_gives_up_on_a_part_that_keeps_dying(tmp_root):
    """A daemon that cannot start again (its secret now readable by every
    user, which it refuses) is tried RESTART_BURST times with a growing
    delay, then `make run` stops everything and fails."""
    run = MakeRun(os.path.join(tmp_root, "makerun-limit"))
    run_dir = stackmod.run_dir_for(run.state)
    try:
        run.wait_for("Ctrl-C stops everything")
        pids = run.pids()
        os.chmod(os.path.join(run.state, "secrets", "eventd.secret"), 0o644)
        os.kill(eventd_pid(run_dir), signal.SIGKILL)
        assert run.proc.wait(90) == 1, run.text
        run.reader.join(10)
        assert run.text.count("starting eventd again") == \
            stackmod.RESTART_BURST, run.text
        assert "so it is not restarted again" in run.text, run.text
        assert "timing: stopped" not in run.text
        for pid in pids:
            assert not os.path.exists("/proc/" + pid), "left running: " + pid
    finally:
        run.close()


def test_make_run_serves_and_stops_on_ctrl_c(tmp_root):
    """`scripts/stack.py run` as `make run` starts it: prints the admin
    account, serves the API, and stops every part on SIGINT."""
    state = os.path.join(tmp_root, "makerun")
    port = free_port()
    env = dict(os.environ, PORT=str(port), TIMING_STATE_DIR=state,
               TIMING_ADMIN_EMAIL="boss@example.com",
               TIMING_ADMIN_PASSWORD="correct horse battery")
    proc = subprocess.Popen([sys.executable,
                             os.path.join(CHECKOUT, "scripts", "stack.py"),
                             "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    output = []
    try:
        deadline = time.monotonic() + 90
        for line in proc.stdout:
            output.append(line)
            if "Ctrl-C stops everything" in line:
                break
            assert time.monotonic() < deadline, "".join(output)
        text = "".join(output)
        assert "boss@example.com" in text, text
        assert "correct horse battery" in text
        body = urllib.request.urlopen(
            "http://127.0.0.1:%d/api/health" % port, timeout=10).read()
        assert b'"db":"up"' in body
        pids = [p for p in open(os.path.join(state, "run.pids")).read().split()]
        os.killpg(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
        assert proc.returncode == 0, text + rest
        assert "stopped" in rest
        for pid in pids:
            assert not os.path.exists("/proc/" + pid), "left running: " + pid
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
