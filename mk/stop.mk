# SPDX-License-Identifier: Apache-2.0
# `make stop-loop`: tests/integration/test_stop.py with 150 stops of
# Apache under load instead of make test's 8.  The crash it guards against
# (a child of the event MPM dying of SIGSEGV at a hard stop, issue 15)
# came about once in 30 hard stops here, so 150 would miss it in fewer
# than one run in 100.  About 4 minutes.
STOP_CYCLES ?= 150

.PHONY: stop-loop
stop-loop: deps build web
	@mkdir -p $(BUILD)/results
	TIMING_STOP_CYCLES=$(STOP_CYCLES) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider tests/integration/test_stop.py \
	    --junitxml=$(BUILD)/results/stop-loop.xml
