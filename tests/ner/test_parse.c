/* The full pipeline (shared tok2vec + parser + ner) against spaCy's golden files: entities,
 * sentence starts, heads and labels; the two pipelines where spaCy's answers differ; the
 * parser's table window; the CLI's token output. */
#include "test.h"
#include "transition/choose.h"
#include "nerd.h"
#include "modelfile/modelfile.h"
#include "pipeline/engine.h"
#include "model_helper.h"
#include "util/json.h"

#include <math.h>
#include <msgpack.h>
#include <unistd.h>

/* test_eval.c's: runs a shell command, captures stdout */
int test_run_capture(const char *cmd, buf *out);

typedef struct { size_t start, end; char label[32]; } span;

static size_t ents_of(const nerd_doc *d, span *out, size_t max)
{
    size_t n = nerd_doc_nents(d);
    for (size_t i = 0; i < n && i < max; i++) {
        nerd_ent e;
        nerd_doc_ent(d, i, &e);
        out[i] = (span){e.start, e.end, ""};
        snprintf(out[i].label, sizeof out[i].label, "%s", e.label);
    }
    return n;
}

static int same_as_golden(const span *s, size_t n, const json_value *gents)
{
    if (!gents || gents->type != JSON_ARRAY || gents->u.arr.n != n) return 0;
    for (size_t i = 0; i < n; i++) {
        const json_value *g = &gents->u.arr.items[i];
        if (json_get(g, "start")->u.num != (double)s[i].start || json_get(g, "end")->u.num != (double)s[i].end ||
            strcmp(json_get(g, "label")->u.str.ptr, s[i].label))
            return 0;
    }
    return 1;
}

/* Where spaCy's two pipelines disagree (the golden `ner_only`), nerd's do too, each as spaCy;
 * and no entity of the full pipeline crosses one of its sentence starts. */
TEST_T(full_and_ner_pipelines_differ_where_spacy_does, 120)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    static const char *files[] = {"golden/edge.jsonl", "golden/ewt.jsonl"};
    size_t differing = 0, crossing_checked = 0;
    span full[512], only[512];
    for (size_t f = 0; f < 2; f++) {
        size_t len;
        char *text = test_read_file(test_path(files[f]), &len);
        CHECK(text);
        jsonl_iter it;
        jsonl_init(&it, text, len, JSONL_MAX_LINE);
        for (int got; (got = jsonl_next(&it)) != 0;) {
            CHECKF(got > 0, "%s: %s", files[f], it.err);
            json_doc jd = it.doc;
            const json_value *t = json_get(&jd.root, "text"), *no = json_get(&jd.root, "ner_only");
            CHECK(nerd_ner(m, d, t->u.str.ptr, t->u.str.len, NERD_PIPELINE_FULL) == NERD_OK);
            size_t nf = ents_of(d, full, 512);
            for (size_t i = 0; i < nf && i < 512; i++)
                for (size_t k = full[i].start + 1; k < full[i].end; k++)
                    CHECKF(nerd_doc_sent_start(d, k) == 0, "%s: entity %zu-%zu crosses sentence start %zu",
                           json_get(&jd.root, "id")->u.str.ptr, full[i].start, full[i].end, k);
            crossing_checked++;
            if (no) {
                CHECK(nerd_ner(m, d, t->u.str.ptr, t->u.str.len, NERD_PIPELINE_NER) == NERD_OK);
                size_t nn = ents_of(d, only, 512);
                const char *id = json_get(&jd.root, "id")->u.str.ptr;
                CHECKF(same_as_golden(full, nf, json_get(&jd.root, "ents")), "%s: full pipeline differs from spaCy", id);
                CHECKF(same_as_golden(only, nn, json_get(no, "ents")), "%s: ner pipeline differs from spaCy's ner_only", id);
                CHECKF(!same_as_golden(only, nn, json_get(&jd.root, "ents")), "%s: both pipelines agree", id);
                differing++;
            }
        }
        jsonl_free(&it);
        free(text);
    }
    printf("  %zu docs differ between the pipelines, %zu checked for entities across sentence starts\n", differing,
           crossing_checked);
    CHECK(differing >= 19 && crossing_checked > 2000);
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* Two parses of one text: the same tokens, entities, heads, labels and sentence starts. */
static void check_same_parse(const nerd_doc *a, const nerd_doc *b)
{
    size_t n = nerd_doc_ntokens(a);
    CHECK(n == nerd_doc_ntokens(b) && nerd_doc_nents(a) == nerd_doc_nents(b));
    for (size_t i = 0; i < n; i++) {
        size_t ha, hb;
        const char *da, *db;
        CHECK(nerd_doc_head(a, i, &ha, &da) == 0 && nerd_doc_head(b, i, &hb, &db) == 0);
        CHECKF(ha == hb && !strcmp(da, db) && nerd_doc_sent_start(a, i) == nerd_doc_sent_start(b, i),
               "token %zu: head %zu %s vs %zu %s", i, ha, da, hb, db);
    }
}

