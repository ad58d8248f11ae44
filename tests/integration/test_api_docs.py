# SPDX-License-Identifier: Apache-2.0
"""/api-docs/ after scripts/build-web.sh (make web): the page, the Swagger
UI files it serves from vendor/, the Postman collection generated from
openapi.json (format v2.1, one request per operation, and requests that
work against the real stack, JSON or the metrics' text), and the page in
chromium (tests/node/browser/api_docs.test.mjs)."""

import json
import os
import re
import subprocess

import pytest

from client import auth, request
from conftest import CHECKOUT
from node_bridge import SCREENSHOTS, run_node

DOCS = os.path.join(CHECKOUT, "web", "api-docs")
DIST = os.path.join(CHECKOUT, "tools", "web", "node_modules", "swagger-ui-dist")
COLLECTION = "timing.postman_collection.json"
V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
METHODS = ("get", "put", "post", "delete", "patch")

# What vendor/ holds: the served name, the package's file, the content type.
VENDOR = [
    ("swagger-ui.css", "swagger-ui.css", "text/css"),
    ("swagger-ui-bundle.js", "swagger-ui-bundle.js", "text/javascript"),
    ("favicon-16x16.png", "favicon-16x16.png", "image/png"),
    ("favicon-32x32.png", "favicon-32x32.png", "image/png"),
    ("LICENSE.txt", "LICENSE", "text/plain"),
    ("NOTICE.txt", "NOTICE", "text/plain"),
    ("swagger-ui-bundle.js.LICENSE.txt", "swagger-ui-bundle.js.LICENSE.txt",
     "text/plain"),
]


@pytest.fixture(scope="module")
def built(web_stack):
    """Runs the build (quick when up to date) so the files match this
    checkout's openapi.json, then checks Apache serves them."""
    res = subprocess.run([os.path.join(CHECKOUT, "scripts", "build-web.sh")],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    ans = request(web_stack, "GET", "/api-docs/" + COLLECTION)
    assert ans.status == 200 or not getattr(web_stack, "web_copied", False), \
        "Apache serves a copy of web/ taken before the build: run make web " \
        "before the tests"
    return web_stack


def load(name):
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        return json.load(f)


def operations(doc):
    return sorted((method.upper(), path) for path, item in doc["paths"].items()
                  for method in METHODS if method in item)


# -- the page and the viewer's files -------------------------------------------

def test_page_loads_the_viewer_from_this_origin(built):
    ans = request(built, "GET", "/api-docs/")
    assert ans.status == 200, ans
    assert ans.header("content-type").startswith("text/html"), ans.headers
    page = ans.body.decode("utf-8")
    assert re.search(r"<title>[^<]*Timing[^<]*</title>", page)
    assert 'src="vendor/swagger-ui-bundle.js"' in page
    assert 'href="vendor/swagger-ui.css"' in page
    assert "url: 'openapi.json'" in page
    assert 'href="%s"' % COLLECTION in page
    assert 'href="#websocket"' in page
    assert "make web" in page
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page)
    assert not re.search(r"https?://", page.replace("http://www.w3.org", "")), \
        "no other host is named"
    # Every vendor file the page names is one the build provides.
    named = set(re.findall(r'vendor/([\w.-]+)', page))
    assert named and named <= {v[0] for v in VENDOR} | {"README.txt"}, named


@pytest.mark.parametrize("name, source, ctype", VENDOR,
                         ids=[v[0] for v in VENDOR])
def test_vendor_files_are_the_pinned_package(built, name, source, ctype):
    ans = request(built, "GET", "/api-docs/vendor/" + name)
    assert ans.status == 200, (name, ans)
    assert ans.header("content-type").split(";")[0] == ctype, ans.headers
    with open(os.path.join(DIST, source), "rb") as f:
        assert ans.body == f.read(), "%s differs from swagger-ui-dist's" % name


