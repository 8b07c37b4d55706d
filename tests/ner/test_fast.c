/* The fast path's promises: nerd's kernels give each output element the same bits however the
 * rows are grouped and on every code path; the word cache returns exactly what computing the
 * row afresh gives, on one thread and on many sharing one small (constantly replaced) table. */
#include "test.h"
#include "nn/embed_cache.h"
#include "modelfile/modelfile.h"
#include "pipeline/engine.h"
#include "nn/kernels.h"
#include "nn/t2v_fast.h"
#include "model_helper.h"
#include "util/json.h"

#include <math.h>
#include <pthread.h>

static float rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return ((float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f) * 0.5f;
}

/* A x W^T in double, from the fp32 inputs (or their bf16 roundings). */
static double ref(const float *A, const float *W, int K, int i, int c, int bf16)
{
    double s = 0;
    for (int k = 0; k < K; k++) {
        float a = A[(size_t)i * K + k], w = W[(size_t)c * K + k];
        if (bf16) {
            uint32_t ua = (uint32_t)kn_to_bf16(a) << 16, uw = (uint32_t)kn_to_bf16(w) << 16;
            memcpy(&a, &ua, 4);
            memcpy(&w, &uw, 4);
        }
        s += (double)a * w;
    }
    return s;
}

/* Every instruction-set level this CPU runs, against the portable path: the same bits in fp32
 * and bf16 (and a row alone the same as inside a batch); a level it lacks prints SKIP. AMX's
 * bf16 tiles (TDPBF16PS) sum in their own order: within the portable path's own tolerance of
 * the double product instead, and still the same bits for a row however it is grouped; the
 * int8 mode's bf16 products (kn_gemm_bf16_in_order) keep the portable bits there too. */
TEST(kernels_same_bits_for_any_rows_and_path)
{
    /* N: 13 panels, the last partial (the 12-panel one-row path, a lone last panel of the
     * 512-bit pairs); M: every tile height of every path */
    enum { M = 37, K = 288, N = 203 };
    unsigned seed = 7;
    float *A = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K);
    for (int i = 0; i < M * K; i++) A[i] = rnd(&seed);
    for (int i = 0; i < N * K; i++) W[i] = rnd(&seed);
    uint16_t *Ab = malloc(sizeof(uint16_t) * M * K);
    kn_to_bf16_n(A, Ab, M * K);
    kn_weights p;
    CHECK(kn_pack(&p, W, N, K, KN_PACK_BF16) == 0);
    static float batch[M * N], one[N], generic[M * N], bb[M * N], bgeneric[M * N];
    CHECK(test_use_isa(KN_ISA_PORTABLE));
    kn_gemm_f32(&p, A, K, M, generic, N);
    kn_gemm_bf16(&p, Ab, K, M, bgeneric, N);
    for (int i = 0; i < M; i++)
        for (int c = 0; c < N; c++) {
            double r = ref(A, W, K, i, c, 0), rb = ref(A, W, K, i, c, 1);
            CHECKF(fabs(generic[i * N + c] - r) <= 1e-5 * (1 + fabs(r)), "fp32 [%d][%d] %g != %g", i, c,
                   generic[i * N + c], r);
            CHECKF(fabs(bgeneric[i * N + c] - rb) <= 1e-5 * (1 + fabs(rb)), "bf16 [%d][%d] %g != %g", i, c,
                   bgeneric[i * N + c], rb);
        }
    for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        memset(batch, 0xff, sizeof batch); /* NaNs: a column left unwritten cannot pass */
        memset(bb, 0xff, sizeof bb);
        kn_gemm_f32(&p, A, K, M, batch, N);
        kn_gemm_bf16(&p, Ab, K, M, bb, N);
        CHECKF(!memcmp(generic, batch, sizeof batch), "fp32 on %s differs from the portable path", kn_isa_name(isa));
        /* the int8 mode's bf16 products: the portable path's bits on every level, amx included */
        static float ordered[M * N];
        memset(ordered, 0xff, sizeof ordered);
        kn_gemm_bf16_in_order(&p, Ab, K, M, ordered, N);
        CHECKF(!memcmp(bgeneric, ordered, sizeof ordered), "bf16 in order on %s differs from the portable path",
               kn_isa_name(isa));
        if (kn_bf16_exact())
            CHECKF(!memcmp(bgeneric, bb, sizeof bb), "bf16 on %s differs from the portable path", kn_isa_name(isa));
        else {
            int same = 0;
            for (int i = 0; i < M; i++)
                for (int c = 0; c < N; c++) {
                    const double rb = ref(A, W, K, i, c, 1), got = bb[i * N + c];
                    CHECKF(fabs(got - rb) <= 1e-5 * (1 + fabs(rb)), "%s bf16 [%d][%d] %g != %g", kn_bf16_path(), i, c,
                           got, rb);
                    same += bb[i * N + c] == bgeneric[i * N + c];
                }
            printf("  %s: bf16 (%s) within 1e-5 x (1 + |x|) of the double product; %d of %d outputs the portable "
                   "path's bits\n",
                   kn_isa_name(isa), kn_bf16_path(), same, M * N);
        }
        /* every batch size: the tile heights each path picks for it (a block's last two tiles
         * evened out when the last would be short) give the whole batch's bits */
        static float part[M * N];
        for (int m = 2; m < M; m++) {
            kn_gemm_f32(&p, A, K, m, part, N);
            CHECKF(!memcmp(part, batch, sizeof(float) * m * N), "%s fp32 first %d rows differ", kn_isa_name(isa), m);
            kn_gemm_bf16(&p, Ab, K, m, part, N);
            CHECKF(!memcmp(part, bb, sizeof(float) * m * N), "%s bf16 first %d rows differ", kn_isa_name(isa), m);
        }
        for (int i = 0; i < M; i++) {
            kn_gemm_f32(&p, A + (size_t)i * K, K, 1, one, N);
            CHECKF(!memcmp(one, batch + (size_t)i * N, sizeof one), "%s fp32 row %d alone differs", kn_isa_name(isa), i);
            kn_gemm_bf16(&p, Ab + (size_t)i * K, K, 1, one, N);
            CHECKF(!memcmp(one, bb + (size_t)i * N, sizeof one), "%s bf16 row %d alone differs", kn_isa_name(isa), i);
        }
        printf("  %s: fp32 (%s) and bf16 (%s) %s the portable path\n", kn_isa_name(isa), kn_f32_path(), kn_bf16_path(),
               kn_bf16_exact() ? "bit-identical to" : "(fp32) bit-identical to");
        if (isa == KN_ISA_AVX512 && strcmp(kn_bf16_path(), "avx512bf16"))
            printf("  SKIP avx512bf16: CPU lacks AVX512_BF16 (bf16 ran on %s)\n", kn_bf16_path());
        if (isa == KN_ISA_AMX && strcmp(kn_bf16_path(), "amxbf16"))
            printf("  SKIP amxbf16: CPU lacks AMX-BF16 (bf16 ran on %s)\n", kn_bf16_path());
    }
    kn_set_isa(kn_isa_best());
    kn_free(&p);
    free(A); free(W); free(Ab);
}

/* A product's bias on every level: the portable loop's bits, and nothing past N in a row (N not
 * a multiple of the 16 lanes, rows longer than N). */
TEST(kernels_add_bias_same_bits_on_every_path)
{
    enum { M = 5, N = 203, LDC = 210 };
    unsigned seed = 11;
    static float b[N], C0[M * LDC], want[M * LDC], got[M * LDC];
    for (int c = 0; c < N; c++) b[c] = rnd(&seed);
    for (int i = 0; i < M * LDC; i++) C0[i] = rnd(&seed);
    CHECK(test_use_isa(KN_ISA_PORTABLE));
    memcpy(want, C0, sizeof want);
    kn_add_bias(want, LDC, M, b, N);
    for (int i = 0; i < M; i++)
        for (int c = 0; c < LDC; c++)
            CHECKF(want[i * LDC + c] == (c < N ? C0[i * LDC + c] + b[c] : C0[i * LDC + c]), "[%d][%d]", i, c);
    for (kn_isa isa = KN_ISA_AVX2; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        memcpy(got, C0, sizeof got);
        kn_add_bias(got, LDC, M, b, N);
        CHECKF(!memcmp(got, want, sizeof got), "%s differs from the portable path", kn_isa_name(isa));
    }
    kn_set_isa(kn_isa_best());
}

/* One row's chains (kn_row_f32_chains or kn_row_bf16_chains) on every level this CPU runs: want's
 * bits (N = 203 columns padded to 208), nothing written past the panels, and with a bitset of
 * wanted columns the panels holding one computed alike and the others 0: two columns in panel
 * 1, one in panels 4, 7 and 12, none in the others; then one in each of 7 panels (the AVX-512
 * path's group of 7 and 8 panels runs its chains in two halves), the last panel's column past N. */
