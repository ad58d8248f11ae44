# SPDX-License-Identifier: Apache-2.0
"""timing-eventd believes only what mod_timing sealed.

Socket permissions let every process of the web server's user (a PHP-FPM
pool, a CGI script) reach the daemon's sockets; the daemon must still
believe nothing from them.  A process of Apache's user that does not know
the seal's secret -- it cannot read it, nor the JWT key -- connects to
every daemon socket and tries what it could gain: the staff channel on
the WebSocket socket (with no seal and with a made-up one), and on the
events socket a forged order event, a revocation and a generation change
(which would close a live staff socket), and a stats request; in the
sealed format and in the old unsealed one.  It must get nothing back: no
byte on the WebSocket socket, no answer on the events socket; the staff
socket that is open meanwhile receives nothing forged and stays open; the
daemon counts what it dropped and logs it without the contents."""

import json
import os
import pwd
import subprocess
import time

import pytest

from client import (admin_login, auth, place_order, request, run, ws_next,
                    ws_open)
from conftest import running_stack
import stack as stackmod

MARKER = "forged-by-a-neighbour"

ATTACK = r"""
import base64, json, os, socket, struct, sys, time
ws_path, ev_path, marker = sys.argv[1], sys.argv[2], sys.argv[3]
secrets = sys.argv[4:]
out = {"read": {}, "ws": [], "events": []}
for path in secrets:
    try:
        open(path, "rb").read()
        out["read"][path] = "read"
    except OSError as e:
        out["read"][path] = e.__class__.__name__

def upgrade(extra):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(ws_path)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /admin HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n%s\r\n" % (key, extra)).encode())
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        got += b"<still open after 3 s>"
    s.close()
    return got.decode("latin-1")

forged = ("X-Timing-Channel: admin\r\nX-Timing-Role: admin\r\n"
          "X-Timing-User: 1\r\nX-Timing-Epoch: e\r\n"
          "X-Timing-Client: 127.0.0.1\r\nX-Timing-Limits: 9 0 0 0\r\n"
          "X-Timing-Sent: %d\r\n" % int(time.time() * 1000))
out["ws"].append(upgrade(forged))
out["ws"].append(upgrade(forged + "X-Timing-Seal: " + "ab" * 32 + "\r\n"))
out["ws"].append(upgrade("hello: world\r\n"))

d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
d.bind("")                      # autobind: an address to answer to
d.connect(ev_path)
now = int(time.time() * 1000)
event = json.dumps({"epoch": "e", "event_id": 999999, "order_id": 1,
                    "type": "newOrder", "failed_sends": 0,
                    "staff": {"type": "newOrder", "event_id": 999999,
                              "order": {"id": 1, "note": marker}}}).encode()
bodies = [(1, event), (5, b'{"user_id":"1"}'),
          (4, b'{"generation":999999999999999}'), (2, b"")]
for kind, body in bodies:
    # the sealed format with a made-up seal, and the old unsealed one
    d.send(struct.pack("!IHHIII", 0x544d4e31, 2, kind, len(body),
                       now >> 32, now & 0xffffffff) + body + os.urandom(32))
    d.send(struct.pack("!IHHI", 0x544d4e31, 1, kind, len(body)) + body)
d.settimeout(1.5)
try:
    while True:
        out["events"].append(d.recv(65536).hex())
except socket.timeout:
    pass
print(json.dumps(out))
"""


def attack(stack):
    """Runs the attack as Apache's user (when root can switch to it), in a
    process that was never given the secrets."""
    argv = ["/usr/bin/python3", "-c", ATTACK, stack.ws_socket,
            stack.event_socket, MARKER, stack.eventd_secret_file,
            os.path.join(stack.secrets_dir, "jwt.secret")]
    if os.geteuid() == 0:
        argv = [stackmod.program("runuser"), "-u",
                stackmod.apache_user()[0], "--"] + argv
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def sealed(tmp_root):
    with running_stack(tmp_root, "sealed") as s:
        yield s


