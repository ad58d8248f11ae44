"""pytest plugin for `make module-asan`: the integration tests with Apache
loading an AddressSanitizer/UBSan build of mod_timing.

Apache itself is not built with ASan, so the sanitizer's runtime is
preloaded into apache2 (LD_PRELOAD) -- for `apache2 -t` and the server
alike, as both load the module.  Reports go to files under
TIMING_ASAN_LOG_DIR (Apache's children run as www-data, so the directory
is world-writable), and the session fails if any appear.  Leak checking
is off: Apache frees its pools by exiting, not one by one."""

import glob
import os

import pytest

import stack as stackmod

MODULE = os.environ["TIMING_ASAN_MODULE"]
RUNTIME = os.environ["TIMING_ASAN_RUNTIME"]
LOG_DIR = os.environ["TIMING_ASAN_LOG_DIR"]

_plain_init = stackmod.Stack.__init__
_plain_argv = stackmod.Stack.apache_argv


def _init(self, *args, **kw):
    _plain_init(self, *args, **kw)
    self.module_so = MODULE


def _argv(self, *extra):
    return ["env", "LD_PRELOAD=" + RUNTIME,
            "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path="
            + os.path.join(LOG_DIR, "asan"),
            "UBSAN_OPTIONS=print_stacktrace=1:log_path="
            + os.path.join(LOG_DIR, "ubsan")] + _plain_argv(self, *extra)


_plain_start = stackmod.Stack.start_apache


def _start(self):
    # Proof that the run means something: Apache has mapped the
    # sanitizer's runtime and this build of the module.
    _plain_start(self)
    with open("/proc/%d/maps" % self.procs["apache"].pid) as f:
        maps = f.read()
    assert MODULE in maps and "libasan" in maps, \
        "Apache did not load the ASan build of mod_timing"


stackmod.Stack.__init__ = _init
stackmod.Stack.apache_argv = _argv
stackmod.Stack.start_apache = _start


def pytest_sessionfinish(session, exitstatus):
    reports = sorted(glob.glob(os.path.join(LOG_DIR, "*san.*")))
    for path in reports:
        with open(path, errors="replace") as f:
            print("\n==== %s\n%s" % (path, f.read()))
    if reports:
        print("module-asan: %d sanitizer report(s) from Apache" % len(reports))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