enum { ROW_N = 203, ROW_NPAD = 208, ROW_SLACK = 8 };
static void row_chains_want_on_every_level(void (*chains)(const kn_weights *, const float *, const float *,
                                                          const uint64_t *, float *),
                                           const kn_weights *p, const float *a, const float *b, const float *want)
{
    static const uint64_t needs[][4] = {
        {(uint64_t)1 << 17 | (uint64_t)1 << 30, (uint64_t)1 << 2 | (uint64_t)1 << 50, 0, 1u << 4},
        {1u << 3 | (uint64_t)1 << 40, (uint64_t)1 << 33 | (uint64_t)1 << 63, (uint64_t)1 << 20 | (uint64_t)1 << 60,
         1u << 1 | 1u << 13}};
    static const int wanted_panels[][7] = {{1, 4, 7, 12, -1, -1, -1}, {0, 2, 6, 7, 9, 11, 12}};
    float got[ROW_NPAD + ROW_SLACK];
    const int K = p->K;
    for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        memset(got, 0xff, sizeof got); /* NaNs: a column left unwritten cannot pass */
        chains(p, a, b, NULL, got);
        CHECKF(!memcmp(got, want, ROW_NPAD * sizeof(float)), "K %d: %s differs from the documented order", K,
               kn_isa_name(isa));
        for (int c = ROW_NPAD; c < ROW_NPAD + ROW_SLACK; c++)
            CHECKF(isnan(got[c]), "K %d: %s wrote past the panels", K, kn_isa_name(isa));
        for (size_t t = 0; t < sizeof needs / sizeof *needs; t++) {
            memset(got, 0xff, sizeof got);
            chains(p, a, b, needs[t], got);
            for (int c = 0; c < ROW_NPAD + ROW_SLACK; c++) {
                int wanted = 0;
                for (int w = 0; w < 7; w++) wanted |= wanted_panels[t][w] == c / KN_NR;
                CHECKF(c >= ROW_NPAD ? isnan(got[c]) : !memcmp(&got[c], wanted ? &want[c] : &(float){0.0f}, sizeof(float)),
                       "K %d: %s, panels wanted (set %zu): column %d", K, kn_isa_name(isa), t, c);
            }
        }
    }
}

/* The fast modes' one-row product: on every level the documented four-chain order's bits
 * (computed here from its definition), the padding to whole panels 0 and nothing written past
 * it; K with and without a remainder of 4 and of 16 (the AVX-512 body's 16-k steps), N over
 * several groups of panels and a partial one (a group of one panel takes another loop); with a
 * bitset of wanted columns, the panels holding one computed alike and the others 0. */
TEST(kernels_row_chains_documented_order_on_every_path)
{
    enum { N = ROW_N, KMAX = 67, NPAD = ROW_NPAD };
    static const int Ks[] = {64, 67, 3, 20, 23, 48};
    unsigned seed = 13;
    static float a[KMAX], W[N * KMAX], b[N], want[NPAD];
    for (int i = 0; i < N * KMAX; i++) W[i] = rnd(&seed);
    for (int k = 0; k < KMAX; k++) a[k] = rnd(&seed);
    for (int c = 0; c < N; c++) b[c] = rnd(&seed);
    for (size_t t = 0; t < sizeof Ks / sizeof *Ks; t++) {
        const int K = Ks[t];
        static float Wk[N * KMAX];
        for (int c = 0; c < N; c++) memcpy(Wk + (size_t)c * K, W + (size_t)c * KMAX, (size_t)K * sizeof(float));
        kn_weights p;
        CHECK(kn_pack(&p, Wk, N, K, 0) == 0);
        CHECK_EQ_INT(p.npanels * KN_NR, NPAD);
        int differs_from_one_chain = 0;
        for (int c = 0; c < NPAD; c++) {
            float s[4] = {0}, one = 0;
            for (int k = 0; c < N && k < K; k++) {
                s[k % 4] = fmaf(a[k], Wk[(size_t)c * K + k], s[k % 4]);
                one = fmaf(a[k], Wk[(size_t)c * K + k], one);
            }
            want[c] = c < N ? ((s[0] + s[1]) + (s[2] + s[3])) + b[c] : 0.0f;
            differs_from_one_chain += c < N && want[c] != one + b[c];
        }
        if (K > 4) CHECK(differs_from_one_chain > 0); /* else the test could not tell the orders apart */
        row_chains_want_on_every_level(kn_row_f32_chains, &p, a, b, want);
        kn_free(&p);
    }
    kn_set_isa(kn_isa_best());
}

