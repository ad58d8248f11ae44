# SPDX-License-Identifier: Apache-2.0
"""Runs a Node test script against a real stack.

The script reaches the stack over HTTP like any client.  When it needs
the harness to act on the stack (restart the daemon, reload Apache), it
writes one line `@control <command>` to stdout and reads one answer line
from stdin: `ok` or `error <why>` (tests/node/control.mjs does this)."""

import os
import selectors
import subprocess
import time

from conftest import CHECKOUT

NODE_DIR = os.path.join(CHECKOUT, "tests", "node")
SCREENSHOTS = os.path.join(CHECKOUT, "build", "screenshots")


def _commands(stack):
    def restart_eventd():
        stack.stop_eventd()
        stack.start_eventd()
    return {
        "kill-eventd": stack.kill_eventd,
        "stop-eventd": stack.stop_eventd,
        "start-eventd": stack.start_eventd,
        "restart-eventd": restart_eventd,
        "graceful": stack.apache_graceful,
    }


def run_node(stack, script, args=(), env=None, timeout=240):
    """Runs tests/node/<script>; returns (returncode, output).  Fails the
    calling test on a hang: the timeout only catches those."""
    commands = _commands(stack)
    full_env = dict(os.environ)
    full_env.update({
        "TIMING_BASE_URL": stack.base_url,
        "TIMING_ADMIN_EMAIL": stack.admin_email,
        "TIMING_ADMIN_PASSWORD": stack.admin_password,
        "TIMING_SCREENSHOTS": SCREENSHOTS,
    })
    full_env.update(env or {})
    os.makedirs(SCREENSHOTS, exist_ok=True)
    proc = subprocess.Popen(["node", os.path.join(NODE_DIR, script), *args],
                            cwd=NODE_DIR, env=full_env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = []
    deadline = time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    pending = b""

    def handle(line):
        if line.startswith("@control "):
            cmd = line[len("@control "):].strip()
            try:
                commands[cmd]()
                answer = "ok"
            except Exception as e:  # told to the script, which fails
                answer = "error %s: %s" % (cmd, e)
            output.append("[harness] %s -> %s\n" % (cmd, answer))
            proc.stdin.write((answer + "\n").encode())
            proc.stdin.flush()
        else:
            output.append(line)

    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("node %s hung; output:\n%s"
                                     % (script, "".join(output)))
            if not sel.select(timeout=min(left, 1.0)):
                continue
            # Raw reads, split here: a buffered readline() could keep a
            # control line in its buffer while select() waits for more.
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                if pending:
                    output.append(pending.decode(errors="replace"))
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                handle(raw.decode(errors="replace") + "\n")
        rc = proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sel.close()
    return rc, "".join(output)
