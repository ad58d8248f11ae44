# SPDX-License-Identifier: Apache-2.0
"""The Debian packages as installed: unpacked with dpkg-deb into a temporary
root, then run from there, the way a server runs them.

- libapache2-mod-timing's own postinst code makes the secrets (re-rooted),
  root's alone, and takes the JWT key back from Apache's group on upgrade;
- a private MariaDB gets the database and user as README.Debian says, with
  the password the postinst wrote, then the installed timing-migrate and
  timing-create-admin;
- the installed timing-eventd runs as the unit says (its ExecStart, its
  socket directory 0750 with group www-data, not as root, Type=notify,
  the seal's secret handed over as systemd's LoadCredential= does);
- Apache loads the installed mod_timing.so with the installed mods- and
  conf-available files, paths re-rooted, and serves the installed pages.

`make deb-test` passes the packages in TIMING_DEB; without it the ones in
build/deb/ are used.  Needs root (Apache's user, file owners)."""

import asyncio
import base64
import glob
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(CHECKOUT, "scripts"))
sys.path.insert(0, os.path.join(CHECKOUT, "tests", "integration"))

import stack as stackmod  # noqa: E402
from client import (post_order, request, token_of, ws_next,  # noqa: E402
                    ws_open)

ADMIN_EMAIL = "owner@cafe.example"
ADMIN_PASSWORD = "first-login-123"
MODULES = "/usr/lib/apache2/modules"

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root (Apache's user, owners)")


def package_files():
    given = os.environ.get("TIMING_DEB", "").split()
    debs = given or glob.glob(os.path.join(CHECKOUT, "build", "deb", "*.deb"))
    debs = [d for d in debs if "-dbgsym_" not in d]
    if not debs:
        pytest.skip("no package: run `make deb` (or make deb-test)")
    return debs


free_port = stackmod.free_port


class Installed:
    """The unpacked packages and the processes run from them."""

    def __init__(self, root):
        self.root = root
        self.run_dir = os.path.join(root, "run", "timing")
        self.server_root = os.path.join(root, "apache")
        self.port = free_port()
        self.base_url = "http://127.0.0.1:%d" % self.port
        self.procs = {}
        self.originals = {}     # installed text of files re-rooted in place

    def path(self, installed):
        """Where an installed absolute path is in the temporary root."""
        return os.path.join(self.root, installed.lstrip("/"))

    def rerooted(self, text):
        """Installed configuration text with its absolute paths moved into
        the temporary root (the run directory is the test's own)."""
        text = text.replace("/run/mysqld/mysqld.sock", self.db.db_socket)
        text = text.replace("/run/timing", self.run_dir)
        for prefix in ("/usr/share/timing", "/etc/timing",
                       "/usr/lib/apache2/modules/mod_timing.so"):
            text = text.replace(prefix, self.path(prefix))
        return text

    def log(self, name):
        return os.path.join(self.root, "logs", name + ".log")


def unpack(root):
    for deb in package_files():
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)


def run_postinst_code(inst, package):
    """The package's own postinst code, up to what debhelper appended,
    with /etc/timing moved into the temporary root."""
    ctrl = os.path.join(inst.root, "DEBIAN-" + package)
    deb = [d for d in package_files()
           if os.path.basename(d).startswith(package + "_")][0]
    subprocess.run(["dpkg-deb", "-e", deb, ctrl], check=True)
    with open(os.path.join(ctrl, "postinst")) as f:
        script = f.read().split("# Automatically added by")[0]
    script = script.replace("/etc/timing", inst.path("/etc/timing"))
    os.makedirs(inst.path("/etc"), exist_ok=True)
    subprocess.run(["sh", "-c", script, "postinst", "configure"], check=True)


def unit_exec_start(inst, unit_name="timing-eventd.service"):
    with open(inst.path("/lib/systemd/system/" + unit_name)) as f:
        unit = f.read().replace("\\\n", " ")
    line = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
    argv = line.replace("$TIMING_EVENTD_OPTS", "").split()
    argv[0] = inst.path(argv[0])
    return [a.replace("/run/timing", inst.run_dir) for a in argv], unit


