/* Static vectors: the table's files (vocab/vectors mapped, key2row, vectors.cfg), floret's
 * n-grams, and on the English md model (make models-extra) the mapping and the word cache. */
#include "test.h"
#include "modelfile/vectors_file.h"
#include "pipeline/engine.h"
#include "text/hash.h"
#include "server/serve_helper.h"

#include <signal.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MD_MODEL "models/en_core_web_md-3.8.0"

static char vdir[64];

static void write_bytes(const char *name, const void *p, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", vdir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(p, 1, n, f) == n);
    fclose(f);
}

/* A .npy of rows x dims float32 (value r*100 + c), descr as given (numpy 1.0 layout). */
static void write_npy(const char *descr, size_t rows, size_t dims, size_t drop_bytes)
{
    char hdr[128];
    int n = snprintf(hdr + 10, sizeof hdr - 10, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }", descr,
                     rows, dims);
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    size_t total = 128; /* numpy pads the header to a multiple of 64 */
    memset(hdr + 10 + n, ' ', total - 10 - n - 1);
    hdr[total - 1] = '\n';
    hdr[8] = (char)(total - 10), hdr[9] = 0;
    size_t bytes = total + rows * dims * sizeof(float);
    unsigned char *b = malloc(bytes);
    memcpy(b, hdr, total);
    float *x = (float *)(b + total);
    for (size_t i = 0; i < rows * dims; i++) x[i] = (float)(i / dims * 100 + i % dims);
    write_bytes("vectors", b, bytes - drop_bytes);
    free(b);
}

/* key2row: a msgpack map16 of uint64 keys to rows (uint8/uint16). */
static void write_key2row(const uint64_t *keys, const unsigned *rows, int n)
{
    unsigned char b[512], *p = b;
    *p++ = 0xde, *p++ = (unsigned char)(n >> 8), *p++ = (unsigned char)n;
    for (int i = 0; i < n; i++) {
        *p++ = 0xcf;
        for (int s = 56; s >= 0; s -= 8) *p++ = (unsigned char)(keys[i] >> s);
        if (rows[i] < 128) *p++ = (unsigned char)rows[i];
        else *p++ = 0xcd, *p++ = (unsigned char)(rows[i] >> 8), *p++ = (unsigned char)rows[i];
    }
    write_bytes("key2row", b, (size_t)(p - b));
}

static void fresh_dir(void)
{
    char cmd[512];
    snprintf(vdir, sizeof vdir, "/tmp/nerd-vectors-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", vdir, vdir);
    CHECK(system(cmd) == 0);
}

static void remove_dir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", vdir);
    if (system(cmd)) {}
}

/* The line of /proc/self/maps whose range holds p, into line. */
static int mapping_of(const void *p, char *line, size_t len)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int found = 0;
    while (f && !found && fgets(line, (int)len, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx", &a, &b) == 2 && (uintptr_t)p >= a && (uintptr_t)p < b) found = 1;
    }
    if (f) fclose(f);
    return found;
}

TEST(vectors_table_is_mapped_from_the_file_and_key2row_keeps_the_last_row)
{
    fresh_dir();
    write_npy("<f4", 5, 3, 0);
    static const uint64_t keys[] = {0xfedcba9876543210u, 42, 0xfedcba9876543210u, 7};
    static const unsigned rows[] = {2, 0, 4, 1};
    write_key2row(keys, rows, 4);
    write_bytes("vectors.cfg", "{\"mode\":\"default\"}", 18);
    vec_table vt;
    char err[512] = "";
    CHECKF(vec_load(vdir, &vt, err, sizeof err) == NERD_OK, "%s", err);
    CHECK(vt.rows == 5 && vt.dims == 3 && vt.mode == VEC_MODE_DEFAULT && vt.attr == VEC_ATTR_ORTH);
    CHECK_EQ_INT(vt.nkeys, 3);
    CHECK_EQ_INT(vec_row(&vt, 0xfedcba9876543210u), 4); /* the Python dict keeps the last value */
    CHECK_EQ_INT(vec_row(&vt, 42), 0);
    CHECK_EQ_INT(vec_row(&vt, 7), 1);
    CHECK_EQ_INT(vec_row(&vt, 8), -1);
    CHECK(vt.data[4 * 3 + 2] == 402.0f && vt.data[0] == 0.0f);
    /* the rows are the file's pages, read-only; the keys a read-only mapping of their own */
    char line[1024], path[256];
    snprintf(path, sizeof path, "%s/vectors", vdir);
    CHECKF(mapping_of(vt.data, line, sizeof line) && strstr(line, path) && strstr(line, " r--"), "%s", line);
    CHECKF(mapping_of(vt.keys, line, sizeof line) && strstr(line, " r--p"), "%s", line);
    vec_free(&vt);
    remove_dir();
}

