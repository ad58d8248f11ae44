# SPDX-License-Identifier: Apache-2.0
"""pytest plugin for `make module-asan`: the integration tests with Apache
loading an AddressSanitizer/UBSan build of mod_timing.

Apache itself is not built with ASan, so the sanitizer's runtime must be
preloaded into apache2 wherever it loads the module: the stacks, their
`apache2 -t`, and the tests that run apache2 themselves.  An `apache2`
wrapper put first on PATH does that for all of them.  Reports go to files
under TIMING_ASAN_LOG_DIR (Apache's children run as www-data, so the
directory is world-writable), and the session fails if any appear.  Leak
checking is off: Apache frees its pools by exiting, not one by one."""

import glob
import os

import pytest

import stack as stackmod

MODULE = os.environ["TIMING_ASAN_MODULE"]
RUNTIME = os.environ["TIMING_ASAN_RUNTIME"]
LOG_DIR = os.environ["TIMING_ASAN_LOG_DIR"]


def _install_wrapper():
    real = stackmod.program("apache2")
    bindir = os.path.join(LOG_DIR, "bin")
    os.makedirs(bindir, exist_ok=True)
    wrapper = os.path.join(bindir, "apache2")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n"
                "LD_PRELOAD=%s \\\n"
                "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=%s \\\n"
                "UBSAN_OPTIONS=print_stacktrace=1:log_path=%s \\\n"
                'exec %s "$@"\n'
                % (RUNTIME, os.path.join(LOG_DIR, "asan"),
                   os.path.join(LOG_DIR, "ubsan"), real))
    os.chmod(wrapper, 0o755)
    os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]


_plain_init = stackmod.Stack.__init__
_plain_start = stackmod.Stack.start_apache


def _init(self, *args, **kw):
    _plain_init(self, *args, **kw)
    self.module_so = MODULE


def _start(self):
    # Proof that the run means something: Apache has mapped the
    # sanitizer's runtime and this build of the module.
    _plain_start(self)
    with open("/proc/%d/maps" % self.procs["apache"].pid) as f:
        maps = f.read()
    assert MODULE in maps and "libasan" in maps, \
        "Apache did not load the ASan build of mod_timing"


_install_wrapper()
stackmod.Stack.__init__ = _init
stackmod.Stack.start_apache = _start


def pytest_sessionfinish(session, exitstatus):
    reports = sorted(glob.glob(os.path.join(LOG_DIR, "*san.*")))
    for path in reports:
        with open(path, errors="replace") as f:
            print("\n==== %s\n%s" % (path, f.read()))
    if reports:
        print("module-asan: %d sanitizer report(s) from Apache" % len(reports))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
