# SPDX-License-Identifier: Apache-2.0
"""Server-initiated closes that mod_timing asks for: a disabled user's
sockets end with `auth` (1008), and after Apache's graceful restart the
old generation's tunnelled sockets are recycled with `reconnect` (1012) so
the old processes can exit.  Handed-off sockets belong to no Apache
process and stay (test_handoff.py); the recycling tests run on a stack
with TimingWebSocketHandoff off."""

import asyncio
import random

from client import (auth, request, run, token_of, until_closed, ws_next,
                    ws_open)


def staff_member(stack, admin_token):
    email = "recycle%d@example.com" % random.randint(0, 10 ** 9)
    ans = request(stack, "POST", "/api/admin/users", body={
        "name": "Recycled", "email": email, "password": "staff-pass-1",
        "role": "staff"}, headers=auth(admin_token))
    assert ans.status == 201, ans
    return (ans.json["data"]["user"]["id"],
            token_of(stack, email, "staff-pass-1"))


def test_disabling_a_user_ends_their_sockets(stack, admin_token):
    user_id, token = staff_member(stack, admin_token)

    async def scenario():
        theirs = await ws_open(stack, "/admin?token=" + token)
        mine = await ws_open(stack, "/admin?token=" + admin_token)
        await ws_next(theirs)
        await ws_next(mine)
        ans = await asyncio.to_thread(
            request, stack, "PATCH", "/api/admin/users/%d" % user_id,
            body={"disabled": True}, headers=auth(admin_token))
        assert ans.status == 200
        got, code = await until_closed(theirs, 10)
        await mine.send('{"type":"ping"}')
        still = await ws_next(mine)
        await mine.close()
        return got, code, still

    before = request(stack, "GET", "/api/admin/websocket/stats",
                     headers=auth(admin_token)).json["data"]["revoked"]
    got, code, still = run(scenario())
    after = request(stack, "GET", "/api/admin/websocket/stats",
                    headers=auth(admin_token)).json["data"]["revoked"]
    assert after == before + 1
    assert '{"type":"disconnect","reason":"auth"}' in got
    assert code == 1008
    assert still == {"type": "pong"}        # others are untouched


def test_graceful_restart_recycles_old_sockets(tunnel_stack, tunnel_token):
    stack, admin_token = tunnel_stack, tunnel_token

    async def scenario():
        ws = await ws_open(stack, "/admin?token=" + admin_token)
        await ws_next(ws)
        stack.apache_graceful()
        got, code = await until_closed(ws, 30)
        again = await ws_open(stack, "/admin?token=" + admin_token)
        hello = await ws_next(again)
        await again.close()
        return got, code, hello

    got, code, hello = run(scenario())
    assert '{"type":"disconnect","reason":"reconnect"}' in got
    assert code == 1012
    assert hello["type"] == "connection"


def test_recycling_still_works_after_apache_is_stopped_and_started(
        tunnel_stack, tunnel_token):
    """Apache's generation starts again at 0 after a full restart; the
    daemon must still recycle that instance's sockets on its graceful
    restarts (the generation mod_timing reports carries the start time)."""
    stack = tunnel_stack
    stack.apache_graceful()             # the daemon has seen a generation
    stack.stop_apache()
    stack.start_apache()
    test_graceful_restart_recycles_old_sockets(stack, tunnel_token)