/* The parser's rows are kept for a window of tokens; a small window (moved every few dozen
 * tokens, with stack features outside it computed alone) gives the same parse, in every
 * precision (the fast modes' tables are bf16, each row rounded on its own). */
TEST_T(parser_window_does_not_change_the_parse, 120)
{
    nerd_model *m = test_model();
    size_t len;
    char *text = test_read_file(test_path("corpus/paris.txt"), &len);
    CHECK(text);
    nerd_doc *a = nerd_doc_new(), *b = nerd_doc_new();
    const size_t window = m->parse_window, back = m->parse_back; /* the loader's */
    for (nerd_precision q = NERD_PRECISION_FP32; q <= NERD_PRECISION_INT8; q++) {
        CHECK(nerd_model_set_precision(m, q) == NERD_OK);
        m->parse_window = window;
        m->parse_back = back;
        CHECK(nerd_ner(m, a, text, len, NERD_PIPELINE_FULL) == NERD_OK);
        m->parse_window = 24;
        m->parse_back = 6;
        CHECK(nerd_ner(m, b, text, len, NERD_PIPELINE_FULL) == NERD_OK);
        CHECK(nerd_doc_ntokens(a) > 100);
        check_same_parse(a, b);
    }
    free(text);
    nerd_doc_free(a);
    nerd_doc_free(b);
    nerd_model_free(m);
}

/* The Paris text run through pipeline p. */
static nerd_doc *paris_doc(const nerd_model *m, nerd_pipeline p)
{
    size_t len;
    char *text = test_read_file(test_path("corpus/paris.txt"), &len);
    nerd_doc *d = nerd_doc_new();
    CHECK(text && nerd_ner(m, d, text, len, p) == NERD_OK);
    free(text);
    return d;
}

static const char *const prec_names[] = {"fp32", "bf16", "int8", "bf16 in order (int8 mode's)"};

/* A feature token outside the parser's window gets its slot computed alone: the same bits as
 * that slot of its table row, for every token of a document and every feature slot, with the
 * table in each precision. On every instruction-set level this CPU runs, the tok2vec's output,
 * the table (fp32, bf16 and int8: bf16 products of bf16 inputs are exact in fp32, int8 sums
 * exact) and each step (feature sum, maxout, output layer) have the portable path's bits. */
