#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""stack.py -- Timing's whole stack on one machine: a private MariaDB, the
migrations, timing-eventd, and Apache with mod_timing.

`make run` calls `stack.py run`: everything in the foreground on
http://localhost:$PORT, data kept in the checkout's state/ directory, a
part that dies started again (Supervisor), and Ctrl-C stops all three.
The integration tests import Stack and start the same parts on free ports
in a temporary directory.

Nothing here listens on TCP but Apache: MariaDB runs with
--skip-networking and the daemon has unix sockets only.

Stack(..., tls=True) serves HTTPS instead of HTTP on its port, with a
self-signed certificate (openssl) for localhost, 127.0.0.1 and ::1 made in
its secrets directory: mod_ssl then holds the TLS session, and the
WebSocket channels (wss://) go through mod_proxy_wstunnel as on a server
that serves them over HTTPS.
"""

import getpass
import grp
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB_NAME = "timing"
DB_APP_USER = "timing"
DEFAULT_ADMIN_EMAIL = "admin@timing.local"
MAINTAIN_EVERY = 600        # seconds between timing-maintain runs (`run`)
# `run` restarts a part that dies, as systemd's Restart=on-failure with its
# start limit: after RESTART_DELAY seconds, doubled for each further
# failure of that part within RESTART_WINDOW seconds (at most
# RESTART_DELAY_MAX); one failure more than RESTART_BURST within the
# window and it gives up and stops everything.
RESTART_DELAY = 0.5
RESTART_DELAY_MAX = 8
RESTART_BURST = 5
RESTART_WINDOW = 60
APACHE_GRACEFUL_STOP = 5    # seconds a graceful stop may take (stop_apache)


# Debian puts daemons and administrators' tools (mariadbd, apache2,
# runuser) in the sbin directories, which a normal user's PATH leaves out:
# `make run` and the tests must work for a user with sudo as for root.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


class StackError(Exception):
    """A part of the stack could not be started; the message says why."""


def program(name):
    """The path of the program name: from PATH first (so a wrapper put
    there wins, as fuzz/asan_module.py's apache2), then from the sbin
    directories."""
    found = (shutil.which(name)
             or shutil.which(name, path=os.pathsep.join(SBIN_DIRS)))
    if found is None:
        raise StackError("%s is not installed (make deps installs it)" % name)
    return found


def sql_quote(text):
    """A MariaDB string literal for text."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def apxs_query(name):
    return subprocess.run([program("apxs"), "-q", name], check=True,
                          text=True, capture_output=True).stdout.strip()


def apache_user():
    """The user Apache's children run as when started by root."""
    for name in ("www-data", "nobody"):
        try:
            pw = pwd.getpwnam(name)
            return name, grp.getgrgid(pw.pw_gid).gr_name
        except KeyError:
            continue
    raise StackError("no www-data or nobody user for Apache's children")


def readable_by_others(path):
    """True when a user other than the owner can reach and read path."""
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    while True:
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return False
        if parent == "/":
            break
        parent = os.path.dirname(parent)
    return bool(os.stat(path).st_mode & stat.S_IROTH)


def free_port():
    """A port free on loopback now, below the kernel's ephemeral range: a
    stack's port is bound again on every restart of Apache, and a port
    from that range can be taken meanwhile by any client's outgoing
    connection -- even one to the stopped port itself, which TCP then
    connects to itself."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    low = 10000 if ephemeral > 11000 else 1024
    rng = secrets.SystemRandom()
    for _ in range(200):
        port = rng.randrange(low, max(ephemeral, low + 1))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise StackError("no free port below %d" % ephemeral)


def ipv6_loopback_usable():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Stack:
    """One private Timing stack.  start() brings it up; stop() tears down
    whatever is running, and is safe to call at any point."""

    def __init__(self, state_dir, run_dir, port, listen_hosts=("127.0.0.1",),
                 eventd_bin=None, console=False, demo=True,
                 admin_email=None, admin_password=None, defines=None,
                 eventd_args=(), tls=False):
        self.state_dir = os.path.abspath(state_dir)
        self.run_dir = os.path.abspath(run_dir)
        self.port = port
        self.listen_hosts = listen_hosts
        self.eventd_bin = eventd_bin or os.path.join(CHECKOUT, "build",
                                                     "timing-eventd")
        self.module_so = os.path.join(CHECKOUT, "mod_timing", ".libs",
                                      "mod_timing.so")
        self.console = console
        self.demo = demo
        self.admin_email = admin_email or DEFAULT_ADMIN_EMAIL
        self.admin_password = admin_password
        self.os_user = getpass.getuser()
        self.is_root = os.geteuid() == 0
        # Extra Define lines for the template (e.g. TIMING_ORDER_RATE_LIMIT).
        self.defines = dict(defines or {})
        self.eventd_args = list(eventd_args)    # e.g. a small --max-queue
        self.tls = tls          # HTTPS on the port (mod_ssl), not HTTP

        self.db_dir = os.path.join(self.state_dir, "db")
        self.secrets_dir = os.path.join(self.state_dir, "secrets")
        self.server_root = os.path.join(self.state_dir, "apache")
        self.logs_dir = os.path.join(self.state_dir, "logs")
        self.db_socket = os.path.join(self.run_dir, "mysql.sock")
        self.ws_socket = os.path.join(self.run_dir, "ws.sock")
        self.event_socket = os.path.join(self.run_dir, "events.sock")
        self.httpd_conf = os.path.join(self.server_root, "httpd.conf")
        self.tls_cert = os.path.join(self.secrets_dir, "tls.crt")
        self.tls_key = os.path.join(self.secrets_dir, "tls.key")
        self.scheme = "https" if tls else "http"
        self.ws_scheme = "wss" if tls else "ws"
        self.base_url = "%s://127.0.0.1:%d" % (self.scheme, port)
        self._ssl_context = None
        self.procs = {}
        self.logs = {}

    # -- paths and secrets ---------------------------------------------

    def _check_owner(self):
        """A state directory another user made (root's `sudo make run` in
        this checkout) cannot be this user's database and secrets: say so,
        rather than fail on the first file it may not read."""
        uid = os.getuid()
        paths = [self.state_dir]
        for d in (self.state_dir, self.secrets_dir):
            if os.path.isdir(d):
                paths += [os.path.join(d, n) for n in os.listdir(d)]
        for path in paths:
            try:
                owner = os.lstat(path).st_uid
            except FileNotFoundError:
                continue
            if owner != uid:
                try:
                    owner = pwd.getpwuid(owner).pw_name
                except KeyError:
                    owner = "uid %d" % owner
                raise StackError(
                    "%s belongs to %s, not to %s: delete %s (sudo rm -r) for "
                    "a fresh one, or give it to this user (sudo chown -R)"
                    % (path, owner, self.os_user, self.state_dir))

    def _prepare_dirs(self):
        self._check_owner()
        for d in (self.state_dir, self.secrets_dir, self.logs_dir,
                  self.server_root, os.path.join(self.server_root, "run"),
                  os.path.join(self.server_root, "logs")):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.secrets_dir, 0o700)
        os.makedirs(self.run_dir, exist_ok=True)
        # Apache's children (www-data under root) must reach the sockets.
        os.chmod(self.run_dir, 0o711)

    def _secret(self, name, make):
        path = os.path.join(self.secrets_dir, name)
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()
        value = make()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        return value

    def make_tls_cert(self):
        """A self-signed certificate and its key for the names a client on
        this machine uses (localhost, 127.0.0.1, ::1); made once, like the
        secrets.  The key is the owner's alone: Apache's parent reads it
        (as root when started by root) before its children drop to
        Apache's user."""
        if os.path.exists(self.tls_cert) and os.path.exists(self.tls_key):
            return
        res = subprocess.run(
            [program("openssl"), "req", "-x509", "-newkey", "ec",
             "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", self.tls_key, "-out", self.tls_cert,
             "-days", "30", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
             "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
             "-addext", "extendedKeyUsage=serverAuth"],
            capture_output=True, text=True)
        if res.returncode != 0:
            for path in (self.tls_cert, self.tls_key):
                if os.path.exists(path):
                    os.unlink(path)
            raise StackError("openssl could not make the certificate:\n"
                             + res.stderr)
        os.chmod(self.tls_key, 0o600)

    def ssl_context(self):
        """A client context that trusts this stack's certificate (and
        checks the name, as a browser does); None for a plain stack."""
        if not self.tls:
            return None
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context(
                cafile=self.tls_cert)
        return self._ssl_context

    def log_path(self, part):
        return os.path.join(self.logs_dir, part + ".log")

    def _spawn(self, part, argv, env=None, to_console=False):
        old = self.logs.pop(part, None)     # a part started again
        if old is not None:
            old.close()
        if to_console:
            out = None
        else:
            out = open(self.log_path(part), "ab")
            self.logs[part] = out
        # A session of its own: Ctrl-C reaches only this script, which then
        # stops the parts in order.
        proc = subprocess.Popen(argv, stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        self.procs[part] = proc
        return proc

    def _wait_until(self, part, ready, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs.get(part)
            if proc is not None and proc.poll() is not None:
                raise StackError("%s exited with status %s while starting; "
                                 "see %s" % (part, proc.returncode,
                                             self.log_path(part)))
            if ready():
                return
            time.sleep(0.05)
        raise StackError("%s did not become ready within %ds (%s); see %s"
                         % (part, timeout, what, self.log_path(part)))

    # -- MariaDB --------------------------------------------------------

    def mariadb(self, sql, database=DB_NAME, check=True):
        """Runs SQL as the database's administrator (the OS user, through
        the unix_socket plugin) and returns the rows as lists of text."""
        argv = [program("mariadb"), "--no-defaults", "--batch",
                "--skip-column-names", "--socket=" + self.db_socket,
                "--user=" + self.os_user]
        if database:
            argv.append(database)
        res = subprocess.run(argv, input=sql, text=True, capture_output=True)
        if check and res.returncode != 0:
            raise StackError("SQL failed: %s" % res.stderr.strip())
        return [line.split("\t") for line in res.stdout.splitlines()]

    def _db_answers(self):
        res = subprocess.run(
            [program("mariadb"), "--no-defaults",
             "--socket=" + self.db_socket, "--user=" + self.os_user,
             "-e", "SELECT 1"],
            capture_output=True)
        return res.returncode == 0

    def start_db(self):
        if not os.path.isdir(os.path.join(self.db_dir, "mysql")):
            os.makedirs(self.db_dir, exist_ok=True)
            res = subprocess.run(
                [program("mariadb-install-db"), "--no-defaults",
                 "--datadir=" + self.db_dir, "--user=" + self.os_user,
                 "--auth-root-authentication-method=socket",
                 "--skip-test-db"],
                capture_output=True, text=True)
            if res.returncode != 0:
                shutil.rmtree(self.db_dir, ignore_errors=True)
                raise StackError("mariadb-install-db failed:\n" + res.stdout
                                 + res.stderr)
        self._spawn("mariadb", [
            program("mariadbd"), "--no-defaults",
            "--datadir=" + self.db_dir,
            "--socket=" + self.db_socket,
            "--pid-file=" + os.path.join(self.run_dir, "mariadbd.pid"),
            "--skip-networking",
            "--user=" + self.os_user,
            "--log-error=" + self.log_path("mariadb"),
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--innodb-buffer-pool-size=128M",
            "--max-connections=400",
            "--skip-name-resolve",
            # Many short statements from mod_dbd's pools: a thread pool
            # serves them without a thread (and switch) per connection.
            "--thread-handling=pool-of-threads",
        ])
        self._wait_until("mariadb", self._db_answers, 60,
                         "no answer on " + self.db_socket)

    def stop_db(self):
        self._stop("mariadb", signal.SIGTERM, 60)

    def provision_db(self):
        """Database, application user, migrations, demo data, admin."""
        db_password = self._secret("db.password",
                                   lambda: secrets.token_hex(24))
        self.mariadb(
            "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4 "
            "COLLATE utf8mb4_unicode_ci;\n"
            "CREATE USER IF NOT EXISTS %s@'localhost' IDENTIFIED BY %s;\n"
            "ALTER USER %s@'localhost' IDENTIFIED BY %s;\n"
            "GRANT SELECT, INSERT, UPDATE, DELETE ON %s.* TO %s@'localhost';\n"
            % (DB_NAME, sql_quote(DB_APP_USER), sql_quote(db_password),
               sql_quote(DB_APP_USER), sql_quote(db_password), DB_NAME,
               sql_quote(DB_APP_USER)), database=None)
        res = subprocess.run(
            [os.path.join(CHECKOUT, "schema", "migrate"), DB_NAME,
             "--socket=" + self.db_socket, "--user=" + self.os_user],
            capture_output=True, text=True)
        if res.returncode != 0:
            raise StackError("migrations failed:\n" + res.stdout + res.stderr)
        self._load_time_zones()
        if self.demo:
            with open(os.path.join(CHECKOUT, "schema", "demo",
                                   "thai_cafe.sql")) as f:
                self.mariadb(f.read())
        self._provision_admin()
        self.dbd_params = ("sock=%s,user=%s,pass=%s,dbname=%s,reconnect=0"
                           % (self.db_socket, DB_APP_USER, db_password,
                              DB_NAME))

    def _load_time_zones(self):
        """MariaDB's zone tables, so CONVERT_TZ knows the shop's timezone
        (pickup numbers count per day in it)."""
        if self.mariadb("SELECT COUNT(*) FROM mysql.time_zone_name",
                        database=None) != [["0"]]:
            return
        zones = subprocess.run([program("mariadb-tzinfo-to-sql"),
                                "/usr/share/zoneinfo"],
                               capture_output=True, text=True, check=True)
        self.mariadb(zones.stdout, database="mysql")

    def _provision_admin(self):
        given = self.admin_password is not None
        if not given:
            self.admin_password = self._secret(
                "admin.password", lambda: secrets.token_urlsafe(12))
        if not 8 <= len(self.admin_password) <= 128:
            raise StackError("TIMING_ADMIN_PASSWORD must be 8 to 128 "
                             "characters")
        # Stored lower-cased, as the API and create-admin store addresses.
        exists = self.mariadb("SELECT id FROM users WHERE email = LOWER(%s)"
                              % sql_quote(self.admin_email))
        if exists and not given:
            return
        hashed = self.hash_password(self.admin_password)
        self.mariadb(
            "INSERT INTO users (name, email, password_hash, role, disabled,"
            " created_at, updated_at) VALUES ('Admin', LOWER(%s), %s, 'admin', FALSE,"
            " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))"
            " ON DUPLICATE KEY UPDATE password_hash = VALUES(password_hash),"
            " role = 'admin', disabled = FALSE, updated_at = UTC_TIMESTAMP(3)"
            % (sql_quote(self.admin_email), sql_quote(hashed)))

    @staticmethod
    def hash_password(password):
        """bcrypt, as apr_password_validate checks it (APR's htpasswd)."""
        res = subprocess.run([program("htpasswd"), "-niB", "-C", "10",
                              "user"], input=password + "\n", text=True,
                             capture_output=True, check=True)
        return res.stdout.strip().split(":", 1)[1]

    # -- timing-eventd ----------------------------------------------------

    def _socket_accepts(self, path):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)
            return True
        except OSError:
            return False

    @property
    def eventd_secret_file(self):
        """The secret mod_timing seals what it tells timing-eventd with:
        readable by root (Apache's parent) and the daemon only."""
        self._secret("eventd.secret", lambda: secrets.token_hex(32))
        return os.path.join(self.secrets_dir, "eventd.secret")

    def start_eventd(self):
        argv = [self.eventd_bin, "--ws-socket", self.ws_socket,
                "--event-socket", self.event_socket,
                "--socket-mode", "0660",
                "--secret-file", self.eventd_secret_file]
        if self.is_root:
            argv += ["--socket-group", apache_user()[1]]
        argv += self.eventd_args
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self._spawn("eventd", argv, env=env, to_console=self.console)
        self._wait_until("eventd",
                         lambda: self._socket_accepts(self.ws_socket)
                         and os.path.exists(self.event_socket), 30,
                         "no listener on " + self.ws_socket)

    def stop_eventd(self):
        return self._stop("eventd", signal.SIGTERM, 10)

    def kill_eventd(self):
        return self._stop("eventd", signal.SIGKILL, 10)

    # -- Apache -----------------------------------------------------------

    def _web_root(self):
        web = os.path.join(CHECKOUT, "web")
        if not self.is_root or readable_by_others(os.path.join(web,
                                                               "index.html")):
            return web
        # Apache's children cannot reach the checkout (a 0700 home or
        # mktemp directory): serve a copy from the run directory instead.
        copy = os.path.join(self.run_dir, "web")
        shutil.copytree(web, copy, dirs_exist_ok=True)
        for root, dirs, files in os.walk(copy):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        self.web_copied = True
        return copy

    def write_httpd_conf(self):
        jwt_secret = self._secret("jwt.secret",
                                  lambda: secrets.token_hex(32))
        del jwt_secret  # read by Apache from the file
        defines = {
            "TIMING_SERVER_ROOT": self.server_root,
            "TIMING_LISTEN": "%s:%d" % (self.listen_hosts[0], self.port),
            "TIMING_MODULES": apxs_query("LIBEXECDIR"),
            "TIMING_MODULE": self.module_so,
            "TIMING_ERROR_LOG": self.log_path("apache"),
            "TIMING_WEB": self._web_root(),
            "TIMING_DBD_PARAMS": self.dbd_params,
            "TIMING_SECRET_FILE": os.path.join(self.secrets_dir,
                                               "jwt.secret"),
            "TIMING_EVENTD_SECRET_FILE": self.eventd_secret_file,
            "TIMING_CONF_DIR": os.path.join(CHECKOUT, "conf"),
            "TIMING_RUN_DIR": self.run_dir,
        }
        if len(self.listen_hosts) > 1:
            defines["TIMING_LISTEN6"] = "[%s]:%d" % (self.listen_hosts[1],
                                                      self.port)
        if self.is_root:
            defines["TIMING_USER"], defines["TIMING_GROUP"] = apache_user()
        if self.tls:
            self.make_tls_cert()
            defines["TIMING_TLS_CERT"] = self.tls_cert
            defines["TIMING_TLS_KEY"] = self.tls_key
        core_dir = os.environ.get("TIMING_CORE_DIR")
        if core_dir:
            defines["TIMING_CORE_DIR"] = core_dir
        defines.update(self.defines)
        with open(os.path.join(CHECKOUT, "conf", "httpd.conf.in")) as f:
            template = f.read()
        lines = ["# Generated by scripts/stack.py from conf/httpd.conf.in;"
                 " edits are lost."]
        for key, value in defines.items():
            lines.append('Define %s "%s"' % (key, value))
        fd = os.open(self.httpd_conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n\n" + template)

    def apache_argv(self, *extra):
        return [program("apache2"), "-d", self.server_root,
                "-f", self.httpd_conf, *extra]

    def _http_answers(self):
        try:
            urllib.request.urlopen(self.base_url + "/api/health", timeout=2,
                                   context=self.ssl_context())
            return True
        except urllib.error.HTTPError:
            return True     # any HTTP answer means Apache serves
        except urllib.error.URLError as e:
            if isinstance(e.reason, ssl.SSLCertVerificationError):
                raise StackError("Apache's certificate is not the one made "
                                 "for it (%s): %s" % (self.tls_cert,
                                                      e.reason))
            return False
        except OSError:
            return False

    def start_apache(self):
        self.write_httpd_conf()
        res = subprocess.run(self.apache_argv("-t"), capture_output=True,
                             text=True)
        if res.returncode != 0:
            raise StackError("Apache refuses its configuration:\n"
                             + res.stderr)
        if self.console and not getattr(self, "apache_followed", False):
            # Apache's children may not be able to open our stderr (another
            # user's file or pipe): it logs to a file, which we follow
            # (once, however often Apache is started again).
            follow(self.log_path("apache"))
            self.apache_followed = True
        self._spawn("apache", self.apache_argv("-DFOREGROUND"),
                    to_console=self.console)
        self._wait_until("apache", self._http_answers, 30,
                         "no answer on " + self.base_url)

    def stop_apache(self):
        """Stops Apache as Debian's apache2.service does, by a graceful stop
        (SIGWINCH to the parent alone): every child lets its workers finish
        and exits.  A hard stop (SIGTERM) has each child of the event MPM
        close its workers' sockets from its main thread while a worker may
        be freeing its own at that moment, and now and then a child dies of
        SIGSEGV (the core shows apr_os_sock_get under close_worker_sockets).
        What a graceful stop cannot end -- a WebSocket tunnel the daemon
        still holds -- ends hard after APACHE_GRACEFUL_STOP seconds."""
        proc = self.procs.get("apache")
        if proc is not None and proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGWINCH)
                proc.wait(APACHE_GRACEFUL_STOP)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self._stop("apache", signal.SIGTERM, 15)

    def apache_graceful(self):
        pid = self.procs["apache"].pid
        os.kill(pid, signal.SIGUSR1)

    def apache_children(self):
        """The pids of Apache's live child processes (zombies left out),
        every generation's."""
        parent = self.procs["apache"].pid
        pids = set()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue            # exited meanwhile
            if int(fields[1]) == parent and fields[0] != "Z":
                pids.add(int(name))
        return pids

    # -- maintenance --------------------------------------------------------

    def maintain(self, *options):
        """Runs scripts/timing-maintain on this stack's database with the
        retention directives of its Apache configuration; options go
        before the database (e.g. --dry-run)."""
        return subprocess.run(
            [os.path.join(CHECKOUT, "scripts", "timing-maintain"),
             "--config", self.httpd_conf, *options, DB_NAME,
             "--socket=" + self.db_socket, "--user=" + self.os_user],
            capture_output=True, text=True)

    # -- whole stack --------------------------------------------------------

    def start(self):
        try:
            self._prepare_dirs()
            self.start_db()
            self.provision_db()
            self.start_eventd()
            self.start_apache()
        except BaseException:
            self.stop()
            raise

    def start_part(self, part):
        {"mariadb": self.start_db, "eventd": self.start_eventd,
         "apache": self.start_apache}[part]()

    def reap(self, part):
        """Forgets a part that has exited or failed to start: what is left
        of its process group dies with it (Apache's children outlive a
        parent killed by SIGKILL, and would keep its port)."""
        proc = self.procs.pop(part, None)
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        log = self.logs.pop(part, None)
        if log is not None:
            log.close()

    def _stop(self, part, sig, timeout):
        proc = self.procs.pop(part, None)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait()

    def config_test(self, extra=""):
        """`apache2 -t` on this stack's configuration plus extra lines."""
        path = self.httpd_conf + ".check"
        with open(self.httpd_conf) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text + "\n" + extra + "\n")
        try:
            return subprocess.run([program("apache2"), "-d", self.server_root,
                                   "-f", path, "-t"],
                                  capture_output=True, text=True)
        finally:
            os.unlink(path)

    def stop(self):
        """Apache first (no new requests), then the daemon, then MariaDB."""
        errors = []
        for part, step in (("apache", self.stop_apache),
                           ("eventd", self.stop_eventd),
                           ("mariadb", self.stop_db)):
            try:
                step()
            except Exception as e:     # keep tearing down the rest
                errors.append("%s: %s" % (part, e))
        for f in self.logs.values():
            f.close()
        self.logs.clear()
        if errors:
            raise StackError("; ".join(errors))


def follow(path):
    """Copies lines appended to path onto stdout, from a daemon thread."""
    import threading

    with open(path, "a"):
        start = os.path.getsize(path)

    def loop():
        with open(path, errors="replace") as f:
            f.seek(start)
            while True:
                line = f.readline()
                if line:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                else:
                    time.sleep(0.2)

    threading.Thread(target=loop, daemon=True).start()


def run_dir_for(state_dir):
    """A short, fixed socket directory per checkout: unix socket paths are
    limited to 107 bytes, and Apache's user must be able to reach it."""
    tag = hashlib.sha1(state_dir.encode()).hexdigest()[:8]
    return os.path.join("/tmp", "timing-%d-%s" % (os.getuid(), tag))


def exit_status(code):
    """A Popen return code as words."""
    if code < 0:
        try:
            return "killed by " + signal.Signals(-code).name
        except ValueError:
            return "killed by signal %d" % -code
    return "status %d" % code


class Supervisor:
    """What systemd's Restart=on-failure does for `run`'s parts.  A part
    that dies (a signal, or a status other than 0) is started again after
    a delay, with the other parts left running: MariaDB and Apache serve
    orders without the daemon, and the daemon and Apache wait out the
    database.  A part that exits with status 0 was stopped on purpose (a
    developer's `kill`, to see the shop without it) and stays down.  A
    part that keeps dying (RESTART_BURST restarts within RESTART_WINDOW,
    and it dies again) cannot be kept up: check() raises StackError, and
    `run` stops everything."""

    def __init__(self, stack, say):
        self.stack = stack
        self.say = say          # a line for the console
        self.failures = {}      # part -> times of its recent failures
        self.due = {}           # part -> when its restart is due

    def check(self):
        """Notices parts that exited and starts those whose delay is over;
        True when a part's process changed."""
        changed = False
        for part, proc in list(self.stack.procs.items()):
            if proc.poll() is None:
                continue
            self.stack.reap(part)
            changed = True
            if proc.returncode == 0:
                self.say("%s exited with status 0 (stopped on purpose?); "
                         "not restarted" % part)
            else:
                log = self.stack.log_path(part)
                self._failed(part, "%s died (%s)%s" % (
                    part, exit_status(proc.returncode),
                    "; see " + log if os.path.exists(log) else ""))
        for part, when in sorted(self.due.items(), key=lambda i: i[1]):
            if time.monotonic() < when:
                continue
            del self.due[part]
            self.say("starting %s again" % part)
            try:
                self.stack.start_part(part)
            except StackError as e:
                self.stack.reap(part)
                self._failed(part, "%s did not start: %s" % (part, e))
                continue
            changed = True
            self.say("%s is back (pid %d)"
                     % (part, self.stack.procs[part].pid))
        return changed

    def _failed(self, part, what):
        now = time.monotonic()
        recent = [t for t in self.failures.get(part, ())
                  if now - t < RESTART_WINDOW] + [now]
        self.failures[part] = recent
        if len(recent) > RESTART_BURST:
            raise StackError("%s; it failed %d times within %d s, so it is "
                             "not restarted again" % (what, len(recent),
                                                       RESTART_WINDOW))
        delay = min(RESTART_DELAY * 2 ** (len(recent) - 1),
                    RESTART_DELAY_MAX)
        self.due[part] = now + delay
        self.say("%s; restarting it in %g s" % (what, delay))


def run(port):
    state = os.path.abspath(os.environ.get("TIMING_STATE_DIR")
                            or os.path.join(CHECKOUT, "state"))
    hosts = ("127.0.0.1", "::1") if ipv6_loopback_usable() else ("127.0.0.1",)
    stack = Stack(state, run_dir_for(state), port, listen_hosts=hosts,
                  console=True,
                  admin_email=os.environ.get("TIMING_ADMIN_EMAIL"),
                  admin_password=os.environ.get("TIMING_ADMIN_PASSWORD"))
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    # Also when started in the background by a shell, which leaves SIGINT
    # ignored and Python's Ctrl-C handler uninstalled.
    signal.signal(signal.SIGINT, on_signal)
    try:
        print("timing: starting MariaDB, timing-eventd and Apache ...",
              flush=True)
        stack.start()

        def write_pids():
            with open(os.path.join(state, "run.pids"), "w") as f:
                f.write(" ".join(str(p.pid) for p in stack.procs.values())
                        + "\n")
        write_pids()
        print("""
  Timing is up:   http://localhost:%(p)d/
  Staff:          http://localhost:%(p)d/dashboard/
  Customers:      http://localhost:%(p)d/order/
  API docs:       http://localhost:%(p)d/api-docs/
  Health:         http://localhost:%(p)d/api/health
  Admin login:    %(email)s
  Admin password: %(password)s
  State:          %(state)s  (database, secrets, logs)%(note)s

  Ctrl-C stops everything.
""" % dict(p=port, email=stack.admin_email, password=stack.admin_password,
           state=state, note=
           "\n  Note: running as root, Apache serves a copy of web/ from "
           + stack.run_dir + "; restart after editing web/."
           if getattr(stack, "web_copied", False) else ""), flush=True)
        supervisor = Supervisor(stack, lambda line: print(
            "timing: " + line, flush=True))
        # What a systemd timer does for a packaged server: retention.
        next_maintenance = time.monotonic()
        while True:
            if time.monotonic() >= next_maintenance:
                next_maintenance = time.monotonic() + MAINTAIN_EVERY
                res = stack.maintain()
                sys.stdout.write(res.stdout + res.stderr)
                sys.stdout.flush()
            if supervisor.check():
                write_pids()
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\ntiming: stopping ...", flush=True)
        stack.stop()
        print("timing: stopped", flush=True)
        return 0
    except Exception as e:     # a part that cannot be kept up, or a bug
        if isinstance(e, StackError):
            print("timing: %s" % e, file=sys.stderr, flush=True)
        else:
            import traceback
            traceback.print_exc()
        try:
            stack.stop()
        except StackError as e2:
            print("timing: %s" % e2, file=sys.stderr)
        return 1


def main(argv):
    if len(argv) == 2 and argv[1] == "run":
        return run(int(os.environ.get("PORT", "8000")))
    print("usage: stack.py run   (PORT=8000)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
