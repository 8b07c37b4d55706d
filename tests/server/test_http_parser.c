/* test_http_parser.c - the request parser and chunked decoder, picohttpparser-style: every
 * accepted and refused form, every split point, and every parse done with the input flush
 * against a PROT_NONE page so that reading one byte too far crashes the test. */
#include "server/http_parser.h"
#include "test.h"
#include "util/buf.h"

#include <sys/mman.h>
#include <unistd.h>

#define MAXH 128 /* header array capacity: more than any head here holds */

/* Input copied so that its last byte sits just before an inaccessible page. */
typedef struct { char *map; size_t maplen; char *p; } guarded;

static guarded guard_copy(const char *s, size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), pages = (n + pg - 1) / pg + 1;
    guarded g;
    g.maplen = pages * pg;
    g.map = mmap(NULL, g.maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(g.map != MAP_FAILED);
    CHECK(mprotect(g.map + (pages - 1) * pg, pg, PROT_NONE) == 0);
    g.p = g.map + (pages - 1) * pg - n;
    memcpy(g.p, s, n);
    return g;
}

static void guard_free(guarded *g) { munmap(g->map, g->maplen); }

static http_header hdrs[MAXH];

static ssize_t parse_n(const char *s, size_t n, http_request *req, const http_limits *lim)
{
    guarded g = guard_copy(s, n);
    memset(req, 0, sizeof *req);
    req->headers = hdrs;
    req->num_headers = MAXH;
    ssize_t r = http_parse_request(g.p, n, req, lim);
    /* keep the pointers meaningful after the copy goes: rebase them onto s */
    if (r >= 0) {
        ptrdiff_t d = s - g.p;
        req->method += d; req->target += d; req->path += d;
        for (size_t i = 0; i < req->num_headers; i++) { hdrs[i].name += d; hdrs[i].value += d; }
    }
    guard_free(&g);
    return r;
}

/* What a parse gave, with its views as offsets from the buffer it read (-1 for none), so that
 * parses of different copies of the same bytes compare. */
typedef struct {
    ssize_t r;
    ptrdiff_t method, target, path, name[MAXH], value[MAXH];
    size_t method_len, target_len, path_len, num_headers, name_len[MAXH], value_len[MAXH];
    int minor_version, keep_alive, expect_continue;
    http_body_kind body;
    uint64_t content_length;
} parsed;

static ptrdiff_t offset_in(const char *view, const char *base) { return view ? view - base : -1; }

static void snapshot(parsed *out, ssize_t r, const http_request *req, const char *base)
{
    memset(out, 0, sizeof *out);
    out->r = r;
    out->method = offset_in(req->method, base);
    out->target = offset_in(req->target, base);
    out->path = offset_in(req->path, base);
    out->method_len = req->method_len;
    out->target_len = req->target_len;
    out->path_len = req->path_len;
    out->num_headers = req->num_headers;
    for (size_t i = 0; i < req->num_headers && i < MAXH; i++) {
        out->name[i] = offset_in(req->headers[i].name, base);
        out->value[i] = offset_in(req->headers[i].value, base);
        out->name_len[i] = req->headers[i].name_len;
        out->value_len[i] = req->headers[i].value_len;
    }
    out->minor_version = req->minor_version;
    out->keep_alive = req->keep_alive;
    out->expect_continue = req->expect_continue;
    out->body = req->body;
    out->content_length = req->content_length;
}

/* http_parse_request of s[0..n) in a guarded copy, as a snapshot. */
static void parse_whole(const char *s, size_t n, const http_limits *lim, parsed *out)
{
    static http_header own[MAXH];
    http_request req = {.headers = own, .num_headers = MAXH};
    guarded g = guard_copy(s, n);
    snapshot(out, http_parse_request(g.p, n, &req, lim), &req, g.p);
    guard_free(&g);
}

/* Feeds s to the resumable parser in pieces: after cuts[i] bytes for each i (increasing, up to
 * n), each time in a fresh guarded copy of the bytes so far, so that the parser both reads no
 * byte past them and follows a buffer that moved. After every piece the answer and the views must
 * be those of a whole parse of the same bytes, until the head is complete or refused. */
static void resume_in_pieces(const char *s, size_t n, const size_t *cuts, size_t ncuts, const http_limits *lim)
{
    static http_header own[MAXH];
    http_request req = {.headers = own, .num_headers = MAXH};
    http_parser p = {0};
    for (size_t i = 0; i < ncuts; i++) {
        size_t k = cuts[i];
        guarded g = guard_copy(s, k);
        parsed got, want;
        snapshot(&got, http_parse_request_resume(&p, g.p, k, &req, lim), &req, g.p);
        guard_free(&g);
        parse_whole(s, k, lim, &want);
        CHECKF(!memcmp(&got, &want, sizeof got), "\"%.*s\" resumed at %zu of %zu bytes (piece %zu of %zu): %zd, whole: %zd%s",
               (int)n, s, k, n, i + 1, ncuts, got.r, want.r, got.r == want.r ? " (same answer, other views)" : "");
        if (got.r != HTTP_INCOMPLETE) return;
    }
}

