/* Hostile and odd clients against the real server over loopback: request smuggling and
 * framing attacks (each answered 400/501/414/431 on a closed connection, never a second
 * request read out of a body), HTTP/1.0 keep-alive, pipelining order, Expect: 100-continue,
 * clients that leave mid-request or mid-response or never read, and odd texts. */
#include "test.h"
#include "serve_helper.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_answers(const buf *b)
{
    int n = 0;
    for (const char *p = b->ptr; p && (p = strstr(p, "HTTP/1.1 ")); p += 9) n++;
    return n;
}

/* Sends raw (len bytes, NULs allowed) followed by a pipelined GET /healthz on one connection.
 * The first answer must have status want; an error must close the connection after exactly
 * one answer, so that nothing after the bad request is ever read as a request. */
static void expect_framing(int port, const char *raw, size_t len, int want, int answers_if_ok)
{
    static const char next[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    buf req = {0}, out = {0};
    buf_append(&req, raw, len);
    buf_append(&req, next, sizeof next - 1);
    int fd = tcp_connect(port);
    CHECK(fd >= 0);
    send_all(fd, req.ptr, req.len);
    int closed = read_answers(fd, &out, want >= 400 ? 5 : 1.5);
    close(fd);
    int st = out.len > 12 ? atoi(out.ptr + 9) : 0;
    CHECKF(st == want, "expected %d, got %d for: %.80s\n%s", want, st, raw, out.ptr ? out.ptr : "");
    if (want >= 400) {
        CHECKF(closed && count_answers(&out) == 1, "after %d the connection must close with one answer (closed %d):\n%s",
               want, closed, out.ptr);
        CHECKF(strstr(out.ptr, "Connection: close\r\n"), "%s", out.ptr);
    } else {
        CHECKF(count_answers(&out) == answers_if_ok, "expected %d answers:\n%s", answers_if_ok, out.ptr);
    }
    buf_free(&req);
    buf_free(&out);
}
#define FRAMING(port, lit, want, ok) expect_framing(port, lit, sizeof(lit) - 1, want, ok)

static void framing_case(const char *klass)
{
    test_server s;
    const char *args[] = {"-k", klass, "--limit-request-line", "200", "--limit-request-field_size", "300",
                          "--limit-request-fields", "20", NULL};
    server_start(&s, args);
    int p = s.port, two = !strcmp(klass, "async") ? 2 : 1; /* sync workers close after each answer */
    /* both framings, in either order: the request is refused, not guessed */
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, 0);
    /* duplicate, conflicting, negative, overflowing, non-numeric lengths */
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\nContent-Length: 18\r\n\r\n{\"text\": \"Paris\"}", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17, 18\r\n\r\n{\"text\": \"Paris\"}", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +17\r\n\r\n{\"text\": \"Paris\"}", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551633\r\n\r\n{\"text\": \"Paris\"}", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x11\r\n\r\n{\"text\": \"Paris\"}", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: seventeen\r\n\r\n{\"text\": \"Paris\"}", 400, 0);
    /* the same length twice is one length (RFC 9112 6.3) */
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\nContent-Length: 17\r\n\r\n{\"text\": \"Paris\"}", 200, two);
    /* transfer codings: only chunked, last, once; others are 501 or 400 */
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 0);
    /* chunked bodies: valid with extensions and trailers; malformed ones */
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n9;a=b\r\n{\"text\": \r\n8 ; c=\"d\"\r\n\"Paris\"}\r\n0;end\r\n"
               "Trailer-X: y\r\n\r\n", 200, two);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\n{\"text\": \"Paris\"}\r\n0\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"text\": \"Paris\"}\r\n0\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11\n{\"text\": \"Paris\"}\r\n0\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-11\r\n{\"text\": \"Paris\"}\r\n0\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000011\r\n{\"text\": \"Paris\"}\r\n0\r\n\r\n", 400, 0);
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11;a\x01\r\n{\"text\": \"Paris\"}\r\n0\r\n\r\n", 400, 0);
    /* a request hidden in a body is a body: here not JSON, so 400 and the connection closes */
    FRAMING(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 34\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0);
    /* line ends, folding, NULs, oversized parts */
    FRAMING(p, "GET /healthz HTTP/1.1\nHost: x\n\n", 400, 0);
    FRAMING(p, "GET /healthz HTTP/1.1\r\nHost: x\n\r\n", 400, 0);
    FRAMING(p, "GET /healthz HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, 0);
    FRAMING(p, "GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n", 400, 0);
    FRAMING(p, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 400, 0);
    FRAMING(p, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-\0A: ab\r\n\r\n", 400, 0);
    FRAMING(p, "GET /health\0z HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0);
    FRAMING(p, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, 0);
    char big[1200];
    memset(big, 'G', 400);
    snprintf(big + 400, sizeof big - 400, " / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_framing(p, big, strlen(big), 414, 0);
    snprintf(big, sizeof big, "GET /%0400d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    expect_framing(p, big, strlen(big), 414, 0);
    memset(big, 'X', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nHost: x\r\n", 25);
    snprintf(big + 416, sizeof big - 416, ": v\r\n\r\n");
    expect_framing(p, big, strlen(big), 431, 0);
    buf many = {0};
    buf_puts(&many, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 30; i++) buf_printf(&many, "X-%d: v\r\n", i);
    buf_puts(&many, "\r\n");
    expect_framing(p, many.ptr, many.len, 431, 0);
    buf_free(&many);
    /* and the server is none the worse */
    buf out = {0};
    CHECK(http_json(p, "POST", "/", "{\"text\": \"Angela Merkel visited Paris.\"}", &out) == 200);
    CHECKF(strstr(out.ptr, "\"Paris\":\"GPE\""), "%s", out.ptr);
    buf_free(&out);
    CHECK(WIFEXITED(server_stop(&s, SIGTERM)));
}

TEST_T(serve_framing_attacks_async, 90) { framing_case("async"); }
TEST_T(serve_framing_attacks_sync, 90) { framing_case("sync"); }

/* The head of answer a (up to and with its blank line) without its Date field, into out. */
static void head_without_date(const char *a, buf *out)
{
    const char *end = strstr(a, "\r\n\r\n");
    for (const char *line = a; end && line < end + 2;) {
        const char *next = strstr(line, "\r\n") + 2;
        if (strncmp(line, "Date: ", 6)) buf_append(out, line, (size_t)(next - line));
        line = next;
    }
}

static long content_length_of(const char *a)
{
    const char *cl = strstr(a, "\r\nContent-Length: "), *end = strstr(a, "\r\n\r\n");
    return cl && end && cl < end ? atol(cl + 18) : -1;
}

/* HEAD path (with body, if any) answers what GET path does, header fields and all (Date aside;
 * Content-Length too unless same_length is 0: /metrics counts the GET), and then nothing (RFC 9110
 * section 9.3.2). Each request says Connection: close, so all that arrives is the whole answer. */
static void expect_head_like_get(int port, const char *path, const char *body, int want, int same_length)
{
    buf answers[2] = {{0}}, heads[2] = {{0}}, req = {0};
    for (int m = 0; m < 2; m++) {
        buf_clear(&req);
        buf_printf(&req, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n", m ? "HEAD" : "GET", path);
        if (body) buf_printf(&req, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
        else buf_puts(&req, "\r\n");
        CHECKF(http_raw_all(port, req.ptr, req.len, &answers[m]) == want, "%s %s:\n%s", m ? "HEAD" : "GET", path,
               answers[m].ptr ? answers[m].ptr : "no answer");
        head_without_date(answers[m].ptr, &heads[m]);
    }
    const char *get_end = strstr(answers[0].ptr, "\r\n\r\n"), *head_end = strstr(answers[1].ptr, "\r\n\r\n");
    CHECKF(head_end + 4 == answers[1].ptr + answers[1].len, "HEAD %s answered with content:\n%s", path, answers[1].ptr);
    long get_content = (long)(answers[0].ptr + answers[0].len - (get_end + 4));
    CHECKF(content_length_of(answers[0].ptr) == get_content && get_content > 0, "GET %s:\n%s", path, answers[0].ptr);
    if (same_length) CHECKF(!strcmp(heads[0].ptr, heads[1].ptr), "GET and HEAD %s differ:\n%s\n%s", path, heads[0].ptr, heads[1].ptr);
    else CHECKF(content_length_of(answers[1].ptr) > 0, "HEAD %s:\n%s", path, answers[1].ptr);
    for (int m = 0; m < 2; m++) {
        buf_free(&answers[m]);
        buf_free(&heads[m]);
    }
    buf_free(&req);
}

/* A HEAD refused before routing (413, 400, 505) is answered with its fields and no content. */
static void expect_refused_head(int port, const char *raw, int want)
{
    buf out = {0};
    CHECKF(http_raw_all(port, raw, strlen(raw), &out) == want, "%s:\n%s", raw, out.ptr ? out.ptr : "no answer");
    const char *end = strstr(out.ptr, "\r\n\r\n");
    CHECKF(end && end + 4 == out.ptr + out.len && content_length_of(out.ptr) > 0, "%s:\n%s", raw, out.ptr);
    buf_free(&out);
}

/* Answers in out, one after another with no byte between: their statuses (up to max), or -1 if
 * some answer's content is not exactly its Content-Length. HEAD answers are the ones in is_head. */
static int walk_answers(const buf *out, const int *is_head, int *statuses, int max)
{
    const char *p = out->ptr, *end = out->ptr + out->len;
    int n = 0;
    while (p && p < end && n < max) {
        if (strncmp(p, "HTTP/1.1 ", 9)) return -1;
        statuses[n] = atoi(p + 9);
        const char *head_end = strstr(p, "\r\n\r\n");
        long cl = content_length_of(p);
        if (!head_end || cl < 0) return -1;
        p = head_end + 4 + (is_head[n] ? 0 : cl);
        n++;
    }
    return p == end ? n : -1;
}

/* RFC 9110 section 9.3.2, RFC 9112 section 6.3: HEAD gets GET's answer without content, on
 * every route and for every error; on a kept-alive connection the next answer follows the
 * blank line at once, or a conforming client reads content as the next status line. */
static void head_case(const char *klass)
{
    test_server s;
    const char *args[] = {"-k", klass, "--max-body-size", "1000", NULL};
    server_start(&s, args);
    int p = s.port;
    expect_head_like_get(p, "/healthz", NULL, 200, 1);
    expect_head_like_get(p, "/readyz", NULL, 200, 1);
    expect_head_like_get(p, "/model", NULL, 200, 1);
    expect_head_like_get(p, "/metrics", NULL, 200, 0);
    expect_head_like_get(p, "/", "{\"text\": \"Angela Merkel visited Paris.\"}", 200, 1); /* the seed's GET with a body */
    expect_head_like_get(p, "/", NULL, 400, 1);
    expect_head_like_get(p, "/nope", NULL, 404, 1);
    expect_head_like_get(p, "/ents", NULL, 405, 1);
    expect_refused_head(p, "HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413);
    expect_refused_head(p, "HEAD / HTTP/1.1\r\nHost: exa mple/x\r\n\r\n", 400);
    expect_refused_head(p, "HEAD / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    /* Allow names HEAD wherever GET is allowed */
    static const char post_healthz[] = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                      delete_root[] = "DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    buf out = {0};
    CHECK(http_raw_all(p, post_healthz, sizeof post_healthz - 1, &out) == 405);
    CHECKF(strstr(out.ptr, "\r\nAllow: GET, HEAD\r\n"), "%s", out.ptr);
    buf_clear(&out);
    CHECK(http_raw_all(p, delete_root, sizeof delete_root - 1, &out) == 405);
    CHECKF(strstr(out.ptr, "\r\nAllow: GET, HEAD, POST\r\n"), "%s", out.ptr);
    buf_clear(&out);
    /* pipelined on one connection: HEAD 200, HEAD 404, HEAD 405, then GET */
    static const char pipelined[] = "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                    "HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                                    "HEAD /ents HTTP/1.1\r\nHost: x\r\n\r\n"
                                    "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    static const int is_head[] = {1, 1, 1, 0}, want[] = {200, 404, 405, 200};
    int statuses[4] = {0}, sync = !strcmp(klass, "sync"); /* a sync worker answers one request per connection */
    http_raw_all(p, pipelined, sizeof pipelined - 1, &out);
    int n = walk_answers(&out, is_head, statuses, 4);
    CHECKF(n == (sync ? 1 : 4), "%s: %d answers:\n%s", klass, n, out.ptr);
    for (int i = 0; i < n; i++) CHECKF(statuses[i] == want[i], "answer %d: %d", i, statuses[i]);
    buf_free(&out);
    CHECK(WIFEXITED(server_stop(&s, SIGTERM)));
}

TEST_T(serve_head_answers_async, 60) { head_case("async"); }
TEST_T(serve_head_answers_sync, 60) { head_case("sync"); }

/* RFC 9112 section 3.2 (Host), 3.2.2 (absolute form), RFC 9110 section 2.5 (HTTP/1.x, x > 1,
 * is 1.1) and 10.1.1 (an HTTP/1.0 client's 100-continue is ignored: no 1xx to it). */
static void request_line_case(const char *klass)
{
    test_server s;
    const char *args[] = {"-k", klass, NULL};
    server_start(&s, args);
    int p = s.port, two = !strcmp(klass, "async") ? 2 : 1;
    /* each with a GET /healthz behind it (expect_framing); %1$d is the server's port */
    static const struct { const char *raw; int want, answers_if_kept_alive; } cases[] = {
        {"GET /healthz HTTP/1.1\r\n\r\n", 400, 0},
        {"GET /healthz HTTP/1.1\r\nHost: exa mple/x\r\n\r\n", 400, 0},
        {"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n", 400, 0},
        {"GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n", 200, 2},
        {"GET /healthz HTTP/1.2\r\n\r\n", 400, 0},
        {"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505, 0},
        {"GET /healthz HTTP/1.0\r\n\r\n", 200, 1}, /* 1.0 may omit Host, and closes */
        {"GET http://127.0.0.1:%1$d/healthz HTTP/1.1\r\nHost: 127.0.0.1:%1$d\r\n\r\n", 200, 2},
        {"GET http://127.0.0.1:%1$d/healthz HTTP/1.1\r\n\r\n", 400, 0},
        {"GET http://u@127.0.0.1:%1$d/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400, 0},
    };
    char raw[512];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(raw, sizeof raw, cases[i].raw, p);
        int answers = cases[i].answers_if_kept_alive;
        expect_framing(p, raw, strlen(raw), cases[i].want, answers < two ? answers : two);
    }
    snprintf(raw, sizeof raw, "POST http://127.0.0.1:%d?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                              "Content-Length: 17\r\n\r\n{\"text\": \"Paris\"}", p, p);
    buf out = {0};
    CHECK(http_raw_all(p, raw, strlen(raw), &out) == 200);
    CHECKF(strstr(out.ptr, "{\"Paris\":\"GPE\"}"), "%s", out.ptr);
    buf_clear(&out);
    /* HTTP/1.0 with Expect: 100-continue: no 100, the body is simply awaited */
    int fd = tcp_connect(p);
    static const char head10[] = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 17\r\n\r\n";
    CHECK(send_all(fd, head10, sizeof head10 - 1) == 0);
    read_answers(fd, &out, 0.5);
    CHECKF(out.len == 0, "%s: an HTTP/1.0 client got: %s", klass, out.ptr);
    CHECK(send_all(fd, "{\"text\": \"Paris\"}", 17) == 0);
    CHECK(read_answers(fd, &out, 10) == 1);
    CHECKF(!strncmp(out.ptr, "HTTP/1.1 200 ", 13) && count_answers(&out) == 1 && strstr(out.ptr, "{\"Paris\":\"GPE\"}"),
           "%s", out.ptr);
    close(fd);
    buf_free(&out);
    CHECK(WIFEXITED(server_stop(&s, SIGTERM)));
}

TEST_T(serve_host_and_request_line_rules_async, 60) { request_line_case("async"); }
TEST_T(serve_host_and_request_line_rules_sync, 60) { request_line_case("sync"); }

/* HTTP/1.0 with and without keep-alive, HTTP/1.1 close, and 20 pipelined requests whose
 * answers must come back in order (each text starts with i spaces: /ents says start_char i). */
TEST_T(serve_http10_keep_alive_and_pipelining_order, 60)
{
    test_server s;
    const char *args[] = {"-k", "async", NULL};
    server_start(&s, args);
    int fd = tcp_connect(s.port);
    static const char ka10[] = "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    buf out = {0};
    CHECK(send_all(fd, ka10, sizeof ka10 - 1) == 0);
    CHECK(read_answers(fd, &out, 0.5) == 0); /* still open */
    CHECKF(count_answers(&out) == 1 && strstr(out.ptr, "Connection: keep-alive\r\n"), "%s", out.ptr);
    CHECK(send_all(fd, ka10, sizeof ka10 - 1) == 0);
    CHECK(read_answers(fd, &out, 0.5) == 0);
    CHECK(count_answers(&out) == 2);
    static const char plain10[] = "GET /healthz HTTP/1.0\r\n\r\n";
    CHECK(send_all(fd, plain10, sizeof plain10 - 1) == 0);
    CHECKF(read_answers(fd, &out, 5) == 1, "HTTP/1.0 without keep-alive must close");
    CHECK(count_answers(&out) == 3);
    close(fd);
    buf_clear(&out);
    fd = tcp_connect(s.port);
    static const char close11[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    CHECK(send_all(fd, close11, sizeof close11 - 1) == 0);
    CHECK(read_answers(fd, &out, 5) == 1 && count_answers(&out) == 1);
    close(fd);
    buf_clear(&out);

    buf req = {0};
    for (int i = 0; i < 20; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"text\": \"%*sParis is nice.\"}", i, "");
        buf_printf(&req, "POST /ents HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n%s\r\n%s", strlen(body),
                   i == 19 ? "Connection: close\r\n" : "", body);
    }
    fd = tcp_connect(s.port);
    CHECK(send_all(fd, req.ptr, req.len) == 0);
    CHECK(read_answers(fd, &out, 10) == 1);
    close(fd);
    CHECKF(count_answers(&out) == 20, "%d answers", count_answers(&out));
    const char *at = out.ptr;
    for (int i = 0; i < 20; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"start_char\":%d,", i);
        const char *f = strstr(at, want);
        CHECKF(f, "answer %d out of order or missing:\n%s", i, out.ptr);
        at = f + 1;
    }
    buf_free(&req);
    buf_free(&out);
    server_stop(&s, SIGTERM);
}

/* Expect: 100-continue: a body that is too large is refused before it is sent (no 100);
 * the sync worker says 100 Continue too. */
TEST_T(serve_expect_continue_refusal_and_sync, 60)
{
    const char *klasses[] = {"async", "sync"};
    for (int k = 0; k < 2; k++) {
        test_server s;
        const char *args[] = {"-k", klasses[k], "--max-body-size", "1000", NULL};
        server_start(&s, args);
        int fd = tcp_connect(s.port);
        static const char big[] = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n";
        buf out = {0};
        CHECK(send_all(fd, big, sizeof big - 1) == 0);
        CHECK(read_answers(fd, &out, 5) == 1);
        CHECKF(!strncmp(out.ptr, "HTTP/1.1 413 ", 13) && count_answers(&out) == 1, "%s", out.ptr);
        close(fd);
        buf_clear(&out);
        fd = tcp_connect(s.port);
        static const char head[] = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 17\r\n\r\n";
        CHECK(send_all(fd, head, sizeof head - 1) == 0);
        read_answers(fd, &out, 0.5);
        CHECKF(out.ptr && !strcmp(out.ptr, "HTTP/1.1 100 Continue\r\n\r\n"), "%s: %s", klasses[k], out.ptr ? out.ptr : "nothing");
        CHECK(send_all(fd, "{\"text\": \"Paris\"}", 17) == 0);
        read_answers(fd, &out, 3);
        CHECKF(strstr(out.ptr, "HTTP/1.1 200 OK") && strstr(out.ptr, "{\"Paris\":\"GPE\"}"), "%s", out.ptr);
        close(fd);
        buf_free(&out);
        server_stop(&s, SIGTERM);
    }
}

static void reset_close(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* A client with a 4 KiB receive window that has sent 3000 pipelined GET /metrics (answers of
 * over 10 MB, more than the kernel's buffers hold) and reads none of them. */
static int lazy_metrics_client(int port)
{
    int lazy = socket(AF_INET, SOCK_STREAM, 0), small = 4096;
    setsockopt(lazy, SOL_SOCKET, SO_RCVBUF, &small, sizeof small); /* before connect: the window */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(lazy, (struct sockaddr *)&sa, sizeof sa) == 0);
    buf many = {0};
    for (int i = 0; i < 3000; i++) buf_puts(&many, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(send_all(lazy, many.ptr, many.len) == 0);
    buf_free(&many);
    return lazy;
}

/* Clients that vanish mid-request or mid-response, and one that never reads a large answer:
 * the one worker survives them all and keeps answering others at once. */
TEST_T(serve_clients_that_leave_or_never_read, 90)
{
    test_server s;
    /* --threads 1: the model's own time (100 KB texts) does not count against the loop */
    const char *args[] = {"-k", "async", "-w", "1", "--threads", "1", "--max-body-size", "4000000", NULL};
    server_start(&s, args);
    pid_t w0[4];
    CHECK(server_workers(&s, w0, 4) == 1);
    /* mid-request: in the head, in the body, in a chunk; closed or reset */
    static const char *partial[] = {"POST / HTTP/1.1\r\nHost: x\r\nContent-Le", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"text\": \"Pa",
                                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{\"te"};
    for (int i = 0; i < 60; i++) {
        int fd = tcp_connect(s.port);
        send_all(fd, partial[i % 3], strlen(partial[i % 3]));
        if (i & 1) reset_close(fd);
        else close(fd);
    }
    /* mid-response: a large answer requested, then the client resets the connection */
    buf text = {0}, body = {0};
    while (text.len < 100000) buf_puts(&text, "Angela Merkel visited Paris and Berlin with Barack Obama. ");
    buf_printf(&body, "{\"text\": \"%s\"}", text.ptr);
    buf req = {0};
    buf_printf(&req, "POST /ents HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", body.len);
    buf_append(&req, body.ptr, body.len);
    for (int i = 0; i < 4; i++) {
        int fd = tcp_connect(s.port);
        send_all(fd, req.ptr, req.len);
        usleep(i * 100000); /* before, while and after the model runs */
        reset_close(fd);
    }
    /* never reads: a tiny receive window and 3000 pipelined GET /metrics, whose answers (over
     * 10 MB) are more than the kernel's send buffer holds: the worker must wait for EPOLLOUT */
    int lazy = lazy_metrics_client(s.port);
    usleep(1500000);
    long served = -1;
    buf m = {0};
    if (http_json(s.port, "GET", "/metrics", NULL, &m) == 200) {
        const char *at = strstr(m.ptr, "route=\"/metrics\",status=\"200\"} ");
        if (at) served = atol(at + strlen("route=\"/metrics\",status=\"200\"} "));
    }
    buf_free(&m);
    printf("  the client that never reads got %ld of its 3000 answers before the worker had to wait\n", served);
    CHECKF(served > 0 && served < 3000, "%ld answers: the worker never had to wait for the reader", served);
    double worst = 0;
    for (int i = 0; i < 10; i++) {
        buf out = {0};
        double t0 = now_s();
        CHECK(http_json(s.port, "GET", "/healthz", NULL, &out) == 200);
        if (now_s() - t0 > worst) worst = now_s() - t0;
        buf_free(&out);
    }
    printf("  /healthz worst latency beside a client that never reads: %.1f ms\n", worst * 1e3);
    CHECKF(worst < 1.0, "healthz took %.0f ms", worst * 1e3);
    /* a model request may queue behind the big texts still computing (seconds under ASan) */
    static const char paris[] = "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 40\r\n\r\n"
                                "{\"text\": \"Angela Merkel visited Paris.\"}";
    buf out = {0};
    int fd = tcp_connect(s.port);
    CHECK(send_all(fd, paris, sizeof paris - 1) == 0);
    read_answers(fd, &out, 60);
    close(fd);
    CHECKF(out.ptr && strstr(out.ptr, "\"Paris\":\"GPE\""), "%s", out.ptr ? out.ptr : "no answer");
    buf_free(&out);
    reset_close(lazy);
    pid_t w1[4];
    CHECK(server_workers(&s, w1, 4) == 1);
    CHECKF(w1[0] == w0[0], "the worker was replaced");
    CHECK_EQ_INT(server_metric(s.port, "nerd_worker_restarts_total"), 0);
    buf_free(&text);
    buf_free(&body);
    buf_free(&req);
    server_stop(&s, SIGTERM);
}

static void expect_text(int port, const char *body, int want, const char *needle)
{
    buf out = {0}, req = {0};
    buf_printf(&req, "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n", strlen(body));
    buf_puts(&req, body);
    int fd = tcp_connect(port);
    send_all(fd, req.ptr, req.len);
    read_answers(fd, &out, 60); /* a 1 MiB text takes seconds on a busy machine */
    close(fd);
    buf_free(&req);
    int st = out.len > 12 ? atoi(out.ptr + 9) : 0;
    CHECKF(st == want, "expected %d, got %d for %.60s: %.300s", want, st, body, out.ptr ? out.ptr : "");
    if (needle) CHECKF(strstr(out.ptr, needle), "no %s in %.300s", needle, out.ptr);
    buf_free(&out);
}

/* Texts that are empty, whitespace, 1 MiB, 100,000 tokens, invalid UTF-8, surrogate escapes,
 * NUL escapes and deeply nested JSON, end to end. */
TEST_T(serve_odd_texts_end_to_end, 120)
{
    test_server s;
    const char *args[] = {"-k", "async", "--max-body-size", "3000000", NULL};
    server_start(&s, args);
    int p = s.port;
    expect_text(p, "{\"text\": \"\"}", 200, "\r\n\r\n{}");
    expect_text(p, "{\"text\": \" \\n\\t\\r \\u00a0 \"}", 200, "\r\n\r\n{}");
    expect_text(p, "{\"text\": \"Paris\\u0000Berlin\"}", 200, NULL);
    expect_text(p, "{\"text\": \"Paris \\ud83d\\ude00\"}", 200, "\"Paris\":\"GPE\"");  /* a valid pair */
    expect_text(p, "{\"text\": \"\\ud800\"}", 400, "surrogate");                    /* lone high */
    expect_text(p, "{\"text\": \"\\udc00 Paris\"}", 400, "surrogate");              /* lone low */
    expect_text(p, "{\"text\": \"\\ud800\\u0041\"}", 400, "surrogate");             /* high + not low */
    expect_text(p, "{\"text\": \"Paris \xc3\x28\"}", 400, "UTF-8");
    expect_text(p, "{\"text\": \"\xed\xa0\x80\"}", 400, "UTF-8");                   /* a raw surrogate */
    expect_text(p, "{\"text\": \"\xf4\x90\x80\x80\"}", 400, "UTF-8");               /* above U+10FFFF */
    buf b = {0};
    buf_puts(&b, "{\"a\": ");
    for (int i = 0; i < 100000; i++) buf_putc(&b, '[');
    for (int i = 0; i < 100000; i++) buf_putc(&b, ']');
    buf_puts(&b, ", \"text\": \"Paris\"}");
    expect_text(p, b.ptr, 400, "nesting");
    buf_clear(&b);
    buf_puts(&b, "{\"text\": \"");
    for (int i = 0; i < 100000; i++) buf_puts(&b, i % 7 ? "word " : "Paris ");
    buf_puts(&b, "\"}");
    expect_text(p, b.ptr, 200, "\"Paris\":\"GPE\"");
    /* 1 MiB in one token and a short sentence: the HTTP path at full size without a minute
     * of model time under ASan (1 MiB of sentences runs in texts_that_are_odd_or_hostile) */
    buf_clear(&b);
    buf_puts(&b, "{\"text\": \"");
    while (b.len < (1u << 20) + 10) buf_putc(&b, 'a');
    buf_puts(&b, " visited Paris.\"}");
    expect_text(p, b.ptr, 200, "{\"Paris\":\"GPE\"}");
    buf_free(&b);
    server_stop(&s, SIGTERM);
}

/* Found by serve_odd_texts_end_to_end: a body arriving after the head grew the receive buffer,
 * and the parsed request (method, path, headers) still pointed into the freed one: a 1 MiB
 * POST / was answered 404 with a garbage path in the access log (a use after free). */
static void body_in_pieces(const char *klass)
{
    test_server s;
    const char *args[] = {"-k", klass, "--max-body-size", "3000000", NULL};
    server_start(&s, args);
    buf body = {0}, out = {0};
    buf_puts(&body, "{\"text\": \"");
    /* 200 KB: past 128 KiB glibc moves the buffer to its own mapping and unmaps the old one,
     * so the bug shows even without ASan */
    while (body.len < 200000) buf_puts(&body, "Angela Merkel visited Paris. ");
    buf_puts(&body, "\"}");
    int fd = tcp_connect(s.port);
    char head[256];
    snprintf(head, sizeof head, "POST /ents HTTP/1.1\r\nHost: x\r\nUser-Agent: pieces\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
             body.len);
    CHECK(send_all(fd, head, strlen(head)) == 0);
    for (size_t off = 0; off < body.len; off += 20000) {
        usleep(20000);
        CHECK(send_all(fd, body.ptr + off, body.len - off < 20000 ? body.len - off : 20000) == 0);
    }
    read_answers(fd, &out, 20);
    close(fd);
    CHECKF(out.ptr && !strncmp(out.ptr, "HTTP/1.1 200 ", 13) && strstr(out.ptr, "{\"ents\":[{\"text\":\"Paris\",\"label\":\"GPE\""),
           "%s: %.300s", klass, out.ptr ? out.ptr : "no answer");
    buf_free(&body);
    buf_free(&out);
    server_stop(&s, SIGTERM);
}

TEST_T(serve_body_in_pieces_after_the_head_async, 60) { body_in_pieces("async"); }
TEST_T(serve_body_in_pieces_after_the_head_sync, 60) { body_in_pieces("sync"); }

/* ---- issue 20: the async worker's connection state machine ---- */

/* Takes the whole answers at the front of in, checks each one's status against the request it
 * answers (the n-th overall, from *answered), and drops them; returns how many it took. */
static int take_answers(buf *in, int *answered, int (*status_of)(int), int *first_wrong)
{
    size_t off = 0;
    int took = 0;
    for (;;) {
        const char *at = in->ptr + off, *hend = memmem(at, in->len - off, "\r\n\r\n", 4);
        if (!hend) break;
        const char *cl = memmem(at, (size_t)(hend - at), "Content-Length: ", 16);
        size_t head = (size_t)(hend + 4 - at), body = cl ? strtoul(cl + 16, NULL, 10) : 0;
        if (off + head + body > in->len) break;
        int st = strncmp(at, "HTTP/1.1 ", 9) ? 0 : atoi(at + 9);
        if (st != status_of(*answered) && *first_wrong < 0) *first_wrong = *answered;
        (*answered)++;
        took++;
        off += head + body;
    }
    memmove(in->ptr, in->ptr + off, in->len - off);
    in->len -= off;
    return took;
}

#define BURST_REQUESTS 80000
static int burst_status(int i) { return i % 4 ? 404 : 200; } /* every fourth request is /healthz */

/* 80,000 pipelined requests written on one connection as fast as the worker takes them, the
 * answers read as they come. Each answer used to start the next pipelined request from inside
 * its own send (conn_flush -> conn_process -> ... -> conn_answer -> conn_flush): after about
 * 55,000 the worker died of a stack overflow (SIGSEGV). All must be answered, in order (the
 * statuses show it), by the same worker. */
static void pipelined_burst(const char *threads)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "1", "--threads", threads, NULL};
    server_start(&s, args);
    pid_t w0[2], w1[2];
    CHECK(server_workers(&s, w0, 2) == 1);
    buf req = {0}, in = {0};
    for (int i = 0; i < BURST_REQUESTS; i++)
        buf_puts(&req, burst_status(i) == 200 ? "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    int fd = tcp_connect(s.port);
    CHECK(fd >= 0);
    size_t sent = 0;
    int answered = 0, first_wrong = -1, closed = 0;
    double t0 = now_s(), end = t0 + 150;
    while (answered < BURST_REQUESTS && !closed && now_s() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < req.len ? POLLOUT : 0)};
        if (poll(&p, 1, 100) <= 0) continue;
        if (p.revents & POLLOUT) {
            ssize_t n = send(fd, req.ptr + sent, req.len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) sent += (size_t)n;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char chunk[65536];
            ssize_t n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) closed = 1;
            if (n > 0) {
                buf_append(&in, chunk, (size_t)n);
                take_answers(&in, &answered, burst_status, &first_wrong);
            }
        }
    }
    close(fd);
    printf("  --threads %s: %d of %d pipelined requests answered in %.2f s (%zu of %zu bytes sent)\n", threads, answered,
           BURST_REQUESTS, now_s() - t0, sent, req.len);
    CHECKF(answered == BURST_REQUESTS && !closed, "%d answers of %d, connection %s", answered, BURST_REQUESTS,
           closed ? "closed" : "open");
    CHECKF(first_wrong < 0, "answer %d out of order", first_wrong);
    CHECK(server_workers(&s, w1, 2) == 1);
    CHECKF(w1[0] == w0[0], "the worker died and was replaced");
    CHECK_EQ_INT(server_metric(s.port, "nerd_worker_restarts_total"), 0);
    buf_free(&req);
    buf_free(&in);
    server_stop(&s, SIGTERM);
}

TEST_T(serve_80000_pipelined_requests_on_one_connection_async, 180) { pipelined_burst("0"); }
TEST_T(serve_80000_pipelined_requests_on_one_connection_threads, 180) { pipelined_burst("1"); }

/* A client with a 4 KiB receive window pipelines 3000 GET /metrics, shuts its sending side and
 * never reads. The peer's half-close (EPOLLRDHUP, level-triggered) used to wake the loop on every
 * turn while the answers waited for EPOLLOUT: 3.95 s of CPU in 4 s, until --keep-alive. */
TEST_T(serve_half_closed_client_that_never_reads_costs_no_cpu, 60)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "1", NULL};
    server_start(&s, args);
    pid_t w[2];
    CHECK(server_workers(&s, w, 2) == 1);
    int lazy = lazy_metrics_client(s.port);
    CHECK(shutdown(lazy, SHUT_WR) == 0);
    double cpu0 = process_cpu_seconds(w[0]);
    usleep(4000000);
    double cpu = process_cpu_seconds(w[0]) - cpu0;
    printf("  worker CPU in the 4 s after the half-close: %.2f s\n", cpu);
    CHECKF(cpu >= 0 && cpu < 0.5, "the worker used %.2f s of CPU in 4 s for a client that never reads", cpu);
    expect_paris(s.port); /* and it still serves */
    close(lazy);
    server_stop(&s, SIGTERM);
}

/* --threads: a client sends a text that takes the model seconds and leaves (closes) while it
 * computes. The loop used to spin on that client's EPOLLRDHUP until the job came back (0.7 s of
 * CPU in a 1 s job). The loop thread alone is measured: the inference thread computes meanwhile. */
TEST_T(serve_client_leaving_during_its_computation_costs_no_cpu, 90)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "1", "--threads", "1", NULL};
    server_start(&s, args);
    pid_t w[2];
    CHECK(server_workers(&s, w, 2) == 1);
    buf req = {0};
    /* about 3 s of model here (1 s per 300 KB), more under ASan */
    long_text_request(&req, 900000 / TEST_SLOWDOWN);
    int fd = tcp_connect(s.port);
    CHECK(fd >= 0 && send_all(fd, req.ptr, req.len) == 0);
    for (double end = now_s() + 10; server_metric(s.port, "nerd_inference_threads_busy") != 1 && now_s() < end;)
        usleep(20000);
    CHECK_EQ_INT(server_metric(s.port, "nerd_inference_threads_busy"), 1);
    close(fd);
    double cpu0 = main_thread_cpu_seconds(w[0]);
    usleep(1000000);
    double cpu = main_thread_cpu_seconds(w[0]) - cpu0;
    long busy = server_metric(s.port, "nerd_inference_threads_busy");
    printf("  loop thread CPU in 1 s while the model computed for a client that left: %.2f s\n", cpu);
    CHECKF(busy == 1, "the job ended within the 1 s measured (%ld threads busy): use a longer text", busy);
    /* a loop that waits costs about nothing (0.00 s measured); one that spins got 0.13-0.98 s
     * here, depending on what else ran on the two cores */
    CHECKF(cpu >= 0 && cpu < 0.05, "the loop used %.2f s of CPU in 1 s", cpu);
    buf_free(&req);
    server_stop(&s, SIGTERM);
}

/* One write: a whole request and the first lines of a second. The leftover bytes started the
 * second request's clock but its deadline stayed the keep-alive one (75 s): the 408 must come
 * within about --header-timeout. */
TEST_T(serve_header_timeout_holds_for_a_pipelined_partial_request, 60)
{
    test_server s;
    const char *args[] = {"-k", "async", "--header-timeout", "1", NULL};
    server_start(&s, args);
    static const char one_and_a_bit[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n";
    int fd = tcp_connect(s.port);
    double t0 = now_s();
    CHECK(fd >= 0 && send_all(fd, one_and_a_bit, sizeof one_and_a_bit - 1) == 0);
    buf out = {0};
    int closed = read_answers(fd, &out, 8);
    double took = now_s() - t0;
    close(fd);
    printf("  the partial second request was answered after %.2f s (--header-timeout 1)\n", took);
    CHECKF(closed && count_answers(&out) == 2, "closed %d after %.1f s:\n%s", closed, took, out.ptr ? out.ptr : "");
    const char *second = strstr(out.ptr + 9, "HTTP/1.1 ");
    CHECKF(!strncmp(out.ptr, "HTTP/1.1 200 ", 13) && second && !strncmp(second, "HTTP/1.1 408 ", 13), "%s", out.ptr);
    CHECKF(took < 2.5, "408 after %.2f s", took);
    buf_free(&out);
    server_stop(&s, SIGTERM);
}

/* Found by fuzz_conn: the duration of an answer given before its request's head was parsed (a
 * 400 for garbage) came from the previous request's head on that connection, so the idle time
 * between them counted as request time (or, with no previous request, two clock reads in either
 * order gave a negative duration, undefined as an unsigned count). */
TEST_T(serve_error_before_a_head_does_not_count_the_idle_time, 60)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "1", NULL};
    server_start(&s, args);
    int fd = tcp_connect(s.port);
    static const char ok[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", bad[] = "\x01\x02 garbage\r\n\r\n";
    buf out = {0};
    CHECK(fd >= 0 && send_all(fd, ok, sizeof ok - 1) == 0);
    read_answers(fd, &out, 0.3);
    CHECKF(count_answers(&out) == 1, "%s", out.ptr ? out.ptr : "");
    usleep(1500000); /* idle on the kept-alive connection */
    long before = server_metric(s.port, "nerd_request_duration_seconds_count");
    buf m = {0};
    CHECK(http_json(s.port, "GET", "/metrics", NULL, &m) == 200);
    const char *sum_at = strstr(m.ptr, "\nnerd_request_duration_seconds_sum ");
    CHECK(sum_at);
    double sum0 = atof(sum_at + strlen("\nnerd_request_duration_seconds_sum "));
    CHECK(send_all(fd, bad, sizeof bad - 1) == 0);
    CHECK(read_answers(fd, &out, 5) == 1);
    close(fd);
    CHECKF(strstr(out.ptr, "HTTP/1.1 400 "), "%s", out.ptr);
    buf_clear(&m);
    CHECK(http_json(s.port, "GET", "/metrics", NULL, &m) == 200);
    sum_at = strstr(m.ptr, "\nnerd_request_duration_seconds_sum ");
    CHECK(sum_at);
    double added = atof(sum_at + strlen("\nnerd_request_duration_seconds_sum ")) - sum0;
    /* the /metrics answer counted in between and the 400 itself: milliseconds, not the 1.5 s idle */
    printf("  the 400 and one /metrics added %.3f s to the duration sum\n", added);
    CHECK(server_metric(s.port, "nerd_request_duration_seconds_count") >= before + 2);
    CHECKF(added >= 0 && added < 0.5, "the answers added %.3f s", added);
    buf_free(&m);
    buf_free(&out);
    server_stop(&s, SIGTERM);
}

/* Bytes that wait unread in the receive queue of the server's end of the loopback connection
 * fd, as the kernel's socket diagnostics tell (the socket is looked up by its four addresses
 * through the netlink socket nl), or -1 if they cannot say. */
static long server_unread_bytes(int nl, int fd)
{
    struct sockaddr_in me, peer;
    socklen_t ml = sizeof me, pl = sizeof peer;
    if (getsockname(fd, (struct sockaddr *)&me, &ml) || getpeername(fd, (struct sockaddr *)&peer, &pl)) return -1;
    struct {
        struct nlmsghdr nh;
        struct inet_diag_req_v2 r;
    } q = {
        .nh = {.nlmsg_len = sizeof q, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST},
        .r = {.sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u,
              .id = {.idiag_sport = peer.sin_port, .idiag_dport = me.sin_port,
                     .idiag_src = {peer.sin_addr.s_addr}, .idiag_dst = {me.sin_addr.s_addr},
                     .idiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE}}},
    };
    if (send(nl, &q, sizeof q, 0) != (ssize_t)sizeof q) return -1;
    union { struct nlmsghdr nh; char bytes[8192]; } a;
    ssize_t n = recv(nl, &a, sizeof a, 0);
    if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct inet_diag_msg)) || a.nh.nlmsg_type != SOCK_DIAG_BY_FAMILY) return -1;
    const struct inet_diag_msg *m = NLMSG_DATA(&a.nh);
    return (long)m->idiag_rqueue;
}

/* The head of the slow client, at the default limits (--limit-request-fields 100,
 * --limit-request-field_size 8190): a GET /healthz whose 100 header lines are each as long as
 * one may be, about 800 KB (Connection: close, so that the answer ends the exchange). */
static void head_at_default_limits(buf *head)
{
    enum { DEFAULT_FIELDS = 100, DEFAULT_FIELD_SIZE = 8190 };
    buf_puts(head, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (int i = 2; i < DEFAULT_FIELDS; i++) {
        size_t start = head->len;
        buf_printf(head, "X-Filler-%02d: ", i);
        while (head->len - start < DEFAULT_FIELD_SIZE) buf_putc(head, 'a' + (char)(head->len % 26));
        buf_puts(head, "\r\n");
    }
    buf_puts(head, "\r\n");
}

/* Issue 14: the worker parsed the head again from its first byte after every read, so a client
 * sending an 800 KB head in 100-byte pieces cost it CPU time quadratic in the head. Each piece
 * is sent only once the worker has read the one before (the kernel says when the server's
 * receive queue is empty), so every piece is one read and one parse: the worst case, whatever
 * the load on the machine. Measured here with this test (2 cores shared with other builds):
 *   parsing from byte 0 (commit 2cae5cd):  1.59-1.87 s of CPU, 1.58-1.68 s of it user time;
 *   resuming the parse:                    0.04-0.17 s of CPU, at most 0.02 s user (ASan:
 *     0.05-0.19 s, 0.01 s user); the rest is the kernel's work for the 8029 reads (strace: one
 *     epoll_wait and one recv each), which any reader of 100-byte pieces pays.
 * The worker's own code (user time: the parse) must stay under 5% of the CPU the old parse
 * cost, and the whole under 20% (the kernel's share varies with the load). */
#define SLOW_HEAD_OLD_CPU_S 1.7
#define SLOW_HEAD_USER_SHARE 0.05
#define SLOW_HEAD_TOTAL_SHARE 0.2
static void slow_head(const char *klass)
{
    enum { PIECE = 100 };
    test_server s;
    /* the head takes seconds under load or ASan: this test is about CPU, not --header-timeout */
    const char *args[] = {"-k", klass, "-w", "1", "--header-timeout", "100", NULL};
    server_start(&s, args);
    pid_t w[2];
    CHECK(server_workers(&s, w, 2) == 1);
    buf head = {0}, out = {0};
    head_at_default_limits(&head);
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    CHECKF(nl >= 0, "netlink sock_diag: %s", strerror(errno));
    int fd = tcp_connect(s.port), one = 1;
    CHECK(fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    double cpu0 = process_cpu_seconds(w[0]), user0 = process_user_cpu_seconds(w[0]), t0 = now_s(), end = t0 + 100;
    size_t pieces = 0;
    for (size_t off = 0; off < head.len && now_s() < end; off += PIECE, pieces++) {
        size_t n = head.len - off < PIECE ? head.len - off : PIECE;
        CHECK(send_all(fd, head.ptr + off, n) == 0);
        long unread;
        while ((unread = server_unread_bytes(nl, fd)) > 0 && now_s() < end) usleep(20);
        CHECKF(unread == 0, "the server's receive queue: %ld", unread);
    }
    read_answers(fd, &out, 30);
    double cpu = process_cpu_seconds(w[0]) - cpu0, user = process_user_cpu_seconds(w[0]) - user0, wall = now_s() - t0;
    close(fd);
    close(nl);
    printf("  %s worker: a %zu-byte head in %zu pieces of %d bytes cost %.3f s of CPU (%.3f s user) in %.2f s\n", klass,
           head.len, pieces, PIECE, cpu, user, wall);
    CHECKF(out.ptr && !strncmp(out.ptr, "HTTP/1.1 200 ", 13), "%.300s", out.ptr ? out.ptr : "no answer");
    CHECKF(cpu >= 0 && user >= 0, "the worker is gone");
    CHECKF(user < SLOW_HEAD_USER_SHARE * SLOW_HEAD_OLD_CPU_S, "the worker's own code used %.3f s of CPU for one slow head",
           user);
    CHECKF(cpu < SLOW_HEAD_TOTAL_SHARE * SLOW_HEAD_OLD_CPU_S, "the worker used %.3f s of CPU for one slow head", cpu);
    buf_free(&head);
    buf_free(&out);
    server_stop(&s, SIGTERM);
}

TEST_T(hostile_slow_head_in_100_byte_pieces_async, 180) { slow_head("async"); }
TEST_T(hostile_slow_head_in_100_byte_pieces_sync, 180) { slow_head("sync"); }
