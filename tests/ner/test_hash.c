#include "test.h"
#include "npy.h"
#include "text/hash.h"
#include "text/symbols.h"

#include <string.h>

#include <stdint.h>

/* StringStore hashes of the Paris doc's attribute strings, checked against spaCy's
 * doc.to_array([NORM, PREFIX, SUFFIX, SHAPE]); then thinc's HashEmbed rows from them. */
TEST(hash_matches_spacy_strings_and_hashembed_rows)
{
    static const uint32_t nV[4] = {5000, 1000, 2500, 2500};
    npy_array h, rows;
    CHECK(npy_load(test_path("golden/layers/00_paris/attr_hashes.npy"), &h) == 0);
    CHECK(h.ndim == 2 && h.shape[1] == 4 && h.itemsize == 8);
    const uint64_t *hv = h.data;
    /* "paris[a" is the first token's norm (lowercase of "Paris[a"), "P" its prefix */
    CHECK(hv[0] == nerd_string_hash("paris[a", 7));
    CHECK(hv[1] == nerd_string_hash("P", 1));
    CHECK(nerd_string_hash("", 0) == 0);
    for (int c = 0; c < 4; c++) {
        char p[128];
        snprintf(p, sizeof p, "golden/layers/00_paris/hashembed%d_rows.npy", c);
        CHECK(npy_load(test_path(p), &rows) == 0);
        const uint32_t *rv = rows.data;
        for (size_t i = 0; i < h.shape[0]; i++) {
            uint64_t out[2];
            murmur3_x64_128(&hv[i * 4 + c], 8, 8 + c, out);
            uint32_t w[4] = {(uint32_t)out[0], (uint32_t)(out[0] >> 32), (uint32_t)out[1], (uint32_t)(out[1] >> 32)};
            for (int j = 0; j < 4; j++) CHECK_EQ_INT(rv[i * 4 + j], w[j] % nV[c]);
        }
        npy_free(&rows);
    }
    npy_free(&h);
}

/* Every one of spaCy's symbols is found with its ID (the first/last-byte filter in front of
 * the search drops none), "X" (the POS tag) and "PERSON" with the IDs spaCy gives them; a
 * symbol with a byte changed at either end, cut short or one byte longer is found only when
 * that string is itself a symbol. */
TEST(symbols_all_found_near_misses_not)
{
    unsigned id, got;
    size_t count = 0;
    CHECK(nerd_symbol_id("X", 1, &got) && got == 101);
    CHECK(nerd_symbol_id("PERSON", 6, &got) && got == 380);
    CHECK(nerd_string_hash("X", 1) == 101);
    for (const char *name; (name = nerd_symbol_at(count, &id)) != NULL; count++) {
        size_t len = strlen(name);
        got = 0;
        CHECKF(nerd_symbol_id(name, len, &got) && got == id, "%s: not found as %u", name, id);
        char v[32];
        for (int edit = 0; edit < 4; edit++) {
            memcpy(v, name, len + 1);
            size_t vl = len;
            if (edit == 0) v[0] ^= 0x20;                /* case of the first byte */
            if (edit == 1) v[len - 1] = '~';            /* the last byte */
            if (edit == 2) vl = len - 1;                /* cut short */
            if (edit == 3) v[len] = 's', vl = len + 1;  /* one more byte */
            unsigned other;
            int is_symbol = 0;
            for (size_t j = 0; nerd_symbol_at(j, &other); j++) {
                const char *o = nerd_symbol_at(j, &other);
                if (strlen(o) == vl && !memcmp(o, v, vl)) is_symbol = 1;
            }
            CHECKF(nerd_symbol_id(v, vl, &got) == is_symbol, "%.*s: found %d, a symbol %d", (int)vl, v,
                   nerd_symbol_id(v, vl, &got), is_symbol);
        }
    }
    printf("  %zu symbols found with their IDs, 4 near misses of each checked\n", count);
    CHECK(count > 150);
}
