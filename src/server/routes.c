#include "server/routes.h"
#include "util/doc_json.h"
#include "util/ents_json.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* src/server/openapi.json, docs.html and ui.html, embedded by the Makefile (build/gen/server_assets.c) */
extern const unsigned char server_asset_openapi_json[], server_asset_docs_html[], server_asset_ui_html[];
extern const size_t server_asset_openapi_json_len, server_asset_docs_html_len, server_asset_ui_html_len;

const char *http_status_text(int s)
{
    switch (s) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

int http_write_response(buf *out, int status, int keep_alive, const char *ctype, const char *extra, const char *body,
                        size_t len, int head_only)
{
    size_t before = out->len;
    static __thread time_t cached_t;
    static __thread char date[64];
    time_t t = time(NULL);
    if (t != cached_t) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_t = t;
    }
    if (buf_printf(out,
                   "HTTP/1.1 %d %s\r\nServer: nerd\r\nDate: %s\r\nContent-Type: %s\r\n"
                   "Content-Length: %zu\r\nConnection: %s\r\n%s\r\n",
                   status, http_status_text(status), date, ctype ? ctype : "application/json", len,
                   keep_alive ? "keep-alive" : "close", extra ? extra : "") ||
        (!head_only && buf_append(out, body, len))) {
        out->len = before; /* out of memory: no part of a response, whose head would promise the rest */
        if (out->ptr) out->ptr[before] = 0;
        return -1;
    }
    return 0;
}

const char *route_methods(int route)
{
    switch (route) {
    case ROUTE_ROOT: return "GET, HEAD, POST"; /* the seed's client sends GET with a body */
    case ROUTE_ENTS:
    case ROUTE_DOC:
    case ROUTE_DISPLACY: return "POST";
    case ROUTE_OTHER: return NULL;
    default: return "GET, HEAD";
    }
}

int route_needs_key(const server_config *cfg, int route)
{
    /* probes must work without a key (a load balancer or kubelet has none) */
    if (route == ROUTE_HEALTHZ || route == ROUTE_READYZ) return 0;
    return route != ROUTE_METRICS || cfg->metrics_require_key;
}

void route_error(route_result *r, int status, const char *msg)
{
    r->status = status;
    r->needs_model = 0;
    buf_clear(&r->body);
    /* out of memory, an empty body rather than part of one */
    if (buf_puts(&r->body, "{\"error\":") || json_write_string(&r->body, msg, strlen(msg), 0) || buf_putc(&r->body, '}'))
        buf_clear(&r->body);
}

static void route_nomem(route_result *r) { route_error(r, 500, nerd_strerror(NERD_ERR_NOMEM)); }

void route_result_free(route_result *r)
{
    buf_free(&r->body);
    json_doc_free(&r->req);
}

static int method_is(const http_request *q, const char *m)
{
    return q->method_len == strlen(m) && !memcmp(q->method, m, q->method_len);
}

/* The served model a request names (len bytes at name), or -1 with the 404 answer in r:
 * unknown model "x"; known: a, b. */
static int find_model(const worker_ctx *w, const char *name, size_t len, route_result *r)
{
    for (int i = 0; i < w->nmodels; i++)
        if (strlen(w->models[i].name) == len && !memcmp(w->models[i].name, name, len)) return i;
    /* the name is echoed at most SERVER_MODEL_NAME_MAX bytes long, cut between characters (a cut
     * inside one would make the answer invalid UTF-8) */
    size_t shown = len;
    if (shown > SERVER_MODEL_NAME_MAX) {
        shown = SERVER_MODEL_NAME_MAX;
        while (shown > 0 && ((unsigned char)name[shown] & 0xC0) == 0x80) shown--;
    }
    buf msg = {0};
    int rc = buf_printf(&msg, "unknown model \"%.*s\"; known: ", (int)shown, name);
    for (int i = 0; i < w->nmodels; i++) rc |= buf_printf(&msg, "%s%s", i ? ", " : "", w->models[i].name);
    if (rc) route_nomem(r);
    else route_error(r, 404, msg.ptr);
    buf_free(&msg);
    return -1;
}

/* The value of `key` in the request target's query (?a=1&name=x), or NULL; *len its length. */
static const char *query_value(const http_request *q, const char *key, size_t *len)
{
    const char *qm = memchr(q->target, '?', q->target_len), *end = q->target + q->target_len;
    size_t klen = strlen(key);
    for (const char *p = qm ? qm + 1 : end; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp) amp = end;
        if ((size_t)(amp - p) > klen && !memcmp(p, key, klen) && p[klen] == '=') {
            *len = (size_t)(amp - p) - klen - 1;
            return p + klen + 1;
        }
        p = amp + 1;
    }
    return NULL;
}

