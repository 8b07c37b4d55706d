/* server.h - the map of `nerd serve`: its configuration, the memory the master shares with
 * its workers, and the entry points between the modules.
 *
 *   config.c   command line (Gunicorn's and Uvicorn's conventions) -> server_config
 *   master.c   binds, loads the model once, forks and supervises workers, signals, reload
 *   worker.c   one worker process: sync (one connection at a time) or async (event loop)
 *   conn.c     a connection as both worker classes serve it: reading, parsing, the one answer path
 *   pool.c     the async worker's inference threads (--threads)
 *   ae.c       the async worker's event loop: handlers per descriptor, a timer heap, hooks
 *   http_parser.c  zero-copy request parsing and framing (RFC 9112)
 *   gate.c     before routing: X-Request-Id, CORS (preflights answered), API keys (401)
 *   routes.c   the API: /, /ents, /healthz, /readyz, /metrics, /model, /models, /openapi.json and /docs
 *              (openapi.json, docs.html: embedded by the Makefile; test_openapi.c holds them to the routes)
 *   metrics.c  counters and histograms in shared memory, Prometheus text output
 *   log.c      error log with levels, Gunicorn-style or JSON access log
 */
#ifndef NERD_SERVER_H
#define NERD_SERVER_H

#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nerd.h"
#include "util/buf.h"

#define SERVER_MAX_BINDS 16
#define SERVER_MAX_WORKERS 256
#define SERVER_MAX_CORS_ITEMS 32   /* --cors-allow-origin and --cors-allow-headers entries each */
#define SERVER_MAX_CORS_ITEM 256   /* bytes of one origin or header name */
#define SERVER_MAX_MODELS 8          /* --model NAME=DIR, repeatable */
#define SERVER_MODEL_NAME_MAX 64

typedef struct {
    const char *name;   /* NAME of --model NAME=DIR, NULL for a plain --model DIR (named by its meta.json) */
    const char *dir;    /* DIR, NULL for none given ($NERD_MODEL, then nerd_model_path's defaults) */
} model_spec;

typedef enum { WORKER_SYNC = 0, WORKER_ASYNC = 1 } worker_class;
typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARNING, LOG_ERROR, LOG_CRITICAL } log_level;

typedef struct {
    const char *binds[SERVER_MAX_BINDS]; /* "HOST:PORT", ":PORT", "[::1]:PORT" or "unix:PATH" */
    int nbinds;                          /* default: one, 127.0.0.1:8000 */
    int workers;                         /* -w/--workers, default 1 */
    worker_class wclass;                 /* -k/--worker-class sync|async, default sync */
    int worker_connections;              /* --worker-connections, default 1000 */
    int threads;                         /* --threads: inference threads per async worker; 0 (default) runs
                                            the model on the loop thread, as Uvicorn does */
    int backlog;                         /* --backlog, default 2048 */
    double timeout;                      /* -t/--timeout: worker liveness, s, default 30 */
    double graceful_timeout;             /* --graceful-timeout, s, default 30 */
    double keep_alive;                   /* --keep-alive, s, default 75 */
    double request_timeout;              /* --request-timeout, s, 0 = none */
    double header_timeout;               /* --header-timeout: s to receive a whole request (408), default 10 */
    int limit_concurrency;               /* --limit-concurrency: in-flight requests per worker, 0 = none */
    long max_requests;                   /* --max-requests, 0 = never recycle */
    long max_requests_jitter;            /* --max-requests-jitter */
    size_t max_body_size;                /* --max-body-size, default 1 MiB */
    size_t limit_request_line;           /* --limit-request-line, default 8190 */
    size_t limit_request_field_size;     /* --limit-request-field_size, default 8190 */
    size_t limit_request_fields;         /* --limit-request-fields, default 100 */
    double simulate_io;                  /* --simulate-io: seconds of simulated IO before the model, 0 = none */
    const char *pidfile;                 /* --pid */
    const char *access_log;              /* --access-logfile: "-" = stdout, NULL = none */
    const char *error_log;               /* --error-logfile: "-" (default) = stderr */
    log_level log_level;                 /* --log-level, default info */
    model_spec models[SERVER_MAX_MODELS]; /* --model [NAME=]DIR, repeatable, the first is the default; none given:
                                            one, $NERD_MODEL, else nerd_model_path's defaults */
    int nmodels;                         /* at least 1 */
    nerd_pipeline pipeline;              /* --pipeline ner|full|doc */
    int pipeline_given;                  /* else each loaded model's nerd_model_default_pipeline */
    nerd_precision precision;            /* --precision fp32 (default, spaCy's entities) | bf16 | int8 */
    int access_log_json;                 /* --access-log-format json: one JSON object per line */
    const char *access_logformat;        /* --access-logformat: Gunicorn's %(atom)s line, NULL = its default */
    const char *cors_origins[SERVER_MAX_CORS_ITEMS]; /* --cors-allow-origin (repeatable, comma lists) */
    int ncors_origins;
    int cors_any_origin;                 /* --cors-allow-origin '*' */
    const char *cors_headers[SERVER_MAX_CORS_ITEMS]; /* --cors-allow-headers, beside the default ones */
    int ncors_headers;
    int cors_any_header;                 /* --cors-allow-headers '*' */
    const char *api_key_file;            /* --api-key-file: one key a line (never a key on the command line) */
    int metrics_require_key;             /* --metrics-require-key: /metrics needs a key too */
} server_config;

