/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.c -- the event loop: file events, timers, the before-sleep hook.
 *
 * Modelled on redis' ae.c.  File events live in an array indexed by fd
 * that grows when a larger fd arrives, so no maximum has to be guessed up
 * front.  Timers are a short unsorted list: the daemon has a handful (the
 * heartbeat sweep, the shutdown deadline), so a heap would buy nothing.
 * Polling is left to the backend in loop_epoll.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

typedef struct loop_file {
    int mask;
    loop_file_proc *proc;
    void *data;
} loop_file;

typedef struct loop_fired {
    int fd;
    int mask;
} loop_fired;

typedef struct loop_timer {
    long long id;           /* 0 once deleted; freed on the next pass */
    long long when_ms;
    loop_timer_proc *proc;
    void *data;
    struct loop_timer *next;
} loop_timer;

struct loop {
    int setsize;            /* capacity of files and fired */
    int maxfd;              /* highest fd watched, or -1 */
    loop_file *files;
    loop_fired *fired;
    loop_timer *timers;
    long long next_timer_id;
    int stop;
    int more_work;          /* poll without sleeping once */
    loop_hook_proc *before_sleep;
    void *before_sleep_data;
    void *apidata;          /* the backend's state */
};

#define LOOP_BACKEND 1
#include "loop_epoll.c"

long long loop_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long loop_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *loop_backend_name(void)
{
    return loop_api_name();
}

loop *loop_create(int setsize)
{
    loop *l;
    int i;

    if (setsize < 16) {
        setsize = 16;
    }
    l = calloc(1, sizeof *l);
    if (!l) {
        return NULL;
    }
    l->setsize = setsize;
    l->maxfd = -1;
    l->next_timer_id = 1;
    l->files = calloc((size_t)setsize, sizeof *l->files);
    l->fired = calloc((size_t)setsize, sizeof *l->fired);
    if (!l->files || !l->fired || loop_api_create(l) == -1) {
        free(l->files);
        free(l->fired);
        free(l);
        return NULL;
    }
    for (i = 0; i < setsize; i++) {
        l->files[i].mask = LOOP_NONE;
    }
    return l;
}

void loop_destroy(loop *l)
{
    loop_timer *t, *next;

    if (!l) {
        return;
    }
    for (t = l->timers; t; t = next) {
        next = t->next;
        free(t);
    }
    loop_api_free(l);
    free(l->files);
    free(l->fired);
    free(l);
}

/* Makes room for fd.  Both arrays grow together because the backend may
 * report as many fired events as there are slots. */
static int loop_grow(loop *l, int fd)
{
    int setsize = l->setsize, i;
    loop_file *files;
    loop_fired *fired;

    while (setsize <= fd) {
        if (setsize > (1 << 29)) {
            errno = ERANGE;
            return -1;
        }
        setsize *= 2;
    }
    files = realloc(l->files, (size_t)setsize * sizeof *files);
    if (!files) {
        return -1;
    }
    l->files = files;
    fired = realloc(l->fired, (size_t)setsize * sizeof *fired);
    if (!fired) {
        return -1;
    }
    l->fired = fired;
    if (loop_api_resize(l, setsize) == -1) {
        return -1;
    }
    for (i = l->setsize; i < setsize; i++) {
        l->files[i].mask = LOOP_NONE;
    }
    l->setsize = setsize;
    return 0;
}

int loop_add_file(loop *l, int fd, int mask, loop_file_proc *proc,
                  void *data)
{
    loop_file *f;

    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (fd >= l->setsize && loop_grow(l, fd) == -1) {
        return -1;
    }
    f = &l->files[fd];
    if (loop_api_set(l, fd, f->mask, f->mask | mask) == -1) {
        return -1;
    }
    f->mask |= mask;
    f->proc = proc;
    f->data = data;
    if (fd > l->maxfd) {
        l->maxfd = fd;
    }
    return 0;
}

int loop_set_file(loop *l, int fd, int mask)
{
    loop_file *f;

    if (fd < 0 || fd >= l->setsize || !l->files[fd].proc) {
        errno = EBADF;
        return -1;
    }
    f = &l->files[fd];
    /* Sessions recompute their mask after every event; most of the time
     * it has not changed, and that should cost no system call. */
    if (f->mask == mask) {
        return 0;
    }
    if (loop_api_set(l, fd, f->mask, mask) == -1) {
        return -1;
    }
    f->mask = mask;
    if (mask == LOOP_NONE) {
        f->proc = NULL;
        f->data = NULL;
    }
    return 0;
}

