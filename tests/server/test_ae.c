/* ae.c, the async worker's event loop, on its own: descriptor handlers with their data,
 * timers firing in time order (and in arming order at the same time), moved and deleted
 * timers, the hooks around the wait. */
#include "test.h"
#include "server/ae.h"

#include <sys/eventfd.h>
#include <unistd.h>

typedef struct {
    int order[64];
    int n;
} fired_log;

typedef struct {
    fired_log *log;
    int id;
} tagged;

static void note_timer(ae_loop *el, void *data)
{
    (void)el;
    tagged *t = data;
    t->log->order[t->log->n++] = t->id;
}

TEST(ae_timers_fire_in_time_order_and_deleted_ones_never)
{
    ae_loop *el = ae_loop_new();
    CHECK(el);
    fired_log log = {0};
    enum { N = 40 };
    tagged tags[N];
    ae_timer timers[N];
    double base = ae_now() + 0.02;
    /* armed out of order: fire order must be by time, ties by arming order */
    for (int i = 0; i < N; i++) {
        int id = (i * 17) % N;   /* a permutation of 0..N-1 */
        tags[id] = (tagged){&log, id};
        ae_timer_init(&timers[id], note_timer, &tags[id]);
        CHECK(ae_timer_arm(el, &timers[id], base + (id / 2) * 0.001) == 0);
    }
    CHECK_EQ_INT(ae_timers_armed(el), N);
    /* delete some, move one from last to first */
    ae_timer_disarm(el, &timers[5]);
    ae_timer_disarm(el, &timers[20]);
    ae_timer_disarm(el, &timers[20]); /* twice: harmless */
    CHECK(!ae_timer_armed(&timers[5]));
    CHECK(ae_timer_arm(el, &timers[N - 1], base - 0.01) == 0);
    CHECK_EQ_INT(ae_timers_armed(el), N - 2);
    for (int turns = 0; turns < 1000 && ae_timers_armed(el); turns++) ae_run_once(el, 0.05);
    CHECK_EQ_INT(log.n, N - 2);
    CHECK_EQ_INT(log.order[0], N - 1);
    int prev = -1;
    for (int i = 1; i < log.n; i++) {
        int id = log.order[i];
        CHECKF(id != 5 && id != 20, "deleted timer %d fired", id);
        /* ids with the same time (id / 2) were armed in permutation order; check time order only
         * across groups and that within a group both fired */
        CHECKF(id / 2 >= prev / 2 || prev < 0, "timer %d fired after %d", id, prev);
        prev = id;
    }
    ae_loop_free(el);
}

TEST(ae_timers_with_equal_time_fire_in_arming_order)
{
    ae_loop *el = ae_loop_new();
    fired_log log = {0};
    tagged tags[8];
    ae_timer timers[8];
    double when = ae_now();
    for (int i = 0; i < 8; i++) {
        tags[i] = (tagged){&log, i};
        ae_timer_init(&timers[i], note_timer, &tags[i]);
        CHECK(ae_timer_arm(el, &timers[i], when) == 0);
    }
    ae_run_once(el, 0);
    CHECK_EQ_INT(log.n, 8);
    for (int i = 0; i < 8; i++) CHECK_EQ_INT(log.order[i], i);
    ae_loop_free(el);
}

/* A timer whose handler re-arms it for now fires once per turn, not for ever. */
static void rearm_now(ae_loop *el, void *data)
{
    ae_timer *t = data;
    ae_timer_arm(el, t, ae_now() - 1);
    (*(int *)((char *)t + sizeof *t))++;
}

TEST(ae_timer_rearmed_for_now_fires_once_per_turn)
{
    ae_loop *el = ae_loop_new();
    struct { ae_timer t; int count; } s = {0};
    ae_timer_init(&s.t, rearm_now, &s.t);
    CHECK(ae_timer_arm(el, &s.t, ae_now()) == 0);
    ae_run_once(el, 0);
    CHECK_EQ_INT(s.count, 1);
    ae_run_once(el, 0);
    CHECK_EQ_INT(s.count, 2);
    ae_loop_free(el);
}

typedef struct {
    int fd;
    int reads, writes;
    int events_seen;
    void *data_seen;
    int before, after;
    int stop_after_reads;
} fd_probe;

