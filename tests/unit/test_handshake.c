/* SPDX-License-Identifier: Apache-2.0 */
/* test_handshake.c -- the upgrade parser: good requests, fed whole or in
 * pieces, the seal and what it refuses silently, every RFC refusal and
 * its status, the admission answers, the accept key, the subprotocol.
 *
 * A request reaches the RFC checks only under a seal that verifies, so
 * the tests seal their heads as mod_timing does (seal() below): the
 * trusted headers it sets, then X-Timing-Sent and X-Timing-Seal.  What
 * is refused before the seal has verified (a broken request line, bad
 * header syntax, a NUL, a duplicate header, over 8 KiB) gets no answer:
 * status 0 and hs_response() length 0. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <CUnit/CUnit.h>
#include <json.h>
#include "handshake.h"
#include "timing_proto.h"

#define LINE    "GET /admin?token=secret HTTP/1.1\r\n"
#define HOST    "Host: localhost\r\n"
#define UPG     "Upgrade: websocket\r\n"
#define CONN    "Connection: Upgrade\r\n"
#define KEY     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define VER     "Sec-WebSocket-Version: 13\r\n"
#define CHAN    "X-Timing-Channel: admin\r\n"
#define IDENT   "X-Timing-Role: staff\r\nX-Timing-User: 7\r\n" \
                "X-Timing-Epoch: abc\r\n"
#define END     "\r\n"
#define GOOD    LINE HOST UPG CONN KEY VER CHAN IDENT END

/* What seal() adds when the head does not set it. */
#define CLIENT  "203.0.113.7"
#define LIMITS  "100 10 5 20 60"

static const unsigned char secret[] =
    "unit-test secret, fixed, of more than 32 bytes";
static const unsigned char other[] =
    "unit-test secret, fixed, of more than 32 byteS";
#define SECRET_LEN (sizeof secret - 1)

/* The wall clock once for the whole suite: every seal and every hs_init
 * agree on "now", so the window's edges are exact. */
static int64_t now;

static int set_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return 0;
}

enum { OMIT_CLIENT = 1, OMIT_LIMITS = 2, OMIT_SENT = 4 };

/* Seals head as mod_timing would: finds the sealed fields among its
 * header lines (first of each, names caseless, values trimmed as the
 * parser trims them), adds X-Timing-Client, -Limits and -Sent where the
 * head has none (unless omitted), then X-Timing-Seal under key, just
 * before the blank line.  Bytes after the head are kept.  Returns one of
 * a few static buffers, so a test may hold two results at once. */
static const char *seal_ex(const char *head, const unsigned char *key,
                           size_t keylen, int64_t sent, int omit)
{
    static char bufs[4][2 * HS_MAX_HEAD];
    static int next;
    char *out = bufs[next++ % 4];
    char copies[TP_UF_COUNT][HS_MAX_HEAD];
    const char *values[TP_UF_COUNT] = { NULL };
    char scratch[HS_MAX_HEAD + 64 * TP_UF_COUNT], hex[TP_SEAL_HEX_LEN + 1];
    char added[512], sent_text[32];
    const char *end = strstr(head, "\r\n\r\n"), *p;
    size_t at, used = 0;
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    p = strstr(head, "\r\n") + 2;
    /* the header lines, from the second line to the blank one */
    while (p <= end) {
        const char *eol = strstr(p, "\r\n"), *colon, *v, *e;

        colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            size_t nlen = (size_t)(colon - p);

            for (v = colon + 1; *v == ' ' || *v == '\t'; v++) {
            }
            for (e = eol; e > v && (e[-1] == ' ' || e[-1] == '\t'); e--) {
            }
            for (i = 0; i < TP_UF_COUNT; i++) {
                const char *name = i == TP_UF_WS_KEY ? "Sec-WebSocket-Key"
                                                     : tp_upgrade_headers[i];

                if (!values[i] && strlen(name) == nlen
                    && strncasecmp(p, name, nlen) == 0) {
                    memcpy(copies[i], v, (size_t)(e - v));
                    copies[i][e - v] = '\0';
                    values[i] = copies[i];
                }
            }
        }
        p = eol + 2;
    }
    snprintf(sent_text, sizeof sent_text, "%" PRId64, sent);
    if (!values[TP_UF_CLIENT] && !(omit & OMIT_CLIENT)) {
        values[TP_UF_CLIENT] = CLIENT;
        used += (size_t)snprintf(added + used, sizeof added - used,
                                 TP_HDR_CLIENT ": " CLIENT "\r\n");
    }
    if (!values[TP_UF_LIMITS] && !(omit & OMIT_LIMITS)) {
        values[TP_UF_LIMITS] = LIMITS;
        used += (size_t)snprintf(added + used, sizeof added - used,
                                 TP_HDR_LIMITS ": " LIMITS "\r\n");
    }
    if (!values[TP_UF_SENT] && !(omit & OMIT_SENT)) {
        values[TP_UF_SENT] = sent_text;
        used += (size_t)snprintf(added + used, sizeof added - used,
                                 TP_HDR_SENT ": %s\r\n", sent_text);
    }
    CU_ASSERT_EQUAL_FATAL(tp_seal_upgrade(key, keylen, values, scratch,
                                          sizeof scratch, hex), 0);
    snprintf(added + used, sizeof added - used, TP_HDR_SEAL ": %s\r\n", hex);
    at = (size_t)(end - head) + 2;
    CU_ASSERT_TRUE_FATAL(strlen(head) + strlen(added) < sizeof bufs[0]);
    memcpy(out, head, at);
    strcpy(out + at, added);
    strcat(out, head + at);
    return out;
}