def test_a_neighbour_without_the_secret_gets_nothing(sealed):
    token = admin_login(sealed)
    staff_id = json.loads(__import__("base64").urlsafe_b64decode(
        token.split(".")[1] + "==="))["sub"]
    assert staff_id == "1"      # the forged revocation names this user
    before = request(sealed, "GET", "/api/admin/websocket/stats",
                     headers=auth(token)).json["data"]

    async def scenario():
        ws = await ws_open(sealed, "/admin",
                           subprotocols=["timing.v1", "bearer." + token])
        try:
            hello = await ws_next(ws)
            got = await __import__("asyncio").to_thread(attack, sealed)
            forged = []
            try:
                while True:
                    forged.append(await ws_next(ws, timeout=2))
            except Exception:
                pass
            order = place_order(sealed, "จริง")
            real = await ws_next(ws)
            return hello, got, forged, real, order["id"]
        finally:
            await ws.close()

    hello, got, forged, real, order_id = run(scenario())
    assert hello["type"] == "connection"
    if os.geteuid() == 0:
        # Apache's user cannot read either secret: root's, read by
        # Apache's parent before it drops privileges.
        assert set(got["read"].values()) == {"PermissionError"}, got["read"]
    assert got["ws"] == [""] * 3, got["ws"]          # not a byte back
    assert got["events"] == [], got["events"]        # no stats answer
    # Nothing forged reached the staff socket, which stayed open and
    # still gets the real order.
    assert forged == [], forged
    assert real["type"] == "newOrder" and real["order"]["id"] == order_id
    after = request(sealed, "GET", "/api/admin/websocket/stats",
                    headers=auth(token)).json["data"]
    # 3 upgrades and 4 datagrams in the sealed format did not verify; the
    # 4 in the old format are not even that protocol.
    assert after["unverified"] - before["unverified"] == 7, after
    assert after["revoked"] == before["revoked"]
    assert after["recycled"] == before["recycled"]
    metrics = request(sealed, "GET", "/api/admin/metrics",
                      headers=auth(token)).body.decode()
    line = [l for l in metrics.splitlines()
            if l.startswith("timing_eventd_unverified_total ")]
    assert line and float(line[0].split()[1]) >= 7, line
    with open(sealed.log_path("eventd")) as f:
        log = f.read()
    assert "seal does not verify" in log
    assert MARKER not in log


def test_apache_refuses_to_start_without_the_daemon_secret(tmp_root):
    from conftest import free_port
    s = stackmod.Stack(os.path.join(tmp_root, "nosecret", "state"),
                       os.path.join(tmp_root, "nosecret", "run"), free_port())
    s._prepare_dirs()
    s.dbd_params = "sock=/nonexistent,user=x,pass=y,dbname=z"
    s.write_httpd_conf()
    with open(s.httpd_conf) as f:
        conf = f.read()
    with open(s.httpd_conf, "w") as f:
        f.write(conf.replace("TimingEventdSecretFile", "#"))
    # The check runs at start (post-config), as the JWT secret's does.
    res = subprocess.run(s.apache_argv("-DFOREGROUND"), capture_output=True,
                         text=True, timeout=30)
    assert res.returncode != 0
    with open(s.log_path("apache")) as f:
        log = f.read()
    assert "TimingEventdSecretFile is not set" in log, log


def test_the_daemon_will_not_start_without_a_secret_of_its_own(tmp_root):
    """No secret, one every user may read, or one too short: it says why
    and exits, before it listens."""
    from conftest import ASAN_EVENTD
    tmp = os.path.join(tmp_root, "daemon-secret")
    os.makedirs(tmp)

    def start(*extra, env=None):
        return subprocess.run(
            [ASAN_EVENTD, "--ws-socket", os.path.join(tmp, "ws.sock"),
             "--event-socket", os.path.join(tmp, "ev.sock"), *extra],
            capture_output=True, text=True, timeout=30,
            env=dict(env or os.environ, CREDENTIALS_DIRECTORY=""))

    def secret(name, text, mode):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    res = start()
    assert res.returncode == 2 and "no --secret-file" in res.stderr
    res = start("--secret-file", secret("open", "x" * 64, 0o644))
    assert res.returncode == 2 and "readable by every user" in res.stderr
    res = start("--secret-file", secret("short", "x" * 31 + "\n", 0o600))
    assert res.returncode == 2 and "32 to 4096 bytes" in res.stderr
    res = start("--secret-file", os.path.join(tmp, "missing"))
    assert res.returncode == 2 and "cannot read" in res.stderr
    assert not os.path.exists(os.path.join(tmp, "ws.sock"))
