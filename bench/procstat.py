# SPDX-License-Identifier: Apache-2.0
"""procstat.py -- what the benches read of running processes: resident
memory, CPU time, and a server's processes (Apache's, nginx's)."""

import os
import re
import subprocess


def rss_kib(pids):
    """Resident memory of pids together, in KiB."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                total += int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            pass
    return total


def memory_kib(pids):
    """Of pids together, in KiB: resident memory (rss) and its parts
    (anon, file, shmem: shared memory a process has touched, counted in
    each process that touched it), and pss (proportional: a page shared
    by k processes counts 1/k in each, so the sum counts it once)."""
    keys = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file",
            "RssShmem": "shmem"}
    total = dict.fromkeys(list(keys.values()) + ["pss"], 0)
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for m in re.finditer(r"^(\w+):\s+(\d+) kB", f.read(), re.M):
                    if m.group(1) in keys:
                        total[keys[m.group(1)]] += int(m.group(2))
            with open("/proc/%d/smaps_rollup" % pid) as f:
                m = re.search(r"^Pss:\s+(\d+) kB", f.read(), re.M)
                total["pss"] += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def cpu_seconds(pids):
    """User plus system CPU time of pids together, in seconds."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def group_pids(leader):
    """The processes of the process group leader leads (a server's master
    started in a session of its own, and its children)."""
    out = subprocess.run(["pgrep", "-g", str(leader)],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def apache_pids(stack):
    """The stack's Apache master and children (one process group)."""
    return group_pids(stack.procs["apache"].pid)


def box_busy_seconds():
    """CPU time all the machine's cores spent busy since boot (not idle,
    not waiting for I/O), in seconds: against the processes the bench
    knows, what else ran meanwhile."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is in user)
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf(
        "SC_CLK_TCK")


def rss_parts(pids, stack_kib=8192):
    """Of pids together, the resident memory of their mappings by kind, in
    KiB: stacks (anonymous mappings of stack_kib, the size a thread's
    stack is given), heap (the other anonymous memory: malloc's arenas
    and [heap], APR's pools), shmem and file."""
    total = dict.fromkeys(("stacks", "heap", "shmem", "file"), 0)
    head = re.compile(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$")
    for pid in pids:
        try:
            with open("/proc/%d/smaps" % pid) as f:
                text = f.read()
        except OSError:
            continue
        kind = None
        for line in text.splitlines():
            m = head.match(line)
            if m:
                inode, name = int(m.group(1)), m.group(2)
                kind = ("file" if inode and not name.startswith("/SYSV")
                        else "shmem" if inode or name.startswith("/dev/zero")
                        else None)
                size = None
                continue
            if line.startswith("Size:"):
                size = int(line.split()[1])
                if kind is None:
                    kind = "stacks" if size == stack_kib else "heap"
            elif line.startswith("Rss:"):
                total[kind] += int(line.split()[1])
    return total
