/* ae.h - the async worker's event loop, in the manner of redis's ae: a handler per file
 * descriptor (a callback and its data), one-shot timers kept in a min-heap, and hooks run
 * before the loop sleeps and after it wakes. Level-triggered epoll underneath.
 *
 * Timers are embedded in their owner (a connection holds its own), so arming, moving and
 * disarming one costs O(log n) and never allocates once the heap has room; the loop never
 * scans its timers, it looks at the earliest. */
#ifndef NERD_AE_H
#define NERD_AE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ae_loop ae_loop;

enum {
    AE_READABLE = 1,
    AE_WRITABLE = 2,
    AE_ERROR = 4,   /* reported (never asked for): the peer reset, or the descriptor failed */
};

/* Called with the events that happened among those asked for, plus AE_ERROR. */
typedef void ae_fd_fn(ae_loop *el, int fd, void *data, int events);
typedef void ae_timer_fn(ae_loop *el, void *data);
typedef void ae_hook_fn(ae_loop *el, void *data);

typedef struct ae_timer {
    double when;        /* CLOCK_MONOTONIC seconds */
    size_t slot;        /* 1 + its index in the heap, 0 while disarmed */
    uint64_t seq;       /* when it was armed: timers due at the same time fire in arming order */
    ae_timer_fn *fn;
    void *data;
} ae_timer;

ae_loop *ae_loop_new(void);   /* NULL if epoll or memory fails (errno says why) */
void ae_loop_free(ae_loop *el);   /* closes its epoll descriptor, not the registered ones */

/* Registers fd with the events in mask (AE_READABLE | AE_WRITABLE, or 0 to keep it registered
 * and quiet), or changes them and the handler if fd is registered already. 0, or -1 (errno). */
int ae_set_fd(ae_loop *el, int fd, int mask, ae_fd_fn *fn, void *data);
void ae_del_fd(ae_loop *el, int fd);   /* before closing fd */
int ae_fd_mask(const ae_loop *el, int fd);   /* -1 if fd is not registered */

void ae_timer_init(ae_timer *t, ae_timer_fn *fn, void *data);
/* Arms t to fire once at `when`, or moves it there if armed. 0, or -1 out of memory. */
int ae_timer_arm(ae_loop *el, ae_timer *t, double when);
void ae_timer_disarm(ae_loop *el, ae_timer *t);
static inline int ae_timer_armed(const ae_timer *t) { return t->slot != 0; }
size_t ae_timers_armed(const ae_loop *el);

/* before: once per turn, before the loop waits; after: as soon as the wait returns. */
void ae_set_hooks(ae_loop *el, ae_hook_fn *before, ae_hook_fn *after, void *data);

/* One turn: the before hook, a wait of at most max_wait_s (less if a timer is due sooner),
 * the after hook, the handlers of the descriptors that are ready, then every timer due, the
 * earliest first. Returns the number of handlers and timers run, or -1 if the wait failed
 * (not counting EINTR, which ends the turn early). */
int ae_run_once(ae_loop *el, double max_wait_s);
/* Turns until ae_stop (from a handler or a hook; a before hook that stops it skips that
 * turn's wait); each wait at most max_wait_s. */
void ae_run(ae_loop *el, double max_wait_s);
void ae_stop(ae_loop *el);

double ae_now(void);   /* CLOCK_MONOTONIC seconds, the clock of the timers */

#endif
