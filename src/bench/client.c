#include "bench/client.h"
#include "server/http_parser.h"
#include "util/buf.h"
#include "util/json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

typedef struct {
    int fd;
    int busy;            /* a request is out */
    size_t req;          /* its index */
    double sent;
    buf out, in;
    size_t out_off;
    int connected;
} bconn;

/* A chunked answer: decodes a copy; 1 when whole (the decoded body replaces the raw one). */
static int chunked_complete(buf *in, size_t head, size_t *body_len)
{
    size_t raw = in->len - head;
    char *copy = malloc(raw + 1);
    memcpy(copy, in->ptr + head, raw);
    http_chunked d = {0};
    size_t len = raw;
    ssize_t r = http_decode_chunked(&d, copy, &len);
    if (r >= 0) {
        memcpy(in->ptr + head, copy, len);
        in->len = head + len;
        in->ptr[in->len] = 0;
        *body_len = len;
    }
    free(copy);
    return r >= 0 ? 1 : r == HTTP_INCOMPLETE ? 0 : -1;
}

static int answer_complete(buf *in, size_t *head, size_t *body_len, int *status, int *close_after)
{
    const char *h = in->ptr ? strstr(in->ptr, "\r\n\r\n") : NULL;
    if (!h) return 0;
    *head = (size_t)(h + 4 - in->ptr);
    if (in->len < 12 || strncmp(in->ptr, "HTTP/1.", 7)) return -1;
    *status = atoi(in->ptr + 9);
    *close_after = 0;
    long cl = -1;
    int chunked = 0;
    for (const char *p = strstr(in->ptr, "\r\n"); p && p < h; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (!strncasecmp(line, "content-length:", 15)) cl = atol(line + 15);
        else if (!strncasecmp(line, "connection:", 11) && strcasestr(line, "close") && strcasestr(line, "close") < strstr(line, "\r\n"))
            *close_after = 1;
        else if (!strncasecmp(line, "transfer-encoding:", 18)) chunked = 1;
    }
    if (*status == 100) { /* an interim answer: drop it */
        *body_len = 0;
        return 2;
    }
    if (chunked) return chunked_complete(in, *head, body_len);
    if (cl < 0) return -1;
    if (in->len - *head < (size_t)cl) return 0;
    *body_len = (size_t)cl;
    return 1;
}

/* 1 if the answer's JSON object equals the expected one; 2 if equal but in another key order */
static int body_matches(const char *body, size_t len, const char *expected)
{
    json_doc a, b;
    char err[64];
    int ok = 0;
    if (json_parse(body, len, 0, &a, err, sizeof err)) { json_doc_free(&a); return 0; }
    if (json_parse(expected, strlen(expected), 0, &b, err, sizeof err)) { json_doc_free(&a); json_doc_free(&b); return 0; }
    if (a.root.type == JSON_OBJECT && b.root.type == JSON_OBJECT && a.root.u.obj.n == b.root.u.obj.n) {
        int same_order = 1, all = 1;
        for (size_t i = 0; i < b.root.u.obj.n && all; i++) {
            const json_member *m = &b.root.u.obj.items[i], *x = &a.root.u.obj.items[i];
            char key[512];
            snprintf(key, sizeof key, "%.*s", (int)m->keylen, m->key);
            const json_value *v = json_get(&a.root, key);
            all = v && v->type == JSON_STRING && m->val.type == JSON_STRING && !strcmp(v->u.str.ptr, m->val.u.str.ptr);
            same_order &= x->keylen == m->keylen && !memcmp(x->key, m->key, m->keylen);
        }
        ok = all ? (same_order ? 1 : 2) : 0;
    }
    json_doc_free(&a);
    json_doc_free(&b);
    return ok;
}

static void build_request(const bench_opts *o, size_t i, buf *out)
{
    static __thread buf body;
    buf_clear(&body);
    size_t t = i % o->ntexts;
    buf_printf(&body, "{\"i_request\": %llu, \"text\": ", (unsigned long long)(o->first_id + i));
    json_write_string(&body, o->texts[t], o->text_lens[t], 0);
    buf_putc(&body, '}');
    buf_printf(out, "%s %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: nerd-bench\r\nAccept: */*\r\n"
                    "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
               o->method, o->path, o->host, o->port, body.len, o->keepalive ? "" : "Connection: close\r\n");
    buf_append(out, body.ptr, body.len);
}

