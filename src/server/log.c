/* log.c - Gunicorn-style error and access logs. Each line is formatted whole and written with
 * one write(2) on an O_APPEND descriptor, so lines from many workers never interleave. */
#include "server/server.h"
#include "server/http_parser.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int error_fd = 2, access_fd = -1;
static log_level min_level = LOG_INFO;
static int access_json;
static const char *access_format; /* --access-logformat, NULL = the default line */

static int open_log(const char *path, int dflt, char *err, size_t errlen)
{
    if (!path) return -1;
    if (!strcmp(path, "-")) return dflt;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) snprintf(err, errlen, "cannot open log %s: %s", path, strerror(errno));
    return fd < 0 ? -2 : fd;
}

int log_open(const server_config *cfg, char *err, size_t errlen)
{
    min_level = cfg->log_level;
    access_json = cfg->access_log_json;
    access_format = cfg->access_logformat;
    int fd = open_log(cfg->error_log, 2, err, errlen);
    if (fd == -2) return -1;
    error_fd = fd < 0 ? 2 : fd;
    fd = open_log(cfg->access_log, 1, err, errlen);
    if (fd == -2) return -1;
    access_fd = fd;
    return 0;
}

void log_msg(log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
    if (lvl < min_level) return;
    char line[2048];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = (int)strftime(line, sizeof line, "[%Y-%m-%d %H:%M:%S +0000] ", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, "[%d] [%s] ", (int)getpid(), names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : n + m >= (int)sizeof line - 1 ? (int)sizeof line - 2 : n + m;
    line[n++] = '\n';
    if (write(error_fd, line, (size_t)n) < 0) {}
}

/* printable, quote-safe copy of a request field for the log */
static int clean(char *dst, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
        else dst[o++] = (char)c;
    }
    dst[o] = 0;
    return (int)o;
}

/* s as a JSON string: printable ASCII as it is, every other byte as \u00XX, so that a line is
 * valid JSON whatever bytes a client sent */
static void json_field(buf *b, const char *name, const char *s, size_t len)
{
    buf_printf(b, ",\"%s\":", name);
    if (!s) { buf_puts(b, "null"); return; }
    buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') buf_printf(b, "\\u%04x", c);
        else buf_putc(b, (char)c);
    }
    buf_putc(b, '"');
}

/* --access-log-format json: time (ISO 8601, UTC, ms), id, method, path, status, bytes,
 * duration (s), model, worker (pid), remote. */
static void log_access_json(const access_entry *e)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
    buf b = {0};
    buf_printf(&b, "{\"time\":\"%s\"", when);
    json_field(&b, "id", e->request_id, e->request_id ? strlen(e->request_id) : 0);
    json_field(&b, "method", e->method, e->method_len);
    json_field(&b, "path", e->path, e->path_len);
    buf_printf(&b, ",\"status\":%d,\"bytes\":%zu,\"duration\":%.6f", e->status, e->bytes, e->seconds);
    json_field(&b, "model", e->model, e->model ? strlen(e->model) : 0);
    buf_printf(&b, ",\"worker\":%d", (int)getpid());
    json_field(&b, "remote", e->remote, e->remote ? strlen(e->remote) : 0);
    if (!buf_puts(&b, "}\n") && write(access_fd, b.ptr, b.len) < 0) {}
    buf_free(&b);
}

static void put_clean(buf *b, const char *s, size_t len)
{
    if (!s) { buf_putc(b, '-'); return; }
    char tmp[1024];
    while (len) { /* clean() writes at most a quarter of its room per byte */
        size_t n = len < 250 ? len : 250;
        clean(tmp, sizeof tmp, s, n);
        buf_puts(b, tmp);
        s += n;
        len -= n;
    }
}

/* Request fields that hold credentials: logged as "-" whatever the format asks. */
static int secret_header(const char *name, size_t len)
{
    static const char *const secret[] = {"authorization", "proxy-authorization", "cookie"};
    for (size_t i = 0; i < sizeof secret / sizeof *secret; i++)
        if (strlen(secret[i]) == len && !strncasecmp(secret[i], name, len)) return 1;
    return 0;
}

