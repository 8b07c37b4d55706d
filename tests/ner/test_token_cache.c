/* The tokenizer's chunk cache and the word attribute cache (text/keycache.h, issue 15): tokens
 * and every lexical attribute identical with the caches on and off, cold and warm, over the
 * golden texts, generated texts of hostile units and special cases, on threads sharing a model;
 * and a cache that never answers for a key whose bytes or owner differ, whatever the hash. */
#include "test.h"
#include "nerd.h"
#include "text/keycache.h"
#include "text/tokenizer.h"
#include "modelfile/modelfile.h"
#include "pipeline/engine.h"
#include "../../bench/adversarial.h"

#include <pthread.h>
#include <stdint.h>

enum { CACHE_ENTRIES = 4096 };

/* ---- the table itself ---- */

TEST(token_cache_keys_on_bytes_and_owner_not_the_hash)
{
    key_cache c = {0};
    key_cache_setup(&c, 16, 8, 8);
    const uint64_t same_hash = 0x1234;
    char *v = key_cache_put(&c, 1, "abc", 3, same_hash, 2);
    CHECK(v);
    memcpy(v, "AB", 2);
    size_t vl = 0;
    const char *got = key_cache_get(&c, 1, "abc", 3, same_hash, &vl);
    CHECK(got && vl == 2 && !memcmp(got, "AB", 2));
    /* the same hash (and slot) for other bytes, a prefix, another owner: misses, never "AB" */
    CHECK(!key_cache_get(&c, 1, "abd", 3, same_hash, &vl));
    CHECK(!key_cache_get(&c, 1, "ab", 2, same_hash, &vl));
    CHECK(!key_cache_get(&c, 1, "abcd", 4, same_hash, &vl));
    CHECK(!key_cache_get(&c, 2, "abc", 3, same_hash, &vl));
    /* a colliding key replaces the slot; the old one is then a miss */
    v = key_cache_put(&c, 1, "xyz", 3, same_hash, 1);
    CHECK(v);
    *v = 'X';
    CHECK(!key_cache_get(&c, 1, "abc", 3, same_hash, &vl));
    got = key_cache_get(&c, 1, "xyz", 3, same_hash, &vl);
    CHECK(got && vl == 1 && *got == 'X');
    /* too long keys or values, owner 0 and a cache that is off store nothing */
    CHECK(!key_cache_put(&c, 1, "123456789", 9, 7, 1));
    CHECK(!key_cache_put(&c, 1, "a", 1, 7, 9));
    CHECK(!key_cache_put(&c, 0, "a", 1, 7, 1));
    key_cache_setup(&c, 0, 8, 8);
    CHECK(!key_cache_put(&c, 1, "a", 1, 7, 1) && !key_cache_get(&c, 1, "a", 1, 7, &vl));
    key_cache_free(&c);
}

/* ---- documents with the caches on and off ---- */

/* lookups of a doc's chunk cache (words 0) or word cache (words 1) */
static uint64_t cache_hits(const nerd_doc *d, int words) { return words ? d->words.hits : d->tsc.chunks.hits; }
static uint64_t cache_misses(const nerd_doc *d, int words) { return words ? d->words.misses : d->tsc.chunks.misses; }

static int str_same(nerd_str a, nerd_str b) { return a.len == b.len && !memcmp(a.ptr, b.ptr, a.len); }

/* Tokenizes text with both docs; fails naming the first token that differs in any field. */
static void same_tokens(const nerd_model *m, nerd_doc *off, nerd_doc *on, const char *text, size_t len,
                        const char *what)
{
    CHECK_EQ_INT(nerd_tokenize(m, off, text, len), NERD_OK);
    CHECK_EQ_INT(nerd_tokenize(m, on, text, len), NERD_OK);
    size_t n = nerd_doc_ntokens(off);
    CHECKF(n == nerd_doc_ntokens(on), "%s: %zu tokens without the cache, %zu with it", what, n, nerd_doc_ntokens(on));
    for (size_t i = 0; i < n; i++) {
        nerd_token a, b;
        CHECK(!nerd_doc_token(off, i, &a) && !nerd_doc_token(on, i, &b));
        int same = a.byte_start == b.byte_start && str_same(a.text, b.text) && a.idx == b.idx &&
                   a.nchars == b.nchars && a.ws == b.ws && a.is_space == b.is_space && str_same(a.norm, b.norm) &&
                   str_same(a.prefix, b.prefix) && str_same(a.suffix, b.suffix) && str_same(a.shape, b.shape) &&
                   a.norm_hash == b.norm_hash && a.prefix_hash == b.prefix_hash && a.suffix_hash == b.suffix_hash &&
                   a.shape_hash == b.shape_hash;
        CHECKF(same, "%s: token %zu \"%.*s\" (norm \"%.*s\", shape \"%.*s\") differs with the cache: \"%.*s\" "
               "(norm \"%.*s\", shape \"%.*s\")", what, i, (int)a.text.len, a.text.ptr, (int)a.norm.len, a.norm.ptr,
               (int)a.shape.len, a.shape.ptr, (int)b.text.len, b.text.ptr, (int)b.norm.len, b.norm.ptr,
               (int)b.shape.len, b.shape.ptr);
    }
}