def test_the_package_is_the_locked_version(built):
    with open(os.path.join(CHECKOUT, "tools", "web", "package-lock.json")) as f:
        locked = json.load(f)["packages"]["node_modules/swagger-ui-dist"]
    with open(os.path.join(DIST, "package.json")) as f:
        installed = json.load(f)
    assert installed["version"] == locked["version"]
    readme = request(built, "GET", "/api-docs/vendor/README.txt")
    assert readme.status == 200
    assert ("Swagger UI %s" % locked["version"]) in readme.body.decode()
    license_ = request(built, "GET", "/api-docs/vendor/LICENSE.txt")
    assert b"Apache License" in license_.body


def test_built_files_are_not_in_git(built):
    if not os.path.isdir(os.path.join(CHECKOUT, ".git")):
        pytest.skip("not a git checkout")
    paths = ["web/api-docs/vendor", "web/api-docs/" + COLLECTION]
    tracked = subprocess.run(["git", "-C", CHECKOUT, "ls-files", "--", *paths],
                             capture_output=True, text=True, check=True)
    assert tracked.stdout == "", tracked.stdout
    ignored = subprocess.run(
        ["git", "-C", CHECKOUT, "check-ignore", "--",
         "web/api-docs/vendor/swagger-ui-bundle.js", "web/api-docs/" + COLLECTION],
        capture_output=True, text=True)
    assert len(ignored.stdout.split()) == 2, "git must ignore the built files"


# -- the Postman collection -----------------------------------------------------

AUTH_TYPES = {"apikey", "awsv4", "basic", "bearer", "digest", "edgegrid",
              "hawk", "noauth", "oauth1", "oauth2", "ntlm", "jwt", "asap",
              "akamai"}
BODY_MODES = {"raw", "urlencoded", "formdata", "file", "graphql"}


def check_v21(coll):
    """The Postman collection format v2.1's JSON Schema, for what the
    collection uses: a list of problems."""
    problems = []

    def need(cond, where, what):
        if not cond:
            problems.append("%s: %s" % (where, what))

    def text_or_obj(v):
        return isinstance(v, (str, dict)) or v is None

    def auth(a, where):
        if a is None:
            return
        need(isinstance(a, dict) and a.get("type") in AUTH_TYPES, where,
             "auth type %r" % (a or {}).get("type"))
        for k, v in (a or {}).items():
            if k != "type" and k != "noauth":
                need(isinstance(v, list) and all(
                    isinstance(x, dict) and isinstance(x.get("key"), str)
                    for x in v), where, "auth attributes of %s" % k)

    def variables(vs, where):
        need(isinstance(vs, list), where, "variable list")
        for v in vs or []:
            need(isinstance(v, dict) and (isinstance(v.get("key"), str)
                                          or isinstance(v.get("id"), str)),
                 where, "variable needs key or id: %r" % v)
            need(v.get("type", "string") in ("string", "boolean", "any",
                                             "number"), where, "variable type")

    def events(es, where):
        need(isinstance(es, list), where, "event list")
        for e in es or []:
            need(isinstance(e.get("listen"), str), where, "event listen")
            script = e.get("script", {})
            need(isinstance(script.get("exec"), (list, str)), where, "script exec")

    def url(u, where):
        if isinstance(u, str):
            return
        need(isinstance(u, dict), where, "url")
        need(isinstance(u.get("raw", ""), str), where, "url.raw")
        host = u.get("host", [])
        need(isinstance(host, str) or (isinstance(host, list) and all(
            isinstance(h, str) for h in host)), where, "url.host")
        path = u.get("path", [])
        need(isinstance(path, str) or (isinstance(path, list) and all(
            isinstance(p, (str, dict)) for p in path)), where, "url.path")
        for q in u.get("query", []):
            need(isinstance(q, dict)
                 and isinstance(q.get("key"), (str, type(None)))
                 and isinstance(q.get("value"), (str, type(None)))
                 and isinstance(q.get("disabled", False), bool),
                 where, "query param %r" % q)
        variables(u.get("variable", []), where + " url")

    def req(r, where):
        if isinstance(r, str):
            return
        need(isinstance(r, dict), where, "request")
        need(isinstance(r.get("method", "GET"), str), where, "method")
        url(r.get("url", ""), where)
        auth(r.get("auth"), where)
        need(text_or_obj(r.get("description")), where, "description")
        for h in r.get("header", []):
            need(isinstance(h, dict) and isinstance(h.get("key"), str)
                 and isinstance(h.get("value"), str)
                 and isinstance(h.get("disabled", False), bool),
                 where, "header %r" % h)
        body = r.get("body")
        if body is not None:
            need(isinstance(body, dict) and body.get("mode") in BODY_MODES,
                 where, "body mode")
            need(isinstance(body.get("raw", ""), str), where, "body.raw")

    def items(its, where):
        need(isinstance(its, list), where, "item list")
        for it in its or []:
            name = "%s/%s" % (where, it.get("name"))
            need(isinstance(it.get("name", ""), str), name, "name")
            if "request" in it:          # an item
                req(it["request"], name)
                need(isinstance(it.get("response", []), list), name, "response")
                events(it.get("event", []), name)
            else:                         # a folder (item-group)
                need("item" in it, name, "neither request nor item")
                items(it.get("item"), name)
                auth(it.get("auth"), name)
                need(text_or_obj(it.get("description")), name, "description")

    need(isinstance(coll, dict), "$", "object")
    info = coll.get("info")
    need(isinstance(info, dict), "$.info", "required object")
    need(isinstance((info or {}).get("name"), str), "$.info", "name")
    need((info or {}).get("schema") == V21, "$.info", "schema is v2.1.0")
    need(isinstance((info or {}).get("_postman_id", ""), str), "$.info", "_postman_id")
    need(text_or_obj((info or {}).get("description")), "$.info", "description")
    need("item" in coll, "$", "item is required")
    items(coll.get("item"), "$")
    auth(coll.get("auth"), "$.auth")
    variables(coll.get("variable", []), "$.variable")
    events(coll.get("event", []), "$.event")
    return problems


