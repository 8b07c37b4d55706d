/* http_parser.c - RFC 9112 request heads, zero-copy. Hardening decisions, each deliberate:
 *  - line ends are CRLF; a bare LF is accepted as a line end (RFC 9112 section 2.2 allows it),
 *    a bare CR anywhere is refused;
 *  - no whitespace between a field name and its colon, no obsolete line folding (400);
 *  - field values may not contain NUL or other control characters except HTAB;
 *  - Content-Length: digits only, overflow-checked; repeated headers or comma lists must all
 *    agree; Content-Length with Transfer-Encoding is refused (400) rather than guessed at;
 *  - Transfer-Encoding must end in a single "chunked" (other codings: 501; HTTP/1.0: 400);
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

/* Finds the end of the line starting at p: returns the index after the line end and sets
 * *line_len, or -1 if incomplete, or -2 on a bare CR. */
static ssize_t line_end(const char *p, size_t len, size_t *line_len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\n') {
            *line_len = i;
            return (ssize_t)(i + 1);
        }
        if (p[i] == '\r') {
            if (i + 1 >= len) return -1;
            if (p[i + 1] != '\n') return -2;
            *line_len = i;
            return (ssize_t)(i + 2);
        }
    }
    return -1;
}

static int token_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !strncasecmp(s, lit, n);
}

/* Content-Length value (possibly a comma list of equal values). -1 if invalid. */
static int parse_length(const char *v, size_t n, uint64_t *out)
{
    int have = 0;
    uint64_t first = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        if (i >= n || !isdigit((unsigned char)v[i])) return -1;
        uint64_t x = 0;
        while (i < n && isdigit((unsigned char)v[i])) {
            if (x > (UINT64_MAX - 9) / 10) return -1;
            x = x * 10 + (uint64_t)(v[i++] - '0');
        }
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        if (i < n && v[i] != ',') return -1;
        if (i < n) i++;
        if (have && x != first) return -1;
        first = x;
        have = 1;
    }
    if (!have) return -1;
    *out = first;
    return 0;
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

    /* request line; tolerate (RFC 9112 2.2) empty lines before it */
    size_t pos = 0, ll;
    ssize_t e;
    while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n')) {
        if (buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] != '\n') return HTTP_E_BAD_REQUEST;
        pos++;
        if (pos > 8) return HTTP_E_BAD_REQUEST;
    }
    e = line_end(buf + pos, len - pos, &ll);
    if (e == -2) return HTTP_E_BAD_REQUEST;
    if (e == -1) {
        if (len - pos > lim->max_request_line) return HTTP_E_URI_TOO_LONG;
        return HTTP_INCOMPLETE;
    }
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
        if (c <= 0x20 || c == 0x7f) return HTTP_E_BAD_REQUEST;
        i++;
    }
    if (i == ts || i >= ll) return HTTP_E_BAD_REQUEST;
    req->target = l + ts;
    req->target_len = i - ts;
    const char *q = memchr(req->target, '?', req->target_len);
    req->path = req->target;
    req->path_len = q ? (size_t)(q - req->target) : req->target_len;
    i++;
    if (ll - i != 8 || memcmp(l + i, "HTTP/", 5)) return HTTP_E_BAD_REQUEST;
    if (l[i + 5] != '1' || l[i + 6] != '.' || (l[i + 7] != '0' && l[i + 7] != '1')) {
        if (isdigit((unsigned char)l[i + 5]) && l[i + 6] == '.' && isdigit((unsigned char)l[i + 7])) return HTTP_E_VERSION;
        return HTTP_E_BAD_REQUEST;
    }
    req->minor_version = l[i + 7] - '0';
    pos += (size_t)e;

    /* header fields */
    int have_cl = 0, have_te = 0, te_chunked = 0, conn_close = 0, conn_keep = 0;
    for (;;) {
        if (pos > lim->max_head) return HTTP_E_HEADER_TOO_LARGE;
        e = line_end(buf + pos, len - pos, &ll);
        if (e == -2) return HTTP_E_BAD_REQUEST;
        if (e == -1) {
            if (len - pos > lim->max_field_size || len > lim->max_head) return HTTP_E_HEADER_TOO_LARGE;
            return HTTP_INCOMPLETE;
        }
        if (ll > lim->max_field_size) return HTTP_E_HEADER_TOO_LARGE;
        const char *h = buf + pos;
        pos += (size_t)e;
        if (ll == 0) break;
        if (h[0] == ' ' || h[0] == '\t') return HTTP_E_BAD_REQUEST; /* obsolete line folding */
        size_t k = 0;
        while (k < ll && is_tchar((unsigned char)h[k])) k++;
        if (k == 0 || k >= ll || h[k] != ':') return HTTP_E_BAD_REQUEST;
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
            /* the codings in order; only a final, single "chunked" is understood */
            const char *v = hd->value;
            size_t n = hd->value_len, s = 0;
            while (s < n) {
                while (s < n && (v[s] == ' ' || v[s] == '\t' || v[s] == ',')) s++;
                size_t t = s;
                while (t < n && v[t] != ',' && v[t] != ' ' && v[t] != '\t' && v[t] != ';') t++;
                if (t == s) break;
                if (te_chunked) return HTTP_E_BAD_REQUEST; /* something after chunked, or chunked twice */
                if (token_eq(v + s, t - s, "chunked")) te_chunked = 1;
                else return HTTP_E_NOT_IMPLEMENTED;
                while (t < n && v[t] != ',') t++; /* parameters */
                s = t;
            }
            have_te = 1;
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
            if (token_eq(hd->value, hd->value_len, "100-continue")) req->expect_continue = 1;
        }
    }
    if (have_te) {
        if (have_cl || req->minor_version == 0 || !te_chunked) return HTTP_E_BAD_REQUEST;
        req->body = HTTP_BODY_CHUNKED;
    } else if (have_cl) {
        req->body = req->content_length ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
    }
    req->keep_alive = req->minor_version == 1 ? !conn_close : conn_keep && !conn_close;
    return (ssize_t)pos;
}

