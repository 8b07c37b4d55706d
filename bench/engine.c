/* bench/engine.c - single-thread figures of the NER library (`make bench`):
 *   tokenizer: tokens/s and MB/s over the golden texts;
 *   ner: ms per document for the seed's Paris text (median of many runs) and words/s over the
 *   golden texts, each beside the share of (a) the measured sgemm rate of this machine for the
 *   model's shapes and (b) the CPU's nominal fp32 peak, from the multiply-adds the dimensions
 *   imply; the Paris figures for both pipelines, ner alone and full (shared tok2vec + parser
 *   + ner), so that like is compared with like. */
#include "nerd.h"
#include "ner/engine.h"
#include "util/json.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = {0};
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, r);
    fclose(f);
    *len = b.len;
    return b.ptr;
}

typedef struct { char **text; size_t *len; size_t n, bytes; } corpus;

static void load_golden(corpus *c, const char *path)
{
    size_t len;
    char *data = slurp(path, &len);
    if (!data) { fprintf(stderr, "bench: cannot read %s\n", path); exit(1); }
    for (char *line = data, *nl; line < data + len; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(data + len - line));
        if (!nl) nl = data + len;
        json_doc jd;
        char err[128];
        if (nl > line && !json_parse(line, (size_t)(nl - line), 0, &jd, err, sizeof err)) {
            const json_value *t = json_get(&jd.root, "text");
            c->text = realloc(c->text, (c->n + 1) * sizeof *c->text);
            c->len = realloc(c->len, (c->n + 1) * sizeof *c->len);
            c->text[c->n] = malloc(t->u.str.len + 1);
            memcpy(c->text[c->n], t->u.str.ptr, t->u.str.len + 1);
            c->len[c->n] = t->u.str.len;
            c->bytes += t->u.str.len;
            c->n++;
        }
        json_doc_free(&jd);
    }
    free(data);
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

/* Multiply-adds per token of the ner network, from its dimensions (one transition a token). */
static double macs_per_token(const nerd_model *m)
{
    return t2v_macs(&m->ner_t2v) + tb_token_macs(&m->ner_net) + tb_step_macs(&m->ner_net);
}

/* ms of each pipeline over one text, sorted, after a warm-up. The pipelines alternate run by
 * run, so that both see the same share of a machine other work also uses and their ratio
 * holds even when the absolute figures move. */
enum { RUNS = 300 };
static void time_text(const nerd_model *m, nerd_doc *d, const char *text, size_t len, int npipes, double ms[][RUNS])
{
    for (int r = 0; r < 20; r++)
        for (int p = 0; p < npipes; p++) nerd_ner(m, d, text, len, (nerd_pipeline)p);
    for (int r = 0; r < RUNS; r++)
        for (int p = 0; p < npipes; p++) {
            double a = now();
            nerd_ner(m, d, text, len, (nerd_pipeline)p);
            ms[p][r] = (now() - a) * 1e3;
        }
    for (int p = 0; p < npipes; p++) qsort(ms[p], RUNS, sizeof ms[p][0], cmp_double);
}

/* sgemm GFLOP/s for the encoder's shape (rows x 288 x 288), one thread. */
static double sgemm_gflops(int rows, int k, int cols)
{
    float *A = calloc((size_t)rows * k, 4), *B = calloc((size_t)cols * k, 4), *C = calloc((size_t)rows * cols, 4);
    for (size_t i = 0; i < (size_t)rows * k; i++) A[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)cols * k; i++) B[i] = (float)(i % 5) * 0.1f;
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        int iters = 200;
        double t0 = now();
        for (int i = 0; i < iters; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, k, 1, A, k, B, k, 0, C, cols);
        double gf = 2.0 * rows * k * cols * iters / (now() - t0) / 1e9;
        if (gf > best) best = gf;
    }
    free(A); free(B); free(C);
    return best;
}

/* The same product with a plain C loop (what the compiler makes of it at -O2 -march=native),
 * for the BLAS-or-own-kernels decision. */
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