TEST_T(parser_fast_slot_and_step_same_bits, 120)
{
    nerd_model *m = test_model();
    nerd_doc *d = paris_doc(m, NERD_PIPELINE_FULL);
    const t2v_net *t = &m->t2v;
    const parser_net *pn = &m->parser;
    const parser_packed *pk = &m->full_parser_packed;
    CHECK(pk->lower.bf16 && pk->lower.i8);
    const size_t n = d->ntoks, row = (size_t)pn->nF * pn->nO * pn->nP, slot = (size_t)pn->nO * pn->nP;
    const size_t cap = parser_fast_lowp_floats(pn, n);
    float *proj = malloc(n * pn->nI * sizeof(float)), *alone = malloc(row * sizeof(float));
    float *lowp = malloc(cap * sizeof(float));
    float *table[2][3];
    for (int g = 0; g < 2; g++)
        for (int q = 0; q < 3; q++) table[g][q] = malloc((n + 1) * row * sizeof(float));
    float *vecs[2] = {NULL, NULL}, hid[2][256], sc[2][256];
    CHECK(pn->nO <= 256 && parser_fast_scores_floats(pn) <= 256);
    for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        int cur = isa != KN_ISA_PORTABLE; /* [0] the portable path's, [1] this level's */
        free(vecs[cur]);
        vecs[cur] = test_t2v_out(t, &m->full_t2v_packed, KN_FP32, NULL, d->t2v_attrs, n, NULL);
        CHECKF(!memcmp(vecs[cur], vecs[0], n * t->width * sizeof(float)), "%s: tok2vec output differs", kn_isa_name(isa));
        parser_fast_project(pn, pk, KN_FP32, vecs[cur], n, proj, NULL, 0);
        for (kn_precision q = KN_FP32; q <= KN_INT8; q++) {
            parser_fast_table(pn, pk, q, proj, n, table[cur][q], lowp, cap);
            CHECKF(!memcmp(table[cur][q], table[0][q], (n + 1) * row * sizeof(float)), "%s: %s table differs",
                   kn_isa_name(isa), prec_names[q]);
            for (size_t i = 0; i < n; i++)
                for (int f = 0; f < pn->nF; f++) {
                    parser_fast_feature_slot(pn, pk, q, proj + i * pn->nI, f, alone, lowp, cap);
                    CHECKF(!memcmp(alone + f * slot, table[cur][q] + (i + 1) * row + f * slot, slot * sizeof(float)),
                           "%s: %s, token %zu, slot %d differs from its table row", kn_isa_name(isa), prec_names[q], i, f);
                }
        }
        /* the steps in each mode's order (the fast modes' upper layer in four chains, int8's over
         * bf16 pairs), the
         * scores' padding to whole vectors included; every other step with a bitset of valid
         * classes (a few, some panels without any): the fast modes then skip those panels,
         * and the valid classes' scores are those of the whole product */
        const size_t nscores = parser_fast_scores_floats(pn);
        uint64_t valid[4];
        CHECK(CHOOSE_WORDS(pn->nclasses) <= 4);
        for (kn_precision q = KN_FP32; q <= KN_INT8; q++)
            for (size_t i = 0; i + pn->nF <= n + 1; i += 7) {
                const float *rows[2][16];
                for (int g = 0; g < 2; g++)
                    for (int f = 0; f < pn->nF; f++) rows[g][f] = table[g][q] + ((i * 5 + (size_t)f * 3) % (n + 1)) * row;
                memset(valid, 0, sizeof valid);
                for (int c = 0; c < pn->nclasses; c++)
                    if ((c * 7 + (int)i) % 37 == 0) choose_mask_set(valid, c);
                const uint64_t *some = i % 2 ? valid : NULL;
                memset(sc, 0xff, sizeof sc);
                CHECK(kn_set_isa(KN_ISA_PORTABLE) == 0);
                parser_fast_step_rows(pn, pk, q, rows[0], NULL, hid[0], sc[0]);
                if (q != KN_FP32) { /* int8's upper layer in bf16 pairs, bf16 mode's in fp32 */
                    float upper[256];
                    (q == KN_INT8 ? kn_row_bf16_chains : kn_row_f32_chains)(&pk->upper, hid[0], pn->upper_b, NULL, upper);
                    CHECKF(!memcmp(upper, sc[0], nscores * sizeof(float)), "%s step %zu: not the %s upper layer",
                           prec_names[q], i, q == KN_INT8 ? "bf16" : "fp32");
                }
                CHECK(kn_set_isa(isa) == 0);
                parser_fast_step_rows(pn, pk, q, rows[cur], some, hid[1], sc[1]);
                int differs = !!memcmp(hid[0], hid[1], pn->nO * sizeof(float));
                for (int c = 0; c < (q == KN_FP32 ? pn->nclasses : (int)nscores); c++) {
                    const int skipped = some && q != KN_FP32 && !(some[c / 64] >> (c / 16 * 16 % 64) & 0xffff);
                    differs |= memcmp(&sc[1][c], skipped ? &(float){0.0f} : &sc[0][c], sizeof(float)) != 0;
                }
                CHECKF(!differs, "%s step %zu%s: %s and the portable path differ", prec_names[q], i,
                       some ? " (valid classes)" : "", kn_isa_name(isa));
            }
        printf("  %s: tok2vec, tables (fp32, bf16 %s, int8 %s), slots and steps bit-identical to the portable path\n",
               kn_isa_name(isa), kn_bf16_path(), kn_i8_path());
    }
    kn_set_isa(kn_isa_best());
    free(vecs[0]); free(vecs[1]); free(proj); free(alone); free(lowp);
    for (int g = 0; g < 2; g++)
        for (int q = 0; q < 3; q++) free(table[g][q]);
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* A parser without an output layer (use_upper = false) scores the classes with the lower
 * layer's maxout: a step's scores are its hidden units, in every precision and on every level;
 * the fast modes pad the scores to whole vectors with zeros (their chooser reads whole vectors).
 * The net is the shipped parser's with its output layer taken away and fewer classes than
 * units, so the padding is not empty. */