int http_error_status(ssize_t err)
{
    switch (err) {
    case HTTP_E_URI_TOO_LONG: return 414;
    case HTTP_E_HEADER_TOO_LARGE: return 431;
    case HTTP_E_NOT_IMPLEMENTED: return 501;
    case HTTP_E_VERSION: return 505;
    case HTTP_E_LENGTH_REQUIRED: return 411;
    case HTTP_E_BODY_TOO_LARGE: return 413;
    default: return 400;
    }
}

const char *http_error_reason(ssize_t err)
{
    switch (err) {
    case HTTP_E_URI_TOO_LONG: return "request line too long";
    case HTTP_E_HEADER_TOO_LARGE: return "request header fields too large";
    case HTTP_E_NOT_IMPLEMENTED: return "transfer coding not implemented";
    case HTTP_E_VERSION: return "HTTP version not supported";
    case HTTP_E_LENGTH_REQUIRED: return "length required";
    case HTTP_E_BODY_TOO_LARGE: return "request body too large";
    default: return "malformed request";
    }
}

const http_header *http_find_header(const http_request *req, const char *name)
{
    const http_header *found = NULL;
    for (size_t i = 0; i < req->num_headers; i++)
        if (token_eq(req->headers[i].name, req->headers[i].name_len, name)) found = &req->headers[i];
    return found;
}

/* Chunked decoding states */
enum { CH_SIZE = 0, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LF, CH_DONE };

ssize_t http_decode_chunked(http_chunked *d, char *buf, size_t *len)
{
    size_t in = 0, out = 0, n = *len;
    int digits = 0;
    while (in < n) {
        char c = buf[in];
        switch (d->state) {
        case CH_SIZE:
            if (isxdigit((unsigned char)c)) {
                if (d->chunk_left > (UINT64_MAX >> 4)) return HTTP_E_BAD_REQUEST;
                d->chunk_left = d->chunk_left << 4 | (uint64_t)(isdigit((unsigned char)c) ? c - '0' : (tolower(c) - 'a' + 10));
                d->line_len++;
                digits = 1;
                in++;
            } else if (d->line_len == 0) {
                return HTTP_E_BAD_REQUEST;
            } else if (c == ';' || c == ' ' || c == '\t') {
                d->state = CH_EXT;
                in++;
            } else if (c == '\r') {
                d->state = CH_SIZE_LF;
                in++;
            } else if (c == '\n') {
                d->state = CH_SIZE_LF;
            } else {
                return HTTP_E_BAD_REQUEST;
            }
            if (d->line_len > 16) return HTTP_E_BAD_REQUEST;
            break;
        case CH_EXT: /* chunk extensions are ignored, but bounded */
            if (c == '\r') d->state = CH_SIZE_LF;
            else if (c == '\n') { d->state = CH_SIZE_LF; break; }
            else if ((unsigned char)c < 0x20 && c != '\t') return HTTP_E_BAD_REQUEST;
            if (++d->line_len > 4096) return HTTP_E_BAD_REQUEST;
            in++;
            break;
        case CH_SIZE_LF:
            if (c != '\n') return HTTP_E_BAD_REQUEST;
            in++;
            d->line_len = 0;
            if (d->chunk_left == 0) {
                d->state = CH_TRAILER;
            } else {
                d->total += d->chunk_left;
                if (d->max_body && d->total > d->max_body) return HTTP_E_BODY_TOO_LARGE;
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
            if (c == '\r') { d->state = CH_DATA_LF; in++; }
            else if (c == '\n') d->state = CH_DATA_LF;
            else return HTTP_E_BAD_REQUEST;
            break;
        case CH_DATA_LF:
            if (c != '\n') return HTTP_E_BAD_REQUEST;
            in++;
            d->state = CH_SIZE;
            d->line_len = 0;
            d->chunk_left = 0;
            break;
        case CH_TRAILER: /* trailer fields are read and discarded, bounded; an empty line ends */
            if (c == '\r') { d->state = CH_TRAILER_LF; in++; break; }
            if (c == '\n') { d->state = CH_TRAILER_LF; break; }
            if ((unsigned char)c < 0x20 && c != '\t') return HTTP_E_BAD_REQUEST;
            if (++d->line_len > 8192) return HTTP_E_BAD_REQUEST;
            in++;
            break;
        case CH_TRAILER_LF:
            if (c != '\n') return HTTP_E_BAD_REQUEST;
            in++;
            if (d->line_len == 0) {
                d->state = CH_DONE;
                *len = out;
                memmove(buf + out, buf + in, n - in); /* what follows: a pipelined request */
                return (ssize_t)(n - in);
            }
            d->line_len = 0;
            d->state = CH_TRAILER;
            break;
        default:
            return HTTP_E_BAD_REQUEST;
        }
    }
    (void)digits;
    *len = out;
    return HTTP_INCOMPLETE;
}
