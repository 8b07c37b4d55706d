/* worker.c - one worker process of `nerd serve`.
 *
 * sync:  accept one connection, read one request, answer it, close (Gunicorn's sync worker):
 *        a loop over connections, each served with the connection code of conn.c.
 * async: an event loop (ae.c) over up to --worker-connections connections with keep-alive and
 *        pipelining, the same connection code (conn.c) and, with --threads N, the inference
 *        pool (pool.c) that hands results back through its eventfd, so the loop keeps
 *        answering /healthz while the model computes. Answers wait in the connection's output
 *        buffer; conn_drive alone sends them and starts the next pipelined request, in a loop
 *        bounded per turn, so that answering never recurses into parsing (see conn_drive).
 *        Each connection has one timer (its keep-alive, header, write, simulated-IO or model
 *        deadline) in the loop's heap; a watchdog timer looks for inference threads stuck past
 *        --timeout: such a request is answered 504 and the worker retires so the master starts
 *        a fresh one (the loop's heartbeat alone cannot see a lost thread). The heartbeat in
 *        the shared slot is refreshed before every wait (at least every LOOP_MAX_WAIT_S). */
#include "server/server.h"
#include "server/ae.h"
#include "server/conn.h"
#include "server/pool.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Gunicorn's worker signals: TERM drains (the requests in flight finish, then the worker
 * exits), QUIT and INT stop at once. */
static volatile sig_atomic_t stop_now, stop_draining;

static void on_term(int s) { (void)s; stop_draining = 1; }
static void on_quit(int s) { (void)s; stop_now = 1; }

static void heartbeat(const worker_ctx *w)
{
    atomic_store_explicit(&w->shared->slots[w->slot].heartbeat_ms, (int64_t)(ae_now() * 1000), memory_order_relaxed);
}

/* ================================================================== the async worker */

/* Pipelined requests one connection has answered in one turn of the loop before the other
 * connections get theirs (a model job computed on the loop thread ends the turn at once). */
#define CONN_REQUESTS_PER_TURN 64
/* The longest the loop waits: its heartbeat, and the drain's look at idle connections. */
#define LOOP_MAX_WAIT_S 0.1
/* How often the watchdog looks at the inference threads. */
#define WATCHDOG_PERIOD_S 0.01
/* An idle keep-alive connection of a draining worker is closed after this long without a
 * request: closing it at once races with a client that is just reusing it. */
#define DRAIN_IDLE_S 2.0

typedef struct {
    conn_server srv;        /* first: a connection's srv is its worker */
    ae_loop *el;
    conn **conns;           /* by fd */
    int maxfd, nconns;
    int accepting;
    double accept_resume;
    double defer_since;     /* when this worker began leaving new connections to a peer, or 0 */
    conn *marked;           /* connections with answers queued outside conn_drive (threads, timers) */
    pool *pool;             /* --threads, else NULL: the model runs on the loop thread */
    ae_timer watchdog;
    double grace_end;       /* draining: when it stops waiting for busy connections, else 0 */
    int stopped;
} async_worker;

static async_worker *worker_of(conn_server *s) { return (async_worker *)s; }

static void set_accepting(async_worker *A, int on);
static void conn_drive(async_worker *A, conn *c);
static void on_conn_event(ae_loop *el, int fd, void *data, int events);

/* An answer was queued outside conn_drive (an inference thread's result, a timer, the watchdog):
 * the loop drives the connection before it next waits (drive_marked). */
static void conn_mark(async_worker *A, conn *c)
{
    if (c->marked) return;
    c->marked = 1;
    c->mark_prev = NULL;
    c->mark_next = A->marked;
    if (A->marked) A->marked->mark_prev = c;
    A->marked = c;
}

static void conn_unmark(async_worker *A, conn *c)
{
    if (!c->marked) return;
    if (c->mark_prev) c->mark_prev->mark_next = c->mark_next;
    else A->marked = c->mark_next;
    if (c->mark_next) c->mark_next->mark_prev = c->mark_prev;
    c->marked = 0;
}

