/* http_parser.c - RFC 9112 request heads, zero-copy. Hardening decisions, each deliberate:
 *  - line ends are CRLF only: a bare LF (which RFC 9112 section 2.2 lets a recipient accept)
 *    is refused as well as a bare CR, in the head and in chunked framing alike, because a
 *    proxy in front that splits lines differently is the classic smuggling set-up;
 *  - up to 4 empty lines (CRLF) before the request line are skipped (section 2.2);
 *  - method and field names are tokens; the request-target is visible ASCII (no obs-text);
 *  - no whitespace between a field name and its colon, no obsolete line folding (400);
 *  - field values may not contain NUL or other control characters except HTAB;
 *  - Content-Length: digits only (no sign, no hex), overflow-checked, at most (2^63-1)/10; repeated
 *    fields and comma lists (RFC 9110 section 8.6) are accepted only when every value is the
 *    same; empty list elements are refused;
 *  - Content-Length with Transfer-Encoding is refused (400) rather than guessed at;
 *  - Transfer-Encoding (all its fields as one list): final coding not chunked, chunked twice,
 *    or chunked with parameters -> 400; chunked last after any other coding -> 501 (we decode
 *    none); Transfer-Encoding in an HTTP/1.0 request -> 400;
 *  - Host (section 3.2): more than one field, an invalid value, or none in an HTTP/1.1
 *    request -> 400 (HTTP/1.0 may omit it);
 *  - an absolute-form target (http:// or https://, section 3.2.2) is accepted: its authority
 *    must be a valid host without userinfo, and path views only the path ("/" when empty);
 *  - HTTP/1.x with x > 1 is read as HTTP/1.1 (RFC 9110 section 2.5); any other major version
 *    (HTTP/2's preface included) -> 505;
 *  - Expect: 100-continue in an HTTP/1.0 request is ignored (RFC 9110 section 10.1.1);
 *  - limits are checked on incomplete input too, so an endless header is refused early;
 *  - a head arriving in many reads is parsed where the last read stopped (picohttpparser's
 *    last_len idea, carried further: the complete lines are not parsed again either), so a
 *    read costs its own bytes: re-parsing from the first byte made a head sent in 100-byte
 *    pieces cost its worker time quadratic in the head (1.7 s of CPU for 800 KB). */
#include "server/http_parser.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

const http_limits http_default_limits = {8190, 8190, 100, 65536};

/* Empty lines (CRLF) skipped before a request line (RFC 9112 section 2.2 allows "at least one") */
enum { HTTP_MAX_EMPTY_LINES = 4 };

static int is_tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int in_set(unsigned char c, const char *set) { return c && strchr(set, c); }

/* uri-host [":" port] (RFC 3986 section 3.2.2): a reg-name (unreserved, pct-encoded, sub-delims;
 * IPv4 addresses are reg-names by their characters) or a bracketed IP literal, then digits. An
 * empty host is valid only where allow_empty (a Host field for a target without authority). */
static int host_valid(const char *v, size_t n, int allow_empty)
{
    static const char name_chars[] = "-._~!$&'()*+,;=", literal_chars[] = "-._~!$&'()*+,;=:%";
    size_t i = 0;
    if (n && v[0] == '[') {
        for (i = 1; i < n && v[i] != ']'; i++)
            if (!isalnum((unsigned char)v[i]) && !in_set((unsigned char)v[i], literal_chars)) return 0;
        if (i == n || i == 1) return 0;
        i++;
    } else {
        for (; i < n && v[i] != ':'; i++) {
            unsigned char c = (unsigned char)v[i];
            if (c == '%' && i + 2 < n && isxdigit((unsigned char)v[i + 1]) && isxdigit((unsigned char)v[i + 2])) i += 2;
            else if (!isalnum(c) && !in_set(c, name_chars)) return 0;
        }
        if (i == 0 && !allow_empty) return 0;
    }
    if (i < n && v[i++] != ':') return 0;
    for (; i < n; i++)
        if (!isdigit((unsigned char)v[i])) return 0;
    return 1;
}

