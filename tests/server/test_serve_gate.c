/* What a request is checked for before routing (src/server/gate.c), end to end on both worker
 * classes: CORS (Starlette's CORSMiddleware conventions), API keys from --api-key-file, the
 * X-Request-Id of every answer, and the JSON access log. */
#include "test.h"
#include "serve_helper.h"
#include "util/json.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const worker_classes[] = {"sync", "async"};
enum { NCLASSES = 2 };

/* The value of the answer's header field name (as the server spells it) into val, or NULL. */
static const char *answer_header(const buf *out, const char *name, char *val, size_t cap)
{
    const char *end = out->ptr ? strstr(out->ptr, "\r\n\r\n") : NULL;
    char key[128];
    snprintf(key, sizeof key, "\r\n%s: ", name);
    const char *at = out->ptr ? strstr(out->ptr, key) : NULL;
    if (!at || (end && at > end)) return NULL;
    at += strlen(key);
    size_t n = strcspn(at, "\r");
    if (n >= cap) n = cap - 1;
    memcpy(val, at, n);
    val[n] = 0;
    return val;
}

/* The head of an answer holds no Access-Control-* and no Vary field. */
static int no_cors_headers(const buf *out)
{
    const char *end = strstr(out->ptr, "\r\n\r\n");
    const char *acx = strstr(out->ptr, "Access-Control-"), *vary = strstr(out->ptr, "Vary:");
    return (!acx || acx > end) && (!vary || vary > end);
}

static int request(int port, const char *method, const char *path, const char *headers, const char *body, buf *out)
{
    buf req = {0};
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method, path, headers ? headers : "");
    if (body) buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    else buf_puts(&req, "\r\n");
    buf_clear(out);
    int st = http_raw(port, req.ptr, req.len, out);
    buf_free(&req);
    return st;
}

static const char paris[] = "{\"text\": \"Angela Merkel visited Paris.\"}";

static void start_class(test_server *s, const char *wclass, const char *const *extra)
{
    const char *args[32] = {"-k", wclass};
    int n = 2;
    for (int i = 0; extra && extra[i] && n < 31; i++) args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, args);
}

