# SPDX-License-Identifier: Apache-2.0
# bench.mk -- what `make bench` compares Timing with.

.PHONY: bench-deps

# `make bench-deps`: Debian's nginx and libnginx-mod-nchan, the fan-out
# bench's anchor (its `nchan` rows); never part of `make deps`, and
# installed without starting nginx's own service (bench/deps.sh).
bench-deps:
	@bench/deps.sh
