/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c -- timing-eventd: options, signals, setup, and the only place
 * that exits.
 *
 * Builds the pieces (loop, hub, replay ring, WebSocket server, events
 * socket), prints "ready" (and tells systemd, notify.c) once both sockets
 * listen, runs the loop, and on
 * SIGTERM/SIGINT says goodbye to every session and exits 0.  Signals
 * arrive through a signalfd, so they are handled in the loop like any
 * other event and no code runs in signal context.  Everything else is the other files' job.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "gapwatch.h"
#include "hub.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "recycle.h"
#include "ring.h"
#include "secret.h"
#include "stats.h"
#include "timing_proto.h"
#include "ws_server.h"

#define EVENTD_VERSION      "0.1.0"
#define SHUTDOWN_GRACE_MS   2000
#define WS_BACKLOG          511

typedef struct options {
    const char *ws_socket;
    const char *event_socket;
    mode_t socket_mode;
    const char *socket_group;
    const char *secret_file;    /* NULL: the systemd credential */
    ws_config ws;
    size_t ring_size;
    long long gap_horizon_ms;
    int log_level;
} options;

/* A socket file this process created, so that exiting removes only that
 * file and never one a successor has bound in its place meanwhile. */
typedef struct socket_file {
    const char *path;
    dev_t dev;
    ino_t ino;
    int created;
} socket_file;

typedef struct daemon_state {
    loop *loop;
    hub *hub;
    ring *ring;
    ws_server *ws;
    events *ev;
    int ws_fd, ev_fd, sig_fd;
    socket_file ws_file, ev_file;
    unsigned char *secret;
    int stopping;
} daemon_state;

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: timing-eventd [OPTION]...\n"
        "Holds Timing's WebSocket connections (proxied by Apache) and fans\n"
        "out the events mod_timing sends.\n"
        "\n"
        "  --ws-socket PATH       WebSocket unix socket (default %s)\n"
        "  --event-socket PATH    events unix socket (default %s)\n"
        "  --socket-mode OCTAL    mode of both socket files (default 0660)\n"
        "  --socket-group NAME    group of both socket files\n"
        "  --secret-file PATH     the secret mod_timing seals its messages\n"
        "                         with (TimingEventdSecretFile); default:\n"
        "                         the systemd credential %s\n"
        "  --max-queue BYTES      output a client may fall behind by\n"
        "                         (default 1048576)\n"
        "  --max-message BYTES    largest client message (default 4096)\n"
        "  --ping-interval SEC    protocol ping interval (default 25)\n"
        "  --pong-timeout SEC     close a client silent this long\n"
        "                         (default 60)\n"
        "  --ring-size N          events kept for resuming clients\n"
        "                         (default %d)\n"
        "  --gap-horizon-ms MS    resync when an event id is missing this\n"
        "                         long (default %d)\n"
        "  --recycle-spread-ms MS spread the reconnects of an old Apache\n"
        "                         generation's sockets over this long\n"
        "                         (default %d; 0: at once)\n"
        "  --log-level LEVEL      error, warn, info or debug (default info)\n"
        "  --name NAME            the shop this daemon serves, in every log\n"
        "                         line: timing-eventd[NAME] (letters,\n"
        "                         digits, '.', '_', '-'; at most 32)\n"
        "  --help                 show this and exit\n"
        "  --version              show the version and exit\n",
        TP_DEFAULT_WS_SOCKET, TP_DEFAULT_EVENT_SOCKET, SECRET_CREDENTIAL,
        RING_DEFAULT_SIZE,
        GW_DEFAULT_HORIZON_MS, RECYCLE_DEFAULT_SPREAD_MS);
}