/* conn.c's hook after each answer: the deadline of what was answered is over (conn_drive arms
 * the next), and the connection is driven before the loop waits. */
static void on_answered(conn_server *s, conn *c)
{
    async_worker *A = worker_of(s);
    ae_timer_disarm(A->el, &c->timer);
    conn_mark(A, c);
}

static void conn_close(async_worker *A, conn *c)
{
    conn_unmark(A, c);
    ae_timer_disarm(A->el, &c->timer);
    ae_del_fd(A->el, c->fd);
    A->conns[c->fd] = NULL;
    A->nconns--;
    if (c->held) { /* an inference thread holds it: on_pool_done frees it when it comes back */
        close(c->fd);
        atomic_fetch_sub_explicit(&A->srv.m->connections_open, 1, memory_order_relaxed);
        pool_forget(A->pool, c);
        return;
    }
    conn_release(&A->srv, c);
}

/* A deadline for c's timer, or none (0). -1 when the heap cannot grow (c has none then). */
static int conn_set_deadline(async_worker *A, conn *c, double when)
{
    if (!when) {
        ae_timer_disarm(A->el, &c->timer);
        return 0;
    }
    if (!ae_timer_arm(A->el, &c->timer, when)) return 0;
    log_msg(LOG_ERROR, "out of memory arming a connection's timer");
    return -1;
}

/* 1 if it ran the model on the loop thread, 0 if it queued it for an inference thread. */
static int dispatch_model(async_worker *A, conn *c)
{
    if (A->pool) {
        c->state = C_QUEUED;
        c->t_queued = ae_now();
        if (pool_submit(A->pool, c)) {
            conn_error(&A->srv, c, 500, http_error_reason(HTTP_E_INTERNAL));
            return 0;
        }
        /* the timer answers 504 then, whatever the thread does (without one, when the thread does) */
        conn_set_deadline(A, c, c->model_deadline);
        return 0;
    }
    static __thread nerd_doc *doc;
    if (!doc && !(doc = nerd_doc_new())) {
        conn_error(&A->srv, c, 500, http_error_reason(HTTP_E_INTERNAL));
        return 0;
    }
    conn_compute(&A->srv, c, doc);
    if (c->res.status == 504) c->keep_alive = 0; /* as when the loop answers for a thread */
    conn_answer(&A->srv, c);
    return 1;
}

/* A model job conn_next_request handed over; 1 if it ran the model on the loop thread. */
static int start_model_job(async_worker *A, conn *c)
{
    double io = A->srv.w->cfg->simulate_io;
    if (io > 0 && !conn_set_deadline(A, c, ae_now() + io)) { /* no timer: no simulated wait */
        c->state = C_WAIT_IO;
        return 0;
    }
    return dispatch_model(A, c);
}

/* The ae mask follows the state. AE_WRITABLE while answers wait for room, or while whole
 * requests wait for the connection's next turn (the socket is writable then: the loop comes back
 * at once). AE_READABLE only while reading can help: not after the client's EOF (it would stay
 * readable for ever), not while answers pile up, not while a request is with the model. No
 * EPOLLRDHUP: it is level-triggered, and a client that half-closes while its answers wait or
 * its model job runs would wake the loop on every turn; its EOF is read in C_READ, and a reset
 * shows as AE_ERROR, which epoll always reports. 0, or -1 when c was closed. */
static int conn_update_events(async_worker *A, conn *c)
{
    int ev = 0;
    if (conn_out_waiting(c) || conn_can_parse(c)) ev |= AE_WRITABLE;
    if (c->state == C_READ && !c->rd_closed && conn_out_waiting(c) < CONN_OUT_HIGH_WATER &&
        c->in.len - c->in_start < conn_in_cap(&A->srv))
        ev |= AE_READABLE;
    if (ev == c->events) return 0;
    if (ae_set_fd(A->el, c->fd, ev, on_conn_event, c)) {
        log_msg(LOG_ERROR, "epoll_ctl: %s; closing a connection", strerror(errno));
        conn_close(A, c);
        return -1;
    }
    c->events = ev;
    return 0;
}