/* /model for one served model: 0, or -1 when memory ran out */
static int model_info(const worker_ctx *w, const served_model *sm, route_result *r)
{
    int rc = 0;
    const nerd_model *m = sm->model;
    buf *b = &r->body;
    rc |= buf_puts(b, "{\"model\":");
    rc |= json_write_string(b, sm->name, strlen(sm->name), 0);
    rc |= buf_printf(b, ",\"default\":%s,\"name\":", sm == &w->models[0] ? "true" : "false");
    rc |= json_write_string(b, nerd_model_name(m), strlen(nerd_model_name(m)), 0);
    rc |= buf_puts(b, ",\"version\":");
    rc |= json_write_string(b, nerd_model_version(m), strlen(nerd_model_version(m)), 0);
    /* the language spaCy builds it with (config.cfg [nlp] lang) */
    rc |= buf_printf(b, ",\"lang\":\"%s\"", nerd_model_lang(m));
    /* which folder and which weights: sha256 of the weight files concatenated in "files" order */
    rc |= buf_puts(b, ",\"path\":");
    rc |= json_write_string(b, nerd_model_dir(m), strlen(nerd_model_dir(m)), 0);
    rc |= buf_printf(b, ",\"weights\":{\"sha256\":\"%s\",\"files\":[", nerd_model_weights_sha256(m));
    const char *files = nerd_model_weights_files(m);
    for (const char *f = files, *sp; *f; f = *sp ? sp + 1 : sp) {
        sp = strchr(f, ' ');
        if (!sp) sp = f + strlen(f);
        if (f != files) rc |= buf_putc(b, ',');
        rc |= json_write_string(b, f, (size_t)(sp - f), 0);
    }
    rc |= buf_puts(b, "]}");
    /* the instruction set nerd's kernels use and the code path of the served precision */
    rc |= buf_printf(b, ",\"isa\":\"%s\",\"kernel\":\"%s\"", nerd_isa(), nerd_precision_kernel(w->cfg->precision));
    /* the static vectors a tok2vec reads (md, lg models), else null */
    nerd_vectors_info vi;
    if (nerd_model_vectors(m, &vi)) {
        rc |= buf_puts(b, ",\"vectors\":{\"name\":");
        rc |= json_write_string(b, vi.name, strlen(vi.name), 0);
        rc |= buf_printf(b, ",\"mode\":\"%s\",\"attr\":\"%s\",\"shape\":[%zu,%zu],\"keys\":%zu}", vi.mode, vi.attr,
                         vi.rows, vi.dims, vi.keys);
    } else {
        rc |= buf_puts(b, ",\"vectors\":null");
    }
    /* full: tok2vec, parser and ner as spacy.load runs them; ner: the ner alone */
    rc |= buf_printf(b, ",\"pipeline\":\"%s\",\"labels\":[", nerd_pipeline_name(sm->pipeline));
    for (size_t i = 0; i < nerd_model_nlabels(m); i++) {
        const char *l = nerd_model_label(m, i);
        if (i) rc |= buf_putc(b, ',');
        rc |= json_write_string(b, l, strlen(l), 0);
    }
    rc |= buf_puts(b, "]}");
    r->status = 200;
    return rc ? -1 : 0;
}

/* GET /models: the served set, the default first. 0, or -1 when memory ran out */
static int models_list(const worker_ctx *w, route_result *r)
{
    int rc = 0;
    buf *b = &r->body;
    rc |= buf_puts(b, "{\"models\":[");
    for (int i = 0; i < w->nmodels; i++) {
        const served_model *sm = &w->models[i];
        if (i) rc |= buf_putc(b, ',');
        /* the same names as /model's: "model" is what requests name it by, "name" its meta.json's */
        rc |= buf_puts(b, "{\"model\":");
        rc |= json_write_string(b, sm->name, strlen(sm->name), 0);
        rc |= buf_puts(b, ",\"path\":");
        rc |= json_write_string(b, sm->path, strlen(sm->path), 0);
        rc |= buf_printf(b, ",\"default\":%s,\"name\":", i ? "false" : "true");
        rc |= json_write_string(b, nerd_model_name(sm->model), strlen(nerd_model_name(sm->model)), 0);
        rc |= buf_puts(b, ",\"version\":");
        rc |= json_write_string(b, nerd_model_version(sm->model), strlen(nerd_model_version(sm->model)), 0);
        rc |= buf_printf(b, ",\"pipeline\":\"%s\",\"weights\":{\"sha256\":\"%s\"}}",
                         nerd_pipeline_name(sm->pipeline), nerd_model_weights_sha256(sm->model));
    }
    rc |= buf_puts(b, "]}");
    r->status = 200;
    return rc ? -1 : 0;
}