TEST_T(serve_cors_preflight_and_simple_requests_on_both_worker_classes, 120)
{
    for (int k = 0; k < NCLASSES; k++) {
        test_server s;
        const char *const args[] = {"--cors-allow-origin", "https://a.example, https://b.example", "--cors-allow-origin",
                                    "http://localhost:3000", "--cors-allow-headers", "X-Trace", NULL};
        start_class(&s, worker_classes[k], args);
        buf out = {0};
        char v[512];
        /* an allowed origin's preflight: the route's methods, the allowed headers, max age, Vary */
        int st = request(s.port, "OPTIONS", "/ents",
                         "Origin: https://b.example\r\nAccess-Control-Request-Method: POST\r\n"
                         "Access-Control-Request-Headers: content-type, authorization, x-request-id, x-trace\r\n",
                         NULL, &out);
        CHECKF(st == 200, "%s: preflight answered %d: %s", worker_classes[k], st, out.ptr);
        CHECK(answer_header(&out, "Access-Control-Allow-Origin", v, sizeof v) && !strcmp(v, "https://b.example"));
        CHECK(answer_header(&out, "Access-Control-Allow-Methods", v, sizeof v) && !strcmp(v, "POST"));
        CHECK(answer_header(&out, "Access-Control-Allow-Headers", v, sizeof v) && strstr(v, "Authorization") &&
              strstr(v, "Content-Type") && strstr(v, "X-Request-Id") && strstr(v, "X-Trace"));
        CHECK(answer_header(&out, "Access-Control-Max-Age", v, sizeof v) && !strcmp(v, "600"));
        CHECK(answer_header(&out, "Vary", v, sizeof v) && !strcmp(v, "Origin"));
        CHECK(answer_header(&out, "X-Request-Id", v, sizeof v));
        /* the methods are the route's: / takes GET, HEAD and POST */
        st = request(s.port, "OPTIONS", "/", "Origin: http://localhost:3000\r\nAccess-Control-Request-Method: GET\r\n", NULL, &out);
        CHECK(st == 200 && answer_header(&out, "Access-Control-Allow-Methods", v, sizeof v) && !strcmp(v, "GET, HEAD, POST"));
        /* a disallowed origin: 400 as Starlette's, and no CORS header at all */
        st = request(s.port, "OPTIONS", "/ents", "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n",
                     NULL, &out);
        CHECKF(st == 400 && strstr(http_body(&out), "Disallowed CORS origin"), "%s: %d %s", worker_classes[k], st, out.ptr);
        CHECK(no_cors_headers(&out));
        /* an allowed origin asking for a method the route lacks or a header not allowed */
        st = request(s.port, "OPTIONS", "/ents", "Origin: https://a.example\r\nAccess-Control-Request-Method: DELETE\r\n",
                     NULL, &out);
        CHECK(st == 400 && strstr(http_body(&out), "Disallowed CORS method"));
        st = request(s.port, "OPTIONS", "/ents",
                     "Origin: https://a.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: X-Evil\r\n",
                     NULL, &out);
        CHECK(st == 400 && strstr(http_body(&out), "Disallowed CORS headers"));
        /* a simple request from an allowed origin: the origin, the exposed request id, Vary */
        st = request(s.port, "POST", "/ents", "Origin: https://a.example\r\n", paris, &out);
        CHECK(st == 200 && strstr(http_body(&out), "Paris"));
        CHECK(answer_header(&out, "Access-Control-Allow-Origin", v, sizeof v) && !strcmp(v, "https://a.example"));
        CHECK(answer_header(&out, "Access-Control-Expose-Headers", v, sizeof v) && !strcmp(v, "X-Request-Id"));
        CHECK(answer_header(&out, "Vary", v, sizeof v) && !strcmp(v, "Origin"));
        /* its errors too, so that the page can read them */
        st = request(s.port, "POST", "/ents", "Origin: https://a.example\r\n", "{}", &out);
        CHECK(st == 400 && answer_header(&out, "Access-Control-Allow-Origin", v, sizeof v));
        /* from another origin: answered, with no CORS header */
        st = request(s.port, "POST", "/ents", "Origin: https://evil.example\r\n", paris, &out);
        CHECK(st == 200 && no_cors_headers(&out));
        /* OPTIONS that is no preflight (no Origin) is routed as before: 405 */
        st = request(s.port, "OPTIONS", "/ents", NULL, NULL, &out);
        CHECK(st == 405);
        buf_free(&out);
        CHECK(WIFEXITED(server_stop(&s, SIGTERM)));
    }
}

TEST_T(serve_cors_any_origin_and_not_configured, 120)
{
    for (int k = 0; k < NCLASSES; k++) {
        buf out = {0};
        char v[256];
        test_server s;
        const char *const any[] = {"--cors-allow-origin", "*", NULL};
        start_class(&s, worker_classes[k], any);
        int st = request(s.port, "OPTIONS", "/ents", "Origin: https://x.example\r\nAccess-Control-Request-Method: POST\r\n", NULL, &out);
        CHECK(st == 200 && answer_header(&out, "Access-Control-Allow-Origin", v, sizeof v) && !strcmp(v, "*"));
        st = request(s.port, "POST", "/ents", "Origin: https://y.example\r\n", paris, &out);
        CHECK(st == 200 && answer_header(&out, "Access-Control-Allow-Origin", v, sizeof v) && !strcmp(v, "*"));
        CHECK(!answer_header(&out, "Vary", v, sizeof v)); /* the same for every origin */
        server_stop(&s, SIGTERM);
        /* not configured: nothing CORS-related, and a preflight stays 405 */
        start_class(&s, worker_classes[k], NULL);
        st = request(s.port, "OPTIONS", "/ents", "Origin: https://x.example\r\nAccess-Control-Request-Method: POST\r\n", NULL, &out);
        CHECKF(st == 405 && no_cors_headers(&out), "%d %s", st, out.ptr);
        st = request(s.port, "POST", "/ents", "Origin: https://x.example\r\n", paris, &out);
        CHECK(st == 200 && no_cors_headers(&out));
        server_stop(&s, SIGTERM);
        buf_free(&out);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(text, f);
    fclose(f);
}

/* Waits up to seconds until the file holds at least `lines` lines; its text (free it). */
static char *wait_lines(const char *path, int lines, double seconds)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        size_t len = 0;
        char *text = test_read_file(path, &len);
        int n = 0;
        for (size_t i = 0; text && i < len; i++) n += text[i] == '\n';
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (n >= lines || (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds) return text;
        free(text);
        usleep(20000);
    }
}

