/* SPDX-License-Identifier: Apache-2.0 */
/* test_proto.c -- the module/daemon contract: a sealed datagram's round
 * trip, every refusal (form, seal, age), and the upgrade's seal. */
#include <string.h>
#include <CUnit/CUnit.h>
#include "timing_proto.h"

/* A fixed secret of the minimum length; the "other" one differs in its
 * last byte only. */
static const unsigned char secret[TP_MIN_SECRET_LEN] =
    "0123456789abcdef0123456789abcdef";
static const unsigned char other[TP_MIN_SECRET_LEN] =
    "0123456789abcdef0123456789abcdeF";
#define NOW ((int64_t)1700000000123)    /* past 2^32: both halves used */
#define BODY "{\"a\"}"
#define BLEN (sizeof BODY - 1)
#define DGRAM (TP_OVERHEAD + BLEN)

static size_t sealed(unsigned char *buf, int64_t sent_ms)
{
    return tp_encode(buf, TP_EVENT, BODY, BLEN, sent_ms, secret,
                     sizeof secret);
}

static void test_round_trip(void)
{
    unsigned char buf[DGRAM];
    tp_header h;
    const char *body = NULL;

    CU_ASSERT_EQUAL_FATAL(sealed(buf, NOW), DGRAM);
    CU_ASSERT_EQUAL(tp_decode(buf, sizeof buf, secret, sizeof secret, NOW,
                              &h, &body), TP_OK);
    CU_ASSERT_EQUAL(h.magic, TP_MAGIC);
    CU_ASSERT_EQUAL(h.version, TP_VERSION);
    CU_ASSERT_EQUAL(h.type, TP_EVENT);
    CU_ASSERT_EQUAL(h.len, BLEN);
    CU_ASSERT_EQUAL(h.sent_ms, NOW);
    CU_ASSERT_PTR_EQUAL(body, (const char *)buf + TP_HEADER_LEN);
    CU_ASSERT_EQUAL(memcmp(body, BODY, BLEN), 0);
    /* network byte order on the wire */
    CU_ASSERT_EQUAL(buf[0], 'T');
    CU_ASSERT_EQUAL(buf[3], '1');
    CU_ASSERT_EQUAL(buf[5], TP_VERSION);
    CU_ASSERT_EQUAL(buf[7], TP_EVENT);
    CU_ASSERT_EQUAL(buf[11], BLEN);
    CU_ASSERT_EQUAL(buf[19], (unsigned char)(NOW & 0xff));
    CU_ASSERT_EQUAL(buf[15], (unsigned char)((NOW >> 32) & 0xff));
}

/* The body already in place, and an empty body (a stats request). */
static void test_encode_in_place(void)
{
    unsigned char buf[DGRAM], copy[DGRAM];
    tp_header h;
    const char *body = NULL;

    sealed(copy, NOW);
    memcpy(buf + TP_HEADER_LEN, BODY, BLEN);
    CU_ASSERT_EQUAL(tp_encode(buf, TP_EVENT, buf + TP_HEADER_LEN, BLEN, NOW,
                              secret, sizeof secret), DGRAM);
    CU_ASSERT_EQUAL(memcmp(buf, copy, DGRAM), 0);

    CU_ASSERT_EQUAL(tp_encode(buf, TP_STATS_REQUEST, NULL, 0, NOW, secret,
                              sizeof secret), TP_OVERHEAD);
    CU_ASSERT_EQUAL(tp_decode(buf, TP_OVERHEAD, secret, sizeof secret, NOW,
                              &h, &body), TP_OK);
    CU_ASSERT_EQUAL(h.type, TP_STATS_REQUEST);
    CU_ASSERT_EQUAL(h.len, 0);
}

/* Every single bit flipped, one at a time: never TP_OK.  Magic, version
 * and length are checked for form before the seal and keep their own
 * errors; a flip in the type, the time, the body or the seal is
 * TP_ERR_SEAL. */
