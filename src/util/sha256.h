/* sha256.h - SHA-256 (FIPS 180-4), to name the weights a model was loaded with. */
#ifndef NERD_SHA256_H
#define NERD_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t total;       /* bytes hashed so far */
    uint8_t block[64];    /* a partial block waiting for more bytes */
    size_t used;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
/* The digest as 64 lower-case hex digits and a NUL. */
void sha256_hex(sha256_ctx *c, char hex[65]);

#endif