/* Whole decimal number within [min, max]: 0 or -1. */
static int parse_num(const char *s, unsigned long long min,
                     unsigned long long max, unsigned long long *out)
{
    unsigned long long v;
    char *end;

    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static void bad_option(const char *opt, const char *value, const char *want)
{
    fprintf(stderr, "timing-eventd: bad value for --%s: '%s' (%s)\n", opt,
            value, want);
    exit(2);
}

static void parse_options(int argc, char **argv, options *o)
{
    enum {
        OPT_WS = 1, OPT_EV, OPT_MODE, OPT_GROUP, OPT_SECRET, OPT_QUEUE,
        OPT_MESSAGE, OPT_PING, OPT_PONG, OPT_RING, OPT_HORIZON, OPT_SPREAD,
        OPT_LOG, OPT_NAME, OPT_HELP, OPT_VERSION
    };
    static const struct option longopts[] = {
        { "ws-socket", required_argument, NULL, OPT_WS },
        { "event-socket", required_argument, NULL, OPT_EV },
        { "socket-mode", required_argument, NULL, OPT_MODE },
        { "socket-group", required_argument, NULL, OPT_GROUP },
        { "secret-file", required_argument, NULL, OPT_SECRET },
        { "max-queue", required_argument, NULL, OPT_QUEUE },
        { "max-message", required_argument, NULL, OPT_MESSAGE },
        { "ping-interval", required_argument, NULL, OPT_PING },
        { "pong-timeout", required_argument, NULL, OPT_PONG },
        { "ring-size", required_argument, NULL, OPT_RING },
        { "gap-horizon-ms", required_argument, NULL, OPT_HORIZON },
        { "recycle-spread-ms", required_argument, NULL, OPT_SPREAD },
        { "log-level", required_argument, NULL, OPT_LOG },
        { "name", required_argument, NULL, OPT_NAME },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 }
    };
    unsigned long long v;
    unsigned long mode;
    char *end;
    int c;

    o->ws_socket = TP_DEFAULT_WS_SOCKET;
    o->event_socket = TP_DEFAULT_EVENT_SOCKET;
    o->socket_mode = 0660;
    o->socket_group = NULL;
    o->secret_file = NULL;
    o->ws.max_queue = 1024 * 1024;
    o->ws.max_message = 4096;
    o->ws.ping_interval_ms = 25 * 1000;
    o->ws.pong_timeout_ms = 60 * 1000;
    o->ws.recycle_spread_ms = RECYCLE_DEFAULT_SPREAD_MS;
    o->ring_size = RING_DEFAULT_SIZE;
    o->gap_horizon_ms = GW_DEFAULT_HORIZON_MS;
    o->log_level = LOG_INFO;

    opterr = 0;     /* our own message, then exit 2 */
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_WS:
            o->ws_socket = optarg;
            break;
        case OPT_EV:
            o->event_socket = optarg;
            break;
        case OPT_MODE:
            errno = 0;
            mode = strtoul(optarg, &end, 8);
            if (optarg[0] < '0' || optarg[0] > '7' || errno || *end
                || mode > 0777) {
                bad_option("socket-mode", optarg, "octal, at most 0777");
            }
            o->socket_mode = (mode_t)mode;
            break;
        case OPT_GROUP:
            if (optarg[0] == '\0') {
                bad_option("socket-group", optarg, "a group name or id");
            }
            o->socket_group = optarg;
            break;
        case OPT_SECRET:
            if (optarg[0] == '\0') {
                bad_option("secret-file", optarg, "a file");
            }
            o->secret_file = optarg;
            break;
        case OPT_QUEUE:
            if (parse_num(optarg, 1024, 1ULL << 30, &v)) {
                bad_option("max-queue", optarg, "1024 to 1073741824 bytes");
            }
            o->ws.max_queue = (size_t)v;
            break;
        case OPT_MESSAGE:
            if (parse_num(optarg, 125, 16 << 20, &v)) {
                bad_option("max-message", optarg, "125 to 16777216 bytes");
            }
            o->ws.max_message = (size_t)v;
            break;
        case OPT_PING:
            if (parse_num(optarg, 1, 3600, &v)) {
                bad_option("ping-interval", optarg, "1 to 3600 seconds");
            }
            o->ws.ping_interval_ms = (long long)v * 1000;
            break;
        case OPT_PONG:
            if (parse_num(optarg, 2, 86400, &v)) {
                bad_option("pong-timeout", optarg, "2 to 86400 seconds");
            }
            o->ws.pong_timeout_ms = (long long)v * 1000;
            break;
        case OPT_RING:
            if (parse_num(optarg, 1, RING_MAX_SIZE, &v)) {
                bad_option("ring-size", optarg, "1 to 1048576 events");
            }
            o->ring_size = (size_t)v;
            break;
        case OPT_HORIZON:
            if (parse_num(optarg, 10, 600000, &v)) {
                bad_option("gap-horizon-ms", optarg, "10 to 600000 ms");
            }
            o->gap_horizon_ms = (long long)v;
            break;
        case OPT_SPREAD:
            if (parse_num(optarg, 0, RECYCLE_MAX_SPREAD_MS, &v)) {
                bad_option("recycle-spread-ms", optarg, "0 to 600000 ms");
            }
            o->ws.recycle_spread_ms = (long long)v;
            break;
        case OPT_LOG:
            o->log_level = log_level_from_name(optarg);
            if (o->log_level < 0) {
                bad_option("log-level", optarg, "error, warn, info or debug");
            }
            break;
        case OPT_NAME:
            if (log_set_name(optarg) != 0) {
                bad_option("name", optarg, "1 to 32 letters, digits, '.', "
                           "'_' or '-'");
            }
            break;
        case OPT_HELP:
            usage(stdout);
            exit(0);
        case OPT_VERSION:
            printf("timing-eventd %s\n", EVENTD_VERSION);
            exit(0);
        default:
            if (optopt) {
                fprintf(stderr, "timing-eventd: option needs a value or "
                        "takes none: %s\n", argv[optind - 1]);
            }
            else {
                fprintf(stderr, "timing-eventd: unknown option: %s\n",
                        argv[optind - 1]);
            }
            fprintf(stderr, "Try 'timing-eventd --help'.\n");
            exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "timing-eventd: unexpected argument: %s\n",
                argv[optind]);
        exit(2);
    }
    /* A live but idle client answers only the pings: it must be pinged
     * before its silence counts as death. */
    if (o->ws.pong_timeout_ms <= o->ws.ping_interval_ms) {
        fprintf(stderr, "timing-eventd: --pong-timeout must be longer than "
                "--ping-interval\n");
        exit(2);
    }
}

