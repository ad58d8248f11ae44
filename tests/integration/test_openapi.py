# SPDX-License-Identifier: Apache-2.0
"""The OpenAPI document at /api-docs/openapi.json: served, well-formed,
covering every route of the API contract (and documenting routes the server has beyond
it), and true to the server: a request without a credential to any route it
lists gets one of the statuses it declares for that route, in the JSON
envelope, with an error code it names; a success that is not JSON (the
Prometheus metrics) has the media type it declares."""

import json
import os
import re

import pytest

from client import admin_login, auth, place_order, request
from conftest import CHECKOUT

DOC_PATH = os.path.join(CHECKOUT, "web", "api-docs", "openapi.json")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Every REST route of the API contract, as the document must list it.
# The document may list more (GET /api/admin/metrics): the server test below
# then checks that each one is a route the server has.
CONTRACT_ROUTES = {
    ("post", "/api/auth/register"), ("post", "/api/auth/login"),
    ("get", "/api/auth/me"), ("post", "/api/admin/users"),
    ("get", "/api/admin/users"), ("patch", "/api/admin/users/{id}"),
    ("get", "/api/shop"), ("put", "/api/admin/shop"), ("get", "/api/menu"),
    ("post", "/api/admin/menu"), ("put", "/api/admin/menu/{id}"),
    ("delete", "/api/admin/menu/{id}"), ("post", "/api/orders"),
    ("get", "/api/orders/{id}/status"), ("get", "/api/orders"),
    ("post", "/api/orders/{id}/cancel"), ("get", "/api/admin/orders"),
    ("get", "/api/admin/orders/{id}"), ("put", "/api/admin/orders/{id}/status"),
    ("get", "/api/admin/events"), ("get", "/api/admin/websocket/stats"),
    ("get", "/api/admin/summary"), ("get", "/api/health"),
}

# The error codes of the contract, by status.
ERROR_CODES = {
    400: {"malformed_json", "invalid_utf8", "bad_query"},
    401: {"unauthorized", "invalid_token", "invalid_credentials"},
    403: {"forbidden"}, 404: {"not_found"}, 405: {"method_not_allowed"},
    409: {"email_taken", "shop_closed", "invalid_transition",
          "not_cancellable", "last_admin"},
    410: {"events_pruned"},
    412: {"precondition_failed"}, 413: {"payload_too_large"},
    415: {"unsupported_media_type"},
    422: {"validation_failed", "idempotency_key_reused"},
    429: {"rate_limited"},
    503: {"database_unavailable", "events_unavailable"},
}


def load_file():
    with open(DOC_PATH, encoding="utf-8") as f:
        return json.load(f)


DOC = load_file()
OPERATIONS = sorted((path, method) for path, item in DOC["paths"].items()
                    for method in item if method in METHODS)


def resolve(doc, ref):
    assert ref.startswith("#/"), "only local references: %s" % ref
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, "dangling $ref %s" % ref
        node = node[part]
    return node


def deref(doc, node):
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        assert node["$ref"] not in seen, "reference loop at %s" % node["$ref"]
        seen.add(node["$ref"])
        node = resolve(doc, node["$ref"])
    return node