static const char key1[] = "k3y-one-Secret-0123456789", key2[] = "second.key:with-sep";

TEST_T(serve_api_keys_on_both_worker_classes, 150)
{
    char keys[128], access[128];
    snprintf(keys, sizeof keys, "/tmp/nerd-test-keys-%d", (int)getpid());
    snprintf(access, sizeof access, "/tmp/nerd-test-access-%d.log", (int)getpid());
    char text[512];
    snprintf(text, sizeof text, "# the service's keys\n\n%s\r\n   %s  \n# %s is gone\n", key1, key2, "old-key");
    write_file(keys, text);
    for (int k = 0; k < NCLASSES; k++) {
        unlink(access);
        test_server s;
        const char *const args[] = {"--api-key-file", keys, "--cors-allow-origin", "https://a.example", "--access-logfile",
                                    access, "--log-level", "debug", NULL};
        start_class(&s, worker_classes[k], args);
        buf out = {0};
        char v[256], h[256];
        int st = request(s.port, "POST", "/ents", NULL, paris, &out);
        CHECKF(st == 401, "%s: no key answered %d", worker_classes[k], st);
        CHECK(answer_header(&out, "WWW-Authenticate", v, sizeof v) && !strcmp(v, "Bearer"));
        CHECK(strstr(http_body(&out), "{\"error\":") && answer_header(&out, "X-Request-Id", v, sizeof v));
        snprintf(h, sizeof h, "Authorization: Bearer %.10s\r\n", key1); /* a prefix of a key is no key */
        st = request(s.port, "POST", "/ents", h, paris, &out);
        CHECK(st == 401 && answer_header(&out, "WWW-Authenticate", v, sizeof v) && strstr(v, "invalid_token"));
        snprintf(h, sizeof h, "Authorization: Bearer %sx\r\n", key1);
        CHECK(request(s.port, "POST", "/ents", h, paris, &out) == 401);
        snprintf(h, sizeof h, "Authorization: Basic %s\r\n", key1);
        CHECK(request(s.port, "POST", "/ents", h, paris, &out) == 401);
        CHECK(request(s.port, "GET", "/nowhere", NULL, NULL, &out) == 401); /* no probing the routes without a key */
        snprintf(h, sizeof h, "Authorization: Bearer %s\r\n", key1);
        st = request(s.port, "POST", "/ents", h, paris, &out);
        CHECKF(st == 200 && strstr(http_body(&out), "Paris"), "%s: right key answered %d", worker_classes[k], st);
        snprintf(h, sizeof h, "Authorization: bearer %s\r\n", key2);
        CHECK(request(s.port, "GET", "/model", h, NULL, &out) == 200);
        /* probes and (by default) metrics are open; a preflight needs no key */
        CHECK(request(s.port, "GET", "/healthz", NULL, NULL, &out) == 200);
        CHECK(request(s.port, "GET", "/readyz", NULL, NULL, &out) == 200);
        CHECK(request(s.port, "GET", "/metrics", NULL, NULL, &out) == 200);
        CHECK(strstr(http_body(&out), "status=\"401\""));
        CHECK(request(s.port, "OPTIONS", "/ents", "Origin: https://a.example\r\nAccess-Control-Request-Method: POST\r\n"
                      "Access-Control-Request-Headers: authorization\r\n", NULL, &out) == 200);
        /* no key, nor any prefix of one, in the error log (at debug level) or the access log */
        size_t len = 0;
        char *errlog = test_read_file(s.log, &len);
        CHECKF(errlog && strstr(errlog, "API keys: 2 from"), "%s", s.log);
        CHECK(!strstr(errlog, "k3y-one") && !strstr(errlog, "second.key") && !strstr(errlog, "Bearer"));
        free(errlog);
        server_stop(&s, SIGTERM);
        char *acc = wait_lines(access, 1, 10);
        CHECKF(acc && strstr(acc, "/ents"), "access log %s", access);
        CHECK(!strstr(acc, "k3y-one") && !strstr(acc, "second.key") && !strstr(acc, "Bearer"));
        free(acc);
        buf_free(&out);
    }
    unlink(access);
    unlink(keys);
}

