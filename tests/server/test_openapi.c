/* The OpenAPI description (src/server/openapi.json, served at /openapi.json) against the server
 * it describes: valid JSON, exactly the routes of the route table (METRIC_ROUTE_MAP, which
 * routes.c dispatches on), exactly the methods each route answers (every other one is 405 with
 * an Allow that lists the documented ones), and every example answer of the same shape as the
 * server's real answer to the example request (the golden "Angela Merkel visited Paris."), and,
 * on the real en_core_web_sm, the entity examples are its answers byte for byte. */
#include "test.h"
#include "server/serve_helper.h"
#include "server/server.h"
#include "util/json.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* what the server answers (the bytes routes.c embeds) */
extern const unsigned char server_asset_openapi_json[];
extern const size_t server_asset_openapi_json_len;

static const char *const route_paths[] = {
#define ROUTE_PATH(name, label) label,
    METRIC_ROUTE_MAP(ROUTE_PATH)
#undef ROUTE_PATH
};
#define NROUTES ((int)(sizeof route_paths / sizeof *route_paths) - 1) /* without "other" */

/* the methods a client may send; a route answers those the spec lists for it and 405 to the rest */
static const char *const http_methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

static void parse_spec(json_doc *spec)
{
    char err[160];
    CHECKF(!json_parse((const char *)server_asset_openapi_json, server_asset_openapi_json_len, 64, spec, err, sizeof err),
           "openapi.json: %s", err);
    CHECK(spec->root.type == JSON_OBJECT);
}

static int str_is(const json_value *v, const char *s)
{
    return v && v->type == JSON_STRING && v->u.str.len == strlen(s) && !memcmp(v->u.str.ptr, s, v->u.str.len);
}

/* The object at a local "$ref" ("#/components/..."), or v itself. */
static const json_value *resolve(const json_doc *spec, const json_value *v)
{
    const json_value *ref = v && v->type == JSON_OBJECT ? json_get(v, "$ref") : NULL;
    if (!ref) return v;
    CHECK(ref->type == JSON_STRING && !strncmp(ref->u.str.ptr, "#/", 2));
    char path[256];
    snprintf(path, sizeof path, "%s", ref->u.str.ptr + 2);
    const json_value *at = &spec->root;
    for (char *part = strtok(path, "/"); part; part = strtok(NULL, "/")) {
        at = json_get(at, part);
        CHECKF(at, "dangling $ref %s", ref->u.str.ptr);
    }
    return at;
}

TEST(openapi_spec_is_json_with_exactly_the_route_tables_paths)
{
    json_doc spec = {0};
    parse_spec(&spec);
    CHECK(str_is(json_get(&spec.root, "openapi"), "3.1.0"));
    const json_value *paths = json_get(&spec.root, "paths");
    CHECK(paths && paths->type == JSON_OBJECT);
    for (int i = 0; i < NROUTES; i++) CHECKF(json_get(paths, route_paths[i]), "route %s is not in the spec", route_paths[i]);
    for (size_t p = 0; p < paths->u.obj.n; p++) {
        int found = 0;
        for (int i = 0; i < NROUTES; i++) found |= !strcmp(paths->u.obj.items[p].key, route_paths[i]);
        CHECKF(found, "the spec's path %s is not a route", paths->u.obj.items[p].key);
    }
    CHECK_EQ_INT(paths->u.obj.n, NROUTES);
    json_doc_free(&spec);
}

TEST(openapi_spec_documents_exactly_the_methods_each_route_answers)
{
    json_doc spec = {0};
    parse_spec(&spec);
    test_server s;
    server_start(&s, (const char *[]){NULL});
    const json_value *paths = json_get(&spec.root, "paths");
    for (size_t p = 0; p < paths->u.obj.n; p++) {
        const char *path = paths->u.obj.items[p].key;
        const json_value *item = &paths->u.obj.items[p].val;
        char allow[128] = "";
        for (size_t m = 0; m < sizeof http_methods / sizeof *http_methods; m++) {
            char lower[16];
            size_t k = 0;
            for (; http_methods[m][k]; k++) lower[k] = (char)(http_methods[m][k] | 0x20);
            lower[k] = 0;
            if (!json_get(item, lower)) continue;
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s", *allow ? ", " : "", http_methods[m]);
        }
        for (size_t m = 0; m < sizeof http_methods / sizeof *http_methods; m++) {
            buf out = {0};
            int documented = strstr(allow, http_methods[m]) != NULL;
            int status = http_json(s.port, http_methods[m], path, "{\"text\": \"Angela Merkel visited Paris.\"}", &out);
            CHECKF(status != 0, "%s %s: no answer", http_methods[m], path);
            CHECKF((status == 405) == !documented, "%s %s: %d, the spec documents %s", http_methods[m], path, status, allow);
            if (status == 405) {
                char want[160];
                snprintf(want, sizeof want, "\r\nAllow: %s\r\n", allow);
                CHECKF(strstr(out.ptr, want), "%s %s: the 405 should say %s:\n%s", http_methods[m], path, want + 2, out.ptr);
            }
            buf_free(&out);
        }
    }
    server_stop(&s, SIGTERM);
    json_doc_free(&spec);
}