TEST_T(parser_fast_step_without_output_layer_scores_the_hidden_units, 60)
{
    nerd_model *m = test_model();
    parser_net nu = m->parser;
    nu.upper_W = NULL;
    nu.upper_b = NULL;
    nu.nclasses = nu.nO - 5;
    const parser_packed *pk = &m->full_parser_packed;
    const size_t row = (size_t)nu.nF * nu.nO * nu.nP, nscores = parser_fast_scores_floats(&nu);
    CHECK(nu.nO <= 256 && nscores <= 256 && nscores > (size_t)nu.nclasses);
    float *table = malloc(row * sizeof(float)), hidden[256], scores[256];
    CHECK(table);
    for (size_t k = 0; k < row; k++) table[k] = (float)((int)(k * 37 % 101) - 50) / 16.0f;
    const float *rows[16];
    for (int f = 0; f < nu.nF; f++) rows[f] = table;
    for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        for (kn_precision q = KN_FP32; q <= KN_INT8; q++) {
            memset(scores, 0xff, sizeof scores);
            parser_fast_step_rows(&nu, pk, q, rows, NULL, hidden, scores);
            CHECKF(!memcmp(scores, hidden, (size_t)nu.nclasses * sizeof(float)), "%s %s: scores are not the hidden units",
                   kn_isa_name(isa), prec_names[q]);
            for (size_t c = (size_t)nu.nclasses; c < nscores; c++)
                CHECKF(q == KN_FP32 ? scores[c] != scores[c] /* untouched: NaN bytes */ : scores[c] == 0.0f,
                       "%s %s: score padding %zu is %g", kn_isa_name(isa), prec_names[q], c, scores[c]);
        }
    }
    kn_set_isa(kn_isa_best());
    free(table);
    nerd_model_free(m);
}

/* Both parsers' tables in bf16 and in int8 (projection and table in that precision): on every
 * level this CPU runs the portable path's bits, within the precision's rounding of the fp32
 * table, and the fp32 table's own bits when the scratch is too small. AMX's bf16 tiles sum in
 * their own order: there, no farther from the portable bf16 table than that is from the fp32
 * table; the int8 mode's bf16 tables (KN_BF16_IN_ORDER) never run on them, so they have the
 * portable path's bits on every level, amx included. */