/* The deadline of c's timer: the write timeout while answers wait, the header timeout while a
 * request is begun (t_first), else the keep-alive. WAIT_IO and QUEUED keep theirs. */
static void conn_arm_timer(async_worker *A, conn *c)
{
    const server_config *cfg = A->srv.w->cfg;
    if (c->state == C_WAIT_IO || c->state == C_QUEUED) return;
    double d = conn_out_waiting(c) ? c->write_deadline : 0;
    if (c->state == C_READ) {
        double r = c->t_first ? c->t_first + cfg->header_timeout
                   : conn_out_waiting(c) || c->in_start < c->in.len ? 0 : c->t_idle + cfg->keep_alive;
        if (r && (!d || r < d)) d = r;
    }
    if (conn_set_deadline(A, c, d)) conn_close(A, c); /* a connection without its timeouts is not kept */
}

/* Runs a connection as far as it can go now: answers the whole requests waiting in `in` (at
 * most CONN_REQUESTS_PER_TURN, and only while fewer than CONN_OUT_HIGH_WATER bytes of answers
 * wait), sends, closes when it is done, and sets what to wait for. The one place that starts
 * the next pipelined request: answering only queues bytes, so 80,000 pipelined requests are a
 * loop here, not 80,000 nested calls. */
static void conn_drive(async_worker *A, conn *c)
{
    int turn = CONN_REQUESTS_PER_TURN;
    for (;;) {
        while (turn > 0 && conn_can_parse(c)) {
            turn--;
            if (conn_next_request(&A->srv, c) == CONN_NEXT_MODEL && start_model_job(A, c))
                turn = 0; /* the model ran here: others' turn */
        }
        if (conn_send(&A->srv, c)) {
            conn_close(A, c);
            return;
        }
        if (!turn || !conn_can_parse(c)) break;
    }
    conn_unmark(A, c);
    if (!conn_out_waiting(c) && (c->state == C_CLOSE || (c->rd_closed && c->state == C_READ && !conn_can_parse(c)))) {
        /* answered and told to close, or the client's EOF came and no whole request is left */
        if (c->state == C_CLOSE) shutdown(c->fd, SHUT_WR);
        conn_close(A, c);
        return;
    }
    if (conn_update_events(A, c)) return;
    conn_arm_timer(A, c);
}

/* Drives the connections whose answers were queued outside conn_drive, before the loop waits. */
static void drive_marked(async_worker *A)
{
    while (A->marked) conn_drive(A, A->marked); /* conn_drive unmarks it, or closes it */
}

static void conn_read(async_worker *A, conn *c)
{
    if (conn_recv(&A->srv, c)) {
        conn_close(A, c);
        return;
    }
    conn_drive(A, c);
}

static void on_conn_event(ae_loop *el, int fd, void *data, int events)
{
    (void)el; (void)fd;
    conn *c = data;
    async_worker *A = worker_of(c->srv);
    if (events & AE_ERROR) conn_close(A, c); /* reset or gone: nothing can be sent */
    else if (events & AE_READABLE && c->state == C_READ) conn_read(A, c);
    else if (events & AE_WRITABLE) conn_drive(A, c);
}

