/* conn.c - a client connection: reading, parsing, routing and the one answer path (conn.h). */
#include "server/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double conn_now(void) { return ae_now(); }

static http_limits limits_of(const server_config *c)
{
    http_limits l = {c->limit_request_line, c->limit_request_field_size, c->limit_request_fields,
                     c->limit_request_line + 2 + (c->limit_request_field_size + 2) * c->limit_request_fields + 2};
    return l;
}

void conn_server_init(conn_server *s, const worker_ctx *w, const volatile sig_atomic_t *stop_draining,
                      const volatile sig_atomic_t *stop_now)
{
    *s = (conn_server){.w = w, .lim = limits_of(w->cfg), .m = &w->shared->slots[w->slot].m,
                       .stop_draining = stop_draining, .stop_now = stop_now};
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

conn *conn_new(conn_server *s, int fd)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->srv = s;
    c->fd = fd;
    c->state = C_READ;
    c->t_idle = conn_now();
    peer_name(fd, c->remote, sizeof c->remote);
    atomic_fetch_add_explicit(&s->m->connections_total, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->m->connections_open, 1, memory_order_relaxed);
    return c;
}

void conn_free(conn *c)
{
    buf_free(&c->in);
    buf_free(&c->out);
    route_result_free(&c->res);
    free(c->hdrs);
    free(c);
}

void conn_drop_model_job(conn_server *s, conn *c)
{
    if (!c->model_job) return;
    s->model_in_flight--;
    atomic_fetch_sub_explicit(&s->m->in_flight, 1, memory_order_relaxed);
    c->model_job = 0;
}

void conn_release(conn_server *s, conn *c)
{
    close(c->fd);
    atomic_fetch_sub_explicit(&s->m->connections_open, 1, memory_order_relaxed);
    conn_drop_model_job(s, c);
    conn_free(c);
}

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
    c->request_id[0] = 0;
    c->cors = CORS_NONE;
}

/* ------------------------------------------------------------------ reading and parsing */

int conn_recv(conn_server *s, conn *c)
{
    size_t cap = conn_in_cap(s);
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
        if (buf_reserve(&c->in, 16384)) return -1;
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
        return -1;
    }
    if (!c->in.len) buf_free(&c->in); /* nothing came: an idle connection holds no buffer */
    return 0;
}

/* Parses as much of the request at in_start as is there: the one place that calls the HTTP
 * parser. Returns 1 when the request is complete, 0 when more bytes are needed, or an error
 * code of the HTTP error table (HTTP_E_*). */
