/* fuzz_conn.c - libFuzzer target for the worker's connection state machine, not only its parser.
 *
 * The real worker code (src/server/worker.c, included so that its loops can run on threads here)
 * serves on three abstract unix sockets from three threads of this process: the async loop with
 * the model on the loop thread, the async loop with one inference thread, and the sync worker,
 * all with the real model (the lighter ner pipeline), --header-timeout and --keep-alive 0.05 s.
 * Each input is one client: its first byte picks the server and how the client ends, the rest is
 * a script the client plays on one connection: raw bytes cut where the input cuts them, bursts
 * of whole requests (up to 65,536 pipelined at once), reads of a few bytes or of all that came,
 * waits, stopping and resuming reading, a half-close. Then the client half-closes or waits for
 * the server's timeouts (or resets the connection and leaves) and reads to the end.
 *
 * What must hold: the server closes the connection within 10 s (its timeouts are 0.05 s);
 * what it sent is whole HTTP/1.1 answers, 100 Continue only as itself, nothing after an
 * answer that says Connection: close; and when the client sent only whole requests of its
 * table, every one is answered (the sync worker answers the first, then closes; a client that
 * sent it nothing gets a 408 unless it half-closed). A worker
 * crash, a stack overflow or a sanitizer report ends the run. */
#include "server/worker.c"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/un.h>

#define ASSERT(c, ...) do { if (!(c)) { fprintf(stderr, "ASSERT(%s) at line %d: ", #c, __LINE__); \
                                        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); __builtin_trap(); } } while (0)

enum { SRV_ASYNC, SRV_ASYNC_THREADS, SRV_SYNC, NSERVERS };
enum { END_HALF_CLOSE, END_WAIT_FOR_TIMEOUTS, END_RESET };
/* how the client ends, by (first byte / 3) % 8: mostly a half-close, which costs no waiting */
static const int ends[8] = {END_HALF_CLOSE, END_HALF_CLOSE, END_HALF_CLOSE, END_HALF_CLOSE,
                            END_HALF_CLOSE, END_HALF_CLOSE, END_WAIT_FOR_TIMEOUTS, END_RESET};

#define CLOSE_BOUND_S 10.0   /* the server must have closed by then (its own timeouts are 0.05 s) */
#define STALL_S 0.05         /* a send that makes no progress this long is given up (the server pushes back) */
#define MAX_HEAD 8192        /* longer without a blank line is not an answer */
#define BIG_BURST_K 240      /* a burst byte from here on asks for tens of thousands of requests */

typedef struct {
    server_config cfg;
    worker_ctx w;
    int lfd;
    struct sockaddr_un addr;
    socklen_t alen;
} fuzz_server;

static fuzz_server servers[NSERVERS];

/* Requests the client can pipeline whole, each answered with keep-alive, and how many of each
 * one burst may hold (model requests cost milliseconds each, so few of them). */
static const struct {
    const char *bytes;
    unsigned max_burst;
} whole[] = {
    {"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 65536},
    {"GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 65536},
    {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 300}, /* 3-4 KB answers: the server's back-pressure */
    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"text\": \"Angela Merkel visited Paris.\"}", 8},
    {"POST /ents HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11;e=1\r\n{\"text\": \"Paris\"}\r\n0\r\nT: v\r\n\r\n", 8},
    {"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 17\r\n\r\n{\"text\": \"Paris\"}", 8},
    {"GET /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 4096},
};
#define NWHOLE (sizeof whole / sizeof *whole)

static void *serve(void *arg)
{
    fuzz_server *s = arg;
    int rc = s->cfg.wclass == WORKER_SYNC ? sync_main(&s->w) : async_main(&s->w);
    fprintf(stderr, "fuzz_conn: a server loop returned %d\n", rc);
    __builtin_trap(); /* nothing tells them to stop */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    const char *dir = getenv("NERD_MODEL");
    if (!dir || !*dir) dir = "../shared/models/en_core_web_sm";
    char err[512];
    nerd_model *model = nerd_model_load(dir, NULL, err, sizeof err);
    if (!model) { fprintf(stderr, "fuzz_conn: %s\n", err); exit(1); }
    /* the served set of one model, as the master builds it */
    static served_model served;
    snprintf(served.name, sizeof served.name, "%s", nerd_model_name(model));
    snprintf(served.path, sizeof served.path, "%s", dir);
    served.model = model;
    served.pipeline = NERD_PIPELINE_NER;
    signal(SIGPIPE, SIG_IGN);
    for (int k = 0; k < NSERVERS; k++) {
        fuzz_server *s = &servers[k];
        char *args[] = {"serve", "-k", k == SRV_SYNC ? "sync" : "async", "--threads", k == SRV_ASYNC_THREADS ? "1" : "0",
                        "--header-timeout", "0.05", "--keep-alive", "0.05", "--max-body-size", "2048",
                        "--pipeline", "ner", "--error-logfile", "/dev/null", "--log-level", "critical", NULL};
        int n = (int)(sizeof args / sizeof *args) - 1;
        if (server_config_parse(&s->cfg, n, args, err, sizeof err) || (k == 0 && log_open(&s->cfg, err, sizeof err))) {
            fprintf(stderr, "fuzz_conn: %s\n", err);
            exit(1);
        }
        s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        s->addr.sun_family = AF_UNIX;
        /* abstract names: nothing on disk, gone with the process */
        int len = snprintf(s->addr.sun_path + 1, sizeof s->addr.sun_path - 1, "nerd-fuzz-conn-%d-%d", (int)getpid(), k);
        s->alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
        if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&s->addr, s->alen) || listen(s->lfd, 64)) {
            perror("fuzz_conn: listen");
            exit(1);
        }
        server_shared *shared = calloc(1, sizeof *shared);
        s->w = (worker_ctx){.cfg = &s->cfg, .models = &served, .nmodels = 1, .listen_fds = &s->lfd, .nlisten = 1, .shared = shared, .slot = 0};
        pthread_t t;
        if (pthread_create(&t, NULL, serve, s)) { perror("fuzz_conn: pthread_create"); exit(1); }
        pthread_detach(t);
    }
    return 0;
}

