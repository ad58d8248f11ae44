#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora in fuzz/corpus/<harness>/: small, meaningful
inputs (valid requests, tokens, frames, datagrams) the fuzzers start from.
The files are kept in git; run this again only to change them."""
import base64, hashlib, hmac, json, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = b"fuzzing-key-fuzzing-key-fuzzing-key!"   # fuzz_jwt.c's key


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def order_body():
    write("order_body", "order", json.dumps({
        "customer_info": {"name": "สมชาย", "phone": "+66 81 234 5678",
                          "email": "somchai@example.com"},
        "items": [{"menu_id": 1, "quantity": 2, "note": "ไม่เผ็ด"},
                  {"menu_id": 4, "quantity": 1}],
        "note": "Pick up at 12:30"}, ensure_ascii=False))
    write("order_body", "order-problems", '{"customer_info":{"name":""},'
          '"items":[{"menu_id":0,"quantity":100},"x",{"menu_id":1.5}]}')
    write("order_body", "login", '{"email":"admin@example.com",'
          '"password":"correct horse battery"}')
    write("order_body", "menu-item", '{"name":"Pad Thai","price":65.50,'
          '"available":true,"date":"2024-02-29"}')
    write("order_body", "not-finite", '{"price":NaN,"x":[Infinity]}')
    write("order_body", "deep", "[" * 20 + "]" * 20)
    write("order_body", "trailing", '{"a":1} {"b":2}')
    write("order_body", "bad-utf8", b'{"customer_info":{"name":"\xc3\x28"}}')
    write("order_body", "escapes", '{"customer_info":{"name":"a\\u0000b'
          '\\ud83d\\ude00"},"items":[]}')
    write("order_body", "null", "null")
    # Numbers in every RFC 8259 form, and what json-c takes beyond JSON.
    write("order_body", "number-forms", '{"customer_info":{"name":"N"},'
          '"items":[{"menu_id":1e0,"quantity":2.0},{"menu_id":1,'
          '"quantity":2e0},{"menu_id":1,"quantity":1E+1},{"menu_id":1,'
          '"quantity":20e-1}],"price":6.5e1}')
    write("order_body", "number-range", '{"customer_info":{"name":"N"},'
          '"items":[{"menu_id":1e400,"quantity":2.5},{"menu_id":1,'
          '"quantity":1e20},{"menu_id":-1e400,"quantity":1e-400}],'
          '"price":1e400}')
    write("order_body", "not-json-numbers", '[1.,1.e3,-01,01,.5,+1]')
    write("order_body", "single-quotes", "{'customer_info':{'name':'N'},"
          "\"items\":[{\"menu_id\":1,'quantity':1}]}")
    write("order_body", "raw-controls", '{"customer_info":{"name":"a\tb"},'
          '"note":"x\ny\x01\x1f","items":[{"menu_id":1,"quantity":1}]}')


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def token(header, claims, key=KEY):
    signing = b64url(json.dumps(header).encode()) + b"." + \
        b64url(json.dumps(claims).encode())
    sig = hmac.new(key, signing, hashlib.sha256).digest()
    return signing + b"." + b64url(sig)


def jwt():
    good = {"sub": "12", "role": "staff", "name": "Noi", "iss": "timing",
            "iat": 1700000000, "exp": 4102444800}
    hs = {"alg": "HS256", "typ": "JWT"}
    write("jwt", "valid", b"\x00" + token(hs, good))
    write("jwt", "wrong-key", b"\x00" + token(hs, good, b"another-key" * 4))
    write("jwt", "alg-none", b"\x00" + b64url(b'{"alg":"none"}') + b"." +
          b64url(json.dumps(good).encode()) + b".")
    write("jwt", "alg-rs256", b"\x00" + token({"alg": "RS256"}, good))
    write("jwt", "expired", b"\x00" + token(hs, dict(good, exp=1000)))
    write("jwt", "claims", b"\x01" + json.dumps(good).encode())
    write("jwt", "token-version", b"\x00" + token(hs, dict(good, tv=3)))
    write("jwt", "claims-bad-version", b"\x01" + json.dumps(
        dict(good, tv="0")).encode())
    write("jwt", "claims-bad", b"\x01" + json.dumps(
        {"sub": "012", "role": "root", "iss": "other", "iat": "x",
         "exp": 4102444800.5}).encode())


def query():
    cursor = b64url(b"tm1:100").decode()
    write("query", "admin-list", f"status=pending&limit=20&cursor={cursor}")
    write("query", "events", "after=5&limit=1000")
    write("query", "escapes", "name=%E0%B8%81%E0%B8%B2&b=x+y&flag&=v&&")
    write("query", "bad-escape", "a=%zz&b=%0")
    write("query", "nul", "a=%00")
    write("query", "ws", "token=abc.def.ghi&last_event_id=42&epoch=e1")
    write("query", "cursor-only", cursor)


HEAD = ("GET /admin?token=x HTTP/1.1\r\nHost: localhost\r\n"
        "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: timing.v1, bearer.abc\r\n")

# fuzz_handshake.c's fixed secret and clock: seeds sealed with them keep
# reaching the checks behind the seal for as long as the fuzzer leaves
# the sealed fields alone.
HS_SECRET = b"timing handshake fuzzing secret, fixed, 32+ bytes"
HS_NOW = 1700000000000
SEAL_WINDOW_MS = 60000          # timing_proto.h TP_SEAL_WINDOW_MS

# What an upgrade's seal covers, in enum tp_upgrade_field order.
SEALED = ["Sec-WebSocket-Key", "X-Timing-Channel", "X-Timing-Role",
          "X-Timing-User", "X-Timing-Order", "X-Timing-Last-Event",
          "X-Timing-Resume-Epoch", "X-Timing-Epoch", "X-Timing-Generation",
          "X-Timing-Newest-Event", "X-Timing-Max-Age", "X-Timing-Client",
          "X-Timing-Limits", "X-Timing-Sent"]


def upgrade_seal(values, secret=HS_SECRET):
    """tp_seal_upgrade: HMAC-SHA256 over "timing-upgrade/2\\n" and, per
    field, "<len>:<value>\\n" or "-\\n"; hex in upper case, as OpenSSL's
    OPENSSL_buf2hexstr_ex prints it (tests/unit/test_proto.c pins one
    answer that this function gives too)."""
    text = "timing-upgrade/2\n" + "".join(
        "-\n" if v is None else "%d:%s\n" % (len(v.encode()), v)
        for v in values)
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest().upper()


def sealed(head, sent=HS_NOW, secret=HS_SECRET, client="192.0.2.1",
           limits="500 50 20 100"):
    """head (header lines, no blank line) as mod_timing seals it: the
    client, limits and time added, then X-Timing-Seal over the values the
    parser will see (first of each header, names caseless, trimmed)."""
    add = {"X-Timing-Client": client, "X-Timing-Limits": limits,
           "X-Timing-Sent": str(sent)}
    for name, value in add.items():
        if value is not None and ("\r\n" + name.lower() + ":") \
                not in head.lower():
            head += "%s: %s\r\n" % (name, value)
    values = [None] * len(SEALED)
    for line in head.split("\r\n")[1:]:
        name, colon, value = line.partition(":")
        for i, field in enumerate(SEALED):
            if colon and values[i] is None and name.lower() == field.lower():
                values[i] = value.strip(" \t")
    return head + "X-Timing-Seal: %s\r\n\r\n" % upgrade_seal(values, secret)


def handshake():
    # The known answer of tests/unit/test_proto.c: same canonical text.
    assert upgrade_seal(["dGhlIHNhbXBsZSBub25jZQ==", "admin", "staff"] +
                        [None] * 10 + ["1700000000123"],
                        b"0123456789abcdef0123456789abcdef") == \
        "CD03DEA565B638C5593AE5360CD1DE88B9D2D00BF5B929397379F8D64935AB7D"
    admin = (HEAD + "X-Timing-Channel: admin\r\nX-Timing-Role: staff\r\n"
             "X-Timing-User: 3\r\nX-Timing-Epoch: e1\r\n"
             "X-Timing-Generation: 2\r\nX-Timing-Max-Age: 10800000\r\n")
    write("handshake", "admin", b"\x00" + sealed(admin).encode())
    write("handshake", "order-resume", b"\x07" + sealed(HEAD.replace(
        "/admin?token=x", "/orders/9") +
        "X-Timing-Channel: order\r\nX-Timing-Order: 9\r\n"
        "X-Timing-Last-Event: 41\r\nX-Timing-Resume-Epoch: other\r\n"
        "X-Timing-Newest-Event: 44\r\n", client="2001:db8::7").encode())
    write("handshake", "no-channel", b"\x03" + sealed(HEAD).encode())
    write("handshake", "version-8", b"\x00" + sealed(HEAD.replace(
        "Version: 13", "Version: 8") + "X-Timing-Channel: admin\r\n")
        .encode())
    write("handshake", "frames-after", b"\x00" + sealed(
        HEAD + "X-Timing-Channel: admin\r\n").encode() + b"\x81\x80abcd")
    write("handshake", "limits-bad", b"\x05" + sealed(
        HEAD + "X-Timing-Channel: admin\r\n", limits="1 2 3").encode())
    # Sealed, so answered 400: one refusal behind the seal each (the
    # fuzzer cannot forge a seal, so only seeds lead it there).
    bad = {
        "order-zero": "X-Timing-Channel: order\r\nX-Timing-Order: 0\r\n",
        "channel-unknown": "X-Timing-Channel: everything\r\n",
        "last-event-bad": "X-Timing-Channel: admin\r\n"
                          "X-Timing-Last-Event: -1\r\n",
        "newest-bad": "X-Timing-Channel: admin\r\n"
                      "X-Timing-Newest-Event: 1x\r\n",
        "generation-bad": "X-Timing-Channel: admin\r\n"
                          "X-Timing-Generation: 99999999999999999999\r\n",
        "max-age-bad": "X-Timing-Channel: admin\r\nX-Timing-Max-Age: x\r\n",
        "epoch-bad": "X-Timing-Channel: admin\r\nX-Timing-Epoch: a b\r\n",
    }
    for name, lines in bad.items():
        write("handshake", name, b"\x00" + sealed(HEAD + lines).encode())
    write("handshake", "client-missing", b"\x00" + sealed(
        HEAD + "X-Timing-Channel: admin\r\n", client=None).encode())
    write("handshake", "key-bad", b"\x00" + sealed(HEAD.replace(
        "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZR==") +
        "X-Timing-Channel: admin\r\n").encode())
    write("handshake", "no-upgrade", b"\x00" + sealed(HEAD.replace(
        "Upgrade: websocket\r\n", "") + "X-Timing-Channel: admin\r\n")
        .encode())
    # Refused unanswered: not sealed, sealed under another secret or out
    # of date, a trusted header added after sealing.
    write("handshake", "unsealed", b"\x00" + (admin + "\r\n").encode())
    write("handshake", "other-secret", b"\x00" + sealed(
        admin, secret=b"another secret, also 32 bytes or more").encode())
    write("handshake", "stale", b"\x00" + sealed(
        admin, sent=HS_NOW - SEAL_WINDOW_MS - 1).encode())
    write("handshake", "added-role", b"\x00" + sealed(admin).replace(
        "X-Timing-Seal", "X-Timing-Role: admin\r\nX-Timing-Seal").encode())


def frame(opcode, payload, fin=True, mask=b"\x11\x22\x33\x44"):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = bytes([b0, 0x80 | n])
    elif n < 65536:
        head = bytes([b0, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, 0x80 | 127]) + struct.pack(">Q", n)
    body = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + mask + body


def ws_frames():
    ping = b'{"type":"ping"}'
    write("ws_frames", "json-ping", b"\x00" + frame(1, ping))
    write("ws_frames", "customer-pings", b"\x01" + frame(1, ping) +
          frame(9, b"hi") + frame(1, ping))
    write("ws_frames", "fragmented", b"\x02" + frame(1, b'{"type":', False)
          + frame(9, b"") + frame(0, b'"ping"}'))
    write("ws_frames", "close", b"\x03" + frame(8, struct.pack(">H", 1000)
          + b"bye"))
    write("ws_frames", "binary-and-junk", b"\x00" + frame(2, b"\x00\x01") +
          frame(1, b"not json") + frame(1, b"\xff\xfe"))
    write("ws_frames", "long", b"\x00" + frame(1, b'{"type":"ping","x":"' +
          b"a" * 300 + b'"}'))
    write("ws_frames", "unmasked", b"\x00" + b"\x81\x05hello")


def record(kind, body):
    return bytes([kind]) + struct.pack(">H", len(body)) + body


def event(eid, oid, typ="newOrder", epoch="e1", **extra):
    e = {"event_id": eid, "order_id": oid, "type": typ, "epoch": epoch,
         "staff": {"type": typ, "event_id": eid,
                   "data": {"id": oid, "status": "pending",
                            "customer_name": "สมชาย"}}}
    if typ == "orderStatusUpdate":
        e["customer"] = {"type": typ, "event_id": eid,
                         "data": {"id": oid, "status": "ready"}}
    e.update(extra)
    return json.dumps(e, ensure_ascii=False).encode()


# fuzz/eventd_rig.h's secret.
RIG_SECRET = b"timing-eventd fuzz rig: a fixed secret, not a real one"


def datagram(typ, body, sent_ms, secret=RIG_SECRET):
    """A whole sealed datagram (timing_proto.h tp_encode)."""
    d = struct.pack(">IHHIq", 0x544d4e31, 2, typ, len(body), sent_ms) + body
    return d + hmac.new(secret, d, hashlib.sha256).digest()


def eventd_datagram():
    write("eventd_datagram", "events",
          record(1, event(1, 1)) +
          record(1, event(2, 1, "orderStatusUpdate")) +
          record(1, event(4, 2, failed_sends=1)))
    write("eventd_datagram", "epoch-change",
          record(1, event(1, 1)) + record(1, event(1, 1, epoch="e2")))
    write("eventd_datagram", "stats-generation-revoke",
          record(2, b"") + record(4, b'{"generation":3}') +
          record(5, b'{"user_id":"7"}') + record(4, b'{"generation":-1}'))
    # Kind 0xff goes in as it is: version 1 (unsealed, 12-byte header), a
    # short one, and version 2 datagrams sealed long ago (stale) or under
    # another secret, which the daemon counts as unverified.
    raw = struct.pack(">IHHI", 0x544d4e31, 1, 1, 2) + b"{}"
    # Revocations from the outbox: their ids are watched with the events'
    # (3 never comes), and failed sends are reported on them too.
    write("eventd_datagram", "revoke-outbox",
          record(1, event(1, 1)) +
          record(5, b'{"epoch":"e1","event_id":2,"user_id":"7",'
                    b'"failed_sends":0}') +
          record(1, event(4, 2)) +
          record(5, b'{"epoch":"e1","event_id":5,"user_id":"8",'
                    b'"failed_sends":2}') +
          record(5, b'{"event_id":"6","user_id":"9"}') +
          record(5, b'{"event_id":0,"user_id":"9"}'))
    write("eventd_datagram", "raw", record(0xff, raw) +
          record(0xff, struct.pack(">IHHI", 0x544d4e31, 2, 1, 0)) +
          record(0xff, b"short"))
    write("eventd_datagram", "raw-sealed",
          record(0xff, datagram(1, event(1, 1), HS_NOW)) +
          record(0xff, datagram(1, event(2, 1), HS_NOW,
                                b"not the rig's secret, 32 bytes+")) +
          record(0xff, datagram(2, b"", HS_NOW)[:-1]))
    write("eventd_datagram", "bad-bodies",
          record(1, b'{"event_id":"1"}') + record(1, b"[1,2]") +
          record(1, b'{"event_id":1,"order_id":1,"type":"x","staff":{}}') +
          record(1, b'{"a":1}\x00') + record(7, b"{}"))


if __name__ == "__main__":
    order_body(); jwt(); query(); handshake(); ws_frames(); eventd_datagram()