/* bf16's value as a float */
static float bf16_value(uint16_t h)
{
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* int8 mode's upper layer (kn_row_bf16_chains): on every level the bits of its documented order
 * computed here from the definition (a and W rounded to bf16, chain m the pairs q with q % 4 ==
 * m, each pair's odd then even product fused into it, ((s0 + s1) + (s2 + s3)) + b), the padding
 * 0 and nothing written past it; pair counts with every remainder of 4 and of 16 (the AVX-512
 * halves' 16-unit steps), N over groups of panels and a partial one, the bitsets of wanted
 * columns of the fp32 test (one group of 4 panels, one of 7: the halves). */
TEST(kernels_row_bf16_chains_documented_order_on_every_path)
{
    enum { N = ROW_N, KMAX = 98, NPAD = ROW_NPAD };
    static const int Ks[] = {64, 66, 2, 6, 40, 46, 98, 36};
    unsigned seed = 17;
    static float a[KMAX], W[N * KMAX], b[N], want[NPAD], fp32_order[NPAD];
    static uint16_t abf[KMAX];
    for (int i = 0; i < N * KMAX; i++) W[i] = rnd(&seed);
    for (int k = 0; k < KMAX; k++) a[k] = rnd(&seed);
    for (int c = 0; c < N; c++) b[c] = rnd(&seed);
    kn_to_bf16_n(a, abf, KMAX);
    for (size_t t = 0; t < sizeof Ks / sizeof *Ks; t++) {
        const int K = Ks[t];
        static float Wk[N * KMAX];
        for (int c = 0; c < N; c++) memcpy(Wk + (size_t)c * K, W + (size_t)c * KMAX, (size_t)K * sizeof(float));
        kn_weights p;
        CHECK(kn_pack(&p, Wk, N, K, KN_PACK_BF16) == 0);
        CHECK_EQ_INT(p.npanels * KN_NR, NPAD);
        int differs = 0;
        for (int c = 0; c < NPAD; c++) {
            float s[4] = {0}, s32[4] = {0};
            for (int q = 0; c < N && q < K / 2; q++)
                for (int e = 1; e >= 0; e--) {
                    const float ak = bf16_value(abf[2 * q + e]), wk = bf16_value(kn_to_bf16(Wk[(size_t)c * K + 2 * q + e]));
                    s[q % 4] = fmaf(ak, wk, s[q % 4]);
                    s32[(2 * q + e) % 4] = fmaf(ak, wk, s32[(2 * q + e) % 4]);
                }
            want[c] = c < N ? ((s[0] + s[1]) + (s[2] + s[3])) + b[c] : 0.0f;
            fp32_order[c] = c < N ? ((s32[0] + s32[1]) + (s32[2] + s32[3])) + b[c] : 0.0f;
            differs += memcmp(&want[c], &fp32_order[c], sizeof(float)) != 0;
        }
        if (K > 8) CHECK(differs > 0); /* else the test could not tell the pairs' order from k's */
        row_chains_want_on_every_level(kn_row_bf16_chains, &p, a, b, want);
        kn_free(&p);
    }
    kn_set_isa(kn_isa_best());
}

/* A view of some panels multiplies like the whole matrix restricted to those columns, and a
 * view that would cut a panel is refused. */
TEST(kernels_column_view_same_bits)
{
    enum { M = 5, K = 64, N = 72 }; /* 4 full panels and a partial one */
    unsigned seed = 11;
    float A[M * K], W[N * K], all[M * N], part[M * N];
    for (int i = 0; i < M * K; i++) A[i] = rnd(&seed);
    for (int i = 0; i < N * K; i++) W[i] = rnd(&seed);
    kn_weights p, v;
    CHECK(kn_pack(&p, W, N, K, 0) == 0);
    kn_gemm_f32(&p, A, K, M, all, N);
    static const int views[][2] = {{0, 16}, {16, 32}, {48, 24}, {64, 8}, {0, 72}};
    for (size_t t = 0; t < sizeof views / sizeof *views; t++) {
        int c0 = views[t][0], n = views[t][1];
        CHECK(kn_cols(&p, c0, n, &v) == 0);
        for (int rows = 1; rows <= M; rows += M - 1) { /* the one-row path and the tiled one */
            kn_gemm_f32(&v, A, K, (size_t)rows, part, (size_t)n);
            for (int i = 0; i < rows; i++)
                CHECKF(!memcmp(part + i * n, all + i * N + c0, (size_t)n * sizeof(float)),
                       "columns %d..%d, %d rows: row %d differs", c0, c0 + n - 1, rows, i);
        }
    }
    CHECK(kn_cols(&p, 8, 16, &v) == -1);  /* starts inside a panel */
    CHECK(kn_cols(&p, 16, 20, &v) == -1); /* ends inside one */
    CHECK(kn_cols(&p, 64, 16, &v) == -1); /* past N */
    CHECK(kn_cols(&p, 0, 0, &v) == -1);
    kn_free(&p);
}

/* int8 as kernels.h states it, computed here from the floats: round(x * inv) clamped. */
static int quant(float x, float inv, int max) { return (int)lrintf(fminf(fmaxf(x * inv, (float)-max), (float)max)); }

/* A weight column's clip: of maxabs x (1 - 0.01 s), s = 0..30, the one whose rounding leaves
 * the least squared error (kernels.c's pack_i8, restated). */
static float clip_of(const float *w, int K)
{
    float maxabs = 0, clip = 0;
    for (int k = 0; k < K; k++) maxabs = fmaxf(maxabs, fabsf(w[k]));
    double best = INFINITY;
    for (int s = 0; maxabs > 0 && s <= 30; s++) {
        float c = maxabs * (1.0f - 0.01f * (float)s), step = c / KN_I8_WMAX;
        double err = 0;
        for (int k = 0; k < K; k++) {
            double d = (double)quant(w[k], KN_I8_WMAX / c, KN_I8_WMAX) * step - w[k];
            err += d * d;
        }
        if (err < best) best = err, clip = c;
    }
    return clip;
}

/* Q from kn_quantize_rows (M rows of K, in the current level's layout) as plain rows of K4
 * bytes; every byte of Q placed exactly once (the layout is a permutation of M * K4 bytes). */
static void i8_rows(const uint8_t *Q, size_t M, int K, uint8_t *rows)
{
    const int K4 = (K + 3) / 4 * 4;
    uint8_t *seen = calloc(M * (size_t)K4, 1);
    CHECK(seen != NULL);
    for (size_t i = 0; i < M; i++)
        for (int k = 0; k < K4; k++) {
            const size_t at = kn_i8_offset(M, K, i, k);
            CHECKF(at < M * (size_t)K4 && !seen[at], "row %zu byte %d at %zu: outside or taken twice", i, k, at);
            seen[at] = 1;
            rows[i * (size_t)K4 + (size_t)k] = Q[at];
        }
    free(seen);
}

TEST(int8_kernel_exact_against_scalar_reference)
{
    /* K: not a multiple of 4 (padding) nor of 32 (the quantizer's scalar tail); lda > K */
    enum { M = 37, K = 290, LDA = 301, N = 75 };
    unsigned seed = 11;
    float *A = malloc(sizeof(float) * M * LDA), *W = malloc(sizeof(float) * N * K);
    for (int i = 0; i < M * LDA; i++) A[i] = rnd(&seed) * (1 + i % 5) + (i / LDA % 3 == 1 ? 0.5f : 0);
    for (int i = 0; i < N * K; i++) W[i] = rnd(&seed);
    for (int k = 0; k < K; k++) {
        A[5 * LDA + k] = 0;                       /* a zero row: scale 0 */
        A[6 * LDA + k] = 3, W[4 * K + k] = 0.25f; /* every byte at its extreme: the largest pair sums */
        A[7 * LDA + k] = -3, W[5 * K + k] = -0.25f;
        A[8 * LDA + k] = 1 + 0.01f * (float)k;    /* all positive: zero point 0, the whole range above */
    }
    kn_weights p;
    CHECK(kn_pack(&p, W, N, K, KN_PACK_INT8) == 0);
    CHECK(p.K4 == 292 && !p.bf16);
    const size_t qpanel = (size_t)p.K4 / 4 * KN_NR;
    static int qw[N][K];
    int clipped = 0;
    for (int c = 0; c < N; c++) { /* the packed weights, scales and weight sums */
        float clip = clip_of(W + (size_t)c * K, K), inv = KN_I8_WMAX / clip;
        CHECKF(p.i8_scale[c] == clip / KN_I8_WMAX, "column %d scale", c);
        int sum = 0;
        for (int k = 0; k < K; k++) {
            qw[c][k] = quant(W[(size_t)c * K + k], inv, KN_I8_WMAX);
            sum += qw[c][k];
            int8_t packed = (int8_t)(uint8_t)(p.i8[c / KN_NR * qpanel + (size_t)(k / 4) * KN_NR + c % KN_NR] >> (8 * (k % 4)));
            CHECKF(packed == qw[c][k], "w[%d][%d] packed %d, expected %d", c, k, packed, qw[c][k]);
        }
        CHECKF(p.i8_wsum[c] == sum, "column %d weight sum", c);
        float maxabs = 0;
        for (int k = 0; k < K; k++) maxabs = fmaxf(maxabs, fabsf(W[(size_t)c * K + k]));
        clipped += clip < maxabs;
    }
    printf("  int8: %d of %d columns clipped below their largest weight\n", clipped, N);
    CHECK(clipped > 0); /* the search does pick clips (random weights have tails) */
    CHECK(qw[4][0] == KN_I8_WMAX && qw[5][0] == -KN_I8_WMAX);
    static uint8_t Q[M * 292], R[M * 292], Rg[M * 292], Q1[292];
    static float sa[M], sag[M], C[M * N], Cg[M * N], one[N];
    static int32_t za[M], zag[M];
    kn_quantize_rows(A, LDA, M, K, Q, sa, za);
    i8_rows(Q, M, K, R); /* in plain rows, whatever layout this level's product reads */
    double err = 0, norm = 0;
    for (int i = 0; i < M; i++) { /* the quantized rows, then each output from exact integer sums */
        float lo = 0, hi = 0;
        for (int k = 0; k < K; k++) lo = fminf(lo, A[(size_t)i * LDA + k]), hi = fmaxf(hi, A[(size_t)i * LDA + k]);
        float inv = hi > lo ? KN_I8_ALEVELS / (hi - lo) : 0;
        int z = (int)lrintf(-lo * inv);
        CHECKF(sa[i] == (hi - lo) / KN_I8_ALEVELS && za[i] == z, "row %d scale %g zero %d", i, sa[i], (int)za[i]);
        for (int k = 0; k < p.K4; k++) {
            int want = k < K ? quant(A[(size_t)i * LDA + k], inv, KN_I8_ALEVELS) + z : z;
            want = want < 0 ? 0 : want > KN_I8_ALEVELS ? KN_I8_ALEVELS : want;
            CHECKF(R[i * p.K4 + k] == want, "a[%d][%d] %d, expected %d", i, k, R[i * p.K4 + k], want);
        }
    }
    CHECK(R[6 * p.K4] == KN_I8_ALEVELS && za[6] == 0 && R[7 * p.K4] == 0 && za[7] == KN_I8_ALEVELS);
    CHECK(za[8] == 0 && R[8 * p.K4 + K - 1] == KN_I8_ALEVELS && za[5] == 0 && sa[5] == 0);
    kn_gemm_i8(&p, Q, sa, za, M, C, N);
    for (int i = 0; i < M; i++)
        for (int c = 0; c < N; c++) {
            int64_t acc = 0;
            for (int k = 0; k < K; k++) acc += (int64_t)(R[i * p.K4 + k] - za[i]) * qw[c][k];
            float want = (float)acc * p.i8_scale[c] * sa[i];
            CHECKF(C[i * N + c] == want, "[%d][%d] %.9g, expected %.9g", i, c, C[i * N + c], want);
            double r = 0; /* the float product, for the error figure */
            for (int k = 0; k < K; k++) r += (double)A[(size_t)i * LDA + k] * W[(size_t)c * K + k];
            err += (C[i * N + c] - r) * (C[i * N + c] - r);
            norm += r * r;
        }
    printf("  int8 (%s): relative rms error against the float product %.4f\n", kn_i8_path(), sqrt(err / norm));
    CHECK(sqrt(err / norm) < 0.02);
    for (int i = 0; i < M; i++) { /* a row alone: the same bytes and bits */
        float sa1;
        int32_t za1;
        kn_quantize_rows(A + (size_t)i * LDA, LDA, 1, K, Q1, &sa1, &za1);
        CHECKF(!memcmp(Q1, R + i * p.K4, sizeof Q1) && sa1 == sa[i] && za1 == za[i], "int8 row %d quantized alone", i);
        kn_gemm_i8(&p, Q1, &sa1, &za1, 1, one, N);
        CHECKF(!memcmp(one, C + (size_t)i * N, sizeof one), "int8 row %d alone differs from the batch", i);
    }
    /* every level this CPU runs: the same bytes, scales and bits as the portable path */
    CHECK(test_use_isa(KN_ISA_PORTABLE));
    kn_quantize_rows(A, LDA, M, K, Q, sag, zag);
    i8_rows(Q, M, K, Rg);
    kn_gemm_i8(&p, Q, sag, zag, M, Cg, N);
    CHECK(!memcmp(R, Rg, sizeof R) && !memcmp(sa, sag, sizeof sa) && !memcmp(za, zag, sizeof za) &&
          !memcmp(C, Cg, sizeof C));
    for (kn_isa isa = KN_ISA_AVX2; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        memset(Q, 0, sizeof Q);
        memset(C, 0xff, sizeof C);
        kn_quantize_rows(A, LDA, M, K, Q, sa, za);
        i8_rows(Q, M, K, R);
        kn_gemm_i8(&p, Q, sa, za, M, C, N);
        CHECKF(!memcmp(R, Rg, sizeof R) && !memcmp(sa, sag, sizeof sa) && !memcmp(za, zag, sizeof za) &&
                   !memcmp(C, Cg, sizeof C),
               "int8 on %s (%s) differs from the portable path", kn_isa_name(isa), kn_i8_path());
        printf("  %s: int8 (%s) bit-identical to the portable path\n", kn_isa_name(isa), kn_i8_path());
        if (isa == KN_ISA_AVX512 && strcmp(kn_i8_path(), "avx512vnni"))
            printf("  SKIP avx512vnni: CPU lacks AVX512_VNNI (int8 ran on %s)\n", kn_i8_path());
    }
    kn_set_isa(kn_isa_best());
    kn_free(&p);
    CHECK(kn_pack(&p, W, N, 65537, KN_PACK_INT8) == -1); /* int32 sums could overflow (refused unread) */
    free(A);
    free(W);
}

/* The encoder's windows (row i = sequence rows i .. i+2, lda = width, K = 3 x width): the same
 * bytes, scales and products as the windows copied out as separate rows, on every level and
 * for any M (whole and partial tiles of the 512-bit layout), with NaN, infinite, -0.0 and zero
 * sequence rows among them (the ranges of overlapping windows taken once per sequence row). */
TEST(int8_window_rows_same_bits_as_copied_rows_on_every_level)
{
    /* WIDTH: spans of a 16-lane body and a tail; K = 66 not a multiple of 4 (padding) */
    enum { WIDTH = 22, SPANS = 3, K = SPANS * WIDTH, K4 = 68, SEQ = 112, N = 37, MAXM = SEQ - SPANS + 1 };
    /* tiles of 12: whole, 1, 2, 3, 4 rows left; the quantizer's chunks of 96 rows: one, and more */
    static const size_t row_counts[] = {1, 3, 5, 12, 13, 15, 26, 40, 96, 97, MAXM};
    unsigned seed = 7;
    static float seq[SEQ * WIDTH], copied[MAXM * K], W[N * K], C[MAXM * N], Cc[MAXM * N], Cg[MAXM * N];
    for (int i = 0; i < SEQ * WIDTH; i++) seq[i] = rnd(&seed) * (float)(1 + i % 7);
    for (int k = 0; k < WIDTH; k++) {
        for (int r = 2; r <= 6; r++) seq[r * WIDTH + k] = 0;         /* zero windows 2-4: scale 0 */
        seq[9 * WIDTH + k] = k == 5 ? NAN : seq[9 * WIDTH + k];      /* a NaN: skipped by the range */
        seq[14 * WIDTH + k] = k % 2 ? -0.0f : 0.0f;                  /* -0.0: not below 0 */
        seq[20 * WIDTH + k] = k == 17 ? INFINITY : 0.25f;            /* an infinite range: scale 0 */
        seq[27 * WIDTH + k] = NAN;                                   /* all NaN */
        seq[30 * WIDTH + k] = k == 20 ? -INFINITY : -1.0f;           /* -inf in a span's tail */
        for (int r = 35; r <= 37; r++) seq[r * WIDTH + k] = -1.0f - (float)k; /* window 35 all below 0 */
    }
    for (int i = 0; i < N * K; i++) W[i] = rnd(&seed);
    for (int i = 0; i < MAXM; i++) memcpy(copied + (size_t)i * K, seq + (size_t)i * WIDTH, sizeof(float) * K);
    kn_weights p;
    CHECK(kn_pack(&p, W, N, K, KN_PACK_INT8) == 0 && p.K4 == K4);
    static uint8_t Q[(MAXM + 1) * K4], R[MAXM * K4], Rc[MAXM * K4], Rg[MAXM * K4]; /* Q: a row's bytes spare */
    static float sa[MAXM], sac[MAXM], sag[MAXM];
    static int32_t za[MAXM], zac[MAXM], zag[MAXM];
    int levels = 0, scale0 = 0;
    for (size_t m = 0; m < sizeof row_counts / sizeof *row_counts; m++) {
        const size_t M = row_counts[m];
        for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
            if (!test_use_isa(isa)) continue;
            memset(Q, 0xa5, sizeof Q);
            kn_quantize_rows(copied, K, M, K, Q, sac, zac); /* rows apart: each row's range of its own */
            i8_rows(Q, M, K, Rc);
            kn_gemm_i8(&p, Q, sac, zac, M, Cc, N);
            memset(Q, 0x5a, sizeof Q);
            kn_quantize_rows(seq, WIDTH, M, K, Q, sa, za);
            for (size_t b = M * K4; b < sizeof Q; b++)
                CHECKF(Q[b] == 0x5a, "%zu windows: byte %zu written past M x K4", M, b);
            i8_rows(Q, M, K, R);
            kn_gemm_i8(&p, Q, sa, za, M, C, N);
            CHECKF(!memcmp(R, Rc, M * K4) && !memcmp(sa, sac, M * sizeof *sa) && !memcmp(za, zac, M * sizeof *za) &&
                       !memcmp(C, Cc, M * N * sizeof *C),
                   "%zu windows on %s (%s): not the copied rows' bytes and bits", M, kn_isa_name(isa), kn_i8_path());
            if (isa == KN_ISA_PORTABLE) {
                memcpy(Rg, R, M * K4), memcpy(sag, sa, M * sizeof *sa), memcpy(zag, za, M * sizeof *za);
                memcpy(Cg, C, M * N * sizeof *C);
            }
            CHECKF(!memcmp(R, Rg, M * K4) && !memcmp(sa, sag, M * sizeof *sa) && !memcmp(za, zag, M * sizeof *za) &&
                       !memcmp(C, Cg, M * N * sizeof *C),
                   "%zu windows on %s (%s) differ from the portable path", M, kn_isa_name(isa), kn_i8_path());
            levels += M == MAXM;
        }
    }
    for (int i = 0; i < MAXM; i++) scale0 += sag[i] == 0;
    printf("  %d levels, %d of %d windows with scale 0 (zero or infinite range)\n", levels, scale0, MAXM);
    CHECK(levels >= 1 && scale0 == 3 * 3); /* the zero windows, the windows over rows 20 and 30 */
    CHECK(sag[7] != 0 && sag[26] != 0 && zag[35] == KN_I8_ALEVELS); /* NaN skipped; window 35 all below 0 */
    CHECK(Rg[35 * K4 + K] == KN_I8_ALEVELS && Rg[35 * K4 + K4 - 1] == KN_I8_ALEVELS); /* padding: the zero point */
    kn_set_isa(kn_isa_best());
    kn_free(&p);
}

TEST(bf16_rounds_to_nearest_even)
{
    CHECK_EQ_INT(kn_to_bf16(1.0f), 0x3f80);
    CHECK_EQ_INT(kn_to_bf16(1.0f + 1.0f / 256), 0x3f80);     /* a tie: to the even mantissa */
    CHECK_EQ_INT(kn_to_bf16(1.0f + 3.0f / 256), 0x3f82);     /* a tie: up to the even one */
    CHECK_EQ_INT(kn_to_bf16(1.0f + 1.5f / 256), 0x3f81);     /* above half: up */
    CHECK_EQ_INT(kn_to_bf16(-2.0f), 0xc000);
    CHECK_EQ_INT(kn_to_bf16(INFINITY), 0x7f80);
    CHECK((kn_to_bf16(NAN) & 0x7f80) == 0x7f80 && (kn_to_bf16(NAN) & 0x7f)); /* still a NaN */
    CHECK_EQ_INT(kn_to_bf16(3.4e38f), 0x7f80);               /* rounds past the largest bf16 */
    /* the vector conversions give kn_to_bf16's bits on every level: ties, NaNs, infinities,
     * denormals (kept, not flushed), signs; 37 values, so a vector body and a scalar tail */
    static const float special[] = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -1.0f - 1.5f / 256, NAN, -NAN, INFINITY,
                                    -INFINITY, 1e-40f, -1e-40f, 0.0f, -0.0f, 3.4e38f, -3.4e38f, 1.1754942e-38f};
    enum { NV = 37 };
    float x[NV];
    uint16_t y[NV];
    unsigned seed = 5;
    for (int i = 0; i < NV; i++) x[i] = i < (int)(sizeof special / sizeof *special) ? special[i] : rnd(&seed) * 1e3f;
    for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        memset(y, 0, sizeof y);
        kn_to_bf16_n(x, y, NV);
        for (int i = 0; i < NV; i++)
            CHECKF(y[i] == kn_to_bf16(x[i]), "%s: %g -> 0x%04x, expected 0x%04x", kn_isa_name(isa), x[i], y[i],
                   kn_to_bf16(x[i]));
    }
    kn_set_isa(kn_isa_best());
}

