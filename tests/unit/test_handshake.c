/* test_handshake.c -- the upgrade parser: good requests, fed whole or in
 * pieces, every refusal and its status, the accept key, the subprotocol. */
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include "handshake.h"

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

/* Heap-allocated so ASan sees any overrun of buf. */
static hs_request *new_req(void)
{
    hs_request *r = malloc(sizeof *r);

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    hs_init(r);
    return r;
}

/* Feeds text in one piece; returns the result and, via *status, r->status. */
static int run(const char *text, int *status)
{
    hs_request *r = new_req();
    size_t used;
    int rc = hs_feed(r, text, strlen(text), &used);

    *status = r->status;
    free(r);
    return rc;
}

static void expect(const char *text, int result, int status)
{
    int got_status, rc = run(text, &got_status);

    CU_ASSERT_EQUAL(rc, result);
    CU_ASSERT_EQUAL(got_status, status);
}

static void test_good_request(void)
{
    hs_request *r = new_req();
    char out[HS_RESPONSE_MAX];
    size_t used;
    int n;

    CU_ASSERT_EQUAL(hs_feed(r, GOOD, strlen(GOOD), &used), HS_DONE);
    CU_ASSERT_EQUAL(used, strlen(GOOD));
    CU_ASSERT_EQUAL(r->status, 101);
    CU_ASSERT_STRING_EQUAL(r->path, "/admin");      /* query removed */
    CU_ASSERT_EQUAL(r->channel, HS_CHANNEL_ADMIN);
    CU_ASSERT_STRING_EQUAL(r->role, "staff");
    CU_ASSERT_STRING_EQUAL(r->user, "7");
    CU_ASSERT_STRING_EQUAL(r->epoch, "abc");
    CU_ASSERT_PTR_NULL(r->resume_epoch);
    CU_ASSERT_EQUAL(r->last_event, -1);
    CU_ASSERT_EQUAL(r->generation, 0);              /* absent: 0 */
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
    const char *text = GOOD "\x81\x85";     /* a frame sent too early */
    size_t len = strlen(text), head = strlen(GOOD), i, used;
    hs_request *r = new_req();
    int rc = HS_NEED_MORE;

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
    CU_ASSERT_EQUAL(hs_feed(r, GOOD, 7, &used), HS_NEED_MORE);
    CU_ASSERT_EQUAL(hs_feed(r, GOOD + 7, head - 9, &used), HS_NEED_MORE);
    CU_ASSERT_EQUAL(hs_feed(r, GOOD + head - 2, 2, &used), HS_DONE);
    CU_ASSERT_EQUAL(used, 2);
    CU_ASSERT_EQUAL(r->channel, HS_CHANNEL_ADMIN);
    free(r);
}

static void test_order_channel(void)
{
    hs_request *r = new_req();
    const char *text = "GET /orders/42 HTTP/1.1\r\n" UPG CONN KEY VER
        "X-Timing-Channel: order\r\nX-Timing-Order: 42\r\n"
        "X-Timing-Last-Event: 17\r\nX-Timing-Resume-Epoch: e1\r\n"
        "x-timing-epoch: e2\r\n" END;
    size_t used;

    CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_DONE);
    CU_ASSERT_EQUAL(r->channel, HS_CHANNEL_ORDER);
    CU_ASSERT_EQUAL(r->order_id, 42);
    CU_ASSERT_EQUAL(r->last_event, 17);
    CU_ASSERT_STRING_EQUAL(r->resume_epoch, "e1");
    CU_ASSERT_STRING_EQUAL(r->epoch, "e2");         /* names are caseless */
    CU_ASSERT_STRING_EQUAL(r->path, "/orders/42");
    free(r);

    expect("GET /orders/42 HTTP/1.1\r\n" UPG CONN KEY VER
           "X-Timing-Channel: order\r\n" END, HS_ERROR, 400);
    expect("GET /orders/42 HTTP/1.1\r\n" UPG CONN KEY VER
           "X-Timing-Channel: order\r\nX-Timing-Order: 4x\r\n" END,
           HS_ERROR, 400);
    expect("GET /orders/0 HTTP/1.1\r\n" UPG CONN KEY VER
           "X-Timing-Channel: order\r\nX-Timing-Order: 0\r\n" END,
           HS_ERROR, 400);
    expect(LINE UPG CONN KEY VER "X-Timing-Channel: everything\r\n" END,
           HS_ERROR, 400);
    expect(LINE UPG CONN KEY VER CHAN "X-Timing-Last-Event: -1\r\n" END,
           HS_ERROR, 400);
    expect(LINE UPG CONN KEY VER CHAN "X-Timing-Epoch: a b\r\n" END,
           HS_ERROR, 400);
    expect(LINE UPG CONN KEY VER CHAN "X-Timing-Resume-Epoch: \xc3\xa9\r\n"
           END, HS_ERROR, 400);
}

