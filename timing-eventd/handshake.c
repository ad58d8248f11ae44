/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handshake.c -- parses the WebSocket upgrade request and builds the answer.
 *
 * The only HTTP parser in the project, so it is strict and small: one
 * request head of at most HS_MAX_HEAD bytes, CRLF line ends, no NUL, no
 * obsolete line folding, header names that are tokens.  It checks what
 * RFC 6455 section 4.2.1 asks of an upgrade, then the trusted X-Timing-*
 * headers mod_timing sets.  Those are believed only under a seal that
 * verifies (timing_proto.h): a request without one did not come through
 * mod_timing, and gets no answer at all (status 0), like a head that
 * cannot even be read; only a sealed request is answered, 101 or an
 * HTTP refusal.  It decides nothing about the subscription itself and
 * touches no socket: ws_session.c reads, writes and acts on the result.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <apr_base64.h>
#include <apr_sha1.h>

#include "handshake.h"
#include "timing_proto.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* What the header lines said, before the checks that need all of them.
 * The sealed values are indexed by enum tp_upgrade_field. */
typedef struct hs_seen {
    int upgrade;            /* Upgrade lists websocket */
    int connection;         /* Connection lists upgrade */
    const char *version;
    const char *seal;
    const char *sealed[TP_UF_COUNT];
} hs_seen;

void hs_init(hs_request *r, const unsigned char *secret, size_t secret_len,
             int64_t now_ms)
{
    memset(r, 0, offsetof(hs_request, buf));
    r->buf[0] = '\0';
    r->last_event = -1;
    r->result = HS_NEED_MORE;
    r->secret = secret;
    r->secret_len = secret_len;
    r->now_ms = now_ms;
}

/* Until the seal has verified, a refusal is answered with nothing, and
 * counted as a message that did not come from mod_timing. */
