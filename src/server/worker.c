/* worker.c - one worker process of `nerd serve`.
 *
 * sync:  accept one connection, read one request, answer it, close (Gunicorn's sync worker).
 * async: an epoll loop over up to --worker-connections connections with keep-alive and
 *        pipelining. Connection states: READ (collecting a request), WAIT_IO (--simulate-io
 *        timer), QUEUED (a model job on an inference thread), CLOSE (sending its last answers,
 *        then closing). Answers wait in the connection's output buffer; conn_drive alone sends
 *        them and starts the next pipelined request, in a loop bounded per turn, so that
 *        answering never recurses into parsing (see conn_drive).
 *        With --threads N the model runs on N threads and hands results back through an
 *        eventfd, so the loop keeps answering /healthz while the model computes. Each thread
 *        records when its current job started; one busy past --timeout (+ a grace) is stuck:
 *        its request is answered 504 and the worker retires so the master starts a fresh one
 *        (the loop's heartbeat alone cannot see a lost thread).
 * Timers are deadlines on the connections, scanned every 10 ms; the heartbeat in the shared
 * slot is refreshed on every turn of the loop (at least every 100 ms). */
#include "server/server.h"
#include "server/http_parser.h"
#include "server/routes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Gunicorn's worker signals: TERM drains (the requests in flight finish, then the worker
 * exits), QUIT and INT stop at once. */
static volatile sig_atomic_t stop_now, stop_draining;

static void on_term(int s) { (void)s; stop_draining = 1; }
static void on_quit(int s) { (void)s; stop_now = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void heartbeat(const worker_ctx *w)
{
    atomic_store_explicit(&w->shared->slots[w->slot].heartbeat_ms, (int64_t)(now_s() * 1000), memory_order_relaxed);
}

static http_limits limits_of(const server_config *c)
{
    http_limits l = {c->limit_request_line, c->limit_request_field_size, c->limit_request_fields,
                     c->limit_request_line + 2 + (c->limit_request_field_size + 2) * c->limit_request_fields + 2};
    return l;
}

static void peer_name(int fd, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    snprintf(out, len, "-");
    if (getpeername(fd, (struct sockaddr *)&ss, &sl)) return;
    if (ss.ss_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)len);
    else if (ss.ss_family == AF_INET6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)len);
}

/* ------------------------------------------------------------------ connections */

enum { C_READ, C_WAIT_IO, C_QUEUED, C_CLOSE };

/* Past this many bytes of answers waiting to be sent, a connection answers no more of its
 * pipelined requests and reads no more until the client has read some: a client that sends
 * and never reads costs a bounded buffer, not 10 MB of answers. */
#define CONN_OUT_HIGH_WATER ((size_t)256 << 10)
/* Pipelined requests one connection has answered in one turn of the loop before the other
 * connections get theirs (a model job computed on the loop thread ends the turn at once). */
#define CONN_REQUESTS_PER_TURN 64
/* A client that reads none of its answers is closed after this long, or --keep-alive if longer. */
#define CONN_MIN_WRITE_TIMEOUT_S 30.0

typedef struct conn {
    int fd;
    int state;
    buf in;                 /* bytes received and not yet consumed */
    size_t head_len;        /* the parsed head's length, 0 until then */
    size_t body_raw;        /* chunked: where undecoded body bytes start in `in` */
    size_t body_len;        /* decoded body bytes (they start at head_len) */
    int body_done;
    http_chunked ch;
    http_request req;
    http_parser hp;         /* where the parse of an unfinished head stopped */
    http_header *hdrs;
    int head_method;        /* the request (even one refused after its request line) is HEAD: no content */
    int keep_alive, sent_continue, model_job, zombie;
    int held;               /* its model job is queued or on a thread, which may still read it */
    size_t in_start;        /* where the current request starts in `in`; the bytes before are answered */
    int incomplete;         /* the bytes from in_start are not a whole request: wait for more */
    int rd_closed;          /* the client shut its sending side: answer what came, then close */
    uint32_t events;        /* the epoll mask set now */
    struct conn *mark_prev, *mark_next; /* on the loop's list of answers queued outside conn_drive */
    int marked;
    double t_first, t_head, deadline, t_queued;
    double write_deadline;  /* while answers wait: when a client that does not read is given up */
    double model_deadline;  /* when its model job stops (--request-timeout), 0 for never; set
                             * before the job is queued, read by the thread that runs it */
    double t_idle;          /* when it last became idle between requests */
    route_result res;
    buf out;
    size_t out_off;
    char remote[64];
} conn;

typedef struct {
    const worker_ctx *w;
    http_limits lim;
    int ep, evfd;
    conn **conns;           /* by fd */
    int nconns, maxfd;
    int accepting;
    double accept_resume;
    double defer_since;     /* when this worker began leaving new connections to a peer, or 0 */
    long requests;
    int model_in_flight;
    conn *marked;           /* connections with answers queued outside conn_drive (threads, timers) */
    /* the inference pool */
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    conn **jobs; size_t njobs, capjobs;
    conn **done; size_t ndone, capdone;
    int stop;
    struct infer_state {    /* per inference thread, under mu: */
        double since;       /* when its current job started, 0 when idle */
        conn *job;          /* that job */
    } *infer;
    int nstarted;           /* threads that took their index (under mu) */
    int retiring;           /* a thread is stuck: drain, then exit with WORKER_EXIT_STUCK_THREAD */
} loop;

static void conn_reset_request(conn *c)
{
    c->head_len = c->body_raw = c->body_len = 0;
    c->body_done = 0;
    memset(&c->ch, 0, sizeof c->ch);
    memset(&c->hp, 0, sizeof c->hp);
    c->sent_continue = c->model_job = c->incomplete = 0;
    route_result_free(&c->res);
    memset(&c->res, 0, sizeof c->res);
    c->t_first = c->t_head = 0;
}

static void conn_free(conn *c)
{
    buf_free(&c->in);
    buf_free(&c->out);
    route_result_free(&c->res);
    free(c->hdrs);
    free(c);
}

/* Parses as much of the request in c->in as is there. Returns 1 when the request is
 * complete, 0 when more bytes are needed, or an HTTP error status. */
