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
 *  - limits are checked on incomplete input too, so an endless header is refused early. */
#include "server/http_parser.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

const http_limits http_default_limits = {8190, 8190, 100, 65536};

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

/* Finds the end of the line starting at p: returns the index after its CRLF and sets
 * *line_len, or -1 if incomplete, or -2 on a bare CR or bare LF. */
static ssize_t line_end(const char *p, size_t len, size_t *line_len)
{
    const char *cr = memchr(p, '\r', len), *lf = memchr(p, '\n', cr ? (size_t)(cr - p) : len);
    if (lf) return -2;
    if (!cr) return -1;
    size_t i = (size_t)(cr - p);
    if (i + 1 >= len) return -1;
    if (p[i + 1] != '\n') return -2;
    *line_len = i;
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

ssize_t http_parse_request(const char *buf, size_t len, http_request *req, const http_limits *lim)
{
    if (!lim) lim = &http_default_limits;
    size_t cap = req->num_headers;
    req->num_headers = 0;
    req->body = HTTP_BODY_NONE;
    req->content_length = 0;
    req->keep_alive = 0;
    req->expect_continue = 0;
    req->method = NULL; /* set as soon as the request line is read, even if the head is then refused */
    req->method_len = 0;

    size_t pos = 0, ll;
    ssize_t e;
    for (int empty = 0; pos < len && (buf[pos] == '\r' || buf[pos] == '\n'); empty++) {
        if (empty == 4 || buf[pos] == '\n') return HTTP_E_BAD_REQUEST;
        if (pos + 1 >= len) return HTTP_INCOMPLETE;
        if (buf[pos + 1] != '\n') return HTTP_E_BAD_REQUEST;
        pos += 2;
    }
    e = line_end(buf + pos, len - pos, &ll);
    if (e == -1) {
        if (len - pos > lim->max_request_line + 1) return HTTP_E_URI_TOO_LONG; /* +1: a CR may be last */
        return HTTP_INCOMPLETE;
    }
    if (e == -2) return HTTP_E_BAD_REQUEST;
    if (ll > lim->max_request_line) return HTTP_E_URI_TOO_LONG;
    const char *l = buf + pos;
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
    pos += (size_t)e;

    int have_cl = 0, have_te = 0, te = 0, conn_close = 0, conn_keep = 0, hosts = 0;
    for (;;) {
        e = line_end(buf + pos, len - pos, &ll);
        if (e == -1) {
            if (len - pos > lim->max_field_size + 1 || len > lim->max_head) return HTTP_E_HEADER_TOO_LARGE;
            return HTTP_INCOMPLETE;
        }
        if (e == -2) return HTTP_E_BAD_REQUEST;
        if (ll > lim->max_field_size) return HTTP_E_HEADER_TOO_LARGE;
        const char *h = buf + pos;
        pos += (size_t)e;
        if (pos > lim->max_head) return HTTP_E_HEADER_TOO_LARGE;
        if (ll == 0) break;
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
        if (req->num_headers >= cap || req->num_headers >= lim->max_fields) return HTTP_E_HEADER_TOO_LARGE;
        http_header *hd = &req->headers[req->num_headers++];
        hd->name = h;
        hd->name_len = k;
        hd->value = h + vs;
        hd->value_len = ve - vs;

        if (token_eq(h, k, "content-length")) {
            uint64_t v;
            if (parse_length(hd->value, hd->value_len, &v)) return HTTP_E_BAD_REQUEST;
            if (have_cl && v != req->content_length) return HTTP_E_BAD_REQUEST;
            req->content_length = v;
            have_cl = 1;
        } else if (token_eq(h, k, "transfer-encoding")) {
            if (parse_te(hd->value, hd->value_len, &te)) return HTTP_E_BAD_REQUEST;
            have_te = 1;
        } else if (token_eq(h, k, "host")) {
            if (++hosts > 1 || !host_valid(hd->value, hd->value_len, 1)) return HTTP_E_BAD_REQUEST;
        } else if (token_eq(h, k, "connection")) {
            const char *v = hd->value;
            size_t n = hd->value_len, s = 0;
            while (s < n) {
                while (s < n && (v[s] == ' ' || v[s] == '\t' || v[s] == ',')) s++;
                size_t t = s;
                while (t < n && v[t] != ',' && v[t] != ' ' && v[t] != '\t') t++;
                if (token_eq(v + s, t - s, "close")) conn_close = 1;
                else if (token_eq(v + s, t - s, "keep-alive")) conn_keep = 1;
                s = t;
            }
        } else if (token_eq(h, k, "expect")) {
            if (req->minor_version && token_eq(hd->value, hd->value_len, "100-continue")) req->expect_continue = 1;
        }
    }
    if (have_te) {
        if (have_cl || req->minor_version == 0) return HTTP_E_BAD_REQUEST;
        if (!(te & 1) || (te & 4)) return HTTP_E_BAD_REQUEST; /* final coding is not chunked */
        if (te & 2) return HTTP_E_NOT_IMPLEMENTED;
        req->body = HTTP_BODY_CHUNKED;
    } else if (have_cl) {
        req->body = req->content_length ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
    }
    if (!hosts && req->minor_version) return HTTP_E_BAD_REQUEST;
    req->keep_alive = req->minor_version == 1 ? !conn_close : conn_keep && !conn_close;
    return (ssize_t)pos;
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
