/* gate.c - request ids, CORS and API keys (gate.h). */
#include "server/gate.h"
#include "util/sha256.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ request ids */

static int request_id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == ':' || c == '-';
}

const char *request_id_problem(const char *v, size_t len)
{
    if (!len) return "X-Request-Id is empty";
    if (len > REQUEST_ID_MAX) return "X-Request-Id is longer than 128 characters";
    for (size_t i = 0; i < len; i++)
        if (!request_id_char((unsigned char)v[i])) return "X-Request-Id may hold only A-Z a-z 0-9 . _ : -";
    return NULL;
}

void request_id_generate(char out[REQUEST_ID_GENERATED + 1])
{
    unsigned char r[REQUEST_ID_GENERATED / 2];
    size_t got = 0;
    for (int tries = 0; got < sizeof r && tries < 8; tries++) {
        ssize_t n = getrandom(r + got, sizeof r - got, GRND_NONBLOCK);
        if (n > 0) got += (size_t)n;
        else if (errno != EINTR) break;
    }
    if (got < sizeof r) { /* no entropy yet (early boot): unique, not secret, is what an id needs */
        static uint64_t counter;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t a = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, b = ((uint64_t)getpid() << 32) | ++counter;
        memcpy(r, &a, 8);
        memcpy(r + 8, &b, 8);
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof r; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[REQUEST_ID_GENERATED] = 0;
}

/* ------------------------------------------------------------------ API keys */

typedef struct { unsigned char d[32]; } key_digest;
static key_digest *keys;
static size_t nkeys;
static int keys_configured;

static void digest(const char *s, size_t len, key_digest *out)
{
    sha256_ctx c;
    char hex[65];
    sha256_init(&c);
    sha256_update(&c, s, len);
    sha256_hex(&c, hex);
    for (int i = 0; i < 32; i++) {
        unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
        unsigned lo = (unsigned)(hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);
        out->d[i] = (unsigned char)(hi << 4 | lo);
    }
    memset(hex, 0, sizeof hex);
}

int api_keys_load(const server_config *cfg, char *err, size_t errlen)
{
    if (!cfg->api_key_file) return 0;
    FILE *f = fopen(cfg->api_key_file, "re");
    if (!f) {
        snprintf(err, errlen, "--api-key-file %s cannot be read: %s", cfg->api_key_file, strerror(errno));
        return -1;
    }
    key_digest *got = NULL;
    size_t n = 0, cap = 0, lineno = 0;
    char line[API_KEY_MAX + 2];
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            snprintf(err, errlen, "--api-key-file %s: line %zu is longer than %d bytes", cfg->api_key_file, lineno,
                     API_KEY_MAX);
            rc = -1;
            break;
        }
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        len = strlen(s);
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
        if (!len || *s == '#') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            key_digest *g = realloc(got, cap * sizeof *g);
            if (!g) { snprintf(err, errlen, "out of memory reading --api-key-file"); rc = -1; break; }
            got = g;
        }
        digest(s, len, &got[n++]);
    }
    if (!rc && ferror(f)) {
        snprintf(err, errlen, "--api-key-file %s cannot be read: %s", cfg->api_key_file, strerror(errno));
        rc = -1;
    }
    memset(line, 0, sizeof line); /* no key left behind on the stack */
    fclose(f);
    if (!rc && !n) {
        snprintf(err, errlen, "--api-key-file %s holds no key (one a line; blank lines and # comments are ignored)",
                 cfg->api_key_file);
        rc = -1;
    }
    if (rc) { free(got); return -1; }
    free(keys);
    keys = got;
    nkeys = n;
    keys_configured = 1;
    return 0;
}

int api_keys_configured(void) { return keys_configured; }
size_t api_keys_count(void) { return nkeys; }

void api_keys_free(void)
{
    free(keys);
    keys = NULL;
    nkeys = 0;
    keys_configured = 0;
}

int api_key_matches(const char *key, size_t len)
{
    key_digest d;
    digest(key, len, &d);
    unsigned found = 0;
    for (size_t i = 0; i < nkeys; i++) {
        unsigned diff = 0;
        for (int j = 0; j < 32; j++) diff |= (unsigned)(d.d[j] ^ keys[i].d[j]);
        found |= ((diff - 1u) >> 8) & 1u; /* 1 exactly when diff == 0, without a branch */
    }
    return (int)found;
}

/* ------------------------------------------------------------------ CORS */

/* Request headers a browser may always send (the CORS-safelisted ones, as Starlette allows
 * them), and those nerd's API reads. */
static const char *const default_headers[] = {"Accept", "Accept-Language", "Content-Language", "Content-Type",
                                              "Authorization", "X-Request-Id"};
