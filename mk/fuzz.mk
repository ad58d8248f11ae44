# SPDX-License-Identifier: Apache-2.0
# mk/fuzz.mk -- libFuzzer harnesses (fuzz/) for every parser that takes
# outside input, built with Debian's clang under ASan and UBSan.
#
#   make fuzz            each harness for FUZZ_SECONDS (60) on a copy of its
#                        corpus in build/fuzz/; prints executions and crashes
#   make fuzz-regress    every seed and every reproducer in fuzz/regressions/
#                        once through its harness (seconds; no fuzzing)
#   make fuzz-valgrind   the same inputs (and what make fuzz found) through
#                        gcc builds of the harnesses under valgrind
#   make module-asan     the integration tests with an ASan/UBSan mod_timing
#
# A crash leaves its input in build/fuzz/<harness>/crashes/; once fixed,
# keep it as fuzz/regressions/<harness>/<name> so fuzz-regress replays it.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_FLAGS   := -std=gnu11 -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -Wall -Wextra -Werror
FUZZ_INC      = -Imod_timing -Itiming-eventd -Iinclude -Ifuzz \
                -I$(shell $(APXS) -q INCLUDEDIR) $(APR_CFLAGS) $(JSON_CFLAGS)
# -lcrypto: timing_proto.h seals with OpenSSL's HMAC (handshake.c, the
# daemon's harnesses, which also seal what they send).
FUZZ_LIBS     = -ljwt -lwslay -ljson-c -lcrypto $(APR_LIBS)

FUZZ_HARNESSES := order_body jwt query handshake eventd_datagram ws_frames

# What each harness links besides its own file.  The daemon's two link
# every daemon file but main.c; fuzz/eventd_rig.h wires the parts as main.c
# does.
FUZZ_SRC_order_body      := mod_timing/tm_body.c mod_timing/tm_valid.c \
                            mod_timing/tm_canon.c
FUZZ_SRC_jwt             := mod_timing/tm_jwt.c mod_timing/tm_valid.c
FUZZ_SRC_query           := mod_timing/tm_query.c mod_timing/tm_valid.c
FUZZ_SRC_handshake       := timing-eventd/handshake.c
FUZZ_EVENTD_LINKED       := $(filter-out timing-eventd/main.c,$(EVENTD_SRC))
FUZZ_SRC_eventd_datagram := $(FUZZ_EVENTD_LINKED)
FUZZ_SRC_ws_frames       := $(FUZZ_EVENTD_LINKED)

FUZZ_BINS := $(addprefix $(FUZZ_DIR)/bin/,$(FUZZ_HARNESSES))