def refs(node, where="#"):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from refs(v, where + "/" + k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from refs(v, "%s/%d" % (where, i))


def declared_codes(doc, response):
    """The error codes a response names (its schema's error.code enum)."""
    schema = response.get("content", {}).get("application/json", {}) \
        .get("schema", {})
    codes = set()
    for part in deref(doc, schema).get("allOf", []):
        part = deref(doc, part)
        code = part.get("properties", {}).get("error", {}) \
            .get("properties", {}).get("code", {})
        codes |= set(code.get("enum", []))
    return codes


def media_type(text):
    """A media type and its parameters, lower-cased: ("text/plain",
    {"version": "0.0.4", "charset": "utf-8"})."""
    kind, *params = [p.strip().lower() for p in text.split(";")]
    return kind, dict(p.split("=", 1) for p in params if "=" in p)


def declared_media(content, actual):
    """The key of `content` the Content-Type `actual` fits: the same type,
    with at least the parameters declared (charset may be added)."""
    kind, params = media_type(actual)
    for key in content:
        want_kind, want = media_type(key)
        if want_kind == kind and want.items() <= params.items():
            return key
    return None


def validate(doc, schema, value, where="$"):
    """A small JSON Schema check (the subset the document uses): returns a
    list of problems."""
    schema = deref(doc, schema)
    problems = []
    if "allOf" in schema:
        for part in schema["allOf"]:
            problems += validate(doc, part, value, where)
    if "oneOf" in schema:
        fits = [p for p in schema["oneOf"] if not validate(doc, p, value, where)]
        if len(fits) != 1:
            problems.append("%s: fits %d of oneOf" % (where, len(fits)))
    if "const" in schema and value != schema["const"]:
        problems.append("%s: %r is not %r" % (where, value, schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        problems.append("%s: %r not in %r" % (where, value, schema["enum"]))
    types = schema.get("type")
    if types:
        types = [types] if isinstance(types, str) else types
        kinds = {"object": dict, "array": list, "string": str,
                 "boolean": bool, "null": type(None)}
        ok = any((t == "integer" and isinstance(value, int)
                  and not isinstance(value, bool))
                 or (t == "number" and isinstance(value, (int, float))
                     and not isinstance(value, bool))
                 or (t in kinds and isinstance(value, kinds[t]))
                 for t in types)
        if not ok:
            return problems + ["%s: %r is not %s" % (where, value, types)]
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                problems.append("%s: %s missing" % (where, name))
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                problems += validate(doc, sub, value[name], where + "." + name)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += validate(doc, schema["items"], item,
                                 "%s[%d]" % (where, i))
    return problems


# -- the document ---------------------------------------------------------------

@pytest.fixture(scope="module")
def served(stack):
    ans = request(stack, "GET", "/api-docs/openapi.json")
    assert ans.status == 200, ans
    assert ans.header("content-type").startswith("application/json"), \
        ans.header("content-type")
    return json.loads(ans.body.decode("utf-8"))


def test_document_is_served_and_is_the_checked_in_one(served):
    assert served == DOC
    assert served["openapi"] == "3.1.0"
    assert served["info"]["title"] and served["info"]["version"]


def test_page_is_served_and_self_contained(stack):
    ans = request(stack, "GET", "/api-docs/")
    assert ans.status == 200, ans
    page = ans.body.decode("utf-8")
    assert "openapi.json" in page
    # Works offline: nothing is loaded from another host.
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page), \
        "the page loads something from another host"
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", page)


def test_every_path_has_operations_with_responses():
    assert DOC["paths"]
    for path, item in DOC["paths"].items():
        assert path.startswith("/api/"), path
        ops = [m for m in item if m in METHODS]
        assert ops, "%s has no operation" % path
        placeholders = set(re.findall(r"\{(\w+)\}", path))
        for method in ops:
            op = item[method]
            assert op.get("responses"), "%s %s has no responses" % (method, path)
            assert op.get("summary"), (method, path)
            params = [deref(DOC, p) for p in
                      item.get("parameters", []) + op.get("parameters", [])]
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == placeholders, (method, path, in_path)
            for status, resp in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status), (method, path, status)
                assert deref(DOC, resp).get("description"), (method, path, status)


def test_every_reference_resolves():
    found = list(refs(DOC))
    assert len(found) > 50
    for where, ref in found:
        resolve(DOC, ref)
        deref(DOC, {"$ref": ref})


def test_document_lists_every_route_of_the_contract():
    listed = {(m, p) for p, m in OPERATIONS}
    assert CONTRACT_ROUTES <= listed, {
        "missing": sorted(CONTRACT_ROUTES - listed)}
    # Routes beyond the contract are fine when documented like the others
    # (the checks below run on every listed operation, the server test too).
    for method, path in listed - CONTRACT_ROUTES:
        op = DOC["paths"][path][method]
        assert op.get("description") and op.get("tags"), (method, path)


def test_error_responses_use_the_contract_codes():
    for path, method in OPERATIONS:
        op = DOC["paths"][path][method]
        for status, resp in op["responses"].items():
            status = int(status)
            if status < 400:
                continue
            codes = declared_codes(DOC, deref(DOC, resp))
            assert codes, (method, path, status, "names no error code")
            assert codes <= ERROR_CODES[status], (method, path, status, codes)


def test_security_schemes():
    schemes = DOC["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["trackingToken"] == dict(schemes["trackingToken"],
                                            type="apiKey", name="tracking_token",
                                            **{"in": "query"})
    assert schemes["trackingCookie"]["in"] == "cookie"
    for path, method in OPERATIONS:
        for requirement in DOC["paths"][path][method].get("security", []):
            assert set(requirement) <= set(schemes), (method, path)


def test_every_route_declares_its_credential_and_order_errors():
    """What the contract's order of checks implies for each route."""
    for path, method in OPERATIONS:
        op = DOC["paths"][path][method]
        statuses = set(op["responses"])
        assert {"405", "413", "503"} <= statuses, (method, path)
        assert "401" in statuses, (method, path)   # a bad token, everywhere
        if "requestBody" in op:
            assert {"400", "415", "422"} <= statuses, (method, path)
        if path.startswith("/api/admin/"):
            assert "403" in statuses, (method, path)
        if "{id}" in path:
            assert "404" in statuses, (method, path)


# -- the server against the document ------------------------------------------

@pytest.fixture(scope="module")
def ids(stack):
    """An existing id for each kind of path parameter."""
    def first(table, where=""):
        rows = stack.mariadb("SELECT MIN(id) FROM %s %s" % (table, where))
        return None if rows[0][0] == "NULL" else int(rows[0][0])

    order = first("orders")
    if order is None:
        order = place_order(stack, "OpenAPI", items=[
            {"menu_id": first("menu_items", "WHERE available"),
             "quantity": 1}])["id"]
    return {"/api/admin/users/": first("users"),
            "/api/admin/menu/": first("menu_items"),
            "/api/orders/": order, "/api/admin/orders/": order}


def fill(path, ids):
    for prefix, value in ids.items():
        if path.startswith(prefix + "{id}"):
            return path.replace("{id}", str(value))
    assert "{" not in path, path
    return path


@pytest.mark.parametrize("path, method", OPERATIONS,
                         ids=["%s %s" % (m.upper(), p) for p, m in OPERATIONS])
def test_request_without_credential_gets_a_declared_answer(stack, ids, path,
                                                           method):
    op = DOC["paths"][path][method]
    url = fill(path, ids)
    # Bodies are an empty object: never enough to create or change anything.
    body = b"{}" if "requestBody" in op else None
    headers = {"Content-Type": "application/json"} if body else {}
    ans = request(stack, method.upper(), url, body=body, headers=headers)
    declared = {int(s) for s in op["responses"]}
    where = "%s %s -> %r" % (method.upper(), url, ans)
    assert ans.status in declared, where
    # The documented method on a documented path is never a 405, and a path
    # without an id is never a 404: those mean the route is missing.
    assert ans.status != 405, where
    if "{id}" not in path:
        assert ans.status != 404, where
    # A route that needs a credential says so before anything else.
    if {} not in op.get("security", DOC.get("security", [])):
        assert ans.status == 401, where
        assert ans.json["error"]["code"] == "unauthorized", where
    response = deref(DOC, op["responses"][str(ans.status)])
    if ans.status < 400 and "application/json" not in response["content"]:
        # A success in another format (the metrics' text): the declared one.
        assert declared_media(response["content"],
                              ans.header("content-type")), where
        return
    assert ans.header("content-type") == "application/json; charset=utf-8", where
    envelope = ans.json
    schema = response["content"]["application/json"]["schema"]
    if ans.status < 400:
        assert envelope["success"] is True, where
    else:
        assert envelope["success"] is False, where
        code = envelope["error"]["code"]
        assert isinstance(code, str) and code, where
        assert code in declared_codes(DOC, response), where
    problems = validate(DOC, schema, envelope)
    assert not problems, (where, problems)


def test_metrics_answer_the_declared_text_with_the_documented_names(stack):
    """GET /api/admin/metrics with a staff token: the Prometheus text the
    document declares, with every metric its description lists."""
    op = DOC["paths"]["/api/admin/metrics"]["get"]
    ans = request(stack, "GET", "/api/admin/metrics",
                  headers=auth(admin_login(stack)))
    assert ans.status == 200, ans
    content = op["responses"]["200"]["content"]
    assert declared_media(content, ans.header("content-type")) \
        == "text/plain; version=0.0.4", ans.header("content-type")
    text = ans.body.decode("utf-8")
    names = set(re.findall(r"`(timing_\w+)`", op["description"]))
    # The daemon's counters are listed by suffix after their first name.
    names |= {"timing_eventd" + s for s in
              re.findall(r"`(_\w+_total)`", op["description"])}
    assert len(names) >= 15, names
    for name in names:
        assert re.search(r"^# TYPE %s (counter|gauge|histogram)$" % name,
                         text, re.M), name
