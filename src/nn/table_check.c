/* table_check.c - the bound of table_check.h: whether a step scored from a bf16 table chose
 * what the fp32 table would have. Every function is plain C (a maximum's result does not depend
 * on its order), so the check decides the same on every instruction-set level. */
#include "nn/table_check.h"

#include "nn/kernels.h"
#include "transition/choose.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_ROUNDOFF 0x1p-24     /* fp32, round to nearest */
#define BOUND_SLACK 0x1p-10       /* the bound's own fp32 sums (at most a few hundred terms) */
#define SUBNORMAL_SLACK 0x1p-100  /* bf16 products flushed below 2^-126, subnormal sums: absolute */
#define BF16_RELATIVE 0x1p-8      /* |x^| <= (1 + 2^-8) |x| (round to nearest with 8 bits) */

static double gamma_of(int n) { return n * UNIT_ROUNDOFF / (1 - n * UNIT_ROUNDOFF); }

static float bf16_value(float x)
{
    const uint32_t u = (uint32_t)kn_to_bf16(x) << 16;
    float y;
    memcpy(&y, &u, sizeof y);
    return y;
}

void table_check_free(table_check *tc)
{
    free(tc->col_a);
    free(tc->col_c);
    free(tc->max_a);
    free(tc->max_c);
    free(tc->fixed);
    free(tc->upper_abs);
    free(tc->upper_l1);
    free(tc->upper_b_abs);
    memset(tc, 0, sizeof *tc);
}

/* A and C of each column (table_check.h), and each slot's largest. */
static void column_bounds(table_check *tc, const parser_net *p)
{
    const int nF = p->nF, nO = p->nO, nP = p->nP, nI = p->nI, slot = nO * nP;
    const double gk = gamma_of(nI + 1), gs = gamma_of(nF + 1); /* tiles may add a partial sum more */
    for (int f = 0; f < nF; f++)
        for (int o = 0; o < nO; o++)
            for (int q = 0; q < nP; q++) {
                const float *w = p->lower_W + (((size_t)f * nO + o) * nP + q) * nI;
                double w2 = 0, r2 = 0, d2 = 0;
                for (int k = 0; k < nI; k++) {
                    const double r = bf16_value(w[k]);
                    w2 += (double)w[k] * w[k], r2 += r * r, d2 += (r - w[k]) * (r - w[k]);
                }
                w2 = sqrt(w2), r2 = sqrt(r2), d2 = sqrt(d2);
                /* the rows' magnitudes (sum |x^ W^| <= (1 + 2^-8) n ||W^||_2, sum |x W| <=
                 * n ||W||_2) enter the table's rounding and the step's sum of the rows */
                const double a = r2 * (1 + gk) * (1 + gs);
                const double c = d2 + (gk + 2 * gs) * (1 + 2 * BF16_RELATIVE) * (r2 + w2);
                const size_t at = (size_t)f * slot + (size_t)q * nO + o; /* piece-major */
                tc->col_a[at] = (float)(a * (1 + BOUND_SLACK));
                tc->col_c[at] = (float)(c * (1 + BOUND_SLACK));
                if (tc->col_a[at] > tc->max_a[f]) tc->max_a[f] = tc->col_a[at];
                if (tc->col_c[at] > tc->max_c[f]) tc->max_c[f] = tc->col_c[at];
            }
    tc->max_fixed = 0;
    for (int o = 0; o < nO; o++)
        for (int q = 0; q < nP; q++) {
            double s = fabs(p->lower_b[o * nP + q]);
            for (int f = 0; f < nF; f++) s += fabs(p->lower_pad[((size_t)f * nO + o) * nP + q]);
            const float v = (float)((2 * gs * s + (nF + 1) * SUBNORMAL_SLACK) * (1 + BOUND_SLACK));
            tc->fixed[q * nO + o] = v;
            if (v > tc->max_fixed) tc->max_fixed = v;
        }
}

