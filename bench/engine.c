/* bench/engine.c - single-thread figures of the NER library (`make bench`):
 *   tokenizer: tokens/s and MB/s over the golden texts, and on hostile texts (bench/adversarial.h)
 *   each kind's figures, the worst and its ratio to the golden texts';
 *   ner: ms per document for the seed's Paris text (median of many runs; exact with and without
 *   the word cache, bf16 and int8) against the time its multiply-adds take at the measured OpenBLAS
 *   sgemm rate of this machine (the "sgemm-limit ratio"), words/s over the golden texts and
 *   the word cache's hit rate; nerd's own kernel at several row counts (what batching could
 *   gain), and its int8 kernel against it; and the full pipeline (shared tok2vec + parser +
 *   ner) on Paris beside the ner alone, exact, bf16 and int8, and over the golden texts; the
 *   doc pipeline (the whole Doc: tagger, attribute_ruler, lemmatizer, noun chunks besides) on
 *   Paris against the entities alone and the full pipeline, and over the golden texts;
 *   where a Paris document's time goes in each precision (tokenizer, tok2vec, parser table,
 *   transitions) and the rates of the 512-bit product instructions that bound the fast modes.
 * `--json FILE` also writes the per-document figures there, for bench/spacy_speed.py to set
 * spaCy's beside them. */
#include "nerd.h"
#include "modelfile/modelfile.h"
#include "pipeline/engine.h"
#include "util/json.h"
#include "nn/kernels.h"
#include "adversarial.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* This thread's CPU time: on a shared machine the time other processes hold the core does not
 * count (on a quiet one it equals the wall time). */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* A whole file, or NULL with why on stderr. */
static char *slurp(const char *path, size_t *len)
{
    buf b = {0};
    char err[512];
    if (mf_read(path, MF_MAX_MODEL_FILE, &b, err, sizeof err) != NERD_OK) {
        fprintf(stderr, "bench: %s\n", err);
        buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.ptr;
}

/* Runs r0 .. r1-1 of one configuration on one text: ms[r] is each run's time in ms. */
static void time_block(const nerd_model *m, nerd_doc *d, const char *text, size_t len, nerd_pipeline p, double *ms,
                       int r0, int r1)
{
    for (int r = r0; r < r1; r++) {
        double a = now();
        nerd_ner(m, d, text, len, p);
        ms[r] = (now() - a) * 1e3;
    }
}

typedef struct { char **text; size_t *len; size_t n, bytes; } corpus;

static void load_golden(corpus *c, const char *path)
{
    size_t len;
    char *data = slurp(path, &len);
    if (!data) { fprintf(stderr, "bench: cannot read %s\n", path); exit(1); }
    jsonl_iter it;
    jsonl_init(&it, data, len, JSONL_MAX_LINE);
    for (int got; (got = jsonl_next(&it)) != 0;) {
        if (got < 0) { fprintf(stderr, "bench: %s: %s\n", path, it.err); exit(1); }
        const json_value *t = json_get(&it.doc.root, "text");
        c->text = realloc(c->text, (c->n + 1) * sizeof *c->text);
        c->len = realloc(c->len, (c->n + 1) * sizeof *c->len);
        c->text[c->n] = malloc(t->u.str.len + 1);
        memcpy(c->text[c->n], t->u.str.ptr, t->u.str.len + 1);
        c->len[c->n] = t->u.str.len;
        c->bytes += t->u.str.len;
        c->n++;
    }
    jsonl_free(&it);
    free(data);
}

/* The tokenizer on 1 MiB of each hostile kind, one long token each, beside its golden
 * figures. tokens/s is compared over the kinds that split into a token per 8 bytes or more
 * (the golden texts have one per 4.9): a kind that stays one token has no tokens/s to speak of,
 * so MB/s is compared over all kinds. */
static void tokenizer_hostile(const nerd_model *m, nerd_doc *d, double golden_tokens_s, double golden_mb_s)
{
    enum { TEXT_BYTES = 1 << 20, SPLIT_BYTES_PER_TOKEN = 8 };
    double worst_tokens_s = 0, worst_mb_s = 0;
    const char *worst_tokens_kind = "", *worst_mb_kind = "";
    printf("tokenizer, hostile texts of 1 MiB (one token of repeated units, bench/adversarial.h):\n");
    for (size_t k = 0; k < ADVERSARIAL_NKINDS; k++) {
        size_t len;
        char *text = adversarial_text(&ADVERSARIAL_KINDS[k], TEXT_BYTES, &len);
        if (!text) { fprintf(stderr, "bench: out of memory\n"); exit(1); }
        double t0 = now();
        nerd_tokenize(m, d, text, len);
        double secs = now() - t0;
        size_t n = nerd_doc_ntokens(d);
        double tokens_s = n / secs, mb_s = len / secs / 1e6;
        printf("  %-26s %8zu tokens in %6.3f s: %8.0f tokens/s, %5.2f MB/s\n", ADVERSARIAL_KINDS[k].kind, n, secs,
               tokens_s, mb_s);
        if (n * SPLIT_BYTES_PER_TOKEN >= len && (!*worst_tokens_kind || tokens_s < worst_tokens_s)) {
            worst_tokens_s = tokens_s;
            worst_tokens_kind = ADVERSARIAL_KINDS[k].kind;
        }
        if (!*worst_mb_kind || mb_s < worst_mb_s) {
            worst_mb_s = mb_s;
            worst_mb_kind = ADVERSARIAL_KINDS[k].kind;
        }
        free(text);
    }
    printf("  worst tokens/s %.0f (%s): the golden texts' (token caches off) %.0f / %.1f; worst MB/s %.2f (%s): the golden texts' %.2f / "
           "%.1f (goal: within 10x)\n",
           worst_tokens_s, worst_tokens_kind, golden_tokens_s, golden_tokens_s / worst_tokens_s, worst_mb_s,
           worst_mb_kind, golden_mb_s, golden_mb_s / worst_mb_s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Multiply-adds of a tok2vec per token. */
static double t2v_macs(const t2v_net *t)
{
    return (double)t->mix_nI * t->width * t->mix_pieces +
           (double)t->depth * (2 * t->window + 1) * t->width * t->width * t->pieces;
}

/* Multiply-adds of a TransitionBasedParser network: per token (projection, precomputed
 * table) and per transition (feature sums, upper layer). */
static double tb_token_macs(const parser_net *p) { return (double)p->t2v_width * p->nI + (double)p->nI * p->nF * p->nO * p->nP; }
static double tb_step_macs(const parser_net *p) { return (double)p->nO * p->nclasses + (double)p->nF * p->nO * p->nP; }

/* The tok2vec the ner reads: its own, or the shared one it listens to. */
static const t2v_net *ner_tok2vec(const nerd_model *m) { return m->ner_listens ? &m->t2v : &m->ner_t2v; }

/* Multiply-adds per token of the ner network, from its dimensions (one transition a token). */
static double macs_per_token(const nerd_model *m)
{
    return t2v_macs(ner_tok2vec(m)) + tb_token_macs(&m->ner_net) + tb_step_macs(&m->ner_net);
}

/* The product with a plain C loop (what the compiler makes of it at -O2 -march=native), for
 * the question whether products need vector kernels at all. */
static double naive_gflops(int rows, int k, int cols)
{
    float *A = calloc((size_t)rows * k, 4), *B = calloc((size_t)cols * k, 4), *C = calloc((size_t)rows * cols, 4);
    for (size_t i = 0; i < (size_t)rows * k; i++) A[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)cols * k; i++) B[i] = (float)(i % 5) * 0.1f;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        int iters = 20;
        double t0 = now();
        for (int it = 0; it < iters; it++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) {
                    float acc = 0;
                    for (int q = 0; q < k; q++) acc += A[(size_t)i * k + q] * B[(size_t)j * k + q];
                    C[(size_t)i * cols + j] = acc;
                }
        double gf = 2.0 * rows * k * cols * iters / (now() - t0) / 1e9;
        if (gf > best) best = gf;
    }
    free(A); free(B); free(C);
    return best;
}

/* The core's running clock, measured: a chain of dependent integer adds retires one per
 * cycle, so adds per second is the clock (a VM's /proc/cpuinfo shows only the base clock). */
static double cpu_ghz(void)
{
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        unsigned long x = 0, y = 1, n = 50000000;
        double t0 = now();
        for (unsigned long i = 0; i < n; i++) {
#if defined(__x86_64__)
            __asm__ volatile("add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
                             "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0" : "+r"(x) : "r"(y));
#endif
        }
        double ghz = 8.0 * n / (now() - t0) / 1e9;
        if (ghz > best) best = ghz;
    }
    return best;
}