static const char *seal(const char *head)
{
    return seal_ex(head, secret, SECRET_LEN, now, 0);
}

/* A copy of text with the first `from` replaced by `to`. */
static const char *replace(const char *text, const char *from,
                           const char *to)
{
    static char buf[2 * HS_MAX_HEAD];
    const char *at = strstr(text, from);

    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - text), text, to,
             at + strlen(from));
    return buf;
}

/* Heap-allocated so ASan sees any overrun of buf. */
static hs_request *new_req(void)
{
    hs_request *r = malloc(sizeof *r);

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    hs_init(r, secret, SECRET_LEN, now);
    return r;
}

/* Feeds text in one piece; returns the result and, via *status, r->status
 * and via *answer hs_response's length. */
static int run(const char *text, int *status, int *answer)
{
    hs_request *r = new_req();
    char out[HS_RESPONSE_MAX];
    size_t used;
    int rc = hs_feed(r, text, strlen(text), &used);

    *status = r->status;
    *answer = hs_response(r, out, sizeof out);
    free(r);
    return rc;
}

/* text as it is; a status of 0 must come with no answer at all. */
static void expect(const char *text, int result, int status)
{
    int got_status, answer, rc = run(text, &got_status, &answer);

    CU_ASSERT_EQUAL(rc, result);
    CU_ASSERT_EQUAL(got_status, status);
    if (status == 0) {
        CU_ASSERT_EQUAL(answer, 0);
    }
    else {
        CU_ASSERT_TRUE(answer > 0);
    }
}

/* head sealed first, as mod_timing sends it. */
static void expect_sealed(const char *head, int result, int status)
{
    expect(seal(head), result, status);
}

