#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""summary.py -- the last line of `make test`: "N passed, N failed" over the
unit tests (CUnit's counts) and the integration tests (pytest's JUnit XML).
A tier whose results are missing counts as one failure: it did not run."""

import os
import sys
import xml.etree.ElementTree as ET


def unit_counts(path):
    with open(path) as f:
        words = f.read().split()
    return int(words[1]), int(words[3])


def junit_counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    passed = failed = 0
    for s in suites:
        total = int(s.get("tests", 0))
        bad = int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped = int(s.get("skipped", 0))
        passed += total - bad - skipped
        failed += bad + skipped       # a skipped test is not a pass
    return passed, failed


def main(results):
    passed = failed = 0
    for name, reader in (("unit.txt", unit_counts),
                         ("fuzz-regress.txt", unit_counts),
                         ("integration.xml", junit_counts)):
        path = os.path.join(results, name)
        try:
            p, f = reader(path)
        except (OSError, ValueError, IndexError, ET.ParseError):
            print("summary: no results in %s" % path, file=sys.stderr)
            p, f = 0, 1
        passed += p
        failed += f
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