/* c's deadline passed. */
static void on_conn_timer(ae_loop *el, void *data)
{
    (void)el;
    conn *c = data;
    async_worker *A = worker_of(c->srv);
    const server_config *cfg = A->srv.w->cfg;
    double now = ae_now();
    switch (c->state) {
    case C_READ:
        if (conn_out_waiting(c) && c->write_deadline && now >= c->write_deadline) conn_close(A, c); /* reads none */
        else if (c->t_first) conn_error_code(&A->srv, c, HTTP_E_REQUEST_TIMEOUT);              /* slow header or body */
        else if (!conn_out_waiting(c)) conn_close(A, c);                                      /* idle keep-alive */
        else conn_arm_timer(A, c);
        break;
    case C_WAIT_IO:
        if (cfg->request_timeout > 0 && now - c->t_head > cfg->request_timeout) conn_error(&A->srv, c, 504, "request timeout");
        else dispatch_model(A, c);
        break;
    case C_QUEUED: /* waited too long for a model thread */
        if (pool_withdraw(A->pool, c)) { /* still queued: answer now */
            log_msg(LOG_WARNING, "request exceeded --request-timeout %.3g s waiting for the model", cfg->request_timeout);
            conn_error(&A->srv, c, 504, "request timeout");
        } else { /* a thread is computing it: answer now, the thread may never return */
            log_msg(LOG_WARNING, "request exceeded --request-timeout %.3g s in the model", cfg->request_timeout);
            conn_answer_aside(&A->srv, c, 504, "request timeout");
        }
        break;
    case C_CLOSE:
        conn_close(A, c); /* a client that does not read its answer */
        break;
    }
}

/* ------------------------------------------------------------------ the inference pool's results */

static void on_pool_done(ae_loop *el, int fd, void *data, int events)
{
    (void)el; (void)fd; (void)events;
    async_worker *A = data;
    const server_config *cfg = A->srv.w->cfg;
    conn **done;
    size_t n = pool_take_done(A->pool, &done);
    for (size_t i = 0; i < n; i++) {
        conn *c = done[i];
        if (c->zombie) { /* its client left before an answer */
            conn_drop_model_job(&A->srv, c);
            conn_free(c);
            continue;
        }
        if (c->state != C_QUEUED) continue; /* answered 504 while the thread computed */
        if (c->res.status != 504 && cfg->request_timeout > 0 && ae_now() - c->t_head > cfg->request_timeout) {
            log_msg(LOG_WARNING, "request exceeded --request-timeout %.3g s in the model", cfg->request_timeout);
            route_error(&c->res, 504, "request timeout");
        }
        if (c->res.status == 504) c->keep_alive = 0;
        conn_answer(&A->srv, c);
    }
}

/* Gunicorn kills a worker that has not notified within --timeout. Here the loop notifies even
 * while a thread is lost in one request for good, and after --threads such requests the worker
 * would serve nothing. A thread busy past --timeout + WORKER_STUCK_GRACE_S is stuck: its request
 * is answered 504 at once, and the worker retires (drains like a TERM, then exits with
 * WORKER_EXIT_STUCK_THREAD) so that the master starts one with a full pool. When every thread is
 * stuck, the requests still queued would wait for ever: they get a 503 to retry. */
static void on_watchdog(ae_loop *el, void *data)
{
    async_worker *A = data;
    const server_config *cfg = A->srv.w->cfg;
    conn *late[256], *queued[64]; /* --threads is at most 256 (config.c) */
    int nlate;
    size_t nqueued;
    double longest;
    int stuck = pool_stuck(A->pool, ae_now(), cfg->timeout + WORKER_STUCK_GRACE_S, &longest, late, &nlate, queued,
                           sizeof queued / sizeof *queued, &nqueued);
    if (stuck && !A->srv.retiring) {
        log_msg(LOG_ERROR,
                "inference thread stuck: one request has been computing for %.1f s, past --timeout %g s + %g s grace; "
                "answering it 504 and retiring this worker so the master replaces it with a full pool of %d threads",
                longest, cfg->timeout, WORKER_STUCK_GRACE_S, pool_threads(A->pool));
        A->srv.retiring = 1;
        atomic_store(&A->srv.w->shared->slots[A->srv.w->slot].retiring, 1);
    }
    for (int i = 0; i < nlate; i++) conn_answer_aside(&A->srv, late[i], 504, "the model took longer than --timeout");
    for (size_t i = 0; i < nqueued; i++) conn_error(&A->srv, queued[i], 503, "this worker is restarting; retry");
    ae_timer_arm(el, &A->watchdog, ae_now() + WATCHDOG_PERIOD_S);
}