/* Every golden document's attribute rows, tokenized once. */
typedef struct { uint64_t **attrs; size_t *n, count; } docs_attrs;

static void load_docs(const nerd_model *m, const char *const *files, int nfiles, docs_attrs *out)
{
    nerd_doc *d = nerd_doc_new();
    memset(out, 0, sizeof *out);
    for (int f = 0; f < nfiles; f++) {
        size_t len;
        char *data = test_read_file(test_path(files[f]), &len);
        CHECK(data);
        jsonl_iter it;
        jsonl_init(&it, data, len, JSONL_MAX_LINE);
        for (int got; (got = jsonl_next(&it)) != 0;) {
            CHECKF(got > 0, "%s: %s", files[f], it.err);
            const json_value *t = json_get(&it.doc.root, "text");
            CHECK(nerd_tokenize(m, d, t->u.str.ptr, t->u.str.len) == NERD_OK);
            out->attrs = realloc(out->attrs, (out->count + 1) * sizeof *out->attrs);
            out->n = realloc(out->n, (out->count + 1) * sizeof *out->n);
            out->n[out->count] = d->ntoks;
            out->attrs[out->count] = malloc(d->ntoks * NER_NATTRS * sizeof(uint64_t) + 1);
            memcpy(out->attrs[out->count], d->attrs, d->ntoks * NER_NATTRS * sizeof(uint64_t));
            out->count++;
        }
        jsonl_free(&it);
        free(data);
    }
    nerd_doc_free(d);
}

static void free_docs(docs_attrs *a)
{
    for (size_t i = 0; i < a->count; i++) free(a->attrs[i]);
    free(a->attrs);
    free(a->n);
}

