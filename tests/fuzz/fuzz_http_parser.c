/* fuzz_http_parser.c - libFuzzer target for the request parser and the chunked decoder.
 * Invariants: a head length never exceeds the input, every pointer lies inside it, a
 * refused request is refused at the same place whatever the limits' slack, and chunked
 * decoding gives the same body and rest whether fed whole or split in two; views rebased onto
 * a moved copy read the same bytes; the resumable parser fed in pieces answers after each what
 * a whole parse of the same bytes answers. */
#include "server/http_parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

static int inside(const char *p, size_t n, const uint8_t *d, size_t len)
{
    return (const uint8_t *)p >= d && (const uint8_t *)p + n <= d + len;
}

static void check_request(const uint8_t *d, size_t len, const http_limits *lim)
{
    http_header hdrs[32];
    http_request req = {.headers = hdrs, .num_headers = 32};
    ssize_t r = http_parse_request((const char *)d, len, &req, lim);
    ASSERT(r >= HTTP_E_LENGTH_REQUIRED);
    if (r < 0) return;
    ASSERT((size_t)r <= len);
    ASSERT(req.num_headers <= 32);
    ASSERT(inside(req.method, req.method_len, d, (size_t)r) && req.method_len > 0);
    ASSERT(inside(req.target, req.target_len, d, (size_t)r) && req.target_len > 0);
    ASSERT(inside(req.path, req.path_len, d, (size_t)r) && req.path_len > 0); /* absolute form: "/" may be HTTP/'s */
    ASSERT(req.path_len <= req.target_len);
    ASSERT(req.minor_version == 0 || req.minor_version == 1);
    for (size_t i = 0; i < req.num_headers; i++) {
        ASSERT(inside(hdrs[i].name, hdrs[i].name_len, d, (size_t)r) && hdrs[i].name_len > 0);
        ASSERT(inside(hdrs[i].value, hdrs[i].value_len, d, (size_t)r));
        for (size_t k = 0; k < hdrs[i].value_len; k++) ASSERT(hdrs[i].value[k] != '\r' && hdrs[i].value[k] != '\n');
    }
    ASSERT(req.body != HTTP_BODY_CHUNKED || req.minor_version == 1);
    ASSERT(req.body != HTTP_BODY_LENGTH || req.content_length > 0);
    /* moved to another buffer (the worker's receive buffer grows), rebased views read the same bytes */
    char *moved = malloc((size_t)r + 1);
    memcpy(moved, d, (size_t)r);
    http_request copy = req;
    http_header hcopy[32];
    memcpy(hcopy, hdrs, sizeof hcopy);
    copy.headers = hcopy;
    http_request_rebase(&copy, (uintptr_t)d, moved);
    ASSERT(inside(copy.method, copy.method_len, (const uint8_t *)moved, (size_t)r) && !memcmp(copy.method, req.method, req.method_len));
    ASSERT(copy.target == moved + (req.target - (const char *)d) && copy.path == moved + (req.path - (const char *)d));
    for (size_t i = 0; i < copy.num_headers; i++)
        ASSERT(inside(hcopy[i].name, hcopy[i].name_len, (const uint8_t *)moved, (size_t)r) &&
               !memcmp(hcopy[i].value, hdrs[i].value, hdrs[i].value_len));
    free(moved);
    /* a complete head is complete in any longer buffer too, and no prefix of it is */
    if (r > 0) {
        http_request again = {.headers = hdrs, .num_headers = 32};
        ASSERT(http_parse_request((const char *)d, (size_t)r - 1, &again, lim) == HTTP_INCOMPLETE);
    }
}

/* Offset of a view from the buffer it points into, or -1 for none. */
static ptrdiff_t at(const char *view, const char *base) { return view ? view - base : -1; }

/* The same request fed to the resumable parser in pieces whose sizes the input chooses, each
 * piece a fresh copy of the bytes so far (the buffer moves, and ASan sees a read past it): after
 * each piece the answer and every view must be those of a whole parse of the same bytes. */