/* The length of an absolute-form target's "scheme://authority" (http and https), 0 for any
 * other form, or -1 if the authority is not a valid host. */
static ssize_t absolute_prefix(const char *t, size_t n)
{
    static const char *const schemes[] = {"http://", "https://"};
    for (size_t s = 0; s < sizeof schemes / sizeof *schemes; s++) {
        size_t sl = strlen(schemes[s]);
        if (n < sl || strncasecmp(t, schemes[s], sl)) continue;
        size_t e = sl;
        while (e < n && t[e] != '/' && t[e] != '?') e++;
        return host_valid(t + sl, e - sl, 0) ? (ssize_t)e : -1;
    }
    return 0;
}

enum { LINE_INCOMPLETE = -1, LINE_BAD = -2 };

/* The end of the line that starts at buf[start], looked for from buf[*scanned] on: the bytes
 * [start, *scanned) are known to hold no CR and no LF, so that a line arriving in many reads is
 * searched once. Returns the index after its CRLF and sets *line_len, or LINE_INCOMPLETE (with
 * *scanned moved past what was searched), or LINE_BAD on a bare CR or bare LF. */
static ssize_t line_end(const char *buf, size_t len, size_t start, size_t *scanned, size_t *line_len)
{
    const char *p = buf + *scanned;
    size_t n = len - *scanned;
    const char *cr = memchr(p, '\r', n), *lf = memchr(p, '\n', cr ? (size_t)(cr - p) : n);
    if (lf) return LINE_BAD;
    if (!cr) {
        *scanned = len;
        return LINE_INCOMPLETE;
    }
    size_t i = (size_t)(cr - buf);
    *scanned = i; /* a CR last in buf: looked at again when its LF may be there */
    if (i + 1 >= len) return LINE_INCOMPLETE;
    if (buf[i + 1] != '\n') return LINE_BAD;
    *line_len = i - start;
    return (ssize_t)(i + 2);
}

static int token_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !strncasecmp(s, lit, n);
}

/* Content-Length value: digits, or a comma list of identical digit strings' values. */
static int parse_length(const char *v, size_t n, uint64_t *out)
{
    int have = 0;
    uint64_t first = 0;
    size_t i = 0;
    for (;;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        if (i >= n || v[i] < '0' || v[i] > '9') return -1;
        uint64_t x = 0;
        while (i < n && v[i] >= '0' && v[i] <= '9') {
            x = x * 10 + (uint64_t)(v[i++] - '0');
            if (x > (uint64_t)INT64_MAX / 10) return -1; /* keeps every length well inside off_t */
        }
        if (have && x != first) return -1;
        first = x;
        have = 1;
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        if (i == n) break;
        if (v[i++] != ',') return -1;
    }
    *out = first;
    return 0;
}

/* One Transfer-Encoding field's codings, folded into *st: bit 1 chunked seen (and is last so
 * far), bit 2 another coding seen, bit 4 something after chunked. Returns -1 if malformed. */
static int parse_te(const char *v, size_t n, int *st)
{
    size_t s = 0;
    int any = 0;
    for (;;) {
        while (s < n && (v[s] == ' ' || v[s] == '\t')) s++;
        size_t t = s;
        while (t < n && is_tchar((unsigned char)v[t])) t++;
        if (t == s) return -1; /* empty element or junk */
        int chunked = token_eq(v + s, t - s, "chunked");
        if (*st & 1) *st |= 4;
        if (chunked) {
            if (*st & 1) return -1; /* chunked twice */
            *st |= 1;
        } else {
            *st |= 2;
        }
        while (t < n && (v[t] == ' ' || v[t] == '\t')) t++;
        if (t < n && v[t] == ';') { /* transfer parameters: chunked has none */
            if (chunked) return -1;
            while (t < n && v[t] != ',') t++;
        }
        any = 1;
        if (t == n) break;
        if (v[t] != ',') return -1;
        s = t + 1;
    }
    return any ? 0 : -1;
}