/* ------------------------------------------------------------------ the client */

typedef struct {
    int fd, mode;
    int reading;      /* 0 while it plays a client that does not read */
    int wr_closed;    /* it has shut its sending side, or the server has closed the connection */
    int only_whole;   /* everything sent so far is whole requests of the table */
    long requests;    /* whole table requests sent */
    buf in;           /* answers received and not yet checked */
    long answers;     /* final answers checked */
    int said_close;   /* an answer said Connection: close */
} client;

/* Checks and drops the whole answers at the front of c->in. */
static void take_answers(client *c)
{
    size_t off = 0;
    for (;;) {
        const char *at = c->in.ptr + off;
        size_t left = c->in.len - off;
        if (!left) break;
        ASSERT(!c->said_close, "%zu bytes after an answer with Connection: close", left);
        ASSERT(left < 9 ? !memcmp(at, "HTTP/1.1 ", left) : !memcmp(at, "HTTP/1.1 ", 9), "not an answer: %.40s", at);
        const char *end = memmem(at, left, "\r\n\r\n", 4);
        if (!end) {
            ASSERT(left < MAX_HEAD, "no end of head in %zu bytes", left);
            break;
        }
        size_t head = (size_t)(end + 4 - at);
        int status = atoi(at + 9);
        if (status == 100) {
            ASSERT(head == 25 && !memcmp(at, "HTTP/1.1 100 Continue\r\n\r\n", 25), "%.*s", (int)head, at);
            off += head;
            continue;
        }
        ASSERT(status >= 200 && status <= 599, "status %d", status);
        const char *cl = memmem(at, head, "\r\nContent-Length: ", 18);
        ASSERT(cl, "no Content-Length: %.*s", (int)head, at);
        size_t body = strtoul(cl + 18, NULL, 10);
        int ka = memmem(at, head, "\r\nConnection: keep-alive\r\n", 26) != NULL;
        int cls = memmem(at, head, "\r\nConnection: close\r\n", 21) != NULL;
        ASSERT(ka + cls == 1, "%.*s", (int)head, at);
        if (left < head + body) break;
        c->answers++;
        c->said_close = cls;
        off += head + body;
    }
    memmove(c->in.ptr, c->in.ptr + off, c->in.len - off);
    c->in.len -= off;
}

/* Reads what has come, at most max bytes; 1 at EOF. */
static int read_some(client *c, size_t max)
{
    while (max > 0) {
        char chunk[65536];
        ssize_t n = recv(c->fd, chunk, max < sizeof chunk ? max : sizeof chunk, MSG_DONTWAIT);
        if (n == 0) return 1;
        if (n < 0 && errno == ECONNRESET) return 1; /* closed with bytes of ours unread: what it sent came first */
        if (n < 0) {
            ASSERT(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR, "recv: %s", strerror(errno));
            return 0;
        }
        buf_append(&c->in, chunk, (size_t)n);
        take_answers(c);
        max -= (size_t)n;
    }
    return 0;
}

/* Sends p[0..len), reading answers meanwhile if it reads; returns how much the server took
 * before it stopped taking any for STALL_S (it pushes back on a client that does not read). */
