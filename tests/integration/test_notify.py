# SPDX-License-Identifier: Apache-2.0
"""timing-eventd tells systemd (Type=notify) it is ready only once both
sockets listen, and that it is stopping when SIGTERM arrives: one datagram
each on $NOTIFY_SOCKET, path or abstract address."""

import os
import signal
import socket
import subprocess
import tempfile

from conftest import ASAN_EVENTD


def credentials(tmp):
    """The seal's secret as systemd's LoadCredential= hands it over: a
    directory for $CREDENTIALS_DIRECTORY."""
    creds = os.path.join(tmp, "credentials")
    os.makedirs(creds, mode=0o700)
    fd = os.open(os.path.join(creds, "eventd.secret"),
                 os.O_WRONLY | os.O_CREAT, 0o400)
    os.write(fd, os.urandom(24).hex().encode() + b"\n")
    os.close(fd)
    return creds


def run_with_notify(tmp, address, bind_to):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(bind_to)
    listener.settimeout(30)
    ws = os.path.join(tmp, "ws.sock")
    ev = os.path.join(tmp, "events.sock")
    env = dict(os.environ, NOTIFY_SOCKET=address,
               CREDENTIALS_DIRECTORY=credentials(tmp))
    proc = subprocess.Popen([ASAN_EVENTD, "--ws-socket", ws,
                             "--event-socket", ev],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        ready = listener.recv(4096).decode()
        # Both sockets answer by the time READY=1 is sent.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect(ws)
        assert os.path.exists(ev)
        proc.send_signal(signal.SIGTERM)
        stopping = listener.recv(4096).decode()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        listener.close()
    return ready, stopping, proc.stderr.read()


def test_ready_then_stopping_on_a_path_socket():
    with tempfile.TemporaryDirectory(prefix="timing-notify-",
                                     dir="/tmp") as tmp:
        path = os.path.join(tmp, "notify.sock")
        ready, stopping, log = run_with_notify(tmp, path, path)
    assert ready == "READY=1"
    assert stopping == "STOPPING=1"
    assert "cannot notify" not in log


def test_abstract_socket_address():
    name = "timing-notify-test-%d" % os.getpid()
    with tempfile.TemporaryDirectory(prefix="timing-notify-",
                                     dir="/tmp") as tmp:
        ready, stopping, _ = run_with_notify(tmp, "@" + name, "\0" + name)
    assert (ready, stopping) == ("READY=1", "STOPPING=1")


def test_unusable_address_is_logged_and_the_daemon_runs_on():
    with tempfile.TemporaryDirectory(prefix="timing-notify-",
                                     dir="/tmp") as tmp:
        ws = os.path.join(tmp, "ws.sock")
        env = dict(os.environ, NOTIFY_SOCKET="relative/notify.sock",
                   CREDENTIALS_DIRECTORY=credentials(tmp))
        proc = subprocess.Popen([ASAN_EVENTD, "--ws-socket", ws,
                                 "--event-socket",
                                 os.path.join(tmp, "ev.sock")],
                                env=env, stderr=subprocess.PIPE, text=True)
        try:
            log = ""
            while not log.endswith("ready\n"):
                line = proc.stderr.readline()
                assert line, "the daemon exited before it was ready: " + log
                log += line
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                c.connect(ws)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
            log += proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert "NOTIFY_SOCKET is not a usable socket address" in log