TEST_T(parser_low_precision_tables_same_bits_on_every_path, 120)
{
    nerd_model *m = test_model();
    nerd_doc *d = paris_doc(m, NERD_PIPELINE_FULL);
    struct { const char *name; const t2v_net *t; const t2v_packed *tpk; const uint64_t *attrs; const parser_net *pn;
             const parser_packed *pk; } nets[] = {
        {"ner", &m->ner_t2v, &m->ner_t2v_packed, d->attrs, &m->ner_net, &m->ner_net_packed},
        {"parser", &m->t2v, &m->full_t2v_packed, d->t2v_attrs, &m->parser, &m->full_parser_packed},
    };
    const size_t n = d->ntoks;
    for (size_t w = 0; w < sizeof nets / sizeof nets[0]; w++) {
        const parser_net *pn = nets[w].pn;
        const parser_packed *pk = nets[w].pk;
        CHECK(pk->proj.bf16 && pk->lower.bf16 && pk->proj.i8 && pk->lower.i8);
        const size_t row = (size_t)pn->nF * pn->nO * pn->nP, cells = (n + 1) * row;
        const size_t cap = parser_fast_lowp_floats(pn, n);
        float *vecs = test_t2v_out(nets[w].t, nets[w].tpk, KN_FP32, NULL, nets[w].attrs, n, NULL);
        float *proj = malloc(n * pn->nI * sizeof(float)), *exact = malloc(cells * sizeof(float));
        float *portable = malloc(cells * sizeof(float)), *got = malloc(cells * sizeof(float));
        float *lowp = malloc(cap * sizeof(float));
        parser_fast_precompute(pn, pk, KN_FP32, vecs, n, proj, exact, NULL, 0);
        for (kn_precision q = KN_BF16; q <= KN_BF16_IN_ORDER; q++) {
            parser_fast_precompute(pn, pk, q, vecs, n, proj, got, lowp, cap - 1); /* no room: the fp32 table */
            CHECKF(!memcmp(got, exact, cells * sizeof(float)), "%s %s: not the fp32 table without room", nets[w].name,
                   prec_names[q]);
            double worst = 0;
            for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
                if (!test_use_isa(isa)) continue;
                memset(got, 0xff, cells * sizeof(float));
                parser_fast_precompute(pn, pk, q, vecs, n, proj, got, lowp, cap);
                if (isa == KN_ISA_PORTABLE) {
                    memcpy(portable, got, cells * sizeof(float));
                    for (size_t i = 0; i < cells; i++) {
                        double diff = fabs((double)got[i] - exact[i]) / (1 + fabs((double)exact[i]));
                        worst = diff > worst ? diff : worst;
                    }
                }
                if (q == KN_BF16 && !kn_bf16_exact()) { /* AMX's own order */
                    double order = 0;
                    for (size_t i = 0; i < cells; i++) {
                        double diff = fabs((double)got[i] - portable[i]) / (1 + fabs((double)portable[i]));
                        order = diff > order ? diff : order;
                    }
                    printf("  %s (%s): %s bf16 table within %.2e x (1 + |x|) of the portable path's\n", kn_isa_name(isa),
                           kn_bf16_path(), nets[w].name, order);
                    CHECKF(order <= worst, "%s: %s bf16 table %.2e from the portable path's, farther than bf16's rounding %.2e",
                           kn_isa_name(isa), nets[w].name, order, worst);
                    continue;
                }
                CHECKF(!memcmp(got, portable, cells * sizeof(float)), "%s: %s %s table differs from the portable path's",
                       kn_isa_name(isa), nets[w].name, prec_names[q]);
                printf("  %s (%s): %s %s table bit-identical to the portable path's\n", kn_isa_name(isa),
                       q == KN_INT8 ? kn_i8_path() : kn_bf16_path(), nets[w].name, prec_names[q]);
                if (isa == KN_ISA_AVX512 && q == KN_BF16 && strcmp(kn_bf16_path(), "avx512bf16"))
                    printf("  SKIP avx512bf16: CPU lacks AVX512_BF16 (bf16 ran on %s)\n", kn_bf16_path());
                if (isa == KN_ISA_AVX512 && q == KN_INT8 && strcmp(kn_i8_path(), "avx512vnni"))
                    printf("  SKIP avx512vnni: CPU lacks AVX512_VNNI (int8 ran on %s)\n", kn_i8_path());
                if (isa == KN_ISA_AVXVNNI && q == KN_INT8 && strcmp(kn_i8_path(), "avxvnni"))
                    printf("  SKIP avxvnni: CPU lacks AVX-VNNI (int8 ran on %s)\n", kn_i8_path());
            }
            kn_set_isa(kn_isa_best());
            printf("  %s %s: largest difference from the fp32 table %.2e (relative to 1 + |x|)\n", nets[w].name,
                   prec_names[q], worst);
            /* rounded, and only by the precision's rounding (int8 rounds both products' inputs
             * and weights to 8 bits: measured 0.027 for bf16, 0.105 for int8) */
            static const double most[] = {[KN_BF16] = 0.05, [KN_INT8] = 0.2, [KN_BF16_IN_ORDER] = 0.05};
            CHECKF(worst > 0 && worst < most[q], "%s %s: %g", nets[w].name, prec_names[q], worst);
        }
        free(vecs); free(proj); free(exact); free(portable); free(got); free(lowp);
    }
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* The full parser's table a parse leaves in its scratch (Paris fits one window: the projection,
 * then the table) is the product in dep_table_precision: in bf16 mode the bf16 product of its
 * projection, in int8 the int8 one (each row quantized alone; it was bf16 before), not the fp32
 * one; fp32 in the exact mode. */