static int conn_parse(loop *L, conn *c)
{
    const server_config *cfg = L->w->cfg;
    if (!c->head_len) {
        /* allocated with the first bytes, so that an idle connection holds no header array */
        if (!c->hdrs && !(c->hdrs = calloc(cfg->limit_request_fields + 1, sizeof *c->hdrs))) return -500;
        c->req.headers = c->hdrs;
        c->req.num_headers = cfg->limit_request_fields;
        /* goes on where the last read's parse stopped: a head in many pieces is parsed once */
        ssize_t r = http_parse_request_resume(&c->hp, c->in.ptr + c->in_start, c->in.len - c->in_start, &c->req, &L->lim);
        c->head_method = c->req.method_len == 4 && !memcmp(c->req.method, "HEAD", 4);
        if (r == HTTP_INCOMPLETE) return 0;
        if (r < 0) return -http_error_status(r);
        c->head_len = (size_t)r;
        c->body_raw = c->head_len;
        c->t_head = now_s();
        c->keep_alive = c->req.keep_alive;
        if (c->req.body == HTTP_BODY_LENGTH && c->req.content_length > cfg->max_body_size) return -413;
        if (c->req.body == HTTP_BODY_NONE) c->body_done = 1;
        int post = c->req.method_len == 4 && !memcmp(c->req.method, "POST", 4);
        if (post && c->req.body == HTTP_BODY_NONE && !http_find_header(&c->req, "content-length")) return -411;
        c->ch.max_body = cfg->max_body_size;
    }
    if (!c->body_done) {
        char *at = c->in.ptr + c->in_start; /* this request's bytes; offsets below are from here */
        size_t have = c->in.len - c->in_start;
        if (c->req.body == HTTP_BODY_LENGTH) {
            if (have - c->head_len >= c->req.content_length) {
                c->body_len = (size_t)c->req.content_length;
                c->body_done = 1;
            }
        } else {
            size_t raw = have - c->body_raw;
            ssize_t r = http_decode_chunked(&c->ch, at + c->body_raw, &raw);
            /* decoded bytes now sit at body_raw; move them after what was decoded before */
            memmove(at + c->head_len + c->body_len, at + c->body_raw, raw);
            c->body_len += raw;
            if (r == HTTP_INCOMPLETE) {
                c->body_raw = c->head_len + c->body_len;
                c->in.len = c->in_start + c->body_raw;
            } else if (r < 0) {
                return -http_error_status(r);
            } else {
                /* r bytes after the body: a pipelined request; keep them after the body */
                memmove(at + c->head_len + c->body_len, at + c->body_raw + raw, (size_t)r);
                c->in.len = c->in_start + c->head_len + c->body_len + (size_t)r;
                c->body_done = 1;
            }
        }
    }
    return c->body_done ? 1 : 0;
}

/* ------------------------------------------------------------------ answers */

static size_t conn_out_waiting(const conn *c) { return c->out.len - c->out_off; }

/* The most a connection holds of what it receives: one whole request, with room to spare. */
static size_t conn_in_cap(const loop *L) { return L->lim.max_head + L->w->cfg->max_body_size + 65536; }

/* A whole request may wait in `in` and there is room for its answer. */
static int conn_can_parse(const conn *c)
{
    return c->state == C_READ && c->in_start < c->in.len && !c->incomplete && conn_out_waiting(c) < CONN_OUT_HIGH_WATER;
}

/* An answer was queued outside conn_drive (an inference thread's result, a timer, the watchdog):
 * the loop drives the connection before it next waits (drive_marked). */
static void conn_mark(loop *L, conn *c)
{
    if (c->marked) return;
    c->marked = 1;
    c->mark_prev = NULL;
    c->mark_next = L->marked;
    if (L->marked) L->marked->mark_prev = c;
    L->marked = c;
}

static void conn_unmark(loop *L, conn *c)
{
    if (!c->marked) return;
    if (c->mark_prev) c->mark_prev->mark_next = c->mark_next;
    else L->marked = c->mark_next;
    if (c->mark_next) c->mark_next->mark_prev = c->mark_prev;
    c->marked = 0;
}