typedef struct { char **text; size_t *len, n; char *data; } texts;

static void load_texts(texts *t, const char *name)
{
    size_t len;
    char *data = test_read_file(test_path(name), &len);
    CHECKF(data != NULL, "cannot read %s", name);
    jsonl_iter it;
    jsonl_init(&it, data, len, JSONL_MAX_LINE);
    for (int got; (got = jsonl_next(&it)) != 0;) {
        CHECKF(got > 0, "%s: %s", name, it.err);
        const json_value *text = json_get(&it.doc.root, "text");
        CHECK(text && text->type == JSON_STRING);
        t->text = realloc(t->text, (t->n + 1) * sizeof *t->text);
        t->len = realloc(t->len, (t->n + 1) * sizeof *t->len);
        CHECK(t->text && t->len);
        t->text[t->n] = malloc(text->u.str.len + 1);
        CHECK(t->text[t->n]);
        memcpy(t->text[t->n], text->u.str.ptr, text->u.str.len);
        t->len[t->n++] = text->u.str.len;
    }
    jsonl_free(&it);
    free(data);
}

static void free_texts(texts *t)
{
    for (size_t i = 0; i < t->n; i++) free(t->text[i]);
    free(t->text);
    free(t->len);
}

static const char *const GOLDEN[] = {"golden/edge.jsonl", "golden/ewt.jsonl", "golden/ewt_train_sample.jsonl"};

/* Every golden text twice through one cached doc (the first pass fills the cache, the second
 * reads it), each against a doc without the cache; then again through a one-slot cache, where
 * every chunk and word evicts the one before and each lookup compares bytes of another key. */
TEST_T(token_cache_golden_texts_identical_on_off_cold_warm, 120)
{
    nerd_model *m = test_model();
    nerd_doc *off = nerd_doc_new(), *on = nerd_doc_new(), *tiny = nerd_doc_new();
    nerd_doc_set_token_cache(off, 0);
    nerd_doc_set_token_cache(on, CACHE_ENTRIES);
    nerd_doc_set_token_cache(tiny, 1);
    texts t = {0};
    for (size_t f = 0; f < sizeof GOLDEN / sizeof GOLDEN[0]; f++) load_texts(&t, GOLDEN[f]);
    CHECK(t.n > 1000);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < t.n; i++) {
            same_tokens(m, off, on, t.text[i], t.len[i], pass ? "golden, warm" : "golden, cold");
            same_tokens(m, off, tiny, t.text[i], t.len[i], "golden, one slot");
        }
    printf("  %zu golden texts, twice: chunk cache %llu hits / %llu misses, word cache %llu / %llu\n", t.n,
           (unsigned long long)cache_hits(on, 0), (unsigned long long)cache_misses(on, 0),
           (unsigned long long)cache_hits(on, 1), (unsigned long long)cache_misses(on, 1));
    CHECK(cache_hits(on, 0) > 0 && cache_hits(on, 1) > 0);
    CHECK_EQ_INT(cache_hits(off, 0) + cache_misses(off, 0), 0);
    free_texts(&t);
    nerd_doc_free(off);
    nerd_doc_free(on);
    nerd_doc_free(tiny);
    nerd_model_free(m);
}

/* Pieces that make the tokenizer's rules meet: special cases (alone, with affixes, spanning
 * chunks for the final pass), URLs, emails, numbers, emoticons, norms, whitespace tokens. */