static void raise_nofile(size_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl)) return;
    if (rl.rlim_cur < need + 64) {
        rl.rlim_cur = need + 64 < rl.rlim_max ? need + 64 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int bench_run(const bench_opts *o, bench_result *r)
{
    memset(r, 0, sizeof *r);
    raise_nofile(o->c);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    if (getaddrinfo(o->host, port, &hints, &ai)) return -1;
    size_t nconn = o->c < o->n ? o->c : o->n;
    bconn *cs = calloc(nconn ? nconn : 1, sizeof *cs);
    r->lat_ms = malloc((o->n ? o->n : 1) * sizeof *r->lat_ms);
    int ep = epoll_create1(0);
    size_t next = 0, done = 0;
    double t0 = now_s(), last_progress = 0;

    for (size_t k = 0; k < nconn; k++) cs[k].fd = -1;
    while (done < o->n) {
        /* start requests on idle connections (opening them as needed) */
        for (size_t k = 0; k < nconn && next < o->n; k++) {
            bconn *c = &cs[k];
            if (c->busy) continue;
            if (c->fd < 0) {
                c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
                int one = 1;
                setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
                    close(c->fd);
                    c->fd = -1;
                    r->err_connect++;
                    next++;
                    done++;
                    continue;
                }
                struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u64 = k};
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
                c->connected = 0;
            }
            c->busy = 1;
            c->req = next++;
            buf_clear(&c->out);
            buf_clear(&c->in);
            c->out_off = 0;
            build_request(o, c->req, &c->out);
            c->sent = now_s();
            struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u64 = k};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        }
        struct epoll_event evs[512];
        int ne = epoll_wait(ep, evs, 512, 50);
        double now = now_s();
        for (int i = 0; i < ne; i++) {
            bconn *c = &cs[evs[i].data.u64];
            if (c->fd < 0 || !c->busy) continue;
            int failed = 0, finished = 0;
            if (evs[i].events & EPOLLOUT) {
                if (!c->connected) {
                    int err = 0;
                    socklen_t sl = sizeof err;
                    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
                    if (err) { r->err_connect++; failed = 1; }
                    c->connected = 1;
                }
                while (!failed && c->out_off < c->out.len) {
                    ssize_t n = send(c->fd, c->out.ptr + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
                    if (n > 0) c->out_off += (size_t)n;
                    else if (n < 0 && errno == EAGAIN) break;
                    else { r->err_connect++; failed = 1; }
                }
                if (!failed && c->out_off == c->out.len) {
                    struct epoll_event e = {.events = EPOLLIN, .data.u64 = evs[i].data.u64};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                }
            }
            if (!failed && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                for (;;) {
                    buf_reserve(&c->in, 65536);
                    ssize_t n = recv(c->fd, c->in.ptr + c->in.len, c->in.cap - c->in.len - 1, 0);
                    if (n > 0) { c->in.len += (size_t)n; c->in.ptr[c->in.len] = 0; continue; }
                    if (n < 0 && errno == EAGAIN) break;
                    if (!c->in.len) { r->err_connect++; failed = 1; } /* closed before answering */
                    else failed = 2;
                    break;
                }
                size_t head, blen;
                int status = 0, close_after = 0, rc;
                while (!finished && (rc = answer_complete(&c->in, &head, &blen, &status, &close_after)) == 2) {
                    memmove(c->in.ptr, c->in.ptr + head, c->in.len - head);
                    c->in.len -= head;
                    c->in.ptr[c->in.len] = 0;
                }
                if (rc == 1) {
                    finished = 1;
                    r->lat_ms[r->nlat++] = (now - c->sent) * 1e3;
                    r->status_counts[status >= 100 && status < 600 ? status / 100 : 0]++;
                    if (status < 200 || status >= 300) r->err_status++;
                    else if (o->expected && o->expected[c->req % o->ntexts]) {
                        int m = body_matches(c->in.ptr + head, blen, o->expected[c->req % o->ntexts]);
                        if (m == 1) r->ok++;
                        else if (m == 2) r->err_order++;
                        else r->err_body++;
                    } else {
                        r->ok++;
                    }
                    if (close_after || !o->keepalive) failed = 3; /* close, not an error */
                } else if (rc < 0 || failed == 2) {
                    r->err_body++;
                    failed = 3;
                }
            }
            if (failed || finished) {
                c->busy = 0;
                done++;
                if (failed) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    c->fd = -1;
                }
            }
        }
        /* timeouts */
        for (size_t k = 0; k < nconn; k++) {
            bconn *c = &cs[k];
            if (c->busy && now - c->sent > o->timeout) {
                r->err_timeout++;
                c->busy = 0;
                done++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
            }
        }
        if (o->progress && now - last_progress > 0.2) {
            fprintf(stderr, "\r  %zu/%zu answered, %.0f req/s   ", done, o->n, done / (now - t0 + 1e-9));
            last_progress = now;
        }
    }
    r->seconds = now_s() - t0;
    if (o->progress) fprintf(stderr, "\r%60s\r", "");
    for (size_t k = 0; k < nconn; k++) {
        if (cs[k].fd >= 0) close(cs[k].fd);
        buf_free(&cs[k].in);
        buf_free(&cs[k].out);
    }
    free(cs);
    close(ep);
    freeaddrinfo(ai);
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile(const bench_result *r, double p)
{
    if (!r->nlat) return 0;
    qsort(r->lat_ms, r->nlat, sizeof *r->lat_ms, cmp_d);
    size_t i = (size_t)(p / 100 * (r->nlat - 1) + 0.5);
    return r->lat_ms[i < r->nlat ? i : r->nlat - 1];
}

void bench_result_free(bench_result *r)
{
    free(r->lat_ms);
    r->lat_ms = NULL;
}
