/* The tokenizer's attribute hashes equal spaCy's doc.to_array([NORM, PREFIX, SUFFIX, SHAPE])
 * for every golden layer document, and so do the HashEmbed rows derived from them. */
#include "test.h"
#include "npy.h"
#include "nerd.h"
#include "text/hash.h"
#include "util/json.h"

#include <dirent.h>

TEST(attr_hashes_match_spacy_for_layer_docs)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    DIR *dir = opendir(test_path("golden/layers"));
    CHECK(dir);
    struct dirent *e;
    int docs = 0;
    static const uint32_t seeds[4] = {8, 9, 10, 11}, nV[4] = {5000, 1000, 2500, 2500};
    while ((e = readdir(dir))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/info.json", test_path("golden/layers"), e->d_name);
        size_t len;
        char *info = test_read_file(path, &len);
        json_doc jd;
        char err[128];
        CHECK(info && json_parse(info, len, 0, &jd, err, sizeof err) == 0);
        const json_value *text = json_get(&jd.root, "text");
        CHECK(nerd_tokenize(m, d, text->u.str.ptr, text->u.str.len) == NERD_OK);
        npy_array h;
        snprintf(path, sizeof path, "%s/%s/attr_hashes.npy", test_path("golden/layers"), e->d_name);
        CHECK(npy_load(path, &h) == 0);
        size_t n = nerd_doc_ntokens(d);
        CHECKF(h.count == n * 4, "%s: %zu tokens, spaCy %zu", e->d_name, n, h.count / 4);
        const uint64_t *want = h.data;
        for (size_t i = 0; i < n; i++) {
            nerd_token t;
            nerd_doc_token(d, i, &t);
            uint64_t got[4] = {t.norm_hash, t.prefix_hash, t.suffix_hash, t.shape_hash};
            for (int c = 0; c < 4; c++) {
                CHECKF(got[c] == want[i * 4 + c], "%s token %zu (%.*s) attr %d: %016llx != %016llx", e->d_name, i,
                       (int)t.text.len, t.text.ptr, c, (unsigned long long)got[c], (unsigned long long)want[i * 4 + c]);
            }
        }
        for (int c = 0; c < 4; c++) {
            npy_array rows;
            snprintf(path, sizeof path, "%s/%s/hashembed%d_rows.npy", test_path("golden/layers"), e->d_name, c);
            CHECK(npy_load(path, &rows) == 0);
            for (size_t i = 0; i < n; i++) {
                uint64_t out[2], key = want[i * 4 + c];
                murmur3_x64_128(&key, 8, seeds[c], out);
                uint32_t w[4] = {(uint32_t)out[0], (uint32_t)(out[0] >> 32), (uint32_t)out[1], (uint32_t)(out[1] >> 32)};
                for (int k = 0; k < 4; k++) CHECK_EQ_INT(((uint32_t *)rows.data)[i * 4 + k], w[k] % nV[c]);
            }
            npy_free(&rows);
        }
        npy_free(&h);
        json_doc_free(&jd);
        free(info);
        docs++;
    }
    closedir(dir);
    CHECK_EQ_INT(docs, 21);
    nerd_doc_free(d);
    nerd_model_free(m);
}
