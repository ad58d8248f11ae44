/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.h -- a small event loop in the manner of redis' ae: file events with
 * read/write masks, millisecond timers, and a hook that runs before the
 * loop goes to sleep.
 *
 * One handler per file descriptor receives the mask of what fired.  The
 * loop knows nothing of sockets or sessions; closing a descriptor is the
 * owner's job (after loop_del_file).  Single-threaded.
 */
#ifndef TIMING_LOOP_H
#define TIMING_LOOP_H

#define LOOP_NONE      0
#define LOOP_READABLE  1
#define LOOP_WRITABLE  2

/* A timer handler returns the delay in ms until it runs again, or this. */
#define LOOP_NOMORE    (-1)

typedef struct loop loop;

typedef void loop_file_proc(loop *l, int fd, void *data, int mask);
typedef long long loop_timer_proc(loop *l, long long id, void *data);
typedef void loop_hook_proc(loop *l, void *data);

/* setsize is a first guess at the highest fd + 1; the loop grows. */
loop *loop_create(int setsize);
void loop_destroy(loop *l);

/* Adds mask to what fd is watched for and sets its handler: 0 or -1. */
int loop_add_file(loop *l, int fd, int mask, loop_file_proc *proc,
                  void *data);
/* Watches fd for exactly mask (LOOP_NONE forgets it); the handler set by
 * loop_add_file stays.  0 or -1. */
int loop_set_file(loop *l, int fd, int mask);
/* Stops watching fd for mask. */
void loop_del_file(loop *l, int fd, int mask);

/* Returns a timer id (> 0) or -1. */
long long loop_add_timer(loop *l, long long ms, loop_timer_proc *proc,
                         void *data);
int loop_del_timer(loop *l, long long id);

void loop_set_before_sleep(loop *l, loop_hook_proc *proc, void *data);
/* Work is left over (a budget ran out): the next poll does not sleep, so
 * the before-sleep hook runs again at once, after what is ready. */
void loop_more_work(loop *l);

/* Runs until loop_stop(); returns 0, or -1 when polling fails for good. */
int loop_run(loop *l);
void loop_stop(loop *l);

const char *loop_backend_name(void);

/* Monotonic milliseconds: for deadlines, never for wall time. */
long long loop_now_ms(void);
/* The wall clock in ms since 1970: what sealed messages are dated by
 * (mod_timing's clock is the same one). */
long long loop_wall_ms(void);

#endif /* TIMING_LOOP_H */