static void on_fd(ae_loop *el, int fd, void *data, int events)
{
    fd_probe *p = data;
    p->data_seen = data;
    p->events_seen |= events;
    if (events & AE_READABLE) {
        uint64_t v;
        CHECK(read(fd, &v, 8) == 8);
        p->reads++;
        if (p->reads == p->stop_after_reads) ae_stop(el);
    }
    if (events & AE_WRITABLE) p->writes++;
}

static void before_hook(ae_loop *el, void *data)
{
    fd_probe *p = data;
    p->before++;
    if (p->before == 3) { /* the hook may feed the loop: the wait then returns at once */
        uint64_t one = 1;
        CHECK(write(p->fd, &one, 8) == 8);
    }
    (void)el;
}

static void after_hook(ae_loop *el, void *data) { (void)el; ((fd_probe *)data)->after++; }

TEST(ae_fd_handlers_get_their_data_and_hooks_run_around_each_wait)
{
    ae_loop *el = ae_loop_new();
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(efd >= 0);
    fd_probe p = {.fd = efd, .stop_after_reads = 2};
    CHECK_EQ_INT(ae_fd_mask(el, efd), -1);
    ae_set_hooks(el, before_hook, after_hook, &p);
    CHECK(ae_set_fd(el, efd, AE_READABLE, on_fd, &p) == 0);
    CHECK_EQ_INT(ae_fd_mask(el, efd), AE_READABLE);
    /* nothing to read: a turn waits its time and runs no handler */
    double t0 = ae_now();
    CHECK_EQ_INT(ae_run_once(el, 0.02), 0);
    CHECK(ae_now() - t0 >= 0.015);
    CHECK_EQ_INT(p.before, 1);
    CHECK_EQ_INT(p.after, 1);
    uint64_t one = 1;
    CHECK(write(efd, &one, 8) == 8);
    CHECK_EQ_INT(ae_run_once(el, 1), 1);
    CHECK_EQ_INT(p.reads, 1);
    CHECK(p.data_seen == &p);
    CHECK_EQ_INT(p.events_seen, AE_READABLE);
    /* the third before-hook writes: ae_run stops at the second read */
    t0 = ae_now();
    ae_run(el, 5);
    CHECK_EQ_INT(p.reads, 2);
    CHECK(ae_now() - t0 < 2);
    CHECK_EQ_INT(p.before, 3);
    CHECK_EQ_INT(p.after, 3);
    /* writable: an eventfd is always writable; asking for both reports what happened */
    CHECK(ae_set_fd(el, efd, AE_WRITABLE, on_fd, &p) == 0);
    CHECK_EQ_INT(ae_run_once(el, 1), 1);
    CHECK_EQ_INT(p.writes, 1);
    /* quiet (mask 0), then removed: no more handler calls */
    CHECK(write(efd, &one, 8) == 8);
    CHECK(ae_set_fd(el, efd, 0, on_fd, &p) == 0);
    CHECK_EQ_INT(ae_run_once(el, 0.01), 0);
    ae_del_fd(el, efd);
    CHECK_EQ_INT(ae_fd_mask(el, efd), -1);
    CHECK_EQ_INT(ae_run_once(el, 0.01), 0);
    CHECK_EQ_INT(p.reads, 2);
    close(efd);
    ae_loop_free(el);
}

/* Two descriptors, two handlers, each with its own data; a timer sooner than max_wait cuts the wait. */
TEST(ae_timer_shortens_the_wait_and_handlers_are_per_fd)
{
    ae_loop *el = ae_loop_new();
    int a = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    fd_probe pa = {.fd = a}, pb = {.fd = b};
    CHECK(ae_set_fd(el, a, AE_READABLE, on_fd, &pa) == 0);
    CHECK(ae_set_fd(el, b, AE_READABLE, on_fd, &pb) == 0);
    uint64_t one = 1;
    CHECK(write(b, &one, 8) == 8);
    ae_run_once(el, 0);
    CHECK_EQ_INT(pa.reads, 0);
    CHECK_EQ_INT(pb.reads, 1);
    fired_log log = {0};
    tagged tag = {&log, 7};
    ae_timer t;
    ae_timer_init(&t, note_timer, &tag);
    double t0 = ae_now();
    CHECK(ae_timer_arm(el, &t, t0 + 0.03) == 0);
    for (int i = 0; i < 100 && !log.n; i++) ae_run_once(el, 10);
    double took = ae_now() - t0;
    CHECK_EQ_INT(log.n, 1);
    CHECKF(took >= 0.029 && took < 5, "the timer fired after %.3f s", took);
    close(a);
    close(b);
    ae_loop_free(el);
}
