# SPDX-License-Identifier: Apache-2.0
# Timing -- build, run and test.  `make run` and `make test` are the two
# commands; everything they need comes from `make deps` (Debian packages).

PYTHON  ?= /usr/bin/python3
APXS    ?= apxs
CC      ?= gcc
PORT    ?= 8000
BUILD   := build

WARN    := -Wall -Wextra -Werror
CSTD    := -std=gnu11
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=all
# Recursive on purpose: expanded when a recipe runs, after `deps`.
APR_CFLAGS = $(shell pkg-config --cflags apr-1 apr-util-1)
APR_LIBS   = $(shell pkg-config --libs apr-1 apr-util-1)
JSON_CFLAGS = $(shell pkg-config --cflags json-c)

# loop_epoll.c is the loop's backend, compiled inside loop.c.
EVENTD_SRC  := $(sort $(filter-out timing-eventd/loop_epoll.c,\
                 $(wildcard timing-eventd/*.c)))
EVENTD_HDR  := $(wildcard timing-eventd/*.h) timing-eventd/loop_epoll.c \
               include/timing_proto.h
EVENTD_LIBS  = -lwslay -ljson-c -lcrypto $(APR_LIBS)

MODULE_SRC  := $(sort $(wildcard mod_timing/*.c))
MODULE_HDR  := $(wildcard mod_timing/*.h) include/timing_proto.h
MODULE_SO   := mod_timing/.libs/mod_timing.so

# Pure logic (no httpd.h, no event loop) that the CUnit tests link directly.
UNIT_PURE   := $(wildcard mod_timing/tm_valid.c mod_timing/tm_time.c \
                 mod_timing/tm_status.c mod_timing/tm_mask.c \
                 mod_timing/tm_money.c mod_timing/tm_query.c \
                 mod_timing/tm_addr.c mod_timing/tm_body.c \
                 mod_timing/tm_canon.c mod_timing/tm_access.c \
                 timing-eventd/handshake.c timing-eventd/hub.c \
                 timing-eventd/messages.c timing-eventd/ring.c \
                 timing-eventd/gapwatch.c timing-eventd/recycle.c \
                 timing-eventd/admit.c timing-eventd/ws_resume.c \
                 timing-eventd/ws_frame.c)
UNIT_SRC    := $(sort $(wildcard tests/unit/*.c))

.PHONY: all deps build module eventd web run test unit integration bench clean

all: build

deps:
	@scripts/deps.sh

build: module eventd

module: $(MODULE_SO)
eventd: $(BUILD)/timing-eventd $(BUILD)/asan/timing-eventd

$(MODULE_SO): $(MODULE_SRC) $(MODULE_HDR)
	cd mod_timing && $(APXS) -c -o mod_timing.la \
	    -Wc,-std=gnu11 -Wc,-Wall -Wc,-Wextra -Wc,-Werror \
	    -Wc,-I../include -Wc,"$(JSON_CFLAGS)" \
	    $(notdir $(MODULE_SRC)) -ljson-c -ljwt -lcrypto >build.log 2>&1 \
	    || { cat build.log; rm -f build.log; exit 1; }; rm -f build.log

$(BUILD)/timing-eventd: $(EVENTD_SRC) $(EVENTD_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -O2 -g $(WARN) -Iinclude $(APR_CFLAGS) $(JSON_CFLAGS) \
	    -o $@ $(EVENTD_SRC) $(EVENTD_LIBS)

# The integration tests run this sanitized build of the daemon.
$(BUILD)/asan/timing-eventd: $(EVENTD_SRC) $(EVENTD_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -O1 -g $(WARN) $(SAN) -Iinclude $(APR_CFLAGS) $(JSON_CFLAGS) \
	    -o $@ $(EVENTD_SRC) $(EVENTD_LIBS)

$(BUILD)/unit-tests: $(UNIT_SRC) $(UNIT_PURE) $(wildcard tests/unit/*.h) \
                     $(MODULE_HDR) $(EVENTD_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -O1 -g $(WARN) $(SAN) -Imod_timing -Itiming-eventd -Iinclude \
	    $(APR_CFLAGS) $(JSON_CFLAGS) -o $@ $(UNIT_SRC) $(UNIT_PURE) \
	    -lcunit -lwslay -ljson-c -lcrypto $(APR_LIBS)

# `make web`: what /api-docs/ serves beside openapi.json (Swagger UI from
# npm into web/api-docs/vendor/, the Postman collection); not kept in git.
web: deps
	@scripts/build-web.sh

# `make run`: the whole stack on http://localhost:$(PORT), in the foreground.
run: deps build web
	@PORT=$(PORT) $(PYTHON) scripts/stack.py run

unit: deps $(BUILD)/unit-tests
	@mkdir -p $(BUILD)/results
	$(BUILD)/unit-tests $(BUILD)/results/unit.txt

# INTEGRATION_TESTS picks a slice (files or node ids), as .ci/as-user does.
INTEGRATION_TESTS ?= tests/integration
integration: deps build web
	@mkdir -p $(BUILD)/results
	$(PYTHON) -m pytest -q -p no:cacheprovider $(INTEGRATION_TESTS) \
	    --junitxml=$(BUILD)/results/integration.xml

# `make test`: units under ASan/UBSan, every fuzzing seed and regression
# once through its harness, then the real stack; ends with a line
# "N passed, N failed" over all three.
test: deps build web $(BUILD)/unit-tests
	@rm -rf $(BUILD)/results && mkdir -p $(BUILD)/results
	@rc=0; \
	$(BUILD)/unit-tests $(BUILD)/results/unit.txt || rc=1; \
	$(MAKE) -s fuzz-regress \
	    FUZZ_REGRESS_OUT=$(BUILD)/results/fuzz-regress.txt || rc=1; \
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration \
	    --junitxml=$(BUILD)/results/integration.xml || rc=1; \
	$(PYTHON) scripts/summary.py $(BUILD)/results || rc=1; \
	exit $$rc

# Figures, not assertions: throughput and latency beside a static-file
# baseline, and memory per WebSocket; WebSocket fan-out beside nginx +
# nchan (its rows need `make bench-deps`, mk/bench.mk) and over TLS.
bench: deps build
	$(PYTHON) bench/run.py
	$(PYTHON) bench/fanout.py
	$(PYTHON) bench/tunnel_floor.py

clean:
	rm -rf $(BUILD) mod_timing/.libs mod_timing/*.la mod_timing/*.lo \
	    mod_timing/*.slo mod_timing/*.o \
	    web/api-docs/vendor web/api-docs/timing.postman_collection.json

# The longer tiers (drills, fuzzing, lint, packaging) keep their rules in
# mk/*.mk; .ci/run runs them after `make test`.
include $(wildcard mk/*.mk)
