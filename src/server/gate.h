/* gate.h - what a request is checked for before it is routed, in the conventions of Starlette's
 * CORSMiddleware and Hugging Face text-embeddings-inference: its X-Request-Id (taken when valid,
 * else generated), CORS (a preflight is answered here; an allowed origin gets its headers on
 * every answer) and the API key of `Authorization: Bearer`, checked in constant time. */
#ifndef NERD_GATE_H
#define NERD_GATE_H

#include <stddef.h>

#include "server/http_parser.h"
#include "server/server.h"
#include "util/buf.h"

#define REQUEST_ID_MAX 128        /* longest X-Request-Id taken from a client */
#define REQUEST_ID_GENERATED 32   /* 128 random bits in hex */
#define CORS_MAX_AGE_S 600        /* Starlette's default Access-Control-Max-Age */
#define API_KEY_MAX 4096          /* longest key line read from --api-key-file */

/* Validity of a client's X-Request-Id: 1 to REQUEST_ID_MAX characters of [A-Za-z0-9._:-].
 * NULL when valid, else the reason. */
const char *request_id_problem(const char *v, size_t len);
/* 128 random bits (getrandom) as 32 lower-case hex digits and a NUL. */
void request_id_generate(char out[REQUEST_ID_GENERATED + 1]);

/* --api-key-file: reads the keys (one a line; blank lines and # comments ignored) and keeps
 * their SHA-256 digests only. In the master, before fork and on HUP. 0, or -1 with err (the old
 * keys stay). Without --api-key-file nothing is required. */
int api_keys_load(const server_config *cfg, char *err, size_t errlen);
int api_keys_configured(void);
size_t api_keys_count(void);
/* 1 when key[0..len) is one of the keys. The presented key's digest is compared with every
 * key's, all 32 bytes each, with no early exit: the time depends on the number of keys and the
 * presented key's length only, never on how much of a key matched. */
int api_key_matches(const char *key, size_t len);
void api_keys_free(void);

/* What a request's Origin earned it. */
enum cors_outcome { CORS_NONE = 0, CORS_ALLOWED, CORS_PREFLIGHT };
/* The request's Origin is one --cors-allow-origin allows (always 0 when CORS is not configured). */
int cors_origin_allowed(const server_config *cfg, const http_request *q);
/* A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method, CORS configured. */
int cors_is_preflight(const server_config *cfg, const http_request *q);
/* The reason a preflight is refused (Starlette's "Disallowed CORS origin, method, headers"),
 * written into msg; 0 when it is allowed. allow_methods: the route's methods ("GET, HEAD"). */
int cors_preflight_problem(const server_config *cfg, const http_request *q, const char *allow_methods, char *msg,
                           size_t msglen);
/* Appends the CORS header lines of an answer to out: for CORS_ALLOWED the origin (or "*"),
 * Expose-Headers and Vary; for CORS_PREFLIGHT also the methods, headers and max age. */
int cors_headers(const server_config *cfg, const http_request *q, int outcome, const char *allow_methods, buf *out);

#endif