/* The master's children (its workers) from /proc: how many, pids in out. */
static int children_of(pid_t pid, pid_t *out, int max)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = 0;
    int n = 0;
    for (char *p = text, *end; n < max; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p) break;
        out[n++] = (pid_t)v;
    }
    return n;
}

/* Waits until none of the n workers in old is the master's child any more: after a HUP the old
 * generation (which holds the old keys) drains while the new one already accepts. */
static int old_workers_gone(pid_t master, const pid_t *old, int n, double seconds)
{
    for (double waited = 0; waited < seconds; waited += 0.05) {
        pid_t now[64];
        int m = children_of(master, now, 64), left = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) left += old[i] == now[j];
        if (m >= 0 && !left) return 1;
        usleep(50000);
    }
    return 0;
}

TEST_T(serve_api_keys_metrics_required_and_reloaded_on_hup, 150)
{
    char keys[128];
    snprintf(keys, sizeof keys, "/tmp/nerd-test-keys-hup-%d", (int)getpid());
    write_file(keys, "first-key\n");
    for (int k = 0; k < NCLASSES; k++) {
        write_file(keys, "first-key\n");
        test_server s;
        const char *const args[] = {"--api-key-file", keys, "--metrics-require-key", NULL};
        start_class(&s, worker_classes[k], args);
        buf out = {0};
        CHECK(request(s.port, "GET", "/metrics", NULL, NULL, &out) == 401);
        CHECK(request(s.port, "GET", "/metrics", "Authorization: Bearer first-key\r\n", NULL, &out) == 200);
        CHECK(request(s.port, "GET", "/healthz", NULL, NULL, &out) == 200);
        /* HUP reads the file again: the new workers take the new key and refuse the old */
        pid_t old[64];
        int nold = children_of(s.pid, old, 64);
        CHECK(nold > 0);
        write_file(keys, "second-key\n");
        kill(s.pid, SIGHUP);
        int swapped = 0;
        for (int i = 0; i < 400 && !swapped; i++) {
            swapped = request(s.port, "GET", "/model", "Authorization: Bearer second-key\r\n", NULL, &out) == 200;
            if (!swapped) usleep(50000);
        }
        CHECKF(swapped, "%s: the new key was not taken after HUP", worker_classes[k]);
        CHECK(server_wait_log(&s, "API keys: 1 reloaded", 1, 10));
        /* once only new workers serve, the old key is refused */
        CHECKF(old_workers_gone(s.pid, old, nold, 30), "%s: the old workers did not leave", worker_classes[k]);
        int refused = 0;
        for (int i = 0; i < 400 && !refused; i++) {
            refused = request(s.port, "GET", "/model", "Authorization: Bearer first-key\r\n", NULL, &out) == 401;
            if (!refused) usleep(50000);
        }
        CHECK(refused);
        /* a file that turned empty keeps the keys served */
        write_file(keys, "# nothing\n");
        kill(s.pid, SIGHUP);
        CHECK(server_wait_log(&s, "API keys not reloaded, the old ones stay", 1, 20));
        /* while the workers are replaced a request may find none listening; a 401 is never right */
        int st = 0;
        for (int i = 0; i < 200 && st != 200; i++) {
            st = request(s.port, "GET", "/model", "Authorization: Bearer second-key\r\n", NULL, &out);
            CHECKF(st != 401, "%s: the kept key was refused after a failed key reload", worker_classes[k]);
            if (st != 200) usleep(50000);
        }
        CHECK(st == 200);
        buf_free(&out);
        server_stop(&s, SIGTERM);
    }
    unlink(keys);
}