/* the ner tok2vec's output of one doc (n x width), computed with the given cache (or none) */
static float *t2v_out(const nerd_model *m, kn_precision prec, embed_cache *c, const uint64_t *attrs, size_t n,
                      t2v_cache_use *use)
{
    return test_t2v_out(&m->ner_t2v, &m->ner_t2v_packed, prec, c, attrs, n, use);
}
static nerd_model *load_model(void)
{
    nerd_model *m = test_model();
    /* packs the int8 and the bf16 copies too */
    CHECK(nerd_model_set_precision(m, NERD_PRECISION_INT8) == NERD_OK);
    CHECK(nerd_model_set_precision(m, NERD_PRECISION_BF16) == NERD_OK);
    CHECK(m->ner_t2v_packed.lowp == (KN_PACK_BF16 | KN_PACK_INT8));
    return m;
}

TEST_T(embed_cache_rows_bit_identical_over_golden, 300)
{
    nerd_model *m = load_model();
    static const char *const files[] = {"golden/edge.jsonl", "golden/ewt.jsonl", "golden/ewt_train_sample.jsonl"};
    docs_attrs docs;
    load_docs(m, files, 3, &docs);
    /* a roomy cache (mostly hits on the second pass) and, in fp32, a tiny one (constant
     * replacement); bf16 and int8 over the first 600 documents (the time limit under ASan) */
    size_t sizes[2] = {32768, 64}, all = docs.count;
    static const char *names[] = {"fp32", "bf16", "int8"};
    for (int prec = KN_FP32; prec <= KN_INT8; prec++) {
        docs.count = prec == KN_FP32 || all < 600 ? all : 600;
        float **fresh = calloc(docs.count, sizeof *fresh);
        for (size_t i = 0; i < docs.count; i++) fresh[i] = t2v_out(m, prec, NULL, docs.attrs[i], docs.n[i], NULL);
        for (int s = 0; s < (prec == KN_FP32 ? 2 : 1); s++) {
            embed_cache *c = embed_cache_new(sizes[s], 4, m->ner_t2v.width);
            uint64_t hits = 0, looked = 0;
            for (int pass = 0; pass < 2 - s; pass++)
                for (size_t i = 0; i < docs.count; i++) {
                    t2v_cache_use use;
                    float *got = t2v_out(m, prec, c, docs.attrs[i], docs.n[i], &use);
                    CHECKF(!memcmp(got, fresh[i], docs.n[i] * m->ner_t2v.width * sizeof(float)),
                           "precision %d, cache %zu, pass %d: doc %zu differs from the uncached computation", prec,
                           sizes[s], pass, i);
                    hits += use.hits;
                    looked += use.hits + use.misses;
                    free(got);
                }
            printf("  %s, cache of %zu: %zu docs x %d passes bit-identical, hit rate %.1f%%\n", names[prec],
                   sizes[s], docs.count, 2 - s, 100.0 * hits / looked);
            CHECK(hits > looked / (s ? 100 : 2)); /* the cache is really used */
            embed_cache_free(c);
        }
        for (size_t i = 0; i < docs.count; i++) free(fresh[i]);
        free(fresh);
    }
    docs.count = all;
    free_docs(&docs);
    nerd_model_free(m);
}

typedef struct {
    const nerd_model *m;
    kn_precision prec;
    embed_cache *cache;
    const docs_attrs *docs;
    float *const *fresh;
    int id, bad;
    uint64_t hits, part_hits;
} cache_job;

static void *cache_worker(void *arg)
{
    cache_job *j = arg;
    for (int round = 0; round < 3; round++)
        for (size_t k = 0; k < j->docs->count; k++) {
            size_t i = (k * 13 + (size_t)j->id * 97) % j->docs->count; /* each thread its own order */
            t2v_cache_use use;
            float *got = t2v_out(j->m, j->prec, j->cache, j->docs->attrs[i], j->docs->n[i], &use);
            j->bad += memcmp(got, j->fresh[i], j->docs->n[i] * j->m->ner_t2v.width * sizeof(float)) != 0;
            j->hits += use.hits;
            j->part_hits += use.part_hits;
            free(got);
        }
    return NULL;
}

/* 4 threads, 3 rounds each over the documents in their own orders, on one word cache of 256
 * slots for thousands of words (readers and writers meet on the same slots all the time), with
 * a partials table of part_slots attached when that is not 0: every document keeps the bits
 * computed without a cache, and the hits the threads counted are the table's (the partials
 * table's when there is one). */
static void threads_share_one_cache(kn_precision prec, size_t part_slots)
{
    nerd_model *m = load_model();
    static const char *const files[] = {"golden/ewt_train_sample.jsonl"};
    docs_attrs docs;
    load_docs(m, files, 1, &docs);
    size_t all = docs.count;
    docs.count = all / TEST_SLOWDOWN; /* all of them under TSan would take minutes */
    float **fresh = calloc(docs.count, sizeof *fresh);
    for (size_t i = 0; i < docs.count; i++) fresh[i] = t2v_out(m, prec, NULL, docs.attrs[i], docs.n[i], NULL);
    embed_cache *c = embed_cache_new(256, 4, m->ner_t2v.width);
    if (part_slots) CHECK(embed_cache_attach(c, part_slots, (int)t2v_partial_row_floats(&m->ner_t2v)) == 0);
    enum { T = 4 };
    cache_job jobs[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (cache_job){.m = m, .prec = prec, .cache = c, .docs = &docs, .fresh = fresh, .id = t};
        CHECK(pthread_create(&th[t], NULL, cache_worker, &jobs[t]) == 0);
    }
    uint64_t hits = 0;
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        CHECKF(jobs[t].bad == 0, "thread %d: %d docs differ from the uncached computation", t, jobs[t].bad);
        hits += part_slots ? jobs[t].part_hits : jobs[t].hits;
    }
    embed_cache_stats st;
    embed_cache_get_stats(part_slots ? embed_cache_attached(c) : c, &st);
    printf("  %d threads x 3 rounds x %zu docs bit-identical; %s %llu hits, %llu misses\n", T, docs.count,
           part_slots ? "partials table" : "word cache", (unsigned long long)st.hits, (unsigned long long)st.misses);
    CHECK(hits > 0 && st.hits == hits);
    embed_cache_free(c);
    for (size_t i = 0; i < docs.count; i++) free(fresh[i]);
    free(fresh);
    docs.count = all;
    free_docs(&docs);
    nerd_model_free(m);
}

TEST_T(embed_cache_shared_by_threads_bit_identical, 300) { threads_share_one_cache(KN_FP32, 0); }

/* The fast modes' partials table (t2v_fast.h), read and written by 4 threads at once on few
 * slots: every document still has the bits computed without a cache (TSan: make test-tsan). */
TEST_T(embed_cache_shared_by_threads_fast_modes_partials, 300) { threads_share_one_cache(KN_INT8, 64); }

/* A word repeated in a document is looked up (or computed) once: its repeats take its row and
 * count as it did. A document of a few words repeated in turn (A B C A B C ...), in each
 * precision: cold (every distinct word computed once), then warm, then with a table of one slot
 * for the partials and the word cache (the distinct words evict each other), the same bits as
 * without a cache, every token counted once, and only the distinct words looked up. */
TEST(t2v_repeated_words_looked_up_once_same_bits)
{
    nerd_model *m = load_model();
    const t2v_net *t = &m->ner_t2v;
    static const char *const files[] = {"golden/ewt.jsonl"};
    docs_attrs docs;
    load_docs(m, files, 1, &docs);
    enum { DISTINCT = 7, N = 60 };
    CHECK(docs.count > 0 && docs.n[0] >= DISTINCT);
    const int na = t->nattrs;
    uint64_t *attrs = malloc((size_t)N * na * sizeof *attrs);
    for (int i = 0; i < N; i++) /* the first document's first words, 0..6 in turn */
        memcpy(attrs + (size_t)i * na, docs.attrs[0] + (size_t)(i % DISTINCT) * na, (size_t)na * sizeof *attrs);
    for (int prec = KN_FP32; prec <= KN_INT8; prec++) {
        float *fresh = t2v_out(m, prec, NULL, attrs, N, NULL);
        static const size_t slots[2] = {4096, 1};
        for (int s = 0; s < 2; s++) {
            embed_cache *c = embed_cache_new(slots[s], 4, t->width);
            CHECK(embed_cache_attach(c, slots[s], (int)t2v_partial_row_floats(t)) == 0);
            for (int pass = 0; pass < 2; pass++) {
                t2v_cache_use use;
                float *got = t2v_out(m, prec, c, attrs, N, &use);
                CHECKF(!memcmp(got, fresh, (size_t)N * t->width * sizeof(float)),
                       "precision %d, %zu slots, pass %d: differs from the uncached computation", prec, slots[s], pass);
                CHECK_EQ_INT(use.looked_up, DISTINCT);
                CHECK_EQ_INT(use.hits + use.misses, N);
                if (prec != KN_FP32) CHECK_EQ_INT(use.part_hits + use.part_misses, N);
                if (pass == 0) CHECK_EQ_INT(use.misses, N); /* cold: each first occurrence computed, repeats as it */
                if (s == 0 && pass == 1) CHECK_EQ_INT(use.hits, N);
                free(got);
            }
            embed_cache_free(c);
        }
        t2v_cache_use use;
        free(t2v_out(m, prec, NULL, attrs, N, &use));
        CHECK_EQ_INT(use.looked_up, N); /* without a cache every token is computed */
        free(fresh);
    }
    free(attrs);
    free_docs(&docs);
    nerd_model_free(m);
}