static void conn_close(loop *L, conn *c)
{
    worker_metrics *m = &L->w->shared->slots[L->w->slot].m;
    conn_unmark(L, c);
    epoll_ctl(L->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    L->conns[c->fd] = NULL;
    L->nconns--;
    atomic_fetch_sub_explicit(&m->connections_open, 1, memory_order_relaxed);
    if (c->held) { /* an inference thread holds it; collect_done frees it */
        pthread_mutex_lock(&L->mu); /* the thread reads zombie when it takes the job */
        c->zombie = 1;
        pthread_mutex_unlock(&L->mu);
        return;
    }
    if (c->model_job && c->state == C_WAIT_IO) { /* the client left during the simulated IO */
        L->model_in_flight--;
        atomic_fetch_sub_explicit(&m->in_flight, 1, memory_order_relaxed);
    }
    conn_free(c);
}

/* Queues the answer res (c->res, or one built aside while a thread holds c->res), with metrics
 * and an access-log line. */
static void conn_answer_with(loop *L, conn *c, const route_result *res)
{
    const worker_ctx *w = L->w;
    worker_metrics *m = &w->shared->slots[w->slot].m;
    int status = res->status ? res->status : 500;
    if (status >= 400 && status != 404 && status != 405 && status != 503 && status != 504) c->keep_alive = 0;
    if (stop_draining || stop_now || L->retiring || (w->max_requests && L->requests + 1 >= w->max_requests)) c->keep_alive = 0;
    if (L->w->cfg->wclass == WORKER_SYNC) c->keep_alive = 0;
    http_write_response(&c->out, status, c->keep_alive, res->ctype, res->headers, res->body.ptr ? res->body.ptr : "",
                        res->body.len, c->head_method);
    /* from the head (nerd_request_duration_seconds); an answer before any head took no time */
    double secs = c->t_head ? now_s() - c->t_head : 0;
    metrics_observe(m, res->route, metrics_status_id(status), secs);
    if (c->model_job) { /* counted once: a zombie coming back later is not in flight any more */
        L->model_in_flight--;
        atomic_fetch_sub_explicit(&m->in_flight, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->model_compute_us, (uint64_t)(res->compute_s * 1e6), memory_order_relaxed);
        c->model_job = 0;
    }
    const http_header *ref = c->head_len ? http_find_header(&c->req, "referer") : NULL;
    const http_header *ua = c->head_len ? http_find_header(&c->req, "user-agent") : NULL;
    access_entry ae = {c->remote, c->head_len ? c->req.method : NULL, c->req.method_len,
                       c->head_len ? c->req.target : NULL, c->req.target_len, c->head_len ? c->req.minor_version : 1,
                       status, c->head_method ? 0 : res->body.len, ref ? ref->value : NULL, ref ? ref->value_len : 0,
                       ua ? ua->value : NULL, ua ? ua->value_len : 0, secs};
    log_access(&ae);
    if (status >= 500) log_msg(LOG_WARNING, "answered %d: %s", status, res->body.ptr ? res->body.ptr : "");
    L->requests++;
    c->deadline = 0; /* conn_drive arms the next one */
    if (c->keep_alive) { /* the next request starts after this one's bytes (conn_drive parses it) */
        size_t used = c->head_len + c->body_len;
        c->in_start = used < c->in.len - c->in_start ? c->in_start + used : c->in.len;
        if (c->in_start == c->in.len) { /* an idle connection keeps no buffer */
            buf_free(&c->in);
            c->in_start = 0;
        }
        conn_reset_request(c);
        c->state = C_READ;
        c->t_idle = now_s();
    } else {
        c->state = C_CLOSE;
    }
    conn_mark(L, c);
}

static void conn_answer(loop *L, conn *c) { conn_answer_with(L, c, &c->res); }

/* 504 for a request whose model job a thread still computes: the thread owns c->res and reads
 * c->in, so the answer is built aside and the connection closes after it; collect_done drops
 * the thread's result if it ever comes back. */
static void conn_answer_held(loop *L, conn *c, const char *msg)
{
    route_result late = {0};
    route_error(&late, 504, msg);
    late.route = metrics_route_id(c->req.path, c->req.path_len);
    c->keep_alive = 0;
    conn_answer_with(L, c, &late);
    route_result_free(&late);
}

static void conn_error(loop *L, conn *c, int status, const char *msg)
{
    route_error(&c->res, status, msg);
    if (status == 503) c->res.headers = "Retry-After: 1\r\n";
    c->res.route = c->head_len ? metrics_route_id(c->req.path, c->req.path_len) : 6;
    c->keep_alive = c->keep_alive && (status == 503 || status == 504);
    conn_answer(L, c);
}

/* The point past which a request's model job stops (nerd_ner_until) and it is answered 504:
 * --request-timeout after its head arrived, or 0 for never. */
static double model_deadline(const worker_ctx *w, const conn *c)
{
    return w->cfg->request_timeout > 0 ? c->t_head + w->cfg->request_timeout : 0;
}

static void log_if_stopped(const worker_ctx *w, const route_result *res)
{
    if (res->status == 504)
        log_msg(LOG_WARNING, "request exceeded --request-timeout %.3g s in the model; its computation stopped",
                w->cfg->request_timeout);
}

static void run_model_inline(loop *L, conn *c)
{
    static __thread nerd_doc *doc;
    if (!doc) doc = nerd_doc_new();
    route_compute(L->w->model, L->w->cfg->pipeline, doc, model_deadline(L->w, c), &c->res);
    log_if_stopped(L->w, &c->res);
    if (c->res.status == 504) c->keep_alive = 0; /* as when the loop answers for a thread */
}

/* 1 if it ran the model on the loop thread, 0 if it queued it for an inference thread. */
static int dispatch_model(loop *L, conn *c)
{
    c->model_deadline = model_deadline(L->w, c);
    if (L->nthreads > 0) {
        pthread_mutex_lock(&L->mu);
        if (L->njobs == L->capjobs) {
            L->capjobs = L->capjobs ? L->capjobs * 2 : 64;
            L->jobs = realloc(L->jobs, L->capjobs * sizeof *L->jobs);
        }
        L->jobs[L->njobs++] = c;
        c->state = C_QUEUED;
        c->held = 1;
        c->t_queued = now_s();
        c->deadline = c->model_deadline; /* scan_timers answers 504 then, whatever the thread does */
        pthread_cond_signal(&L->cv);
        pthread_mutex_unlock(&L->mu);
        return 0;
    }
    run_model_inline(L, c);
    conn_answer(L, c);
    return 1;
}

/* Answers a whole request or hands it on; 1 if it ran the model on the loop thread. */
static int request_ready(loop *L, conn *c)
{
    const worker_ctx *w = L->w;
    route_prepare(w, &c->req, c->in.ptr + c->in_start + c->head_len, c->body_len, &c->res);
    if (!c->res.needs_model) {
        conn_answer(L, c);
        return 0;
    }
    const server_config *cfg = w->cfg;
    if (cfg->limit_concurrency && L->model_in_flight >= cfg->limit_concurrency) {
        conn_error(L, c, 503, "too many requests in flight; retry later");
        return 0;
    }
    worker_metrics *m = &w->shared->slots[w->slot].m;
    c->model_job = 1;
    L->model_in_flight++;
    atomic_fetch_add_explicit(&m->in_flight, 1, memory_order_relaxed);
    if (cfg->simulate_io > 0) {
        c->state = C_WAIT_IO;
        c->deadline = now_s() + cfg->simulate_io;
        return 0;
    }
    return dispatch_model(L, c);
}

/* Parses the request at in_start and answers it or hands it on; 1 if it ran the model on the
 * loop thread. Called by conn_drive only. */
static int conn_next_request(loop *L, conn *c)
{
    if (!c->t_first) c->t_first = now_s(); /* its --header-timeout runs from here (conn_arm_timer) */
    int r = conn_parse(L, c);
    if (r < 0) {
        conn_error(L, c, -r, http_error_reason(r == -413 ? HTTP_E_BODY_TOO_LARGE : r == -411 ? HTTP_E_LENGTH_REQUIRED
                                                   : r == -414 ? HTTP_E_URI_TOO_LONG : r == -431 ? HTTP_E_HEADER_TOO_LARGE
                                                   : r == -501 ? HTTP_E_NOT_IMPLEMENTED : r == -505 ? HTTP_E_VERSION
                                                   : HTTP_E_BAD_REQUEST));
        return 0;
    }
    if (r == 0) {
        c->incomplete = 1;
        /* queued behind the answers before it, never sent ahead of them */
        if (c->head_len && c->req.expect_continue && !c->sent_continue && c->in.len - c->in_start == c->head_len) {
            c->sent_continue = 1;
            buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        }
        return 0;
    }
    return request_ready(L, c);
}

/* Sends what the socket takes of c->out. -1: the connection broke and is closed (c is gone). */
static int conn_send(loop *L, conn *c)
{
    size_t before = c->out_off;
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.ptr + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) { c->out_off += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* a client that reads nothing is given up after the write timeout, counted from its last read */
            double ka = L->w->cfg->keep_alive;
            if (c->out_off > before || !c->write_deadline)
                c->write_deadline = now_s() + (ka > CONN_MIN_WRITE_TIMEOUT_S ? ka : CONN_MIN_WRITE_TIMEOUT_S);
            if (c->out_off >= conn_out_waiting(c)) { /* drop the sent part once it is the larger */
                memmove(c->out.ptr, c->out.ptr + c->out_off, conn_out_waiting(c));
                c->out.len -= c->out_off;
                c->out.ptr[c->out.len] = 0;
                c->out_off = 0;
            }
            return 0;
        }
        conn_close(L, c);
        return -1;
    }
    buf_free(&c->out); /* an idle keep-alive connection keeps no answer buffer */
    c->out_off = 0;
    c->write_deadline = 0;
    return 0;
}