static void test_good_request(void)
{
    const char *good = seal(GOOD);
    hs_request *r = new_req();
    char out[HS_RESPONSE_MAX];
    size_t used;
    int n;

    CU_ASSERT_EQUAL(hs_feed(r, good, strlen(good), &used), HS_DONE);
    CU_ASSERT_EQUAL(used, strlen(good));
    CU_ASSERT_EQUAL(r->status, 101);
    CU_ASSERT_FALSE(r->unverified);
    CU_ASSERT_STRING_EQUAL(r->path, "/admin");      /* query removed */
    CU_ASSERT_EQUAL(r->channel, HS_CHANNEL_ADMIN);
    CU_ASSERT_STRING_EQUAL(r->role, "staff");
    CU_ASSERT_STRING_EQUAL(r->user, "7");
    CU_ASSERT_STRING_EQUAL(r->epoch, "abc");
    CU_ASSERT_FALSE(r->other_epoch);
    CU_ASSERT_EQUAL(r->last_event, -1);
    CU_ASSERT_EQUAL(r->generation, 0);              /* absent: 0 */
    CU_ASSERT_STRING_EQUAL(r->client, CLIENT);
    CU_ASSERT_EQUAL(r->limits[HS_LIMIT_SOCKETS], 100);
    CU_ASSERT_EQUAL(r->limits[HS_LIMIT_STAFF], 10);
    CU_ASSERT_EQUAL(r->limits[HS_LIMIT_ORDER], 5);
    CU_ASSERT_EQUAL(r->limits[HS_LIMIT_ADDRESS], 20);
    CU_ASSERT_EQUAL(r->limits[HS_LIMIT_TUNNEL], 60);
    CU_ASSERT_STRING_EQUAL(r->accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CU_ASSERT_FALSE(r->subprotocol);
    n = hs_response(r, out, sizeof out);
    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL((size_t)n, strlen(out));
    CU_ASSERT_PTR_NOT_NULL(strstr(out,
                                  "HTTP/1.1 101 Switching Protocols\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out,
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    CU_ASSERT_PTR_NULL(strstr(out, "Sec-WebSocket-Protocol"));
    CU_ASSERT_EQUAL(strcmp(out + n - 4, "\r\n\r\n"), 0);
    /* decided: more bytes change nothing */
    CU_ASSERT_EQUAL(hs_feed(r, "x", 1, &used), HS_DONE);
    CU_ASSERT_EQUAL(used, 0);
    free(r);
}

static void test_split_feeds(void)
{
    const char *good = seal(GOOD);
    char text[2 * HS_MAX_HEAD];
    size_t len, head = strlen(good), i, used;
    hs_request *r = new_req();
    int rc = HS_NEED_MORE;

    snprintf(text, sizeof text, "%s\x81\x85", good);  /* an early frame */
    len = strlen(text);
    /* one byte at a time: the CRLF CRLF straddles every boundary */
    for (i = 0; i < head - 1; i++) {
        rc = hs_feed(r, text + i, 1, &used);
        CU_ASSERT_EQUAL(rc, HS_NEED_MORE);
        CU_ASSERT_EQUAL(used, 1);
    }
    /* the last byte of the head arrives with the early frame bytes */
    rc = hs_feed(r, text + i, len - i, &used);
    CU_ASSERT_EQUAL(rc, HS_DONE);
    CU_ASSERT_EQUAL(used, 1);
    CU_ASSERT_STRING_EQUAL(r->accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    free(r);

    /* uneven pieces */
    r = new_req();
    CU_ASSERT_EQUAL(hs_feed(r, good, 7, &used), HS_NEED_MORE);
    CU_ASSERT_EQUAL(hs_feed(r, good + 7, head - 9, &used), HS_NEED_MORE);
    CU_ASSERT_EQUAL(hs_feed(r, good + head - 2, 2, &used), HS_DONE);
    CU_ASSERT_EQUAL(used, 2);
    CU_ASSERT_EQUAL(r->channel, HS_CHANNEL_ADMIN);
    free(r);
}

static void test_order_channel(void)
{
    hs_request *r = new_req();
    const char *text = seal("GET /orders/42 HTTP/1.1\r\n" UPG CONN KEY VER
        "X-Timing-Channel: order\r\nX-Timing-Order: 42\r\n"
        "X-Timing-Last-Event: 17\r\nX-Timing-Resume-Epoch: other\r\n"
        "x-timing-epoch: e2\r\n" END);
    size_t used;

    CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_DONE);
    CU_ASSERT_EQUAL(r->channel, HS_CHANNEL_ORDER);
    CU_ASSERT_EQUAL(r->order_id, 42);
    CU_ASSERT_EQUAL(r->last_event, 17);
    CU_ASSERT_TRUE(r->other_epoch);
    CU_ASSERT_STRING_EQUAL(r->epoch, "e2");         /* names are caseless */
    CU_ASSERT_STRING_EQUAL(r->path, "/orders/42");
    free(r);

    expect_sealed("GET /orders/42 HTTP/1.1\r\n" UPG CONN KEY VER
                  "X-Timing-Channel: order\r\n" END, HS_ERROR, 400);
    expect_sealed("GET /orders/42 HTTP/1.1\r\n" UPG CONN KEY VER
                  "X-Timing-Channel: order\r\nX-Timing-Order: 4x\r\n" END,
                  HS_ERROR, 400);
    expect_sealed("GET /orders/0 HTTP/1.1\r\n" UPG CONN KEY VER
                  "X-Timing-Channel: order\r\nX-Timing-Order: 0\r\n" END,
                  HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY VER "X-Timing-Channel: everything\r\n"
                  END, HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-Timing-Last-Event: -1\r\n"
                  END, HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-Timing-Epoch: a b\r\n" END,
                  HS_ERROR, 400);
    /* The resume epoch is mod_timing's verdict, never a client's text. */
    expect_sealed(LINE UPG CONN KEY VER CHAN
                  "X-Timing-Resume-Epoch: \xc3\xa9\r\n" END, HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY VER CHAN
                  "X-Timing-Resume-Epoch: e1\r\n" END, HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY VER CHAN
                  "X-Timing-Resume-Epoch: \r\n" END, HS_ERROR, 400);
    r = new_req();
    text = seal(LINE UPG CONN KEY VER CHAN
                "X-Timing-Resume-Epoch: same\r\n" END);
    CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_DONE);
    CU_ASSERT_FALSE(r->other_epoch);
    free(r);
}

/* X-Timing-Generation: the Apache generation the tunnel belongs to. */
static void test_generation(void)
{
    hs_request *r = new_req();
    const char *text = seal(LINE UPG CONN KEY VER CHAN
                            "x-timing-generation:  12 \r\n" END);
    size_t used;

    CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_DONE);
    CU_ASSERT_EQUAL(r->generation, 12);
    free(r);

    r = new_req();
    text = seal(LINE UPG CONN KEY VER CHAN "X-Timing-Generation: 0\r\n" END);
    CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_DONE);
    CU_ASSERT_EQUAL(r->generation, 0);
    free(r);

    expect_sealed(LINE UPG CONN KEY VER CHAN "X-Timing-Generation: -1\r\n"
                  END, HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-Timing-Generation: 1x\r\n"
                  END, HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-Timing-Generation:\r\n" END,
                  HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-Timing-Generation: "
                  "1234567890123456789\r\n" END, HS_ERROR, 400);
    /* trusted headers come once: a second one is refused before the
     * seal is looked at, so with no answer */
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-Timing-Generation: 1\r\n"
                  "X-Timing-Generation: 1\r\n" END, HS_ERROR, 0);
}