int table_check_init(table_check *tc, const parser_net *p, float trust)
{
    memset(tc, 0, sizeof *tc);
    if (p->nI % 2) return -1;
    const int nF = p->nF, nO = p->nO, slot = nO * p->nP, nc = p->nclasses;
    tc->nF = nF, tc->nO = nO, tc->nP = p->nP, tc->nclasses = nc, tc->trust = trust;
    tc->upper_gamma = (float)gamma_of(nO + 1);
    tc->col_a = malloc((size_t)nF * slot * sizeof(float));
    tc->col_c = malloc((size_t)nF * slot * sizeof(float));
    tc->max_a = calloc((size_t)nF, sizeof(float));
    tc->max_c = calloc((size_t)nF, sizeof(float));
    tc->fixed = malloc((size_t)slot * sizeof(float));
    if (!tc->col_a || !tc->col_c || !tc->max_a || !tc->max_c || !tc->fixed) goto oom;
    column_bounds(tc, p);
    if (p->upper_W) {
        tc->upper_abs = malloc((size_t)nc * nO * sizeof(float));
        tc->upper_l1 = malloc((size_t)nc * sizeof(float));
        tc->upper_b_abs = malloc((size_t)nc * sizeof(float));
        if (!tc->upper_abs || !tc->upper_l1 || !tc->upper_b_abs) goto oom;
        for (int c = 0; c < nc; c++) {
            double s = 0;
            for (int o = 0; o < nO; o++) s += tc->upper_abs[(size_t)c * nO + o] = fabsf(p->upper_W[(size_t)c * nO + o]);
            tc->upper_l1[c] = (float)(s * (1 + BOUND_SLACK));
            tc->upper_b_abs[c] = fabsf(p->upper_b[c]);
            if (tc->upper_l1[c] > tc->max_upper_l1) tc->max_upper_l1 = tc->upper_l1[c];
            if (tc->upper_b_abs[c] > tc->max_upper_b_abs) tc->max_upper_b_abs = tc->upper_b_abs[c];
        }
    }
    return 0;
oom:
    table_check_free(tc);
    return -1;
}

/* x rounded to bf16 (round to nearest even, as kn_to_bf16; a NaN's rounding does not matter:
 * its d is NaN either way) and back. */
static inline uint32_t bf16_bits(uint32_t u) { return (u + 0x7fffu + ((u >> 16) & 1)) & 0xffff0000u; }

/* The sums of squares run in TOKEN_LANES interleaved lanes (lane = k mod 16) added in lane
 * order at the end, on every path: the same bits with or without AVX-512. */
#define TOKEN_LANES 16

static table_check_token token_of_lanes(const float *e2, const float *n2)
{
    float e = 0, n = 0;
    for (int l = 0; l < TOKEN_LANES; l++) e += e2[l], n += n2[l];
    return (table_check_token){sqrtf(e) * (float)(1 + BOUND_SLACK), sqrtf(n) * (float)(1 + BOUND_SLACK)};
}

static table_check_token token_portable(const float *x, int nI)
{
    float e2[TOKEN_LANES] = {0}, n2[TOKEN_LANES] = {0};
    for (int k = 0; k < nI; k++) {
        uint32_t u;
        float r;
        memcpy(&u, x + k, sizeof u);
        u = bf16_bits(u);
        memcpy(&r, &u, sizeof r);
        const float d = r - x[k]; /* exact: x^ and x are within a factor 2 */
        e2[k % TOKEN_LANES] += d * d, n2[k % TOKEN_LANES] += x[k] * x[k];
    }
    return token_of_lanes(e2, n2);
}

#if defined(__x86_64__)
#include <immintrin.h>
#define TC_512 __attribute__((target("avx2,avx512f,avx512dq")))

TC_512 static table_check_token token_512(const float *x, int nI)
{
    __m512 e2 = _mm512_setzero_ps(), n2 = _mm512_setzero_ps();
    const __m512i round = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), top = _mm512_set1_epi32((int)0xffff0000u);
    for (int k = 0; k < nI; k += 16) {
        const __m512 v = _mm512_loadu_ps(x + k);
        const __m512i u = _mm512_castps_si512(v);
        const __m512i up = _mm512_add_epi32(_mm512_add_epi32(u, round), _mm512_and_si512(_mm512_srli_epi32(u, 16), one));
        const __m512 d = _mm512_sub_ps(_mm512_castsi512_ps(_mm512_and_si512(up, top)), v);
        e2 = _mm512_add_ps(e2, _mm512_mul_ps(d, d)); /* no fma: the portable loop's roundings */
        n2 = _mm512_add_ps(n2, _mm512_mul_ps(v, v));
    }
    float e[16], n[16];
    _mm512_storeu_ps(e, e2);
    _mm512_storeu_ps(n, n2);
    return token_of_lanes(e, n);
}

/* The largest |x[i]| of n (n a multiple of 16); *nan when one is NaN. */
TC_512 static float max_abs_512(const float *x, int n, int *nan)
{
    __m512 top = _mm512_setzero_ps();
    __mmask16 unordered = 0;
    for (int i = 0; i < n; i += 16) {
        const __m512 v = _mm512_abs_ps(_mm512_loadu_ps(x + i));
        unordered |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        top = _mm512_max_ps(top, v);
    }
    *nan = unordered != 0;
    return _mm512_reduce_max_ps(top);
}

