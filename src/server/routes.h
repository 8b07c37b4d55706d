/* routes.h - the HTTP API. A request is first prepared (routed, body validated); it then
 * either has its answer at once, or is a model job computed later, on the loop or on an
 * inference thread, so that validation never waits for the model. */
#ifndef NERD_ROUTES_H
#define NERD_ROUTES_H

#include "server/http_parser.h"
#include "server/server.h"
#include "util/buf.h"
#include "util/displacy_json.h"
#include "util/json.h"

/* What a model job answers. */
typedef enum {
    ANSWER_SEED,          /* / : {entity_text: label} */
    ANSWER_ENTS,          /* /ents: {"ents": [...]} */
    ANSWER_DOC,           /* /doc: doc.to_json() */
    ANSWER_DISPLACY_ENT,  /* /displacy {"style": "ent"}: displacy.parse_ents */
    ANSWER_DISPLACY_DEP,  /* /displacy {"style": "dep"}: displacy.parse_deps */
} route_answer;

typedef struct {
    int status;
    const char *headers;     /* extra header lines ("Allow: ...\r\n"), static */
    const char *ctype;       /* Content-Type, NULL = application/json */
    buf body;                /* JSON */
    int route;               /* metrics_route_id */
    int model_slot;          /* the model that answers: 0 none, else 1 + its index in the served set */
    /* a model job: */
    int needs_model;
    route_answer answer;
    nerd_pipeline pipeline;  /* what the answer needs computed: /ents and / the served pipeline, /doc the whole Doc's */
    int noun_chunks;         /* /doc {"noun_chunks": true} */
    displacy_dep_options dep_options; /* /displacy {"style": "dep", "options": {...}} */
    int many;                /* {"texts": [...]} */
    json_doc req;            /* the parsed body the texts point into */
    const json_value *texts; /* the "text" string or the "texts" array */
    double compute_s;        /* time inside the model */
} route_result;

/* Routes a complete request. Fills r; r->needs_model says whether route_compute must run. */
void route_prepare(const worker_ctx *w, const http_request *req, const char *body, size_t body_len, route_result *r);
/* Runs the model for a prepared job (any thread; doc is that thread's), the pipeline r->pipeline. Past deadline (monotonic
 * seconds, 0 for none) the model stops and the answer is 504 "request timeout". */
void route_compute(const nerd_model *m, nerd_doc *doc, double deadline, route_result *r);
/* The methods a route answers ("GET, HEAD"), or NULL for a path that is none of the API's. */
const char *route_methods(int route);
/* The route needs the API key when --api-key-file is given: all but /healthz, /readyz and
 * (without --metrics-require-key) /metrics. */
int route_needs_key(const server_config *cfg, int route);
/* An error answer {"error": msg}. */
void route_error(route_result *r, int status, const char *msg);
void route_result_free(route_result *r);

/* Appends a whole response to out; head_only (the answer to HEAD): the header fields, with the
 * Content-Length of the body, and no content (RFC 9110 section 9.3.2). */
int http_write_response(buf *out, int status, int keep_alive, const char *ctype, const char *extra_headers,
                        const char *body, size_t len, int head_only);
const char *http_status_text(int status);

#endif
