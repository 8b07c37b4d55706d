/* json.h - a strict JSON (RFC 8259) parser into an arena-backed tree, and the string
 * escaping nerd writes answers with. Own code rather than a Debian library because requests
 * are parsed on the server's hot path with hard limits (depth, size) and exact error
 * messages, and the writer must reproduce Python's json.dumps escaping byte for byte. */
#ifndef NERD_JSON_H
#define NERD_JSON_H

#include <stddef.h>
#include "util/buf.h"

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
typedef struct json_member json_member;

struct json_value {
    json_type type;
    union {
        double num;
        struct { const char *ptr; size_t len; } str;  /* decoded UTF-8, NUL-terminated, may hold NULs */
        struct { json_value *items; size_t n; } arr;
        struct { json_member *items; size_t n; } obj;
    } u;
};

struct json_member {
    const char *key;
    size_t keylen;
    json_value val;
};

typedef struct json_chunk json_chunk;
typedef struct {
    json_value root;
    json_chunk *chunks;   /* the arena everything above points into */
} json_doc;

#define JSON_MAX_DEPTH_DEFAULT 64

#define JSON_ERR_NOMEM (-2)
/* Parses text[0..len) (one value, surrounding whitespace allowed). Returns 0, or -1 with a
 * message (with the byte offset) in err, or JSON_ERR_NOMEM when memory ran out (the text may
 * be valid). Strings must be valid UTF-8; \u escapes of lone
 * surrogates are refused, since they cannot be represented in UTF-8. Always call
 * json_doc_free, also after a failure. */
int json_parse(const char *text, size_t len, int max_depth, json_doc *doc, char *err, size_t errlen);
void json_doc_free(json_doc *doc);

/* The value of key in an object (the last one if repeated, as Python's dict), or NULL. */
const json_value *json_get(const json_value *obj, const char *key);

/* Appends s as a JSON string literal with Python json.dumps' escaping: ensure_ascii=0 escapes
 * only '"', '\\' and control characters (FastAPI's answers); ensure_ascii=1 also writes every
 * non-ASCII character as \uXXXX, with surrogate pairs (Flask's default). s must be valid UTF-8. */
int json_write_string(buf *b, const char *s, size_t len, int ensure_ascii);

#endif
