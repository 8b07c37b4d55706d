/* conn.h - one client connection, as both worker classes serve it: reading into its buffer,
 * parsing its requests (the one call into the HTTP parser), routing them, and the one answer
 * path (status rules, keep-alive, metrics, access log, the bytes to send). The sync worker
 * serves one connection at a time with these; the async worker adds the event loop, timers
 * and the inference pool around them (worker.c). */
#ifndef NERD_CONN_H
#define NERD_CONN_H

#include <signal.h>

#include "server/ae.h"
#include "server/gate.h"
#include "server/http_parser.h"
#include "server/routes.h"
#include "server/server.h"

/* READ: collecting a request; WAIT_IO: --simulate-io before the model; QUEUED: a model job on
 * an inference thread; CLOSE: sending its last answers, then closing. */
enum conn_state { C_READ, C_WAIT_IO, C_QUEUED, C_CLOSE };

/* Past this many bytes of answers waiting to be sent, a connection answers no more of its
 * pipelined requests and reads no more until the client has read some: a client that sends
 * and never reads costs a bounded buffer, not 10 MB of answers. */
#define CONN_OUT_HIGH_WATER ((size_t)256 << 10)
/* A client that reads none of its answers is closed after this long, or --keep-alive if longer. */
#define CONN_MIN_WRITE_TIMEOUT_S 30.0

typedef struct conn_server conn_server;

typedef struct conn {
    conn_server *srv;
    int fd;
    int state;              /* enum conn_state */
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
    int keep_alive, sent_continue, model_job;
    int zombie;             /* its client left while an inference thread held it (under the pool's mutex) */
    int held;               /* its model job is queued or on a thread, which may still read it */
    size_t in_start;        /* where the current request starts in `in`; the bytes before are answered */
    int incomplete;         /* the bytes from in_start are not a whole request: wait for more */
    int rd_closed;          /* the client shut its sending side: answer what came, then close */
    double t_first, t_head, t_queued;
    double write_deadline;  /* while answers wait: when a client that does not read is given up */
    double model_deadline;  /* when its model job stops (--request-timeout), 0 for never; set
                             * before the job is queued, read by the thread that runs it */
    double t_idle;          /* when it last became idle between requests */
    route_result res;
    char request_id[REQUEST_ID_MAX + 1]; /* its X-Request-Id, "" until its first answer */
    int cors;               /* enum cors_outcome of its Origin */
    buf out;
    size_t out_off;
    char remote[64];
    /* the async worker's: */
    int events;             /* the ae mask set now */
    ae_timer timer;         /* its one deadline (see worker.c: conn_arm_timer) */
    struct conn *mark_prev, *mark_next; /* on the loop's list of answers queued outside conn_drive */
    int marked;
} conn;

/* What the connections of one worker share. */
struct conn_server {
    const worker_ctx *w;
    http_limits lim;
    worker_metrics *m;
    long requests;                      /* answered by this worker */
    int model_in_flight;
    int retiring;                       /* a stuck inference thread: drain, then exit */
    const volatile sig_atomic_t *stop_draining, *stop_now; /* the worker's signal flags */
    /* called after each answer is queued (the async worker drives the connection before it
     * waits next), or NULL */
    void (*answered)(conn_server *s, conn *c);
};

void conn_server_init(conn_server *s, const worker_ctx *w, const volatile sig_atomic_t *stop_draining,
                      const volatile sig_atomic_t *stop_now);
double conn_now(void);

/* A connection on an accepted fd (counted in the metrics), or NULL out of memory. */
conn *conn_new(conn_server *s, int fd);
/* Closes the fd and frees c (or, while an inference thread holds it, the caller leaves that
 * to the pool: see worker.c). Counts the connection closed and any unanswered model job. */
void conn_release(conn_server *s, conn *c);
void conn_free(conn *c);
/* A model job that will never be answered (its client left): no longer in flight. */
void conn_drop_model_job(conn_server *s, conn *c);

static inline size_t conn_out_waiting(const conn *c) { return c->out.len - c->out_off; }
/* The most a connection holds of what it receives: one whole request, with room to spare. */
static inline size_t conn_in_cap(const conn_server *s) { return s->lim.max_head + s->w->cfg->max_body_size + 65536; }
/* A whole request may wait in `in` and there is room for its answer. */
static inline int conn_can_parse(const conn *c)
{
    return c->state == C_READ && c->in_start < c->in.len && !c->incomplete && conn_out_waiting(c) < CONN_OUT_HIGH_WATER;
}

/* Reads what the socket has (never blocks), up to conn_in_cap. 0 (also at the client's EOF,
 * which sets rd_closed), or -1: the connection failed or memory ran out; the caller closes. */
int conn_recv(conn_server *s, conn *c);
/* Sends what the socket takes of c->out (never blocks). 0, or -1: the connection broke; the
 * caller closes it. */
int conn_send(conn_server *s, conn *c);

enum { CONN_NEXT_WAIT = 0, CONN_NEXT_MODEL = 1 };
/* Parses the request at in_start and, when it is whole, routes it: an error or a route without
 * the model is answered at once (CONN_NEXT_WAIT, as when more bytes are needed); a model job is
 * counted in flight and left to the caller to compute (CONN_NEXT_MODEL). */
int conn_next_request(conn_server *s, conn *c);
/* Runs c's model job on this thread with doc (--request-timeout stops it); the caller answers. */
void conn_compute(conn_server *s, conn *c, nerd_doc *doc);

/* The one answer path: queues res (c->res, or one built aside while a thread holds c->res) with
 * its metrics and access-log line, and readies c for its next request or for closing. */
void conn_answer_with(conn_server *s, conn *c, const route_result *res);
void conn_answer(conn_server *s, conn *c);
/* An {"error": msg} answer with status. */
void conn_error(conn_server *s, conn *c, int status, const char *msg);
/* The HTTP error table's answer for code (an HTTP_E_* value). */
void conn_error_code(conn_server *s, conn *c, int code);
/* An error answer for a request whose model job a thread still computes: the thread owns c->res
 * and reads c->in, so the answer is built aside and the connection closes after it. */
void conn_answer_aside(conn_server *s, conn *c, int status, const char *msg);

#endif
