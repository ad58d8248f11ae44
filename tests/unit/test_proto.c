/* test_proto.c -- the module/daemon header: round trip and every refusal. */
#include <string.h>
#include <CUnit/CUnit.h>
#include "timing_proto.h"

static void test_round_trip(void)
{
    unsigned char buf[TP_HEADER_LEN + 5];
    tp_header h;
    const char *body = NULL;

    tp_encode_header(buf, TP_EVENT, 5);
    memcpy(buf + TP_HEADER_LEN, "{\"a\"}", 5);
    CU_ASSERT_EQUAL(tp_decode(buf, sizeof buf, &h, &body), TP_OK);
    CU_ASSERT_EQUAL(h.type, TP_EVENT);
    CU_ASSERT_EQUAL(h.len, 5);
    CU_ASSERT_PTR_EQUAL(body, (const char *)buf + TP_HEADER_LEN);
    /* network byte order on the wire */
    CU_ASSERT_EQUAL(buf[0], 'T');
    CU_ASSERT_EQUAL(buf[3], '1');
    CU_ASSERT_EQUAL(buf[11], 5);
}

static void test_refusals(void)
{
    unsigned char buf[TP_HEADER_LEN + 4];
    tp_header h;
    const char *body;

    tp_encode_header(buf, TP_STATS_REQUEST, 4);
    CU_ASSERT_EQUAL(tp_decode(buf, TP_HEADER_LEN - 1, &h, &body),
                    TP_ERR_SHORT);
    CU_ASSERT_EQUAL(tp_decode(buf, TP_HEADER_LEN + 3, &h, &body),
                    TP_ERR_LENGTH);
    tp_encode_header(buf, TP_STATS_REQUEST, TP_MAX_BODY + 1);
    CU_ASSERT_EQUAL(tp_decode(buf, sizeof buf, &h, &body), TP_ERR_LENGTH);
    tp_encode_header(buf, TP_STATS_REQUEST, 4);
    buf[5] = 9;
    CU_ASSERT_EQUAL(tp_decode(buf, sizeof buf, &h, &body), TP_ERR_VERSION);
    buf[0] = 'X';
    CU_ASSERT_EQUAL(tp_decode(buf, sizeof buf, &h, &body), TP_ERR_MAGIC);
}

int add_proto_suite(void)
{
    CU_pSuite s = CU_add_suite("timing_proto.h", NULL, NULL);

    if (!s || !CU_add_test(s, "encode then decode", test_round_trip)
        || !CU_add_test(s, "short, long, wrong magic or version",
                        test_refusals)) {
        return -1;
    }
    return 0;
}