void loop_del_file(loop *l, int fd, int mask)
{
    loop_file *f;

    if (fd < 0 || fd >= l->setsize) {
        return;
    }
    f = &l->files[fd];
    if (f->mask == LOOP_NONE) {
        return;
    }
    /* Deleting can only fail for an fd epoll no longer has; the table is
     * brought in line either way. */
    loop_api_set(l, fd, f->mask, f->mask & ~mask);
    f->mask &= ~mask;
    if (f->mask == LOOP_NONE) {
        f->proc = NULL;
        f->data = NULL;
        if (fd == l->maxfd) {
            while (l->maxfd >= 0 && l->files[l->maxfd].mask == LOOP_NONE) {
                l->maxfd--;
            }
        }
    }
}

long long loop_add_timer(loop *l, long long ms, loop_timer_proc *proc,
                         void *data)
{
    loop_timer *t = malloc(sizeof *t);

    if (!t) {
        return -1;
    }
    t->id = l->next_timer_id++;
    t->when_ms = loop_now_ms() + (ms > 0 ? ms : 0);
    t->proc = proc;
    t->data = data;
    t->next = l->timers;
    l->timers = t;
    return t->id;
}

int loop_del_timer(loop *l, long long id)
{
    loop_timer *t;

    /* Only marked: the timer list may be being walked right now (a timer
     * deleting itself or another); process_timers frees it. */
    for (t = l->timers; t; t = t->next) {
        if (t->id == id) {
            t->id = 0;
            return 0;
        }
    }
    return -1;
}

void loop_more_work(loop *l)
{
    l->more_work = 1;
}

void loop_set_before_sleep(loop *l, loop_hook_proc *proc, void *data)
{
    l->before_sleep = proc;
    l->before_sleep_data = data;
}

void loop_stop(loop *l)
{
    l->stop = 1;
}

/* Milliseconds until the earliest live timer, 0 if one is due, -1 if
 * there is none. */
static int next_timeout(loop *l)
{
    long long now = loop_now_ms(), best = -1;
    loop_timer *t;

    for (t = l->timers; t; t = t->next) {
        if (t->id && (best == -1 || t->when_ms < best)) {
            best = t->when_ms;
        }
    }
    if (best == -1) {
        return -1;
    }
    if (best <= now) {
        return 0;
    }
    return best - now > 1000000 ? 1000000 : (int)(best - now);
}

static void process_timers(loop *l)
{
    loop_timer *t, **link;
    long long now, max_id = l->next_timer_id - 1;

    /* Free what was deleted first, while no handler is running. */
    link = &l->timers;
    while ((t = *link) != NULL) {
        if (t->id == 0) {
            *link = t->next;
            free(t);
        }
        else {
            link = &t->next;
        }
    }
    for (t = l->timers; t; t = t->next) {
        long long ret;

        /* Timers added by a handler during this pass wait for the next
         * one, so a handler that re-adds itself cannot starve the loop. */
        if (t->id == 0 || t->id > max_id) {
            continue;
        }
        now = loop_now_ms();
        if (t->when_ms > now) {
            continue;
        }
        ret = t->proc(l, t->id, t->data);
        if (ret == LOOP_NOMORE) {
            t->id = 0;
        }
        else {
            t->when_ms = loop_now_ms() + (ret > 0 ? ret : 0);
        }
    }
}

int loop_run(loop *l)
{
    l->stop = 0;
    while (!l->stop) {
        int n, i;

        if (l->before_sleep) {
            l->before_sleep(l, l->before_sleep_data);
            if (l->stop) {
                break;
            }
        }
        n = loop_api_poll(l, l->more_work ? 0 : next_timeout(l));
        l->more_work = 0;
        if (n == -1) {
            return -1;
        }
        for (i = 0; i < n; i++) {
            int fd = l->fired[i].fd;
            loop_file *f = &l->files[fd];
            int mask = l->fired[i].mask & f->mask;

            /* f->mask is re-read here: an earlier handler in this batch
             * may have stopped watching this fd. */
            if (mask && f->proc) {
                f->proc(l, fd, f->data, mask);
            }
        }
        process_timers(l);
    }
    return 0;
}