/* Words of a doc as spaCy's benchmarks count them: its tokens that are not whitespace. */
static size_t doc_words(const nerd_doc *d)
{
    size_t words = 0;
    for (size_t k = 0; k < nerd_doc_ntokens(d); k++) {
        nerd_token t;
        nerd_doc_token(d, k, &t);
        words += !t.is_space;
    }
    return words;
}

/* One pass of pipeline p over the golden texts: words/s, tokens, and the cache's hits in the pass. */
typedef struct { double words_s, tokens_s, hit_rate; size_t tokens, words; double secs; } golden_run;

static golden_run run_golden(const nerd_model *m, nerd_doc *d, const corpus *c, nerd_pipeline p)
{
    nerd_cache_stats before, after;
    nerd_model_cache_stats(m, &before);
    size_t tokens = 0, words = 0;
    double t0 = now();
    for (size_t i = 0; i < c->n; i++) {
        nerd_ner(m, d, c->text[i], c->len[i], p);
        tokens += nerd_doc_ntokens(d);
        words += doc_words(d);
    }
    double secs = now() - t0;
    nerd_model_cache_stats(m, &after);
    uint64_t h = after.hits - before.hits, mi = after.misses - before.misses;
    return (golden_run){words / secs, tokens / secs, h + mi ? (double)h / (h + mi) : 0, tokens, words, secs};
}

static nerd_model *load_as(const char *path, nerd_precision p, size_t cache_entries)
{
    char err[1024];
    nerd_model *m = nerd_model_load(path, NULL, err, sizeof err);
    if (!m) { fprintf(stderr, "%s\n", err); exit(1); }
    if (nerd_model_set_precision(m, p) != NERD_OK || nerd_model_set_cache(m, cache_entries) != NERD_OK) {
        fprintf(stderr, "bench: cannot set precision/cache\n");
        exit(1);
    }
    return m;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Own kernel GFLOP/s for rows x 288 x 288 (median of timed calls): what batching documents
 * (more rows per product) could gain. With int8 also the int8 kernel's GOP/s into *i8, its
 * timed calls alternating with the fp32 ones so that the machine's load falls on both alike;
 * int8 quantizes A each call, as the encoder does. lda 96 overlaps A's rows like the
 * encoder's windows. */
static double kernel_gflops(int rows, int lda, double *i8)
{
    int k = 288, cols = 288;
    float *A = calloc((size_t)(rows + 2) * k, 4), *W = calloc((size_t)cols * k, 4), *C = calloc((size_t)rows * cols, 4);
    uint8_t *Q = malloc((size_t)rows * k);
    float *scale = malloc((size_t)rows * sizeof(float));
    int32_t *zero = malloc((size_t)rows * sizeof(int32_t));
    for (size_t i = 0; i < (size_t)rows * k; i++) A[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)cols * k; i++) W[i] = (float)(i % 5) * 0.1f;
    kn_weights p;
    kn_pack(&p, W, cols, k, i8 ? KN_PACK_INT8 : 0);
    enum { N = 301 };
    double t[N], tq[N];
    int iters = rows < 64 ? 40 : 4;
    for (int r = 0; r < N; r++) {
        double t0 = now();
        for (int i = 0; i < iters; i++) kn_gemm_f32(&p, A, lda, (size_t)rows, C, cols);
        t[r] = (now() - t0) / iters;
        t0 = now();
        for (int i = 0; i < iters && i8; i++) {
            kn_quantize_rows(A, lda, (size_t)rows, k, Q, scale, zero);
            kn_gemm_i8(&p, Q, scale, zero, (size_t)rows, C, cols);
        }
        tq[r] = (now() - t0) / iters;
    }
    if (i8) *i8 = 2.0 * rows * k * cols / median(tq, N) / 1e9;
    kn_free(&p);
    free(A); free(W); free(C); free(Q); free(scale); free(zero);
    return 2.0 * rows * k * cols / median(t, N) / 1e9;
}