/* The request line l[0..ll) (without its CRLF) into req. Returns 0 or an error. */
static ssize_t parse_request_line(const char *l, size_t ll, http_request *req)
{
    size_t i = 0;
    while (i < ll && is_tchar((unsigned char)l[i])) i++;
    if (i == 0 || i >= ll || l[i] != ' ') return HTTP_E_BAD_REQUEST;
    req->method = l;
    req->method_len = i;
    size_t ts = ++i;
    while (i < ll && l[i] != ' ') {
        unsigned char c = (unsigned char)l[i];
        if (c <= 0x20 || c >= 0x7f) return HTTP_E_BAD_REQUEST;
        i++;
    }
    if (i == ts || i >= ll) return HTTP_E_BAD_REQUEST;
    req->target = l + ts;
    req->target_len = i - ts;
    ssize_t authority_end = absolute_prefix(req->target, req->target_len);
    if (authority_end < 0) return HTTP_E_BAD_REQUEST;
    req->path = req->target + authority_end;
    size_t rest = req->target_len - (size_t)authority_end;
    const char *q = memchr(req->path, '?', rest);
    req->path_len = q ? (size_t)(q - req->path) : rest;
    i++;
    if (ll - i != 8 || memcmp(l + i, "HTTP/", 5)) return HTTP_E_BAD_REQUEST;
    if (!isdigit((unsigned char)l[i + 5]) || l[i + 6] != '.' || !isdigit((unsigned char)l[i + 7]))
        return HTTP_E_BAD_REQUEST;
    if (l[i + 5] != '1') return HTTP_E_VERSION;
    req->minor_version = l[i + 7] == '0' ? 0 : 1;
    /* "http://host" and "http://host?q" mean the path "/" (RFC 9110 section 4.2.3); the view
     * stays inside the buffer (so rebasing moves it too): the slash of "HTTP/" */
    if (!req->path_len) {
        req->path = l + i + 4;
        req->path_len = 1;
    }
    return 0;
}

/* One header line h[0..ll) (not empty, without its CRLF): checked, added to req->headers, and
 * its framing and connection fields folded into p. Returns 0 or an error. */
static ssize_t parse_field(http_parser *p, const char *h, size_t ll, http_request *req, const http_limits *lim)
{
    if (h[0] == ' ' || h[0] == '\t') return HTTP_E_BAD_REQUEST; /* obsolete line folding */
    size_t k = 0;
    while (k < ll && is_tchar((unsigned char)h[k])) k++;
    if (k == 0 || k >= ll || h[k] != ':') return HTTP_E_BAD_REQUEST; /* "Name :" included */
    size_t vs = k + 1, ve = ll;
    while (vs < ve && (h[vs] == ' ' || h[vs] == '\t')) vs++;
    while (ve > vs && (h[ve - 1] == ' ' || h[ve - 1] == '\t')) ve--;
    for (size_t c = vs; c < ve; c++) {
        unsigned char ch = (unsigned char)h[c];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return HTTP_E_BAD_REQUEST;
    }
    if (p->fields >= p->capacity || p->fields >= lim->max_fields) return HTTP_E_HEADER_TOO_LARGE;
    http_header *hd = &req->headers[p->fields++];
    req->num_headers = p->fields;
    hd->name = h;
    hd->name_len = k;
    hd->value = h + vs;
    hd->value_len = ve - vs;

    if (token_eq(h, k, "content-length")) {
        uint64_t v;
        if (parse_length(hd->value, hd->value_len, &v)) return HTTP_E_BAD_REQUEST;
        if (p->have_cl && v != req->content_length) return HTTP_E_BAD_REQUEST;
        req->content_length = v;
        p->have_cl = 1;
    } else if (token_eq(h, k, "transfer-encoding")) {
        if (parse_te(hd->value, hd->value_len, &p->te)) return HTTP_E_BAD_REQUEST;
        p->have_te = 1;
    } else if (token_eq(h, k, "host")) {
        if (++p->hosts > 1 || !host_valid(hd->value, hd->value_len, 1)) return HTTP_E_BAD_REQUEST;
    } else if (token_eq(h, k, "connection")) {
        const char *v = hd->value;
        size_t n = hd->value_len, s = 0;
        while (s < n) {
            while (s < n && (v[s] == ' ' || v[s] == '\t' || v[s] == ',')) s++;
            size_t t = s;
            while (t < n && v[t] != ',' && v[t] != ' ' && v[t] != '\t') t++;
            if (token_eq(v + s, t - s, "close")) p->conn_close = 1;
            else if (token_eq(v + s, t - s, "keep-alive")) p->conn_keep = 1;
            s = t;
        }
    } else if (token_eq(h, k, "expect")) {
        if (req->minor_version && token_eq(hd->value, hd->value_len, "100-continue")) req->expect_continue = 1;
    }
    return 0;
}