static int refuse(hs_request *r, int status, const char *reason)
{
    r->status = r->sealed ? status : 0;
    r->unverified = !r->sealed;
    r->reason = reason;
    r->result = HS_ERROR;
    return HS_ERROR;
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')) {
        return 1;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Does the comma-separated list v contain the element tok?  Elements are
 * trimmed of optional whitespace; empty ones are allowed and skipped. */
static int list_has(const char *v, const char *tok, int nocase)
{
    size_t toklen = strlen(tok);

    while (*v) {
        const char *start, *end;

        while (is_ows(*v) || *v == ',') {
            v++;
        }
        start = v;
        while (*v && *v != ',') {
            v++;
        }
        end = v;
        while (end > start && is_ows(end[-1])) {
            end--;
        }
        if ((size_t)(end - start) == toklen
            && (nocase ? strncasecmp(start, tok, toklen)
                       : strncmp(start, tok, toklen)) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A Sec-WebSocket-Key must be the base64 of exactly 16 bytes: 22
 * significant characters, the last carrying only 2 bits, then "==". */
static int key_valid(const char *key)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int i;

    if (strlen(key) != 24 || key[22] != '=' || key[23] != '=') {
        return 0;
    }
    for (i = 0; i < 22; i++) {
        if (key[i] == '\0' || !strchr(b64, key[i])) {
            return 0;
        }
    }
    return strchr("AQgw", key[21]) != NULL;
}

/* Visible ASCII only: the epoch is echoed in a JSON text frame, and a
 * stray byte there would be invalid UTF-8 to every browser. */
static int visible_ascii(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x21 || c > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* Decimal digits only, at most 18 of them, so the value fits an int64_t
 * without overflow checks. */
static int parse_id(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t i, n = strlen(s);

    if (n == 0 || n > 18) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int hs_accept_key(const char *key, size_t keylen,
                  char out[HS_ACCEPT_LEN + 1])
{
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    apr_sha1_ctx_t ctx;

    if (keylen > HS_MAX_HEAD) {
        return -1;
    }
    apr_sha1_init(&ctx);
    apr_sha1_update(&ctx, key, (unsigned int)keylen);
    apr_sha1_update(&ctx, WS_GUID, sizeof WS_GUID - 1);
    apr_sha1_final(digest, &ctx);
    /* 20 bytes encode to exactly 28 characters plus the NUL. */
    apr_base64_encode(out, (const char *)digest, APR_SHA1_DIGESTSIZE);
    return 0;
}

/* One header line, already split into a token name and a trimmed value. */
static int take_header(hs_request *r, hs_seen *seen, const char *name,
                       const char *value)
{
    int i;

    if (strcasecmp(name, "Upgrade") == 0) {
        seen->upgrade |= list_has(value, "websocket", 1);
    }
    else if (strcasecmp(name, "Connection") == 0) {
        seen->connection |= list_has(value, "upgrade", 1);
    }
    else if (strcasecmp(name, "Sec-WebSocket-Key") == 0) {
        if (seen->sealed[TP_UF_WS_KEY]) {
            return refuse(r, 400, "Sec-WebSocket-Key given twice");
        }
        seen->sealed[TP_UF_WS_KEY] = value;
    }
    else if (strcasecmp(name, "Sec-WebSocket-Version") == 0) {
        if (seen->version) {
            return refuse(r, 400, "Sec-WebSocket-Version given twice");
        }
        seen->version = value;
    }
    else if (strcasecmp(name, "Sec-WebSocket-Protocol") == 0) {
        /* Subprotocol names compare case-sensitively (RFC 6455 4.1). */
        r->subprotocol |= list_has(value, TP_SUBPROTOCOL, 0);
    }
    else if (strcasecmp(name, TP_HDR_SEAL) == 0) {
        if (seen->seal) {
            return refuse(r, 400, "trusted header given twice");
        }
        seen->seal = value;
    }
    else if (strncasecmp(name, TP_HDR_PREFIX, sizeof TP_HDR_PREFIX - 1)
             == 0) {
        for (i = TP_UF_CHANNEL; i < TP_UF_COUNT; i++) {
            if (strcasecmp(name, tp_upgrade_headers[i]) == 0) {
                /* mod_timing sets each once; two means something other
                 * than mod_timing had a hand in this request. */
                if (seen->sealed[i]) {
                    return refuse(r, 400, "trusted header given twice");
                }
                seen->sealed[i] = value;
                break;
            }
        }
    }
    return HS_NEED_MORE;
}

/* "S T O A U": five numbers separated by spaces.  Four, from a module of
 * the release before, leave the tunnels' share the whole. */
static int parse_limits(const char *s, int64_t out[HS_LIMITS])
{
    char buf[100];
    char *field, *state = NULL;
    size_t n = strlen(s);
    int i = 0;

    if (n >= sizeof buf) {
        return -1;
    }
    memcpy(buf, s, n + 1);
    for (field = strtok_r(buf, " ", &state); field;
         field = strtok_r(NULL, " ", &state)) {
        if (i == HS_LIMITS || parse_id(field, &out[i])) {
            return -1;
        }
        i++;
    }
    if (i == HS_LIMITS - 1) {
        out[HS_LIMIT_TUNNEL] = out[HS_LIMIT_SOCKETS];
        return 0;
    }
    return i == HS_LIMITS ? 0 : -1;
}

/* Believes the trusted headers only when mod_timing sealed them, lately,
 * under our secret.  Until then every refusal is silent. */
static int verify_seal(hs_request *r, hs_seen *seen)
{
    char canonical[HS_MAX_HEAD + 64 * TP_UF_COUNT];
    char mine[TP_SEAL_HEX_LEN + 1];
    int64_t sent;

    if (!seen->seal || strlen(seen->seal) != TP_SEAL_HEX_LEN || !r->secret
        || tp_seal_upgrade(r->secret, r->secret_len, seen->sealed,
                           canonical, sizeof canonical, mine) != 0
        || CRYPTO_memcmp(mine, seen->seal, TP_SEAL_HEX_LEN) != 0) {
        return refuse(r, 0, "no valid X-Timing-Seal: not from mod_timing");
    }
    if (!seen->sealed[TP_UF_SENT] || parse_id(seen->sealed[TP_UF_SENT], &sent)
        || sent < r->now_ms - TP_SEAL_WINDOW_MS
        || sent > r->now_ms + TP_SEAL_WINDOW_MS) {
        return refuse(r, 0, "X-Timing-Seal is out of date");
    }
    r->sealed = 1;
    return 0;
}

static int take_trusted(hs_request *r, const hs_seen *seen);

/* Splits buf (a complete head ending in CRLF CRLF, NUL-terminated) into
 * lines and checks everything.  Works in place: CRLFs become NULs. */
static int parse(hs_request *r)
{
    hs_seen seen;
    char *p = r->buf, *eol, *method, *target, *version, *q;
    int rc;

    memset(&seen, 0, sizeof seen);
    if (memchr(r->buf, '\0', r->len)) {
        return refuse(r, 400, "NUL byte in request head");
    }
    /* The head ends in CRLF CRLF, so every line below has its CRLF.  No
     * leniency for empty lines before the request line (RFC 9112 2.2
     * allows it): Apache never sends them, and the head "\r\n\r\n" is
     * then simply a malformed request line. */
    eol = strstr(p, "\r\n");
    *eol = '\0';
    if (strpbrk(p, "\r\n")) {
        return refuse(r, 400, "bare CR or LF in request line");
    }
    method = p;
    target = strchr(method, ' ');
    if (!target) {
        return refuse(r, 400, "malformed request line");
    }
    *target++ = '\0';
    version = strchr(target, ' ');
    if (!version) {
        return refuse(r, 400, "malformed request line");
    }
    *version++ = '\0';
    if (strcmp(method, "GET") != 0) {
        return refuse(r, 400, "method is not GET");
    }
    if (strcmp(version, "HTTP/1.1") != 0) {
        return refuse(r, 400, "protocol is not HTTP/1.1");
    }
    if (target[0] != '/') {
        return refuse(r, 400, "request target is not a path");
    }
    q = strchr(target, '?');
    if (q) {
        *q = '\0';
    }
    r->path = target;

    for (p = eol + 2; !(p[0] == '\r' && p[1] == '\n'); p = eol + 2) {
        char *colon, *value, *end, *c;

        eol = strstr(p, "\r\n");
        *eol = '\0';
        if (is_ows(p[0])) {
            return refuse(r, 400, "obsolete header line folding");
        }
        colon = strchr(p, ':');
        if (!colon) {
            return refuse(r, 400, "header line without a colon");
        }
        *colon = '\0';
        if (p == colon) {
            return refuse(r, 400, "empty header name");
        }
        for (c = p; c < colon; c++) {
            if (!is_tchar((unsigned char)*c)) {
                return refuse(r, 400, "bad character in header name");
            }
        }
        value = colon + 1;
        while (is_ows(*value)) {
            value++;
        }
        end = value + strlen(value);
        while (end > value && is_ows(end[-1])) {
            end--;
        }
        *end = '\0';
        for (c = value; c < end; c++) {
            unsigned char u = (unsigned char)*c;

            if ((u < 0x20 && u != '\t') || u == 0x7f) {
                return refuse(r, 400, "control character in header value");
            }
        }
        if (take_header(r, &seen, p, value) == HS_ERROR) {
            return HS_ERROR;
        }
    }

    if ((rc = verify_seal(r, &seen)) != 0) {
        return rc;
    }

    if (!seen.upgrade) {
        return refuse(r, 400, "Upgrade does not name websocket");
    }
    if (!seen.connection) {
        return refuse(r, 400, "Connection does not list upgrade");
    }
    if (!seen.sealed[TP_UF_WS_KEY]) {
        return refuse(r, 400, "no Sec-WebSocket-Key");
    }
    if (!key_valid(seen.sealed[TP_UF_WS_KEY])) {
        return refuse(r, 400, "Sec-WebSocket-Key is not 16 bytes of base64");
    }
    if (!seen.version) {
        return refuse(r, 400, "no Sec-WebSocket-Version");
    }
    if (strcmp(seen.version, "13") != 0) {
        return refuse(r, 426, "Sec-WebSocket-Version is not 13");
    }
    return take_trusted(r, &seen);
}

/* The trusted headers of a sealed request. */
static int take_trusted(hs_request *r, const hs_seen *seen)
{
    const char *const *xt = seen->sealed;

    if (!xt[TP_UF_CHANNEL]) {
        return refuse(r, 400, "no X-Timing-Channel");
    }
    if (strcmp(xt[TP_UF_CHANNEL], "admin") == 0) {
        r->channel = HS_CHANNEL_ADMIN;
    }
    else if (strcmp(xt[TP_UF_CHANNEL], "order") == 0) {
        r->channel = HS_CHANNEL_ORDER;
        if (!xt[TP_UF_ORDER] || parse_id(xt[TP_UF_ORDER], &r->order_id)
            || r->order_id <= 0) {
            return refuse(r, 400, "order channel without a valid order id");
        }
    }
    else {
        return refuse(r, 400, "unknown X-Timing-Channel");
    }
    if (xt[TP_UF_LAST_EVENT]
        && parse_id(xt[TP_UF_LAST_EVENT], &r->last_event)) {
        return refuse(r, 400, "X-Timing-Last-Event is not a number");
    }
    if (xt[TP_UF_NEWEST_EVENT]
        && parse_id(xt[TP_UF_NEWEST_EVENT], &r->newest_event)) {
        return refuse(r, 400, "X-Timing-Newest-Event is not a number");
    }
    if (xt[TP_UF_GENERATION]
        && parse_id(xt[TP_UF_GENERATION], &r->generation)) {
        return refuse(r, 400, "X-Timing-Generation is not a number");
    }
    if (xt[TP_UF_MAX_AGE]
        && parse_id(xt[TP_UF_MAX_AGE], &r->max_age_ms)) {
        return refuse(r, 400, "X-Timing-Max-Age is not a number");
    }
    if (xt[TP_UF_EPOCH] && !visible_ascii(xt[TP_UF_EPOCH])) {
        return refuse(r, 400, "epoch is not visible ASCII");
    }
    if (xt[TP_UF_RESUME_EPOCH]) {
        if (strcmp(xt[TP_UF_RESUME_EPOCH], TP_RESUME_OTHER) == 0) {
            r->other_epoch = 1;
        }
        else if (strcmp(xt[TP_UF_RESUME_EPOCH], TP_RESUME_SAME) != 0) {
            return refuse(r, 400, "X-Timing-Resume-Epoch is neither same "
                          "nor other");
        }
    }
    if (!xt[TP_UF_CLIENT] || !*xt[TP_UF_CLIENT]
        || !visible_ascii(xt[TP_UF_CLIENT])) {
        return refuse(r, 400, "no X-Timing-Client");
    }
    if (!xt[TP_UF_LIMITS] || parse_limits(xt[TP_UF_LIMITS], r->limits)) {
        return refuse(r, 400, "X-Timing-Limits is not four numbers");
    }
    r->role = xt[TP_UF_ROLE];
    r->user = xt[TP_UF_USER];
    r->epoch = xt[TP_UF_EPOCH];
    r->client = xt[TP_UF_CLIENT];
    hs_accept_key(xt[TP_UF_WS_KEY], strlen(xt[TP_UF_WS_KEY]), r->accept);
    r->status = 101;
    r->result = HS_DONE;
    return HS_DONE;
}

int hs_feed(hs_request *r, const char *data, size_t n, size_t *used)
{
    size_t take, from, before = r->len, head;
    const char *end;

    *used = 0;
    if (r->result != HS_NEED_MORE) {
        return r->result;
    }
    take = HS_MAX_HEAD - r->len;
    if (take > n) {
        take = n;
    }
    memcpy(r->buf + r->len, data, take);
    r->len += take;
    r->buf[r->len] = '\0';

    /* The terminator may straddle the previous feed: look 3 bytes back. */
    from = before >= 3 ? before - 3 : 0;
    end = memmem(r->buf + from, r->len - from, "\r\n\r\n", 4);
    if (!end) {
        *used = take;
        if (r->len == HS_MAX_HEAD) {
            return refuse(r, 400, "request head over 8 KiB");
        }
        return HS_NEED_MORE;
    }
    head = (size_t)(end - r->buf) + 4;
    *used = head - before;
    r->len = head;
    r->buf[head] = '\0';
    return parse(r);
}

static const char *status_text(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

void hs_refuse_admission(hs_request *r, int status, const char *code,
                         int retry_after)
{
    r->status = status;
    r->reason = code;
    r->retry_after = retry_after;
    r->result = HS_ERROR;
}

int hs_response(const hs_request *r, char *out, size_t outlen)
{
    int n;

    if (r->result == HS_DONE) {
        n = snprintf(out, outlen,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "%s"
                     "\r\n",
                     r->accept,
                     r->subprotocol ? "Sec-WebSocket-Protocol: "
                                      TP_SUBPROTOCOL "\r\n" : "");
    }
    else if (r->result == HS_ERROR && r->status == 0) {
        return 0;
    }
    else if (r->result == HS_ERROR && r->retry_after > 0) {
        /* Admission: the API's envelope, as a client expects of a 429 or
         * 503; the code is our constant, never request data. */
        char body[160];
        int blen = snprintf(body, sizeof body,
                            "{\"success\":false,\"error\":{\"code\":\"%s\","
                            "\"message\":\"too many live connections; "
                            "retry later\"}}\n", r->reason);

        if (blen < 0 || (size_t)blen >= sizeof body) {
            return -1;
        }
        n = snprintf(out, outlen,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %d\r\n"
                     "Retry-After: %d\r\n"
                     "Connection: close\r\n"
                     "\r\n"
                     "%s",
                     r->status, status_text(r->status), blen,
                     r->retry_after, body);
    }
    else if (r->result == HS_ERROR) {
        /* The body is our own constant reason, never request data. */
        n = snprintf(out, outlen,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "%s"
                     "\r\n"
                     "%s\n",
                     r->status, status_text(r->status),
                     strlen(r->reason) + 1,
                     r->status == 426 ? "Upgrade: websocket\r\n"
                                        "Sec-WebSocket-Version: 13\r\n" : "",
                     r->reason);
    }
    else {
        return -1;
    }
    if (n < 0 || (size_t)n >= outlen) {
        return -1;
    }
    return n;
}