static int conn_parse(conn_server *s, conn *c)
{
    const server_config *cfg = s->w->cfg;
    if (!c->head_len) {
        /* allocated with the first bytes, so that an idle connection holds no header array */
        if (!c->hdrs && !(c->hdrs = calloc(cfg->limit_request_fields + 1, sizeof *c->hdrs))) return HTTP_E_INTERNAL;
        c->req.headers = c->hdrs;
        c->req.num_headers = cfg->limit_request_fields;
        /* goes on where the last read's parse stopped: a head in many pieces is parsed once */
        ssize_t r = http_parse_request_resume(&c->hp, c->in.ptr + c->in_start, c->in.len - c->in_start, &c->req, &s->lim);
        c->head_method = c->req.method_len == 4 && !memcmp(c->req.method, "HEAD", 4);
        if (r == HTTP_INCOMPLETE) return 0;
        if (r < 0) return (int)r;
        c->head_len = (size_t)r;
        c->body_raw = c->head_len;
        c->t_head = conn_now();
        c->keep_alive = c->req.keep_alive;
        if (c->req.body == HTTP_BODY_LENGTH && c->req.content_length > cfg->max_body_size) return HTTP_E_BODY_TOO_LARGE;
        if (c->req.body == HTTP_BODY_NONE) c->body_done = 1;
        int post = c->req.method_len == 4 && !memcmp(c->req.method, "POST", 4);
        if (post && c->req.body == HTTP_BODY_NONE && !http_find_header(&c->req, "content-length")) return HTTP_E_LENGTH_REQUIRED;
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
                return (int)r;
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

/* The token of "Authorization: Bearer TOKEN" (the scheme in any case), or 0. */
static int bearer_token(const http_header *a, const char **token, size_t *len)
{
    static const char scheme[] = "bearer ";
    const size_t n = sizeof scheme - 1;
    if (a->value_len <= n || strncasecmp(a->value, scheme, n)) return 0;
    size_t at = n;
    while (at < a->value_len && a->value[at] == ' ') at++;
    *token = a->value + at;
    *len = a->value_len - at;
    return *len > 0;
}

/* What is checked before routing, in this order: the request id (400 when invalid), CORS (a
 * preflight is answered here, without a key) and the API key (401). 1 when it answered. */
static int conn_gate(conn_server *s, conn *c)
{
    const server_config *cfg = s->w->cfg;
    const http_request *q = &c->req;
    c->cors = cors_origin_allowed(cfg, q) ? CORS_ALLOWED : CORS_NONE; /* so a browser can read the errors too */
    int route = metrics_route_id(q->path, q->path_len);
    const http_header *id = http_find_header(q, "x-request-id");
    const char *problem = id ? request_id_problem(id->value, id->value_len) : NULL;
    if (problem) {
        conn_error(s, c, 400, problem);
        return 1;
    }
    if (cors_is_preflight(cfg, q)) {
        const char *methods = route_methods(route);
        char msg[64];
        if (!methods) {
            conn_error(s, c, 404, "not found");
        } else if (cors_preflight_problem(cfg, q, methods, msg, sizeof msg)) {
            conn_error(s, c, 400, msg);
        } else {
            route_result_free(&c->res);
            c->res = (route_result){.status = 200, .ctype = "text/plain; charset=utf-8", .route = route};
            buf_puts(&c->res.body, "OK"); /* Starlette's answer */
            c->cors = CORS_PREFLIGHT;
            conn_answer(s, c);
        }
        return 1;
    }
    if (api_keys_configured() && route_needs_key(cfg, route)) {
        const http_header *a = http_find_header(q, "authorization");
        const char *token = NULL;
        size_t len = 0;
        if (!a || !bearer_token(a, &token, &len) || !api_key_matches(token, len)) {
            route_error(&c->res, 401, a ? "invalid API key" : "an API key is required: Authorization: Bearer KEY");
            /* RFC 6750 section 3: the scheme, and invalid_token when a key was presented */
            c->res.headers = a ? "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n" : "WWW-Authenticate: Bearer\r\n";
            c->res.route = route;
            conn_answer(s, c);
            return 1;
        }
    }
    return 0;
}

/* The X-Request-Id its answers carry: the client's when valid, else a new one. */
static void conn_fill_request_id(conn *c)
{
    const http_header *id = c->head_len ? http_find_header(&c->req, "x-request-id") : NULL;
    if (id && !request_id_problem(id->value, id->value_len)) {
        memcpy(c->request_id, id->value, id->value_len);
        c->request_id[id->value_len] = 0;
    } else {
        request_id_generate(c->request_id);
    }
}

int conn_next_request(conn_server *s, conn *c)
{
    const server_config *cfg = s->w->cfg;
    if (!c->t_first) c->t_first = conn_now(); /* its --header-timeout runs from here */
    int r = conn_parse(s, c);
    if (r < 0) {
        conn_error_code(s, c, r);
        return CONN_NEXT_WAIT;
    }
    if (r == 0) {
        c->incomplete = 1;
        /* queued behind the answers before it, never sent ahead of them */
        if (c->head_len && c->req.expect_continue && !c->sent_continue && c->in.len - c->in_start == c->head_len) {
            c->sent_continue = 1;
            if (buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n")) conn_error_code(s, c, HTTP_E_INTERNAL);
        }
        return CONN_NEXT_WAIT;
    }
    if (conn_gate(s, c)) return CONN_NEXT_WAIT;
    route_prepare(s->w, &c->req, c->in.ptr + c->in_start + c->head_len, c->body_len, &c->res);
    if (!c->res.needs_model) {
        conn_answer(s, c);
        return CONN_NEXT_WAIT;
    }
    if (cfg->limit_concurrency && s->model_in_flight >= cfg->limit_concurrency) {
        conn_error(s, c, 503, "too many requests in flight; retry later");
        return CONN_NEXT_WAIT;
    }
    c->model_job = 1;
    s->model_in_flight++;
    atomic_fetch_add_explicit(&s->m->in_flight, 1, memory_order_relaxed);
    /* the point past which its model job stops and it is answered 504: --request-timeout after
     * its head arrived, or 0 for never */
    c->model_deadline = cfg->request_timeout > 0 ? c->t_head + cfg->request_timeout : 0;
    return CONN_NEXT_MODEL;
}

void conn_compute(conn_server *s, conn *c, nerd_doc *doc)
{
    const served_model *sm = &s->w->models[c->res.model_slot - 1];
    route_compute(sm->model, doc, c->model_deadline, &c->res);
    if (c->res.status == 504)
        log_msg(LOG_WARNING, "request exceeded --request-timeout %.3g s in the model; its computation stopped",
                s->w->cfg->request_timeout);
}

/* ------------------------------------------------------------------ answers */

/* Answers say Connection: close once the worker is draining, retiring or recycling. */
static int worker_closing(const conn_server *s)
{
    const worker_ctx *w = s->w;
    return *s->stop_draining || *s->stop_now || s->retiring || (w->max_requests && s->requests + 1 >= w->max_requests);
}

void conn_answer_with(conn_server *s, conn *c, const route_result *res)
{
    int status = res->status ? res->status : 500;
    const server_config *cfg = s->w->cfg;
    if (status >= 400 && status != 401 && status != 404 && status != 405 && status != 503 && status != 504) c->keep_alive = 0;
    if (worker_closing(s) || cfg->wclass == WORKER_SYNC) c->keep_alive = 0;
    /* every answer, errors included, carries its request id and, for an allowed origin, CORS */
    if (!c->request_id[0]) conn_fill_request_id(c);
    buf extra = {0};
    int extra_failed = (res->headers && buf_puts(&extra, res->headers)) ||
                       buf_printf(&extra, "X-Request-Id: %s\r\n", c->request_id) ||
                       (c->head_len && cors_headers(cfg, &c->req, c->cors, route_methods(res->route), &extra));
    size_t before = c->out.len;
    if (extra_failed ||
        http_write_response(&c->out, status, c->keep_alive, res->ctype, extra.ptr, res->body.ptr ? res->body.ptr : "",
                            res->body.len, c->head_method)) {
        /* out of memory: no half answer; the answers before it go, then the connection closes */
        c->out.len = before;
        if (c->out.ptr) c->out.ptr[before] = 0;
        c->keep_alive = 0;
        log_msg(LOG_ERROR, "out of memory writing an answer; closing the connection");
    }
    /* from the head (nerd_request_duration_seconds); an answer before any head took no time */
    double secs = c->t_head ? conn_now() - c->t_head : 0;
    metrics_observe(s->m, res->route, metrics_status_id(status), res->model_slot, secs);
    if (c->model_job) { /* counted once: a zombie coming back later is not in flight any more */
        conn_drop_model_job(s, c);
        if (res->model_slot)
            atomic_fetch_add_explicit(&s->m->model_compute_us[res->model_slot - 1], (uint64_t)(res->compute_s * 1e6),
                                      memory_order_relaxed);
    }
    const http_header *ref = c->head_len ? http_find_header(&c->req, "referer") : NULL;
    const http_header *ua = c->head_len ? http_find_header(&c->req, "user-agent") : NULL;
    buf_free(&extra);
    int model_ran = res->compute_s > 0; /* the JSON log's "model": the name of the one that computed the answer */
    access_entry ae = {c->remote, c->head_len ? c->req.method : NULL, c->req.method_len,
                       c->head_len ? c->req.target : NULL, c->req.target_len, c->head_len ? c->req.minor_version : 1,
                       status, c->head_method ? 0 : res->body.len, ref ? ref->value : NULL, ref ? ref->value_len : 0,
                       ua ? ua->value : NULL, ua ? ua->value_len : 0, secs, c->request_id,
                       c->head_len ? c->req.path : NULL, c->req.path_len,
                       model_ran && res->model_slot ? s->w->models[res->model_slot - 1].name : NULL, c->head_len ? &c->req : NULL};
    log_access(&ae);
    if (status >= 500) log_msg(LOG_WARNING, "answered %d: %s", status, res->body.ptr ? res->body.ptr : "");
    s->requests++;
    if (c->keep_alive) { /* the next request starts after this one's bytes (the caller parses it) */
        size_t used = c->head_len + c->body_len;
        c->in_start = used < c->in.len - c->in_start ? c->in_start + used : c->in.len;
        if (c->in_start == c->in.len) { /* an idle connection keeps no buffer */
            buf_free(&c->in);
            c->in_start = 0;
        }
        conn_reset_request(c);
        c->state = C_READ;
        c->t_idle = conn_now();
    } else {
        c->state = C_CLOSE;
    }
    if (s->answered) s->answered(s, c);
}

void conn_answer(conn_server *s, conn *c) { conn_answer_with(s, c, &c->res); }

void conn_answer_aside(conn_server *s, conn *c, int status, const char *msg)
{
    route_result aside = {0};
    route_error(&aside, status, msg);
    aside.route = metrics_route_id(c->req.path, c->req.path_len);
    c->keep_alive = 0;
    conn_answer_with(s, c, &aside);
    route_result_free(&aside);
}

void conn_error(conn_server *s, conn *c, int status, const char *msg)
{
    route_error(&c->res, status, msg);
    if (status == 503) c->res.headers = "Retry-After: 1\r\n";
    c->res.route = c->head_len ? metrics_route_id(c->req.path, c->req.path_len) : ROUTE_OTHER;
    c->keep_alive = c->keep_alive && (status == 503 || status == 504);
    conn_answer(s, c);
}

void conn_error_code(conn_server *s, conn *c, int code)
{
    conn_error(s, c, http_error_status(code), http_error_reason(code));
}

int conn_send(conn_server *s, conn *c)
{
    size_t before = c->out_off;
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.ptr + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) { c->out_off += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* a client that reads nothing is given up after the write timeout, counted from its last read */
            double ka = s->w->cfg->keep_alive;
            if (c->out_off > before || !c->write_deadline)
                c->write_deadline = conn_now() + (ka > CONN_MIN_WRITE_TIMEOUT_S ? ka : CONN_MIN_WRITE_TIMEOUT_S);
            if (c->out_off >= conn_out_waiting(c)) { /* drop the sent part once it is the larger */
                memmove(c->out.ptr, c->out.ptr + c->out_off, conn_out_waiting(c));
                c->out.len -= c->out_off;
                c->out.ptr[c->out.len] = 0;
                c->out_off = 0;
            }
            return 0;
        }
        return -1;
    }
    buf_free(&c->out); /* an idle keep-alive connection keeps no answer buffer */
    c->out_off = 0;
    c->write_deadline = 0;
    return 0;
}
