# SPDX-License-Identifier: Apache-2.0
"""The first three fault drills of tests/drills run in `make test` too
(about 20 s each on their own stacks): timing-eventd killed with SIGKILL,
MariaDB stopped and started, Apache's graceful restart, each under a load
of orders and status changes with staff and customer sockets open.
`make drills` runs them with the slow-consumer and churn drills."""

import os
import sys

import conftest

# drill_lib imports the integration fixtures under this name.
sys.modules.setdefault("integration_conftest", conftest)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "drills"))

from test_drill_1_eventd_kill import \
    test_daemon_killed_and_restarted_under_load  # noqa: E402
from test_drill_2_database import \
    test_database_stopped_and_started_under_load  # noqa: E402
from test_drill_3_graceful import \
    test_graceful_restart_under_load  # noqa: E402

__all__ = ["test_daemon_killed_and_restarted_under_load",
           "test_database_stopped_and_started_under_load",
           "test_graceful_restart_under_load"]