static const char *const PIECES[] = {
    "don't", "Don't", "can't", "U.S.", "U.S.A.", "(U.S.)", "\"U.S.\"", "e.g.", "i.e.,", "'s", "’s", "n't", ":)", ":-)",
    "<3", "o_O", "a.m.", "p.m.", "Mr.", "Dr.", "1st", "10km", "3.14", "1,000", "$5", "€5", "5%", "(", ")", "\"",
    "'", "...", "…", "--", "—", "http://example.com/a?b=c", "www.example.org", "a@b.co", "#tag", "@user", "C++",
    "ex-wife", "well-known", "A/B", "1/2", "x+y", "Paris", "PARIS", "paris", "Ça", "straße", "İstanbul", "ß", "ǅ",
    "\xc2\xa0", "\t", "\n", "  ", "\r\n", "\xe2\x80\x83", "😀", "👍🏽", "e\xcc\x81", "日本語", "ภาษาไทย",
    "gonna", "Gonna", "'cause", "y'all", "ma'am", "o'clock", "Jan.", "Feb.", "vs.", "etc.", "No.", "'ll", "'re",
};

static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* A text of `words` chunks: pieces glued together or with hostile units, separated by one space,
 * several, a newline or nothing. */
static size_t generated_text(uint64_t *seed, size_t words, char *out, size_t cap)
{
    static const char *const SEPS[] = {" ", " ", " ", "  ", "\n", "", " \n ", "\t"};
    const size_t npieces = sizeof PIECES / sizeof PIECES[0];
    size_t len = 0;
    for (size_t w = 0; w < words; w++) {
        char word[128];
        size_t wl = 0;
        for (uint64_t parts = 1 + next_rand(seed) % 3; parts-- > 0;) {
            const char *p = next_rand(seed) % 4 ? PIECES[next_rand(seed) % npieces]
                                                : ADVERSARIAL_KINDS[next_rand(seed) % ADVERSARIAL_NKINDS].unit;
            size_t pl = strlen(p);
            if (wl + pl < sizeof word) { memcpy(word + wl, p, pl); wl += pl; }
        }
        const char *sep = SEPS[next_rand(seed) % (sizeof SEPS / sizeof SEPS[0])];
        size_t sl = strlen(sep);
        if (len + wl + sl >= cap) break;
        memcpy(out + len, word, wl);
        memcpy(out + len + wl, sep, sl);
        len += wl + sl;
    }
    return len;
}

TEST(token_cache_generated_texts_identical_on_off_cold_warm)
{
    nerd_model *m = test_model();
    nerd_doc *off = nerd_doc_new(), *on = nerd_doc_new();
    nerd_doc_set_token_cache(off, 0);
    nerd_doc_set_token_cache(on, CACHE_ENTRIES);
    enum { TEXTS = 600, MAX_BYTES = 8192 };
    static char text[MAX_BYTES];
    for (int pass = 0; pass < 2; pass++) {
        uint64_t seed = 15; /* the same texts in both passes: cold, then warm */
        for (int i = 0; i < TEXTS; i++) {
            size_t len = generated_text(&seed, 1 + next_rand(&seed) % 60, text, sizeof text);
            same_tokens(m, off, on, text, len, pass ? "generated, warm" : "generated, cold");
        }
    }
    /* each hostile unit as short chunks of 1 to 12 units (cached) and as one long chunk (not) */
    for (size_t k = 0; k < ADVERSARIAL_NKINDS; k++) {
        size_t len = 0, ul = strlen(ADVERSARIAL_KINDS[k].unit);
        for (int reps = 1; reps <= 12; reps++) {
            for (int r = 0; r < reps && len + ul < sizeof text; r++, len += ul)
                memcpy(text + len, ADVERSARIAL_KINDS[k].unit, ul);
            if (len + 1 < sizeof text) text[len++] = ' ';
        }
        for (int pass = 0; pass < 2; pass++) same_tokens(m, off, on, text, len, ADVERSARIAL_KINDS[k].kind);
    }
    CHECK(cache_hits(on, 0) > 0 && cache_hits(on, 1) > 0);
    nerd_doc_free(off);
    nerd_doc_free(on);
    nerd_model_free(m);
}