def requests_of(coll):
    for it in coll["item"]:
        if "request" in it:
            yield it
        else:
            yield from requests_of(it)


def pm_path(url):
    """The OpenAPI path of a Postman url: :id back to {id}."""
    return "/" + "/".join(re.sub(r"^:(\w+)$", r"{\1}", p) for p in url["path"])


@pytest.fixture(scope="module")
def collection(built):
    ans = request(built, "GET", "/api-docs/" + COLLECTION)
    assert ans.status == 200, ans
    assert ans.header("content-type").startswith("application/json")
    coll = json.loads(ans.body.decode("utf-8"))
    assert coll == load(COLLECTION)
    return coll


def test_collection_is_postman_v21(collection):
    assert check_v21(collection) == []
    assert collection["info"]["name"] == load("openapi.json")["info"]["title"]


def test_collection_has_one_request_per_operation(collection):
    doc = load("openapi.json")
    reqs = list(requests_of(collection))
    pairs = sorted((it["request"]["method"], pm_path(it["request"]["url"]))
                   for it in reqs)
    assert len(reqs) == len(operations(doc))
    assert pairs == operations(doc)
    # The names are the document's summaries, in folders by tag.
    for folder in collection["item"]:
        for it in folder["item"]:
            path = pm_path(it["request"]["url"])
            op = doc["paths"][path][it["request"]["method"].lower()]
            assert it["name"] == op["summary"]
            assert folder["name"] == op["tags"][0]


def test_collection_base_url_and_bearer_token(collection):
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables["baseUrl"] == "http://localhost:8000"
    assert collection["auth"] == {"type": "bearer", "bearer": [
        {"key": "token", "value": "{{token}}", "type": "string"}]}
    doc = load("openapi.json")
    for it in requests_of(collection):
        r = it["request"]
        assert r["url"]["raw"].startswith("{{baseUrl}}/api/"), r["url"]["raw"]
        assert r["url"]["host"] == ["{{baseUrl}}"]
        op = doc["paths"][pm_path(r["url"])][r["method"].lower()]
        open_to_anyone = op["security"][0] == {}
        # Open operations go without a token (an expired one would be a
        # 401); the others inherit the collection's bearer token.
        assert r.get("auth") == ({"type": "noauth"} if open_to_anyone else None), \
            (r["method"], pm_path(r["url"]))
        if "requestBody" in op:
            assert r["body"]["mode"] == "raw"
            json.loads(r["body"]["raw"])
            assert {"key": "Content-Type", "value": "application/json"} in r["header"]