static void test_header_forms(void)
{
    /* comma lists, any case, optional whitespace */
    expect_sealed(LINE "upgrade:WebSocket\r\n"
                  "connection: keep-alive ,  UPGRADE\r\n" KEY VER CHAN END,
                  HS_DONE, 101);
    expect_sealed(LINE UPG "Connection: keep-alive\r\nConnection: upgrade\r\n"
                  KEY VER CHAN END, HS_DONE, 101);
    expect_sealed(LINE UPG "Connection: upgraded\r\n" KEY VER CHAN END,
                  HS_ERROR, 400);
    /* a head of exactly 8 KiB is still fine, one byte more is not (and,
     * refused before its seal is checked, gets no answer); X-Pad is not
     * sealed, so it goes after sealing */
    {
        const char *sealed = seal(LINE UPG CONN KEY VER CHAN END);
        size_t prefix = strlen(sealed) - 2;         /* less the blank line */
        char *big = malloc(HS_MAX_HEAD + 2);
        size_t pad = HS_MAX_HEAD - prefix - strlen("X-Pad: ") - 4;

        CU_ASSERT_PTR_NOT_NULL_FATAL(big);
        memcpy(big, sealed, prefix);
        memcpy(big + prefix, "X-Pad: ", 7);
        memset(big + prefix + 7, 'a', pad);
        strcpy(big + prefix + 7 + pad, "\r\n\r\n");
        CU_ASSERT_EQUAL(strlen(big), HS_MAX_HEAD);
        expect(big, HS_DONE, 101);
        memset(big + prefix + 7, 'a', pad + 1);
        strcpy(big + prefix + 7 + pad + 1, "\r\n\r\n");
        CU_ASSERT_EQUAL(strlen(big), HS_MAX_HEAD + 1);
        expect(big, HS_ERROR, 0);
        free(big);
    }
}