/* Where one Paris document's time goes (ner pipeline, word cache warm), in the model's precision:
 * the whole nerd_ner call and its stages alone on the same document, each the minimum over runs
 * taking turns (other processes on a shared machine only ever add time). The tokenizer (with the
 * lexical attributes and their hashes) and the transitions do the same work in every precision;
 * the tok2vec and the parser's precomputed table hold the products the precision changes. */
typedef struct { double all, tokenize, tok2vec, precompute; } stage_times;

static stage_times paris_stages(const nerd_model *m, nerd_doc *d, const char *text, size_t len)
{
    enum { STAGE_RUNS = 201 };
    stage_times best = {1e9, 1e9, 1e9, 1e9};
    nerd_ner(m, d, text, len, NERD_PIPELINE_NER);
    const size_t n = d->ntoks;
    const t2v_net *t2v = ner_tok2vec(m);
    const t2v_packed *pk = m->ner_listens ? &m->full_t2v_packed : &m->ner_t2v_packed;
    embed_cache *cache = m->ner_listens ? m->full_cache : m->ner_cache;
    const uint64_t *attrs = m->ner_listens ? d->t2v_attrs : !m->ner_t2v_direct ? d->ner_attrs : d->attrs;
    const parser_net *pn = &m->ner_net;
    float *scratch = malloc(t2v_fast_scratch_floats(t2v, n) * sizeof(float)), *vecs = malloc((n + 1) * t2v->width * sizeof(float));
    float *proj = malloc((n + 1) * pn->nI * sizeof(float)), *table = malloc((n + 1) * pn->nF * pn->nO * pn->nP * sizeof(float));
    if (!scratch || !vecs || !proj || !table) { fprintf(stderr, "bench: out of memory\n"); exit(1); }
    for (int r = 0; r < STAGE_RUNS; r++) {
        double a = now();
        nerd_ner(m, d, text, len, NERD_PIPELINE_NER);
        double b = now();
        nerd_tokenize(m, d, text, len);
        double c = now();
        t2v_fast_forward(t2v, pk, m->precision, cache, attrs, NULL, n, vecs, scratch, NULL, NULL, NULL);
        double e = now();
        /* as engine_ner computes it, its low-precision input in the tok2vec's scratch */
        parser_fast_precompute(pn, &m->ner_net_packed, parser_table_precision(m->precision), vecs, n, proj, table, scratch,
                               t2v_fast_scratch_floats(t2v, n));
        double f = now();
        best.all = b - a < best.all ? b - a : best.all;
        best.tokenize = c - b < best.tokenize ? c - b : best.tokenize;
        best.tok2vec = e - c < best.tok2vec ? e - c : best.tok2vec;
        best.precompute = f - e < best.precompute ? f - e : best.precompute;
    }
    free(scratch); free(vecs); free(proj); free(table);
    return best;
}

#if defined(__x86_64__)
/* Instructions per ns of one 512-bit product instruction over 24 independent accumulators (more
 * than its latency x 2 pipes): the most the CPU's products can do, whatever the kernel. Per
 * instruction VFMADD231PS does 16 multiply-adds, VDPBF16PS 32, VPDPBUSD 64. */
#define CHAINS12(insn)                                                                              \
    insn " %12,%13,%0\n\t" insn " %12,%13,%1\n\t" insn " %12,%13,%2\n\t" insn " %12,%13,%3\n\t"     \
    insn " %12,%13,%4\n\t" insn " %12,%13,%5\n\t" insn " %12,%13,%6\n\t" insn " %12,%13,%7\n\t"     \
    insn " %12,%13,%8\n\t" insn " %12,%13,%9\n\t" insn " %12,%13,%10\n\t" insn " %12,%13,%11\n\t"