/* Parses s whole and at every split point: each proper prefix before the head's end must be
 * HTTP_INCOMPLETE (or the same error, for a refused request), never anything else. The
 * resumable parser is fed s in two pieces split at every point, and one byte at a time, and
 * must answer after each piece what the whole parse of those bytes answers. */
static ssize_t parse_lim(const char *s, size_t n, http_request *req, const http_limits *lim)
{
    ssize_t r = parse_n(s, n, req, lim);
    size_t upto = r >= 0 ? (size_t)r : n;
    for (size_t k = 0; k < upto; k++) {
        http_request pr;
        ssize_t rk = parse_n(s, k, &pr, lim);
        CHECKF(rk == HTTP_INCOMPLETE || (r < 0 && rk == r), "prefix %zu of \"%.*s\": %zd (whole: %zd)", k, (int)n, s, rk, r);
    }
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    CHECK(cuts);
    for (size_t k = 0; k <= n; k++) {
        size_t two[2] = {k, n};
        resume_in_pieces(s, n, two, 2, lim);
        cuts[k] = k;
    }
    resume_in_pieces(s, n, cuts + 1, n, lim); /* a byte at a time */
    free(cuts);
    if (r >= 0) { /* the answer again, since the prefixes overwrote hdrs */
        ssize_t r2 = parse_n(s, n, req, lim);
        CHECK_EQ_INT(r2, r);
    }
    return r;
}

static ssize_t parse(const char *s, http_request *req) { return parse_lim(s, strlen(s), req, NULL); }

static void expect_err(const char *s, ssize_t err)
{
    http_request req;
    ssize_t r = parse(s, &req);
    CHECKF(r == err, "\"%s\": got %zd, want %zd", s, r, err);
}

static void expect_ok(const char *s)
{
    http_request req;
    ssize_t r = parse(s, &req);
    CHECKF(r == (ssize_t)strlen(s), "\"%s\": got %zd, want %zu", s, r, strlen(s));
}

static int span_eq(const char *p, size_t n, const char *lit) { return n == strlen(lit) && !memcmp(p, lit, n); }

TEST(http_parser_simple_get)
{
    http_request req;
    const char *s = "GET /ents?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent:  curl/8 \t\r\n\r\n";
    CHECK_EQ_INT(parse(s, &req), strlen(s));
    CHECK(span_eq(req.method, req.method_len, "GET"));
    CHECK(span_eq(req.target, req.target_len, "/ents?x=1"));
    CHECK(span_eq(req.path, req.path_len, "/ents"));
    CHECK_EQ_INT(req.minor_version, 1);
    CHECK_EQ_INT(req.num_headers, 2);
    CHECK(span_eq(hdrs[0].name, hdrs[0].name_len, "Host"));
    CHECK(span_eq(hdrs[0].value, hdrs[0].value_len, "example.com"));
    CHECK(span_eq(hdrs[1].value, hdrs[1].value_len, "curl/8"));
    CHECK_EQ_INT(req.body, HTTP_BODY_NONE);
    CHECK_EQ_INT(req.keep_alive, 1);
    CHECK_EQ_INT(req.expect_continue, 0);
}