static void test_refusals(void)
{
    /* The request line: refused before the seal is checked, so even a
     * sealed one gets no answer. */
    expect_sealed("POST /admin HTTP/1.1\r\n" UPG CONN KEY VER CHAN END,
                  HS_ERROR, 0);
    expect_sealed("get /admin HTTP/1.1\r\n" UPG CONN KEY VER CHAN END,
                  HS_ERROR, 0);
    expect_sealed("GET /admin HTTP/1.0\r\n" UPG CONN KEY VER CHAN END,
                  HS_ERROR, 0);
    expect_sealed("GET admin HTTP/1.1\r\n" UPG CONN KEY VER CHAN END,
                  HS_ERROR, 0);
    expect_sealed("GET /admin\r\n" UPG CONN KEY VER CHAN END, HS_ERROR, 0);
    expect("\r\n\r\n", HS_ERROR, 0);
    /* the WebSocket headers, sealed: answered */
    expect_sealed(LINE CONN KEY VER CHAN END, HS_ERROR, 400);
    expect_sealed(LINE "Upgrade: h2c\r\n" CONN KEY VER CHAN END, HS_ERROR,
                  400);
    expect_sealed(LINE UPG KEY VER CHAN END, HS_ERROR, 400);
    expect_sealed(LINE UPG CONN VER CHAN END, HS_ERROR, 400);
    expect_sealed(LINE UPG CONN "Sec-WebSocket-Key: abc\r\n" VER CHAN END,
                  HS_ERROR, 400);
    expect_sealed(LINE UPG CONN
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n"
                  VER CHAN END, HS_ERROR, 400); /* R carries stray bits */
    expect_sealed(LINE UPG CONN
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n"
                  VER CHAN END, HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY KEY VER CHAN END, HS_ERROR, 0);
    expect_sealed(LINE UPG CONN KEY CHAN END, HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY "Sec-WebSocket-Version: 8\r\n" CHAN END,
                  HS_ERROR, 426);
    /* the request's own syntax: refused before the seal, no answer */
    expect_sealed(LINE UPG CONN KEY VER CHAN "no colon here\r\n" END,
                  HS_ERROR, 0);
    expect_sealed(LINE UPG CONN KEY VER CHAN "Bad Name: x\r\n" END,
                  HS_ERROR, 0);
    expect_sealed(LINE UPG CONN KEY VER CHAN ": x\r\n" END, HS_ERROR, 0);
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-A: b\r\n folded\r\n" END,
                  HS_ERROR, 0);
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-A: b\nX-B: c\r\n" END,
                  HS_ERROR, 0);
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-A: b\x01\r\n" END, HS_ERROR,
                  0);
    expect_sealed(LINE UPG CONN KEY VER CHAN CHAN END, HS_ERROR, 0);
    /* not through mod_timing: nothing trusted, nothing sealed */
    expect(LINE HOST UPG CONN KEY VER END, HS_ERROR, 0);
    /* sealed, but no channel */
    expect_sealed(LINE HOST UPG CONN KEY VER END, HS_ERROR, 400);
}

/* Whatever mod_timing did not seal, or sealed long ago, gets no answer,
 * and is marked for counting. */
static void expect_unsealed(const char *text, int counted)
{
    hs_request *r = new_req();
    char out[HS_RESPONSE_MAX];
    size_t used;

    CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_ERROR);
    CU_ASSERT_EQUAL(r->status, 0);
    CU_ASSERT_EQUAL(r->unverified, counted);
    CU_ASSERT_PTR_NOT_NULL(r->reason);
    CU_ASSERT_EQUAL(hs_response(r, out, sizeof out), 0);
    free(r);
}

