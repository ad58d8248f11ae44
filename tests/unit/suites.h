/* SPDX-License-Identifier: Apache-2.0 */
/* suites.h -- every CUnit suite the unit runner registers, one line each.
 * A test file tests/unit/test_<name>.c defines `int add_<name>_suite(void)`
 * that adds its suite and returns 0 (or -1 when CUnit fails). */
SUITE(proto)
SUITE(handoff)
SUITE(module_pure)
SUITE(handshake)
SUITE(hub)
SUITE(module_rules)
SUITE(body)
SUITE(ring)
SUITE(gapwatch)
SUITE(messages)
SUITE(recycle)
SUITE(admit)
SUITE(access)
SUITE(resume)
SUITE(frame)