static void remember_file(socket_file *f, const char *path)
{
    struct stat st;

    f->path = path;
    if (lstat(path, &st) == 0) {
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->created = 1;
    }
}

static void unlink_file(socket_file *f)
{
    struct stat st;

    if (f->created && lstat(f->path, &st) == 0 && st.st_dev == f->dev
        && st.st_ino == f->ino && unlink(f->path) == -1) {
        log_msg(LOG_WARN, "cannot remove %s: %s", f->path, strerror(errno));
    }
    f->created = 0;
}

/* Lets a busy server hold as many sockets as its hard limit allows; the
 * soft default (often 1024) would cap live WebSockets far too low. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
            log_msg(LOG_DEBUG, "cannot raise the fd limit: %s",
                    strerror(errno));
        }
    }
}

static long long grace_over(loop *l, long long id, void *data)
{
    (void)id;
    (void)data;
    log_msg(LOG_INFO, "shutdown grace over, closing what is left");
    loop_stop(l);
    return LOOP_NOMORE;
}

static void begin_shutdown(daemon_state *d, const char *signame)
{
    log_msg(LOG_INFO, "%s: shutting down", signame);
    d->stopping = 1;
    notify_systemd("STOPPING=1");
    ws_server_stop_accepting(d->ws);
    events_stop(d->ev);
    /* Closed and removed now rather than at exit: a successor can bind
     * at once, and connections no longer queue on a socket nobody takes
     * from. */
    unlink_file(&d->ws_file);
    unlink_file(&d->ev_file);
    close(d->ws_fd);
    d->ws_fd = -1;
    ws_server_shutdown(d->ws, SHUTDOWN_GRACE_MS);
    if (loop_add_timer(d->loop, SHUTDOWN_GRACE_MS, grace_over, d) == -1) {
        loop_stop(d->loop);
    }
}

static void on_signal(loop *l, int fd, void *data, int mask)
{
    daemon_state *d = data;
    struct signalfd_siginfo si;

    (void)mask;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        const char *name = si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";

        if (d->stopping) {
            log_msg(LOG_INFO, "%s again: exiting now", name);
            loop_stop(l);
            return;
        }
        begin_shutdown(d, name);
    }
}

static void before_sleep(loop *l, void *data)
{
    daemon_state *d = data;

    events_read_first(d->ev);
    ws_server_before_sleep(d->ws);
    if (d->stopping && ws_server_sessions(d->ws) == 0) {
        loop_stop(l);
    }
}

