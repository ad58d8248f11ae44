/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop_epoll.c -- the epoll backend of loop.c, as static functions behind
 * the loop's apidata (the pattern of redis' ae_epoll.c).
 *
 * loop.c includes this file so the functions stay static and inline well.
 * The Makefile also compiles every *.c on its own; then LOOP_BACKEND is
 * unset and this file is deliberately empty.  Level-triggered: a handler
 * that leaves data unread is simply called again, which lets handlers
 * bound their work per wakeup.
 */
#ifdef LOOP_BACKEND

#include <sys/epoll.h>

/* Ready descriptors handled per turn at most. */
#define LOOP_MAX_BATCH 512

typedef struct loop_api_state {
    int epfd;
    struct epoll_event *events;
} loop_api_state;

static int loop_api_create(loop *l)
{
    loop_api_state *state = malloc(sizeof *state);

    if (!state) {
        return -1;
    }
    state->events = calloc((size_t)l->setsize, sizeof *state->events);
    if (!state->events) {
        free(state);
        return -1;
    }
    state->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (state->epfd == -1) {
        free(state->events);
        free(state);
        return -1;
    }
    l->apidata = state;
    return 0;
}

static int loop_api_resize(loop *l, int setsize)
{
    loop_api_state *state = l->apidata;
    struct epoll_event *events;

    events = realloc(state->events, (size_t)setsize * sizeof *events);
    if (!events) {
        return -1;
    }
    state->events = events;
    return 0;
}

static void loop_api_free(loop *l)
{
    loop_api_state *state = l->apidata;

    close(state->epfd);
    free(state->events);
    free(state);
}

static int loop_api_set(loop *l, int fd, int oldmask, int mask)
{
    loop_api_state *state = l->apidata;
    struct epoll_event ee;
    int op;

    memset(&ee, 0, sizeof ee);
    if (mask == LOOP_NONE) {
        /* A closed fd has already left the epoll set; ignore that error
         * since there is nothing left to undo. */
        epoll_ctl(state->epfd, EPOLL_CTL_DEL, fd, &ee);
        return 0;
    }
    op = (oldmask == LOOP_NONE) ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (mask & LOOP_READABLE) {
        ee.events |= EPOLLIN;
    }
    if (mask & LOOP_WRITABLE) {
        ee.events |= EPOLLOUT;
    }
    ee.data.fd = fd;
    return epoll_ctl(state->epfd, op, fd, &ee) == -1 ? -1 : 0;
}

/* Waits up to timeout_ms (-1: no limit) and fills l->fired; returns how
 * many fired, 0 on EINTR, -1 on a real failure. */
static int loop_api_poll(loop *l, int timeout_ms)
{
    loop_api_state *state = l->apidata;
    int n, i;

    /* A bounded batch keeps a turn short, so the before-sleep hook (which
     * reads the events socket first) comes round often however many
     * sockets are ready. */
    n = epoll_wait(state->epfd, state->events,
                   l->setsize < LOOP_MAX_BATCH ? l->setsize : LOOP_MAX_BATCH,
                   timeout_ms);
    if (n == -1) {
        return errno == EINTR ? 0 : -1;
    }
    for (i = 0; i < n; i++) {
        struct epoll_event *e = &state->events[i];
        int mask = LOOP_NONE;

        if (e->events & EPOLLIN) {
            mask |= LOOP_READABLE;
        }
        if (e->events & EPOLLOUT) {
            mask |= LOOP_WRITABLE;
        }
        /* Errors and hangups are reported as both, so the handler's own
         * read or write meets the condition and deals with it. */
        if (e->events & (EPOLLERR | EPOLLHUP)) {
            mask |= LOOP_READABLE | LOOP_WRITABLE;
        }
        l->fired[i].fd = e->data.fd;
        l->fired[i].mask = mask;
    }
    return n;
}

static const char *loop_api_name(void)
{
    return "epoll";
}

#endif /* LOOP_BACKEND */