/* The framing and persistence the whole head decides, once its empty line was read. */
static ssize_t finish_head(const http_parser *p, http_request *req)
{
    if (p->have_te) {
        if (p->have_cl || req->minor_version == 0) return HTTP_E_BAD_REQUEST;
        if (!(p->te & 1) || (p->te & 4)) return HTTP_E_BAD_REQUEST; /* final coding is not chunked */
        if (p->te & 2) return HTTP_E_NOT_IMPLEMENTED;
        req->body = HTTP_BODY_CHUNKED;
    } else if (p->have_cl) {
        req->body = req->content_length ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
    }
    if (!p->hosts && req->minor_version) return HTTP_E_BAD_REQUEST;
    req->keep_alive = req->minor_version == 1 ? !p->conn_close : p->conn_keep && !p->conn_close;
    return (ssize_t)p->line_start;
}

/* Parses the lines that arrived since the last call: HTTP_INCOMPLETE, or the end of the parse
 * (the head's length or an error), which the caller keeps as the answer to every later call. */
static ssize_t parse_lines(http_parser *p, const char *buf, size_t len, http_request *req, const http_limits *lim)
{
    size_t ll;
    ssize_t e;
    while (p->stage == HTTP_PARSE_EMPTY_LINES) {
        if (p->line_start >= len) return HTTP_INCOMPLETE;
        if (buf[p->line_start] != '\r' && buf[p->line_start] != '\n') {
            p->stage = HTTP_PARSE_REQUEST_LINE;
            break;
        }
        /* each empty line skipped is 2 bytes: line_start / 2 of them so far */
        if (p->line_start / 2 == HTTP_MAX_EMPTY_LINES || buf[p->line_start] == '\n') return HTTP_E_BAD_REQUEST;
        if (p->line_start + 1 >= len) return HTTP_INCOMPLETE;
        if (buf[p->line_start + 1] != '\n') return HTTP_E_BAD_REQUEST;
        p->line_start += 2;
        p->scanned = p->line_start;
    }
    if (p->stage == HTTP_PARSE_REQUEST_LINE) {
        e = line_end(buf, len, p->line_start, &p->scanned, &ll);
        if (e == LINE_INCOMPLETE) /* +1: a CR may be last */
            return len - p->line_start > lim->max_request_line + 1 ? HTTP_E_URI_TOO_LONG : HTTP_INCOMPLETE;
        if (e == LINE_BAD) return HTTP_E_BAD_REQUEST;
        if (ll > lim->max_request_line) return HTTP_E_URI_TOO_LONG;
        ssize_t bad = parse_request_line(buf + p->line_start, ll, req);
        if (bad) return bad;
        p->line_start = p->scanned = (size_t)e;
        p->stage = HTTP_PARSE_FIELDS;
    }
    for (;;) {
        e = line_end(buf, len, p->line_start, &p->scanned, &ll);
        if (e == LINE_INCOMPLETE) {
            if (len - p->line_start > lim->max_field_size + 1 || len > lim->max_head) return HTTP_E_HEADER_TOO_LARGE;
            return HTTP_INCOMPLETE;
        }
        if (e == LINE_BAD) return HTTP_E_BAD_REQUEST;
        if (ll > lim->max_field_size) return HTTP_E_HEADER_TOO_LARGE;
        const char *h = buf + p->line_start;
        p->line_start = p->scanned = (size_t)e;
        if (p->line_start > lim->max_head) return HTTP_E_HEADER_TOO_LARGE;
        if (ll == 0) return finish_head(p, req);
        ssize_t bad = parse_field(p, h, ll, req, lim);
        if (bad) return bad;
    }
}

