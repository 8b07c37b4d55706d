/* ae.c - the async worker's event loop (see ae.h). */
#include "server/ae.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Events taken from epoll in one wait. */
#define AE_BATCH 256

typedef struct {
    int mask;           /* -1: not registered */
    ae_fd_fn *fn;
    void *data;
} ae_fd;

struct ae_loop {
    int ep;
    ae_fd *fds;         /* by descriptor */
    int nfds;
    ae_timer **heap;    /* a binary min-heap on (when, seq) */
    size_t nheap, capheap;
    uint64_t seq;
    ae_hook_fn *before, *after;
    void *hook_data;
    int stop;
};

double ae_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

ae_loop *ae_loop_new(void)
{
    ae_loop *el = calloc(1, sizeof *el);
    if (!el) return NULL;
    el->ep = epoll_create1(EPOLL_CLOEXEC);
    if (el->ep < 0) {
        free(el);
        return NULL;
    }
    return el;
}

void ae_loop_free(ae_loop *el)
{
    if (!el) return;
    close(el->ep);
    free(el->fds);
    free(el->heap);
    free(el);
}

/* ------------------------------------------------------------------ descriptors */

static uint32_t epoll_mask(int mask)
{
    return (mask & AE_READABLE ? EPOLLIN : 0) | (mask & AE_WRITABLE ? EPOLLOUT : 0);
}

int ae_set_fd(ae_loop *el, int fd, int mask, ae_fd_fn *fn, void *data)
{
    if (fd < 0) { errno = EBADF; return -1; }
    if (fd >= el->nfds) {
        int n = fd * 2 + 16;
        ae_fd *grown = realloc(el->fds, (size_t)n * sizeof *grown);
        if (!grown) return -1;
        for (int i = el->nfds; i < n; i++) grown[i] = (ae_fd){.mask = -1};
        el->fds = grown;
        el->nfds = n;
    }
    ae_fd *f = &el->fds[fd];
    if (f->mask != mask) {
        struct epoll_event e = {.events = epoll_mask(mask), .data.fd = fd};
        if (epoll_ctl(el->ep, f->mask < 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &e)) return -1;
    }
    *f = (ae_fd){mask, fn, data};
    return 0;
}

void ae_del_fd(ae_loop *el, int fd)
{
    if (fd < 0 || fd >= el->nfds || el->fds[fd].mask < 0) return;
    epoll_ctl(el->ep, EPOLL_CTL_DEL, fd, NULL);
    el->fds[fd] = (ae_fd){.mask = -1};
}

int ae_fd_mask(const ae_loop *el, int fd)
{
    return fd >= 0 && fd < el->nfds ? el->fds[fd].mask : -1;
}

/* ------------------------------------------------------------------ timers */

static int timer_before(const ae_timer *a, const ae_timer *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_put(ae_loop *el, size_t i, ae_timer *t)
{
    el->heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(ae_loop *el, size_t i)
{
    ae_timer *t = el->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, el->heap[parent])) break;
        heap_put(el, i, el->heap[parent]);
        i = parent;
    }
    heap_put(el, i, t);
}

static void sift_down(ae_loop *el, size_t i)
{
    ae_timer *t = el->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= el->nheap) break;
        if (child + 1 < el->nheap && timer_before(el->heap[child + 1], el->heap[child])) child++;
        if (!timer_before(el->heap[child], t)) break;
        heap_put(el, i, el->heap[child]);
        i = child;
    }
    heap_put(el, i, t);
}

void ae_timer_init(ae_timer *t, ae_timer_fn *fn, void *data)
{
    *t = (ae_timer){.fn = fn, .data = data};
}

int ae_timer_arm(ae_loop *el, ae_timer *t, double when)
{
    t->seq = el->seq++;
    if (t->slot) { /* moved: up or down from where it is */
        double was = t->when;
        t->when = when;
        if (when < was) sift_up(el, t->slot - 1);
        else sift_down(el, t->slot - 1);
        return 0;
    }
    if (el->nheap == el->capheap) {
        size_t cap = el->capheap ? el->capheap * 2 : 64;
        ae_timer **grown = realloc(el->heap, cap * sizeof *grown);
        if (!grown) return -1;
        el->heap = grown;
        el->capheap = cap;
    }
    t->when = when;
    el->heap[el->nheap++] = t;
    sift_up(el, el->nheap - 1);
    return 0;
}

void ae_timer_disarm(ae_loop *el, ae_timer *t)
{
    if (!t->slot) return;
    size_t i = t->slot - 1;
    t->slot = 0;
    ae_timer *last = el->heap[--el->nheap];
    if (last == t) return;
    heap_put(el, i, last);
    sift_up(el, i);
    sift_down(el, last->slot - 1);
}

size_t ae_timers_armed(const ae_loop *el) { return el->nheap; }

/* ------------------------------------------------------------------ turning */

void ae_set_hooks(ae_loop *el, ae_hook_fn *before, ae_hook_fn *after, void *data)
{
    el->before = before;
    el->after = after;
    el->hook_data = data;
}

/* Fires the timers due now, earliest first; at most as many as were armed when it began, so a
 * handler that re-arms its timer for now cannot keep the loop here. */
static int fire_timers(ae_loop *el)
{
    double now = ae_now();
    int fired = 0;
    for (size_t budget = el->nheap; budget > 0 && el->nheap && el->heap[0]->when <= now; budget--) {
        ae_timer *t = el->heap[0];
        ae_timer_disarm(el, t);
        t->fn(el, t->data);
        fired++;
    }
    return fired;
}

int ae_run_once(ae_loop *el, double max_wait_s)
{
    if (el->before) el->before(el, el->hook_data);
    if (el->stop) return 0; /* the hook ended the loop: no wait */
    double wait = max_wait_s;
    if (el->nheap) {
        double until = el->heap[0]->when - ae_now();
        if (until < wait) wait = until > 0 ? until : 0;
    }
    /* rounded up: a wait cut to the millisecond below would wake before the timer is due */
    int wait_ms = wait <= 0 ? 0 : (int)(wait * 1000) + (wait * 1000 > (int)(wait * 1000));
    struct epoll_event evs[AE_BATCH];
    int n = epoll_wait(el->ep, evs, AE_BATCH, wait_ms);
    if (el->after) el->after(el, el->hook_data);
    if (n < 0) return errno == EINTR ? 0 : -1;
    int ran = 0;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        /* a handler earlier in this batch may have removed fd (or closed it and registered a
         * new one on the same number): the handler registered now decides */
        if (fd >= el->nfds || el->fds[fd].mask < 0) continue;
        ae_fd *f = &el->fds[fd];
        uint32_t e = evs[i].events;
        int events = (e & EPOLLIN ? AE_READABLE : 0) | (e & EPOLLOUT ? AE_WRITABLE : 0);
        events &= f->mask;
        if (e & (EPOLLERR | EPOLLHUP)) events |= AE_ERROR;
        if (!events) continue;
        f->fn(el, fd, f->data, events);
        ran++;
    }
    return ran + fire_timers(el);
}

void ae_run(ae_loop *el, double max_wait_s)
{
    while (!el->stop)
        if (ae_run_once(el, max_wait_s) < 0) break;
    el->stop = 0;
}

void ae_stop(ae_loop *el) { el->stop = 1; }