static void check_resume(const uint8_t *d, size_t len, const http_limits *lim, unsigned seed)
{
    http_header rh[32], wh[32];
    http_request rreq = {.headers = rh, .num_headers = 32};
    http_parser p = {0};
    for (size_t k = 0; k <= len;) {
        char *piece = malloc(k ? k : 1), *whole = malloc(k ? k : 1);
        memcpy(piece, d, k);
        memcpy(whole, d, k);
        http_request wreq = {.headers = wh, .num_headers = 32};
        ssize_t r = http_parse_request_resume(&p, piece, k, &rreq, lim), w = http_parse_request(whole, k, &wreq, lim);
        ASSERT(r == w);
        ASSERT(at(rreq.method, piece) == at(wreq.method, whole) && rreq.method_len == wreq.method_len);
        ASSERT(at(rreq.target, piece) == at(wreq.target, whole) && rreq.target_len == wreq.target_len);
        ASSERT(at(rreq.path, piece) == at(wreq.path, whole) && rreq.path_len == wreq.path_len);
        ASSERT(rreq.num_headers == wreq.num_headers);
        for (size_t i = 0; i < rreq.num_headers; i++)
            ASSERT(at(rh[i].name, piece) == at(wh[i].name, whole) && rh[i].name_len == wh[i].name_len &&
                   at(rh[i].value, piece) == at(wh[i].value, whole) && rh[i].value_len == wh[i].value_len);
        if (r >= 0)
            ASSERT(rreq.minor_version == wreq.minor_version && rreq.body == wreq.body &&
                   rreq.content_length == wreq.content_length && rreq.keep_alive == wreq.keep_alive &&
                   rreq.expect_continue == wreq.expect_continue);
        free(piece);
        free(whole);
        if (r != HTTP_INCOMPLETE || k == len) break;
        seed = seed * 1103515245u + 12345u;
        size_t step = 1 + (seed >> 16) % 64;
        k = len - k < step ? len : k + step;
    }
}

typedef struct { ssize_t r; size_t out_len, rest_len; } decoded;

static decoded decode(const uint8_t *d, size_t len, size_t cut, uint64_t max_body, char *out)
{
    http_chunked ch = {.max_body = max_body};
    decoded res = {HTTP_INCOMPLETE, 0, 0};
    size_t at = 0;
    for (int piece = 0; piece < 2 && res.r == HTTP_INCOMPLETE; piece++) {
        size_t end = piece == 0 ? cut : len, n = end - at;
        char *b = malloc(n ? n : 1); /* its own allocation, so ASan sees any over-read */
        memcpy(b, d + at, n);
        size_t got = n;
        res.r = http_decode_chunked(&ch, b, &got);
        ASSERT(got <= n);
        ASSERT(res.r == HTTP_INCOMPLETE || res.r == HTTP_E_BAD_REQUEST || res.r == HTTP_E_BODY_TOO_LARGE || res.r >= 0);
        if (res.r >= 0) ASSERT(got + (size_t)res.r <= n);
        memcpy(out + res.out_len, b, got);
        res.out_len += got;
        if (res.r >= 0) res.rest_len = (size_t)res.r + (len - end);
        free(b);
        at = end;
    }
    ASSERT(res.out_len <= len);
    if (max_body && res.r != HTTP_E_BODY_TOO_LARGE) ASSERT(res.out_len <= max_body);
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t ctl = data[0];
    const uint8_t *d = data + 1;
    size_t len = size - 1;

    check_request(d, len, NULL);
    http_limits small = {16 + (ctl & 15), 8 + (ctl >> 4), 1 + (ctl & 7), 32 + ctl};
    check_request(d, len, &small);
    check_resume(d, len, NULL, ctl);
    check_resume(d, len, &small, ctl + 1u);

    /* the same input as a chunked body: whole, and split at a point the input chooses */
    char *o1 = malloc(len + 1), *o2 = malloc(len + 1);
    uint64_t max_body = ctl & 1 ? 0 : (uint64_t)ctl * 4;
    decoded a = decode(d, len, len, max_body, o1);
    decoded b = decode(d, len, len ? (size_t)ctl * 7919 % (len + 1) : 0, max_body, o2);
    ASSERT(a.r == b.r || (a.r >= 0 && b.r >= 0));
    if (a.r >= 0) ASSERT(a.out_len == b.out_len && !memcmp(o1, o2, a.out_len) && a.rest_len == b.rest_len);
    free(o1);
    free(o2);
    return 0;
}