def start_eventd(inst):
    """As systemd would: the unit's ExecStart, a 0750 socket directory of
    group www-data owned by the daemon's user, not root; ready when it
    sends READY=1 to $NOTIFY_SOCKET."""
    argv, unit = unit_exec_start(inst)
    assert re.search(r"^Group=www-data$", unit, re.M)
    assert re.search(r"^RuntimeDirectoryMode=0750$", unit, re.M)
    user = pwd.getpwnam("nobody")
    os.makedirs(inst.run_dir, exist_ok=True)
    os.chown(inst.run_dir, user.pw_uid, grp.getgrnam("www-data").gr_gid)
    os.chmod(inst.run_dir, 0o750)
    notify_path = os.path.join(inst.root, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    os.chmod(notify_path, 0o666)
    notify.settimeout(30)
    out = open(inst.log("eventd"), "ab")
    # LoadCredential=: systemd copies the root-only file into a directory
    # of the service's own, readable by the service's user alone.
    name, source = re.search(r"^LoadCredential=([^:]+):(\S+)$", unit,
                             re.M).groups()
    creds = os.path.join(inst.root, "credentials")
    os.makedirs(creds, exist_ok=True)
    shutil.copyfile(inst.path(source), os.path.join(creds, name))
    for path, mode in ((creds, 0o500), (os.path.join(creds, name), 0o400)):
        os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(path, mode)
    inst.procs["eventd"] = subprocess.Popen(
        argv, stdout=out, stderr=out, user="nobody", group="www-data",
        env={"NOTIFY_SOCKET": notify_path, "PATH": "/usr/bin:/bin",
             "CREDENTIALS_DIRECTORY": creds})
    try:
        assert notify.recv(4096) == b"READY=1"
    finally:
        notify.close()
    inst.notify_path = notify_path


def write_httpd_conf(inst, name="httpd.conf", edit=None):
    """An Apache configuration around the installed files: the modules
    timing.load names as dependencies, then mods-available/timing.{load,conf}
    and conf-available/timing.conf (as a2enmod and a2enconf enable them),
    each re-rooted; edit(name, text) may break one of them."""
    conf_dir = os.path.join(inst.server_root, name + ".d")
    os.makedirs(conf_dir, exist_ok=True)
    includes = []
    for installed in ("/etc/apache2/mods-available/timing.load",
                      "/etc/apache2/mods-available/timing.conf",
                      "/etc/apache2/conf-available/timing.conf"):
        with open(inst.path(installed)) as f:
            text = inst.rerooted(f.read())
        if edit:
            text = edit(installed, text)
        out = os.path.join(conf_dir, installed.replace("/", "_"))
        with open(out, "w") as f:
            f.write(text)
        includes.append('Include "%s"' % out)
    for shared in ("timing.conf", "timing-web.conf"):
        # Included by the conf above from the re-rooted /usr/share path.
        src = inst.path("/usr/share/timing/apache/" + shared)
        if src not in inst.originals:
            with open(src) as f:
                inst.originals[src] = f.read()
        text = inst.rerooted(inst.originals[src])
        if edit:
            text = edit(shared, text)
        with open(src, "w") as f:
            f.write(text)
    docroot = os.path.join(inst.root, "var", "www", "html")
    os.makedirs(docroot, exist_ok=True)
    with open(os.path.join(docroot, "index.html"), "w") as f:
        f.write("the site's own page\n")
    os.makedirs(os.path.join(inst.server_root, "run"), exist_ok=True)
    loads = "\n".join('LoadModule %s_module "%s/mod_%s.so"' % (m, MODULES, m)
                      for m in ("mpm_event", "authz_core", "authz_host",
                                "mime", "dir", "alias", "dbd", "proxy",
                                "proxy_wstunnel"))
    path = os.path.join(inst.server_root, name)
    with open(path, "w") as f:
        f.write("""ServerRoot "%(sr)s"
ServerName localhost
Listen 127.0.0.1:%(port)d
PidFile "%(sr)s/run/httpd.pid"
DefaultRuntimeDir "%(sr)s/run"
Mutex file:%(sr)s/run default
ErrorLog "%(errlog)s"
LogLevel warn
User www-data
Group www-data
%(loads)s
TypesConfig /etc/mime.types
DocumentRoot "%(docroot)s"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "%(docroot)s">
    Require all granted
</Directory>
%(includes)s
""" % {"sr": inst.server_root, "port": inst.port, "loads": loads,
       "errlog": inst.log("apache"), "docroot": docroot,
       "includes": "\n".join(includes)})
    return path


def apache_test(inst, conf):
    return subprocess.run([stackmod.program("apache2"), "-d",
                           inst.server_root, "-f", conf, "-t"],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def inst():
    root = tempfile.mkdtemp(prefix="timing-pkg-", dir="/tmp")
    os.chmod(root, 0o755)
    inst = Installed(root)
    os.makedirs(os.path.join(root, "logs"))
    os.chmod(os.path.join(root, "logs"), 0o777)
    inst.db = stackmod.Stack(os.path.join(root, "db-state"),
                             os.path.join(root, "db-run"), inst.port,
                             demo=False)
    try:
        unpack(root)
        run_postinst_code(inst, "libapache2-mod-timing")
        inst.db._prepare_dirs()
        inst.db.start_db()
        yield inst
    finally:
        for name, proc in inst.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        inst.db.stop()
        if os.environ.get("TIMING_KEEP_TMP"):
            print("\nkept the installed root in", root)
        else:
            shutil.rmtree(root, ignore_errors=True)


# -- the files ---------------------------------------------------------------

def test_postinst_made_the_secrets(inst):
    """Root's alone: Apache's parent reads them as root, systemd hands the
    daemon its copy; no process of the web server's user may."""
    st = os.stat(inst.path("/etc/timing"))
    assert oct(st.st_mode & 0o777) == "0o750" and st.st_gid == 0
    secret = inst.path("/etc/timing/jwt.secret")
    seal = inst.path("/etc/timing/eventd.secret")
    for path in (secret, seal):
        st = os.stat(path)
        assert oct(st.st_mode & 0o777) == "0o600", path
        assert (st.st_uid, st.st_gid) == (0, 0), path
        with open(path) as f:
            text = f.read()
        assert len(base64.b64decode(text.strip(), validate=True)) == 48
    assert open(secret).read() != open(seal).read()
    conf = inst.path("/etc/timing/database.conf")
    assert oct(os.stat(conf).st_mode & 0o777) == "0o600"
    with open(conf) as f:
        assert re.search(r'^DBDParams "sock=/run/mysqld/mysqld.sock,'
                         r'user=timing,pass=[0-9a-f]{48},dbname=timing,'
                         r'reconnect=0"$', f.read(), re.M)
    # A second run keeps them (an upgrade must not log everyone out), and
    # takes the JWT key back from Apache's group, as earlier versions made
    # it.
    os.chown(secret, 0, grp.getgrnam("www-data").gr_gid)
    os.chmod(secret, 0o640)
    before = open(secret).read(), open(seal).read(), open(conf).read()
    run_postinst_code(inst, "libapache2-mod-timing")
    assert (open(secret).read(), open(seal).read(),
            open(conf).read()) == before
    st = os.stat(secret)
    assert oct(st.st_mode & 0o777) == "0o600" and st.st_gid == 0


def test_module_load_names_its_dependencies(inst):
    with open(inst.path("/etc/apache2/mods-available/timing.load")) as f:
        text = f.read()
    # a2enmod enables what "# Depends:" names (proxy_wstunnel brings proxy).
    assert re.search(r"^# Depends: dbd proxy_wstunnel$", text, re.M)
    assert "LoadModule timing_module /usr/lib/apache2/modules/mod_timing.so" \
        in text
    assert os.path.isfile(inst.path("/usr/lib/apache2/modules/mod_timing.so"))


def test_wrappers_find_the_installed_schema(inst):
    for tool in ("timing-migrate", "timing-new-epoch", "timing-create-admin"):
        path = inst.path("/usr/sbin/" + tool)
        assert os.access(path, os.X_OK), tool
    migrations = glob.glob(inst.path("/usr/share/timing/schema/migrations/"
                                     "[0-9][0-9][0-9]_*.sql"))
    assert migrations


def test_web_tree_has_the_built_api_viewer(inst):
    web = inst.path("/usr/share/timing/web")
    for page in ("dashboard/index.html", "order/index.html",
                 "track/index.html", "sdk/timing.js", "api-docs/index.html",
                 "api-docs/openapi.json", "api-docs/vendor/swagger-ui-bundle.js",
                 "api-docs/timing.postman_collection.json"):
        assert os.path.isfile(os.path.join(web, page)), page


def test_systemd_units_verify(inst):
    """systemd-analyze verify works offline (no systemd running needed);
    the units are copied with their programs re-rooted, and the man pages
    they name found in the root."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    copies = []
    for name in ("timing-eventd.service", "timing-maintain.service",
                 "timing-maintain.timer"):
        with open(inst.path("/lib/systemd/system/" + name)) as f:
            text = f.read()
        copy = os.path.join(inst.root, name)
        with open(copy, "w") as f:
            for tool in ("timing-eventd", "timing-maintain"):
                text = text.replace("/usr/sbin/" + tool,
                                    inst.path("/usr/sbin/" + tool))
            f.write(text)
        copies.append(copy)
    res = subprocess.run(["systemd-analyze", "verify", *copies],
                         capture_output=True, text=True,
                         env=dict(os.environ,
                                  MANPATH=inst.path("/usr/share/man")))
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr
    unit = inst.path("/lib/systemd/system/timing-eventd.service")
    with open(unit) as f:
        text = f.read()
    for line in ("Type=notify", "User=_timing", "RuntimeDirectory=timing",
                 "LoadCredential=eventd.secret:/etc/timing/eventd.secret",
                 "ProtectSystem=strict", "NoNewPrivileges=yes",
                 "RestrictAddressFamilies=AF_UNIX",
                 "SystemCallFilter=@system-service", "CapabilityBoundingSet=",
                 "MemoryDenyWriteExecute=yes", "Restart=on-failure"):
        assert re.search("^" + re.escape(line) + "$", text, re.M), line


# -- the database, with the installed tools ----------------------------------

def test_database_set_up_with_installed_tools(inst):
    conf = inst.path("/etc/timing/database.conf")
    with open(conf) as f:
        text = f.read()
    password = re.search(r"pass=([0-9a-f]+)", text).group(1)
    # This MariaDB's socket is not the system's (an operator edits the
    # file the same way).
    with open(conf, "w") as f:
        f.write(text.replace("/run/mysqld/mysqld.sock", inst.db.db_socket))
    # README.Debian's SQL, with the password the package made.
    inst.db.mariadb(
        "CREATE DATABASE timing CHARACTER SET utf8mb4 "
        "COLLATE utf8mb4_unicode_ci;\n"
        "CREATE USER 'timing'@'localhost' IDENTIFIED BY '%s';\n"
        "GRANT SELECT, INSERT, UPDATE, DELETE ON timing.* "
        "TO 'timing'@'localhost';\n" % password, database=None)
    inst.db._load_time_zones()
    socket_opt = "--socket=" + inst.db.db_socket
    res = subprocess.run([inst.path("/usr/sbin/timing-migrate"), socket_opt,
                          "--user=root"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "database up to date" in res.stdout
    again = subprocess.run([inst.path("/usr/sbin/timing-migrate"),
                            "--dry-run", "timing", socket_opt, "--user=root"],
                           capture_output=True, text=True)
    assert again.returncode == 0 and "would apply" not in again.stdout
    with open(inst.path("/usr/share/timing/schema/demo/thai_cafe.sql")) as f:
        inst.db.mariadb(f.read())
    res = subprocess.run([inst.path("/usr/sbin/timing-create-admin"),
                          ADMIN_EMAIL, socket_opt, "--user=root"],
                         input=ADMIN_PASSWORD + "\n", capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert inst.db.mariadb("SELECT role, disabled FROM users WHERE email = "
                           "'%s'" % ADMIN_EMAIL) == [["admin", "0"]]
    # Names are passed to SQL as literals, quotes and backslashes kept.
    odd = subprocess.run([inst.path("/usr/sbin/timing-create-admin"),
                          "odd@cafe.example", "timing", socket_opt,
                          "--user=root"],
                         input="odd-password-1\n", capture_output=True,
                         text=True,
                         env=dict(os.environ,
                                  TIMING_ADMIN_NAME="O'Brien \\ Ltd"))
    assert odd.returncode == 0, odd.stderr
    assert inst.db.mariadb("SELECT name FROM users WHERE email = "
                           "'odd@cafe.example'") == [["O'Brien \\\\ Ltd"]]
    short = subprocess.run([inst.path("/usr/sbin/timing-create-admin"),
                            "x@cafe.example", socket_opt, "--user=root"],
                           input="short\n", capture_output=True, text=True)
    assert short.returncode != 0 and "8 to 128" in short.stderr


# -- the daemon and Apache ---------------------------------------------------

def test_daemon_starts_as_the_unit_says(inst):
    start_eventd(inst)
    for sock in ("ws.sock", "events.sock"):
        st = os.stat(os.path.join(inst.run_dir, sock))
        assert oct(st.st_mode & 0o777) == "0o660", sock
        assert grp.getgrgid(st.st_gid).gr_name == "www-data", sock


def test_apache_config_test_passes(inst):
    inst.conf = write_httpd_conf(inst)
    res = apache_test(inst, inst.conf)
    assert res.returncode == 0, res.stderr
    assert "Syntax OK" in res.stderr


def test_apache_serves_the_api_and_pages(inst):
    out = open(inst.log("apache-stdout"), "ab")
    inst.procs["apache"] = subprocess.Popen(
        [stackmod.program("apache2"), "-d", inst.server_root, "-f",
         inst.conf, "-DFOREGROUND"],
        stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(inst.base_url + "/api/health",
                                        timeout=2) as r:
                health = json.load(r)
            break
        except OSError:
            assert inst.procs["apache"].poll() is None, open(
                inst.log("apache")).read()
            assert time.monotonic() < deadline, "Apache did not answer"
            time.sleep(0.1)
    assert health["data"]["db"] == "up", health
    assert health["data"]["events"] == "up", health

    page = request(inst, "GET", "/dashboard/")
    assert page.status == 200 and b"<html" in page.body.lower()
    assert "utf-8" in page.header("content-type").lower()
    assert request(inst, "GET", "/dashboard").status == 301
    docs = request(inst, "GET", "/api-docs/")
    assert docs.status == 200 and b"vendor/swagger-ui-bundle.js" in docs.body
    bundle = request(inst, "GET", "/api-docs/vendor/swagger-ui-bundle.js")
    assert bundle.status == 200 and len(bundle.body) > 100000
    assert request(inst, "GET", "/api-docs/openapi.json").json["openapi"]
    track = request(inst, "GET", "/track/12345")     # FallbackResource
    assert track.status == 200 and b"track.js" in track.body
    sdk = request(inst, "GET", "/sdk/timing.js")
    assert sdk.status == 200 and "javascript" in sdk.header("content-type")
    assert request(inst, "GET", "/assets/customer.css").status == 200
    # The site's own pages are left alone.
    assert request(inst, "GET", "/").body == b"the site's own page\n"
    assert request(inst, "GET", "/orders").status == 404


def login(inst):
    return token_of(inst, ADMIN_EMAIL, ADMIN_PASSWORD)


def test_websocket_gets_new_orders(inst):
    token = login(inst)

    async def scenario():
        ws = await ws_open(inst, "/admin",
                           subprotocols=["timing.v1", "bearer." + token])
        try:
            hello = await ws_next(ws)
            order = await asyncio.to_thread(
                post_order, inst, "สมชาย", phone="0812345678")
            event = await ws_next(ws, 15)
            return hello, order, event
        finally:
            await ws.close()

    hello, order, event = asyncio.run(scenario())
    assert hello["type"] == "connection"
    assert order.status == 201, order
    assert event["type"] == "newOrder"
    assert event["order"]["id"] == order.json["data"]["id"]


def test_retention_timer_runs_the_installed_tool(inst):
    """timing-maintain.service's command, on this database, reading the
    retention lines of the module's conf (as re-rooted for this Apache)."""
    argv, _ = unit_exec_start(inst, "timing-maintain.service")
    conf = os.path.join(inst.server_root, "httpd.conf.d",
                        "_etc_apache2_mods-available_timing.conf")
    argv = [conf if a == "/etc/apache2/mods-available/timing.conf" else
            a.replace("/run/mysqld/mysqld.sock", inst.db.db_socket)
            for a in argv]
    assert conf in argv and "--socket=" + inst.db.db_socket in argv
    res = subprocess.run(argv, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert re.fullmatch(r"timing-maintain: \d+ event\(s\) pruned.*\n",
                        res.stdout), res.stdout
    # The commented defaults in the conf are what an operator edits.
    with open(conf) as f:
        text = f.read()
    assert "#TimingEventRetention 30d" in text
    edited = os.path.join(inst.root, "retention.conf")
    with open(edited, "w") as f:
        f.write(text.replace("#TimingEventRetention 30d",
                             "TimingEventRetention 45d"))
    shown = subprocess.run([argv[0], "--config", edited, "--print-settings"],
                           capture_output=True, text=True)
    assert "TimingEventRetention %d" % (45 * 86400) in shown.stdout, \
        shown.stdout + shown.stderr


# -- broken configurations: apache2 -t names the directive -------------------

def broken(inst, name, edit):
    conf = write_httpd_conf(inst, name, edit)
    res = apache_test(inst, conf)
    # Put the shared files back as the good configuration has them.
    write_httpd_conf(inst)
    return res


def test_config_test_fails_on_a_short_secret(inst):
    bad = os.path.join(inst.root, "short.secret")
    with open(bad, "w") as f:
        f.write("too short\n")

    def edit(name, text):
        return text.replace(inst.path("/etc/timing/jwt.secret"), bad)
    res = broken(inst, "short-secret.conf", edit)
    assert res.returncode != 0
    assert "TimingJWTSecretFile" in res.stderr and "32 bytes" in res.stderr


def test_config_test_fails_on_a_missing_secret(inst):
    def edit(name, text):
        return text.replace(inst.path("/etc/timing/jwt.secret"),
                            inst.path("/etc/timing/no-such.secret"))
    res = broken(inst, "no-secret.conf", edit)
    assert res.returncode != 0
    assert "TimingJWTSecretFile" in res.stderr and "no-such.secret" \
        in res.stderr


def test_config_test_fails_on_a_limit_out_of_range(inst):
    def edit(name, text):
        if name.endswith("mods-available/timing.conf"):
            text = text.replace("</IfModule>",
                                "    TimingBodyLimit 10\n</IfModule>")
        return text
    res = broken(inst, "limit.conf", edit)
    assert res.returncode != 0
    assert "TimingBodyLimit" in res.stderr


def test_config_test_fails_on_a_missing_socket_directory(inst):
    def edit(name, text):
        return text.replace(inst.run_dir, os.path.join(inst.root, "nowhere"))
    res = broken(inst, "no-run-dir.conf", edit)
    assert res.returncode != 0
    assert "TimingEventSocket" in res.stderr


# -- stopping ----------------------------------------------------------------

def test_sigterm_says_shutdown_and_stops(inst):
    token = login(inst)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    os.unlink(inst.notify_path)
    notify.bind(inst.notify_path)
    os.chmod(inst.notify_path, 0o666)
    notify.settimeout(15)

    async def scenario():
        ws = await ws_open(inst, "/admin",
                           subprotocols=["timing.v1", "bearer." + token])
        try:
            await ws_next(ws)
            inst.procs["eventd"].send_signal(signal.SIGTERM)
            bye = await ws_next(ws)
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except Exception:
                pass
            return bye, ws.close_code
        finally:
            await ws.close()

    try:
        bye, code = asyncio.run(scenario())
        stopping = notify.recv(4096)
    finally:
        notify.close()
    assert bye == {"type": "disconnect", "reason": "shutdown"}
    assert code == 1001
    assert stopping == b"STOPPING=1"
    # Well inside the unit's TimeoutStopSec.
    assert inst.procs["eventd"].wait(15) == 0