static size_t send_some(client *c, const char *p, size_t len)
{
    if (c->wr_closed) return 0;
    size_t off = 0;
    double stalled_since = ae_now();
    while (off < len) {
        ssize_t n = send(c->fd, p + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            stalled_since = ae_now();
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) { /* the server closed (after an error answer) */
            c->wr_closed = 1;
            break;
        }
        ASSERT(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR), "send: %s", strerror(errno));
        if (ae_now() - stalled_since > STALL_S) break;
        struct pollfd pf = {.fd = c->fd, .events = POLLOUT | (c->reading ? POLLIN : 0)};
        poll(&pf, 1, 10);
        if (c->reading && pf.revents & POLLIN) read_some(c, SIZE_MAX);
    }
    return off;
}

/* A burst of count copies of whole request w. */
static void send_whole(client *c, size_t w, unsigned count)
{
    size_t one = strlen(whole[w].bytes);
    buf b = {0};
    for (unsigned i = 0; i < count; i++) buf_append(&b, whole[w].bytes, one);
    size_t sent = send_some(c, b.ptr, b.len);
    c->requests += (long)(sent / one);
    if (sent % one) c->only_whole = 0; /* a request cut by the push-back */
    buf_free(&b);
}

/* The script: each op byte is kind (low 3 bits) and arg (the high 5). */
static void play(client *c, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned kind = d[i] & 7, arg = d[i] >> 3;
        i++;
        switch (kind) {
        case 0: case 1: { /* raw bytes: the next arg + 1 of the input, as they are */
            size_t len = arg + 1u < n - i ? arg + 1u : n - i;
            send_some(c, (const char *)d + i, len);
            if (len) c->only_whole = 0;
            i += len;
            break;
        }
        case 2: { /* a burst of whole requests: k the next byte gives 1-60 copies, or for the 16
                   top values of k 256-65,536 (fewer for the slow ones): those take a second each */
            unsigned k = i < n ? d[i++] : 0, count = k < BIG_BURST_K ? 1 + k / 4 : (k - BIG_BURST_K + 1) * (k - BIG_BURST_K + 1) * 256;
            size_t w = arg % NWHOLE;
            send_whole(c, w, count < whole[w].max_burst ? count : whole[w].max_burst);
            break;
        }
        case 3: /* reads up to (arg + 1) * 61 bytes, whatever has come */
            read_some(c, (arg + 1u) * 61u);
            break;
        case 4: { /* waits up to arg ms for the server, reading if it reads */
            struct pollfd pf = {.fd = c->fd, .events = POLLIN};
            if (poll(&pf, 1, (int)arg) > 0 && c->reading) read_some(c, SIZE_MAX);
            break;
        }
        case 5: c->reading = 0; break; /* stops reading */
        case 6: c->reading = 1; read_some(c, SIZE_MAX); break;
        case 7: /* half-closes */
            if (!c->wr_closed) shutdown(c->fd, SHUT_WR);
            c->wr_closed = 1;
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    client c = {.mode = data[0] % NSERVERS, .reading = 1, .only_whole = 1};
    int end = ends[data[0] / NSERVERS % 8];
    fuzz_server *s = &servers[c.mode];
    c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(c.fd >= 0 && !connect(c.fd, (struct sockaddr *)&s->addr, s->alen), "connect: %s", strerror(errno));
    play(&c, data + 1, size - 1);
    if (end == END_RESET) {
        struct linger lg = {1, 0};
        setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(c.fd);
        buf_free(&c.in);
        return 0;
    }
    if (end == END_HALF_CLOSE && !c.wr_closed) {
        shutdown(c.fd, SHUT_WR);
        c.wr_closed = 1;
    }
    /* the server must close: after its answers, at the client's EOF, or at its timeouts */
    int eof = 0;
    for (double t0 = ae_now(); !eof && ae_now() - t0 < CLOSE_BOUND_S;) {
        struct pollfd pf = {.fd = c.fd, .events = POLLIN};
        if (poll(&pf, 1, 100) > 0) eof = read_some(&c, SIZE_MAX);
    }
    ASSERT(eof, "%s server: connection still open %.0f s after the client stopped (%ld answers)",
           c.mode == SRV_SYNC ? "sync" : "async", CLOSE_BOUND_S, c.answers);
    ASSERT(!c.in.len, "the server closed in the middle of an answer: %.60s", c.in.ptr);
    if (c.only_whole) {
        if (c.mode != SRV_SYNC) ASSERT(c.answers == c.requests, "%ld whole requests, %ld answers", c.requests, c.answers);
        else if (c.requests) ASSERT(c.answers == 1, "sync: %ld whole requests, %ld answers", c.requests, c.answers);
        else ASSERT(c.answers <= 1, "sync: no request, %ld answers", c.answers); /* 408 to a silent client */
    }
    close(c.fd);
    buf_free(&c.in);
    return 0;
}