/* The epoll mask follows the state. EPOLLOUT while answers wait for room, or while whole
 * requests wait for the connection's next turn (the socket is writable then: the loop comes back
 * at once). EPOLLIN only while reading can help: not after the client's EOF (it would stay
 * readable for ever), not while answers pile up, not while a request is with the model. No
 * EPOLLRDHUP: it is level-triggered, and a client that half-closes while its answers wait or
 * its model job runs would wake the loop on every turn; its EOF is read in C_READ, and a reset
 * shows as EPOLLHUP/EPOLLERR, which epoll always reports. */
static void conn_update_events(loop *L, conn *c)
{
    uint32_t ev = 0;
    if (conn_out_waiting(c) || conn_can_parse(c)) ev |= EPOLLOUT;
    if (c->state == C_READ && !c->rd_closed && conn_out_waiting(c) < CONN_OUT_HIGH_WATER &&
        c->in.len - c->in_start < conn_in_cap(L))
        ev |= EPOLLIN;
    if (ev == c->events) return;
    struct epoll_event e = {.events = ev, .data.fd = c->fd};
    epoll_ctl(L->ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

/* The deadline scan_timers acts on: the write timeout while answers wait, the header timeout
 * while a request is begun (t_first), else the keep-alive. WAIT_IO and QUEUED keep theirs. */
static void conn_arm_timer(loop *L, conn *c)
{
    const server_config *cfg = L->w->cfg;
    if (c->state == C_WAIT_IO || c->state == C_QUEUED) return;
    double d = conn_out_waiting(c) ? c->write_deadline : 0;
    if (c->state == C_READ) {
        double r = c->t_first ? c->t_first + cfg->header_timeout
                   : conn_out_waiting(c) || c->in_start < c->in.len ? 0 : c->t_idle + cfg->keep_alive;
        if (r && (!d || r < d)) d = r;
    }
    c->deadline = d;
}

/* Runs a connection as far as it can go now: answers the whole requests waiting in `in` (at
 * most CONN_REQUESTS_PER_TURN, and only while fewer than CONN_OUT_HIGH_WATER bytes of answers
 * wait), sends, closes when it is done, and sets what to wait for. The one place that starts
 * the next pipelined request: answering only queues bytes, so 80,000 pipelined requests are a
 * loop here, not 80,000 nested calls. */
static void conn_drive(loop *L, conn *c)
{
    int turn = CONN_REQUESTS_PER_TURN;
    for (;;) {
        while (turn > 0 && conn_can_parse(c)) {
            turn--;
            if (conn_next_request(L, c)) turn = 0; /* the model ran here: others' turn */
        }
        if (conn_send(L, c) < 0) return;
        if (!turn || !conn_can_parse(c)) break;
    }
    conn_unmark(L, c);
    if (!conn_out_waiting(c) && (c->state == C_CLOSE || (c->rd_closed && c->state == C_READ && !conn_can_parse(c)))) {
        /* answered and told to close, or the client's EOF came and no whole request is left */
        if (c->state == C_CLOSE) shutdown(c->fd, SHUT_WR);
        conn_close(L, c);
        return;
    }
    conn_update_events(L, c);
    conn_arm_timer(L, c);
}

/* Drives the connections whose answers were queued outside conn_drive, before the loop waits. */
static void drive_marked(loop *L)
{
    while (L->marked) conn_drive(L, L->marked); /* conn_drive unmarks it, or closes it */
}

static void conn_read(loop *L, conn *c)
{
    size_t cap = conn_in_cap(L);
    if (c->in_start) { /* drop the answered requests' bytes before reading more */
        size_t left = c->in.len - c->in_start;
        if (c->head_len) http_request_rebase(&c->req, (uintptr_t)(c->in.ptr + c->in_start), c->in.ptr);
        memmove(c->in.ptr, c->in.ptr + c->in_start, left);
        c->in.len = left;
        c->in.ptr[left] = 0;
        c->in_start = 0;
    }
    for (;;) {
        if (c->in.len >= cap) break;
        uintptr_t old = (uintptr_t)c->in.ptr;
        if (buf_reserve(&c->in, 16384)) { conn_close(L, c); return; }
        if (c->head_len && (uintptr_t)c->in.ptr != old) http_request_rebase(&c->req, old, c->in.ptr);
        size_t room = c->in.cap - c->in.len - 1;
        if (room > cap - c->in.len) room = cap - c->in.len;
        ssize_t n = recv(c->fd, c->in.ptr + c->in.len, room, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            c->in.ptr[c->in.len] = 0;
            c->incomplete = 0;
            if ((size_t)n < room) break;
            continue;
        }
        if (n == 0) { c->rd_closed = 1; break; } /* EOF: what came is still answered */
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        conn_close(L, c);
        return;
    }
    if (!c->in.len) buf_free(&c->in); /* nothing came: an idle connection holds no buffer */
    conn_drive(L, c);
}

/* ------------------------------------------------------------------ inference threads */

static void *infer_thread(void *arg)
{
    loop *L = arg;
    nerd_doc *doc = nerd_doc_new();
    worker_metrics *m = &L->w->shared->slots[L->w->slot].m;
    pthread_mutex_lock(&L->mu);
    struct infer_state *me = &L->infer[L->nstarted++];
    pthread_mutex_unlock(&L->mu);
    for (;;) {
        pthread_mutex_lock(&L->mu);
        while (!L->njobs && !L->stop) pthread_cond_wait(&L->cv, &L->mu);
        if (L->stop) { pthread_mutex_unlock(&L->mu); break; }
        conn *c = L->jobs[0];
        memmove(L->jobs, L->jobs + 1, --L->njobs * sizeof *L->jobs);
        me->since = now_s();
        me->job = c;
        int gone = c->zombie; /* its client left while it was queued (written under mu) */
        pthread_mutex_unlock(&L->mu);
        atomic_fetch_add_explicit(&m->inference_threads_busy, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->model_wait_us, (uint64_t)((now_s() - c->t_queued) * 1e6), memory_order_relaxed);
        /* past its deadline the computation stops by itself, so the thread is free at once */
        if (!gone) {
            route_compute(L->w->model, L->w->cfg->pipeline, doc, c->model_deadline, &c->res);
            log_if_stopped(L->w, &c->res);
        }
        atomic_fetch_sub_explicit(&m->inference_threads_busy, 1, memory_order_relaxed);
        pthread_mutex_lock(&L->mu);
        me->since = 0;
        me->job = NULL;
        if (L->ndone == L->capdone) {
            L->capdone = L->capdone ? L->capdone * 2 : 64;
            L->done = realloc(L->done, L->capdone * sizeof *L->done);
        }
        L->done[L->ndone++] = c;
        pthread_mutex_unlock(&L->mu);
        uint64_t one = 1;
        if (write(L->evfd, &one, 8) < 0) {}
    }
    nerd_doc_free(doc);
    return NULL;
}

static void collect_done(loop *L)
{
    uint64_t v;
    if (read(L->evfd, &v, 8) < 0) {}
    pthread_mutex_lock(&L->mu);
    size_t n = L->ndone;
    conn **d = malloc((n ? n : 1) * sizeof *d);
    memcpy(d, L->done, n * sizeof *d);
    L->ndone = 0;
    pthread_mutex_unlock(&L->mu);
    for (size_t i = 0; i < n; i++) {
        conn *c = d[i];
        c->held = 0;
        if (c->zombie) {
            worker_metrics *m = &L->w->shared->slots[L->w->slot].m;
            if (c->model_job) { /* its client left before an answer */
                L->model_in_flight--;
                atomic_fetch_sub_explicit(&m->in_flight, 1, memory_order_relaxed);
            }
            conn_free(c);
            continue;
        }
        if (c->state != C_QUEUED) continue; /* answered 504 while the thread computed */
        if (c->res.status != 504 && L->w->cfg->request_timeout > 0 && now_s() - c->t_head > L->w->cfg->request_timeout) {
            log_msg(LOG_WARNING, "request exceeded --request-timeout %.3g s in the model", L->w->cfg->request_timeout);
            route_error(&c->res, 504, "request timeout");
        }
        if (c->res.status == 504) c->keep_alive = 0;
        conn_answer(L, c);
    }
    free(d);
}

/* ------------------------------------------------------------------ the inference watchdog */

/* Gunicorn kills a worker that has not notified within --timeout. Here the loop notifies even
 * while a thread is lost in one request for good, and after --threads such requests the worker
 * would serve nothing. A thread busy past --timeout + WORKER_STUCK_GRACE_S is stuck: its request
 * is answered 504 at once, and the worker retires (drains like a TERM, then exits with
 * WORKER_EXIT_STUCK_THREAD) so that the master starts one with a full pool. */
static void check_stuck_threads(loop *L, double now)
{
    const server_config *cfg = L->w->cfg;
    double limit = cfg->timeout + WORKER_STUCK_GRACE_S, longest = 0;
    conn *late[256], *queued[64]; /* --threads is at most 256 (config.c) */
    int nlate = 0, stuck = 0;
    size_t nqueued = 0;
    pthread_mutex_lock(&L->mu);
    for (int i = 0; i < L->nstarted; i++) {
        struct infer_state *t = &L->infer[i];
        if (!t->since || now - t->since <= limit) continue;
        stuck++;
        if (now - t->since > longest) longest = now - t->since;
        if (t->job && !t->job->zombie && t->job->state == C_QUEUED) late[nlate++] = t->job;
    }
    /* every thread stuck: jobs still queued would wait for ever; they get a 503 to retry */
    if (stuck && stuck == L->nthreads)
        while (L->njobs && nqueued < sizeof queued / sizeof *queued) {
            conn *c = L->jobs[--L->njobs];
            c->held = 0;
            queued[nqueued++] = c;
        }
    pthread_mutex_unlock(&L->mu);
    if (stuck && !L->retiring) {
        log_msg(LOG_ERROR,
                "inference thread stuck: one request has been computing for %.1f s, past --timeout %g s + %g s grace; "
                "answering it 504 and retiring this worker so the master replaces it with a full pool of %d threads",
                longest, cfg->timeout, WORKER_STUCK_GRACE_S, L->nthreads);
        L->retiring = 1;
        atomic_store(&L->w->shared->slots[L->w->slot].retiring, 1);
    }
    for (int i = 0; i < nlate; i++) conn_answer_held(L, late[i], "the model took longer than --timeout");
    for (size_t i = 0; i < nqueued; i++) conn_error(L, queued[i], 503, "this worker is restarting; retry");
}

/* ------------------------------------------------------------------ accepting */

static void set_accepting(loop *L, int on)
{
    if (L->accepting == on) return;
    for (int i = 0; i < L->w->nlisten; i++) {
        if (on) {
            /* Not EPOLLEXCLUSIVE: it hands every connection of a burst to the worker whose epoll
             * is first on the socket's wait queue while that worker is still waking up, so the
             * seed's 100 keep-alive connections all landed on one worker of two (measured). Every
             * worker sees the listen socket ready, and whichever is free takes the next. */
            struct epoll_event e = {.events = EPOLLIN, .data.fd = L->w->listen_fds[i]};
            epoll_ctl(L->ep, EPOLL_CTL_ADD, L->w->listen_fds[i], &e);
        } else {
            epoll_ctl(L->ep, EPOLL_CTL_DEL, L->w->listen_fds[i], NULL);
        }
    }
    L->accepting = on;
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
static int accept_quota(loop *L)
{
    const server_config *cfg = L->w->cfg;
    int quota = cfg->worker_connections - L->nconns;
    if (quota > ACCEPT_BATCH_MAX) quota = ACCEPT_BATCH_MAX;
    if (quota <= 0) return quota;
    double now = now_s();
    const int64_t now_ms = (int64_t)(now * 1000);
    int64_t fewest = -1, fewest_free = -1; /* connections of the least loaded live, and free, peer */
    for (int s = 0; s < SERVER_MAX_WORKERS; s++) {
        if (s == L->w->slot) continue;
        worker_slot *p = &L->w->shared->slots[s];
        if (atomic_load_explicit(&p->state, memory_order_relaxed) != SLOT_READY) continue;
        if (now_ms - atomic_load_explicit(&p->heartbeat_ms, memory_order_relaxed) > PEER_STALE_MS) continue;
        int64_t held = atomic_load_explicit(&p->m.connections_open, memory_order_relaxed);
        if (fewest < 0 || held < fewest) fewest = held;
        int64_t handling = atomic_load_explicit(&p->handling_since_ms, memory_order_relaxed);
        if ((!handling || now_ms - handling <= PEER_BUSY_MS) && (fewest_free < 0 || held < fewest_free)) fewest_free = held;
    }
    int64_t lead = fewest < 0 ? quota : fewest + ACCEPT_LEAD - L->nconns;
    int defer = lead <= 0 && fewest_free >= 0 && fewest_free < L->nconns &&
                !(L->defer_since && now - L->defer_since > DEFER_MAX_S);
    if (!defer) {
        L->defer_since = 0;
        return lead <= 0 ? 1 : lead < quota ? (int)lead : quota;
    }
    if (!L->defer_since) L->defer_since = now;
    set_accepting(L, 0); /* the listen socket stays readable: do not spin on it */
    L->accept_resume = now + DEFER_PAUSE_S;
    return 0;
}

static void accept_some(loop *L, int lfd)
{
    const server_config *cfg = L->w->cfg;
    worker_metrics *m = &L->w->shared->slots[L->w->slot].m;
    int batch = accept_quota(L);
    for (int k = 0; k < batch; k++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: stop accepting for a moment rather than spin on the
                 * listen socket; the kernel backlog holds the connections meanwhile */
                log_msg(LOG_WARNING, "accept: %s; pausing accepts for 100 ms", strerror(errno));
                set_accepting(L, 0);
                L->accept_resume = now_s() + 0.1;
            }
            return;
        }
        if (fd >= L->maxfd) {
            int nmax = fd * 2 + 16;
            conn **nc = realloc(L->conns, (size_t)nmax * sizeof *nc);
            if (!nc) { close(fd); return; }
            memset(nc + L->maxfd, 0, (size_t)(nmax - L->maxfd) * sizeof *nc);
            L->conns = nc;
            L->maxfd = nmax;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = calloc(1, sizeof *c);
        if (!c) { close(fd); return; }
        c->fd = fd;
        c->state = C_READ;
        c->t_idle = now_s();
        c->deadline = c->t_idle + cfg->keep_alive;
        peer_name(fd, c->remote, sizeof c->remote);
        L->conns[fd] = c;
        L->nconns++;
        atomic_fetch_add_explicit(&m->connections_total, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->connections_open, 1, memory_order_relaxed);
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(L->ep, EPOLL_CTL_ADD, fd, &e);
        c->events = e.events; /* conn_update_events changes it from here */
        conn_read(L, c); /* data often arrives with the connection */
    }
    if (L->nconns >= cfg->worker_connections) set_accepting(L, 0);
}

/* ------------------------------------------------------------------ timers */

static void scan_timers(loop *L, double now)
{
    const server_config *cfg = L->w->cfg;
    for (int fd = 0; fd < L->maxfd; fd++) {
        conn *c = L->conns[fd];
        if (!c || !c->deadline || now < c->deadline) continue;
        switch (c->state) {
        case C_READ:
            if (conn_out_waiting(c) && c->write_deadline && now >= c->write_deadline) conn_close(L, c); /* reads none */
            else if (c->t_first) conn_error(L, c, 408, "request not received in time"); /* slow header or body */
            else if (!conn_out_waiting(c)) conn_close(L, c);                          /* idle keep-alive */
            break;
        case C_WAIT_IO:
            if (cfg->request_timeout > 0 && now - c->t_head > cfg->request_timeout) {
                conn_error(L, c, 504, "request timeout");
            } else {
                dispatch_model(L, c);
            }
            break;
        case C_QUEUED: { /* waited too long for a model thread */
            int withdrawn = 0;
            pthread_mutex_lock(&L->mu);
            for (size_t j = 0; j < L->njobs; j++)
                if (L->jobs[j] == c) {
                    memmove(L->jobs + j, L->jobs + j + 1, (L->njobs - j - 1) * sizeof *L->jobs);
                    L->njobs--;
                    withdrawn = 1;
                    break;
                }
            pthread_mutex_unlock(&L->mu);
            c->deadline = 0;
            if (withdrawn) { /* still queued: answer now */
                c->held = 0;
                log_msg(LOG_WARNING, "request exceeded --request-timeout %.3g s waiting for the model", cfg->request_timeout);
                conn_error(L, c, 504, "request timeout");
            } else { /* a thread is computing it: answer now, the thread may never return */
                log_msg(LOG_WARNING, "request exceeded --request-timeout %.3g s in the model", cfg->request_timeout);
                conn_answer_held(L, c, "request timeout");
            }
            break;
        }
        case C_CLOSE:
            conn_close(L, c); /* a client that does not read its answer */
            break;
        }
    }
}

/* ------------------------------------------------------------------ the loops */

static int async_main(const worker_ctx *w)
{
    loop L = {.w = w, .lim = limits_of(w->cfg)};
    L.ep = epoll_create1(EPOLL_CLOEXEC);
    L.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (L.ep < 0 || L.evfd < 0) { log_msg(LOG_ERROR, "epoll: %s", strerror(errno)); return WORKER_EXIT_BOOT_ERROR; }
    struct epoll_event e = {.events = EPOLLIN, .data.fd = -2};
    epoll_ctl(L.ep, EPOLL_CTL_ADD, L.evfd, &e);
    pthread_mutex_init(&L.mu, NULL);
    pthread_cond_init(&L.cv, NULL);
    L.nthreads = w->cfg->threads;
    if (L.nthreads) {
        L.threads = calloc((size_t)L.nthreads, sizeof *L.threads);
        L.infer = calloc((size_t)L.nthreads, sizeof *L.infer);
        for (int i = 0; i < L.nthreads; i++) {
            int rc = pthread_create(&L.threads[i], NULL, infer_thread, &L);
            if (rc) { /* a pool short of threads would not be what was asked for */
                log_msg(LOG_CRITICAL, "cannot start inference thread %d of %d: %s", i + 1, L.nthreads, strerror(rc));
                _exit(WORKER_EXIT_BOOT_ERROR); /* the threads started hold L: no clean return */
            }
        }
        atomic_store(&w->shared->slots[w->slot].m.inference_threads, L.nthreads);
    }
    set_accepting(&L, 1);
    atomic_store(&w->shared->slots[w->slot].state, SLOT_READY);
    double next_scan = 0, grace_end = 0;
    int lfd_min = 1 << 30, lfd_max = -1;
    for (int i = 0; i < w->nlisten; i++) {
        if (w->listen_fds[i] < lfd_min) lfd_min = w->listen_fds[i];
        if (w->listen_fds[i] > lfd_max) lfd_max = w->listen_fds[i];
    }
    for (;;) {
        heartbeat(w);
        double now = now_s();
        if (stop_now) break;
        int finishing = stop_draining || L.retiring || (w->max_requests && L.requests >= w->max_requests);
        if (finishing) {
            if (!grace_end) {
                grace_end = now + w->cfg->graceful_timeout;
                atomic_store(&w->shared->slots[w->slot].state, SLOT_DRAINING);
                set_accepting(&L, 0);
                for (int i = 0; i < w->nlisten; i++) close(w->listen_fds[i]);
            }
            /* Busy connections finish and their answers say Connection: close. An idle
             * keep-alive connection is closed only after 2 s without a request: closing it
             * at once races with a client that is just reusing it, and fails that request. */
            int busy = 0;
            for (int fd = 0; fd < L.maxfd; fd++) {
                conn *c = L.conns[fd];
                if (!c) continue;
                if (c->state == C_READ && !c->in.len && !conn_out_waiting(c) && now - c->t_idle >= 2.0) conn_close(&L, c);
                else busy = 1;
            }
            if (!busy || now >= grace_end) break;
        } else if (!L.accepting && L.nconns < w->cfg->worker_connections && now >= L.accept_resume) {
            set_accepting(&L, 1);
        }
        if (now >= next_scan) {
            scan_timers(&L, now);
            if (L.nthreads) check_stuck_threads(&L, now);
            next_scan = now + 0.01;
        }
        drive_marked(&L); /* answers the timers and the watchdog queued */
        struct epoll_event evs[256];
        _Atomic int64_t *handling = &w->shared->slots[w->slot].handling_since_ms;
        atomic_store_explicit(handling, 0, memory_order_relaxed);
        int n = epoll_wait(L.ep, evs, 256, L.defer_since ? 1 : 10); /* deferring: look again soon */
        atomic_store_explicit(handling, (int64_t)(now_s() * 1000), memory_order_relaxed);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == -2) { collect_done(&L); continue; }
            if (fd >= lfd_min && fd <= lfd_max) {
                int is_listen = 0;
                for (int k = 0; k < w->nlisten; k++) is_listen |= w->listen_fds[k] == fd;
                if (is_listen) { if (!finishing) accept_some(&L, fd); continue; }
            }
            conn *c = fd < L.maxfd ? L.conns[fd] : NULL;
            if (!c) continue;
            if (evs[i].events & (EPOLLHUP | EPOLLERR)) conn_close(&L, c); /* reset or gone: nothing can be sent */
            else if (evs[i].events & EPOLLIN && c->state == C_READ) conn_read(&L, c);
            else if (evs[i].events & EPOLLOUT) conn_drive(&L, c);
        }
        drive_marked(&L); /* answers the inference threads handed back: sent now, before the timers scan */
    }
    /* stop the threads; connections still open are closed with the process */
    int code = L.retiring ? WORKER_EXIT_STUCK_THREAD : 0;
    pthread_mutex_lock(&L.mu);
    L.stop = 1;
    pthread_cond_broadcast(&L.cv);
    int computing = 0;
    for (int i = 0; i < L.nstarted; i++) computing += L.infer[i].since != 0;
    pthread_mutex_unlock(&L.mu);
    if (computing) { /* a thread that may never return cannot be joined, and it still uses L */
        log_msg(LOG_INFO, "worker exits with %d inference thread(s) still computing", computing);
        _exit(code);
    }
    for (int i = 0; i < L.nthreads; i++) pthread_join(L.threads[i], NULL);
    free(L.threads);
    free(L.infer);
    for (int fd = 0; fd < L.maxfd; fd++) if (L.conns[fd]) { close(fd); conn_free(L.conns[fd]); }
    free(L.conns);
    free(L.jobs);
    free(L.done);
    close(L.ep);
    close(L.evfd);
    return code;
}