/* The whole Doc's pipeline (NERD_PIPELINE_DOC) for /doc and /displacy's dep style, or -1 with
 * the 501 answer in r when nerd cannot compute it for this model. */
static int whole_doc_pipeline(const served_model *sm, route_result *r)
{
    if (nerd_model_has_pipeline(sm->model, NERD_PIPELINE_DOC)) {
        r->pipeline = NERD_PIPELINE_DOC;
        return 0;
    }
    buf msg = {0};
    if (buf_printf(&msg, "model \"%s\" cannot compute the whole Doc: %s", sm->name,
                   nerd_model_pipeline_error(sm->model, NERD_PIPELINE_DOC)))
        route_nomem(r);
    else
        route_error(r, 501, msg.ptr);
    buf_free(&msg);
    return -1;
}

/* An optional boolean field of obj into *flag; -1 with the 400 answer in r when it is not a boolean. */
static int bool_field(const json_value *obj, const char *key, int *flag, route_result *r)
{
    const json_value *v = obj ? json_get(obj, key) : NULL;
    if (!v) return 0;
    if (v->type != JSON_TRUE && v->type != JSON_FALSE) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be true or false", key);
        route_error(r, 400, msg);
        return -1;
    }
    *flag = v->type == JSON_TRUE;
    return 0;
}

/* The model's noun chunks when asked for (want), or -1 with the 501 answer in r when nerd cannot
 * compute them spaCy's way (its language's syntax iterator, by name). */
static int noun_chunks_computed(const served_model *sm, int want, route_result *r)
{
    const char *why = want ? nerd_model_noun_chunks_error(sm->model) : NULL;
    if (!why) return 0;
    buf msg = {0};
    if (buf_printf(&msg, "model \"%s\" cannot compute doc.noun_chunks: %s", sm->name, why)) route_nomem(r);
    else route_error(r, 501, msg.ptr);
    buf_free(&msg);
    return -1;
}

/* /doc: {"noun_chunks": true} adds doc.noun_chunks. 0, or -1 with the answer in r. */
static int doc_request(const served_model *sm, route_result *r)
{
    r->answer = ANSWER_DOC;
    return bool_field(&r->req.root, "noun_chunks", &r->noun_chunks, r) || whole_doc_pipeline(sm, r) ||
                   noun_chunks_computed(sm, r->noun_chunks, r)
               ? -1
               : 0;
}

/* /displacy: {"style": "ent"|"dep"} (displacy.render's default, dep, without one), dep with
 * parse_deps' options in {"options": {...}} (others are ignored, as displaCy does; the ent style
 * has none, but the body must still be what the API describes). 0, or -1 with the answer in r. */
static int displacy_request(const served_model *sm, route_result *r)
{
    const json_value *style = json_get(&r->req.root, "style"), *o = json_get(&r->req.root, "options");
    if (style && (style->type != JSON_STRING || style->u.str.len != 3 ||
                  (memcmp(style->u.str.ptr, "ent", 3) && memcmp(style->u.str.ptr, "dep", 3)))) {
        route_error(r, 400, "style must be \"ent\" or \"dep\"");
        return -1;
    }
    if (o && o->type != JSON_OBJECT) {
        route_error(r, 400, "options must be an object");
        return -1;
    }
    displacy_dep_options *d = &r->dep_options;
    *d = DISPLACY_DEP_DEFAULTS;
    if (bool_field(o, "collapse_punct", &d->collapse_punct, r) || bool_field(o, "collapse_phrases", &d->collapse_phrases, r) ||
        bool_field(o, "fine_grained", &d->fine_grained, r) || bool_field(o, "add_lemma", &d->add_lemma, r))
        return -1;
    if (style && !memcmp(style->u.str.ptr, "ent", 3)) {
        r->answer = ANSWER_DISPLACY_ENT; /* the entities of the served pipeline, /ents' */
        return 0;
    }
    r->answer = ANSWER_DISPLACY_DEP;
    /* collapse_phrases merges the noun chunks */
    return whole_doc_pipeline(sm, r) || noun_chunks_computed(sm, d->collapse_phrases, r) ? -1 : 0;
}