/* Fills c with the defaults, then parses argv (argv[0] = "serve"). Returns 0, 1 when help
 * was printed, or -1 with a message in err. */
int server_config_parse(server_config *c, int argc, char **argv, char *err, size_t errlen);
void server_config_usage(FILE *f);

/* ---- memory shared by the master and all workers (mmap MAP_SHARED before fork) ---- */

/* The routes metrics count by, as one table: the enum name and the label. The API's routes
 * first (routes.c dispatches on these ids), then everything else. */
#define METRIC_ROUTE_MAP(X)                                                                        \
    X(ROOT, "/") X(ENTS, "/ents") X(HEALTHZ, "/healthz") X(READYZ, "/readyz") X(METRICS, "/metrics") \
    X(MODEL, "/model") X(MODELS, "/models") X(OPENAPI, "/openapi.json") X(DOCS, "/docs")   \
    X(DOC, "/doc") X(DISPLACY, "/displacy") X(UI, "/ui") X(OTHER, "other")
enum metric_route {
#define METRIC_ROUTE_ID(name, label) ROUTE_##name,
    METRIC_ROUTE_MAP(METRIC_ROUTE_ID)
#undef METRIC_ROUTE_ID
    METRIC_ROUTES
};
/* The statuses metrics count by; any other is counted as 500. */
#define METRIC_STATUS_MAP(X) \
    X(200) X(400) X(401) X(404) X(405) X(408) X(411) X(413) X(414) X(431) X(500) X(501) X(503) X(504) X(505)
enum metric_status {
#define METRIC_STATUS_ID(code) STATUS_##code,
    METRIC_STATUS_MAP(METRIC_STATUS_ID)
#undef METRIC_STATUS_ID
    METRIC_STATUSES
};
#define METRIC_BUCKETS 14  /* request-duration histogram upper bounds, seconds, see metrics.c */

/* Requests are counted by the model that answered them: slot 0 for requests no model answered
 * (/healthz, refusals), slot 1 + i for the served set's model i. Zero, as every fresh answer
 * starts, is "none". */
#define METRIC_MODEL_SLOTS (1 + SERVER_MAX_MODELS)
typedef struct {
    _Atomic uint64_t requests[METRIC_MODEL_SLOTS][METRIC_ROUTES][METRIC_STATUSES];
    _Atomic uint64_t duration_bucket[METRIC_BUCKETS]; /* cumulative at output time, raw here */
    _Atomic uint64_t duration_count;
    _Atomic uint64_t duration_sum_us;
    _Atomic int64_t in_flight;
    _Atomic uint64_t model_compute_us[SERVER_MAX_MODELS]; /* time spent inside nerd_ner, by model */
    _Atomic uint64_t model_wait_us;      /* time requests waited for a free model thread */
    _Atomic uint64_t connections_total;
    _Atomic int64_t connections_open;
    _Atomic int64_t inference_threads;      /* --threads of a live async worker, else 0 */
    _Atomic int64_t inference_threads_busy; /* of those, computing a request now */
} worker_metrics;

typedef enum { SLOT_FREE = 0, SLOT_BOOTING, SLOT_READY, SLOT_DRAINING } slot_state;

typedef struct {
    _Atomic pid_t pid;
    _Atomic int state;                  /* slot_state */
    _Atomic int64_t heartbeat_ms;       /* CLOCK_MONOTONIC ms, written by the worker's loop */
    _Atomic uint64_t generation;        /* bumped by the master at each (re)spawn into the slot */
    _Atomic int retiring;               /* set by a worker that drains to exit on its own (a stuck
                                           inference thread): the master starts its replacement now */
    _Atomic int64_t handling_since_ms;  /* async: when its loop left epoll_wait to handle events, 0
                                           while it waits there; long ago = a model request on the loop
                                           thread, so it takes no new connection meanwhile */
    worker_metrics m;
} worker_slot;