/* sync: one connection at a time; blocking reads bounded by poll so the heartbeat goes on */
static int sync_main(const worker_ctx *w)
{
    loop L = {.w = w, .lim = limits_of(w->cfg)};
    L.ep = epoll_create1(EPOLL_CLOEXEC); /* unused by the sync path; harmless */
    L.maxfd = 0;
    atomic_store(&w->shared->slots[w->slot].state, SLOT_READY);
    struct pollfd pfd[SERVER_MAX_BINDS];
    for (int i = 0; i < w->nlisten; i++) pfd[i] = (struct pollfd){.fd = w->listen_fds[i], .events = POLLIN};
    worker_metrics *m = &w->shared->slots[w->slot].m;
    static nerd_doc *doc;
    if (!doc) doc = nerd_doc_new();
    while (!stop_now && !stop_draining && !(w->max_requests && L.requests >= w->max_requests)) {
        heartbeat(w);
        if (poll(pfd, (nfds_t)w->nlisten, 200) <= 0) continue;
        for (int i = 0; i < w->nlisten && !stop_now; i++) {
            if (!(pfd[i].revents & POLLIN)) continue;
            int fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE) { log_msg(LOG_WARNING, "accept: %s", strerror(errno)); usleep(100000); }
                continue;
            }
            atomic_fetch_add_explicit(&m->connections_total, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&m->connections_open, 1, memory_order_relaxed);
            conn *c = calloc(1, sizeof *c);
            c->fd = fd;
            peer_name(fd, c->remote, sizeof c->remote);
            double start = now_s(), deadline = start + w->cfg->header_timeout;
            int r = 0;
            size_t cap = L.lim.max_head + w->cfg->max_body_size + 65536;
            while (!r) {
                heartbeat(w);
                struct pollfd cp = {.fd = fd, .events = POLLIN};
                int left = (int)((deadline - now_s()) * 1000);
                if (left <= 0) { r = -408; break; }
                int pr = poll(&cp, 1, left < 500 ? left : 500);
                if (pr < 0 && errno == EINTR) { if (stop_now) break; continue; }
                if (pr == 0) continue;
                uintptr_t old = (uintptr_t)c->in.ptr;
                if (buf_reserve(&c->in, 16384)) { r = -500; break; }
                if (c->head_len && (uintptr_t)c->in.ptr != old) http_request_rebase(&c->req, old, c->in.ptr);
                size_t room = c->in.cap - c->in.len - 1;
                if (c->in.len + room > cap) room = cap > c->in.len ? cap - c->in.len : 0;
                ssize_t n = room ? recv(fd, c->in.ptr + c->in.len, room, 0) : 0;
                if (n <= 0) { r = -1; break; }
                c->in.len += (size_t)n;
                c->in.ptr[c->in.len] = 0;
                if (!c->t_first) c->t_first = now_s();
                r = conn_parse(&L, c);
                if (r == 0 && c->head_len && c->req.expect_continue && !c->sent_continue) {
                    c->sent_continue = 1;
                    if (send(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL) < 0) {}
                }
            }
            c->keep_alive = 0;
            if (r == 1) {
                route_prepare(w, &c->req, c->in.ptr + c->head_len, c->body_len, &c->res);
                if (c->res.needs_model) {
                    c->model_job = 1;
                    L.model_in_flight++;
                    atomic_fetch_add_explicit(&m->in_flight, 1, memory_order_relaxed);
                    if (w->cfg->simulate_io > 0) { /* the seed's time.sleep: blocks this worker */
                        struct timespec ts = {(time_t)w->cfg->simulate_io,
                                              (long)((w->cfg->simulate_io - (time_t)w->cfg->simulate_io) * 1e9)};
                        while (nanosleep(&ts, &ts) && errno == EINTR && !stop_now) {}
                    }
                    if (stop_now) r = -1; /* QUIT: the request is dropped, unanswered */
                    else {
                        route_compute(w->model, w->cfg->pipeline, doc, model_deadline(w, c), &c->res);
                        log_if_stopped(w, &c->res);
                    }
                }
            } else if (r < -1) {
                int st = -r;
                route_error(&c->res, st, st == 408 ? "request not received in time" : st == 413 ? "request body too large"
                                         : st == 414 ? "request line too long" : st == 431 ? "request header fields too large"
                                         : st == 411 ? "length required" : "malformed request");
                c->res.route = c->head_len ? metrics_route_id(c->req.path, c->req.path_len) : 6;
            }
            if (r == 1 || r < -1) {
                /* answer with a blocking send: conn_answer's flush path, without epoll */
                int fl = fcntl(fd, F_GETFL);
                fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
                struct timeval tv = {30, 0};
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
                L.conns = NULL;
                int status = c->res.status ? c->res.status : 500;
                http_write_response(&c->out, status, 0, c->res.ctype, c->res.headers, c->res.body.ptr ? c->res.body.ptr : "",
                                    c->res.body.len, c->head_method);
                double secs = now_s() - (c->t_head ? c->t_head : start);
                metrics_observe(m, c->res.route, metrics_status_id(status), secs);
                if (c->model_job) {
                    L.model_in_flight--;
                    atomic_fetch_sub_explicit(&m->in_flight, 1, memory_order_relaxed);
                    atomic_fetch_add_explicit(&m->model_compute_us, (uint64_t)(c->res.compute_s * 1e6), memory_order_relaxed);
                }
                const http_header *ua = c->head_len ? http_find_header(&c->req, "user-agent") : NULL;
                const http_header *ref = c->head_len ? http_find_header(&c->req, "referer") : NULL;
                access_entry ae = {c->remote, c->head_len ? c->req.method : NULL, c->req.method_len,
                                   c->head_len ? c->req.target : NULL, c->req.target_len,
                                   c->head_len ? c->req.minor_version : 1, status, c->head_method ? 0 : c->res.body.len,
                                   ref ? ref->value : NULL, ref ? ref->value_len : 0, ua ? ua->value : NULL,
                                   ua ? ua->value_len : 0, secs};
                log_access(&ae);
                for (size_t off = 0; off < c->out.len;) {
                    ssize_t n = send(fd, c->out.ptr + off, c->out.len - off, MSG_NOSIGNAL);
                    if (n <= 0) break;
                    off += (size_t)n;
                }
                L.requests++;
                shutdown(fd, SHUT_WR);
            }
            close(fd);
            atomic_fetch_sub_explicit(&m->connections_open, 1, memory_order_relaxed);
            conn_free(c);
        }
    }
    close(L.ep);
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