/* The entities and the parse read the lexical attributes: the same with the caches on and off. */
TEST_T(token_cache_pipelines_identical_on_off, 120)
{
    nerd_model *m = test_model();
    nerd_doc *off = nerd_doc_new(), *on = nerd_doc_new();
    nerd_doc_set_token_cache(off, 0);
    nerd_doc_set_token_cache(on, CACHE_ENTRIES);
    texts t = {0};
    load_texts(&t, "golden/edge.jsonl");
    enum { DOCS = 150 };
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < t.n && i < DOCS / TEST_SLOWDOWN; i++) {
            CHECK_EQ_INT(nerd_ner(m, off, t.text[i], t.len[i], NERD_PIPELINE_FULL), NERD_OK);
            CHECK_EQ_INT(nerd_ner(m, on, t.text[i], t.len[i], NERD_PIPELINE_FULL), NERD_OK);
            CHECK_EQ_INT(nerd_doc_nents(off), nerd_doc_nents(on));
            for (size_t e = 0; e < nerd_doc_nents(off); e++) {
                nerd_ent a, b;
                CHECK(!nerd_doc_ent(off, e, &a) && !nerd_doc_ent(on, e, &b));
                CHECKF(a.start == b.start && a.end == b.end && !strcmp(a.label, b.label), "text %zu: entity %zu differs", i, e);
            }
            for (size_t k = 0; k < nerd_doc_ntokens(off); k++) {
                size_t ha, hb;
                const char *da, *db;
                CHECK(!nerd_doc_head(off, k, &ha, &da) && !nerd_doc_head(on, k, &hb, &db));
                CHECKF(ha == hb && !strcmp(da, db), "text %zu: token %zu's head differs", i, k);
            }
        }
    free_texts(&t);
    nerd_doc_free(off);
    nerd_doc_free(on);
    nerd_model_free(m);
}

/* Two loads of the same rules are two owners: a scratch filled by one answers the other from
 * nothing it holds (no hits on the second tokenizer's first pass). */
TEST(token_cache_is_per_tokenizer)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer", test_standin());
    tokenizer *a = NULL, *b = NULL;
    char err[256];
    CHECK_EQ_INT(tokenizer_load(path, &a, err, sizeof err), NERD_OK);
    CHECK_EQ_INT(tokenizer_load(path, &b, err, sizeof err), NERD_OK);
    tok_scratch sc = {0};
    tok_scratch_cache(&sc, CACHE_ENTRIES);
    const char text[] = "Paris is the capital of France. Paris is the capital of France.";
    CHECK_EQ_INT(tokenizer_run(a, text, sizeof text - 1, &sc), 0);
    uint64_t hits_a = sc.chunks.hits;
    CHECK(hits_a > 0); /* the second sentence's chunks */
    CHECK_EQ_INT(tokenizer_run(b, text, sizeof text - 1 - 32, &sc), 0);
    CHECK_EQ_INT(sc.chunks.hits, hits_a);
    CHECK_EQ_INT(tokenizer_run(b, text, sizeof text - 1 - 32, &sc), 0);
    CHECK(sc.chunks.hits > hits_a);
    tok_scratch_free(&sc);
    tokenizer_free(a);
    tokenizer_free(b);
}

/* ---- threads sharing the model, each with its own doc (make test-tsan) ---- */

typedef struct {
    const nerd_model *m;
    const texts *t;
    int ok;
} thread_job;

static void *thread_run(void *arg)
{
    thread_job *j = arg;
    nerd_doc *off = nerd_doc_new(), *on = nerd_doc_new();
    nerd_doc_set_token_cache(off, 0);
    nerd_doc_set_token_cache(on, CACHE_ENTRIES);
    size_t docs = j->t->n / TEST_SLOWDOWN;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < docs; i++) same_tokens(j->m, off, on, j->t->text[i], j->t->len[i], "threads");
    nerd_doc_free(off);
    nerd_doc_free(on);
    j->ok = 1;
    return NULL;
}

TEST_T(token_cache_threads_identical, 180)
{
    nerd_model *m = test_model();
    texts t = {0};
    load_texts(&t, "golden/edge.jsonl");
    enum { THREADS = 4 };
    pthread_t th[THREADS];
    thread_job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (thread_job){m, &t, 0};
        CHECK(!pthread_create(&th[i], NULL, thread_run, &jobs[i]));
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].ok);
    }
    free_texts(&t);
    nerd_model_free(m);
}