/* One of Gunicorn's atoms, %(name)s; an unknown one is "-", as Gunicorn's. */
static void put_atom(buf *b, const access_entry *e, const char *name, size_t len)
{
    const http_request *q = e->request;
    const char *query = e->target ? memchr(e->target, '?', e->target_len) : NULL;
    if (len > 3 && name[0] == '{' && name[len - 2] == '}' && (name[len - 1] == 'i' || name[len - 1] == 'o')) {
        char field[128];
        snprintf(field, sizeof field, "%.*s", (int)(len - 3 < 127 ? len - 3 : 127), name + 1);
        if (name[len - 1] == 'o') { /* the answer's fields: its request id */
            buf_puts(b, !strcasecmp(field, "x-request-id") && e->request_id ? e->request_id : "-");
            return;
        }
        const http_header *h = q && !secret_header(field, strlen(field)) ? http_find_header(q, field) : NULL;
        put_clean(b, h ? h->value : NULL, h ? h->value_len : 0);
        return;
    }
    char c = len == 1 ? name[0] : 0;
    switch (c) {
    case 'h': buf_puts(b, e->remote ? e->remote : "-"); return;
    case 't': {
        time_t t = time(NULL);
        struct tm tm;
        char when[64];
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
        buf_puts(b, when);
        return;
    }
    case 'r':
        put_clean(b, e->method, e->method_len);
        buf_putc(b, ' ');
        put_clean(b, e->target, e->target_len);
        buf_printf(b, " HTTP/1.%d", e->minor_version);
        return;
    case 'm': put_clean(b, e->method, e->method_len); return;
    case 'U': put_clean(b, e->path, e->path_len); return;
    case 'q': if (query) put_clean(b, query + 1, (size_t)(e->target + e->target_len - query - 1)); return;
    case 'H': buf_printf(b, "HTTP/1.%d", e->minor_version); return;
    case 's': buf_printf(b, "%d", e->status); return;
    case 'B': buf_printf(b, "%zu", e->bytes); return;
    case 'b': if (e->bytes) buf_printf(b, "%zu", e->bytes); else buf_putc(b, '-'); return;
    case 'f': put_clean(b, e->referer, e->referer_len); return;
    case 'a': put_clean(b, e->agent, e->agent_len); return;
    case 'T': buf_printf(b, "%d", (int)e->seconds); return;
    case 'D': buf_printf(b, "%.0f", e->seconds * 1e6); return;
    case 'M': buf_printf(b, "%.0f", e->seconds * 1e3); return;
    case 'L': buf_printf(b, "%.6f", e->seconds); return;
    case 'p': buf_printf(b, "<%d>", (int)getpid()); return;
    default: buf_putc(b, '-'); return; /* l, u and the unknown */
    }
}

/* --access-logformat: Gunicorn's %(atom)s in the user's line; "%%" is a '%'. */
static void log_access_atoms(const access_entry *e)
{
    buf b = {0};
    for (const char *p = access_format; *p;) {
        const char *close = p[0] == '%' && p[1] == '(' ? strstr(p + 2, ")s") : NULL;
        if (close) {
            put_atom(&b, e, p + 2, (size_t)(close - p - 2));
            p = close + 2;
        } else {
            buf_putc(&b, *p);
            p += p[0] == '%' && p[1] == '%' ? 2 : 1;
        }
    }
    if (!buf_putc(&b, '\n') && write(access_fd, b.ptr, b.len) < 0) {}
    buf_free(&b);
}

void log_access(const access_entry *e)
{
    if (access_fd < 0) return;
    if (access_json) { log_access_json(e); return; }
    if (access_format) { log_access_atoms(e); return; }
    char line[4096], method[32], target[1024], ref[512], agent[512];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[64];
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    clean(method, sizeof method, e->method ? e->method : "-", e->method ? e->method_len : 1);
    clean(target, sizeof target, e->target ? e->target : "-", e->target ? e->target_len : 1);
    if (e->referer) clean(ref, sizeof ref, e->referer, e->referer_len); else strcpy(ref, "-");
    if (e->agent) clean(agent, sizeof agent, e->agent, e->agent_len); else strcpy(agent, "-");
    int n = snprintf(line, sizeof line, "%s - - [%s] \"%s %s HTTP/1.%d\" %d %zu \"%s\" \"%s\" %.0f %s\n",
                     e->remote ? e->remote : "-", when, method, target, e->minor_version, e->status, e->bytes, ref,
                     agent, e->seconds * 1e6, e->request_id ? e->request_id : "-");
    if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
    if (write(access_fd, line, (size_t)n) < 0) {}
}