TEST_T(full_parser_table_follows_the_fast_mode, 120)
{
    nerd_model *m = test_model();
    const parser_net *pn = &m->parser;
    for (nerd_precision mode = NERD_PRECISION_FP32; mode <= NERD_PRECISION_INT8; mode++) {
        CHECK(nerd_model_set_precision(m, mode) == NERD_OK);
        nerd_doc *d = paris_doc(m, NERD_PIPELINE_FULL);
        const size_t n = d->ntoks, cells = (n + 1) * (size_t)pn->nF * pn->nO * pn->nP;
        CHECK(n < m->parse_window);
        const float *proj = d->pwork, *table = proj + n * pn->nI;
        const size_t cap = parser_fast_lowp_floats(pn, n);
        float *lowp = malloc(cap * sizeof(float)), *want = malloc(cells * sizeof(float));
        float *fp32 = malloc(cells * sizeof(float));
        parser_fast_table(pn, &m->full_parser_packed, KN_FP32, proj, n, fp32, NULL, 0);
        const int low = mode != NERD_PRECISION_FP32; /* dep_table_precision */
        const kn_precision table_prec = mode == NERD_PRECISION_INT8 ? KN_INT8 : low ? KN_BF16 : KN_FP32;
        const char *table_name = mode == NERD_PRECISION_INT8 ? "int8" : low ? "bf16" : "fp32";
        parser_fast_table(pn, &m->full_parser_packed, table_prec, proj, n, want, lowp, cap);
        CHECKF(!memcmp(table, want, cells * sizeof(float)), "%s: the parse's table is not the %s one",
               nerd_precision_name(mode), table_name);
        CHECKF(!low || memcmp(table, fp32, cells * sizeof(float)), "%s: the parse's table is the fp32 one",
               nerd_precision_name(mode));
        printf("  %s: the full parser's table is the %s product\n", nerd_precision_name(mode), table_name);
        free(lowp); free(want); free(fp32);
        nerd_doc_free(d);
    }
    nerd_model_free(m);
}

/* The shared tok2vec has its own word cache: a full parse looks every token up twice (the
 * ner's tok2vec and the shared one), and the parse is the same with the caches off. */
TEST_T(full_pipeline_uses_its_cache_and_parses_the_same_without, 120)
{
    nerd_model *m = test_model();
    size_t len;
    char *text = test_read_file(test_path("corpus/paris.txt"), &len);
    nerd_doc *a = nerd_doc_new(), *b = nerd_doc_new();
    CHECK(nerd_model_set_cache(m, 4096) == NERD_OK);
    CHECK(text && nerd_ner(m, a, text, len, NERD_PIPELINE_FULL) == NERD_OK);
    CHECK(nerd_ner(m, a, text, len, NERD_PIPELINE_FULL) == NERD_OK); /* the second time mostly hits */
    nerd_cache_stats st;
    nerd_model_cache_stats(m, &st);
    const size_t n = nerd_doc_ntokens(a);
    CHECKF(st.hits + st.misses == 4 * n, "%llu lookups for 2 parses of %zu tokens", (unsigned long long)(st.hits + st.misses), n);
    /* the second parse hits in both caches (the first computes every word: its misses are
     * stored after the document's lookups); a slot two words share costs a few */
    CHECKF(st.hits > 3 * n / 2, "%llu hits", (unsigned long long)st.hits);
    /* the shared tok2vec's rows from its cache (keyed on six attributes) are the fresh ones */
    const t2v_net *t = &m->t2v;
    t2v_cache_use use;
    float *fresh = test_t2v_out(t, &m->full_t2v_packed, KN_FP32, NULL, a->t2v_attrs, n, NULL);
    float *cached = test_t2v_out(t, &m->full_t2v_packed, KN_FP32, m->full_cache, a->t2v_attrs, n, &use);
    CHECK(t->nattrs == 6 && use.hits > n / 2 && !memcmp(fresh, cached, n * t->width * sizeof(float)));
    free(fresh); free(cached);
    CHECK(nerd_model_set_cache(m, 0) == NERD_OK);
    CHECK(nerd_ner(m, b, text, len, NERD_PIPELINE_FULL) == NERD_OK);
    check_same_parse(a, b);
    free(text);
    nerd_doc_free(a);
    nerd_doc_free(b);
    nerd_model_free(m);
}