static void test_seal(void)
{
    const char *good = seal(GOOD);
    const char *at = strstr(good, TP_HDR_SEAL ": ");
    char copy[2 * HS_MAX_HEAD];
    size_t hex;

    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    hex = (size_t)(at - good) + strlen(TP_HDR_SEAL ": ");
    /* no X-Timing-Seal at all: GOOD has every trusted header but it */
    expect_unsealed(GOOD, 1);
    /* a wrong seal: a hex digit changed (first, last), the seal cut
     * short, empty */
    strcpy(copy, good);
    copy[hex] = copy[hex] == '0' ? '1' : '0';
    expect_unsealed(copy, 1);
    strcpy(copy, good);
    copy[hex + TP_SEAL_HEX_LEN - 1] ^= 1;
    expect_unsealed(copy, 1);
    strcpy(copy, good);
    memmove(copy + hex + TP_SEAL_HEX_LEN - 1, copy + hex + TP_SEAL_HEX_LEN,
            strlen(copy + hex + TP_SEAL_HEX_LEN) + 1);
    expect_unsealed(copy, 1);
    expect_unsealed(replace(GOOD, END END, END TP_HDR_SEAL ":" END END), 1);
    /* sealed under another secret */
    expect_unsealed(seal_ex(GOOD, other, sizeof other - 1, now, 0), 1);
    /* sealed outside the window, either side; and its edges */
    expect_unsealed(seal_ex(GOOD, secret, SECRET_LEN,
                            now - TP_SEAL_WINDOW_MS - 1, 0), 1);
    expect_unsealed(seal_ex(GOOD, secret, SECRET_LEN,
                            now + TP_SEAL_WINDOW_MS + 1, 0), 1);
    expect(seal_ex(GOOD, secret, SECRET_LEN, now - TP_SEAL_WINDOW_MS, 0),
           HS_DONE, 101);
    expect(seal_ex(GOOD, secret, SECRET_LEN, now + TP_SEAL_WINDOW_MS, 0),
           HS_DONE, 101);
    /* sealed without X-Timing-Sent, or with one that is not a time */
    expect_unsealed(seal_ex(GOOD, secret, SECRET_LEN, now, OMIT_SENT), 1);
    expect_unsealed(seal(LINE UPG CONN KEY VER CHAN "X-Timing-Sent: soon\r\n"
                         END), 1);
    /* one sealed header changed after sealing: a role, the key, the
     * client, the limits, the time */
    expect_unsealed(replace(good, "X-Timing-Role: staff",
                            "X-Timing-Role: admin"), 1);
    expect_unsealed(replace(good, "dGhlIHNhbXBsZSBub25jZQ==",
                            "AAAAAAAAAAAAAAAAAAAAAA=="), 1);
    expect_unsealed(replace(good, CLIENT, "203.0.113.8"), 1);
    expect_unsealed(replace(good, LIMITS, "999 10 5 20"), 1);
    expect_unsealed(replace(good, "X-Timing-User: 7\r\n", ""), 1);
    /* a trusted header a client added to a sealed request: refused as a
     * duplicate while reading the headers, before the seal, and counted
     * like any request that did not come from mod_timing */
    expect_unsealed(replace(good, END END,
                            END "X-Timing-Role: admin" END END), 1);
    expect_unsealed(replace(good, "X-Timing-Seal",
                            "X-Timing-Role: admin" END "X-Timing-Seal"), 1);
    /* a second seal */
    strcpy(copy, good);
    expect_unsealed(replace(copy, END END, END TP_HDR_SEAL ": 00" END END),
                    1);
    /* no secret: nothing verifies */
    {
        hs_request *r = malloc(sizeof *r);
        size_t used;

        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        hs_init(r, NULL, 0, now);
        CU_ASSERT_EQUAL(hs_feed(r, good, strlen(good), &used), HS_ERROR);
        CU_ASSERT_EQUAL(r->status, 0);
        free(r);
    }
    /* and untouched it is still good */
    expect(good, HS_DONE, 101);
}

/* X-Timing-Client and X-Timing-Limits: sealed, and then checked. */
static void test_client_and_limits(void)
{
    hs_request *r = new_req();
    const char *text = seal(LINE UPG CONN KEY VER CHAN
                            "X-Timing-Client: 2001:db8::1\r\n"
                            "X-Timing-Limits: 0 0 0 0\r\n" END);
    size_t used, i;
    static const char *const bad_limits[] = {
        "", "1 2 3", "1 2 3 4 5 6", "a b c d", "-1 2 3 4", "1 2 3 4x",
        "1,2,3,4", "1 2 3 1234567890123456789",
    };

    CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_DONE);
    CU_ASSERT_STRING_EQUAL(r->client, "2001:db8::1");
    for (i = 0; i < HS_LIMITS; i++) {
        CU_ASSERT_EQUAL(r->limits[i], 0);
    }
    free(r);
    /* four numbers (a module of the release before): the tunnels may
     * take the whole */
    r = new_req();
    text = seal(LINE UPG CONN KEY VER CHAN "X-Timing-Limits: 7 1 2 3\r\n"
                END);
    CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_DONE);
    CU_ASSERT_EQUAL(r->limits[HS_LIMIT_SOCKETS], 7);
    CU_ASSERT_EQUAL(r->limits[HS_LIMIT_TUNNEL], 7);
    free(r);

    for (i = 0; i < sizeof bad_limits / sizeof *bad_limits; i++) {
        char head[512];

        snprintf(head, sizeof head, "%sX-Timing-Limits: %s\r\n\r\n",
                 LINE UPG CONN KEY VER CHAN, bad_limits[i]);
        expect_sealed(head, HS_ERROR, 400);
    }
    expect(seal_ex(LINE UPG CONN KEY VER CHAN END, secret, SECRET_LEN, now,
                   OMIT_LIMITS), HS_ERROR, 400);
    /* the client's address: present, not empty, visible ASCII */
    expect(seal_ex(LINE UPG CONN KEY VER CHAN END, secret, SECRET_LEN, now,
                   OMIT_CLIENT), HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-Timing-Client:\r\n" END,
                  HS_ERROR, 400);
    expect_sealed(LINE UPG CONN KEY VER CHAN "X-Timing-Client: a b\r\n" END,
                  HS_ERROR, 400);
}