#define CHAIN_OUTS(p) "+v"(p##0), "+v"(p##1), "+v"(p##2), "+v"(p##3), "+v"(p##4), "+v"(p##5), "+v"(p##6), \
                      "+v"(p##7), "+v"(p##8), "+v"(p##9), "+v"(p##10), "+v"(p##11)
/* 24 named accumulators (in an array gcc keeps them in memory and times the loads) */
#define INSN_RATE(name, insn)                                                                       \
    __attribute__((target("avx512f"))) static double name(void)                                     \
    {                                                                                               \
        enum { ITERS = 2000000 };                                                                   \
        double best = 0;                                                                            \
        for (int rep = 0; rep < 5; rep++) {                                                         \
            __m512 x = _mm512_set1_ps(1e-9f), y = x, a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, \
                   a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0, b0 = a0, b1 = a0, \
                   b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0, b8 = a0, b9 = a0, b10 = a0, b11 = a0; \
            double t0 = now();                                                                      \
            for (long i = 0; i < ITERS; i++) {                                                      \
                __asm__ volatile(CHAINS12(insn) : CHAIN_OUTS(a) : "v"(x), "v"(y));                  \
                __asm__ volatile(CHAINS12(insn) : CHAIN_OUTS(b) : "v"(x), "v"(y));                  \
            }                                                                                       \
            double rate = 24.0 * ITERS / (now() - t0) / 1e9;                                        \
            best = rate > best ? rate : best;                                                       \
        }                                                                                           \
        return best;                                                                                \
    }
#include <immintrin.h>
INSN_RATE(rate_vfmadd231ps, "vfmadd231ps")
INSN_RATE(rate_vdpbf16ps, "vdpbf16ps")
INSN_RATE(rate_vpdpbusd, "vpdpbusd")
#endif

/* The per-stage table and the instruction rates behind the precisions' ratios. */
static void print_stages(nerd_model *const by_precision[3], nerd_doc *d, const char *paris, size_t plen)
{
    static const char *names[3] = {"exact", "bf16", "int8"};
    stage_times st[3];
    for (int q = 0; q < 3; q++) st[q] = paris_stages(by_precision[q], d, paris, plen);
    printf("where a Paris document's time goes (ner, word cache warm, %s; each stage alone, minimum of 201 runs "
           "taking turns):\n", kn_isa_name(kn_isa_current()));
    for (int q = 0; q < 3; q++) {
        double other = st[q].all - st[q].tokenize - st[q].tok2vec - st[q].precompute;
        printf("  %-5s %-10s whole %.3f ms: tokenizer and attributes %.3f, tok2vec %.3f, parser table %.3f, "
               "transitions and the rest %.3f; outside the tok2vec (tokenizer, table, transitions) "
               "%.3f ms = %.0f%%\n",
               names[q], nerd_precision_kernel((nerd_precision)q), st[q].all * 1e3, st[q].tokenize * 1e3,
               st[q].tok2vec * 1e3, st[q].precompute * 1e3, other * 1e3,
               (st[q].all - st[q].tok2vec) * 1e3, 100 * (st[q].all - st[q].tok2vec) / st[q].all);
    }
    printf("  tok2vec against exact: bf16 %.2fx, int8 %.2fx; the whole document: bf16 %.2fx, int8 %.2fx\n",
           st[0].tok2vec / st[1].tok2vec, st[0].tok2vec / st[2].tok2vec, st[0].all / st[1].all, st[0].all / st[2].all);
#if defined(__x86_64__)
    if (kn_isa_best() >= KN_ISA_AVX512) {
        double f = rate_vfmadd231ps();
        printf("  512-bit product instructions per ns (24 chains): VFMADD231PS %.2f (%.0f fp32 multiply-adds/ns)", f, 16 * f);
        if (!strcmp(nerd_precision_kernel(NERD_PRECISION_BF16), "avx512bf16")) {
            double b = rate_vdpbf16ps();
            printf(", VDPBF16PS %.2f (%.0f bf16, %.2fx fp32's)", b, 32 * b, 32 * b / (16 * f));
        }
        if (!strcmp(nerd_precision_kernel(NERD_PRECISION_INT8), "avx512vnni")) {
            double v = rate_vpdpbusd();
            printf(", VPDPBUSD %.2f (%.0f int8, %.2fx fp32's)", v, 64 * v, 64 * v / (16 * f));
        }
        printf("\n");
    }
#endif
}

/* The figures bench/spacy_speed.py sets spaCy's beside: ms/doc on Paris and words/s over the
 * golden texts, per pipeline and precision (0 where the model has no full pipeline). */
typedef struct {
    double paris_ms[2][3], paris_doc_ms; /* the doc pipeline: exact only */
    golden_run golden[2][3], golden_doc;
    size_t paris_tokens, paris_words;
} speed_figures;

static void write_json(const char *file, const speed_figures *f, size_t docs)
{
    FILE *out = fopen(file, "w");
    if (!out) { fprintf(stderr, "bench: cannot write %s\n", file); exit(1); }
    static const char *pipeline_names[2] = {"ner", "full"}, *precision_names[3] = {"exact", "bf16", "int8"};
    fprintf(out, "{\"paris\": {\"tokens\": %zu, \"words\": %zu", f->paris_tokens, f->paris_words);
    for (int p = 0; p < 2; p++)
        for (int q = 0; q < 3; q++)
            fprintf(out, ", \"%s %s ms\": %.4f", pipeline_names[p], precision_names[q], f->paris_ms[p][q]);
    fprintf(out, ", \"doc exact ms\": %.4f", f->paris_doc_ms);
    fprintf(out, "},\n \"golden\": {\"docs\": %zu, \"words\": %zu, \"doc exact words/s\": %.1f", docs,
            f->golden[0][0].words, f->golden_doc.words_s);
    for (int p = 0; p < 2; p++)
        for (int q = 0; q < 3; q++)
            fprintf(out, ", \"%s %s words/s\": %.1f", pipeline_names[p], precision_names[q], f->golden[p][q].words_s);
    fprintf(out, "},\n \"kernels\": {\"exact\": \"%s\", \"bf16\": \"%s\", \"int8\": \"%s\"}}\n",
            nerd_precision_kernel(NERD_PRECISION_FP32), nerd_precision_kernel(NERD_PRECISION_BF16),
            nerd_precision_kernel(NERD_PRECISION_INT8));
    fclose(out);
}

/* The CPU and which code paths this run takes, and which it cannot: printed first. */
static void print_cpu(void)
{
    char line[256], model[200] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = 0;
            break;
        }
    if (f) fclose(f);
    kn_isa now = kn_isa_current();
    printf("cpu: %s; kernels at level %s: fp32 %s, bf16 %s, int8 %s\n", model, kn_isa_name(now), kn_f32_path(),
           kn_bf16_path(), kn_i8_path());
    printf("paths run below:");
    for (int i = 0; i < KN_ISA_COUNT; i++)
        if (i <= (int)now && !kn_isa_missing((kn_isa)i)) printf(" %s", kn_isa_name((kn_isa)i));
    printf("; not run:");
    for (int i = 0; i < KN_ISA_COUNT; i++)
        if (kn_isa_missing((kn_isa)i)) printf(" %s (%s);", kn_isa_name((kn_isa)i), kn_isa_missing((kn_isa)i));
        else if (i > (int)now) printf(" %s (NERD_ISA=%s);", kn_isa_name((kn_isa)i), kn_isa_name(now));
    printf("\n");
}