ssize_t http_parse_request_resume(http_parser *p, const char *buf, size_t len, http_request *req, const http_limits *lim)
{
    if (!lim) lim = &http_default_limits;
    if (p->stage == HTTP_PARSE_START) {
        p->capacity = req->num_headers;
        p->base = (uintptr_t)buf;
        p->stage = HTTP_PARSE_EMPTY_LINES;
        req->body = HTTP_BODY_NONE;
        req->content_length = 0;
        req->keep_alive = 0;
        req->expect_continue = 0;
        req->method = req->target = req->path = NULL; /* method is set as soon as the request line is read,
                                                       * even if the head is then refused */
        req->method_len = req->target_len = req->path_len = 0;
    }
    req->num_headers = p->fields; /* the caller may have set it to the capacity again */
    if (p->base != (uintptr_t)buf) { /* the caller's buffer moved: the views move with it */
        http_request_rebase(req, p->base, buf);
        p->base = (uintptr_t)buf;
    }
    if (p->stage == HTTP_PARSE_DONE) return p->result;
    ssize_t r = parse_lines(p, buf, len, req, lim);
    if (r != HTTP_INCOMPLETE) {
        p->stage = HTTP_PARSE_DONE;
        p->result = r;
    }
    return r;
}

ssize_t http_parse_request(const char *buf, size_t len, http_request *req, const http_limits *lim)
{
    http_parser fresh = {0};
    return http_parse_request_resume(&fresh, buf, len, req, lim);
}

static const struct {
    int status;
    const char *reason;
} http_errors[HTTP_NERRORS] = {
#define HTTP_ERROR_ENTRY(name, status, msg) {status, msg},
    HTTP_ERROR_MAP(HTTP_ERROR_ENTRY)
#undef HTTP_ERROR_ENTRY
};

static size_t http_error_index_of(ssize_t err)
{
    ssize_t i = -2 - err;
    return i >= 0 && i < HTTP_NERRORS ? (size_t)i : HTTP_EI_BAD_REQUEST;
}

int http_error_status(ssize_t err) { return http_errors[http_error_index_of(err)].status; }
const char *http_error_reason(ssize_t err) { return http_errors[http_error_index_of(err)].reason; }

const http_header *http_find_header(const http_request *req, const char *name)
{
    const http_header *found = NULL;
    for (size_t i = 0; i < req->num_headers; i++)
        if (token_eq(req->headers[i].name, req->headers[i].name_len, name)) found = &req->headers[i];
    return found;
}

/* Chunked decoding states. Framing is strict CRLF (see the top of this file). */
enum { CH_SIZE = 0, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF,
       CH_TRAILER, CH_TR_NAME, CH_TR_VALUE, CH_TR_LF, CH_END_LF, CH_DONE };

enum { CH_MAX_SIZE_LINE = 4096, CH_MAX_TRAILERS = 8192 };