def substitute(text, variables):
    return re.sub(r"\{\{(\w+)\}\}", lambda m: variables[m.group(1)], text)


def send(stack, item, variables, body=None):
    """Sends a collection request as Postman would, with the given
    collection variables and enabled parameters only."""
    r = item["request"]
    url = r["url"]
    path_vars = {v["key"]: substitute(v["value"], variables)
                 for v in url.get("variable", [])}
    path = "/" + "/".join(path_vars[p[1:]] if p.startswith(":") else p
                          for p in url["path"])
    query = [(q["key"], substitute(q["value"], variables))
             for q in url.get("query", []) if not q.get("disabled")]
    if query:
        path += "?" + "&".join("%s=%s" % kv for kv in query)
    headers = {h["key"]: substitute(h["value"], variables)
               for h in r["header"] if not h.get("disabled")}
    if r.get("auth") is None and variables.get("token"):
        headers.update(auth(variables["token"]))
    if body is None and "body" in r:
        body = json.loads(r["body"]["raw"])
    data = json.dumps(body).encode() if body is not None else None
    return request(stack, r["method"], path, body=data, headers=headers)


def captured(item, answer):
    """What the request's test script keeps: `data.<field>` of a success."""
    kept = {}
    for line in item.get("event", [{}])[0].get("script", {}).get("exec", []):
        m = re.search(r"pm\.collectionVariables\.set\('(\w+)', "
                      r"String\(body\.data\.(\w+)\)\)", line)
        if m and answer["success"]:
            kept[m.group(1)] = str(answer["data"][m.group(2)])
    return kept


def test_collection_requests_work_against_the_stack(built, collection):
    """Log in, place an order and read every GET of the collection, as a
    developer would in Postman: with only the values a person types in."""
    by_name = {it["name"]: it for it in requests_of(collection)}
    doc = load("openapi.json")
    summary = {op["operationId"]: op["summary"] for item in doc["paths"].values()
               for op in item.values() if isinstance(op, dict) and "operationId" in op}
    variables = {v["key"]: v["value"] for v in collection["variable"]}

    login = by_name[summary["login"]]
    ans = send(built, login, variables, body={"email": built.admin_email,
                                              "password": built.admin_password})
    assert ans.status == 200, ans
    variables.update(captured(login, ans.json))
    assert variables["token"] == ans.json["data"]["token"]

    menu = request(built, "GET", "/api/menu").json["data"]
    available = next(m["id"] for m in menu if m["available"])
    place = by_name[summary["createOrder"]]
    body = json.loads(place["request"]["body"]["raw"])
    body["items"][0]["menu_id"] = available
    ans = send(built, place, variables, body=body)
    assert ans.status == 201, ans
    kept = captured(place, ans.json)
    assert set(kept) == {"order_id", "tracking_token"}, kept
    variables.update(kept)

    for it in requests_of(collection):
        r = it["request"]
        if r["method"] != "GET":
            continue
        ans = send(built, it, variables)
        assert ans.status == 200, (it["name"], ans)
        content = doc["paths"][pm_path(r["url"])]["get"]["responses"]["200"]["content"]
        if "application/json" in content:
            assert ans.json["success"] is True, (it["name"], ans)
            continue
        # Not JSON (the Prometheus metrics): the text of the declared type.
        declared = [k.split(";")[0] for k in content]
        assert ans.header("content-type").split(";")[0] in declared, \
            (it["name"], ans.headers)
        assert "# TYPE timing_" in ans.body.decode("utf-8"), (it["name"], ans)


# -- in the browser ---------------------------------------------------------------

def test_viewer_in_chromium(built):
    for name in ("api-docs.png", "api-docs-try-it-out.png",
                 "api-docs-not-built.png"):
        path = os.path.join(SCREENSHOTS, name)
        if os.path.exists(path):
            os.remove(path)
    rc, output = run_node(built, "browser/api_docs.test.mjs", timeout=300)
    assert rc == 0, output
    assert os.path.getsize(os.path.join(SCREENSHOTS, "api-docs.png")) > 10000