/* Writes v as JSON (the example requests: strings, arrays, objects, numbers). */
static void write_json(buf *b, const json_value *v)
{
    switch (v->type) {
    case JSON_STRING: json_write_string(b, v->u.str.ptr, v->u.str.len, 0); break;
    case JSON_NUMBER: buf_printf(b, "%.17g", v->u.num); break;
    case JSON_ARRAY:
        buf_putc(b, '[');
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (i) buf_putc(b, ',');
            write_json(b, &v->u.arr.items[i]);
        }
        buf_putc(b, ']');
        break;
    case JSON_OBJECT:
        buf_putc(b, '{');
        for (size_t i = 0; i < v->u.obj.n; i++) {
            if (i) buf_putc(b, ',');
            json_write_string(b, v->u.obj.items[i].key, v->u.obj.items[i].keylen, 0);
            buf_putc(b, ':');
            write_json(b, &v->u.obj.items[i].val);
        }
        buf_putc(b, '}');
        break;
    default: buf_puts(b, v->type == JSON_NULL ? "null" : v->type == JSON_TRUE ? "true" : "false");
    }
}

/* Same shape: the same JSON types all the way down; objects with the same keys, except maps (a
 * schema with additionalProperties and no properties: entity text -> label), whose values must
 * have the same shape; arrays whose elements all have the shape of the other's first one. where
 * names the place for the failure message. */
static void check_shape(const json_doc *spec, const json_value *schema, const json_value *want, const json_value *got,
                        const char *where)
{
    schema = resolve(spec, schema);
    CHECKF(want->type == got->type || (want->type >= JSON_FALSE && want->type <= JSON_TRUE && got->type <= JSON_TRUE),
           "%s: a JSON type %d where the example has %d", where, got->type, want->type);
    const json_value *props = schema ? json_get(schema, "properties") : NULL;
    const json_value *addl = schema ? json_get(schema, "additionalProperties") : NULL;
    char inner[512];
    if (want->type == JSON_OBJECT && !props && addl && addl->type == JSON_OBJECT) {
        for (size_t i = 0; i < got->u.obj.n && want->u.obj.n; i++) {
            snprintf(inner, sizeof inner, "%s.%s", where, got->u.obj.items[i].key);
            check_shape(spec, addl, &want->u.obj.items[0].val, &got->u.obj.items[i].val, inner);
        }
    } else if (want->type == JSON_OBJECT) {
        CHECKF(want->u.obj.n == got->u.obj.n, "%s: %zu fields where the example has %zu", where, got->u.obj.n, want->u.obj.n);
        for (size_t i = 0; i < want->u.obj.n; i++) {
            const char *key = want->u.obj.items[i].key;
            const json_value *g = json_get(got, key);
            CHECKF(g, "%s: no field %s in the real answer", where, key);
            snprintf(inner, sizeof inner, "%s.%s", where, key);
            check_shape(spec, props ? json_get(props, key) : NULL, &want->u.obj.items[i].val, g, inner);
        }
    } else if (want->type == JSON_ARRAY && want->u.arr.n && got->u.arr.n) {
        const json_value *items = schema ? json_get(schema, "items") : NULL;
        for (size_t i = 0; i < got->u.arr.n; i++) {
            snprintf(inner, sizeof inner, "%s[%zu]", where, i);
            check_shape(spec, items, &want->u.arr.items[0], &got->u.arr.items[i], inner);
        }
        for (size_t i = 0; i < want->u.arr.n; i++) {
            snprintf(inner, sizeof inner, "%s[example %zu]", where, i);
            check_shape(spec, items, &want->u.arr.items[i], &got->u.arr.items[0], inner);
        }
    }
}

/* Sends method path with body (or none) and checks its 200 answer against the example: its shape,
 * or with exact, the answer itself (compact JSON, in the example's order, as the server writes it). */
