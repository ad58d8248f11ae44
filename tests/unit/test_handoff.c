/* SPDX-License-Identifier: Apache-2.0 */
/* test_handoff.c -- the hand-off's message (timing_proto.h): its body's
 * round trip inside a sealed datagram, and every body refused. */
#include <string.h>
#include <CUnit/CUnit.h>
#include "timing_proto.h"

static const unsigned char secret[TP_MIN_SECRET_LEN] =
    "0123456789abcdef0123456789abcdef";
#define NOW ((int64_t)1700000000123)
#define ID   "0123456789abcdef0123456789abcdef"
#define HEAD "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"
#define HLEN (sizeof HEAD - 1)
/* A masked text frame the client sent before the 101 came. */
static const char frame[] = { (char)0x81, (char)0x84, 1, 2, 3, 4,
                              'p' ^ 1, 'i' ^ 2, 'n' ^ 3, 'g' ^ 4 };

static void test_round_trip(void)
{
    char body[256], id[TP_HANDOFF_ID_LEN + 1];
    unsigned char dgram[TP_OVERHEAD + sizeof body];
    const char *bytes = NULL, *in;
    size_t n = 0, len;
    tp_header h;

    len = tp_handoff_encode(body, sizeof body, ID, HEAD, HLEN, frame,
                            sizeof frame);
    CU_ASSERT_EQUAL_FATAL(len, TP_HANDOFF_ID_LEN + 1 + HLEN + sizeof frame);
    CU_ASSERT_EQUAL(body[TP_HANDOFF_ID_LEN], '\n');
    len = tp_encode(dgram, TP_HANDOFF, body, len, NOW, secret,
                    sizeof secret);
    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT_EQUAL_FATAL(tp_decode(dgram, len, secret, sizeof secret, NOW,
                                    &h, &in), TP_OK);
    CU_ASSERT_EQUAL(h.type, TP_HANDOFF);
    CU_ASSERT_EQUAL_FATAL(tp_handoff_decode(in, h.len, id, &bytes, &n), 0);
    CU_ASSERT_STRING_EQUAL(id, ID);
    CU_ASSERT_EQUAL_FATAL(n, HLEN + sizeof frame);
    CU_ASSERT_EQUAL(memcmp(bytes, HEAD, HLEN), 0);
    CU_ASSERT_EQUAL(memcmp(bytes + HLEN, frame, sizeof frame), 0);
}

static void test_no_extra(void)
{
    char body[128], id[TP_HANDOFF_ID_LEN + 1];
    const char *bytes = NULL;
    size_t n = 0, len = tp_handoff_encode(body, sizeof body, ID, HEAD, HLEN,
                                          NULL, 0);

    CU_ASSERT_EQUAL_FATAL(len, TP_HANDOFF_ID_LEN + 1 + HLEN);
    CU_ASSERT_EQUAL(tp_handoff_decode(body, len, id, &bytes, &n), 0);
    CU_ASSERT_EQUAL(n, HLEN);
}

static void test_encode_refuses(void)
{
    static char big[TP_HANDOFF_MAX_EXTRA + 1];
    static char body[TP_MAX_BODY];
    char small[40], short_id[TP_HANDOFF_ID_LEN + 1] = "0123";

    /* ids: too short, too long, not lowercase hex */
    CU_ASSERT_EQUAL(tp_handoff_encode(body, sizeof body, short_id, HEAD,
                                      HLEN, NULL, 0), 0);
    CU_ASSERT_EQUAL(tp_handoff_encode(body, sizeof body, ID "0", HEAD, HLEN,
                                      NULL, 0), 0);
    CU_ASSERT_EQUAL(tp_handoff_encode(body, sizeof body,
                                      "0123456789ABCDEF0123456789abcdef",
                                      HEAD, HLEN, NULL, 0), 0);
    /* no room, or more read ahead than a hand-off carries */
    CU_ASSERT_EQUAL(tp_handoff_encode(small, sizeof small, ID, HEAD, HLEN,
                                      NULL, 0), 0);
    CU_ASSERT_EQUAL(tp_handoff_encode(body, sizeof body, ID, HEAD, HLEN, big,
                                      sizeof big), 0);
    CU_ASSERT(tp_handoff_encode(body, sizeof body, ID, HEAD, HLEN, big,
                                sizeof big - 1) > 0);
}

static void test_decode_refuses(void)
{
    char id[TP_HANDOFF_ID_LEN + 1], body[128];
    const char *bytes;
    size_t n;

    /* only an id, no head */
    CU_ASSERT_EQUAL(tp_handoff_decode(ID "\n", TP_HANDOFF_ID_LEN + 1, id,
                                      &bytes, &n), -1);
    /* no newline after the id */
    CU_ASSERT_EQUAL(tp_handoff_decode(ID "xGET", TP_HANDOFF_ID_LEN + 4, id,
                                      &bytes, &n), -1);
    /* not hex */
    memcpy(body, ID "\n" HEAD, TP_HANDOFF_ID_LEN + 1 + HLEN);
    body[3] = 'g';
    CU_ASSERT_EQUAL(tp_handoff_decode(body, TP_HANDOFF_ID_LEN + 1 + HLEN, id,
                                      &bytes, &n), -1);
    CU_ASSERT_EQUAL(tp_handoff_decode("", 0, id, &bytes, &n), -1);
}

int add_handoff_suite(void)
{
    CU_pSuite s = CU_add_suite("hand-off message", NULL, NULL);

    if (!s || !CU_add_test(s, "sealed round trip", test_round_trip)
        || !CU_add_test(s, "nothing read ahead", test_no_extra)
        || !CU_add_test(s, "encode refuses", test_encode_refuses)
        || !CU_add_test(s, "decode refuses", test_decode_refuses)) {
        return -1;
    }
    return 0;
}