/* A request the parser took, refused by admission: the API's JSON
 * envelope with Retry-After. */
static void test_admission_answer(void)
{
    static const struct {
        int status;
        const char *line, *code;
        int retry;
    } cases[] = {
        { 429, "HTTP/1.1 429 Too Many Requests\r\n",
          "order_sockets_exceeded", 30 },
        { 503, "HTTP/1.1 503 Service Unavailable\r\n", "sockets_full", 10 },
    };
    const char *good = seal(GOOD);
    size_t i, used;

    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        hs_request *r = new_req();
        char out[HS_RESPONSE_MAX], want[64];
        const char *body;
        json_object *o, *err, *v;
        int n;

        CU_ASSERT_EQUAL_FATAL(hs_feed(r, good, strlen(good), &used),
                              HS_DONE);
        hs_refuse_admission(r, cases[i].status, cases[i].code,
                            cases[i].retry);
        CU_ASSERT_EQUAL(r->status, cases[i].status);
        /* decided, and stays so */
        CU_ASSERT_EQUAL(hs_feed(r, "x", 1, &used), HS_ERROR);
        n = hs_response(r, out, sizeof out);
        CU_ASSERT_TRUE_FATAL(n > 0);
        CU_ASSERT_EQUAL(strncmp(out, cases[i].line, strlen(cases[i].line)),
                        0);
        snprintf(want, sizeof want, "\r\nRetry-After: %d\r\n",
                 cases[i].retry);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nConnection: close\r\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nContent-Type: "
                                      "application/json; charset=utf-8\r\n"));
        CU_ASSERT_PTR_NULL(strstr(out, "Sec-WebSocket-Accept"));
        body = strstr(out, "\r\n\r\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(body);
        body += 4;
        snprintf(want, sizeof want, "\r\nContent-Length: %zu\r\n",
                 strlen(body));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
        o = json_tokener_parse(body);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_TRUE(json_object_object_get_ex(o, "success", &v)
                       && json_object_is_type(v, json_type_boolean)
                       && !json_object_get_boolean(v));
        CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(o, "error", &err));
        CU_ASSERT_TRUE(json_object_object_get_ex(err, "code", &v));
        CU_ASSERT_STRING_EQUAL(json_object_get_string(v), cases[i].code);
        CU_ASSERT_TRUE(json_object_object_get_ex(err, "message", &v));
        json_object_put(o);
        free(r);
    }
}

static void test_nul_and_size(void)
{
    const char *good = seal(LINE UPG CONN KEY VER CHAN END);
    hs_request *r = new_req();
    char out[HS_RESPONSE_MAX], with_nul[2 * HS_MAX_HEAD];
    char *big;
    size_t used, total = 0, n = strlen(good);
    int rc = HS_NEED_MORE;

    /* a NUL in a sealed head: refused before the seal, no answer */
    memcpy(with_nul, good, n - 2);
    memcpy(with_nul + n - 2, "X-A: a\0b\r\n\r\n", 12);
    CU_ASSERT_EQUAL(hs_feed(r, with_nul, n - 2 + 12, &used), HS_ERROR);
    CU_ASSERT_EQUAL(r->status, 0);
    CU_ASSERT_EQUAL(hs_response(r, out, sizeof out), 0);
    free(r);

    /* a head that never ends is refused once it passes 8 KiB, silently */
    big = malloc(1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'a', 1000);
    memcpy(big, LINE "X-Pad: ", strlen(LINE "X-Pad: "));
    r = new_req();
    while (rc == HS_NEED_MORE && total < 20000) {
        rc = hs_feed(r, big, 1000, &used);
        total += used;
    }
    CU_ASSERT_EQUAL(rc, HS_ERROR);
    CU_ASSERT_EQUAL(r->status, 0);
    CU_ASSERT_EQUAL(total, HS_MAX_HEAD);
    CU_ASSERT_EQUAL(hs_response(r, out, sizeof out), 0);
    free(big);
    free(r);
}