/* Block 0's fused pass in the fast modes (t2v_maxout_ln_sums): on every level this CPU runs,
 * the partials summed inside the maxout pass give the bits of the portable path, which writes
 * each window's sum ((s0 + s1) + s2 ...) into pre and then runs the pass: any number of rows
 * (whole groups of 4 and the rest), with and without the residual (in place), windows with zero
 * rows (a pad row's partials, +0.0) and -0.0 partials, whose sums' signs the order decides. */
TEST(t2v_block0_sums_in_the_pass_same_bits_on_every_path)
{
    static const struct { int nO, nP, ng; } shapes[] = {{96, 3, 3}, {32, 2, 2}, {48, 3, 5}, {20, 3, 3}};
    enum { ROWS = 11, WORDS = ROWS + 4 };
    for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++) {
        const int nO = shapes[sh].nO, nP = shapes[sh].nP, ng = shapes[sh].ng, len = nO * nP;
        unsigned seed = 7 + (unsigned)sh;
        float *parts = malloc((size_t)WORDS * ng * len * sizeof(float)), *zero = calloc((size_t)len, sizeof(float));
        float *b = malloc((size_t)len * sizeof(float)), *G = malloc(nO * sizeof(float)), *Gb = malloc(nO * sizeof(float));
        /* full mantissas of varied exponents: rnd's values alone are short dyadics, whose sums
         * are exact in any order, so a wrong order would pass */
        for (int k = 0; k < WORDS * ng * len; k++) parts[k] = rnd(&seed) * 3.1f * exp2f(8 * rnd(&seed)) + rnd(&seed) * 0.0137f;
        for (int k = 0; k < len; k++) b[k] = rnd(&seed) * 0.1f;
        for (int k = 0; k < nO; k++) G[k] = 1 + rnd(&seed), Gb[k] = rnd(&seed);
        /* words 3 to 7 all -0.0 (whole windows of them), word 9 some; a zero bias where the
         * signs of zero sums then reach the maxima */
        for (int k = 0; k < 5 * ng * len; k++) parts[(size_t)3 * ng * len + k] = -0.0f;
        for (int k = 0; k < len; k += 3) parts[(size_t)9 * ng * len + k] = -0.0f;
        for (int k = 0; k < len; k += 4) b[k] = 0;
        /* row r's window: words r .. r + ng - 1; the first two rows and the last have pad rows
         * (zero partials) at their edges, as the sequence's first and last windows do */
        const float *src[ROWS * 5];
        for (int r = 0; r < ROWS; r++)
            for (int g = 0; g < ng; g++) {
                const int t = r + g - 2;
                const int pad = t < 0 || (r == ROWS - 1 && g == ng - 1);
                src[r * ng + g] = pad ? zero : parts + ((size_t)(t < 0 ? 0 : t) * ng + g) * len;
            }
        float *want[2][ROWS + 1] = {{0}};
        for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
            if (!test_use_isa(isa)) continue;
            for (int with_res = 0; with_res < 2; with_res++)
                for (int nrows = 1; nrows <= ROWS; nrows++) {
                    float *y = malloc((size_t)nrows * nO * sizeof(float)), *pre = malloc((size_t)nrows * len * sizeof(float));
                    unsigned res_seed = 99; /* the residual (in place): the same on every level */
                    for (int k = 0; k < nrows * nO; k++) y[k] = rnd(&res_seed);
                    t2v_maxout_ln_sums(src, ng, (size_t)nrows, b, nO, nP, G, Gb, y, with_res ? y : NULL, (size_t)nO, pre,
                                       (size_t)len);
                    free(pre);
                    if (isa == KN_ISA_PORTABLE) {
                        want[with_res][nrows] = y;
                        continue;
                    }
                    CHECKF(!memcmp(y, want[with_res][nrows], (size_t)nrows * nO * sizeof(float)),
                           "%s: nO %d nP %d ng %d, %d rows, residual %d: not the portable path's bits", kn_isa_name(isa),
                           nO, nP, ng, nrows, with_res);
                    free(y);
                }
        }
        kn_set_isa(kn_isa_best());
        for (int q = 0; q < 2; q++)
            for (int r = 0; r <= ROWS; r++) free(want[q][r]);
        free(parts), free(zero), free(b), free(G), free(Gb);
    }
    printf("  nO x nP x partials 96x3x3, 32x2x2, 48x3x5, 20x3x3; 1 to %d rows: every level = the portable sums\n", ROWS);
}

/* The later blocks' maxout/layernorm pass (t2v_maxout_ln_rows: the vector bodies take 8 rows
 * together and keep each row's maxima less the mean for the output pass) gives the portable
 * loop's bits on every level this CPU runs: any number of rows (a group of 8, two, and the rows
 * left), with the residual in place and without, widths of 16-lane vectors and of 8-lane ones,
 * 1 to 3 pieces; rows with a NaN (all NaN out), an infinity, -0.0 pieces whose maximum's sign
 * the order of the comparisons decides, and full-mantissa values, whose sums' bits the order of
 * the additions decides. */
TEST(t2v_maxout_pass_same_bits_on_every_path)
{
    static const struct { int nO, nP; } shapes[] = {{96, 3}, {32, 2}, {24, 3}, {16, 1}};
    enum { ROWS = 19 };
    int compared = 0;
    for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++) {
        const int nO = shapes[sh].nO, nP = shapes[sh].nP, len = nO * nP;
        unsigned seed = 41 + (unsigned)sh;
        float *pre0 = malloc((size_t)ROWS * len * sizeof(float)), *res0 = malloc((size_t)ROWS * nO * sizeof(float));
        float *b = malloc((size_t)len * sizeof(float)), *G = malloc(nO * sizeof(float)), *Gb = malloc(nO * sizeof(float));
        for (int k = 0; k < ROWS * len; k++) pre0[k] = rnd(&seed) * 3.1f * exp2f(6 * rnd(&seed)) + rnd(&seed) * 0.0137f;
        for (int k = 0; k < ROWS * nO; k++) res0[k] = rnd(&seed) * 1.7f;
        for (int k = 0; k < len; k++) b[k] = k % 4 ? rnd(&seed) * 0.1f : 0; /* zero biases: -0.0 reaches the maxima */
        for (int k = 0; k < nO; k++) G[k] = 1 + rnd(&seed), Gb[k] = rnd(&seed);
        pre0[3 * len + 2] = NAN;                                   /* row 3: a NaN piece */
        pre0[5 * len + 1] = INFINITY;                              /* row 5: an infinite piece */
        for (int k = 0; k < len; k += 4) pre0[9 * len + k] = -0.0f; /* row 9: -0.0 pieces, zero bias */
        for (int k = 0; k < len; k++) pre0[12 * len + k] = k % 2 ? 0.0f : -0.0f; /* row 12: all zeros */
        res0[7 * nO + 1] = NAN;                                    /* row 7: a NaN residual */
        float *want[2] = {0}; /* [residual]: the portable loop's rows */
        CHECK(kn_set_isa(KN_ISA_PORTABLE) == 0);
        for (int with_res = 0; with_res < 2; with_res++) {
            float *pre = malloc((size_t)ROWS * len * sizeof(float));
            want[with_res] = malloc((size_t)ROWS * nO * sizeof(float));
            memcpy(pre, pre0, (size_t)ROWS * len * sizeof(float));
            memcpy(want[with_res], res0, (size_t)ROWS * nO * sizeof(float));
            t2v_maxout_ln_rows(pre, (size_t)len, b, nO, nP, G, Gb, want[with_res], with_res ? want[with_res] : NULL,
                               (size_t)nO, ROWS);
            free(pre);
        }
        for (kn_isa isa = KN_ISA_AVX2; isa < KN_ISA_COUNT; isa++) {
            if (!test_use_isa(isa)) continue;
            for (int with_res = 0; with_res < 2; with_res++)
                for (int nrows = 1; nrows <= ROWS; nrows++) {
                    float *y = malloc((size_t)nrows * nO * sizeof(float)), *pre = malloc((size_t)nrows * len * sizeof(float));
                    memcpy(pre, pre0, (size_t)nrows * len * sizeof(float));
                    memcpy(y, res0, (size_t)nrows * nO * sizeof(float));
                    t2v_maxout_ln_rows(pre, (size_t)len, b, nO, nP, G, Gb, y, with_res ? y : NULL, (size_t)nO, (size_t)nrows);
                    CHECKF(!memcmp(y, want[with_res], (size_t)nrows * nO * sizeof(float)),
                           "%s: nO %d nP %d, %d rows, residual %d: not the portable loop's bits", kn_isa_name(isa), nO,
                           nP, nrows, with_res);
                    compared++;
                    free(y), free(pre);
                }
        }
        kn_set_isa(kn_isa_best());
        for (int k = 0; k < nO; k++) CHECK(isnan(want[0][3 * nO + k])); /* the NaN piece's row: all NaN */
        CHECK(isnan(want[1][7 * nO + 1]) && !isnan(want[1][7 * nO])); /* the NaN residual: its element */
        free(want[0]), free(want[1]), free(pre0), free(res0), free(b), free(G), free(Gb);
    }
    printf("  %d passes (nO x nP 96x3, 32x2, 24x3, 16x1; 1 to %d rows) = the portable loop's bits\n", compared, ROWS);
}

