#include "test.h"
#include "npy.h"
#include "text/hash.h"

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
