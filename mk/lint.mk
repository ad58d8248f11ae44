# SPDX-License-Identifier: Apache-2.0
# mk/lint.mk -- static analysis of mod_timing/ and timing-eventd/.
#
#   make lint    cppcheck, then clang-tidy; fails on any finding
#
# cppcheck: --enable=warning,performance,portability (real defects and
# undefined behaviour, not style), with the APR, httpd and json-c headers
# so it knows their types; lint/cppcheck.supp holds the justified false
# positives.  clang-tidy: bugprone-*, clang-analyzer-*, cert-* less the
# noisy checks listed with their reasons in lint/clang-tidy.yaml, every
# warning an error.  A false positive on one line gets
# /* NOLINTNEXTLINE(check) */ with a comment saying why.

CPPCHECK   ?= cppcheck
CLANG_TIDY ?= clang-tidy
LINT_JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
# loop_epoll.c is compiled inside loop.c, not on its own.
LINT_SRC    = $(filter-out timing-eventd/loop_epoll.c,\
                $(sort $(wildcard mod_timing/*.c timing-eventd/*.c)))
# No -Itiming-eventd: the daemon's files find their headers beside them,
# and the module must build with nothing of the daemon's but include/.
LINT_INC    = -Imod_timing -Iinclude -I$(shell $(APXS) -q INCLUDEDIR)
LINT_CFLAGS = -std=gnu11 $(LINT_INC) $(APR_CFLAGS) $(JSON_CFLAGS)

.PHONY: lint lint-cppcheck lint-tidy

lint: deps lint-cppcheck lint-tidy

# AF_UNIX: cppcheck reads APR's headers without the system ones, and
# apr_network_io.h stops with #error unless the family is defined.
lint-cppcheck:
	@$(CPPCHECK) --version
	$(CPPCHECK) --enable=warning,performance,portability --std=c11 \
	    --library=posix --inline-suppr --quiet --error-exitcode=1 \
	    --suppress=missingIncludeSystem \
	    --suppressions-list=lint/cppcheck.supp \
	    $(filter -I% -D%,$(LINT_CFLAGS)) -DAF_UNIX=1 \
	    -j $(LINT_JOBS) $(LINT_SRC)

lint-tidy:
	@$(CLANG_TIDY) --version | sed -n 2p
	@mkdir -p $(BUILD)
	@printf '%s\n' $(LINT_SRC) | xargs -P $(LINT_JOBS) -I{} \
	    $(CLANG_TIDY) --quiet --config-file=lint/clang-tidy.yaml {} \
	        -- $(LINT_CFLAGS) 2>/dev/null >$(BUILD)/lint-tidy.txt \
	    || { grep -E 'warning:|error:' $(BUILD)/lint-tidy.txt; \
	         echo "lint: clang-tidy found the above"; exit 1; }
	@echo "lint: clang-tidy clean on $(words $(LINT_SRC)) files"