typedef struct {
    _Atomic uint64_t worker_restarts;   /* workers replaced after an exit, crash or timeout */
    _Atomic int draining;               /* the master is shutting down or reloading */
    _Atomic uint64_t model_generation;  /* bumped by each successful HUP reload */
    worker_slot slots[SERVER_MAX_WORKERS];
} server_shared;

/* ---- the worker ---- */

/* One model of the served set: loaded by the master before fork, its pages shared copy-on-write. */
typedef struct {
    char name[SERVER_MODEL_NAME_MAX]; /* what requests' "model" names it by */
    char path[4096];                  /* the folder it was loaded from */
    nerd_model *model;
    nerd_pipeline pipeline;           /* --pipeline, else what spacy.load runs for this folder */
} served_model;

typedef struct {
    const server_config *cfg;
    const served_model *models; /* cfg->nmodels of them; models[0] is the default */
    int nmodels;
    const int *listen_fds;
    int nlisten;
    server_shared *shared;
    int slot;                  /* this worker's index in shared->slots */
    long max_requests;         /* this worker's recycle count (jitter applied), 0 = never */
} worker_ctx;

/* The exit code of an async worker that retired itself because an inference thread stayed on
 * one request past --timeout + WORKER_STUCK_GRACE_S seconds: its loop still beat the heartbeat,
 * but a thread that never returns is lost to the pool, so the worker answers that request 504,
 * sets its slot's `retiring` (the master starts a replacement at once), finishes its other
 * requests (within --graceful-timeout) and exits. */
#define WORKER_EXIT_STUCK_THREAD 4
#define WORKER_STUCK_GRACE_S 1.0
/* The exit code of a worker that cannot set itself up (its event loop, its inference threads):
 * Gunicorn's WORKER_BOOT_ERROR. A replacement would fail the same way, so the master stops with
 * this code instead of restarting it; any other exit or crash is restarted (with a backoff). */
#define WORKER_EXIT_BOOT_ERROR 3

/* Runs a worker until it is told to stop; returns its exit code. Signals in the worker, as in
 * Gunicorn's: TERM finishes in-flight requests (within graceful_timeout) then exits; QUIT and
 * INT stop at once. The worker refreshes its heartbeat at least once a second while healthy. */
int worker_main(const worker_ctx *w);

/* ---- metrics.c: counters live in the shared slots, so any worker can answer /metrics for all ---- */

int metrics_route_id(const char *path, size_t len);   /* ROUTE_OTHER for any path not in the table */
int metrics_status_id(int status);                    /* STATUS_500 for a status not in the table */
/* One finished request: counters by route and status, and the duration histogram. */
void metrics_observe(worker_metrics *m, int route_id, int status_id, int model_slot, double seconds);
/* Prometheus text format (version 0.0.4) summed over all live slots, plus per-worker gauges. */
int metrics_render(const server_shared *sh, const server_config *cfg, const served_model *models, int nmodels, buf *out);

/* ---- log.c: one error log with levels, one access log, both line-buffered and safe to share
 * between processes (each line is one write(2) on an O_APPEND descriptor) ---- */

int log_open(const server_config *cfg, char *err, size_t errlen); /* in the master, before fork */
void log_msg(log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Gunicorn's default access format: %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s",
 * plus the request's duration in microseconds (%(D)s) and its X-Request-Id at the end; with
 * --access-log-format json one JSON object a line (log.c). Request headers are never logged but
 * Referer and User-Agent: no Authorization, no key. */
typedef struct {
    const char *remote;                       /* peer address, "-" for unix sockets */
    const char *method; size_t method_len;
    const char *target; size_t target_len;
    int minor_version;
    int status;
    size_t bytes;                             /* body bytes sent */
    const char *referer; size_t referer_len;  /* NULL = "-" */
    const char *agent; size_t agent_len;      /* NULL = "-" */
    double seconds;
    const char *request_id;                   /* X-Request-Id answered */
    const char *path; size_t path_len;        /* the target's path (the JSON log's "path"), NULL = "-" */
    const char *model;                        /* the model's name for a model route, else NULL */
    const void *request;                      /* its http_request for %({name}i)s atoms, NULL before a whole head */
} access_entry;
void log_access(const access_entry *e);

/* ---- the master ---- */

/* `nerd serve`: parses the command line and runs the master. Returns the exit code. */
int cmd_serve(int argc, char **argv);

#endif
