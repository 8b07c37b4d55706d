/* config.c - `nerd serve`'s command line, in Gunicorn's spellings (-b, -w, -k, -t,
 * --worker-connections, --max-requests, ...) and Uvicorn's (--host, --port, --workers,
 * --limit-concurrency), `--opt value` and `--opt=value` alike. */
#include "server/server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char host_port[256];
/* the comma lists' items, split out of their arguments */
static char list_items[2][SERVER_MAX_CORS_ITEMS][SERVER_MAX_CORS_ITEM + 1];

/* Adds the items of a comma list (one or more) to items[*n]; "*" sets *any. -1 with err. */
static int add_list(const char *flag, const char *val, char store[][SERVER_MAX_CORS_ITEM + 1], const char **items,
                    int *n, int *any, char *err, size_t errlen)
{
    for (const char *p = val; *p;) {
        size_t len = strcspn(p, ",");
        const char *end = p + len;
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        size_t l = (size_t)(end - p);
        while (l && (p[l - 1] == ' ' || p[l - 1] == '\t')) l--;
        if (l == 1 && *p == '*') {
            *any = 1;
        } else if (l) {
            if (l > SERVER_MAX_CORS_ITEM) { snprintf(err, errlen, "%s: an item is longer than %d bytes", flag, SERVER_MAX_CORS_ITEM); return -1; }
            if (*n == SERVER_MAX_CORS_ITEMS) { snprintf(err, errlen, "%s: at most %d items", flag, SERVER_MAX_CORS_ITEMS); return -1; }
            for (size_t k = 0; k < l; k++)
                if ((unsigned char)p[k] <= ' ' || p[k] == 0x7f) { snprintf(err, errlen, "%s: '%.*s' holds a space or control character", flag, (int)l, p); return -1; }
            memcpy(store[*n], p, l);
            store[*n][l] = 0;
            items[*n] = store[*n];
            ++*n;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

void server_config_usage(FILE *f)
{
    fprintf(f,
            "usage: nerd serve [OPTIONS]\n"
            "  -b, --bind ADDR              HOST:PORT, [::1]:PORT or unix:PATH; repeatable (default 127.0.0.1:8000)\n"
            "      --host HOST --port PORT  Uvicorn's spelling of one --bind\n"
            "  -w, --workers N              worker processes (default 1)\n"
            "  -k, --worker-class sync|async  one connection at a time, or an epoll loop (default sync)\n"
            "      --worker-connections N   open connections per async worker (default 1000)\n"
            "      --threads N              async: inference threads per worker; 0 runs the model on the loop (default 0)\n"
            "      --limit-concurrency N    in-flight requests per worker before 503 (default: none)\n"
            "      --backlog N              listen backlog (default 2048)\n"
            "  -t, --timeout S              kill a worker whose heartbeat stops for S seconds (default 30)\n"
            "                               (--threads: replace one whose thread is on a request for S + 1 s)\n"
            "      --graceful-timeout S     TERM/HUP: time for in-flight requests (default 30)\n"
            "      --keep-alive S           idle keep-alive connections are closed after S seconds (default 75)\n"
            "      --request-timeout S      answer 504 and stop the model past S seconds (default: none)\n"
            "      --header-timeout S       408 when a request has not arrived whole after S seconds (default 10)\n"
            "      --max-requests N         recycle a worker after N requests (default: never)\n"
            "      --max-requests-jitter N  add 0..N to --max-requests per worker\n"
            "      --max-body-size BYTES    413 beyond (default 1048576)\n"
            "      --limit-request-line N   414 beyond (default 8190)\n"
            "      --limit-request-field_size N  431 beyond (default 8190)\n"
            "      --limit-request-fields N 431 beyond (default 100)\n"
            "      --simulate-io S          the seed's second experiment: S seconds of IO before the model\n"
            "      --pid FILE               write the master's pid\n"
            "      --access-logfile -|FILE  access log (default: none)\n"
            "      --error-logfile -|FILE   error log (default: stderr)\n"
            "      --access-log-format gunicorn|json  Gunicorn's line (default) or one JSON object a line\n"
            "      --access-logformat FMT   Gunicorn's atoms: %%(h)s %%(t)s %%(r)s %%(s)s %%(b)s %%(D)s %%({x-request-id}o)s %%({NAME}i)s ...\n"
            "      --log-level LEVEL        debug, info, warning, error, critical (default info)\n"
            "      --cors-allow-origin O    answer CORS from origin O (repeatable, a comma list, or '*'; default: no CORS)\n"
            "      --cors-allow-headers H   request headers allowed beyond Accept, Accept-Language, Content-Language,\n"
            "                               Content-Type, Authorization and X-Request-Id (comma list, or '*')\n"
            "      --api-key-file FILE      require Authorization: Bearer KEY, KEY one line of FILE (blank lines and\n"
            "                               # comments ignored; reread on HUP); /healthz, /readyz stay open\n"
            "      --metrics-require-key    /metrics needs a key too (default: open)\n"
            "      --model [NAME=]DIR       model folder (else $NERD_MODEL, else models/en_core_web_sm-3.8.0,\n"
            "                               else ../shared/models/en_core_web_sm); repeatable, each under its NAME\n"
            "                               (default: its meta.json's), requests choose one by \"model\", the first\n"
            "                               is the default\n"
            "      --precision P            fp32 (default: spaCy's entities exactly), bf16 (faster products where the CPU\n"
            "                               has AVX512_BF16) or int8 (faster with AVX2); agreement with spaCy as\n"
            "                               nerd eval --precision P reports\n"
            "      --pipeline full|ner|doc  full: spacy.load's pipeline, whose parser sets the sentence starts\n"
            "                               entities cannot cross, as the seed's servers; ner: the ner alone;\n"
            "                               doc: all of spacy.load's components (tags, lemmas: the whole Doc)\n"
            "                               (default: full when the folder has a parser, else ner, as spacy.load)\n");
}

static int num(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

/* --model NAME=DIR or --model DIR. A NAME is what a request's "model" says: letters, digits and
 * "._-", so that it needs no escaping in JSON, URLs or metric labels, and is unique. A '=' in a
 * value whose head is not such a name is part of a folder's path. */
static int parse_model_spec(server_config *c, char *val, char *err, size_t errlen)
{
    if (c->nmodels == SERVER_MAX_MODELS) { snprintf(err, errlen, "at most %d --model", SERVER_MAX_MODELS); return -1; }
    model_spec m = {NULL, val};
    char *eq = strchr(val, '=');
    size_t name_len = eq ? (size_t)(eq - val) : 0;
    int is_name = eq && name_len > 0 && name_len < SERVER_MODEL_NAME_MAX && strspn(val, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == name_len;
    if (is_name) {
        *eq = 0;
        m = (model_spec){val, eq + 1};
        if (!*m.dir) { snprintf(err, errlen, "--model %s= needs a folder", val); return -1; }
        for (int i = 0; i < c->nmodels; i++)
            if (c->models[i].name && !strcmp(c->models[i].name, val)) {
                snprintf(err, errlen, "--model: the name '%s' is given twice", val);
                return -1;
            }
    }
    c->models[c->nmodels++] = m;
    return 0;
}

int server_config_parse(server_config *c, int argc, char **argv, char *err, size_t errlen)
{
    *c = (server_config){
        .nbinds = 0, .workers = 1, .wclass = WORKER_SYNC, .worker_connections = 1000, .threads = 0, .backlog = 2048,
        .timeout = 30, .graceful_timeout = 30, .keep_alive = 75, .request_timeout = 0, .header_timeout = 10,
        .limit_concurrency = 0, .max_requests = 0, .max_requests_jitter = 0, .max_body_size = 1 << 20,
        .limit_request_line = 8190, .limit_request_field_size = 8190, .limit_request_fields = 100, .simulate_io = 0,
        .pidfile = NULL, .access_log = NULL, .error_log = "-", .log_level = LOG_INFO, .nmodels = 0,
        .pipeline = NERD_PIPELINE_FULL, /* the seed's servers run spacy.load(name) whole */
    };
    const char *host = NULL, *port = NULL;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *val = NULL;
        char name[64];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            server_config_usage(stdout);
            return 1;
        }
        char *eq = strncmp(a, "--", 2) ? NULL : strchr(a, '=');
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
#define IS(s) (!strcmp(name, s))
#define NEED_VAL()                                                                   \
    do {                                                                             \
        if (!val) {                                                                  \
            if (i + 1 >= argc) { snprintf(err, errlen, "%s needs a value", name); return -1; } \
            val = argv[++i];                                                         \
        }                                                                            \
    } while (0)
#define NUM(lo, hi, dst)                                                             \
    do {                                                                             \
        double x_;                                                                   \
        NEED_VAL();                                                                  \
        if (num(val, lo, hi, &x_)) {                                                 \
            snprintf(err, errlen, "%s: '%s' is not a number from %g to %g", name, val, (double)(lo), (double)(hi)); \
            return -1;                                                               \
        }                                                                            \
        dst = x_;                                                                    \
    } while (0)
        if (IS("-b") || IS("--bind")) {
            NEED_VAL();
            if (c->nbinds == SERVER_MAX_BINDS) { snprintf(err, errlen, "at most %d --bind", SERVER_MAX_BINDS); return -1; }
            c->binds[c->nbinds++] = val;
        } else if (IS("--host")) { NEED_VAL(); host = val; }
        else if (IS("--port")) { NEED_VAL(); port = val; }
        else if (IS("-w") || IS("--workers")) NUM(1, SERVER_MAX_WORKERS / 2, c->workers);
        else if (IS("-k") || IS("--worker-class")) {
            NEED_VAL();
            if (!strcmp(val, "sync")) c->wclass = WORKER_SYNC;
            else if (!strcmp(val, "async") || !strcmp(val, "gevent") || !strcmp(val, "uvicorn")) c->wclass = WORKER_ASYNC;
            else { snprintf(err, errlen, "--worker-class must be sync or async, not '%s'", val); return -1; }
        } else if (IS("--worker-connections")) NUM(1, 1000000, c->worker_connections);
        else if (IS("--threads")) NUM(0, 256, c->threads);
        else if (IS("--backlog")) NUM(1, 1 << 20, c->backlog);
        else if (IS("-t") || IS("--timeout")) NUM(1, 86400, c->timeout);
        else if (IS("--graceful-timeout")) NUM(0, 86400, c->graceful_timeout);
        else if (IS("--keep-alive")) NUM(0, 86400, c->keep_alive);
        else if (IS("--request-timeout")) NUM(0, 86400, c->request_timeout);
        else if (IS("--header-timeout")) NUM(0.01, 86400, c->header_timeout);
        else if (IS("--limit-concurrency")) NUM(0, 1000000, c->limit_concurrency);
        else if (IS("--max-requests")) NUM(0, 1e12, c->max_requests);
        else if (IS("--max-requests-jitter")) NUM(0, 1e12, c->max_requests_jitter);
        else if (IS("--max-body-size")) NUM(1, 1 << 30, c->max_body_size);
        else if (IS("--limit-request-line")) NUM(16, 1 << 20, c->limit_request_line);
        else if (IS("--limit-request-field_size") || IS("--limit-request-field-size")) NUM(16, 1 << 20, c->limit_request_field_size);
        else if (IS("--limit-request-fields")) NUM(1, 32768, c->limit_request_fields);
        else if (IS("--simulate-io")) NUM(0, 3600, c->simulate_io);
        else if (IS("--pid")) { NEED_VAL(); c->pidfile = val; }
        else if (IS("--access-logfile")) { NEED_VAL(); c->access_log = val; }
        else if (IS("--error-logfile") || IS("--log-file")) { NEED_VAL(); c->error_log = val; }
        else if (IS("--access-log-format")) {
            NEED_VAL();
            if (!strcmp(val, "json")) c->access_log_json = 1;
            else if (!strcmp(val, "gunicorn")) c->access_log_json = 0;
            else { snprintf(err, errlen, "--access-log-format must be gunicorn or json, not '%s'", val); return -1; }
        } else if (IS("--access-logformat")) {
            NEED_VAL();
            c->access_logformat = val;
        } else if (IS("--cors-allow-origin")) {
            NEED_VAL();
            if (add_list(name, val, list_items[0], c->cors_origins, &c->ncors_origins, &c->cors_any_origin, err, errlen)) return -1;
        } else if (IS("--cors-allow-headers")) {
            NEED_VAL();
            if (add_list(name, val, list_items[1], c->cors_headers, &c->ncors_headers, &c->cors_any_header, err, errlen)) return -1;
        } else if (IS("--api-key-file")) { NEED_VAL(); c->api_key_file = val; }
        else if (IS("--metrics-require-key")) c->metrics_require_key = 1;
        else if (IS("--api-key") || IS("--api-keys")) {
            snprintf(err, errlen, "%s: keys are never taken on the command line, where ps shows them; use --api-key-file", name);
            return -1;
        }
        else if (IS("--log-level")) {
            NEED_VAL();
            static const char *levels[] = {"debug", "info", "warning", "error", "critical"};
            int found = 0;
            for (int k = 0; k < 5; k++) if (!strcmp(val, levels[k])) { c->log_level = (log_level)k; found = 1; }
            if (!found) { snprintf(err, errlen, "--log-level must be debug, info, warning, error or critical"); return -1; }
        } else if (IS("--model")) {
            NEED_VAL();
            if (parse_model_spec(c, val, err, errlen)) return -1;
        }
        else if (IS("--pipeline")) {
            NEED_VAL();
            c->pipeline_given = 1;
            if (nerd_pipeline_parse(val, &c->pipeline)) {
                snprintf(err, errlen, "--pipeline must be ner, full or doc");
                return -1;
            }
        } else if (IS("--precision")) {
            NEED_VAL();
            if (nerd_precision_parse(val, &c->precision)) {
                snprintf(err, errlen, "--precision must be fp32, bf16 or int8, not '%s'", val);
                return -1;
            }
        } else {
            snprintf(err, errlen, "unknown option '%s' (nerd serve --help lists them)", a);
            return -1;
        }
#undef IS
#undef NEED_VAL
#undef NUM
    }
    if (c->access_log_json && c->access_logformat) {
        snprintf(err, errlen, "--access-log-format json and --access-logformat: choose one");
        return -1;
    }
    if (c->metrics_require_key && !c->api_key_file) {
        snprintf(err, errlen, "--metrics-require-key needs --api-key-file");
        return -1;
    }
    if (host || port) {
        if (c->nbinds == SERVER_MAX_BINDS) { snprintf(err, errlen, "too many binds"); return -1; }
        snprintf(host_port, sizeof host_port, "%s:%s", host ? host : "127.0.0.1", port ? port : "8000");
        c->binds[c->nbinds++] = host_port;
    }
    if (!c->nbinds) c->binds[c->nbinds++] = "127.0.0.1:8000";
    if (!c->nmodels) c->models[c->nmodels++] = (model_spec){NULL, NULL};
    return 0;
}
