/* hash.h - the two hash functions spaCy's features depend on. */
#ifndef NERD_HASH_H
#define NERD_HASH_H

#include <stddef.h>
#include <stdint.h>

/* MurmurHash64A. spaCy's StringStore key of a string (nerd_string_hash) is
 * murmur64a(utf8, len, 1), except that the empty string is 0 and spaCy's reserved symbols
 * ("X", "PERSON", "nsubj", ...) are their fixed symbol IDs. */
uint64_t murmur64a(const void *key, size_t len, uint64_t seed);
uint64_t nerd_string_hash(const char *s, size_t len);

/* MurmurHash3_x64_128 of key; out[0] = h1, out[1] = h2. thinc's HashEmbed hashes the 8
 * little-endian bytes of a uint64 feature with it and takes the four 32-bit words. */
void murmur3_x64_128(const void *key, size_t len, uint32_t seed, uint64_t out[2]);

#endif