TEST(http_parser_empty_value_and_no_headers)
{
    http_request req;
    const char *s = "GET / HTTP/1.0\r\nX-Empty:\r\nY:   \r\n\r\n";
    CHECK_EQ_INT(parse(s, &req), strlen(s));
    CHECK_EQ_INT(req.num_headers, 2);
    CHECK_EQ_INT(hdrs[0].value_len, 0);
    CHECK_EQ_INT(hdrs[1].value_len, 0);
    CHECK_EQ_INT(req.minor_version, 0);
    CHECK_EQ_INT(req.keep_alive, 0);
    expect_ok("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    expect_ok("GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n");
    expect_ok("M-._~!#$%&'*+^`|0 / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 obs-text\r\n\r\n");
}

TEST(http_parser_leading_empty_lines)
{
    http_request req;
    const char *s = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK_EQ_INT(parse(s, &req), strlen(s));
    CHECK(span_eq(req.method, req.method_len, "GET"));
    expect_err("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("\nGET / HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("\rGET / HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
}

TEST(http_parser_post_content_length)
{
    http_request req;
    const char *s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n{\"text\": \"Paris\"}";
    ssize_t r = parse(s, &req);
    CHECK_EQ_INT(r, strlen(s) - 17);
    CHECK_EQ_INT(req.body, HTTP_BODY_LENGTH);
    CHECK_EQ_INT(req.content_length, 17);
    r = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &req);
    CHECK(r > 0);
    CHECK_EQ_INT(req.body, HTTP_BODY_NONE);
    CHECK_EQ_INT(req.content_length, 0);
}

TEST(http_parser_pipelined)
{
    const char *s = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.0\r\n\r\n";
    size_t n = strlen(s), off = 0;
    const char *paths[] = {"/a", "/b", "/c"};
    for (int i = 0; i < 3; i++) {
        http_request req;
        ssize_t r = parse_lim(s + off, n - off, &req, NULL);
        CHECK(r > 0);
        CHECKF(span_eq(req.path, req.path_len, paths[i]), "request %d", i);
        off += (size_t)r + (req.body == HTTP_BODY_LENGTH ? req.content_length : 0);
    }
    CHECK_EQ_INT(off, n);
}

TEST(http_parser_line_ends)
{
    expect_err("GET / HTTP/1.1\n\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nHost: a\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\n\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\rHost: a\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET /\r HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
}

TEST(http_parser_request_line_rejects)
{
    expect_err(" GET / HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET  / HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET /  HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1 \r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET\t/ HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET /a b HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET /\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("G(T / HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("G\x01T / HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET /\x7f HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET /\x01 HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / http/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.10\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.x\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTPS/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    static const char nul_in_target[] = "GET /\0 HTTP/1.1\r\n\r\n";
    http_request req;
    CHECK_EQ_INT(parse_lim(nul_in_target, sizeof nul_in_target - 1, &req, NULL), HTTP_E_BAD_REQUEST);
}

/* RFC 9110 section 2.5: a higher minor version of a major version we implement is read as the
 * highest we implement (1.1); another major version is 505 */
TEST(http_parser_versions)
{
    static const char *const higher_minor[] = {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", "GET / HTTP/1.9\r\nHost: a\r\n\r\n"};
    for (size_t i = 0; i < sizeof higher_minor / sizeof *higher_minor; i++) {
        http_request req;
        CHECKF(parse(higher_minor[i], &req) == (ssize_t)strlen(higher_minor[i]), "%s", higher_minor[i]);
        CHECK_EQ_INT(req.minor_version, 1);
        CHECK_EQ_INT(req.keep_alive, 1);
    }
    expect_err("GET / HTTP/1.2\r\n\r\n", HTTP_E_BAD_REQUEST); /* as 1.1: Host is required */
    expect_err("GET / HTTP/2.0\r\n\r\n", HTTP_E_VERSION);
    expect_err("GET / HTTP/0.9\r\n\r\n", HTTP_E_VERSION);
    expect_err("GET / HTTP/3.0\r\n\r\n", HTTP_E_VERSION);
    expect_err("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HTTP_E_VERSION);
    http_request req;
    CHECK_EQ_INT(parse("GET / HTTP/1.0\r\n\r\n", &req), 18);
    CHECK_EQ_INT(req.minor_version, 0);
}

/* RFC 9112 section 3.2: HTTP/1.1 needs exactly one Host field with a valid value (empty is
 * valid); HTTP/1.0 may omit it but not send an invalid one */
TEST(http_parser_host_rules)
{
    expect_err("GET / HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_ok("GET / HTTP/1.0\r\n\r\n");
    static const char *const valid[] = {"", "a", "example.com", "example.com:8080", "127.0.0.1:1", "a:", "[::1]",
                                        "[::1]:80", "[fe80::1%25eth0]", "[v1.x]", "a%20b", "xn--caf-dma.example",
                                        "a-b_c~d!$&'()*+,;=e"};
    static const char *const invalid[] = {"exa mple/x", "a/b", "a@b", "a:b", "a:80:90", "a?b", "a#b", "[::1", "[]",
                                          "[::1]x", "[a b]", "::1", "a%2", "a%zz", "caf\xc3\xa9", "a\"b", "a\tb"};
    char s[256];
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", valid[i]);
        expect_ok(s);
    }
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", invalid[i]);
        expect_err(s, HTTP_E_BAD_REQUEST);
        snprintf(s, sizeof s, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", invalid[i]);
        expect_err(s, HTTP_E_BAD_REQUEST);
    }
}

/* RFC 9112 section 3.2.2: an absolute-form target is accepted and routed on its path; the
 * Host rules still hold (its value is then ignored, but it must be there and valid) */
TEST(http_parser_absolute_form)
{
    struct { const char *s, *path; } cases[] = {
        {"GET http://127.0.0.1:8080/healthz?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", "/healthz"},
        {"GET HTTPS://a.example/ents HTTP/1.1\r\nHost: other\r\n\r\n", "/ents"},
        {"GET http://[::1]:80/x/y HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "/x/y"},
        {"GET http://a HTTP/1.1\r\nHost: a\r\n\r\n", "/"},
        {"GET http://a?q=/x HTTP/1.1\r\nHost: a\r\n\r\n", "/"},
        {"GET http://a/ HTTP/1.0\r\n\r\n", "/"},
        {"GET /http://a/x HTTP/1.1\r\nHost: a\r\n\r\n", "/http://a/x"},
        {"GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n", "ftp://a/x"}, /* not a scheme we serve: not found */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_request req;
        CHECKF(parse(cases[i].s, &req) == (ssize_t)strlen(cases[i].s), "%s", cases[i].s);
        CHECKF(span_eq(req.path, req.path_len, cases[i].path), "%s: path \"%.*s\"", cases[i].s, (int)req.path_len, req.path);
        const char *target = strchr(cases[i].s, ' ') + 1; /* the target view stays whole */
        CHECK(req.target == target && req.target_len == (size_t)(strstr(target, " HTTP/") - target));
    }
    expect_err("GET http://a/x HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST);             /* no Host */
    expect_err("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST);    /* empty host */
    expect_err("GET http://u:p@a/x HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST); /* userinfo */
    expect_err("GET http://a:x/ HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST);  /* port */
    expect_err("GET http://a/x HTTP/1.1\r\nHost: a b\r\n\r\n", HTTP_E_BAD_REQUEST); /* Host still checked */
}

/* The method is known once the request line is read, even when the head is then refused, so
 * that the answer to a refused HEAD carries no content either */
TEST(http_parser_method_of_refused_head)
{
    static const char bad_field[] = "HEAD /healthz HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n";
    http_request req = {.headers = hdrs, .num_headers = MAXH};
    CHECK_EQ_INT(http_parse_request(bad_field, sizeof bad_field - 1, &req, NULL), HTTP_E_BAD_REQUEST);
    CHECK(req.method == bad_field && req.method_len == 4);
    static const char incomplete[] = "HEAD / HTTP/1.1\r\nHost: a\r\n";
    req.num_headers = MAXH;
    CHECK_EQ_INT(http_parse_request(incomplete, sizeof incomplete - 1, &req, NULL), HTTP_INCOMPLETE);
    CHECK(req.method == incomplete && req.method_len == 4);
    static const char *const no_line[] = {"HEA", "HEAD / HTTP/1.1", "HE(D / HTTP/1.1\r\n\r\n"};
    for (size_t i = 0; i < sizeof no_line / sizeof *no_line; i++) {
        req.num_headers = MAXH;
        req.method = bad_field; /* stale from an earlier request */
        req.method_len = 4;
        CHECK(http_parse_request(no_line[i], strlen(no_line[i]), &req, NULL) < 0);
        CHECKF(req.method == NULL && req.method_len == 0, "%s", no_line[i]);
    }
}

TEST(http_parser_header_rejects)
{
    expect_err("GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nX Y: a\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\n: a\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nNoColon\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nX(: a\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nX\x7f: a\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\n Host: a\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nX: a\x1b\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n");
    static const char nul_value[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    static const char nul_name[] = "GET / HTTP/1.1\r\nX\0: ab\r\n\r\n";
    http_request req;
    CHECK_EQ_INT(parse_lim(nul_value, sizeof nul_value - 1, &req, NULL), HTTP_E_BAD_REQUEST);
    CHECK_EQ_INT(parse_lim(nul_name, sizeof nul_name - 1, &req, NULL), HTTP_E_BAD_REQUEST);
}

TEST(http_parser_content_length)
{
    http_request req;
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n", &req) > 0);
    CHECK_EQ_INT(req.content_length, 7);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &req) > 0);
    CHECK_EQ_INT(req.content_length, 5);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 5, 5,5\r\n\r\n", &req) > 0);
    CHECK_EQ_INT(req.content_length, 5);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 922337203685477580\r\n\r\n", &req) > 0);
    CHECK_EQ_INT(req.content_length, 922337203685477580ULL);
    const char *bad[] = {"+5", "-1", "0x10", "99999999999999999999999", "18446744073709551616",
                         "922337203685477581", "5 5", "", "5,", ",5", "5,,5", "5, 6", "5a", "five", "5.0", "\"5\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char s[256];
        snprintf(s, sizeof s, "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", bad[i]);
        expect_err(s, HTTP_E_BAD_REQUEST);
    }
    expect_err("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 05x\r\n\r\n", HTTP_E_BAD_REQUEST);
}

TEST(http_parser_transfer_encoding)
{
    http_request req;
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &req) > 0);
    CHECK_EQ_INT(req.body, HTTP_BODY_CHUNKED);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  CHUNKED \r\n\r\n", &req) > 0);
    CHECK_EQ_INT(req.body, HTTP_BODY_CHUNKED);
    /* smuggling: both framings, in either order */
    expect_err("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: , chunked\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: chunked x\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", HTTP_E_BAD_REQUEST);
    expect_err("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_E_BAD_REQUEST);
    /* codings we could name but do not decode */
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", HTTP_E_NOT_IMPLEMENTED);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: foo;a=b, chunked\r\n\r\n", HTTP_E_NOT_IMPLEMENTED);
    expect_err("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_E_NOT_IMPLEMENTED);
}

TEST(http_parser_connection_and_expect)
{
    struct { const char *s; int keep; } cases[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade,close\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1},
        {"GET / HTTP/1.0\r\nConnection: foo ,  KEEP-ALIVE\r\n\r\n", 1},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_request req;
        CHECK(parse(cases[i].s, &req) > 0);
        CHECKF(req.keep_alive == cases[i].keep, "%s", cases[i].s);
    }
    http_request req;
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &req) > 0);
    CHECK_EQ_INT(req.expect_continue, 1);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nexpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", &req) > 0);
    CHECK_EQ_INT(req.expect_continue, 1);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n", &req) > 0);
    CHECK_EQ_INT(req.expect_continue, 0);
    /* RFC 9110 section 10.1.1: an HTTP/1.0 request's 100-continue is ignored (no 1xx to 1.0) */
    CHECK(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &req) > 0);
    CHECK_EQ_INT(req.expect_continue, 0);
}

/* HTTP/1.0 requests here: the sizes are what is tested, and 1.0 needs no Host field */
TEST(http_parser_limits)
{
    http_limits lim = {32, 24, 3, 100};
    http_request req;
    char s[1024];
    /* request line: exactly at the limit is fine, one over is 414, with or without its end */
    snprintf(s, sizeof s, "GET /%s HTTP/1.0\r\n\r\n", "xxxxxxxxxxxxxxxxxx");
    CHECK_EQ_INT(strlen(s) - 4, 32);
    CHECK(parse_lim(s, strlen(s), &req, &lim) > 0);
    snprintf(s, sizeof s, "GET /%s HTTP/1.0\r\n\r\n", "xxxxxxxxxxxxxxxxxxx");
    CHECK_EQ_INT(parse_lim(s, strlen(s), &req, &lim), HTTP_E_URI_TOO_LONG);
    CHECK_EQ_INT(parse_n(s, 36, &req, &lim), HTTP_E_URI_TOO_LONG); /* no line end yet */
    CHECK_EQ_INT(parse_n("GETGETGETGETGETGETGETGETGETGETGETGET", 36, &req, &lim), HTTP_E_URI_TOO_LONG);
    /* one field */
    const char *f24 = "GET / HTTP/1.0\r\nX: 123456789012345678901\r\n\r\n", *f25 = "GET / HTTP/1.0\r\nX: 1234567890123456789012\r\n\r\n";
    CHECK(parse_lim(f24, strlen(f24), &req, &lim) > 0);
    CHECK_EQ_INT(parse_lim(f25, strlen(f25), &req, &lim), HTTP_E_HEADER_TOO_LARGE);
    CHECK_EQ_INT(parse_n("GET / HTTP/1.0\r\nX: 12345678901234567890123456", 46, &req, &lim), HTTP_E_HEADER_TOO_LARGE);
    CHECK_EQ_INT(parse_n("GET / HTTP/1.0\r\nXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", 46, &req, &lim), HTTP_E_HEADER_TOO_LARGE);
    /* count */
    const char *three = "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    CHECK(parse_lim(three, strlen(three), &req, &lim) > 0);
    const char *four = "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    CHECK_EQ_INT(parse_lim(four, strlen(four), &req, &lim), HTTP_E_HEADER_TOO_LARGE);
    /* the caller's array is a bound too */
    http_header two[2];
    memset(&req, 0, sizeof req);
    req.headers = two;
    req.num_headers = 2;
    CHECK_EQ_INT(http_parse_request(three, strlen(three), &req, NULL), HTTP_E_HEADER_TOO_LARGE);
    /* whole head, complete and incomplete */
    http_limits lim2 = {100, 100, 100, 59};
    const char *big = "GET / HTTP/1.0\r\nAAAA: 1234567890\r\nBBBB: 1234567890\r\nC: 1\r\n\r\n"; /* 60 bytes */
    CHECK_EQ_INT(parse_lim(big, strlen(big), &req, &lim2), HTTP_E_HEADER_TOO_LARGE);
    lim2.max_head = 50;
    CHECK_EQ_INT(parse_n(big, 52, &req, &lim2), HTTP_E_HEADER_TOO_LARGE); /* before the end arrives */
    lim2.max_head = 60;
    CHECK(parse_lim(big, strlen(big), &req, &lim2) > 0);
    /* the defaults */
    char *huge = malloc(20000);
    memset(huge, 'a', 20000);
    memcpy(huge, "GET /", 5);
    CHECK_EQ_INT(parse_n(huge, 20000, &req, NULL), HTTP_E_URI_TOO_LONG);
    memcpy(huge, "GET / HTTP/1.0\r\nX: ", 19);
    CHECK_EQ_INT(parse_n(huge, 20000, &req, NULL), HTTP_E_HEADER_TOO_LARGE);
    free(huge);
}

/* The worker's slow client (issue 14): a head at the worker's default limits (a request line
 * and 100 fields of 8190 bytes each) arriving in 100-byte pieces. Before each piece, every page
 * the parser has no business reading again is made inaccessible: the lines it completed, and
 * the part of the unfinished line it already searched (unless this piece ends that line, whose
 * start it then reads once to parse it). A parser that went back to the first byte, or searched
 * the unfinished line again from its start, would crash the test. */
TEST(http_parser_resumed_never_reads_parsed_lines_again)
{
    enum { FIELD = 8190, FIELDS = 100, PIECE = 100 };
    http_limits lim = {FIELD, FIELD, FIELDS, FIELD + 2 + (FIELD + 2) * FIELDS + 2}; /* as the worker's */
    buf head = {0};
    buf_puts(&head, "GET /");
    while (head.len < FIELD - 9) buf_putc(&head, 'a' + (char)(head.len % 26));
    buf_puts(&head, " HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < FIELDS; i++) {
        size_t start = head.len;
        buf_printf(&head, "X-%02d: ", i);
        while (head.len - start < FIELD) buf_putc(&head, 'a' + (char)(head.len % 26));
        buf_puts(&head, "\r\n");
    }
    buf_puts(&head, "\r\n");
    CHECK_EQ_INT(head.len, lim.max_head - (FIELD - strlen("Host: a"))); /* the one short line */
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), maplen = (head.len + pg - 1) / pg * pg;
    char *map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED);
    memcpy(map, head.ptr, head.len);
    static http_header own[MAXH];
    http_request req = {.headers = own, .num_headers = MAXH};
    http_parser p = {0};
    ssize_t r = HTTP_INCOMPLETE;
    size_t pieces = 0;
    for (size_t k = PIECE; r == HTTP_INCOMPLETE; k = k + PIECE < head.len ? k + PIECE : head.len, pieces++) {
        const char *crlf = memmem(head.ptr + p.line_start, head.len - p.line_start, "\r\n", 2);
        CHECK(crlf);
        size_t line_end = (size_t)(crlf - head.ptr) + 2;
        size_t keep_from = k >= line_end ? p.line_start : p.scanned; /* the bytes this call may read */
        size_t closed = keep_from / pg * pg;
        if (closed) CHECK(mprotect(map, closed, PROT_NONE) == 0);
        r = http_parse_request_resume(&p, map, k, &req, &lim);
        if (closed) CHECK(mprotect(map, closed, PROT_READ | PROT_WRITE) == 0);
        CHECKF(r == HTTP_INCOMPLETE || k == head.len, "after %zu of %zu bytes: %zd", k, head.len, r);
    }
    CHECK_EQ_INT(r, head.len);
    CHECK_EQ_INT(pieces, (head.len + PIECE - 1) / PIECE);
    parsed got, want;
    snapshot(&got, r, &req, map);
    parse_whole(head.ptr, head.len, &lim, &want);
    CHECK(!memcmp(&got, &want, sizeof got));
    CHECK_EQ_INT(req.num_headers, FIELDS);
    CHECK_EQ_INT(req.target_len, FIELD - strlen("GET ") - strlen(" HTTP/1.1"));
    munmap(map, maplen);
    buf_free(&head);
}

TEST(http_parser_find_header_and_errors)
{
    http_request req;
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nContent-Type: text/plain\r\n\r\n", &req) > 0);
    const http_header *h = http_find_header(&req, "X-a");
    CHECK(h && span_eq(h->value, h->value_len, "2"));
    h = http_find_header(&req, "content-type");
    CHECK(h && span_eq(h->value, h->value_len, "text/plain"));
    CHECK(http_find_header(&req, "content") == NULL);
    CHECK(http_find_header(&req, "x-ab") == NULL);
    CHECK_EQ_INT(http_error_status(HTTP_E_BAD_REQUEST), 400);
    CHECK_EQ_INT(http_error_status(HTTP_E_URI_TOO_LONG), 414);
    CHECK_EQ_INT(http_error_status(HTTP_E_HEADER_TOO_LARGE), 431);
    CHECK_EQ_INT(http_error_status(HTTP_E_NOT_IMPLEMENTED), 501);
    CHECK_EQ_INT(http_error_status(HTTP_E_VERSION), 505);
    CHECK_EQ_INT(http_error_status(HTTP_E_LENGTH_REQUIRED), 411);
    CHECK_EQ_INT(http_error_status(HTTP_E_BODY_TOO_LARGE), 413);
    for (ssize_t e = -2; e >= -8; e--) CHECK(http_error_reason(e) && *http_error_reason(e));
}

/* ------------------------------------------------------------------ chunked */

typedef struct { ssize_t r; char out[4096]; size_t out_len; char rest[256]; size_t rest_len; } dechunk;

/* Feeds s to a fresh decoder in pieces cut at the given points (each piece over a guard
 * page), as the worker does, and gathers the decoded body and what followed it. */
static dechunk decode_cuts(const char *s, size_t n, const size_t *cuts, size_t ncuts, uint64_t max_body)
{
    dechunk res = {0};
    http_chunked d = {0};
    d.max_body = max_body;
    size_t at = 0;
    res.r = HTTP_INCOMPLETE;
    for (size_t c = 0; c <= ncuts && res.r == HTTP_INCOMPLETE; c++) {
        size_t end = c < ncuts ? cuts[c] : n, len = end - at;
        guarded g = guard_copy(s + at, len);
        res.r = http_decode_chunked(&d, g.p, &len);
        CHECK(len <= end - at);
        CHECK(res.out_len + len <= sizeof res.out);
        memcpy(res.out + res.out_len, g.p, len);
        res.out_len += len;
        if (res.r >= 0) {
            CHECK(len + (size_t)res.r <= end - at);
            CHECK((size_t)res.r <= sizeof res.rest);
            memcpy(res.rest, g.p + len, (size_t)res.r);
            res.rest_len = (size_t)res.r;
            /* pieces not yet fed follow the rest */
            CHECK(res.rest_len + (n - end) <= sizeof res.rest);
            memcpy(res.rest + res.rest_len, s + end, n - end);
            res.rest_len += n - end;
        }
        guard_free(&g);
        at = end;
    }
    return res;
}

/* Decodes whole, at every single split point, and byte by byte: the same answer each way. */
static dechunk decode_all_ways(const char *s, size_t n, uint64_t max_body)
{
    dechunk whole = decode_cuts(s, n, NULL, 0, max_body);
    for (size_t k = 0; k <= n; k++) {
        dechunk sp = decode_cuts(s, n, &k, 1, max_body);
        CHECKF(sp.r == whole.r || (whole.r >= 0 && sp.r >= 0), "split %zu: %zd vs %zd", k, sp.r, whole.r);
        if (whole.r >= 0) {
            CHECK(sp.out_len == whole.out_len && !memcmp(sp.out, whole.out, whole.out_len));
            CHECK(sp.rest_len == whole.rest_len && !memcmp(sp.rest, whole.rest, whole.rest_len));
        }
    }
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    for (size_t k = 0; k < n; k++) cuts[k] = k + 1;
    dechunk bb = decode_cuts(s, n, cuts, n ? n - 1 : 0, max_body);
    free(cuts);
    CHECKF(bb.r == whole.r || (whole.r >= 0 && bb.r >= 0), "byte by byte: %zd vs %zd", bb.r, whole.r);
    if (whole.r >= 0) CHECK(bb.out_len == whole.out_len && !memcmp(bb.out, whole.out, whole.out_len));
    return whole;
}

static void chunk_ok(const char *s, const char *body, const char *rest)
{
    dechunk d = decode_all_ways(s, strlen(s), 0);
    CHECKF(d.r >= 0, "\"%s\": %zd", s, d.r);
    CHECKF(d.out_len == strlen(body) && !memcmp(d.out, body, d.out_len), "\"%s\": body \"%.*s\"", s, (int)d.out_len, d.out);
    CHECKF(d.rest_len == strlen(rest) && !memcmp(d.rest, rest, d.rest_len), "\"%s\": rest \"%.*s\"", s, (int)d.rest_len, d.rest);
}

static void chunk_err(const char *s, ssize_t err, uint64_t max_body)
{
    dechunk d = decode_all_ways(s, strlen(s), max_body);
    CHECKF(d.r == err, "\"%s\": %zd, want %zd", s, d.r, err);
}

TEST(http_chunked_accepts)
{
    chunk_ok("0\r\n\r\n", "", "");
    chunk_ok("5\r\nhello\r\n0\r\n\r\n", "hello", "");
    chunk_ok("9\r\n{\"text\": \r\n15\r\n\"Paris is in France\"}\r\n0\r\n\r\n", "{\"text\": \"Paris is in France\"}", "");
    chunk_ok("A\r\n0123456789\r\na\r\nabcdefghij\r\n000\r\n\r\n", "0123456789abcdefghij", "");
    chunk_ok("5;name=value;x=\"q\"\r\nhello\r\n0;last\r\n\r\n", "hello", "");
    chunk_ok("5 ; ext\r\nhello\r\n0\r\n\r\n", "hello", "");
    chunk_ok("5\r\nhello\r\n0\r\nTrailer-A: x\r\nB:\r\n\r\n", "hello", "");
    chunk_ok("3\r\nab\n\r\n0\r\n\r\n", "ab\n", ""); /* data bytes are data */
    chunk_ok("0000000000000005\r\nhello\r\n0\r\n\r\n", "hello", ""); /* 16 digits, leading zeros */
}

TEST(http_chunked_pipelined_rest)
{
    chunk_ok("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "hello", "GET / HTTP/1.1\r\n\r\n");
    chunk_ok("1\r\nx\r\n0\r\nT: 1\r\n\r\nG", "x", "G");
    /* after completion a decoder decodes nothing more */
    http_chunked d = {0};
    char b[] = "0\r\n\r\n";
    size_t len = 5;
    CHECK_EQ_INT(http_decode_chunked(&d, b, &len), 0);
    char more[] = "abc";
    len = 3;
    CHECK_EQ_INT(http_decode_chunked(&d, more, &len), 3);
    CHECK_EQ_INT(len, 0);
    CHECK(!memcmp(more, "abc", 3));
    len = 0;
    CHECK_EQ_INT(http_decode_chunked(&d, more, &len), 0);
}

TEST(http_chunked_rejects)
{
    chunk_err("\r\nhello\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);          /* no size */
    chunk_err("x\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("0x5\r\nhello\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("-5\r\nhello\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("+5\r\nhello\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err(" 5\r\nhello\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("5\nhello\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);            /* bare LF */
    chunk_err("5\rhello\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);            /* bare CR */
    chunk_err("5\r\nhello\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("5\r\nhelloXX0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);            /* no CRLF after data */
    chunk_err("5\r\nhello\r\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("3\r\nhello\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);          /* size too small */
    chunk_err("5\r\nhello\r\n0\r\n\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("5\r\nhello\r\n0\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("5;a\x01\r\nhello\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);    /* CTL in extension */
    chunk_err("5;a\nb\r\nhello\r\n0\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("10000000000000000\r\n", HTTP_E_BAD_REQUEST, 0);           /* 17 hex digits */
    chunk_err("5\r\nhello\r\n0\r\nNoColon\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("5\r\nhello\r\n0\r\nA : b\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("5\r\nhello\r\n0\r\n folded\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("5\r\nhello\r\n0\r\nA: b\nC: d\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    chunk_err("5\r\nhello\r\n0\r\nA: \x01\r\n\r\n", HTTP_E_BAD_REQUEST, 0);
    /* the decoded size bound */
    chunk_err("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", HTTP_E_BODY_TOO_LARGE, 10);
    chunk_err("ffffffffffffffff\r\n", HTTP_E_BODY_TOO_LARGE, 1 << 20);
    const char *ten = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
    dechunk d = decode_all_ways(ten, strlen(ten), 10);
    CHECK(d.r == 0 && d.out_len == 10);
}

TEST(http_chunked_bounds)
{
    /* a total that would wrap 64 bits with no max_body set */
    http_chunked d = {0};
    char a[] = "ffffffffffffffff\r\n";
    size_t len = strlen(a);
    CHECK_EQ_INT(http_decode_chunked(&d, a, &len), HTTP_INCOMPLETE);
    d.state = 5; /* CH_DATA_LF, as if that chunk had been read */
    d.chunk_left = 0;
    char b[] = "\nf\r\n";
    len = strlen(b);
    CHECK_EQ_INT(http_decode_chunked(&d, b, &len), HTTP_E_BAD_REQUEST);
    /* long extension and trailer sections are refused */
    size_t n = 20000;
    char *s = malloc(n + 1);
    memset(s, 'x', n);
    s[n] = 0;
    memcpy(s, "5;", 2);
    len = n;
    http_chunked e = {0};
    CHECK_EQ_INT(http_decode_chunked(&e, s, &len), HTTP_E_BAD_REQUEST);
    memcpy(s, "0\r\nX: ", 6);
    len = n;
    http_chunked f = {0};
    CHECK_EQ_INT(http_decode_chunked(&f, s, &len), HTTP_E_BAD_REQUEST);
    /* many short trailer lines, bounded in total */
    for (size_t i = 3; i + 6 <= n; i += 6) memcpy(s + i, "A: b\r\n", 6);
    len = n;
    http_chunked g = {0};
    CHECK_EQ_INT(http_decode_chunked(&g, s, &len), HTTP_E_BAD_REQUEST);
    free(s);
}

/* A chunked request the way the worker meets it: parse the head, then decode what follows. */
TEST(http_chunked_request_end_to_end)
{
    const char *s = "POST /ents HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    http_request req;
    ssize_t r = parse(s, &req);
    CHECK(r > 0);
    CHECK_EQ_INT(req.body, HTTP_BODY_CHUNKED);
    chunk_ok(s + r, "Wikipedia", "GET / HTTP/1.1\r\n\r\n");
}