/* ------------------------------------------------------------------ accepting */

static void on_listen(ae_loop *el, int fd, void *data, int events);

static void set_accepting(async_worker *A, int on)
{
    if (A->accepting == on) return;
    const worker_ctx *w = A->srv.w;
    for (int i = 0; i < w->nlisten; i++) {
        /* Not EPOLLEXCLUSIVE: it hands every connection of a burst to the worker whose epoll
         * is first on the socket's wait queue while that worker is still waking up, so the
         * seed's 100 keep-alive connections all landed on one worker of two (measured). Every
         * worker sees the listen socket ready, and whichever is free takes the next. */
        if (on) ae_set_fd(A->el, w->listen_fds[i], AE_READABLE, on_listen, A);
        else ae_del_fd(A->el, w->listen_fds[i]);
    }
    A->accepting = on;
}

/* Every worker is woken for a new connection (no EPOLLEXCLUSIVE), and whichever the scheduler
 * runs first takes it: with the client on one of two cores, one async worker took about 60% of
 * a burst of keep-alive connections (measured) and set the batch's time. So a worker takes, at
 * a wakeup, up to ACCEPT_LEAD connections more than the least loaded live peer holds: a burst is
 * accepted in batches (one connection per wakeup, with pauses for the peers, made a request
 * behind 1,500 connects wait 4 s) and still spread evenly. A worker already that far ahead
 * leaves the next connections to a peer that holds fewer and is free to take them, looking again
 * after DEFER_PAUSE_S (for DEFER_MAX_S at most: that peer may be out of descriptors). A peer is
 * free if it waits in epoll_wait or left it less than PEER_BUSY_MS ago (its handling_since_ms).
 * One computing requests on its loop thread takes nothing meanwhile, and waiting for it leaves
 * this worker idle with connections in the backlog, so then the worker takes one connection at
 * a wakeup itself. The
 * heartbeat cannot tell: a peer the kernel has not run for a while (a loaded machine) is not
 * busy, and connections taken from it for that reason stayed with this worker (measured 0.27 of
 * the CPU of the other on the seed's burst with --simulate-io). */
#define ACCEPT_BATCH_MAX 64
#define ACCEPT_LEAD 4
#define PEER_BUSY_MS 5
#define PEER_STALE_MS 2000
#define DEFER_PAUSE_S 0.001
#define DEFER_MAX_S 0.010

/* How many connections this worker takes now; 0 leaves them to a peer for DEFER_PAUSE_S. */
static int accept_quota(async_worker *A)
{
    const server_config *cfg = A->srv.w->cfg;
    int quota = cfg->worker_connections - A->nconns;
    if (quota > ACCEPT_BATCH_MAX) quota = ACCEPT_BATCH_MAX;
    if (quota <= 0) return quota;
    double now = ae_now();
    const int64_t now_ms = (int64_t)(now * 1000);
    int64_t fewest = -1, fewest_free = -1; /* connections of the least loaded live, and free, peer */
    for (int s = 0; s < SERVER_MAX_WORKERS; s++) {
        if (s == A->srv.w->slot) continue;
        worker_slot *p = &A->srv.w->shared->slots[s];
        if (atomic_load_explicit(&p->state, memory_order_relaxed) != SLOT_READY) continue;
        if (now_ms - atomic_load_explicit(&p->heartbeat_ms, memory_order_relaxed) > PEER_STALE_MS) continue;
        int64_t held = atomic_load_explicit(&p->m.connections_open, memory_order_relaxed);
        if (fewest < 0 || held < fewest) fewest = held;
        int64_t handling = atomic_load_explicit(&p->handling_since_ms, memory_order_relaxed);
        if ((!handling || now_ms - handling <= PEER_BUSY_MS) && (fewest_free < 0 || held < fewest_free)) fewest_free = held;
    }
    int64_t lead = fewest < 0 ? quota : fewest + ACCEPT_LEAD - A->nconns;
    int defer = lead <= 0 && fewest_free >= 0 && fewest_free < A->nconns &&
                !(A->defer_since && now - A->defer_since > DEFER_MAX_S);
    if (!defer) {
        A->defer_since = 0;
        return lead <= 0 ? 1 : lead < quota ? (int)lead : quota;
    }
    if (!A->defer_since) A->defer_since = now;
    set_accepting(A, 0); /* the listen socket stays readable: do not spin on it */
    A->accept_resume = now + DEFER_PAUSE_S;
    return 0;
}