static void test_flipped_bits(void)
{
    unsigned char buf[DGRAM];
    tp_header h;
    const char *body;
    size_t i;
    int bit, rc, wrong = 0;

    sealed(buf, NOW);
    for (i = 0; i < DGRAM; i++) {
        for (bit = 0; bit < 8; bit++) {
            int want;

            buf[i] ^= (unsigned char)(1u << bit);
            rc = tp_decode(buf, sizeof buf, secret, sizeof secret, NOW, &h,
                           &body);
            buf[i] ^= (unsigned char)(1u << bit);
            want = i < 4 ? TP_ERR_MAGIC
                 : i < 6 ? TP_ERR_VERSION
                 : i >= 8 && i < 12 ? TP_ERR_LENGTH
                 : TP_ERR_SEAL;
            if (rc != want) {
                wrong++;
            }
        }
    }
    CU_ASSERT_EQUAL(wrong, 0);
    /* and untouched it still decodes */
    CU_ASSERT_EQUAL(tp_decode(buf, sizeof buf, secret, sizeof secret, NOW,
                              &h, &body), TP_OK);
}

static void test_wrong_secret(void)
{
    unsigned char buf[DGRAM];
    tp_header h;
    const char *body;

    sealed(buf, NOW);
    CU_ASSERT_EQUAL(tp_decode(buf, sizeof buf, other, sizeof other, NOW, &h,
                              &body), TP_ERR_SEAL);
    /* a prefix of the secret is another secret */
    CU_ASSERT_EQUAL(tp_decode(buf, sizeof buf, secret, sizeof secret - 1,
                              NOW, &h, &body), TP_ERR_SEAL);
    /* sealed under the other, checked under ours */
    tp_encode(buf, TP_EVENT, BODY, BLEN, NOW, other, sizeof other);
    CU_ASSERT_EQUAL(tp_decode(buf, sizeof buf, secret, sizeof secret, NOW,
                              &h, &body), TP_ERR_SEAL);
}

/* The window holds on both sides, edges included. */
static void test_window(void)
{
    static const struct {
        int64_t sent;
        int rc;
    } cases[] = {
        { NOW - TP_SEAL_WINDOW_MS, TP_OK },
        { NOW + TP_SEAL_WINDOW_MS, TP_OK },
        { NOW - TP_SEAL_WINDOW_MS - 1, TP_ERR_STALE },
        { NOW + TP_SEAL_WINDOW_MS + 1, TP_ERR_STALE },
        { 0, TP_ERR_STALE },
        { -1, TP_ERR_STALE },
        { INT64_MAX, TP_ERR_STALE },
    };
    unsigned char buf[DGRAM];
    tp_header h;
    const char *body;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        sealed(buf, cases[i].sent);
        CU_ASSERT_EQUAL(tp_decode(buf, sizeof buf, secret, sizeof secret,
                                  NOW, &h, &body), cases[i].rc);
        CU_ASSERT_EQUAL(h.sent_ms, cases[i].sent);
    }
}

static void test_refusals(void)
{
    unsigned char buf[DGRAM + 1];
    tp_header h;
    const char *body;

    sealed(buf, NOW);
    /* truncated: under a header and a seal, then a seal cut short */
    CU_ASSERT_EQUAL(tp_decode(buf, 0, secret, sizeof secret, NOW, &h,
                              &body), TP_ERR_SHORT);
    CU_ASSERT_EQUAL(tp_decode(buf, TP_HEADER_LEN - 1, secret, sizeof secret,
                              NOW, &h, &body), TP_ERR_SHORT);
    CU_ASSERT_EQUAL(tp_decode(buf, TP_OVERHEAD - 1, secret, sizeof secret,
                              NOW, &h, &body), TP_ERR_SHORT);
    CU_ASSERT_EQUAL(tp_decode(buf, DGRAM - 1, secret, sizeof secret, NOW,
                              &h, &body), TP_ERR_LENGTH);
    CU_ASSERT_EQUAL(tp_decode(buf, TP_OVERHEAD, secret, sizeof secret, NOW,
                              &h, &body), TP_ERR_LENGTH);
    /* one byte too many */
    buf[DGRAM] = 0;
    CU_ASSERT_EQUAL(tp_decode(buf, DGRAM + 1, secret, sizeof secret, NOW,
                              &h, &body), TP_ERR_LENGTH);
    /* a body over the bound, whatever the datagram's size */
    tp_encode_header(buf, TP_STATS_REQUEST, TP_MAX_BODY + 1, NOW);
    CU_ASSERT_EQUAL(tp_decode(buf, DGRAM, secret, sizeof secret, NOW, &h,
                              &body), TP_ERR_LENGTH);
    tp_encode_header(buf, TP_STATS_REQUEST, 0xffffffffu, NOW);
    CU_ASSERT_EQUAL(tp_decode(buf, DGRAM, secret, sizeof secret, NOW, &h,
                              &body), TP_ERR_LENGTH);
    sealed(buf, NOW);
    buf[5] = 1;                 /* version 1: unsealed, no longer spoken */
    CU_ASSERT_EQUAL(tp_decode(buf, DGRAM, secret, sizeof secret, NOW, &h,
                              &body), TP_ERR_VERSION);
    buf[0] = 'X';
    CU_ASSERT_EQUAL(tp_decode(buf, DGRAM, secret, sizeof secret, NOW, &h,
                              &body), TP_ERR_MAGIC);
}