TEST(vectors_table_refusals_name_the_file_and_the_cause)
{
    static const struct { const char *descr, *cfg; size_t drop; unsigned row; nerd_status want; const char *needle; } cases[] = {
        {"<f8", "{}", 0, 0, NERD_ERR_UNSUPPORTED, "float32 little-endian"},
        {">f4", "{}", 0, 0, NERD_ERR_UNSUPPORTED, "float32 little-endian"},
        {"<f4", "{}", 4, 0, NERD_ERR_FORMAT, "does not match"},
        {"<f4", "{}", 0, 5, NERD_ERR_FORMAT, "a row beyond the vectors table"},
        {"<f4", "{\"mode\":\"bloom\"}", 0, 0, NERD_ERR_UNSUPPORTED, "vectors mode \"bloom\""},
        {"<f4", "{\"mode\":\"default\",\"attr\":73}", 0, 0, NERD_ERR_UNSUPPORTED, "attribute 73"},
        {"<f4", "{\"mode\":\"floret\",\"minn\":4,\"maxn\":3,\"hash_count\":1}", 0, 0, NERD_ERR_FORMAT, "floret settings"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fresh_dir();
        write_npy(cases[i].descr, 5, 3, cases[i].drop);
        const uint64_t key = 99;
        write_key2row(&key, &cases[i].row, 1);
        write_bytes("vectors.cfg", cases[i].cfg, strlen(cases[i].cfg));
        vec_table vt;
        char err[512] = "";
        nerd_status st = vec_load(vdir, &vt, err, sizeof err);
        CHECKF(st == cases[i].want && strstr(err, cases[i].needle) && strstr(err, vdir), "case %zu: %d %s", i, st, err);
        printf("  %s\n", err);
    }
    fresh_dir(); /* no table at all */
    vec_table vt;
    char err[512] = "";
    CHECK(vec_load(vdir, &vt, err, sizeof err) == NERD_ERR_NOT_FOUND && strstr(err, "vectors: no such file"));
    write_npy("<f4", 5, 3, 0);
    write_bytes("keys", "x", 1); /* spaCy v2's key list */
    CHECK(vec_load(vdir, &vt, err, sizeof err) == NERD_ERR_UNSUPPORTED && strstr(err, "spaCy v2"));
    remove_dir();
}

/* Floret: the padded key whole, then its n-grams of minn..maxn characters (code points, not
 * bytes: "é" is one), each hashed with MurmurHash3_x64_128 (the table's seed) into hash_count
 * 32-bit words, each word's row (mod rows) averaged. With identity rows the mean is each row's
 * share of the hashes. */
TEST(vectors_floret_averages_the_rows_of_spacy_ngrams)
{
    enum { ROWS = 16 };
    fresh_dir();
    write_npy("<f4", ROWS, ROWS, 0);
    const char *cfg = "{\"mode\":\"floret\",\"minn\":2,\"maxn\":3,\"hash_count\":2,\"hash_seed\":7,\"bow\":\"<\",\"eow\":\">\",\"attr\":65}";
    write_bytes("vectors.cfg", cfg, strlen(cfg));
    vec_table vt;
    char err[512] = "";
    CHECKF(vec_load(vdir, &vt, err, sizeof err) == NERD_OK, "%s", err);
    /* identity rows: overwrite the mapped values through a private table of our own */
    float *eye = calloc(ROWS * ROWS, sizeof(float));
    for (int r = 0; r < ROWS; r++) eye[r * ROWS + r] = 1;
    vt.data = eye;
    static const char *const ngrams[] = {"<\xc3\xa9" "a>", "<\xc3\xa9", "\xc3\xa9" "a", "a>", "<\xc3\xa9" "a", "\xc3\xa9" "a>"};
    const size_t nng = sizeof ngrams / sizeof *ngrams;
    float want[ROWS] = {0}, got[ROWS];
    const float scale = (float)(1.0 / (double)(nng * 2));
    for (size_t g = 0; g < nng; g++) {
        uint64_t h[2];
        murmur3_x64_128(ngrams[g], strlen(ngrams[g]), 7, h);
        want[(h[0] & 0xffffffffu) % ROWS] += scale;
        want[(h[0] >> 32) % ROWS] += scale;
    }
    const char *key = "<\xc3\xa9" "a>";
    vec_floret(&vt, key, strlen(key), got);
    for (int r = 0; r < ROWS; r++) CHECKF(got[r] == want[r], "row %d: %g, expected %g", r, got[r], want[r]);
    free(eye);
    vec_free(&vt);
    remove_dir();
}

/* ---- the English md (make models-extra; make test-md-model requires it) ---- */

static nerd_model *md_model(void)
{
    if (access(MD_MODEL "/config.cfg", F_OK)) {
        CHECKF(!getenv("NERD_REQUIRE_MD"), "%s is missing: make models-extra", MD_MODEL);
        printf("  skipped: no %s (make models-extra)\n", MD_MODEL);
        return NULL;
    }
    char err[1024];
    nerd_model *m = nerd_model_load(MD_MODEL, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    return m;
}

TEST(vectors_md_model_maps_its_table_and_names_it)
{
    nerd_model *m = md_model();
    if (!m) return;
    CHECK(m->has_vectors && m->vectors.rows == 20000 && m->vectors.dims == 300 && m->vectors.nkeys == 684830);
    CHECK(m->t2v.vt == &m->vectors && m->ner_t2v.vt == &m->vectors && m->t2v.nhash == 6 && m->ner_t2v.nhash == 4);
    char line[1024];
    CHECKF(mapping_of(m->vectors.data, line, sizeof line) && strstr(line, "vocab/vectors") && strstr(line, " r--s"),
           "%s", line);
    /* a key the table lacks is spaCy's zero row */
    float v[300];
    CHECK(t2v_static_input(&m->ner_t2v, nerd_string_hash("qzxqzxqzxq", 10), NULL, v) == 0);
    CHECK(t2v_static_input(&m->ner_t2v, nerd_string_hash("Paris", 5), NULL, v) == 1);
    nerd_model_free(m);
}

/* The word cache holds the mixing layer's rows, the static vectors' projection included: with
 * it, filled or not, every tok2vec output is bit for bit the one computed without it; in bf16
 * and int8 too, where the attached table holds the first block's partials of those rows. */
TEST(vectors_md_word_cache_gives_the_same_bits)
{
    nerd_model *m = md_model();
    if (!m) return;
    CHECK(nerd_model_set_precision(m, NERD_PRECISION_INT8) == NERD_OK &&
          nerd_model_set_precision(m, NERD_PRECISION_BF16) == NERD_OK); /* packs both copies */
    size_t len;
    char *golden = test_read_file(test_path("golden/ewt.jsonl"), &len);
    CHECK(golden);
    nerd_doc *d = nerd_doc_new();
    const t2v_net *nets[2] = {&m->ner_t2v, &m->t2v};
    const t2v_packed *packs[2] = {&m->ner_t2v_packed, &m->full_t2v_packed};
    embed_cache *caches[2] = {m->ner_cache, m->full_cache};
    const int *cols[2] = {m->ner_t2v_attr, m->t2v_attr};
    CHECK(caches[0] && caches[1]);
    int docs = 0;
    for (char *line = golden; line && *line && docs < 60; docs++) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        const char *t = strstr(line, "\"text\": \"");
        CHECK(t);
        t += 9;
        const char *e = strstr(t, "\", \"");
        CHECK(e && nerd_tokenize(m, d, t, (size_t)(e - t)) == NERD_OK);
        size_t n = d->ntoks;
        for (int k = 0; k < 2; k++) {
            const t2v_net *net = nets[k];
            uint64_t *attrs = malloc((n + 1) * net->nattrs * sizeof *attrs);
            float *scratch = malloc(t2v_fast_scratch_floats(net, n) * sizeof(float));
            float *fresh = malloc((n + 1) * net->width * sizeof(float)), *cached = malloc((n + 1) * net->width * sizeof(float));
            CHECK(tok2vec_gather(d, cols[k], net->nattrs, attrs) == 0);
            for (int prec = KN_FP32; prec <= KN_INT8; prec++) {
                t2v_fast_forward(net, packs[k], prec, NULL, attrs, NULL, n, fresh, scratch, NULL, NULL, NULL);
                for (int pass = 0; pass < 2; pass++) { /* filling the cache, then from it */
                    t2v_fast_forward(net, packs[k], prec, caches[k], attrs, NULL, n, cached, scratch, NULL, NULL, NULL);
                    CHECKF(!memcmp(fresh, cached, n * net->width * sizeof(float)), "doc %d, %s tok2vec, precision %d, pass %d",
                           docs, k ? "shared" : "ner's", prec, pass);
                }
            }
            free(attrs), free(scratch), free(fresh), free(cached);
        }
        line = nl ? nl + 1 : NULL;
    }
    embed_cache_stats s;
    embed_cache_get_stats(m->ner_cache, &s);
    CHECKF(s.hits > 0 && s.misses > 0, "hits %llu misses %llu", (unsigned long long)s.hits, (unsigned long long)s.misses);
    embed_cache_stats parts;
    embed_cache_get_stats(embed_cache_attached(m->ner_cache), &parts);
    CHECK(parts.hits > 0 && parts.misses > 0);
    printf("  %d docs x fp32, bf16, int8: identical with and without the cache (ner's cache: %llu hits, %llu misses; "
           "its partials: %llu hits, %llu misses)\n", docs, (unsigned long long)s.hits, (unsigned long long)s.misses,
           (unsigned long long)parts.hits, (unsigned long long)parts.misses);
    free(golden);
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* nerd serve --model with the md folder: /model names its vectors, POST /ents answers spaCy's
 * entities (spaCy 3.8.7 on the same folder: Apple ORG, U.K. GPE, $1 billion MONEY); the sm
 * model's /model says it has none. */
TEST(vectors_md_served_model_names_its_vectors)
{
    if (access(MD_MODEL "/config.cfg", F_OK)) {
        CHECKF(!getenv("NERD_REQUIRE_MD"), "%s is missing: make models-extra", MD_MODEL);
        printf("  skipped: no %s (make models-extra)\n", MD_MODEL);
        return;
    }
    test_server s;
    const char *args[] = {"--model", "md=" MD_MODEL, "--model", "sm=../shared/models/en_core_web_sm", "-w", "1", NULL};
    server_start(&s, args);
    buf out = {0};
    CHECK(http_json(s.port, "GET", "/model", NULL, &out) == 200);
    CHECKF(strstr(http_body(&out), "\"vectors\":{\"name\":\"en_vectors\",\"mode\":\"default\",\"attr\":\"ORTH\","
                                   "\"shape\":[20000,300],\"keys\":684830}"),
           "%s", http_body(&out));
    buf_clear(&out);
    CHECK(http_json(s.port, "GET", "/model?name=sm", NULL, &out) == 200);
    CHECKF(strstr(http_body(&out), "\"vectors\":null"), "%s", http_body(&out));
    buf_clear(&out);
    CHECK(http_json(s.port, "POST", "/ents", "{\"text\": \"Apple is looking at buying U.K. startup for $1 billion.\"}",
                    &out) == 200);
    CHECKF(strstr(http_body(&out), "{\"text\":\"Apple\",\"label\":\"ORG\"") &&
               strstr(http_body(&out), "{\"text\":\"U.K.\",\"label\":\"GPE\"") &&
               strstr(http_body(&out), "{\"text\":\"$1 billion\",\"label\":\"MONEY\""),
           "%s", http_body(&out));
    buf_free(&out);
    CHECK(server_stop(&s, SIGTERM) == 0);
}