static void accept_some(async_worker *A, int lfd)
{
    const server_config *cfg = A->srv.w->cfg;
    int batch = accept_quota(A);
    for (int k = 0; k < batch; k++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: stop accepting for a moment rather than spin on the
                 * listen socket; the kernel backlog holds the connections meanwhile */
                log_msg(LOG_WARNING, "accept: %s; pausing accepts for 100 ms", strerror(errno));
                set_accepting(A, 0);
                A->accept_resume = ae_now() + 0.1;
            }
            return;
        }
        if (fd >= A->maxfd) {
            int nmax = fd * 2 + 16;
            conn **nc = realloc(A->conns, (size_t)nmax * sizeof *nc);
            if (!nc) { close(fd); return; }
            memset(nc + A->maxfd, 0, (size_t)(nmax - A->maxfd) * sizeof *nc);
            A->conns = nc;
            A->maxfd = nmax;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = conn_new(&A->srv, fd);
        if (!c) { close(fd); return; }
        if (ae_set_fd(A->el, fd, AE_READABLE, on_conn_event, c)) {
            conn_release(&A->srv, c);
            return;
        }
        c->events = AE_READABLE; /* conn_update_events changes it from here */
        ae_timer_init(&c->timer, on_conn_timer, c);
        A->conns[fd] = c;
        A->nconns++;
        conn_read(A, c); /* data often arrives with the connection; conn_drive arms its keep-alive */
    }
    if (A->nconns >= cfg->worker_connections) set_accepting(A, 0);
}

static void on_listen(ae_loop *el, int fd, void *data, int events)
{
    (void)el; (void)events;
    async_worker *A = data;
    if (!A->grace_end) accept_some(A, fd);
}

/* ------------------------------------------------------------------ the loop's turns */

/* Before each wait: the heartbeat, the signals, the drain, resuming accepts, and the answers
 * queued outside conn_drive (threads, timers, the watchdog). */
static void before_sleep(ae_loop *el, void *data)
{
    async_worker *A = data;
    const worker_ctx *w = A->srv.w;
    heartbeat(w);
    double now = ae_now();
    if (stop_now) {
        A->stopped = 1;
        ae_stop(el);
        return;
    }
    int finishing = stop_draining || A->srv.retiring || (w->max_requests && A->srv.requests >= w->max_requests);
    if (finishing) {
        if (!A->grace_end) {
            A->grace_end = now + w->cfg->graceful_timeout;
            atomic_store(&w->shared->slots[w->slot].state, SLOT_DRAINING);
            set_accepting(A, 0);
            for (int i = 0; i < w->nlisten; i++) close(w->listen_fds[i]);
        }
        /* Busy connections finish and their answers say Connection: close. An idle keep-alive
         * connection is closed only after DRAIN_IDLE_S without a request. */
        int busy = 0;
        for (int fd = 0; fd < A->maxfd; fd++) {
            conn *c = A->conns[fd];
            if (!c) continue;
            if (c->state == C_READ && !c->in.len && !conn_out_waiting(c) && now - c->t_idle >= DRAIN_IDLE_S) conn_close(A, c);
            else busy = 1;
        }
        if (!busy || now >= A->grace_end) {
            A->stopped = 1;
            ae_stop(el);
            return;
        }
    } else if (!A->accepting && A->nconns < w->cfg->worker_connections && now >= A->accept_resume) {
        set_accepting(A, 1);
    }
    drive_marked(A);
    atomic_store_explicit(&w->shared->slots[w->slot].handling_since_ms, 0, memory_order_relaxed);
}