/* bf16 and int8 sum each window's per-word partials of the first block. A word's partials
 * found in the attached table (warm), computed beside a word cache hit (a table too small to
 * keep them), or computed without any cache (cold) give the same bits, on every
 * instruction-set level this CPU runs (those of the portable path without a cache); and a warm
 * table really skips the product: its words' partials are counted as found, not computed. */
TEST_T(t2v_partials_warm_cold_and_uncached_same_bits_on_every_path, 300)
{
    nerd_model *m = load_model();
    static const char *const files[] = {"golden/edge.jsonl", "golden/ewt.jsonl"};
    docs_attrs docs;
    load_docs(m, files, 2, &docs);
    enum { DOCS = 80 }; /* the edge cases, then ordinary sentences: the portable path is slow */
    const size_t all = docs.count;
    if (docs.count > DOCS) docs.count = DOCS;
    const t2v_net *t = &m->ner_t2v;
    CHECK(m->ner_t2v_packed.part.bf16 != NULL);
    float **portable[3] = {0};
    for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        for (int prec = KN_BF16; prec <= KN_INT8; prec++) {
            if (isa == KN_ISA_PORTABLE) {
                portable[prec] = calloc(docs.count, sizeof(float *));
                for (size_t i = 0; i < docs.count; i++)
                    portable[prec][i] = t2v_out(m, prec, NULL, docs.attrs[i], docs.n[i], NULL);
            }
            /* roomy: cold, then warm; tiny: the word cache hits, the partials are mostly computed */
            static const size_t part_slots[2] = {65536, 2}; /* pages touched only where used */
            for (int s = 0; s < 2; s++) {
                uint64_t cold_computed = 0;
                embed_cache *c = embed_cache_new(8192, 4, t->width);
                CHECK(embed_cache_attach(c, part_slots[s], (int)t2v_partial_row_floats(t)) == 0);
                for (int pass = 0; pass < 2; pass++) {
                    uint64_t tokens = 0, found = 0, computed = 0, word_hits = 0;
                    for (size_t i = 0; i < docs.count; i++) {
                        t2v_cache_use use;
                        float *got = t2v_out(m, prec, c, docs.attrs[i], docs.n[i], &use);
                        CHECKF(!memcmp(got, portable[prec][i], docs.n[i] * t->width * sizeof(float)),
                               "%s prec %d, partials table %zu, pass %d: doc %zu differs from the portable uncached path",
                               kn_isa_name(isa), prec, part_slots[s], pass, i);
                        free(got);
                        tokens += docs.n[i], found += use.part_hits, computed += use.part_misses;
                        word_hits += use.hits;
                    }
                    CHECK_EQ_INT(found + computed, tokens); /* every word's partials, one way or the other */
                    /* warm: the product only for the few words that share a slot with another */
                    if (s == 0 && pass == 1)
                        CHECKF(computed < tokens / 20 && computed < cold_computed / 4, "%llu of %llu computed, %llu cold",
                               (unsigned long long)computed, (unsigned long long)tokens, (unsigned long long)cold_computed);
                    if (pass == 0) cold_computed = computed;
                    if (s == 1 && pass == 1) CHECK(word_hits - found > tokens / 2); /* word found, partials computed */
                }
                embed_cache_free(c);
            }
        }
        printf("  %s: %zu docs, bf16 and int8: warm = cold = uncached = the portable path's bits\n", kn_isa_name(isa),
               docs.count);
    }
    kn_set_isa(kn_isa_best());
    for (int prec = 0; prec < 3; prec++) {
        for (size_t i = 0; portable[prec] && i < docs.count; i++) free(portable[prec][i]);
        free(portable[prec]);
    }
    docs.count = all;
    free_docs(&docs);
    nerd_model_free(m);
}

/* In bf16 mode the tok2vec a dependency parser reads computes its first block's partials in
 * fp32 (partials_precision), so that the parser's table can be bf16: the loader marks the
 * shared tok2vec (and not the ner's own), the mark survives the packing of the low-precision
 * copies, and the full pipeline's shared rows are those of fp32 partials: they equal the
 * tok2vec computed with fp32 partials, with and without a cache, and differ from bf16
 * partials' (so the test tells the two apart). int8 keeps bf16 partials in the documented order. */
TEST(bf16_partials_fp32_in_the_tok2vec_the_parser_reads)
{
    nerd_model *m = load_model();
    CHECK(m->full_t2v_packed.feeds_dep_parser && !m->ner_t2v_packed.feeds_dep_parser);
    CHECK(m->full_t2v_packed.part.bf16 != NULL);
    CHECK_EQ_INT(partials_precision(&m->full_t2v_packed, KN_BF16), KN_FP32);
    CHECK_EQ_INT(partials_precision(&m->full_t2v_packed, KN_INT8), KN_BF16_IN_ORDER);
    CHECK_EQ_INT(partials_precision(&m->ner_t2v_packed, KN_BF16), KN_BF16);
    CHECK_EQ_INT(dep_table_precision(KN_BF16), KN_BF16);
    t2v_packed bf16_partials = m->full_t2v_packed; /* the same weights, marked as no parser's */
    bf16_partials.feeds_dep_parser = 0;
    const t2v_net *t = &m->t2v;
    static const char *const texts[] = {
        "Paris is the capital and most populous city of France.",
        "The company said on Tuesday that its profits rose 12% in the third quarter, beating forecasts.",
        "I don't know; maybe we'll meet at Grand Central at 5:30pm?",
    };
    nerd_doc *d = nerd_doc_new();
    embed_cache *c = embed_cache_new(64, t->nattrs, t->width);
    CHECK(embed_cache_attach(c, 64, (int)t2v_partial_row_floats(t)) == 0);
    int differ = 0;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        CHECK(nerd_ner(m, d, texts[i], strlen(texts[i]), NERD_PIPELINE_FULL) == NERD_OK);
        CHECK(d->has_t2v_rows);
        const size_t n = d->ntoks, bytes = n * t->width * sizeof(float);
        float *fp32_parts = test_t2v_out(t, &m->full_t2v_packed, KN_BF16, NULL, d->t2v_attrs, n, NULL);
        float *bf16_parts = test_t2v_out(t, &bf16_partials, KN_BF16, NULL, d->t2v_attrs, n, NULL);
        CHECKF(!memcmp(d->t2v_rows, fp32_parts, bytes), "text %zu: the pipeline's shared rows are not fp32 partials'", i);
        for (int pass = 0; pass < 2; pass++) { /* cold, then warm: the cached partials are the fp32 ones */
            float *cached = test_t2v_out(t, &m->full_t2v_packed, KN_BF16, c, d->t2v_attrs, n, NULL);
            CHECKF(!memcmp(cached, fp32_parts, bytes), "text %zu, pass %d: cached rows differ", i, pass);
            free(cached);
        }
        differ += memcmp(fp32_parts, bf16_parts, bytes) != 0;
        free(fp32_parts), free(bf16_parts);
    }
    CHECKF(differ == (int)(sizeof texts / sizeof *texts), "only %d texts' rows depend on the partials' precision", differ);
    embed_cache_free(c);
    nerd_doc_free(d);
    nerd_model_free(m);
}

static void count_trace(void *ctx, const char *name, const float *x, size_t rows, size_t cols)
{
    (void)name, (void)x, (void)rows, (void)cols;
    ++*(int *)ctx;
}

/* Without a trace the encoder updates only the pad rows the body still reads through the later
 * blocks' windows; the traced pass (every padded row, as thinc computes them) gives the body
 * the same bits, in every precision. And the whole tok2vec on each instruction-set level this
 * CPU runs has the portable path's bits in each precision (int8 sums are exact; bf16 products
 * of two bf16 are exact in fp32; fp32 is one fma chain per element). AMX's bf16 tiles sum in
 * their own order: there, no farther from the portable bf16 output than that is from fp32's. */
static double worst_rel_diff(const float *x, const float *ref, size_t n, double worst)
{
    for (size_t k = 0; k < n; k++) {
        double d = fabs((double)x[k] - ref[k]) / (1 + fabs((double)ref[k]));
        worst = d > worst ? d : worst;
    }
    return worst;
}