ssize_t http_decode_chunked(http_chunked *d, char *buf, size_t *len)
{
    size_t in = 0, out = 0, n = *len;
    ssize_t err = HTTP_E_BAD_REQUEST;
    while (in < n) {
        unsigned char c = (unsigned char)buf[in];
        switch (d->state) {
        case CH_SIZE:
            if (isxdigit(c)) {
                if (++d->line_len > 16) goto fail; /* 16 hex digits fill 64 bits */
                d->chunk_left = d->chunk_left << 4 | (uint64_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
            } else if (d->line_len == 0) {
                goto fail;
            } else if (c == ';' || c == ' ' || c == '\t') {
                d->state = CH_EXT;
            } else if (c == '\r') {
                d->state = CH_SIZE_LF;
            } else {
                goto fail;
            }
            in++;
            break;
        case CH_EXT: /* chunk extensions are skipped, but bounded */
            if (c == '\r') d->state = CH_SIZE_LF;
            else if ((c < 0x20 && c != '\t') || c == 0x7f) goto fail;
            if (++d->line_len > CH_MAX_SIZE_LINE) goto fail;
            in++;
            break;
        case CH_SIZE_LF:
            if (c != '\n') goto fail;
            in++;
            d->line_len = 0;
            if (d->chunk_left == 0) {
                d->state = CH_TRAILER; /* chunk_left now counts trailer bytes */
            } else {
                if (d->chunk_left > UINT64_MAX - d->total) goto fail;
                d->total += d->chunk_left;
                if (d->max_body && d->total > d->max_body) { err = HTTP_E_BODY_TOO_LARGE; goto fail; }
                d->state = CH_DATA;
            }
            break;
        case CH_DATA: {
            size_t take = n - in < d->chunk_left ? n - in : (size_t)d->chunk_left;
            memmove(buf + out, buf + in, take);
            out += take;
            in += take;
            d->chunk_left -= take;
            if (!d->chunk_left) d->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (c != '\r') goto fail;
            in++;
            d->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (c != '\n') goto fail;
            in++;
            d->state = CH_SIZE;
            d->line_len = 0;
            d->chunk_left = 0;
            break;
        case CH_TRAILER: /* trailer fields are checked for shape and discarded, bounded in total */
        case CH_TR_NAME:
        case CH_TR_VALUE:
        case CH_TR_LF:
            if (++d->chunk_left > CH_MAX_TRAILERS) goto fail;
            if (d->state == CH_TRAILER) {
                if (c == '\r') d->state = CH_END_LF;
                else if (is_tchar(c)) d->state = CH_TR_NAME;
                else goto fail; /* includes folding */
            } else if (d->state == CH_TR_NAME) {
                if (c == ':') d->state = CH_TR_VALUE;
                else if (!is_tchar(c)) goto fail;
            } else if (d->state == CH_TR_VALUE) {
                if (c == '\r') d->state = CH_TR_LF;
                else if ((c < 0x20 && c != '\t') || c == 0x7f) goto fail;
            } else {
                if (c != '\n') goto fail;
                d->state = CH_TRAILER;
            }
            in++;
            break;
        case CH_END_LF:
            if (c != '\n') goto fail;
            in++;
            d->state = CH_DONE;
            /* fall through */
        case CH_DONE:
            *len = out;
            memmove(buf + out, buf + in, n - in); /* what follows: a pipelined request */
            return (ssize_t)(n - in);
        default:
            goto fail;
        }
    }
    *len = out;
    if (d->state == CH_DONE) return 0;
    return HTTP_INCOMPLETE;
fail:
    *len = out;
    return err;
}

void http_request_rebase(http_request *req, uintptr_t old_base, const char *new_base)
{
#define REBASE(p) ((p) = (p) ? new_base + ((uintptr_t)(p) - old_base) : NULL)
    REBASE(req->method);
    REBASE(req->target);
    REBASE(req->path);
    for (size_t i = 0; i < req->num_headers; i++) {
        REBASE(req->headers[i].name);
        REBASE(req->headers[i].value);
    }
#undef REBASE
}