/* As the wait returns: this worker is handling events from now (its peers read it, accept_quota). */
static void after_sleep(ae_loop *el, void *data)
{
    (void)el;
    async_worker *A = data;
    const worker_ctx *w = A->srv.w;
    atomic_store_explicit(&w->shared->slots[w->slot].handling_since_ms, (int64_t)(ae_now() * 1000), memory_order_relaxed);
}

static int async_main(const worker_ctx *w)
{
    async_worker A = {0};
    conn_server_init(&A.srv, w, &stop_draining, &stop_now);
    A.srv.answered = on_answered;
    if (!(A.el = ae_loop_new())) {
        log_msg(LOG_ERROR, "epoll: %s", strerror(errno));
        return WORKER_EXIT_BOOT_ERROR;
    }
    if (w->cfg->threads) {
        if (!(A.pool = pool_start(&A.srv, w->cfg->threads)) ||
            ae_set_fd(A.el, pool_fd(A.pool), AE_READABLE, on_pool_done, &A)) {
            log_msg(LOG_CRITICAL, "cannot set up the inference pool: %s", strerror(errno));
            return WORKER_EXIT_BOOT_ERROR;
        }
        ae_timer_init(&A.watchdog, on_watchdog, &A);
        if (ae_timer_arm(A.el, &A.watchdog, ae_now() + WATCHDOG_PERIOD_S)) return WORKER_EXIT_BOOT_ERROR;
    }
    ae_set_hooks(A.el, before_sleep, after_sleep, &A);
    set_accepting(&A, 1);
    atomic_store(&w->shared->slots[w->slot].state, SLOT_READY);
    while (!A.stopped) {
        /* deferring new connections to a peer: look again soon */
        if (ae_run_once(A.el, A.defer_since ? DEFER_PAUSE_S : LOOP_MAX_WAIT_S) < 0) {
            log_msg(LOG_ERROR, "epoll_wait: %s", strerror(errno));
            break;
        }
    }
    /* stop the threads; connections still open are closed with the process */
    int code = A.srv.retiring ? WORKER_EXIT_STUCK_THREAD : 0;
    if (A.pool) {
        int computing = pool_stop(A.pool);
        if (computing) { /* a thread that may never return cannot be joined, and it still uses A */
            log_msg(LOG_INFO, "worker exits with %d inference thread(s) still computing", computing);
            _exit(code);
        }
    }
    for (int fd = 0; fd < A.maxfd; fd++)
        if (A.conns[fd]) {
            close(fd);
            conn_free(A.conns[fd]);
        }
    free(A.conns);
    ae_loop_free(A.el);
    return code;
}

/* ================================================================== the sync worker */

/* The longest a poll waits, so that the heartbeat goes on. */
#define SYNC_POLL_MS 500
/* An answer the client does not read within this long is given up. */
#define SYNC_SEND_TIMEOUT_S 30.0

/* Waits up to until (monotonic s) for events on fd, at most SYNC_POLL_MS at a time with the
 * heartbeat in between; 1 when they came, 0 at the deadline or on QUIT. */
static int sync_wait(const worker_ctx *w, int fd, short events, double until)
{
    for (;;) {
        heartbeat(w);
        if (stop_now) return 0;
        int left = (int)((until - ae_now()) * 1000);
        if (left <= 0) return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left < SYNC_POLL_MS ? left : SYNC_POLL_MS);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return 0;
    }
}