static void cleanup(daemon_state *d)
{
    ws_server_destroy(d->ws);
    events_destroy(d->ev);
    unlink_file(&d->ws_file);
    unlink_file(&d->ev_file);
    if (d->ws_fd != -1) {
        close(d->ws_fd);
    }
    if (d->ev_fd != -1) {
        close(d->ev_fd);
    }
    if (d->sig_fd != -1) {
        close(d->sig_fd);
    }
    hub_destroy(d->hub);
    ring_destroy(d->ring);
    loop_destroy(d->loop);
    if (d->secret) {
        OPENSSL_cleanse(d->secret, TP_MAX_SECRET_LEN + 1);
        free(d->secret);
    }
}

static void fail(daemon_state *d, const char *what, const char *why)
{
    log_msg(LOG_ERROR, "%s: %s", what, why);
    cleanup(d);
    exit(1);
}

int main(int argc, char **argv)
{
    daemon_state d;
    options o;
    char err[LISTENER_ERR_LEN];
    gid_t gid = (gid_t)-1;
    sigset_t mask;

    memset(&d, 0, sizeof d);
    d.ws_fd = d.ev_fd = d.sig_fd = -1;
    parse_options(argc, argv, &o);
    log_set_level(o.log_level);
    if (o.socket_group && listener_group(err, o.socket_group, &gid) == -1) {
        fprintf(stderr, "timing-eventd: bad value for --socket-group: %s\n",
                err);
        exit(2);
    }
    {
        char why[SECRET_ERR_LEN];
        const char *path = secret_path(why, o.secret_file);

        if (!path
            || secret_load(why, path, &d.secret, &o.ws.secret_len) == -1) {
            fprintf(stderr, "timing-eventd: the seal's secret: %s\n", why);
            exit(2);
        }
        o.ws.secret = d.secret;
    }

    /* Writes to a closed peer come back as EPIPE, never as a signal. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1) {
        fail(&d, "sigprocmask", strerror(errno));
    }
    d.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d.sig_fd == -1) {
        fail(&d, "signalfd", strerror(errno));
    }
    raise_fd_limit();
    stats_init();

    d.loop = loop_create(1024);
    d.hub = hub_create(HUB_DEFAULT_IDLE_ORDERS);
    d.ring = ring_create(o.ring_size, RING_DEFAULT_BYTES);
    if (!d.loop || !d.hub || !d.ring) {
        fail(&d, "setup", "out of memory");
    }
    d.ws = ws_server_create(d.loop, d.hub, d.ring, &o.ws);
    if (!d.ws) {
        fail(&d, "setup", "out of memory");
    }

    d.ws_fd = listener_unix(err, o.ws_socket, SOCK_STREAM, o.socket_mode,
                            gid, WS_BACKLOG);
    if (d.ws_fd == -1) {
        fail(&d, "WebSocket socket", err);
    }
    remember_file(&d.ws_file, o.ws_socket);
    d.ev_fd = listener_unix(err, o.event_socket, SOCK_DGRAM, o.socket_mode,
                            gid, 0);
    if (d.ev_fd == -1) {
        fail(&d, "events socket", err);
    }
    remember_file(&d.ev_file, o.event_socket);

    if (ws_server_listen(d.ws, d.ws_fd) == -1) {
        fail(&d, "watching the WebSocket socket", strerror(errno));
    }
    d.ev = events_create(d.loop, d.hub, d.ring, d.ws, o.gap_horizon_ms,
                         d.ev_fd, d.secret, o.ws.secret_len);
    if (!d.ev) {
        fail(&d, "watching the events socket", "out of memory");
    }
    if (loop_add_file(d.loop, d.sig_fd, LOOP_READABLE, on_signal, &d) == -1) {
        fail(&d, "watching signals", strerror(errno));
    }
    loop_set_before_sleep(d.loop, before_sleep, &d);

    log_msg(LOG_INFO, "timing-eventd %s (%s): WebSocket socket %s, events "
            "socket %s", EVENTD_VERSION, loop_backend_name(), o.ws_socket,
            o.event_socket);
    log_msg(LOG_INFO, "ready");
    notify_systemd("READY=1");

    if (loop_run(d.loop) == -1) {
        fail(&d, "event loop", strerror(errno));
    }
    log_msg(LOG_INFO, "exiting");
    cleanup(&d);
    return 0;
}