/* X-Timing-Generation: the Apache generation the tunnel belongs to. */
static void test_generation(void)
{
    hs_request *r = new_req();
    const char *text = LINE UPG CONN KEY VER CHAN
        "x-timing-generation:  12 \r\n" END;
    size_t used;

    CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_DONE);
    CU_ASSERT_EQUAL(r->generation, 12);
    free(r);

    r = new_req();
    text = LINE UPG CONN KEY VER CHAN "X-Timing-Generation: 0\r\n" END;
    CU_ASSERT_EQUAL(hs_feed(r, text, strlen(text), &used), HS_DONE);
    CU_ASSERT_EQUAL(r->generation, 0);
    free(r);

    expect(LINE UPG CONN KEY VER CHAN "X-Timing-Generation: -1\r\n" END,
           HS_ERROR, 400);
    expect(LINE UPG CONN KEY VER CHAN "X-Timing-Generation: 1x\r\n" END,
           HS_ERROR, 400);
    expect(LINE UPG CONN KEY VER CHAN "X-Timing-Generation:\r\n" END,
           HS_ERROR, 400);
    expect(LINE UPG CONN KEY VER CHAN "X-Timing-Generation: "
           "1234567890123456789\r\n" END, HS_ERROR, 400);
    /* trusted headers come once */
    expect(LINE UPG CONN KEY VER CHAN "X-Timing-Generation: 1\r\n"
           "X-Timing-Generation: 1\r\n" END, HS_ERROR, 400);
}

static void test_header_forms(void)
{
    /* comma lists, any case, optional whitespace */
    expect(LINE "upgrade:WebSocket\r\n"
           "connection: keep-alive ,  UPGRADE\r\n" KEY VER CHAN END,
           HS_DONE, 101);
    expect(LINE UPG "Connection: keep-alive\r\nConnection: upgrade\r\n"
           KEY VER CHAN END, HS_DONE, 101);
    expect(LINE UPG "Connection: upgraded\r\n" KEY VER CHAN END,
           HS_ERROR, 400);
    /* a head of exactly 8 KiB is still fine, one byte more is not */
    {
        static const char prefix[] = LINE UPG CONN KEY VER CHAN "X-Pad: ";
        char *big = malloc(HS_MAX_HEAD + 2);
        size_t pad = HS_MAX_HEAD - (sizeof prefix - 1) - 4;

        CU_ASSERT_PTR_NOT_NULL_FATAL(big);
        memcpy(big, prefix, sizeof prefix - 1);
        memset(big + sizeof prefix - 1, 'a', pad);
        strcpy(big + sizeof prefix - 1 + pad, "\r\n\r\n");
        CU_ASSERT_EQUAL(strlen(big), HS_MAX_HEAD);
        expect(big, HS_DONE, 101);
        memset(big + sizeof prefix - 1, 'a', pad + 1);
        strcpy(big + sizeof prefix - 1 + pad + 1, "\r\n\r\n");
        CU_ASSERT_EQUAL(strlen(big), HS_MAX_HEAD + 1);
        expect(big, HS_ERROR, 400);
        free(big);
    }
}