/* The reference sgemm is OpenBLAS's best for this CPU. Its kernels can be forced by
 * OPENBLAS_CORETYPE (this machine's environment sets Haswell, for valgrind), and an OpenBLAS
 * older than the CPU picks lesser ones itself: on Zen 5, Debian's 0.3.21 with Haswell's AVX2
 * kernels makes 113 GFLOP/s, with its AVX-512 ones 206. So on an AVX-512 CPU whose OpenBLAS
 * kernels are not AVX-512 ones, the bench runs itself again with OPENBLAS_CORETYPE=SkylakeX
 * (AVX-512 F/BW/DQ/VL/CD), saying so; NERD_BENCH_BLAS=as-is keeps the kernels given. */
static void reference_blas(char **argv)
{
    const char *core = openblas_get_corename(), *keep = getenv("NERD_BENCH_BLAS");
    if ((keep && !strcmp(keep, "as-is")) || kn_isa_best() < KN_ISA_AVX512 || strcasestr(core, "skylakex") ||
        strcasestr(core, "cooperlake") || strcasestr(core, "sapphirerapids"))
        return;
    printf("OpenBLAS runs its %s kernels (OPENBLAS_CORETYPE=%s) on this AVX-512 CPU: the bench runs again with "
           "OPENBLAS_CORETYPE=SkylakeX, its AVX-512 kernels, as the reference (NERD_BENCH_BLAS=as-is keeps %s)\n",
           core, getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "unset", core);
    fflush(stdout);
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    setenv("NERD_BENCH_BLAS", "as-is", 1); /* once */
    execv("/proc/self/exe", argv);
    perror("bench: execv");
}

/* `--paris PRECISION RUNS [ner|full|doc]`: RUNS passes of the pipeline (ner by default) over Paris
 * (word cache warm) with callgrind's collection on around them only (make bench-callgrind divides its instruction count by RUNS:
 * the instructions per Paris document, on a build valgrind can decode). */
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