int main(void)
{
    char err[1024], path[4096];
    if (nerd_model_path(NULL, path, sizeof path, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    nerd_model *m = nerd_model_load(path, NULL, err, sizeof err);
    if (!m) { fprintf(stderr, "%s\n", err); return 1; }
    nerd_doc *d = nerd_doc_new();
    corpus c = {0};
    load_golden(&c, "../shared/golden/edge.jsonl");
    load_golden(&c, "../shared/golden/ewt.jsonl");
    load_golden(&c, "../shared/golden/ewt_train_sample.jsonl");

    /* tokenizer */
    size_t tokens = 0, words = 0;
    double t0 = now();
    int reps = 5;
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < c.n; i++) {
            nerd_tokenize(m, d, c.text[i], c.len[i]);
            tokens += nerd_doc_ntokens(d);
        }
    double tt = now() - t0;
    printf("tokenizer: %zu docs x %d, %.0f tokens/s, %.1f MB/s (single thread)\n", c.n, reps, tokens / tt,
           c.bytes * reps / tt / 1e6);

    /* the ner on the golden texts */
    tokens = 0;
    t0 = now();
    for (size_t i = 0; i < c.n; i++) {
        nerd_ner(m, d, c.text[i], c.len[i], NERD_PIPELINE_NER);
        tokens += nerd_doc_ntokens(d);
        for (size_t k = 0; k < nerd_doc_ntokens(d); k++) {
            nerd_token t;
            nerd_doc_token(d, k, &t);
            words += !t.is_space;
        }
    }
    double tn = now() - t0;

    /* Paris: median of many runs, each pipeline */
    size_t plen;
    char *paris = slurp("../shared/corpus/paris.txt", &plen);
    if (!paris) { fprintf(stderr, "bench: no ../shared/corpus/paris.txt\n"); return 1; }
    int full = nerd_model_has_pipeline(m, NERD_PIPELINE_FULL);
    static double times[2][RUNS];
    double *ms = times[NERD_PIPELINE_NER], *fms = times[NERD_PIPELINE_FULL];
    time_text(m, d, paris, plen, full ? 2 : 1, times); /* the last run is the full pipeline's */
    size_t ptoks = nerd_doc_ntokens(d);
    double full_macs = 0;
    if (full)
        full_macs = macs_per_token(m) * ptoks + (t2v_macs(&m->t2v) + tb_token_macs(&m->parser)) * ptoks +
                    tb_step_macs(&m->parser) * (double)d->parse_steps;

    double macs = macs_per_token(m);
    double gemm = sgemm_gflops(150, 288, 288), ghz = cpu_ghz();
    /* peak: 2 FMA pipes x 8 fp32 lanes (Zen 4 runs AVX-512 on 256-bit datapaths) x 2 flops, at the
     * measured clock */
    double peak = ghz * 32;
    double paris_gf = 2 * macs * ptoks / (ms[RUNS / 2] / 1e3) / 1e9, golden_gf = 2 * macs * tokens / tn / 1e9;
    printf("ner: %.0f multiply-adds per token (tok2vec %.0f)\n", macs, t2v_macs(&m->ner_t2v));
    printf("sgemm 150x288x288: %.1f GFLOP/s measured (OpenBLAS, one thread); nominal peak %.1f GFLOP/s "
           "(measured clock %.2f GHz x 32 flops/cycle)\n", gemm, peak, ghz);
    printf("plain C loop 150x288x288: %.1f GFLOP/s (why the products go through OpenBLAS)\n", naive_gflops(150, 288, 288));
    printf("ner paris.txt (%zu tokens): median %.3f ms/doc (p10 %.3f, p90 %.3f), %.1f GFLOP/s = %.0f%% of sgemm, "
           "%.0f%% of peak; sgemm-limit ratio %.2fx\n",
           ptoks, ms[RUNS / 2], ms[RUNS / 10], ms[RUNS * 9 / 10], paris_gf, 100 * paris_gf / gemm, 100 * paris_gf / peak,
           gemm / paris_gf);
    if (full) {
        double full_gf = 2 * full_macs / (fms[RUNS / 2] / 1e3) / 1e9;
        printf("full pipeline: %.0f multiply-adds per token on paris.txt (shared tok2vec %.0f, parser %.0f over "
               "%.2f transitions a token, ner %.0f)\n",
               full_macs / ptoks, t2v_macs(&m->t2v),
               tb_token_macs(&m->parser) + tb_step_macs(&m->parser) * (double)d->parse_steps / ptoks,
               (double)d->parse_steps / ptoks, macs);
        printf("full paris.txt (%zu tokens): median %.3f ms/doc (p10 %.3f, p90 %.3f) = %.2fx the ner alone, "
               "%.1f GFLOP/s = %.0f%% of sgemm, %.0f%% of peak; sgemm-limit ratio %.2fx\n",
               ptoks, fms[RUNS / 2], fms[RUNS / 10], fms[RUNS * 9 / 10], fms[RUNS / 2] / ms[RUNS / 2], full_gf,
               100 * full_gf / gemm, 100 * full_gf / peak, gemm / full_gf);
    } else {
        printf("full pipeline: not run (%s)\n", nerd_model_pipeline_error(m, NERD_PIPELINE_FULL));
    }
    printf("ner golden texts: %zu docs, %.0f words/s, %.0f tokens/s, %.1f GFLOP/s = %.0f%% of sgemm, %.0f%% of peak\n",
           c.n, words / tn, tokens / tn, golden_gf, 100 * golden_gf / gemm, 100 * golden_gf / peak);
    free(paris);
    nerd_doc_free(d);
    nerd_model_free(m);
    return 0;
}