static void test_refusals(void)
{
    expect("POST /admin HTTP/1.1\r\n" UPG CONN KEY VER CHAN END, HS_ERROR,
           400);
    expect("get /admin HTTP/1.1\r\n" UPG CONN KEY VER CHAN END, HS_ERROR,
           400);
    expect("GET /admin HTTP/1.0\r\n" UPG CONN KEY VER CHAN END, HS_ERROR,
           400);
    expect("GET admin HTTP/1.1\r\n" UPG CONN KEY VER CHAN END, HS_ERROR,
           400);
    expect("GET /admin\r\n" UPG CONN KEY VER CHAN END, HS_ERROR, 400);
    expect("\r\n\r\n", HS_ERROR, 400);
    /* the WebSocket headers */
    expect(LINE CONN KEY VER CHAN END, HS_ERROR, 400);
    expect(LINE "Upgrade: h2c\r\n" CONN KEY VER CHAN END, HS_ERROR, 400);
    expect(LINE UPG KEY VER CHAN END, HS_ERROR, 400);
    expect(LINE UPG CONN VER CHAN END, HS_ERROR, 400);
    expect(LINE UPG CONN "Sec-WebSocket-Key: abc\r\n" VER CHAN END,
           HS_ERROR, 400);
    expect(LINE UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n"
           VER CHAN END, HS_ERROR, 400);    /* R carries stray bits */
    expect(LINE UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n"
           VER CHAN END, HS_ERROR, 400);
    expect(LINE UPG CONN KEY KEY VER CHAN END, HS_ERROR, 400);
    expect(LINE UPG CONN KEY CHAN END, HS_ERROR, 400);
    expect(LINE UPG CONN KEY "Sec-WebSocket-Version: 8\r\n" CHAN END,
           HS_ERROR, 426);
    /* the request's own syntax */
    expect(LINE UPG CONN KEY VER CHAN "no colon here\r\n" END, HS_ERROR,
           400);
    expect(LINE UPG CONN KEY VER CHAN "Bad Name: x\r\n" END, HS_ERROR, 400);
    expect(LINE UPG CONN KEY VER CHAN ": x\r\n" END, HS_ERROR, 400);
    expect(LINE UPG CONN KEY VER CHAN "X-A: b\r\n folded\r\n" END, HS_ERROR,
           400);
    expect(LINE UPG CONN KEY VER CHAN "X-A: b\nX-B: c\r\n" END, HS_ERROR,
           400);
    expect(LINE UPG CONN KEY VER CHAN "X-A: b\x01\r\n" END, HS_ERROR, 400);
    expect(LINE UPG CONN KEY VER CHAN CHAN END, HS_ERROR, 400);
    /* not through mod_timing */
    expect(LINE HOST UPG CONN KEY VER END, HS_ERROR, 403);
}

static void test_nul_and_size(void)
{
    static const char with_nul[] = LINE UPG CONN "X-A: a\0b\r\n" KEY VER
                                   CHAN END;
    hs_request *r = new_req();
    char out[HS_RESPONSE_MAX];
    char *big;
    size_t used, total = 0;
    int rc = HS_NEED_MORE;

    CU_ASSERT_EQUAL(hs_feed(r, with_nul, sizeof with_nul - 1, &used),
                    HS_ERROR);
    CU_ASSERT_EQUAL(r->status, 400);
    free(r);

    /* a head that never ends is refused once it passes 8 KiB */
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
    CU_ASSERT_EQUAL(r->status, 400);
    CU_ASSERT_EQUAL(total, HS_MAX_HEAD);
    CU_ASSERT_TRUE(hs_response(r, out, sizeof out) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "HTTP/1.1 400 Bad Request\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Connection: close\r\n"));
    free(big);
    free(r);
}

static void test_refusal_answers(void)
{
    static const char *const wrong_version =
        LINE UPG CONN KEY "Sec-WebSocket-Version: 7\r\n" CHAN END;
    static const char *const no_channel = LINE UPG CONN KEY VER END;
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
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "HTTP/1.1 403 Forbidden\r\n"));
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
    char text[1024], out[HS_RESPONSE_MAX];
    size_t i, used;

    for (i = 0; i < nyes + nno; i++) {
        int yes = i < nyes;
        const char *p = yes ? offered[i] : not_offered[i - nyes];
        hs_request *r = new_req();

        snprintf(text, sizeof text, "%s%s%s", LINE UPG CONN KEY VER CHAN, p,
                 END);
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
    CU_pSuite s = CU_add_suite("handshake.c", NULL, NULL);

    if (!s
        || !CU_add_test(s, "good request", test_good_request)
        || !CU_add_test(s, "split across feeds", test_split_feeds)
        || !CU_add_test(s, "order channel and trusted headers",
                        test_order_channel)
        || !CU_add_test(s, "X-Timing-Generation", test_generation)
        || !CU_add_test(s, "header lists, case and the 8 KiB edge",
                        test_header_forms)
        || !CU_add_test(s, "every refusal and its status", test_refusals)
        || !CU_add_test(s, "NUL byte, over 8 KiB", test_nul_and_size)
        || !CU_add_test(s, "refusal answers", test_refusal_answers)
        || !CU_add_test(s, "RFC 6455 accept key", test_accept_key)
        || !CU_add_test(s, "subprotocol echoed only when offered",
                        test_subprotocol)) {
        return -1;
    }
    return 0;
}