static void check_example(const json_doc *spec, int port, const char *method, const char *path, const json_value *req,
                          const json_value *media, const json_value *example, const char *name, int exact)
{
    buf body = {0}, out = {0};
    if (req) write_json(&body, req);
    int status = http_json(port, method, path, req ? body.ptr : NULL, &out);
    CHECKF(status == 200, "%s %s (example %s): %d\n%s", method, path, name, status, out.ptr);
    json_doc got = {0};
    char err[160], where[256];
    const char *b = http_body(&out);
    CHECKF(b && !json_parse(b, strlen(b), 64, &got, err, sizeof err), "%s %s: not JSON: %s", method, path, err);
    snprintf(where, sizeof where, "%s %s (example %s)", method, path, name);
    check_shape(spec, json_get(media, "schema"), example, &got.root, where);
    if (exact) {
        buf want = {0};
        write_json(&want, example);
        CHECKF(!strcmp(b, want.ptr), "%s: the server answers\n%s\nthe example is\n%s", where, b, want.ptr);
        buf_free(&want);
    }
    json_doc_free(&got);
    buf_free(&body);
    buf_free(&out);
}

/* Every example answer against the server's (on model; exact: the entity examples byte for byte);
 * returns how many were checked. */
static int check_examples(const json_doc *spec_doc, int port, int exact)
{
    const json_doc *spec = spec_doc;
    const json_value *paths = json_get(&spec->root, "paths");
    int checked = 0;
    for (size_t p = 0; p < paths->u.obj.n; p++) {
        const char *path = paths->u.obj.items[p].key;
        const json_value *item = &paths->u.obj.items[p].val;
        for (size_t o = 0; o < item->u.obj.n; o++) {
            const char *method = item->u.obj.items[o].key;
            if (!strcmp(method, "head")) continue; /* no content to compare */
            char upper[16];
            size_t k = 0;
            for (; method[k] && k < sizeof upper - 1; k++) upper[k] = (char)(method[k] & ~0x20);
            upper[k] = 0;
            const json_value *op = &item->u.obj.items[o].val;
            const json_value *ok = resolve(spec, json_get(json_get(op, "responses"), "200"));
            const json_value *media = json_get(json_get(ok, "content"), "application/json");
            if (!media) continue; /* /metrics, /docs: text */
            const json_value *reqb = json_get(json_get(json_get(op, "requestBody"), "content"), "application/json");
            const json_value *req_examples = reqb ? json_get(reqb, "examples") : NULL;
            if (!req_examples) {
                const json_value *example = json_get(media, "example");
                if (!example) continue; /* /openapi.json itself: compared byte for byte below */
                check_example(spec, port, upper, path, NULL, media, example, "example", 0); /* /model names its folder */
                checked++;
                continue;
            }
            /* each request example has the answer example of the same name */
            const json_value *answers = json_get(media, "examples");
            CHECKF(answers, "%s %s: request examples without answer examples", upper, path);
            for (size_t e = 0; e < req_examples->u.obj.n; e++) {
                const char *name = req_examples->u.obj.items[e].key;
                const json_value *answer = json_get(answers, name);
                CHECKF(answer, "%s %s: no answer example named %s", upper, path, name);
                check_example(spec, port, upper, path, json_get(&req_examples->u.obj.items[e].val, "value"), media,
                              json_get(answer, "value"), name, exact);
                checked++;
            }
        }
    }
    return checked;
}

TEST(openapi_examples_have_the_shape_of_the_real_answers)
{
    json_doc spec = {0};
    parse_spec(&spec);
    test_server s;
    server_start(&s, (const char *[]){NULL});
    int checked = check_examples(&spec, s.port, 0);
    CHECKF(checked >= 7, "only %d examples checked", checked); /* GET/POST / , 2 x /ents, healthz, readyz, model */
    /* /openapi.json is the embedded file, byte for byte, and /docs is an HTML page loading it */
    buf out = {0};
    CHECK(http_json(s.port, "GET", "/openapi.json", NULL, &out) == 200);
    CHECK(http_body(&out) && strlen(http_body(&out)) == server_asset_openapi_json_len &&
          !memcmp(http_body(&out), server_asset_openapi_json, server_asset_openapi_json_len));
    buf_clear(&out);
    CHECK(http_json(s.port, "GET", "/docs", NULL, &out) == 200);
    CHECK(strstr(out.ptr, "\r\nContent-Type: text/html; charset=utf-8\r\n") && strstr(out.ptr, "fetch(\"openapi.json\")"));
    /* no external assets: nothing fetched from another origin */
    CHECK(!strstr(out.ptr, "http://") && !strstr(out.ptr, "https://") && !strstr(out.ptr, "src=\"//"));
    buf_free(&out);
    server_stop(&s, SIGTERM);
    json_doc_free(&spec);
}

TEST(openapi_entity_examples_are_the_real_models_answers)
{
    json_doc spec = {0};
    parse_spec(&spec);
    test_server s;
    server_start(&s, (const char *[]){"--model", test_real_model(), NULL});
    CHECK(check_examples(&spec, s.port, 1) >= 7);
    server_stop(&s, SIGTERM);
    json_doc_free(&spec);
}