/* nerd serve ARGS; its exit status and stderr into err */
static int serve_refused(const char *const *args, char *err, size_t cap)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/nerd-test-refused-%d", (int)getpid());
    pid_t p = fork();
    if (p == 0) {
        FILE *f = freopen(path, "w", stderr);
        (void)f;
        const char *argv[16] = {test_nerd_bin(), "serve", "-b", "127.0.0.1:0", "--model", test_standin()};
        int n = 6;
        for (int i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
        argv[n] = NULL;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(p, &status, 0);
    size_t len = 0;
    char *text = test_read_file(path, &len);
    snprintf(err, cap, "%s", text ? text : "");
    free(text);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(serve_api_key_file_refusals)
{
    char keys[128], err[1024];
    snprintf(keys, sizeof keys, "/tmp/nerd-test-nokeys-%d", (int)getpid());
    write_file(keys, "# only a comment\n\n   \n");
    const char *const empty[] = {"--api-key-file", keys, NULL};
    CHECKF(serve_refused(empty, err, sizeof err) != 0 && strstr(err, "holds no key"), "%s", err);
    unlink(keys);
    const char *const missing[] = {"--api-key-file", keys, NULL};
    CHECKF(serve_refused(missing, err, sizeof err) != 0 && strstr(err, "cannot be read"), "%s", err);
    const char *const on_line[] = {"--api-key", "sekrit", NULL};
    CHECKF(serve_refused(on_line, err, sizeof err) == 2 && strstr(err, "--api-key-file") && !strstr(err, "sekrit"), "%s", err);
    const char *const metrics[] = {"--metrics-require-key", NULL};
    CHECKF(serve_refused(metrics, err, sizeof err) == 2 && strstr(err, "needs --api-key-file"), "%s", err);
}

static int is_hex32(const char *v)
{
    if (strlen(v) != 32) return 0;
    for (int i = 0; i < 32; i++)
        if (!strchr("0123456789abcdef", v[i])) return 0;
    return 1;
}

TEST_T(serve_request_ids_on_every_answer_of_both_worker_classes, 120)
{
    char access[128];
    snprintf(access, sizeof access, "/tmp/nerd-test-rid-%d.log", (int)getpid());
    /* the async worker also with an inference thread: its model answers come back to the loop */
    for (int k = 0; k <= NCLASSES; k++) {
        unlink(access);
        test_server s;
        const char *args[] = {"--max-body-size", "200", "--access-logfile", access, "--threads", "1", NULL};
        if (k < NCLASSES) args[4] = NULL; /* no --threads */
        start_class(&s, k < NCLASSES ? worker_classes[k] : "async", args);
        buf out = {0};
        char v[256], h[400], a[256], b[256];
        /* a valid one is echoed, 128 characters of the whole alphabet at most */
        int st = request(s.port, "POST", "/ents", "X-Request-Id: req-42_a.b:C\r\n", paris, &out);
        CHECK(st == 200 && answer_header(&out, "X-Request-Id", v, sizeof v) && !strcmp(v, "req-42_a.b:C"));
        char longest[129];
        memset(longest, 'z', 128);
        longest[128] = 0;
        snprintf(h, sizeof h, "X-Request-Id: %s\r\n", longest);
        CHECK(request(s.port, "GET", "/healthz", h, NULL, &out) == 200 && answer_header(&out, "X-Request-Id", v, sizeof v) &&
              !strcmp(v, longest));
        /* none: a new one, 32 hex digits, different each time */
        CHECK(request(s.port, "GET", "/healthz", NULL, NULL, &out) == 200 && answer_header(&out, "X-Request-Id", a, sizeof a));
        CHECK(request(s.port, "GET", "/healthz", NULL, NULL, &out) == 200 && answer_header(&out, "X-Request-Id", b, sizeof b));
        CHECKF(is_hex32(a) && is_hex32(b) && strcmp(a, b), "%s %s", a, b);
        /* over-long or with other characters: refused, answered with a new id */
        snprintf(h, sizeof h, "X-Request-Id: %sz\r\n", longest);
        st = request(s.port, "GET", "/healthz", h, NULL, &out);
        CHECKF(st == 400 && strstr(http_body(&out), "longer than 128"), "%d %s", st, out.ptr);
        CHECK(answer_header(&out, "X-Request-Id", v, sizeof v) && is_hex32(v));
        st = request(s.port, "GET", "/healthz", "X-Request-Id: a/b<script>\r\n", NULL, &out);
        CHECK(st == 400 && strstr(http_body(&out), "may hold only") && answer_header(&out, "X-Request-Id", v, sizeof v) && is_hex32(v));
        /* errors carry it too: 404, 405, 413 (echoed), a malformed request (new) */
        CHECK(request(s.port, "GET", "/nowhere", "X-Request-Id: e404\r\n", NULL, &out) == 404 &&
              answer_header(&out, "X-Request-Id", v, sizeof v) && !strcmp(v, "e404"));
        CHECK(request(s.port, "DELETE", "/ents", "X-Request-Id: e405\r\n", NULL, &out) == 405 &&
              answer_header(&out, "X-Request-Id", v, sizeof v) && !strcmp(v, "e405"));
        char big[400];
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = 0;
        CHECK(request(s.port, "POST", "/ents", "X-Request-Id: e413\r\n", big, &out) == 413 &&
              answer_header(&out, "X-Request-Id", v, sizeof v) && !strcmp(v, "e413"));
        static const char bad[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        buf_clear(&out);
        CHECK(http_raw(s.port, bad, sizeof bad - 1, &out) == 400 && answer_header(&out, "X-Request-Id", v, sizeof v) &&
              is_hex32(v));
        server_stop(&s, SIGTERM);
        /* in the access log, at the end of Gunicorn's line */
        char *log = wait_lines(access, 10, 10);
        CHECKF(log && strstr(log, " req-42_a.b:C\n") && strstr(log, " e404\n") && strstr(log, " e413\n") &&
                   strstr(log, a) && strstr(log, b),
               "%s", log ? log : "(no log)");
        free(log);
        buf_free(&out);
    }
    unlink(access);
}

TEST_T(serve_json_access_log_lines_parse_and_carry_every_field, 120)
{
    char access[128];
    snprintf(access, sizeof access, "/tmp/nerd-test-jsonlog-%d.log", (int)getpid());
    for (int k = 0; k < NCLASSES; k++) {
        unlink(access);
        test_server s;
        const char *const args[] = {"--access-logfile", access, "--access-log-format", "json", NULL};
        start_class(&s, worker_classes[k], args);
        buf out = {0};
        CHECK(truncate(access, 0) == 0); /* the start's /readyz polls: only the lines below count (O_APPEND) */
        CHECK(request(s.port, "POST", "/ents", "X-Request-Id: json-1\r\n", paris, &out) == 200);
        CHECK(request(s.port, "GET", "/nowhere?q=\"x\"", "X-Request-Id: json-2\r\n", NULL, &out) > 0);
        /* bytes a client chose, which the line must escape */
        static const char odd[] = "GET /caf\xc3\xa9\"\\x HTTP/1.1\r\nHost: x\r\nX-Request-Id: json-3\r\n\r\n";
        CHECK(http_raw(s.port, odd, sizeof odd - 1, &out) > 0);
        pid_t workers[4];
        CHECK(server_workers(&s, workers, 4) == 1);
        server_stop(&s, SIGTERM);
        char *log = wait_lines(access, 3, 10);
        CHECKF(log, "no access log %s", access);
        int lines = 0;
        for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
            json_doc d = {0};
            char err[160];
            CHECKF(json_parse(line, strlen(line), 4, &d, err, sizeof err) == 0, "%s: %s", err, line);
            static const struct { const char *name; json_type type; } fields[] = {
                {"time", JSON_STRING}, {"id", JSON_STRING}, {"status", JSON_NUMBER}, {"bytes", JSON_NUMBER}, {"duration", JSON_NUMBER}, {"worker", JSON_NUMBER},
                {"remote", JSON_STRING}};
            for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
                const json_value *v = json_get(&d.root, fields[f].name);
                CHECKF(v && v->type == fields[f].type, "field %s in %s", fields[f].name, line);
            }
            /* method and path are null for a request refused before its head was whole */
            for (int f = 0; f < 2; f++) {
                const json_value *v = json_get(&d.root, f ? "path" : "method");
                CHECKF(v && (v->type == JSON_STRING || v->type == JSON_NULL), "%s", line);
            }
            const json_value *model = json_get(&d.root, "model"), *id = json_get(&d.root, "id");
            const json_value *t = json_get(&d.root, "time"), *w = json_get(&d.root, "worker");
            CHECK(model && (model->type == JSON_STRING || model->type == JSON_NULL));
            /* 2026-11-29T21:00:21.532Z */
            CHECKF(t->u.str.len == 24 && t->u.str.ptr[10] == 'T' && t->u.str.ptr[19] == '.' && t->u.str.ptr[23] == 'Z', "%s", t->u.str.ptr);
            CHECK((pid_t)w->u.num == workers[0]);
            CHECK(!strcmp(json_get(&d.root, "remote")->u.str.ptr, "127.0.0.1"));
            if (!strcmp(id->u.str.ptr, "json-1")) {
                CHECK(model->type == JSON_STRING && model->u.str.len > 0); /* the model computed it */
                CHECK(!strcmp(json_get(&d.root, "path")->u.str.ptr, "/ents") && json_get(&d.root, "status")->u.num == 200);
                CHECK(json_get(&d.root, "bytes")->u.num > 20 && json_get(&d.root, "duration")->u.num > 0);
            } else {
                CHECK(model->type == JSON_NULL);
            }
            if (!strcmp(id->u.str.ptr, "json-2")) CHECK(!strcmp(json_get(&d.root, "path")->u.str.ptr, "/nowhere"));
            lines++;
            json_doc_free(&d);
        }
        CHECK_EQ_INT(lines, 3);
        free(log);
        buf_free(&out);
    }
    unlink(access);
}

TEST_T(serve_access_logformat_atoms_on_both_worker_classes, 120)
{
    char access[128];
    snprintf(access, sizeof access, "/tmp/nerd-test-atoms-%d.log", (int)getpid());
    for (int k = 0; k < NCLASSES; k++) {
        unlink(access);
        test_server s;
        const char *const args[] = {"--access-logfile", access, "--access-logformat",
                                    "%(h)s %(m)s %(U)s q=%(q)s %(H)s %(s)s %(B)s id=%({x-request-id}o)s "
                                    "auth=%({Authorization}i)s ua=\"%({user-agent}i)s\" %(p)s %(zz)s 100%%",
                                    NULL};
        start_class(&s, worker_classes[k], args);
        CHECK(truncate(access, 0) == 0);
        buf out = {0};
        CHECK(request(s.port, "GET", "/healthz?probe=1", "X-Request-Id: atoms-1\r\nAuthorization: Bearer hush-hush\r\n"
                      "User-Agent: t\"est\r\n", NULL, &out) == 200);
        pid_t workers[4];
        CHECK(server_workers(&s, workers, 4) == 1);
        server_stop(&s, SIGTERM);
        char *log = wait_lines(access, 1, 10), want[256];
        snprintf(want, sizeof want,
                 "127.0.0.1 GET /healthz q=probe=1 HTTP/1.1 200 15 id=atoms-1 auth=- ua=\"t\\x22est\" <%d> - 100%%\n",
                 (int)workers[0]);
        CHECKF(log && !strcmp(log, want), "got  %s\nwant %s", log ? log : "(none)", want);
        free(log);
        buf_free(&out);
    }
    unlink(access);
}