static void test_refusal_answers(void)
{
    const char *wrong_version =
        seal(LINE UPG CONN KEY "Sec-WebSocket-Version: 7\r\n" CHAN END);
    const char *no_channel = seal(LINE UPG CONN KEY VER END);
    hs_request *r = new_req();
    char out[HS_RESPONSE_MAX];
    size_t used;

    CU_ASSERT_EQUAL(hs_response(r, out, sizeof out), -1);   /* undecided */
    hs_feed(r, wrong_version, strlen(wrong_version), &used);
    CU_ASSERT_TRUE_FATAL(hs_response(r, out, sizeof out) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "HTTP/1.1 426 Upgrade Required\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Sec-WebSocket-Version: 13\r\n"));
    CU_ASSERT_EQUAL(hs_response(r, out, 20), -1);           /* too small */
    free(r);

    r = new_req();
    hs_feed(r, no_channel, strlen(no_channel), &used);
    CU_ASSERT_TRUE_FATAL(hs_response(r, out, sizeof out) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "HTTP/1.1 400 Bad Request\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Connection: close\r\n"));
    /* the token in the query never comes back */
    CU_ASSERT_PTR_NULL(strstr(out, "secret"));
    free(r);
}

static void test_accept_key(void)
{
    char out[HS_ACCEPT_LEN + 1];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";

    CU_ASSERT_EQUAL(hs_accept_key(key, strlen(key), out), 0);
    CU_ASSERT_STRING_EQUAL(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CU_ASSERT_EQUAL(strlen(out), HS_ACCEPT_LEN);
}

static void test_subprotocol(void)
{
    static const char *const offered[] = {
        "Sec-WebSocket-Protocol: timing.v1, bearer.abc.def\r\n",
        "Sec-WebSocket-Protocol: tracking.xyz\r\n"
        "Sec-WebSocket-Protocol:timing.v1\r\n",
        "Sec-WebSocket-Protocol: chat, timing.v1\r\n",
    };
    static const char *const not_offered[] = {
        "",
        "Sec-WebSocket-Protocol: chat\r\n",
        "Sec-WebSocket-Protocol: Timing.V1\r\n",
        "Sec-WebSocket-Protocol: timing.v10\r\n",
    };
    const size_t nyes = sizeof offered / sizeof *offered;
    const size_t nno = sizeof not_offered / sizeof *not_offered;
    char head[1024], out[HS_RESPONSE_MAX];
    size_t i, used;

    for (i = 0; i < nyes + nno; i++) {
        int yes = i < nyes;
        const char *p = yes ? offered[i] : not_offered[i - nyes], *text;
        hs_request *r = new_req();

        snprintf(head, sizeof head, "%s%s%s", LINE UPG CONN KEY VER CHAN, p,
                 END);
        text = seal(head);
        CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_DONE);
        CU_ASSERT_EQUAL(r->subprotocol, yes);
        CU_ASSERT_TRUE(hs_response(r, out, sizeof out) > 0);
        CU_ASSERT_EQUAL(strstr(out, "Sec-WebSocket-Protocol: timing.v1\r\n")
                        != NULL, yes);
        /* credentials offered as subprotocols are never echoed */
        CU_ASSERT_PTR_NULL(strstr(out, "bearer"));
        free(r);
    }
}

int add_handshake_suite(void)
{
    CU_pSuite s = CU_add_suite("handshake.c", set_now, NULL);

    if (!s
        || !CU_add_test(s, "good request", test_good_request)
        || !CU_add_test(s, "split across feeds", test_split_feeds)
        || !CU_add_test(s, "order channel and trusted headers",
                        test_order_channel)
        || !CU_add_test(s, "X-Timing-Generation", test_generation)
        || !CU_add_test(s, "header lists, case and the 8 KiB edge",
                        test_header_forms)
        || !CU_add_test(s, "every refusal and its status", test_refusals)
        || !CU_add_test(s, "unsealed, forged, stale or altered: no answer",
                        test_seal)
        || !CU_add_test(s, "X-Timing-Client and X-Timing-Limits",
                        test_client_and_limits)
        || !CU_add_test(s, "admission refusals: 429/503, Retry-After, JSON",
                        test_admission_answer)
        || !CU_add_test(s, "NUL byte, over 8 KiB", test_nul_and_size)
        || !CU_add_test(s, "refusal answers", test_refusal_answers)
        || !CU_add_test(s, "RFC 6455 accept key", test_accept_key)
        || !CU_add_test(s, "subprotocol echoed only when offered",
                        test_subprotocol)) {
        return -1;
    }
    return 0;
}