/* `nerd ner --format tokens --pipeline full` gives each token's head, label and sentence
 * start, as spaCy's golden Paris document. */
TEST(ner_cli_tokens_carry_the_parse)
{
    size_t len;
    char *golden = test_read_file(test_path("golden/edge.jsonl"), &len);
    CHECK(golden);
    char *nl = strchr(golden, '\n');
    json_doc gd, mine;
    char err[256];
    CHECK(json_parse(golden, (size_t)(nl - golden), 0, &gd, err, sizeof err) == 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s ner --model %s --pipeline full --format tokens %s", test_nerd_bin(), test_standin(),
             test_path("corpus/paris.txt"));
    buf out = {0};
    CHECK(test_run_capture(cmd, &out) == 0);
    CHECKF(json_parse(out.ptr, out.len, 0, &mine, err, sizeof err) == 0, "%s", err);
    const json_value *heads = json_get(&gd.root, "heads"), *deps = json_get(&gd.root, "deps"),
                     *ss = json_get(&gd.root, "sent_starts");
    CHECK(mine.root.type == JSON_ARRAY && mine.root.u.arr.n == heads->u.arr.n);
    size_t k = 0;
    for (size_t i = 0; i < heads->u.arr.n; i++) {
        const json_value *t = &mine.root.u.arr.items[i];
        CHECK_EQ_INT(json_get(t, "head")->u.num, heads->u.arr.items[i].u.num);
        CHECK_EQ_STR(json_get(t, "dep")->u.str.ptr, deps->u.arr.items[i].u.str.ptr);
        int starts = k < ss->u.arr.n && ss->u.arr.items[k].u.num == (double)i;
        k += starts;
        CHECK_EQ_INT(json_get(t, "sent_start")->type == JSON_TRUE, starts);
    }
    CHECK(k == ss->u.arr.n);
    json_doc_free(&mine);
    buf_clear(&out);
    /* the ner pipeline has no parse to show */
    snprintf(cmd, sizeof cmd, "%s ner --model %s --pipeline ner --format tokens %s", test_nerd_bin(), test_standin(),
             test_path("corpus/paris.txt"));
    CHECK(test_run_capture(cmd, &out) == 0 && out.ptr && !strstr(out.ptr, "\"head\""));
    json_doc_free(&gd);
    buf_free(&out);
    free(golden);
}

/* The class order of a moves file: actions in id order; within one, labels by frequency, then
 * by label, both descending (spaCy's initialize_actions); negative frequencies (labels added
 * after training) last, each label with all its actions. */
TEST(parser_moves_class_order)
{
    const char *json = "{\"0\":{\"\":9},\"1\":{\"\":9},"
                       "\"2\":{\"a\":3,\"b\":3,\"c\":7,\"z\":-1,\"obj||xcomp\":2},"
                       "\"3\":{\"y\":-2,\"z\":-1,\"b\":1},\"4\":{\"ROOT\":5}}";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str(&pk, 5);
    msgpack_pack_str_body(&pk, "moves", 5);
    msgpack_pack_str(&pk, strlen(json));
    msgpack_pack_str_body(&pk, json, strlen(json));
    char path[] = "/tmp/nerd-moves-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, sb.data, sb.size) == (ssize_t)sb.size);
    close(fd);
    msgpack_sbuffer_destroy(&sb);
    ae_moves mv;
    char err[256];
    CHECKF(ae_load(&mv, path, err, sizeof err) == 0, "%s", err);
    unlink(path);
    static const char *want[] = {"S", "D", "L-c", "L-b", "L-a", "L-obj||xcomp", "R-b", "B-ROOT", "L-z", "R-z", "R-y"};
    CHECK_EQ_INT(mv.nclasses, sizeof want / sizeof want[0]);
    for (int c = 0; c < mv.nclasses; c++) {
        char name[64];
        CHECK_EQ_STR(ae_class_name(&mv, c, name, sizeof name), want[c]);
    }
    /* the decorated label's parts */
    int deco = mv.classes[5].label;
    CHECK_EQ_STR(mv.labels[mv.base[deco]], "obj");
    CHECK_EQ_STR(mv.labels[mv.head[deco]], "xcomp");
    CHECK_EQ_STR(mv.labels[mv.root_label], "ROOT");
    ae_free(&mv);
}