.PHONY: fuzz fuzz-build fuzz-regress

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/bin/%: fuzz/fuzz_%.c $(wildcard fuzz/*.h) $(MODULE_HDR) \
                   $(EVENTD_HDR) $(EVENTD_SRC) $(MODULE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_INC) -o $@ $< $(FUZZ_SRC_$*) $(FUZZ_LIBS)

# Each harness on a scratch copy of its corpus, so new inputs stay out of
# git; the dictionary-free default options plus a bound on input size.
fuzz: deps $(FUZZ_BINS)
	@rc=0; for h in $(FUZZ_HARNESSES); do \
	    work=$(FUZZ_DIR)/$$h; rm -rf $$work; \
	    mkdir -p $$work/corpus $$work/crashes; \
	    cp fuzz/corpus/$$h/* $$work/corpus/ 2>/dev/null; \
	    $(FUZZ_DIR)/bin/$$h -max_total_time=$(FUZZ_SECONDS) \
	        -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	        -artifact_prefix=$$work/crashes/ $$work/corpus \
	        >$$work/log.txt 2>&1 || rc=1; \
	    execs=$$(grep -E '^stat::number_of_executed_units' $$work/log.txt \
	               | awk '{print $$2}'); \
	    rate=$$(grep -E '^stat::average_exec_per_sec' $$work/log.txt \
	            | awk '{print $$2}'); \
	    crashes=$$(ls $$work/crashes | wc -l); \
	    printf 'fuzz %-16s %10s executions %7s/s  corpus %4s  crashes %s\n' \
	        $$h "$${execs:-?}" "$${rate:-?}" "$$(ls $$work/corpus | wc -l)" \
	        $$crashes; \
	    [ "$$crashes" -eq 0 ] || { rc=1; ls $$work/crashes; \
	        grep -m1 -A12 'ERROR: \|runtime error' $$work/log.txt; }; \
	done; \
	echo "fuzz: logs and crash inputs in $(FUZZ_DIR)/<harness>/"; exit $$rc

# Seeds and reproducers once each, one run per input, so a failure names
# its file.  Also writes "passed N failed M" to FUZZ_REGRESS_OUT (the
# format of the unit tests' results file).
FUZZ_REGRESS_OUT ?= $(FUZZ_DIR)/regress.txt

fuzz-regress: deps $(FUZZ_BINS)
	@pass=0; fail=0; for h in $(FUZZ_HARNESSES); do \
	    n=0; for f in fuzz/corpus/$$h/* fuzz/regressions/$$h/*; do \
	        [ -f "$$f" ] || continue; \
	        if $(FUZZ_DIR)/bin/$$h "$$f" >$(FUZZ_DIR)/regress-last.txt 2>&1; \
	        then pass=$$((pass + 1)); n=$$((n + 1)); \
	        else fail=$$((fail + 1)); echo "fuzz-regress $$h: $$f FAILED"; \
	             grep -m1 -A12 'ERROR: \|runtime error' \
	                 $(FUZZ_DIR)/regress-last.txt; fi; \
	    done; echo "fuzz-regress $$h: $$n inputs pass"; \
	done; mkdir -p $(dir $(FUZZ_REGRESS_OUT)); \
	echo "passed $$pass failed $$fail" >$(FUZZ_REGRESS_OUT); \
	echo "fuzz-regress: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# `make module-asan`: the integration tests with Apache loading mod_timing
# built with ASan and UBSan (Apache is not: the sanitizer runtime is
# preloaded into apache2 by fuzz/asan_module.py, which also fails the run
# on any report).  Minutes, like `make integration`.
ASAN_MODULE  := $(BUILD)/asan/mod_timing.so
MODULE_ASAN_TESTS ?= tests/integration
ASAN_RUNTIME  = $(shell $(CC) -print-file-name=libasan.so)

$(ASAN_MODULE): $(MODULE_SRC) $(MODULE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -O1 -g -fPIC -shared $(WARN) $(SAN) \
	    -I$(shell $(APXS) -q INCLUDEDIR) $(APR_CFLAGS) $(JSON_CFLAGS) \
	    -Iinclude -o $@ $(MODULE_SRC) -ljson-c -ljwt -lcrypto

.PHONY: module-asan
module-asan: deps build web $(ASAN_MODULE)
	@logs=$$(mktemp -d /tmp/timing-asan-XXXXXX); chmod 1777 $$logs; \
	TIMING_ASAN_MODULE=$(CURDIR)/$(ASAN_MODULE) \
	TIMING_ASAN_RUNTIME=$$(readlink -f $(ASAN_RUNTIME)) \
	TIMING_ASAN_LOG_DIR=$$logs PYTHONPATH=fuzz:scripts \
	    $(PYTHON) -m pytest -q -p no:cacheprovider -p asan_module \
	    $(MODULE_ASAN_TESTS); rc=$$?; \
	rm -rf $$logs; exit $$rc

# `make fuzz-valgrind`: every seed and reproducer through its harness
# built with plain gcc (fuzz/standalone.c as main) under valgrind's
# memcheck, which finds reads of uninitialised memory ASan cannot see.
# Run `make fuzz` first to include what it found (build/fuzz/*/corpus).
VALGRIND ?= valgrind
FUZZ_VG_BINS := $(addprefix $(FUZZ_DIR)/vg/,$(FUZZ_HARNESSES))

$(FUZZ_DIR)/vg/%: fuzz/fuzz_%.c fuzz/standalone.c $(wildcard fuzz/*.h) \
                  $(MODULE_HDR) $(EVENTD_HDR) $(EVENTD_SRC) $(MODULE_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -O1 -g $(WARN) $(FUZZ_INC) -o $@ $< fuzz/standalone.c \
	    $(FUZZ_SRC_$*) $(FUZZ_LIBS)

.PHONY: fuzz-valgrind
fuzz-valgrind: deps $(FUZZ_VG_BINS)
	@rc=0; for h in $(FUZZ_HARNESSES); do \
	    files=$$(ls -d fuzz/corpus/$$h/* fuzz/regressions/$$h/* \
	             $(FUZZ_DIR)/$$h/corpus/* 2>/dev/null); \
	    if $(VALGRIND) -q --error-exitcode=1 --leak-check=no \
	        $(FUZZ_DIR)/vg/$$h $$files >$(FUZZ_DIR)/$$h-valgrind.txt 2>&1; \
	    then echo "fuzz-valgrind $$h: $$(echo $$files | wc -w) inputs clean"; \
	    else echo "fuzz-valgrind $$h: FAILED"; rc=1; \
	         head -30 $(FUZZ_DIR)/$$h-valgrind.txt; fi; \
	done; exit $$rc
