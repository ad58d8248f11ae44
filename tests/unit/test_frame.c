/* SPDX-License-Identifier: Apache-2.0 */
/* test_frame.c -- ws_frame.c: a text message framed once for a fan-out,
 * checked byte for byte against RFC 6455 (server frames: FIN, opcode 1,
 * no mask; lengths of 7, 16 and 64 bits). */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

static void check(size_t len, const uint8_t *head, size_t head_len)
{
    char *msg = malloc(len + 1);
    ws_frame f;

    CU_ASSERT_FATAL(msg != NULL);
    memset(msg, 'x', len);
    CU_ASSERT_EQUAL_FATAL(ws_frame_text(&f, msg, len), 0);
    CU_ASSERT_EQUAL(f.len, head_len + len);
    CU_ASSERT(memcmp(f.bytes, head, head_len) == 0);
    CU_ASSERT(memcmp(f.bytes + head_len, msg, len) == 0);
    ws_frame_free(&f);
    CU_ASSERT_PTR_NULL(f.bytes);
    CU_ASSERT_EQUAL(f.len, 0);
    free(msg);
}

static void test_lengths(void)
{
    static const uint8_t empty[] = { 0x81, 0x00 };
    static const uint8_t small[] = { 0x81, 125 };
    static const uint8_t mid[] = { 0x81, 126, 0x00, 126 };
    static const uint8_t mid_max[] = { 0x81, 126, 0xff, 0xff };
    static const uint8_t big[] = { 0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00,
                                   0x00 };

    check(0, empty, sizeof empty);
    check(125, small, sizeof small);
    check(126, mid, sizeof mid);
    check(65535, mid_max, sizeof mid_max);
    check(65536, big, sizeof big);
}

int add_frame_suite(void)
{
    CU_pSuite s = CU_add_suite("ws_frame.c", NULL, NULL);

    if (!s || !CU_add_test(s, "header for each length form",
                           test_lengths)) {
        return -1;
    }
    return 0;
}