/* Serves one connection: its first request, answered with the code the async worker uses (the
 * answer says Connection: close), then the connection closes. */
static void sync_serve(conn_server *s, conn *c, nerd_doc *doc)
{
    const worker_ctx *w = s->w;
    double deadline = ae_now() + w->cfg->header_timeout;
    while (c->state == C_READ) {
        if (conn_can_parse(c)) {
            if (conn_next_request(s, c) == CONN_NEXT_MODEL) {
                if (w->cfg->simulate_io > 0) { /* the seed's time.sleep: blocks this worker */
                    struct timespec ts = {(time_t)w->cfg->simulate_io,
                                          (long)((w->cfg->simulate_io - (time_t)w->cfg->simulate_io) * 1e9)};
                    while (nanosleep(&ts, &ts) && errno == EINTR && !stop_now) {}
                }
                if (stop_now) break; /* QUIT: the request is dropped, unanswered */
                if (doc) conn_compute(s, c, doc);
                else route_error(&c->res, 500, http_error_reason(HTTP_E_INTERNAL));
                conn_answer(s, c);
            }
            continue;
        }
        if (c->rd_closed) break; /* the client's EOF before a whole request: nothing to answer */
        if (conn_send(s, c)) break; /* a 100 Continue */
        /* a buffer full of a request that is still not whole waits for the timeout, unread */
        short want = c->in.len - c->in_start < conn_in_cap(s) ? POLLIN : 0;
        if (!sync_wait(w, c->fd, want, deadline)) {
            if (stop_now) break;
            conn_error_code(s, c, HTTP_E_REQUEST_TIMEOUT);
            break;
        }
        if (conn_recv(s, c)) break;
    }
    if (c->state == C_CLOSE) { /* send the answer, then tell the client it is all */
        double until = ae_now() + SYNC_SEND_TIMEOUT_S;
        while (conn_out_waiting(c) && !conn_send(s, c) && conn_out_waiting(c) && sync_wait(w, c->fd, POLLOUT, until)) {}
        shutdown(c->fd, SHUT_WR);
    }
    conn_release(s, c);
}

/* sync: one connection at a time */
static int sync_main(const worker_ctx *w)
{
    conn_server s;
    conn_server_init(&s, w, &stop_draining, &stop_now);
    static nerd_doc *doc; /* one per process: a missing one answers model requests 500 */
    if (!doc) doc = nerd_doc_new();
    atomic_store(&w->shared->slots[w->slot].state, SLOT_READY);
    struct pollfd pfd[SERVER_MAX_BINDS];
    for (int i = 0; i < w->nlisten; i++) pfd[i] = (struct pollfd){.fd = w->listen_fds[i], .events = POLLIN};
    while (!stop_now && !stop_draining && !(w->max_requests && s.requests >= w->max_requests)) {
        heartbeat(w);
        if (poll(pfd, (nfds_t)w->nlisten, 200) <= 0) continue;
        for (int i = 0; i < w->nlisten && !stop_now; i++) {
            if (!(pfd[i].revents & POLLIN)) continue;
            int fd = accept4(pfd[i].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE) { log_msg(LOG_WARNING, "accept: %s", strerror(errno)); usleep(100000); }
                continue;
            }
            conn *c = conn_new(&s, fd);
            if (!c) {
                log_msg(LOG_ERROR, "out of memory accepting a connection");
                close(fd);
                continue;
            }
            sync_serve(&s, c, doc);
        }
    }
    return 0;
}

int worker_main(const worker_ctx *w)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the master: drain, then exit */
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_quit;
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (getppid() == 1) return 0;
    heartbeat(w);
    return w->cfg->wclass == WORKER_ASYNC ? async_main(w) : sync_main(w);
}