static int paris_runs(const char *precision, int runs, const char *pipeline)
{
    static const struct { const char *name; nerd_precision p; } precisions[] = {
        {"fp32", NERD_PRECISION_FP32}, {"bf16", NERD_PRECISION_BF16}, {"int8", NERD_PRECISION_INT8}};
    char err[1024], path[4096];
    int q = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(precision, precisions[i].name)) q = i;
    nerd_pipeline pl = NERD_PIPELINE_NER;
    if (q < 0 || runs < 1 || (pipeline && nerd_pipeline_parse(pipeline, &pl))) {
        fprintf(stderr, "bench: --paris fp32|bf16|int8 RUNS [ner|full|doc]\n");
        return 2;
    }
    if (kn_isa_from_env(err, sizeof err) || nerd_model_path(NULL, path, sizeof path, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    nerd_model *m = load_as(path, precisions[q].p, 32768);
    if (!nerd_model_has_pipeline(m, pl)) {
        fprintf(stderr, "bench: %s: %s\n", path, nerd_model_pipeline_error(m, pl));
        return 1;
    }
    size_t plen;
    char *paris = slurp("../shared/corpus/paris.txt", &plen);
    if (!paris) return 1;
    nerd_doc *d = nerd_doc_new();
    for (int r = 0; r < 3; r++) nerd_ner(m, d, paris, plen, pl); /* the word cache warm */
    CALLGRIND_START_INSTRUMENTATION;
    for (int r = 0; r < runs; r++) nerd_ner(m, d, paris, plen, pl);
    CALLGRIND_STOP_INSTRUMENTATION;
    printf("%s %s, %s: %d Paris documents, %zu tokens\n", precision, nerd_precision_kernel(precisions[q].p),
           nerd_pipeline_name(pl), runs, nerd_doc_ntokens(d));
    nerd_doc_free(d);
    free(paris);
    nerd_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "--paris"))
        return paris_runs(argv[2], atoi(argv[3]), argc == 5 ? argv[4] : NULL);
    const char *json_file = argc == 3 && !strcmp(argv[1], "--json") ? argv[2] : NULL;
    if (argc != 1 && !json_file) {
        fprintf(stderr, "usage: %s [--json FILE | --paris fp32|bf16|int8 RUNS [ner|full|doc]]\n", argv[0]);
        return 2;
    }
    reference_blas(argv);
    char err[1024], path[4096];
    /* the model `nerd serve` serves by default (the real en_core_web_sm once fetched): its speed is
     * what a user gets; nothing here is compared with the stand-in's golden answers */
    if (nerd_model_path(NULL, path, sizeof path, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    /* the same model four ways: exact with the word cache (the default), exact without it
     * (every product computed), the two fast modes */
    enum { CACHE_ENTRIES = 32768 }; /* nerd's default word cache */
    nerd_model *m = load_as(path, NERD_PRECISION_FP32, CACHE_ENTRIES);
    nerd_model *m_nocache = load_as(path, NERD_PRECISION_FP32, 0);
    nerd_model *m_bf16 = load_as(path, NERD_PRECISION_BF16, CACHE_ENTRIES);
    nerd_model *m_int8 = load_as(path, NERD_PRECISION_INT8, CACHE_ENTRIES);
    nerd_model *by_precision[3] = {m, m_bf16, m_int8};
    speed_figures fig = {0};
    print_cpu();
    printf("model: %s %s from %s, weights sha256 %.12s\n", nerd_model_name(m), nerd_model_version(m), path,
           nerd_model_weights_sha256(m));
    nerd_doc *d = nerd_doc_new();
    corpus c = {0};
    load_golden(&c, "../shared/golden/edge.jsonl");
    load_golden(&c, "../shared/golden/ewt.jsonl");
    load_golden(&c, "../shared/golden/ewt_train_sample.jsonl");

    /* tokenizer: the golden texts 5 times, with the doc's token caches (the first pass fills them)
     * and without (every chunk and word computed afresh: what a text of new words costs) */
    enum { TOKENIZER_REPS = 5 };
    nerd_doc *d_uncached = nerd_doc_new();
    if (!d_uncached) { fprintf(stderr, "bench: out of memory\n"); return 1; }
    nerd_doc_set_token_cache(d_uncached, 0);
    double tok_s[2], mb_s[2];
    for (int u = 0; u < 2; u++) {
        size_t tokens = 0;
        double t0 = now();
        for (int r = 0; r < TOKENIZER_REPS; r++)
            for (size_t i = 0; i < c.n; i++) {
                nerd_tokenize(m, u ? d_uncached : d, c.text[i], c.len[i]);
                tokens += nerd_doc_ntokens(u ? d_uncached : d);
            }
        double tt = now() - t0;
        tok_s[u] = tokens / tt;
        mb_s[u] = c.bytes * TOKENIZER_REPS / tt / 1e6;
    }
    nerd_doc_free(d_uncached);
    printf("tokenizer: %zu docs x %d, %.0f tokens/s, %.1f MB/s (single thread); without the token caches %.0f tokens/s, "
           "%.1f MB/s\n", c.n, TOKENIZER_REPS, tok_s[0], mb_s[0], tok_s[1], mb_s[1]);
    /* hostile texts are one chunk too long to cache: measured against the rules' own speed */
    tokenizer_hostile(m, d, tok_s[1], mb_s[1]);

    /* the golden texts, each model's cache starting empty: the hit rate of a first pass */
    golden_run g_nocache = run_golden(m_nocache, d, &c, NERD_PIPELINE_NER);
    for (int q = 0; q < 3; q++) fig.golden[0][q] = run_golden(by_precision[q], d, &c, NERD_PIPELINE_NER);
    golden_run g_exact = fig.golden[0][0], g_bf16 = fig.golden[0][1], g_int8 = fig.golden[0][2];
    int full = nerd_model_has_pipeline(m, NERD_PIPELINE_FULL);
    for (int q = 0; q < 3 && full; q++) { /* the full pipeline's pass from empty caches too */
        nerd_model_set_cache(by_precision[q], CACHE_ENTRIES);
        fig.golden[1][q] = run_golden(by_precision[q], d, &c, NERD_PIPELINE_FULL);
    }
    const int doc = nerd_model_has_pipeline(m, NERD_PIPELINE_DOC);
    if (doc) { /* the whole Doc's pass, from an empty cache as the others */
        nerd_model_set_cache(m, CACHE_ENTRIES);
        fig.golden_doc = run_golden(m, d, &c, NERD_PIPELINE_DOC);
    }

    /* Paris, median of many runs; the configurations (each on an instruction-set level) and the
     * reference sgemm take turns, so that the machine's other load falls on all of them alike */
    size_t plen;
    char *paris = slurp("../shared/corpus/paris.txt", &plen);
    if (!paris) { fprintf(stderr, "bench: no ../shared/corpus/paris.txt\n"); return 1; }
    const kn_isa best = kn_isa_current(); /* the default, or $NERD_ISA's */
    enum { RUNS = 301, MAXCONF = 24 };
    struct config {
        const char *what;
        const nerd_model *m;
        nerd_pipeline pipeline;
        kn_isa isa;
        double ms[RUNS], med;
    };
    static struct config conf[MAXCONF];
    int nconf = 0;
    struct { const char *what; nerd_model *m; nerd_pipeline p; } kinds[] = {
        {"ner, exact, word cache warm", m, NERD_PIPELINE_NER},
        {"ner, exact, no word cache", m_nocache, NERD_PIPELINE_NER},
        {"ner, bf16, cache warm", m_bf16, NERD_PIPELINE_NER},
        {"ner, int8, cache warm", m_int8, NERD_PIPELINE_NER},
        {"full, exact, word cache warm", m, NERD_PIPELINE_FULL},
        {"full, exact, no word cache", m_nocache, NERD_PIPELINE_FULL},
        {"full, bf16, cache warm", m_bf16, NERD_PIPELINE_FULL},
        {"full, int8, cache warm", m_int8, NERD_PIPELINE_FULL},
        {"doc (whole Doc), exact, warm", m, NERD_PIPELINE_DOC},
    };
    /* each configuration on the levels that change its products: the best and AVX2 (int8
     * also AVX-VNNI) */
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        if ((kinds[k].p == NERD_PIPELINE_FULL && !full) || (kinds[k].p == NERD_PIPELINE_DOC && !doc)) continue;
        for (int isa = best; isa >= KN_ISA_AVX2; isa--) {
            if (kinds[k].p == NERD_PIPELINE_DOC && isa != (int)best) continue; /* its products are full's */
            if (isa == KN_ISA_AVXVNNI && kinds[k].m != m_int8) continue;
            if (isa != (int)best && isa < KN_ISA_AVX2) continue;
            conf[nconf++] = (struct config){kinds[k].what, kinds[k].m, kinds[k].p, (kn_isa)isa, {0}, 0};
        }
        if (best < KN_ISA_AVX2) conf[nconf++] = (struct config){kinds[k].what, kinds[k].m, kinds[k].p, best, {0}, 0};
    }
    static double ms_gemm[RUNS];
    int gk = 288, gcols = 288, grows = 150;
    float *A = calloc((size_t)grows * gk, 4), *B = calloc((size_t)gcols * gk, 4), *C = calloc((size_t)grows * gcols, 4);
    for (size_t i = 0; i < (size_t)grows * gk; i++) A[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)gcols * gk; i++) B[i] = (float)(i % 5) * 0.1f;
    for (int r = 0; r < 3; r++) /* warm up: caches, clocks, the word caches on paris */
        for (int c = 0; c < nconf; c++) {
            kn_set_isa(conf[c].isa);
            nerd_ner(conf[c].m, d, paris, plen, conf[c].pipeline);
        }
    /* blocks of BLOCK runs per configuration: a block's first run reloads that model's weights
     * into the caches, which the median leaves out */
    enum { BLOCK = 7 };
    for (int r0 = 0; r0 < RUNS; r0 += BLOCK) {
        int r1 = r0 + BLOCK < RUNS ? r0 + BLOCK : RUNS;
        for (int c = 0; c < nconf; c++) {
            kn_set_isa(conf[c].isa);
            time_block(conf[c].m, d, paris, plen, conf[c].pipeline, conf[c].ms, r0, r1);
        }
        kn_set_isa(best);
        for (int r = r0; r < r1; r++) {
            double a = now();
            for (int i = 0; i < 4; i++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, grows, gcols, gk, 1, A, gk, B, gk, 0, C, gcols);
            ms_gemm[r] = (now() - a) * 1e3 / 4;
        }
    }
    kn_set_isa(best);
    free(A); free(B); free(C);
    for (int c = 0; c < nconf; c++) conf[c].med = median(conf[c].ms, RUNS);
    nerd_ner(m, d, paris, plen, NERD_PIPELINE_NER);
    size_t ptoks = nerd_doc_ntokens(d);
    double full_macs = 0;
    if (full) {
        nerd_ner(m, d, paris, plen, NERD_PIPELINE_FULL);
        /* a ner listening to the shared tok2vec reads the parser's: counted once, as spaCy computes it */
        full_macs = macs_per_token(m) * ptoks + (t2v_macs(&m->t2v) + tb_token_macs(&m->parser)) * ptoks +
                    tb_step_macs(&m->parser) * (double)d->parse_steps - (m->ner_listens ? t2v_macs(&m->t2v) * ptoks : 0);
    }
    /* the portable path, for the table of paths: a few runs (it is slow), not alternating */
    enum { PORTABLE_RUNS = 9 };
    double ms_portable[PORTABLE_RUNS];
    kn_set_isa(KN_ISA_PORTABLE);
    time_block(m, d, paris, plen, NERD_PIPELINE_NER, ms_portable, 0, PORTABLE_RUNS);
    kn_set_isa(best);
    double gemm = 2.0 * grows * gk * gcols / (median(ms_gemm, RUNS) / 1e3) / 1e9;

    double macs = macs_per_token(m), ghz = cpu_ghz();
    /* peak: 2 FMA pipes x 8 fp32 lanes x 2 flops, at the measured clock */
    double peak = ghz * 32;
    /* the time the paris multiply-adds take at the sgemm rate: the limit the issue sets */
    double limit_ms = 2 * macs * ptoks / (gemm * 1e9) * 1e3, limit_full = 2 * full_macs / (gemm * 1e9) * 1e3;
    const t2v_net *nt = ner_tok2vec(m);
    printf("ner: %.0f multiply-adds per token (tok2vec %.0f%s, of which the cached mixing layer %.0f)\n", macs,
           t2v_macs(nt), m->ner_listens ? " (the shared one it listens to)" : "",
           (double)nt->mix_nI * nt->width * nt->mix_pieces);
    printf("sgemm 150x288x288: %.1f GFLOP/s (OpenBLAS %s kernels, one thread, median of calls between the ner runs); "
           "nominal AVX2 peak %.1f GFLOP/s (measured clock %.2f GHz x 32 flops/cycle; AVX-512: x 64)\n", gemm,
           openblas_get_corename(), peak, ghz);
    /* the encoder's rows are a doc's tokens plus its own 8 pad rows: a mean golden doc (24
     * tokens) is 32 rows, 8 of them batched 256, one paris doc 187 */
    for (int isa = best; isa >= KN_ISA_AVX2 || isa == (int)best; isa--) {
        if (isa == KN_ISA_AVXVNNI) continue; /* fp32 as avx2 */
        kn_set_isa((kn_isa)isa);
        printf("nerd's fp32 kernel (%s) rows x 288 x 288: %.1f GFLOP/s at 32 rows (a mean golden doc), %.1f at 256 (8 "
               "of them batched), %.1f at 187 (paris), %.1f at 748 (4 paris batched)\n",
               kn_f32_path(), kernel_gflops(32, 288, NULL), kernel_gflops(256, 288, NULL),
               kernel_gflops(187, 288, NULL), kernel_gflops(748, 288, NULL));
        if (isa == KN_ISA_PORTABLE) break;
    }
    for (int isa = best; isa >= KN_ISA_AVX2 || isa == (int)best; isa--) {
        kn_set_isa((kn_isa)isa);
        double i8_187, f32_187 = kernel_gflops(187, 96, &i8_187);
        printf("nerd's int8 kernel (%s) 187 x 288 x 288 (the encoder's windows) with the quantization of A: %.1f GOP/s "
               "= %.2fx the fp32 kernel's (%s) %.1f GFLOP/s (calls alternating)\n",
               kn_i8_path(), i8_187, i8_187 / f32_187, kn_f32_path(), f32_187);
        if (isa == KN_ISA_PORTABLE) break;
    }
    kn_set_isa(best);
    printf("plain C loop 150x288x288: %.1f GFLOP/s (why the products do not run on plain loops)\n",
           naive_gflops(150, 288, 288));
    print_stages(by_precision, d, paris, plen);
    printf("paris.txt (%zu tokens), median of %d runs of each configuration, alternating; the ner's %.1f M "
           "multiply-adds take %.3f ms at the sgemm rate, the full pipeline's %.1f M %.3f ms:\n",
           ptoks, RUNS, macs * ptoks / 1e6, limit_ms, full_macs / 1e6, limit_full);
    double exact_ms[2] = {0, 0}; /* the best level's exact ner and full, cache warm */
    for (int c = 0; c < nconf; c++)
        if (conf[c].isa == best && conf[c].m == m && conf[c].pipeline != NERD_PIPELINE_DOC)
            exact_ms[conf[c].pipeline == NERD_PIPELINE_FULL] = conf[c].med;
    for (int c = 0; c < nconf; c++) {
        const struct config *f = &conf[c];
        nerd_precision prec = f->m == m_bf16 ? NERD_PRECISION_BF16 : f->m == m_int8 ? NERD_PRECISION_INT8 : NERD_PRECISION_FP32;
        kn_set_isa(f->isa);
        int isfull = f->pipeline == NERD_PIPELINE_FULL;
        if (f->pipeline == NERD_PIPELINE_DOC) {
            printf("  %-30s %-10s %8.3f ms/doc, %.2fx the entities alone (ner), %.2fx the full pipeline's entities\n",
                   f->what, nerd_precision_kernel(prec), f->med, f->med / exact_ms[0], f->med / exact_ms[1]);
            fig.paris_doc_ms = f->med;
            continue;
        }
        printf("  %-30s %-10s %8.3f ms/doc, sgemm-limit ratio %.2fx", f->what, nerd_precision_kernel(prec), f->med,
               f->med / (isfull ? limit_full : limit_ms));
        if (f->isa != best || f->m != m) printf(", %.2fx the %s exact path's speed", exact_ms[isfull] / f->med, kn_isa_name(best));
        printf("\n");
    }
    kn_set_isa(best);
    for (int c = 0; c < nconf; c++) { /* the best level's figures, for bench/spacy_speed.py */
        if (conf[c].isa != best || conf[c].m == m_nocache || conf[c].pipeline == NERD_PIPELINE_DOC) continue;
        int q = conf[c].m == m_bf16 ? 1 : conf[c].m == m_int8 ? 2 : 0;
        fig.paris_ms[conf[c].pipeline == NERD_PIPELINE_FULL][q] = conf[c].med;
    }
    fig.paris_tokens = ptoks, fig.paris_words = doc_words(d);
    printf("  %-30s %-10s %8.3f ms/doc (median of %d, not alternating)\n", "ner, exact, word cache warm", "portable",
           median(ms_portable, PORTABLE_RUNS), PORTABLE_RUNS);
    if (!full) printf("  full pipeline: not run (%s)\n", nerd_model_pipeline_error(m, NERD_PIPELINE_FULL));
    printf("ner golden texts (%zu docs, %zu tokens, one pass, cache starting empty):\n", c.n, g_exact.tokens);
    printf("  exact:           %.0f words/s, %.0f tokens/s, %.1f GFLOP/s-equivalent; word cache hit rate %.1f%%\n",
           g_exact.words_s, g_exact.tokens_s, 2 * macs * g_exact.tokens / g_exact.secs / 1e9, 100 * g_exact.hit_rate);
    printf("  exact, no cache: %.0f words/s, %.0f tokens/s, %.1f GFLOP/s\n", g_nocache.words_s, g_nocache.tokens_s,
           2 * macs * g_nocache.tokens / g_nocache.secs / 1e9);
    printf("  bf16:            %.0f words/s, %.0f tokens/s; word cache hit rate %.1f%%\n", g_bf16.words_s,
           g_bf16.tokens_s, 100 * g_bf16.hit_rate);
    printf("  int8:            %.0f words/s, %.0f tokens/s; word cache hit rate %.1f%%\n", g_int8.words_s,
           g_int8.tokens_s, 100 * g_int8.hit_rate);
    if (full)
        printf("full pipeline, golden texts (one pass, caches starting empty): exact %.0f, bf16 %.0f, int8 %.0f "
               "words/s\n", fig.golden[1][0].words_s, fig.golden[1][1].words_s, fig.golden[1][2].words_s);
    if (doc) printf("doc pipeline (the whole Doc), golden texts (one pass, cache starting empty): exact %.0f words/s\n",
                    fig.golden_doc.words_s);
    else printf("  doc pipeline: not run (%s)\n", nerd_model_pipeline_error(m, NERD_PIPELINE_DOC));
    if (json_file) write_json(json_file, &fig, c.n);
    nerd_cache_stats cs;
    nerd_model_cache_stats(m, &cs);
    printf("word cache: %zu entries, %.1f MB at most; %llu hits, %llu misses in this run (%.1f%%)\n", cs.entries,
           cs.bytes / 1e6, (unsigned long long)cs.hits, (unsigned long long)cs.misses,
           cs.hits + cs.misses ? 100.0 * cs.hits / (cs.hits + cs.misses) : 0);
    free(paris);
    for (size_t i = 0; i < c.n; i++) free(c.text[i]);
    free(c.text);
    free(c.len);
    nerd_doc_free(d);
    nerd_model_free(m);
    nerd_model_free(m_nocache);
    nerd_model_free(m_bf16);
    nerd_model_free(m_int8);
    return 0;
}