enum { NDEFAULT_HEADERS = sizeof default_headers / sizeof *default_headers };

static int cors_configured(const server_config *cfg) { return cfg->cors_any_origin || cfg->ncors_origins; }

int cors_origin_allowed(const server_config *cfg, const http_request *q)
{
    if (!cors_configured(cfg)) return 0;
    const http_header *o = http_find_header(q, "origin");
    if (!o) return 0;
    if (cfg->cors_any_origin) return 1;
    for (int i = 0; i < cfg->ncors_origins; i++)
        if (strlen(cfg->cors_origins[i]) == o->value_len && !memcmp(cfg->cors_origins[i], o->value, o->value_len))
            return 1;
    return 0;
}

int cors_is_preflight(const server_config *cfg, const http_request *q)
{
    return cors_configured(cfg) && q->method_len == 7 && !memcmp(q->method, "OPTIONS", 7) &&
           http_find_header(q, "origin") && http_find_header(q, "access-control-request-method");
}

static int header_allowed(const server_config *cfg, const char *h, size_t len)
{
    if (cfg->cors_any_header) return 1;
    for (int i = 0; i < NDEFAULT_HEADERS; i++)
        if (strlen(default_headers[i]) == len && !strncasecmp(default_headers[i], h, len)) return 1;
    for (int i = 0; i < cfg->ncors_headers; i++)
        if (strlen(cfg->cors_headers[i]) == len && !strncasecmp(cfg->cors_headers[i], h, len)) return 1;
    return 0;
}

/* A method named in a list like "GET, HEAD, POST". */
static int method_listed(const char *list, const char *m, size_t len)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ", ");
        if (n && n == len && !memcmp(p, m, len)) return 1;
        p += n;
        p += strspn(p, ", ");
    }
    return 0;
}

int cors_preflight_problem(const server_config *cfg, const http_request *q, const char *allow_methods, char *msg,
                           size_t msglen)
{
    const http_header *m = http_find_header(q, "access-control-request-method");
    const http_header *h = http_find_header(q, "access-control-request-headers");
    int bad_origin = !cors_origin_allowed(cfg, q), bad_method = !m || !method_listed(allow_methods, m->value, m->value_len);
    int bad_headers = 0;
    for (size_t i = 0; h && i < h->value_len && !bad_headers;) {
        size_t start = i;
        while (i < h->value_len && h->value[i] != ',') i++;
        size_t end = i++;
        while (start < end && (h->value[start] == ' ' || h->value[start] == '\t')) start++;
        while (end > start && (h->value[end - 1] == ' ' || h->value[end - 1] == '\t')) end--;
        if (end > start && !header_allowed(cfg, h->value + start, end - start)) bad_headers = 1;
    }
    if (!bad_origin && !bad_method && !bad_headers) return 0;
    snprintf(msg, msglen, "Disallowed CORS %s%s%s%s%s", bad_origin ? "origin" : "",
             bad_origin && (bad_method || bad_headers) ? ", " : "", bad_method ? "method" : "",
             bad_method && bad_headers ? ", " : "", bad_headers ? "headers" : "");
    return 1;
}

int cors_headers(const server_config *cfg, const http_request *q, int outcome, const char *allow_methods, buf *out)
{
    if (outcome == CORS_NONE) return 0;
    const http_header *o = http_find_header(q, "origin");
    int rc = 0;
    if (cfg->cors_any_origin) { /* the same answer for every origin: nothing for caches to vary on */
        rc |= buf_puts(out, "Access-Control-Allow-Origin: *\r\n");
    } else {
        rc |= buf_printf(out, "Access-Control-Allow-Origin: %.*s\r\nVary: Origin\r\n", (int)o->value_len, o->value);
    }
    if (outcome == CORS_ALLOWED) return rc | buf_puts(out, "Access-Control-Expose-Headers: X-Request-Id\r\n");
    rc |= buf_printf(out, "Access-Control-Allow-Methods: %s\r\nAccess-Control-Max-Age: %d\r\nAccess-Control-Allow-Headers: ",
                     allow_methods, CORS_MAX_AGE_S);
    const http_header *h = http_find_header(q, "access-control-request-headers");
    if (cfg->cors_any_header) { /* '*' echoes what was asked (Starlette's way: '*' is not valid with credentials) */
        if (h) rc |= buf_append(out, h->value, h->value_len);
        else rc |= buf_puts(out, "Content-Type");
    } else {
        for (int i = 0; i < NDEFAULT_HEADERS; i++) rc |= buf_printf(out, "%s%s", i ? ", " : "", default_headers[i]);
        for (int i = 0; i < cfg->ncors_headers; i++) rc |= buf_printf(out, ", %s", cfg->cors_headers[i]);
    }
    return rc | buf_puts(out, "\r\n");
}