/* The largest valid score but best's, 16 classes a block (a block never straddles two words of
 * the bitset); *nan when one of them is NaN. */
TC_512 static float runner_up_512(const float *scores, const uint64_t *valid, int nclasses, int best, int *nan)
{
    __m512 top = _mm512_set1_ps(-INFINITY);
    __mmask16 unordered = 0;
    for (int c = 0; c < nclasses; c += 16) {
        __mmask16 in = (__mmask16)(valid[c >> 6] >> (c & 63));
        if (best >= c && best < c + 16) in &= (__mmask16)~(1u << (best - c));
        const __m512 v = _mm512_maskz_loadu_ps(in, scores + c); /* no fault past nclasses */
        unordered |= _mm512_mask_cmp_ps_mask(in, v, v, _CMP_UNORD_Q);
        top = _mm512_mask_max_ps(top, in, top, v);
    }
    *nan = unordered != 0;
    return _mm512_reduce_max_ps(top);
}

/* dh[k] += e a[k] + n c[k] (a product, a product, two sums: the portable loop's roundings). */
TC_512 static void add_bounds_512(float *dh, const float *a, const float *c, float e, float n, int slot)
{
    const __m512 ev = _mm512_set1_ps(e), nv = _mm512_set1_ps(n);
    for (int k = 0; k < slot; k += 16)
        _mm512_storeu_ps(dh + k, _mm512_add_ps(_mm512_loadu_ps(dh + k), _mm512_add_ps(_mm512_mul_ps(ev, _mm512_loadu_ps(a + k)),
                                                                                         _mm512_mul_ps(nv, _mm512_loadu_ps(c + k)))));
}
#endif

static int wide(int n) /* 1 when the AVX-512 helpers take n elements */
{
#if defined(__x86_64__)
    return n % 16 == 0 && kn_isa_current() >= KN_ISA_AVX512;
#else
    (void)n;
    return 0;
#endif
}

void table_check_tokens(const parser_net *p, const float *proj, size_t n, table_check_token *out)
{
    for (size_t i = 0; i < n; i++) {
        const float *x = proj + i * p->nI;
#if defined(__x86_64__)
        if (wide(p->nI)) {
            out[i] = token_512(x, p->nI);
            continue;
        }
#endif
        out[i] = token_portable(x, p->nI);
    }
}

static float max_abs(const float *x, int n, int *nan)
{
#if defined(__x86_64__)
    if (wide(n)) return max_abs_512(x, n, nan);
#endif
    float top = 0;
    *nan = 0;
    for (int i = 0; i < n; i++) {
        *nan |= x[i] != x[i];
        top = fabsf(x[i]) > top ? fabsf(x[i]) : top;
    }
    return top;
}

/* The largest score of the valid classes other than best (-INFINITY when there is none);
 * *nan when one of them is NaN. */
static float runner_up(const float *scores, const uint64_t *valid, int nclasses, int best, int *nan)
{
#if defined(__x86_64__)
    if (wide(16)) return runner_up_512(scores, valid, nclasses, best, nan);
#endif
    float top = -INFINITY;
    *nan = 0;
    for (size_t w = 0; w < CHOOSE_WORDS(nclasses); w++)
        for (uint64_t bits = valid[w]; bits; bits &= bits - 1) {
            const int c = (int)(w * 64) + __builtin_ctzll(bits);
            if (c == best) continue;
            *nan |= scores[c] != scores[c];
            top = scores[c] > top ? scores[c] : top;
        }
    return top;
}

static void add_bounds(float *dh, const float *a, const float *c, float e, float n, int slot)
{
#if defined(__x86_64__)
    if (wide(slot)) {
        add_bounds_512(dh, a, c, e, n, slot);
        return;
    }
#endif
    for (int k = 0; k < slot; k++) dh[k] += e * a[k] + n * c[k];
}

float table_check_weight(const table_check *tc, int f, const table_check_token *tok)
{
    return tok->e * tc->max_a[f] + tok->n * tc->max_c[f];
}

/* Class c's score bound (any class's when c < 0) from its units' bounds dhid, or from their
 * largest, dmax, alone when dhid is NULL; hmax the largest |hidden unit| of the bf16 step. */
