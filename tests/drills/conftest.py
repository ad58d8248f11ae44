# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the fault drills: the integration tests' stack helpers
(loaded under another module name, since this file is also a conftest),
and one results file, build/results/drills.txt, started afresh per run."""

import importlib.util
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
sys.path.insert(0, INTEGRATION)
sys.path.insert(0, HERE)

_spec = importlib.util.spec_from_file_location(
    "integration_conftest", os.path.join(INTEGRATION, "conftest.py"))
it = importlib.util.module_from_spec(_spec)
sys.modules["integration_conftest"] = it
_spec.loader.exec_module(it)

tmp_root = it.tmp_root          # the session's temporary directory
# Every drill runs on both WebSocket paths: handed off, then tunnelled.
ws_path = it.ws_path

import drill_lib  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def figures_file():
    os.makedirs(os.path.dirname(drill_lib.FIGURES), exist_ok=True)
    with open(drill_lib.FIGURES, "w") as f:
        f.write("# Fault drills (tests/drills): figures of the last run\n")
    yield drill_lib.FIGURES