TEST_T(tok2vec_same_bits_traced_untraced_and_on_every_path, 300)
{
    nerd_model *m = load_model();
    static const char *const files[] = {"golden/edge.jsonl", "golden/ewt.jsonl"};
    docs_attrs docs;
    load_docs(m, files, 2, &docs);
    enum { DOCS = 100 }; /* the edge cases, then ordinary sentences: the portable path is slow */
    const size_t all = docs.count;
    if (docs.count > DOCS) docs.count = DOCS;
    const t2v_net *t = &m->ner_t2v;
    CHECK(t->pad > 0 && t->depth > 1); /* there are pad rows to skip */
    static const char *names[] = {"fp32", "bf16", "int8"};
    float **portable[3] = {0};
    double bf16_rounding = 0; /* the portable bf16 output's largest difference from fp32's */
    for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        double bf16_order = 0; /* this level's bf16 from the portable path's, when not the same bits */
        for (int prec = KN_FP32; prec <= KN_INT8; prec++) {
            if (isa == KN_ISA_PORTABLE) portable[prec] = calloc(docs.count, sizeof(float *));
            for (size_t i = 0; i < docs.count; i++) {
                const size_t n = docs.n[i], bytes = n * t->width * sizeof(float);
                float *scratch = malloc(t2v_fast_scratch_floats(t, n) * sizeof(float));
                float *traced = malloc((n + 1) * t->width * sizeof(float));
                int calls = 0;
                t2v_fast_forward(t, &m->ner_t2v_packed, prec, NULL, docs.attrs[i], NULL, n, traced, scratch, NULL, count_trace,
                                 &calls);
                CHECK_EQ_INT(calls, t->depth + 2); /* embed_out, each block, tok2vec_out */
                float *plain = test_t2v_out(t, &m->ner_t2v_packed, prec, NULL, docs.attrs[i], n, NULL);
                CHECKF(!memcmp(plain, traced, bytes), "%s %s: doc %zu differs without the trace", kn_isa_name(isa),
                       names[prec], i);
                if (isa == KN_ISA_PORTABLE) {
                    portable[prec][i] = plain;
                    if (prec == KN_BF16)
                        bf16_rounding = worst_rel_diff(plain, portable[KN_FP32][i], n * t->width, bf16_rounding);
                } else if (prec == KN_BF16 && !kn_bf16_exact()) {
                    bf16_order = worst_rel_diff(plain, portable[prec][i], n * t->width, bf16_order);
                    free(plain);
                } else {
                    CHECKF(!memcmp(plain, portable[prec][i], bytes), "%s %s: doc %zu differs from the portable path",
                           kn_isa_name(isa), names[prec], i);
                    free(plain);
                }
                free(traced);
                free(scratch);
            }
        }
        if (!kn_bf16_exact()) {
            printf("  %s: bf16 %s differs from the portable bf16 output by at most %.2e x (1 + |x|); the portable "
                   "bf16 from fp32 by %.2e\n",
                   kn_isa_name(isa), kn_bf16_path(), bf16_order, bf16_rounding);
            CHECK(bf16_order <= bf16_rounding);
        }
        printf("  %s: %zu docs, fp32 %s, bf16 %s, int8 %s: traced = untraced = the portable path's bits%s\n",
               kn_isa_name(isa), docs.count, kn_f32_path(), kn_bf16_path(), kn_i8_path(),
               kn_bf16_exact() ? "" : " (bf16: traced = untraced)");
    }
    kn_set_isa(kn_isa_best());
    for (int prec = 0; prec < 3; prec++) {
        for (size_t i = 0; portable[prec] && i < docs.count; i++) free(portable[prec][i]);
        free(portable[prec]);
    }
    docs.count = all;
    free_docs(&docs);
    nerd_model_free(m);
}

TEST(embed_cache_bounded_and_counted)
{
    CHECK(embed_cache_new(0, 4, 96) == NULL);
    CHECK(embed_cache_new(100, 0, 96) == NULL && embed_cache_new(100, EMBED_CACHE_MAX_KEY + 1, 96) == NULL);
    embed_cache *c = embed_cache_new(100, 4, 4); /* rounds up to 128 slots */
    embed_cache_stats st;
    embed_cache_get_stats(c, &st);
    CHECK_EQ_INT(st.slots, 128);
    float row[4] = {1, 2, 3, 4}, got[4] = {0};
    uint64_t key[4] = {1, 2, 3, 4}, other[4] = {1, 2, 3, 5};
    CHECK(!embed_cache_get(c, key, 0, got));
    embed_cache_put(c, key, 0, row);
    CHECK(embed_cache_get(c, key, 0, got) && !memcmp(got, row, sizeof row));
    /* held: the row read in place; meanwhile the slot misses for every lookup and keeps its row
     * against stores (nobody waits); released, it is an ordinary entry again */
    CHECK(embed_cache_hold(c, other, 0) == NULL && embed_cache_hold(c, key, 1) == NULL); /* misses hold nothing */
    const float *held = embed_cache_hold(c, key, 0);
    CHECK(held && !memcmp(held, row, sizeof row));
    CHECK(embed_cache_hold(c, key, 0) == NULL && !embed_cache_get(c, key, 0, got));
    const float changed[4] = {9, 9, 9, 9};
    embed_cache_put(c, key, 0, changed); /* dropped: the slot is held */
    CHECK(!memcmp(held, row, sizeof row));
    embed_cache_release(c, key, 0);
    memset(got, 0, sizeof got);
    CHECK(embed_cache_get(c, key, 0, got) && !memcmp(got, row, sizeof row));
    CHECK(!embed_cache_get(c, other, 0, got)); /* a miss */
    embed_cache_put(c, key, 0, changed);
    CHECK(embed_cache_get(c, key, 0, got) && !memcmp(got, changed, sizeof changed));
    embed_cache_put(c, key, 0, row);
    CHECK(!embed_cache_get(c, key, 1, got));   /* another precision's row is another entry */
    CHECK(!embed_cache_get(c, other, 0, got)); /* one attribute differs: a miss */
    /* many more words than slots: the table keeps at most 128 and finds the ones it kept */
    size_t found = 0;
    for (uint64_t w = 0; w < 1000; w++) {
        uint64_t k[4] = {w, w * 3, w * 7, 11};
        float r[4] = {(float)w, 0, 0, 0};
        embed_cache_put(c, k, 0, r);
    }
    for (uint64_t w = 0; w < 1000; w++) {
        uint64_t k[4] = {w, w * 3, w * 7, 11};
        float r[4];
        if (embed_cache_get(c, k, 0, r)) {
            CHECK(r[0] == (float)w);
            found++;
        }
    }
    CHECK(found > 0 && found <= 128);
    embed_cache_count(c, 3, 5);
    embed_cache_get_stats(c, &st);
    CHECK(st.hits == 3 && st.misses == 5);
    embed_cache_free(c);
}

/* NERD_ISA at load: each level this CPU runs is used and named (nerd_isa, the paths); a level it
 * lacks, or an unknown name, fails the load with the reason. */
TEST(nerd_isa_forces_a_level_at_load)
{
    char err[512];
    setenv("NERD_ISA", "sse9", 1);
    CHECK(nerd_model_load(test_standin(), NULL, err, sizeof err) == NULL);
    CHECKF(strstr(err, "NERD_ISA=sse9: not one of portable, avx2, avxvnni, avx512, amx"), "%s", err);
    static const char *const fp32_path[KN_ISA_COUNT] = {"portable", "avx2", "avx2", "avx512", "avx512"};
    for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
        setenv("NERD_ISA", kn_isa_name(isa), 1);
        nerd_model *m = nerd_model_load(test_standin(), NULL, err, sizeof err);
        if (kn_isa_missing(isa)) {
            CHECKF(!m && strstr(err, kn_isa_missing(isa)), "NERD_ISA=%s on a CPU without it: %s", kn_isa_name(isa), err);
            printf("  SKIP %s: %s (the load refused it)\n", kn_isa_name(isa), kn_isa_missing(isa));
            continue;
        }
        CHECKF(m, "%s", err);
        CHECK_EQ_STR(nerd_isa(), kn_isa_name(isa));
        CHECK_EQ_STR(nerd_precision_kernel(NERD_PRECISION_FP32), fp32_path[isa]);
        printf("  NERD_ISA=%s: fp32 %s, bf16 %s, int8 %s\n", nerd_isa(), nerd_precision_kernel(NERD_PRECISION_FP32),
               nerd_precision_kernel(NERD_PRECISION_BF16), nerd_precision_kernel(NERD_PRECISION_INT8));
        nerd_model_free(m);
    }
    unsetenv("NERD_ISA");
}

/* The amx level follows what Linux reports of the CPU (/proc/cpuinfo's flags): without AMX-TILE
 * and AMX-INT8 it is refused with that reason and is not the best level; with them it runs
 * unless the OS withholds the tile state, and then the reason names XCR0 or arch_prctl. */
TEST(amx_level_follows_the_cpu_flags)
{
    size_t len;
    char *info = test_read_file("/proc/cpuinfo", &len);
    if (!info) {
        printf("  SKIP: no /proc/cpuinfo\n");
        return;
    }
    char *flags = strstr(info, "\nflags");
    CHECK(flags);
    flags[strcspn(flags + 1, "\n") + 1] = 0; /* the first CPU's flags line */
    const int tile = strstr(flags, " amx_tile") != NULL, int8 = strstr(flags, " amx_int8") != NULL;
    const int bf16 = strstr(flags, " amx_bf16") != NULL;
    const char *why = kn_isa_missing(KN_ISA_AMX);
    printf("  cpuinfo: amx_tile %d, amx_int8 %d, amx_bf16 %d; amx level: %s\n", tile, int8, bf16, why ? why : "runs");
    if (kn_isa_missing(KN_ISA_AVX512)) CHECK(why != NULL);
    else if (!tile || !int8) CHECK(why && strstr(why, "CPU lacks AMX-TILE/AMX-INT8"));
    else if (why) CHECK(strstr(why, "XCR0") || strstr(why, "arch_prctl"));
    const kn_isa before = kn_isa_current();
    if (why) {
        CHECK(kn_isa_best() < KN_ISA_AMX);
        CHECK(kn_set_isa(KN_ISA_AMX) == -1 && kn_isa_current() == before);
    } else {
        CHECK(kn_isa_best() == KN_ISA_AMX && kn_set_isa(KN_ISA_AMX) == 0);
        CHECK_EQ_STR(kn_i8_path(), "amxint8");
        CHECK_EQ_STR(kn_f32_path(), "avx512");
        CHECK((strcmp(kn_bf16_path(), "amxbf16") == 0) == bf16);
        CHECK(kn_bf16_exact() == !bf16);
        kn_set_isa(before);
    }
    free(info);
}