static float score_bound(const table_check *tc, int c, const float *dhid, float dmax, float hmax)
{
    if (!tc->upper_abs) return c >= 0 && dhid ? dhid[c] : dmax; /* the maxout's units are the scores */
    const float l1 = c >= 0 ? tc->upper_l1[c] : tc->max_upper_l1, b = c >= 0 ? tc->upper_b_abs[c] : tc->max_upper_b_abs;
    float s = 0;
    if (c >= 0 && dhid) {
        const float *u = tc->upper_abs + (size_t)c * tc->nO;
        for (int o = 0; o < tc->nO; o++) s += u[o] * dhid[o];
    } else {
        s = l1 * dmax;
    }
    /* both products' rounding: the fp32 step's units are within dmax of the bf16 step's */
    const float round = tc->upper_gamma * (2 * b + l1 * (2 * hmax + dmax));
    return (s + round) * (float)(1 + BOUND_SLACK) + (float)SUBNORMAL_SLACK;
}

/* The margin best - c, less the slack of its computation in double (exact to 2^-53). */
static double margin_of(const float *scores, int best, int c) { return ((double)scores[best] - scores[c]) * (1 - 0x1p-40); }

/* Per hidden unit: each piece's bound, the unit's the largest of its pieces'; the largest. */
static float unit_bounds(const table_check *tc, const table_check_token *const *toks, float *dhid)
{
    const int nF = tc->nF, nO = tc->nO, nP = tc->nP, slot = nO * nP;
    float dh[1024]; /* parser_net_bind refuses nO*nP > 1024 */
    memcpy(dh, tc->fixed, (size_t)slot * sizeof(float));
    for (int f = 0; f < nF; f++) {
        if (!toks[f]) continue;
        add_bounds(dh, tc->col_a + (size_t)f * slot, tc->col_c + (size_t)f * slot, toks[f]->e, toks[f]->n, slot);
    }
    float dmax = 0;
    for (int o = 0; o < nO; o++) {
        float m = dh[o];
        for (int q = 1; q < nP; q++) m = dh[q * nO + o] > m ? dh[q * nO + o] : m;
        dhid[o] = m * (float)(1 + BOUND_SLACK);
        dmax = dhid[o] > dmax ? dhid[o] : dmax;
    }
    return dmax;
}

double table_check_ratio(const table_check *tc, const table_check_token *const *toks, const float *hidden,
                         const float *scores, const uint64_t *valid, int best, table_check_stats *stats)
{
    if (stats) stats->steps++;
    if (best < 0) return INFINITY; /* no valid class: no decision to differ */
    int nan_score, nan_unit;
    const float second = runner_up(scores, valid, tc->nclasses, best, &nan_score);
    if (second == -INFINITY && !nan_score) return INFINITY;
    const float hmax = max_abs(hidden, tc->nO, &nan_unit);
    if (nan_score || nan_unit || !isfinite(scores[best]) || !isfinite(second) || !isfinite(hmax)) return 0;
    /* coarse: every unit within the sum of each feature's largest column bound, every class
     * within the largest class bound */
    float dmax = tc->max_fixed;
    for (int f = 0; f < tc->nF; f++)
        if (toks[f]) dmax += table_check_weight(tc, f, toks[f]);
    dmax *= (float)(1 + BOUND_SLACK);
    const double others = score_bound(tc, -1, NULL, dmax, hmax);
    const double coarse = (double)score_bound(tc, best, NULL, dmax, hmax) + others;
    double ratio = ((double)scores[best] - second) * (1 - 0x1p-40) * tc->trust / coarse;
    if (ratio > 1) {
        if (stats) stats->coarse_settled++;
        return ratio;
    }
    float dhid[1024];
    dmax = unit_bounds(tc, toks, dhid);
    const double db = score_bound(tc, best, dhid, dmax, hmax), any = score_bound(tc, -1, NULL, dmax, hmax);
    ratio = INFINITY;
    for (size_t w = 0; w < CHOOSE_WORDS(tc->nclasses); w++)
        for (uint64_t bits = valid[w]; bits; bits &= bits - 1) {
            const int c = (int)(w * 64) + __builtin_ctzll(bits);
            if (c == best) continue;
            const double margin = margin_of(scores, best, c) * tc->trust;
            if (margin > db + any) continue; /* its own bound is no larger than any class's */
            const double r = margin / (db + score_bound(tc, c, dhid, dmax, hmax));
            ratio = r < ratio ? r : ratio;
        }
    if (stats) stats->unit_settled += ratio > 1, stats->unsettled += !(ratio > 1);
    return ratio;
}
