/* http_parser.h - a zero-copy HTTP/1.1 request parser (RFC 9112) with a tiny API, in the
 * manner of picohttpparser: it never allocates, never copies, and points into the caller's
 * buffer. It also decides message framing (Content-Length / chunked) by RFC 9112 section 6,
 * refusing every ambiguous combination, since misreading framing is how requests get smuggled. */
#ifndef NERD_HTTP_PARSER_H
#define NERD_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    const char *name;  size_t name_len;
    const char *value; size_t value_len;   /* leading/trailing whitespace stripped */
} http_header;

typedef enum { HTTP_BODY_NONE = 0, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED } http_body_kind;

typedef struct {
    size_t max_request_line;   /* bytes of method SP target SP version; over it -> HTTP_E_URI_TOO_LONG */
    size_t max_field_size;     /* bytes of one header line; over it -> HTTP_E_HEADER_TOO_LARGE */
    size_t max_fields;         /* number of header lines; over it -> HTTP_E_HEADER_TOO_LARGE */
    size_t max_head;           /* bytes of the whole head; over it -> HTTP_E_HEADER_TOO_LARGE */
} http_limits;

typedef struct {
    const char *method; size_t method_len;  /* also set on a refused head once its request line was read */
    const char *target; size_t target_len;  /* request-target as sent, e.g. "/ents?x=1" */
    const char *path;   size_t path_len;    /* its path: up to '?', after an absolute form's authority */
    int minor_version;                      /* HTTP/1.<minor>: 0, or 1 (also for 1.2-1.9) */
    http_header *headers;                   /* caller's array ... */
    size_t num_headers;                     /* in: its capacity; out: headers found */
    /* derived from the headers: */
    http_body_kind body;
    uint64_t content_length;                /* when body == HTTP_BODY_LENGTH */
    int keep_alive;                         /* HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive */
    int expect_continue;                    /* "Expect: 100-continue" in HTTP/1.1 */
} http_request;

/* The HTTP errors of a request, one table (libuv's UV_ERRNO_MAP is the model): the code's name,
 * the status answered and the message of its {"error": ...} body. The parser returns the first
 * five, the chunked decoder BODY_TOO_LARGE, the connection layer (conn.c) the others. Both worker
 * classes answer every one from here, so their messages cannot drift. */
#define HTTP_ERROR_MAP(X)                                                                          \
    X(BAD_REQUEST, 400, "malformed request")   /* malformed line/header, bad framing, Host rules */ \
    X(URI_TOO_LONG, 414, "request line too long")                                                  \
    X(HEADER_TOO_LARGE, 431, "request header fields too large")                                    \
    X(NOT_IMPLEMENTED, 501, "transfer coding not implemented") /* a coding other than chunked */   \
    X(VERSION, 505, "HTTP version not supported")              /* not HTTP/1.x */                  \
    X(LENGTH_REQUIRED, 411, "length required")                 /* a POST without a length */       \
    X(BODY_TOO_LARGE, 413, "request body too large")                                               \
    X(REQUEST_TIMEOUT, 408, "request not received in time")    /* --header-timeout */              \
    X(INTERNAL, 500, "out of memory")

/* Results below 0: HTTP_INCOMPLETE (need more bytes, not an error), then the table's codes
 * HTTP_E_<name> = -2, -3, ... in its order. */
enum http_error_index {
#define HTTP_ERROR_INDEX(name, status, msg) HTTP_EI_##name,
    HTTP_ERROR_MAP(HTTP_ERROR_INDEX)
#undef HTTP_ERROR_INDEX
    HTTP_NERRORS
};
enum {
    HTTP_INCOMPLETE = -1,
#define HTTP_ERROR_CODE(name, status, msg) HTTP_E_##name = -2 - HTTP_EI_##name,
    HTTP_ERROR_MAP(HTTP_ERROR_CODE)
#undef HTTP_ERROR_CODE
};

/* Parses the request head in buf[0..len). Returns the head's length in bytes (the body
 * starts there), HTTP_INCOMPLETE, or an error. Limits are checked on incomplete input
 * too, so a client trickling an endless header is refused as early as possible. A NULL
 * lim uses http_default_limits. */
ssize_t http_parse_request(const char *buf, size_t len, http_request *req, const http_limits *lim);

/* Where the parse of a head that arrives in pieces stopped, so that the next piece costs only
 * its own bytes (a head parsed again from its first byte after every read costs the reader time
 * quadratic in the head). Zero it for each request. It holds offsets, so the caller's buffer
 * may move between calls. */
enum { HTTP_PARSE_START = 0, HTTP_PARSE_EMPTY_LINES, HTTP_PARSE_REQUEST_LINE, HTTP_PARSE_FIELDS, HTTP_PARSE_DONE };
typedef struct {
    int stage;
    size_t line_start;      /* where the line being read starts (after the last complete one) */
    size_t scanned;         /* the bytes from line_start up to here hold no CR and no LF */
    size_t fields;          /* header lines parsed into req->headers */
    size_t capacity;        /* req->num_headers at the first call */
    uintptr_t base;         /* the buffer of the last call (only compared, never read) */
    ssize_t result;         /* once HTTP_PARSE_DONE: the answer every later call gives */
    int have_cl, have_te, te, conn_close, conn_keep, hosts; /* what the fields so far said */
} http_parser;

/* http_parse_request, resumed: call it with the same request's bytes each time more arrived,
 * buf[0..len) holding the bytes of the last call (at the same offsets from buf, which may have
 * moved: the views in req move with it) and more after them; req is the same each time and
 * req->num_headers its capacity at the first call. Each call examines the bytes the last one
 * had not (and, to parse it, the line they complete), and returns what http_parse_request
 * returns for buf[0..len). After a head or an error every call returns the same (the error for
 * the bytes it was found in). */
ssize_t http_parse_request_resume(http_parser *p, const char *buf, size_t len, http_request *req, const http_limits *lim);

extern const http_limits http_default_limits;
/* The table's status and message for an error code; anything else is BAD_REQUEST's. */
int http_error_status(ssize_t err);
const char *http_error_reason(ssize_t err);

/* The request's views (method, target, path, header names and values) point into the
 * caller's buffer: after that buffer moved (realloc while the body arrives), this points them
 * at the same offsets from new_base. old_base is only compared, never read. */
void http_request_rebase(http_request *req, uintptr_t old_base, const char *new_base);

/* Case-insensitive header lookup; the last occurrence wins. NULL if absent. */
const http_header *http_find_header(const http_request *req, const char *name);

/* Incremental, in-place chunked-body decoder. Zero-initialise (set max_body; 0 = no bound),
 * then call with each new piece of the body in buf[0..*len): it always consumes the whole
 * piece (state carries over, so the caller keeps none of it), moves the decoded data to the
 * front of buf and sets *len to its length. Returns HTTP_INCOMPLETE while the body goes on;
 * when the body is complete, the number r >= 0 of bytes after it (the start of a pipelined
 * request), moved to buf[*len .. *len + r); or HTTP_E_BAD_REQUEST (framing other than strict
 * CRLF, a chunk size over 16 hex digits, an over-long extension or trailer section) or
 * HTTP_E_BODY_TOO_LARGE (decoded size over max_body). Chunk extensions are skipped and
 * trailer fields discarded. Once complete, later calls decode nothing: *len = 0, r = the piece. */
typedef struct {
    int state;
    uint64_t chunk_left;
    uint64_t total;
    uint64_t max_body;
    size_t line_len;
} http_chunked;
ssize_t http_decode_chunked(http_chunked *d, char *buf, size_t *len);

#endif