void route_prepare(const worker_ctx *w, const http_request *q, const char *body, size_t body_len, route_result *r)
{
    memset(r, 0, sizeof *r);
    r->route = metrics_route_id(q->path, q->path_len);
    /* HEAD is GET without the content (the worker drops it), same status and header fields */
    int get = method_is(q, "GET") || method_is(q, "HEAD"), post = method_is(q, "POST");
    static const char allow_get[] = "Allow: GET, HEAD\r\n";
    switch (r->route) {
    case ROUTE_HEALTHZ: /* /healthz: the process is alive */
        if (!get) { route_error(r, 405, "method not allowed"); r->headers = allow_get; return; }
        r->status = 200;
        if (buf_puts(&r->body, "{\"status\":\"ok\"}")) route_nomem(r);
        return;
    case ROUTE_READYZ: { /* /readyz: the model is loaded and this worker is not draining */
        if (!get) { route_error(r, 405, "method not allowed"); r->headers = allow_get; return; }
        int draining = atomic_load(&w->shared->draining) ||
                       atomic_load(&w->shared->slots[w->slot].state) == SLOT_DRAINING;
        if (!w->nmodels || draining) { route_error(r, 503, draining ? "draining" : "model not loaded"); return; }
        r->status = 200;
        if (buf_puts(&r->body, "{\"status\":\"ready\"}")) route_nomem(r);
        return;
    }
    case ROUTE_METRICS:
        if (!get) { route_error(r, 405, "method not allowed"); r->headers = allow_get; return; }
        r->status = 200;
        if (metrics_render(w->shared, w->cfg, w->models, w->nmodels, &r->body)) { route_nomem(r); return; }
        r->ctype = "text/plain; version=0.0.4; charset=utf-8";
        return;
    case ROUTE_MODEL: { /* /model?name=NAME, the default without one */
        if (!get) { route_error(r, 405, "method not allowed"); r->headers = allow_get; return; }
        size_t len;
        const char *name = query_value(q, "name", &len);
        int i = name ? find_model(w, name, len, r) : 0;
        if (i >= 0 && model_info(w, &w->models[i], r)) route_nomem(r);
        return;
    }
    case ROUTE_MODELS:
        if (!get) { route_error(r, 405, "method not allowed"); r->headers = allow_get; return; }
        if (models_list(w, r)) route_nomem(r);
        return;
    case ROUTE_OPENAPI: /* the API's description, OpenAPI 3.1 */
    case ROUTE_DOCS:    /* a page that renders it, with no external assets */
    case ROUTE_UI:      /* a page that shows /displacy's answers, with no external assets */
        if (!get) { route_error(r, 405, "method not allowed"); r->headers = allow_get; return; }
        r->status = 200;
        if (r->route == ROUTE_OPENAPI) {
            buf_append(&r->body, server_asset_openapi_json, server_asset_openapi_json_len);
        } else {
            if (r->route == ROUTE_DOCS) buf_append(&r->body, server_asset_docs_html, server_asset_docs_html_len);
            else buf_append(&r->body, server_asset_ui_html, server_asset_ui_html_len);
            r->ctype = "text/html; charset=utf-8";
        }
        return;
    case ROUTE_ROOT: /* / : the seed's API, GET with a JSON body as the seed's client sends, or POST */
    case ROUTE_ENTS: /* /ents */
    case ROUTE_DOC: /* /doc */
    case ROUTE_DISPLACY: /* /displacy */
        if (r->route == ROUTE_ROOT ? !(get || post) : !post) {
            route_error(r, 405, "method not allowed");
            r->headers = r->route == ROUTE_ROOT ? "Allow: GET, HEAD, POST\r\n" : "Allow: POST\r\n";
            return;
        }
        break;
    default:
        route_error(r, 404, "not found");
        return;
    }
    char err[160];
    if (!body_len) { route_error(r, 400, "a JSON body {\"text\": ...} is required"); return; }
    int parsed = json_parse(body, body_len, 32, &r->req, err, sizeof err);
    if (parsed == JSON_ERR_NOMEM) { route_nomem(r); return; } /* the server's failure, not the client's */
    if (parsed) {
        char msg[200];
        snprintf(msg, sizeof msg, "invalid JSON: %s", err);
        route_error(r, 400, msg);
        return;
    }
    if (r->req.root.type != JSON_OBJECT) { route_error(r, 400, "the body must be a JSON object"); return; }
    /* every route but the seed's takes several texts */
    const json_value *t = json_get(&r->req.root, "text"), *ts = r->route != ROUTE_ROOT ? json_get(&r->req.root, "texts") : NULL;
    if (t && ts) { route_error(r, 400, "give either text or texts, not both"); return; }
    if (ts) {
        if (ts->type != JSON_ARRAY) { route_error(r, 400, "texts must be a list of strings"); return; }
        for (size_t i = 0; i < ts->u.arr.n; i++)
            if (ts->u.arr.items[i].type != JSON_STRING) { route_error(r, 400, "texts must be a list of strings"); return; }
        r->texts = ts;
        r->many = 1;
    } else if (!t) {
        route_error(r, 400, "missing field: text");
        return;
    } else if (t->type != JSON_STRING) {
        route_error(r, 400, "text must be a string");
        return;
    } else {
        r->texts = t;
    }
    const json_value *name = json_get(&r->req.root, "model");
    int model = 0; /* the default */
    if (name && name->type != JSON_STRING) { route_error(r, 400, "model must be a string"); return; }
    if (name && (model = find_model(w, name->u.str.ptr, name->u.str.len, r)) < 0) return;
    r->model_slot = 1 + model;
    r->pipeline = w->models[model].pipeline;
    r->answer = r->route == ROUTE_ROOT ? ANSWER_SEED : ANSWER_ENTS;
    if ((r->route == ROUTE_DOC && doc_request(&w->models[model], r)) ||
        (r->route == ROUTE_DISPLACY && displacy_request(&w->models[model], r)))
        return;
    r->needs_model = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One text's answer: 0, a nerd_status, or -1 when memory ran out. */
static int one_text(const nerd_model *m, nerd_doc *doc, double deadline, const json_value *t, const route_result *r,
                    buf *out)
{
    const char *text = t->u.str.ptr;
    size_t len = t->u.str.len;
    nerd_status st = nerd_ner_until(m, doc, text, len, r->pipeline, deadline);
    if (st != NERD_OK) return (int)st;
    switch (r->answer) {
    case ANSWER_SEED: return ents_write_dict(doc, text, out);
    case ANSWER_ENTS: return ents_write_list(doc, text, out);
    case ANSWER_DOC: return doc_write_json(doc, text, len, r->noun_chunks ? DOC_JSON_NOUN_CHUNKS : 0, out);
    case ANSWER_DISPLACY_ENT:
    case ANSWER_DISPLACY_DEP: break;
    }
    const char *lang = nerd_model_lang(m); /* doc.lang_: config.cfg's [nlp] lang */
    return r->answer == ANSWER_DISPLACY_ENT ? displacy_write_ents(doc, text, len, lang, out)
                                            : displacy_write_deps(doc, text, lang, &r->dep_options, out);
}

void route_compute(const nerd_model *m, nerd_doc *doc, double deadline, route_result *r)
{
    double t0 = now_s();
    buf_clear(&r->body);
    int rc = 0; /* a nerd_status, or -1 when memory ran out writing the answer */
    /* /ents wraps its list in {"ents": ...}; the others answer one text with one object */
    const char *open_many = r->answer == ANSWER_ENTS ? "{\"ents\":[" : "{\"docs\":[";
    if (!r->many) {
        if (r->answer == ANSWER_ENTS && buf_puts(&r->body, "{\"ents\":")) rc = -1;
        if (!rc) rc = one_text(m, doc, deadline, r->texts, r, &r->body);
        if (!rc && r->answer == ANSWER_ENTS && buf_putc(&r->body, '}')) rc = -1;
    } else {
        if (buf_puts(&r->body, open_many)) rc = -1;
        for (size_t i = 0; i < r->texts->u.arr.n && !rc; i++) {
            if (i && buf_putc(&r->body, ',')) rc = -1;
            if (!rc) rc = one_text(m, doc, deadline, &r->texts->u.arr.items[i], r, &r->body);
        }
        if (!rc && buf_puts(&r->body, "]}")) rc = -1;
    }
    r->compute_s = now_s() - t0;
    r->needs_model = 0;
    if (rc == NERD_ERR_DEADLINE) route_error(r, 504, "request timeout");
    else if (rc > 0) route_error(r, rc == NERD_ERR_UTF8 ? 400 : rc == NERD_ERR_UNSUPPORTED ? 503 : 500, nerd_strerror((nerd_status)rc));
    else if (rc < 0) route_nomem(r);
    else r->status = 200;
}