/* The upgrade's seal: a known answer pins the canonical text (mod_timing,
 * the daemon and fuzz/seeds.py must agree on it), then what it covers. */
static void test_seal_upgrade(void)
{
    const char *values[TP_UF_COUNT] = { NULL };
    char scratch[512], hex[TP_SEAL_HEX_LEN + 1], first[TP_SEAL_HEX_LEN + 1];
    size_t i;

    values[TP_UF_WS_KEY] = "dGhlIHNhbXBsZSBub25jZQ==";
    values[TP_UF_CHANNEL] = "admin";
    values[TP_UF_ROLE] = "staff";
    values[TP_UF_SENT] = "1700000000123";
    CU_ASSERT_EQUAL_FATAL(tp_seal_upgrade(secret, sizeof secret, values,
                                          scratch, sizeof scratch, hex), 0);
    /* "timing-upgrade/2\n24:dGhlIHNhbXBsZSBub25jZQ==\n5:admin\n5:staff\n"
     * "-\n" x 10 "13:1700000000123\n", HMAC-SHA256 (Python's hmac). */
    CU_ASSERT_STRING_EQUAL(hex, "CD03DEA565B638C5593AE5360CD1DE88"
                           "B9D2D00BF5B929397379F8D64935AB7D");
    CU_ASSERT_EQUAL(strlen(hex), TP_SEAL_HEX_LEN);
    for (i = 0; i < TP_SEAL_HEX_LEN; i++) {
        CU_ASSERT_PTR_NOT_NULL(strchr("0123456789ABCDEF", hex[i]));
    }
    memcpy(first, hex, sizeof hex);

    /* absent and empty differ */
    values[TP_UF_USER] = "";
    tp_seal_upgrade(secret, sizeof secret, values, scratch, sizeof scratch,
                    hex);
    CU_ASSERT_STRING_NOT_EQUAL(hex, first);
    values[TP_UF_USER] = NULL;
    /* bytes moved from one field to the next differ */
    values[TP_UF_CHANNEL] = "admi";
    values[TP_UF_ROLE] = "nstaff";
    tp_seal_upgrade(secret, sizeof secret, values, scratch, sizeof scratch,
                    hex);
    CU_ASSERT_STRING_NOT_EQUAL(hex, first);
    values[TP_UF_CHANNEL] = "admin";
    values[TP_UF_ROLE] = "staff";
    /* another secret */
    tp_seal_upgrade(other, sizeof other, values, scratch, sizeof scratch,
                    hex);
    CU_ASSERT_STRING_NOT_EQUAL(hex, first);
    /* the same again */
    tp_seal_upgrade(secret, sizeof secret, values, scratch, sizeof scratch,
                    hex);
    CU_ASSERT_STRING_EQUAL(hex, first);
    /* scratch too small for the canonical text, at every size */
    for (i = 0; i < 80; i++) {
        CU_ASSERT_EQUAL(tp_seal_upgrade(secret, sizeof secret, values,
                                        scratch, i, hex), -1);
    }
}

int add_proto_suite(void)
{
    CU_pSuite s = CU_add_suite("timing_proto.h", NULL, NULL);

    if (!s || !CU_add_test(s, "seal then decode", test_round_trip)
        || !CU_add_test(s, "body in place, empty body", test_encode_in_place)
        || !CU_add_test(s, "any flipped bit is refused", test_flipped_bits)
        || !CU_add_test(s, "wrong secret", test_wrong_secret)
        || !CU_add_test(s, "sent outside the window", test_window)
        || !CU_add_test(s, "short, long, wrong magic or version",
                        test_refusals)
        || !CU_add_test(s, "upgrade seal", test_seal_upgrade)) {
        return -1;
    }
    return 0;
}
