#include "nn/t2v_fast.h"
#include "text/hash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows (g, o, p) of K values -> rows (g, p, o): maxout pieces become contiguous vectors. */
static float *piece_major(const float *W, int groups, int nO, int nP, int K)
{
    float *out = malloc((size_t)groups * nO * nP * K * sizeof(float));
    if (!out) return NULL;
    for (int g = 0; g < groups; g++)
        for (int o = 0; o < nO; o++)
            for (int p = 0; p < nP; p++)
                memcpy(out + (((size_t)g * nP + p) * nO + o) * K, W + (((size_t)g * nO + o) * nP + p) * K,
                       (size_t)K * sizeof(float));
    return out;
}

static int pack_maxout(kn_weights *kw, float **bias, const t2v_block *blk, int nO, int nP, int nI, int lowp)
{
    float *W = piece_major(blk->W, 1, nO, nP, nI);
    *bias = piece_major(blk->b, 1, nO, nP, 1);
    int rc = W && *bias ? kn_pack(kw, W, nO * nP, nI, lowp) : -1;
    free(W);
    return rc;
}

static int pack_pad_rows(t2v_packed *pk, const t2v_net *net);

/* pk->part from block 0's piece-major weights (encN rows of groups x width): group g of every
 * row, stacked group after group, with a bf16 copy (see uses_partials); packed when a fast
 * mode is. bf16 pairs k: an odd width has none, and its fast modes multiply whole windows. */
static int pack_partials(t2v_packed *pk, const t2v_net *net)
{
    const int w = net->width, groups = 2 * net->window + 1, encN = w * net->pieces;
    if (!(pk->lowp & (KN_PACK_BF16 | KN_PACK_INT8)) || w % 2) return 0;
    float *W = piece_major(net->block[0].W, 1, w, net->pieces, groups * w);
    float *split = malloc((size_t)groups * encN * w * sizeof(float));
    int rc = W && split && (pk->part_zero = calloc((size_t)encN, sizeof(float))) ? 0 : -1;
    for (int g = 0; !rc && g < groups; g++)
        for (int o = 0; o < encN; o++)
            memcpy(split + ((size_t)g * encN + o) * w, W + (size_t)o * groups * w + (size_t)g * w, (size_t)w * sizeof(float));
    if (!rc) rc = kn_pack(&pk->part, split, groups * encN, w, KN_PACK_BF16);
    free(W);
    free(split);
    return rc;
}

/* Whether precision prec's first block sums partials (else it multiplies whole windows). The
 * fast modes compute the partials in bf16 (fp32 accumulation), or fp32 where partials_precision
 * says: in int8 bf16 ones agree better with spaCy than 8-bit ones, and cost half of fp32's on
 * the words the attached table lacks (docs/design.md, "The first block's partials"). */
static int uses_partials(const t2v_packed *pk, kn_precision prec) { return prec != KN_FP32 && pk->part.bf16; }

int t2v_pack(t2v_packed *pk, const t2v_net *net, int lowp)
{
    memset(pk, 0, sizeof *pk);
    pk->lowp = lowp;
    /* int8 computes the mixing layer in fp32 (t2v_fast_forward): no int8 copy of it */
    int rc = pack_maxout(&pk->mix, &pk->mix_b, &net->mix, net->width, net->mix_pieces, net->mix_nI,
                         lowp & ~KN_PACK_INT8);
    if (!rc && !(pk->zero_b = calloc((size_t)net->width, sizeof(float)))) rc = -1;
    if (!rc && net->vt) rc = kn_pack(&pk->sv, net->sv_W, net->width, net->sv_nM, 0);
    for (int d = 0; !rc && d < net->depth; d++)
        rc = pack_maxout(&pk->block[d], &pk->block_b[d], &net->block[d], net->width, net->pieces,
                         (2 * net->window + 1) * net->width, lowp);
    if (!rc && net->depth > 0) rc = pack_partials(pk, net);
    if (!rc && net->depth > 0) rc = pack_pad_rows(pk, net);
    if (rc) t2v_packed_free(pk);
    return rc;
}

void t2v_packed_free(t2v_packed *pk)
{
    kn_free(&pk->mix);
    kn_free(&pk->sv);
    free(pk->mix_b);
    free(pk->zero_b);
    kn_free(&pk->part);
    free(pk->part_zero);
    for (int q = 0; q < 3; q++) free(pk->pad_row[q]);
    for (int d = 0; d < T2V_MAX_DEPTH; d++) {
        kn_free(&pk->block[d]);
        free(pk->block_b[d]);
    }
    memset(pk, 0, sizeof *pk);
}

int parser_pack(parser_packed *pk, const parser_net *p)
{
    memset(pk, 0, sizeof *pk);
    float *lw = piece_major(p->lower_W, p->nF, p->nO, p->nP, p->nI);
    pk->lower_b = piece_major(p->lower_b, 1, p->nO, p->nP, 1);
    pk->lower_pad = piece_major(p->lower_pad, p->nF, p->nO, p->nP, 1);
    /* the fast modes' copies too (the projection and the table in bf16 or int8), bf16 where k
     * pairs up */
    const int lower_lowp = KN_PACK_INT8 | (p->nI % 2 ? 0 : KN_PACK_BF16);
    const int proj_lowp = KN_PACK_INT8 | (p->t2v_width % 2 ? 0 : KN_PACK_BF16);
    /* int8 mode's upper layer in bf16 pairs (kn_row_bf16_chains) where they fit; else fp32 chains */
    const int upper_lowp = p->nO % 2 || p->nO > KN_ROW_BF16_MAX_K ? 0 : KN_PACK_BF16;
    int rc = lw && pk->lower_b && pk->lower_pad &&
                     !kn_pack(&pk->lower, lw, p->nF * p->nO * p->nP, p->nI, lower_lowp) &&
                     !kn_pack(&pk->proj, p->proj_W, p->nI, p->t2v_width, proj_lowp) &&
                     (!p->upper_W || !kn_pack(&pk->upper, p->upper_W, p->nclasses, p->nO, upper_lowp))
                 ? 0
                 : -1;
    free(lw);
    if (rc) parser_packed_free(pk);
    return rc;
}

void parser_packed_free(parser_packed *pk)
{
    kn_free(&pk->proj);
    kn_free(&pk->lower);
    kn_free(&pk->upper);
    free(pk->lower_b);
    free(pk->lower_pad);
    memset(pk, 0, sizeof *pk);
}

/* The floats a product's low-precision copy of its input takes: bf16 copies of the mixing
 * layer's input or of the guarded sequence, or int8 rows (row scales, row zero points, then
 * M x K4 bytes in kn_quantize_rows' layout, the level's) of the encoder's windows. */
static size_t i8_floats(size_t rows, int K) { return 2 * rows + (rows * (size_t)((K + 3) / 4 * 4) + 3) / 4; }

static size_t lowp_floats(const t2v_net *net, size_t n)
{
    size_t rows = n + 2 * (size_t)net->pad;
    size_t a = n * (size_t)net->mix_nI, b = (rows + 2 * (size_t)net->window) * (size_t)net->width, bf = ((a > b ? a : b) + 1) / 2;
    size_t i8 = i8_floats(rows, (2 * net->window + 1) * net->width);
    return bf > i8 ? bf : i8;
}

static size_t pre_floats(const t2v_net *net, size_t n)
{
    size_t a = n * (size_t)net->width * net->mix_pieces, b = (n + 2 * (size_t)net->pad) * (size_t)net->width * net->pieces;
    return a > b ? a : b;
}

size_t t2v_partial_row_floats(const t2v_net *net)
{
    return (size_t)net->width * (1 + (size_t)(2 * net->window + 1) * net->pieces);
}

size_t t2v_fast_scratch_floats(const t2v_net *net, size_t n)
{
    size_t guarded = (n + 2 * (size_t)net->pad + 2 * (size_t)net->window) * (size_t)net->width;
    return guarded + n * (size_t)net->mix_nI + pre_floats(net, n) + lowp_floats(net, n) + n /* miss list */ +
           n * (size_t)net->sv_nM + n /* static vectors of the misses, their unknown flags */ +
           n * t2v_partial_row_floats(net) + n /* the fast modes' computed partials, their words */ +
           2 * n + 4 * n /* first occurrences, the words to look up, the table finding them (repeats_of) */ +
           2 * n + 2 /* where each word's partials are (pointers) */ + 16;
}

/* A word's lookup outcome (t2v_fast_forward), kept as -1 - outcome in same_as for a first
 * occurrence, so that its repeats count as it did. */
enum { FOUND_PARTIALS, FOUND_ROW, COMPUTED };

/* Releases the attached table's slots whose partials block 0 read in place: the words found
 * there (first occurrences; their repeats read the same slot). */
static void release_found_partials(embed_cache *wide, const uint64_t *attrs, int na, uint32_t tag, const int *same_as,
                                   size_t n)
{
    for (size_t i = 0; wide && i < n; i++)
        if (same_as[i] == -1 - FOUND_PARTIALS) embed_cache_release(wide, attrs + i * na, tag);
}

/* same_as[i]: the index of the first word of the document with word i's na attributes (i for a
 * first occurrence); first[0 .. returned count): the first occurrences in order. table: a
 * power of two >= 2n ints (scratch): open addressing on the attributes, which are hashes. */
static size_t repeats_of(const uint64_t *attrs, int na, size_t n, int *same_as, int *first, int *table)
{
    size_t size = 1, nfirst = 0;
    while (size < 2 * n) size *= 2;
    memset(table, 0xff, size * sizeof *table); /* -1: empty */
    for (size_t i = 0; i < n; i++) {
        const uint64_t *key = attrs + i * na;
        uint64_t h = 0;
        for (int a = 0; a < na; a++) h = (h ^ key[a]) * 0x9E3779B97F4A7C15ull;
        size_t s = (size_t)(h ^ h >> 29) & (size - 1);
        for (;; s = (s + 1) & (size - 1)) { /* at most n of the 2n slots are taken: ends */
            if (table[s] < 0) {
                table[s] = (int)i;
                same_as[i] = (int)i;
                first[nfirst++] = (int)i;
                break;
            }
            const uint64_t *seen = attrs + (size_t)table[s] * na;
            int same = 1;
            for (int a = 0; same && a < na; a++) same = seen[a] == key[a]; /* a few words: no libc call */
            if (same) {
                same_as[i] = table[s];
                break;
            }
        }
    }
    return nfirst;
}

/* y = LayerNorm(maxout(pre + b)), or y += that when add; pre and b piece-major. The sums run
 * over 8 lanes in a fixed order, so the AVX2 body and the portable one give the same bits. */
static float sum8(const float p[8]) { return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7])); }

static void maxout_ln_c(const float *pre, const float *b, int nO, int nP, const float *G, const float *Gb,
                        const float *res, float *y)
{
    float m[4096], part[8] = {0}, vpart[8] = {0}; /* nO <= 4096: checked at load (width) */
    for (int o = 0; o < nO; o++) {
        m[o] = pre[o] + b[o];
        for (int p = 1; p < nP; p++) {
            float v = pre[p * nO + o] + b[p * nO + o];
            m[o] = v > m[o] ? v : m[o];
        }
        part[o % 8] += m[o];
    }
    float mean = sum8(part) / nO;
    for (int o = 0; o < nO; o++) vpart[o % 8] += (m[o] - mean) * (m[o] - mean);
    float inv = 1.0f / sqrtf(sum8(vpart) / nO + 1e-8f);
    for (int o = 0; o < nO; o++) {
        float v = (m[o] - mean) * inv * G[o] + Gb[o];
        y[o] = res ? res[o] + v : v;
    }
}

#define MAXOUT_ROWS 8 /* rows per vector pass (maxout_ln_avx2, maxout_ln_512) */
#if defined(__x86_64__)
#include <immintrin.h>
/* One body, W lanes at a time: AVX2 (8) and AVX-512 (16) for the elementwise work; the sums
 * always add 8-lane vectors in maxout_ln_c's order (lanes o % 8, o ascending: ADD8 adds a
 * 16-lane vector's low half, then its high half), so every body gives maxout_ln_c's bits.
 * A row's pass is latency-bound (the lane sums are one chain of additions, then a division and
 * a square root), so the body takes MAXOUT_ROWS rows together, each pass stepping every row
 * before the next columns: the rows' chains overlap, and each row's operations and their order
 * are still maxout_ln_c's. 8 rows rather than 4 (on the Zen 5 machine a row of 96 x 3 right
 * after its int8 product 20.7 ns instead of 22.0 on AVX-512, 24 instead of 29 on AVX2; 12 rows
 * were slower again). A row's maxima overwrite its first piece in pre (scratch), then its
 * maxima less the mean, which the variance pass computes and the output pass reads back instead
 * of subtracting again (the same value).
 * With src (block 0 in the fast modes), row r's pre-activation is not read from pre but summed
 * on the fly from its window's ng partials src[r * ng + g], left to right (((s0 + s1) + s2), as
 * sum_partials adds them), before the bias: the same additions as sum_partials then this pass,
 * without writing the pre rows and reading them back; only the maxima go to pre. Those maxima
 * are taken a row at a time, the row's three partial rows' pointers held in registers (across
 * rows they were loaded again for every vector: 44 ns a row instead of 47 with 4 rows, and 8
 * rows then 41, on AVX-512 after an int8 product; AVX2 47 against 51). */
/* sum8 of an 8-lane vector without storing it: each step adds the same operands in the same
 * order as sum8 (lane 0 holds p0 + p1, then (p0 + p1) + (p2 + p3), then that + the high half's
 * sum), so the same bits. */
__attribute__((target("avx2"))) static inline float sum8_lanes(__m256 p)
{
    const __m256 pairs = _mm256_add_ps(p, _mm256_permute_ps(p, 0xB1));          /* lane 2j: p2j + p2j+1 */
    const __m256 quads = _mm256_add_ps(pairs, _mm256_permute_ps(pairs, 0x4E));  /* lane 4j: its four */
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(quads), _mm256_extractf128_ps(quads, 1)));
}

#define MAXOUT_LN(name, features, VEC, W, P, ADD8)                                                  \
    __attribute__((target(features), always_inline)) static inline VEC name##_pre(                  \
        const float *x, const float *const *src, const int ng, size_t at)                           \
    {                                                                                               \
        if (!src) return P##_loadu_ps(x + at);                                                      \
        VEC s = P##_loadu_ps(src[0] + at);                                                          \
        for (int g = 1; g < ng; g++) s = P##_add_ps(s, P##_loadu_ps(src[g] + at));                  \
        return s;                                                                                   \
    }                                                                                               \
    __attribute__((target(features), always_inline)) static inline void name##_body(                \
        float *restrict pre, size_t ldp, const float *const *src, const int ng, const float *b, int nO, const int nP, \
        const float *G, const float *Gb, float *y, const float *res, size_t ldy, const int R)       \
    {                                                                                               \
        __m256 part[MAXOUT_ROWS], vpart[MAXOUT_ROWS];                                               \
        VEC vmean[MAXOUT_ROWS], inv[MAXOUT_ROWS];                                                   \
        _Pragma("GCC unroll 8") for (int r = 0; r < MAXOUT_ROWS; r++) { \
            part[r] = vpart[r] = _mm256_setzero_ps(); \
            vmean[r] = inv[r] = P##_setzero_ps(); /* (rows past R: unused) */ \
        } \
        if (src && ng == 3) /* block 0: a row at a time, its three partial rows' pointers held */   \
            _Pragma("GCC unroll 8") for (int r = 0; r < MAXOUT_ROWS; r++) {                         \
                if (r >= R) break;                                                                  \
                float *x = pre + r * ldp;                                                           \
                const float *s0 = src[r * 3], *s1 = src[r * 3 + 1], *s2 = src[r * 3 + 2];           \
                __m256 sum = _mm256_setzero_ps();                                                   \
                for (int o = 0; o < nO; o += W) {                                                   \
                    VEC v = P##_add_ps(P##_add_ps(P##_add_ps(P##_loadu_ps(s0 + o), P##_loadu_ps(s1 + o)), \
                                                  P##_loadu_ps(s2 + o)), P##_loadu_ps(b + o));      \
                    for (int p = 1; p < nP; p++) {                                                  \
                        const int at = p * nO + o;                                                  \
                        const VEC s = P##_add_ps(P##_add_ps(P##_loadu_ps(s0 + at), P##_loadu_ps(s1 + at)), \
                                                 P##_loadu_ps(s2 + at));                            \
                        v = P##_max_ps(P##_add_ps(s, P##_loadu_ps(b + at)), v);                     \
                    }                                                                               \
                    P##_storeu_ps(x + o, v);                                                        \
                    sum = ADD8(sum, v);                                                             \
                }                                                                                   \
                part[r] = sum;                                                                      \
            }                                                                                       \
        else                                                                                        \
        for (int o = 0; o < nO; o += W) {                                                           \
            const VEC b0 = P##_loadu_ps(b + o);                                                     \
            _Pragma("GCC unroll 8") for (int r = 0; r < MAXOUT_ROWS; r++) {                         \
                if (r >= R) break;                                                                  \
                float *x = pre + r * ldp;                                                           \
                const float *const *sr = src ? src + r * ng : NULL;                                 \
                VEC v = P##_add_ps(name##_pre(x, sr, ng, (size_t)o), b0);                           \
                for (int p = 1; p < nP; p++) /* max_ps(x, v) is x > v ? x : v, as in maxout_ln_c */ \
                    v = P##_max_ps(P##_add_ps(name##_pre(x, sr, ng, (size_t)p * nO + o), P##_loadu_ps(b + p * nO + o)), v); \
                P##_storeu_ps(x + o, v);                                                            \
                part[r] = ADD8(part[r], v);                                                         \
            }                                                                                       \
        }                                                                                           \
        _Pragma("GCC unroll 8") for (int r = 0; r < MAXOUT_ROWS; r++) {                             \
            if (r >= R) break;                                                                      \
            vmean[r] = P##_set1_ps(sum8_lanes(part[r]) / nO);                                       \
        }                                                                                           \
        for (int o = 0; o < nO; o += W)                                                             \
            _Pragma("GCC unroll 8") for (int r = 0; r < MAXOUT_ROWS; r++) {                         \
                if (r >= R) break;                                                                  \
                VEC d = P##_sub_ps(P##_loadu_ps(pre + r * ldp + o), vmean[r]);                      \
                P##_storeu_ps(pre + r * ldp + o, d); /* the output pass's x - mean, not computed again */ \
                vpart[r] = ADD8(vpart[r], P##_mul_ps(d, d));                                        \
            }                                                                                       \
        _Pragma("GCC unroll 8") for (int r = 0; r < MAXOUT_ROWS; r++) {                             \
            if (r >= R) break;                                                                      \
            inv[r] = P##_set1_ps(1.0f / sqrtf(sum8_lanes(vpart[r]) / nO + 1e-8f));                  \
        }                                                                                           \
        for (int o = 0; o < nO; o += W) {                                                           \
            const VEC g = P##_loadu_ps(G + o), gb = P##_loadu_ps(Gb + o);                           \
            _Pragma("GCC unroll 8") for (int r = 0; r < MAXOUT_ROWS; r++) {                         \
                if (r >= R) break;                                                                  \
                VEC v = P##_mul_ps(P##_mul_ps(P##_loadu_ps(pre + r * ldp + o), inv[r]), g);          \
                v = P##_add_ps(v, gb);                                                              \
                if (res) v = P##_add_ps(P##_loadu_ps(res + r * ldy + o), v);                        \
                P##_storeu_ps(y + r * ldy + o, v);                                                  \
            }                                                                                       \
        }                                                                                           \
    }                                                                                               \
    /* the encoder's case (whole groups of rows, 3 pieces, added to the rows; from 3 partials or \
     * from pre) compiled apart */                                                                 \
    __attribute__((target(features))) static void name(float *pre, size_t ldp, const float *const *src, int ng, \
                                                       const float *b, int nO, int nP, const float *G, \
                                                       const float *Gb, float *y, const float *res, size_t ldy, int R) \
    {                                                                                               \
        if (R == MAXOUT_ROWS && nP == 3 && res && !src)                                             \
            name##_body(pre, ldp, NULL, 1, b, nO, 3, G, Gb, y, res, ldy, MAXOUT_ROWS);              \
        else if (R == MAXOUT_ROWS && nP == 3 && res && ng == 3)                                       \
            name##_body(pre, ldp, src, 3, b, nO, 3, G, Gb, y, res, ldy, MAXOUT_ROWS);                 \
        else                                                                                        \
            name##_body(pre, ldp, src, ng, b, nO, nP, G, Gb, y, res, ldy, R);                       \
    }
#define ADD8_256(part, v) _mm256_add_ps(part, v)
#define ADD8_512(part, v) _mm256_add_ps(_mm256_add_ps(part, _mm512_castps512_ps256(v)), _mm512_extractf32x8_ps(v, 1))
#define KN_512_TARGET "avx2,fma,avx512f,avx512bw,avx512dq,avx512vl"
MAXOUT_LN(maxout_ln_avx2, "avx2,fma", __m256, 8, _mm256, ADD8_256)
MAXOUT_LN(maxout_ln_512, KN_512_TARGET, __m512, 16, _mm512, ADD8_512)
#endif

/* dst = a + b elementwise (dst may be a), a vector at a time where the CPU has them (gcc -O2
 * leaves the plain loop scalar): one addition per element on every path, so the same bits. */
static void add_rows_c(float *dst, const float *a, const float *b, size_t len)
{
    for (size_t k = 0; k < len; k++) dst[k] = a[k] + b[k];
}

#if defined(__x86_64__)
#define ADD_ROWS(name, features, W, P)                                                              \
    __attribute__((target(features))) static void name(float *dst, const float *a, const float *b, size_t len) \
    {                                                                                               \
        size_t k = 0;                                                                               \
        for (; k + W <= len; k += W) P##_storeu_ps(dst + k, P##_add_ps(P##_loadu_ps(a + k), P##_loadu_ps(b + k))); \
        for (; k < len; k++) dst[k] = a[k] + b[k];                                                  \
    }
ADD_ROWS(add_rows_avx2, "avx2", 8, _mm256)
ADD_ROWS(add_rows_512, "avx2,fma,avx512f,avx512bw,avx512dq,avx512vl", 16, _mm512)
#endif

/* dst = src[0] + src[1] + ... + src[groups-1], added left to right: one window's block 0
 * pre-activation from its words' partials (groups >= 2). */
static void sum_partials(float *dst, const float *const *src, int groups, size_t len)
{
    void (*add)(float *, const float *, const float *, size_t) = add_rows_c;
#if defined(__x86_64__)
    if (kn_isa_current() >= KN_ISA_AVX512) add = add_rows_512;
    else if (kn_isa_current() >= KN_ISA_AVX2) add = add_rows_avx2;
#endif
    add(dst, src[0], src[1], len);
    for (int g = 2; g < groups; g++) add(dst, dst, src[g], len);
}

typedef void maxout_rows_fn(float *pre, size_t ldp, const float *const *src, int ng, const float *b, int nO, int nP,
                           const float *G, const float *Gb, float *y, const float *res, size_t ldy, int R);

/* The vector body for rows of nO outputs on this CPU, or NULL (the portable loop). */
static maxout_rows_fn *maxout_rows_for(int nO)
{
#if defined(__x86_64__)
    if (nO % 16 == 0 && kn_isa_current() >= KN_ISA_AVX512) return maxout_ln_512;
    if (nO % 8 == 0 && kn_isa_current() >= KN_ISA_AVX2) return maxout_ln_avx2;
#endif
    (void)nO;
    return NULL;
}

/* maxout_ln over nrows rows: row i of pre at pre + i * ldp, its output at y + i * ldy, plus
 * the residual row res + i * ldy when res is not NULL (res may be y). */
static void maxout_ln(float *pre, size_t ldp, const float *b, int nO, int nP, const float *G, const float *Gb, float *y,
                      const float *res, size_t ldy, size_t nrows)
{
    maxout_rows_fn *rows_fn = maxout_rows_for(nO);
    if (rows_fn) {
        for (size_t i = 0; i < nrows; i += MAXOUT_ROWS) {
            int R = nrows - i < MAXOUT_ROWS ? (int)(nrows - i) : MAXOUT_ROWS;
            rows_fn(pre + i * ldp, ldp, NULL, 1, b, nO, nP, G, Gb, y + i * ldy, res ? res + i * ldy : NULL, ldy, R);
        }
        return;
    }
    for (size_t i = 0; i < nrows; i++)
        maxout_ln_c(pre + i * ldp, b, nO, nP, G, Gb, res ? res + i * ldy : NULL, y + i * ldy);
}

void t2v_maxout_ln_sums(const float *const *src, int ng, size_t nrows, const float *b, int nO, int nP, const float *G,
                        const float *Gb, float *y, const float *res, size_t ldy, float *pre, size_t ldp)
{
    maxout_rows_fn *rows_fn = ng >= 2 ? maxout_rows_for(nO) : NULL;
    if (rows_fn) {
        for (size_t i = 0; i < nrows; i += MAXOUT_ROWS) {
            int R = nrows - i < MAXOUT_ROWS ? (int)(nrows - i) : MAXOUT_ROWS;
            rows_fn(pre + i * ldp, ldp, src + i * ng, ng, b, nO, nP, G, Gb, y + i * ldy, res ? res + i * ldy : NULL,
                    ldy, R);
        }
        return;
    }
    for (size_t i = 0; i < nrows; i++) /* the portable path: the sums written out, then the pass */
        sum_partials(pre + i * ldp, src + i * ng, ng, (size_t)nO * nP);
    maxout_ln(pre, ldp, b, nO, nP, G, Gb, y, res, ldy, nrows);
}

void t2v_maxout_ln_rows(float *pre, size_t ldp, const float *b, int nO, int nP, const float *G, const float *Gb,
                        float *y, const float *res, size_t ldy, size_t nrows)
{
    maxout_ln(pre, ldp, b, nO, nP, G, Gb, y, res, ldy, nrows);
}

/* MultiHashEmbed for one token: each attribute's four hashed rows summed, tables side by side
 * (the static vectors' columns after them are the caller's). */
static void embed_token(const t2v_net *net, const uint64_t *attrs, float *x)
{
    const int w = net->width;
    for (int c = 0; c < net->nhash; c++) {
        uint64_t key = attrs[c], h[2];
        murmur3_x64_128(&key, sizeof key, net->embed[c].seed, h);
        uint32_t r[4] = {(uint32_t)h[0], (uint32_t)(h[0] >> 32), (uint32_t)h[1], (uint32_t)(h[1] >> 32)};
        const float *E = net->embed[c].E;
        uint32_t nV = net->embed[c].nV;
        const float *e0 = E + (size_t)(r[0] % nV) * w, *e1 = E + (size_t)(r[1] % nV) * w;
        const float *e2 = E + (size_t)(r[2] % nV) * w, *e3 = E + (size_t)(r[3] % nV) * w;
        float *dst = x + c * w;
        for (int k = 0; k < w; k++) dst[k] = e0[k] + e1[k] + e2[k] + e3[k];
    }
}

/* lowp: lowp_floats of scratch; a_floats: the floats from A a bf16 copy takes (windows overlap) */
static void product(const kn_weights *kw, kn_precision prec, const float *A, size_t lda, size_t M, float *C,
                    size_t ldc, float *lowp, size_t a_floats)
{
    if (prec == KN_BF16 || prec == KN_BF16_IN_ORDER) {
        uint16_t *bf = (uint16_t *)lowp;
        kn_to_bf16_n(A, bf, a_floats);
        (prec == KN_BF16 ? kn_gemm_bf16 : kn_gemm_bf16_in_order)(kw, bf, lda, M, C, ldc);
    } else if (prec == KN_INT8) {
        int32_t *zero = (int32_t *)(lowp + M); /* after the M row scales */
        uint8_t *q = (uint8_t *)(zero + M);
        kn_quantize_rows(A, lda, M, kw->K, q, lowp, zero);
        kn_gemm_i8(kw, q, lowp, zero, M, C, ldc);
    } else {
        kn_gemm_f32(kw, A, lda, M, C, ldc);
    }
}

/* Block d's output rows after its product: y = res + LayerNorm(maxout(pre + b)) (or of
 * mish(pre + b), one piece), nrows rows of pre (stride ldp) and of y and res (stride width). */
static void encode_rows(const t2v_net *net, const t2v_packed *pk, int d, float *pre, size_t ldp, float *y,
                        const float *res, size_t nrows)
{
    const int w = net->width;
    if (net->encoder == T2V_ENC_MISH) { /* the activation first, then layernorm of one piece */
        for (size_t i = 0; i < nrows; i++)
            for (int k = 0; k < w; k++) pre[i * ldp + k] = nn_mish(pre[i * ldp + k] + pk->block_b[d][k]);
        maxout_ln(pre, ldp, pk->zero_b, w, 1, net->block[d].G, net->block[d].Gb, y, res, (size_t)w, nrows);
    } else {
        maxout_ln(pre, ldp, pk->block_b[d], w, net->pieces, net->block[d].G, net->block[d].Gb, y, res, (size_t)w, nrows);
    }
}

/* pk->pad_row: block 0 over one all-zero window, in each packed precision, by the functions
 * t2v_fast_forward runs (every instruction-set level gives these bits). */
static int pack_pad_rows(t2v_packed *pk, const t2v_net *net)
{
    const int w = net->width;
    const size_t K = (size_t)(2 * net->window + 1) * w, encN = (size_t)w * net->pieces;
    float *zeros = calloc(K, sizeof(float)), *pre = malloc(encN * sizeof(float));
    float *lowp = malloc(lowp_floats(net, 1) * sizeof(float));
    int rc = zeros && pre && lowp ? 0 : -1;
    for (int q = KN_FP32; !rc && q <= KN_INT8; q++) {
        if ((q == KN_BF16 && !(pk->lowp & KN_PACK_BF16)) || (q == KN_INT8 && !(pk->lowp & KN_PACK_INT8))) continue;
        if (!(pk->pad_row[q] = calloc((size_t)w, sizeof(float)))) {
            rc = -1;
            break;
        }
        if (uses_partials(pk, (kn_precision)q)) { /* a zero row's partials are pk->part_zero */
            const float *src[2 * T2V_MAX_WINDOW + 1];
            for (int g = 0; g < 2 * net->window + 1; g++) src[g] = pk->part_zero;
            sum_partials(pre, src, 2 * net->window + 1, encN);
        } else {
            product(&pk->block[0], (kn_precision)q, zeros, (size_t)w, 1, pre, encN, lowp, K);
        }
        encode_rows(net, pk, 0, pre, encN, pk->pad_row[q], pk->pad_row[q], 1); /* 0 + the block's output */
    }
    free(zeros);
    free(pre);
    free(lowp);
    return rc;
}

void t2v_fast_forward(const t2v_net *net, const t2v_packed *pk, kn_precision prec, embed_cache *cache,
                      const uint64_t *attrs, const t2v_text *texts, size_t n, float *out, float *scratch,
                      t2v_cache_use *use, t2v_trace_fn trace, void *trace_ctx)
{
    const int w = net->width, na = net->nattrs;
    const size_t rows = n + 2 * (size_t)net->pad, guard = (size_t)net->window;
    const size_t mixN = (size_t)w * net->mix_pieces, encN = (size_t)w * net->pieces;
    /* the padded sequence with `window` more zero rows each side: a window (rows i-window ..
     * i+window) is then (2 window + 1) x width contiguous floats, so the encoder multiplies the
     * sequence in place (lda = width); the guard rows stay zero, as expand_window's fill */
    float *guarded = scratch;
    float *seq = guarded + guard * w;
    float *in = guarded + (rows + 2 * guard) * w;
    float *pre = in + n * (size_t)net->mix_nI;
    float *lowp = pre + pre_floats(net, n);
    int *miss = (int *)(lowp + lowp_floats(net, n));
    float *sv_in = (float *)(miss + n);               /* the misses' static vectors, nmiss x sv_nM */
    int *sv_unknown = (int *)(sv_in + n * (size_t)net->sv_nM);
    /* the fast modes' partials: a computed word's row (its embedding row, then its partials) is
     * a row of parts; part_miss lists those words. A found word's partials are read in place in
     * the attached table, its slot held until block 0 has summed them (embed_cache_hold). */
    int *part_miss = sv_unknown + n;
    float *parts = (float *)(part_miss + n);
    const int nh = net->nhash, nM = net->sv_nM;
    if ((prec == KN_BF16 && !(pk->lowp & KN_PACK_BF16)) || (prec == KN_INT8 && !(pk->lowp & KN_PACK_INT8)))
        prec = KN_FP32;
    uint32_t tag = (uint32_t)prec;
    if (embed_cache_nkey(cache) != na) cache = NULL; /* a cache made for another network */
    const int partials = uses_partials(pk, prec), groups = 2 * net->window + 1;
    const size_t part_floats = t2v_partial_row_floats(net);
    embed_cache *wide = partials ? embed_cache_attached(cache) : NULL;
    if ((size_t)embed_cache_width(wide) != part_floats) wide = NULL; /* attached for another network */
    embed_cache *first = wide ? wide : cache; /* the table looked in first */

    /* zero the guard and pad rows: every body row is written below (a cached row or a miss's) */
    float *body = seq + (size_t)net->pad * w;
    const size_t edge = (guard + (size_t)net->pad) * w;
    memset(guarded, 0, edge * sizeof(float));
    memset(body + n * w, 0, edge * sizeof(float));
    size_t nmiss = 0, hits = 0, nfound = 0, npart = 0;
    /* with a cache, a word repeated in the document is looked up (or computed) once: its first
     * occurrence's row is copied to the repeats, and they count as it did. Without one, every
     * word is computed (the plain computation the cached one is tested against). */
    int *same_as = (int *)(parts + n * part_floats), *lookups = same_as + n;
    /* part_at[i]: word i's partials (groups x encN floats), after repeats_of's table */
    const float **part_at = (const float **)(((uintptr_t)(lookups + 5 * n) + 7) & ~(uintptr_t)7);
    size_t nlook = n;
    if (first) nlook = repeats_of(attrs, na, n, same_as, lookups, lookups + n);
    else
        for (size_t i = 0; i < n; i++) lookups[i] = (int)(same_as[i] = (int)i);
    enum { PREFETCH_AHEAD = 8 }; /* lookups in flight: each is a likely cache miss */
    for (size_t k = 0; first && k < PREFETCH_AHEAD && k < nlook; k++)
        embed_cache_prefetch(first, attrs + (size_t)lookups[k] * na, tag);
    for (size_t k = 0; k < nlook; k++) {
        const size_t i = (size_t)lookups[k];
        if (first && k + PREFETCH_AHEAD < nlook)
            embed_cache_prefetch(first, attrs + (size_t)lookups[k + PREFETCH_AHEAD] * na, tag);
        const float *held = wide ? embed_cache_hold(wide, attrs + i * na, tag) : NULL;
        if (held) { /* the embedding row copied, the partials (9x wider) read in place */
            memcpy(body + i * w, held, (size_t)w * sizeof(float));
            part_at[i] = held + w;
            nfound++;
            hits++;
            same_as[i] = -1 - FOUND_PARTIALS;
            continue;
        }
        if (partials) part_miss[npart++] = (int)i;
        if (cache && embed_cache_get(cache, attrs + i * na, tag, body + i * w)) {
            hits++;
            same_as[i] = -1 - FOUND_ROW;
            continue;
        }
        same_as[i] = -1 - COMPUTED;
        miss[nmiss] = (int)i;
        embed_token(net, attrs + i * na, in + nmiss * net->mix_nI);
        if (net->vt) {
            float *v = sv_in + nmiss * (size_t)nM;
            sv_unknown[nmiss] = !t2v_static_input(net, attrs[i * na + nh], texts ? texts + i : NULL, v);
            if (sv_unknown[nmiss]) memset(v, 0, (size_t)nM * sizeof(float));
        }
        nmiss++;
    }
    if (nmiss && net->vt) { /* StaticVectors: V @ W^T into the last columns, exact zeros for unknown keys */
        kn_gemm_f32(&pk->sv, sv_in, (size_t)nM, nmiss, in + (size_t)nh * w, net->mix_nI);
        for (size_t m = 0; m < nmiss; m++)
            if (sv_unknown[m]) memset(in + m * net->mix_nI + (size_t)nh * w, 0, (size_t)w * sizeof(float));
    }
    if (nmiss) {
        /* int8 computes the mixing layer exactly: it runs only for the cache's misses (5-19% of
         * a document's tokens), so its quantization cost agreement (3-6 documents of the 2,672
         * golden ones with --pipeline ner) and saved little time; bf16 keeps it (no gain there) */
        product(&pk->mix, prec == KN_INT8 ? KN_FP32 : prec, in, net->mix_nI, nmiss, pre, mixN, lowp,
                nmiss * net->mix_nI);
        for (size_t m = 0; m < nmiss; m++) {
            float *row = body + (size_t)miss[m] * w;
            maxout_ln(pre + m * mixN, mixN, pk->mix_b, w, net->mix_pieces, net->mix.G, net->mix.Gb, row, NULL, 0, 1);
            if (cache) embed_cache_put(cache, attrs + (size_t)miss[m] * na, tag, row);
        }
    }
    if (npart) { /* the partials of the words the attached table lacks, one product */
        for (size_t m = 0; m < npart; m++)
            memcpy(in + m * w, body + (size_t)part_miss[m] * w, (size_t)w * sizeof(float));
        product(&pk->part, partials_precision(pk, prec), in, (size_t)w, npart, parts + w, part_floats, lowp, npart * w);
        for (size_t m = 0; m < npart; m++) {
            float *row = parts + m * part_floats;
            memcpy(row, in + m * w, (size_t)w * sizeof(float));
            part_at[part_miss[m]] = row + w;
            if (wide) embed_cache_put(wide, attrs + (size_t)part_miss[m] * na, tag, row);
        }
    }
    size_t rep_hits = 0, rep_found = 0, rep_computed = 0, rep_partials = 0; /* the repeats, as their first occurrences */
    for (size_t i = 0; nlook < n && i < n; i++) {
        if (same_as[i] < 0) continue;
        const size_t f = (size_t)same_as[i];
        const int how = -1 - same_as[f];
        memcpy(body + i * w, body + f * w, (size_t)w * sizeof(float));
        if (partials) part_at[i] = part_at[f];
        rep_hits += how != COMPUTED, rep_computed += how == COMPUTED;
        rep_found += how == FOUND_PARTIALS, rep_partials += partials && how != FOUND_PARTIALS;
    }
    hits += rep_hits, nmiss += rep_computed;
    if (use) *use = (t2v_cache_use){hits, cache ? nmiss : 0, nfound + rep_found, npart + rep_partials, nlook};
    if (cache) embed_cache_count(cache, hits, nmiss);
    if (wide) embed_cache_count(wide, nfound + rep_found, npart + rep_partials);
    if (trace && !cache) trace(trace_ctx, "embed_out", body, n, w);

    /* encoder: residual blocks over the padded sequence (pad rows included, as thinc's
     * with_array(pad=...)); maxout (or mish), layernorm and the residual add in one pass per row */
    int out_written = 0;
    for (int d = 0; d < net->depth; d++) {
        /* the pad rows block d must update: those the body's rows still read through the later
         * blocks' windows, (depth - 1 - d) x window each side. The others only feed pad rows no
         * body row reads, so skipping them leaves every body row's bits alone; a trace sees
         * every padded row, as thinc computes them. */
        size_t margin = (size_t)(net->depth - 1 - d) * guard;
        if (trace || margin > (size_t)net->pad) margin = (size_t)net->pad;
        const size_t r0 = (size_t)net->pad - margin, nrows = n + 2 * margin;
        /* block 0's rows more than `window` from the body see only zero rows: their output is
         * the constant pad_row (worked out at load with the same functions), not a product */
        const size_t nconst = d == 0 && !trace && pk->pad_row[prec] && margin > guard ? margin - guard : 0;
        const size_t c0 = r0 + nconst, ncomp = nrows - 2 * nconst;
        /* the last block (untraced: the body rows alone) writes its sums straight into out */
        out_written = d == net->depth - 1 && !trace && c0 == (size_t)net->pad && ncomp == n;
        float *y = out_written ? out : seq + c0 * w;
        const int fused = d == 0 && partials && net->encoder == T2V_ENC_MAXOUT; /* block 0 written here */
        if (d == 0 && partials) { /* row c's window: words c - window .. c + window, zeros beyond the body */
            enum { BATCH = 4 * MAXOUT_ROWS };
            const float *src[BATCH * (2 * T2V_MAX_WINDOW + 1)];
            for (size_t r0b = 0; r0b < ncomp; r0b += BATCH) {
                const size_t nb = ncomp - r0b < BATCH ? ncomp - r0b : BATCH;
                for (size_t r = 0; r < nb; r++) {
                    const ptrdiff_t t0 = (ptrdiff_t)(c0 + r0b + r) - net->pad - net->window;
                    for (int g = 0; g < groups; g++) {
                        const ptrdiff_t t = t0 + g;
                        src[r * groups + g] = t >= 0 && t < (ptrdiff_t)n ? part_at[t] + (size_t)g * encN : pk->part_zero;
                    }
                }
                if (fused) /* the sums go straight into the maxout pass (the rows outside c0.. untouched) */
                    t2v_maxout_ln_sums(src, groups, nb, pk->block_b[0], w, net->pieces, net->block[0].G,
                                       net->block[0].Gb, y + r0b * w, seq + (c0 + r0b) * w, (size_t)w,
                                       pre + r0b * encN, encN);
                else
                    for (size_t r = 0; r < nb; r++) sum_partials(pre + (r0b + r) * encN, src + r * groups, groups, encN);
            }
            release_found_partials(wide, attrs, na, tag, same_as, n);
        } else {
            product(&pk->block[d], prec, guarded + c0 * w, w, ncomp, pre, encN, lowp, (ncomp + 2 * guard) * w);
        }
        for (size_t i = 0; i < nconst; i++) { /* after the product: it reads these rows as block d's input */
            memcpy(seq + (r0 + i) * w, pk->pad_row[prec], (size_t)w * sizeof(float));
            memcpy(seq + (r0 + nrows - 1 - i) * w, pk->pad_row[prec], (size_t)w * sizeof(float));
        }
        if (!fused) encode_rows(net, pk, d, pre, encN, y, seq + c0 * w, ncomp);
        if (trace) {
            char name[32];
            snprintf(name, sizeof name, "encoder_block%d_padded", d);
            trace(trace_ctx, name, seq, rows, w);
        }
    }
    if (!out_written) memcpy(out, body, n * w * sizeof(float));
    if (trace) trace(trace_ctx, "tok2vec_out", out, n, w);
}

static void add_proj_bias(const parser_net *p, size_t n, float *proj)
{
    kn_add_bias(proj, (size_t)p->nI, n, p->proj_b, p->nI);
}

/* The precision a product over kw runs in: prec where kw has that copy, else fp32. */
static kn_precision packed_precision(const kn_weights *kw, kn_precision prec)
{
    return ((prec == KN_BF16 || prec == KN_BF16_IN_ORDER) && !kw->bf16) || (prec == KN_INT8 && !kw->i8) ? KN_FP32 : prec;
}

static size_t parser_widest_input(const parser_net *p)
{
    return (size_t)(p->t2v_width > p->nI ? p->t2v_width : p->nI);
}

size_t parser_fast_lowp_floats(const parser_net *p, size_t n)
{
    const size_t K = parser_widest_input(p), bf = (n * K + 1) / 2, i8 = i8_floats(n, (int)K);
    return bf > i8 ? bf : i8;
}

/* A parser product in prec: fp32 when the weights lack that copy or lowp has not the room. */
static void parser_product(const parser_net *p, const kn_weights *kw, kn_precision prec, const float *A, size_t M,
                           float *C, size_t ldc, float *lowp, size_t lowp_cap)
{
    prec = packed_precision(kw, prec);
    if (prec != KN_FP32 && parser_fast_lowp_floats(p, M) > lowp_cap) prec = KN_FP32;
    product(kw, prec, A, (size_t)kw->K, M, C, ldc, lowp, M * (size_t)kw->K);
}

void parser_fast_project(const parser_net *p, const parser_packed *pk, kn_precision prec, const float *tokvecs,
                         size_t n, float *proj, float *lowp, size_t lowp_cap)
{
    if (!n) return;
    parser_product(p, &pk->proj, prec, tokvecs, n, proj, (size_t)p->nI, lowp, lowp_cap);
    add_proj_bias(p, n, proj);
}

void parser_fast_table(const parser_net *p, const parser_packed *pk, kn_precision prec, const float *proj, size_t n,
                       float *table, float *lowp, size_t lowp_cap)
{
    const size_t row = (size_t)p->nF * p->nO * p->nP;
    memcpy(table, pk->lower_pad, row * sizeof(float));
    if (n) parser_product(p, &pk->lower, prec, proj, n, table + row, row, lowp, lowp_cap);
}

void parser_fast_precompute(const parser_net *p, const parser_packed *pk, kn_precision prec, const float *tokvecs,
                            size_t n, float *proj, float *table, float *lowp, size_t lowp_cap)
{
    parser_fast_project(p, pk, prec, tokvecs, n, proj, lowp, lowp_cap);
    parser_fast_table(p, pk, prec, proj, n, table, lowp, lowp_cap);
}

void parser_fast_feature_slot(const parser_net *p, const parser_packed *pk, kn_precision prec, const float *proj_row,
                              int f, float *row, float *lowp, size_t lowp_cap)
{
    const int slot = p->nO * p->nP;
    kn_weights cols;
    if (kn_cols(&pk->lower, f * slot, slot, &cols) == 0) /* slot f's own panels */
        parser_product(p, &cols, prec, proj_row, 1, row + (size_t)f * slot, (size_t)slot, lowp, lowp_cap);
    else /* slots not on panel boundaries: the whole row; each element's bits are the same */
        parser_product(p, &pk->lower, prec, proj_row, 1, row, (size_t)p->nF * slot, lowp, lowp_cap);
}

#if defined(__x86_64__)
/* The step's feature sum and maxout, 8 (AVX2) or 16 (AVX-512) lanes at a time: each element is
 * still bias + row 0 + row 1 + ... in that order, and each hidden unit the max of its pieces in
 * piece order, so the bits are the portable loop's. Piece by piece of each block of units, the
 * sums stay in registers (no sum array written and read back), and each feature's slot address
 * is computed once per step. */
#define STEP_HIDDEN(name, features, VEC, W, LOAD, STORE, ADD, MAX)                                  \
    __attribute__((target(features))) static void name(const parser_net *p, const parser_packed *pk,  \
                                                         const float *const *rows, float *hidden)     \
    {                                                                                               \
        const int nO = p->nO, nP = p->nP, nF = p->nF;                                               \
        const size_t slot = (size_t)nO * nP;                                                        \
        const float *slot_of[16]; /* parser_net_bind refuses nF > 16 */                              \
        for (int f = 0; f < nF; f++) slot_of[f] = rows[f] + f * slot;                               \
        for (int o = 0; o < nO; o += W) {                                                           \
            VEC h = LOAD(pk->lower_b + o);                                                          \
            for (int f = 0; f < nF; f++) h = ADD(h, LOAD(slot_of[f] + o));                          \
            for (int q = 1; q < nP; q++) {                                                          \
                const size_t k = (size_t)q * nO + o;                                                \
                VEC v = LOAD(pk->lower_b + k);                                                      \
                for (int f = 0; f < nF; f++) v = ADD(v, LOAD(slot_of[f] + k));                      \
                h = MAX(v, h);                                                                      \
            }                                                                                       \
            STORE(hidden + o, h);                                                                   \
        }                                                                                           \
    }
STEP_HIDDEN(step_hidden_avx2, "avx2", __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps, _mm256_max_ps)
STEP_HIDDEN(step_hidden_512, KN_512_TARGET, __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps,
            _mm512_max_ps)

/* The same for a slot of SLOT_VECTORS vectors (the shipped pipelines' 64 units x 2 pieces):
 * the slot's sums all in registers, feature after feature, so that each feature's loads are one
 * contiguous run and the sums' chains (nF additions) run side by side; each element is still
 * bias + row 0 + row 1 + ..., each unit the max of its pieces in piece order: the same bits. */
#define SLOT_VECTORS 8
__attribute__((target(KN_512_TARGET))) static void step_hidden_512_slot8(const parser_net *p, const parser_packed *pk,
                                                                         const float *const *rows, float *hidden)
{
    const int nF = p->nF, per_piece = SLOT_VECTORS / 2; /* nO = 64, nP = 2 */
    __m512 sum[SLOT_VECTORS];
#pragma GCC unroll 8
    for (int v = 0; v < SLOT_VECTORS; v++) sum[v] = _mm512_loadu_ps(pk->lower_b + 16 * v);
    for (int f = 0; f < nF; f++) {
        const float *t = rows[f] + (size_t)f * 16 * SLOT_VECTORS;
#pragma GCC unroll 8
        for (int v = 0; v < SLOT_VECTORS; v++) sum[v] = _mm512_add_ps(sum[v], _mm512_loadu_ps(t + 16 * v));
    }
#pragma GCC unroll 4
    for (int o = 0; o < per_piece; o++) _mm512_storeu_ps(hidden + 16 * o, _mm512_max_ps(sum[per_piece + o], sum[o]));
}

/* The upper layer's bias, scores[c] += b[c], a vector at a time (gcc -O2 keeps the plain loop
 * scalar: a fifth of the step's instructions), the last partial vector one by one (masked
 * stores would make the choice's loads of the scores wait). The same addition per element, so
 * the same bits. */
__attribute__((target(KN_512_TARGET))) static void add_bias_512(float *scores, const float *b, int n)
{
    int c = 0;
    for (; c + 16 <= n; c += 16) _mm512_storeu_ps(scores + c, _mm512_add_ps(_mm512_loadu_ps(scores + c), _mm512_loadu_ps(b + c)));
    for (; c < n; c++) scores[c] += b[c];
}

__attribute__((target("avx2"))) static void add_bias_avx2(float *scores, const float *b, int n)
{
    int c = 0;
    for (; c + 8 <= n; c += 8) _mm256_storeu_ps(scores + c, _mm256_add_ps(_mm256_loadu_ps(scores + c), _mm256_loadu_ps(b + c)));
    for (; c < n; c++) scores[c] += b[c];
}
#endif

size_t parser_fast_scores_floats(const parser_net *p)
{
    return ((size_t)p->nclasses + KN_NR - 1) / KN_NR * KN_NR;
}

int parser_fast_step_rows(const parser_net *p, const parser_packed *pk, kn_precision prec, const float *const *rows,
                          const uint64_t *valid, float *hidden, float *scores)
{
    const int nO = p->nO, nP = p->nP;
    const size_t slot = (size_t)nO * nP;
#if defined(__x86_64__)
    if (nO == 16 * SLOT_VECTORS / 2 && nP == 2 && kn_isa_current() >= KN_ISA_AVX512) {
        step_hidden_512_slot8(p, pk, rows, hidden);
    } else if (nO % 16 == 0 && kn_isa_current() >= KN_ISA_AVX512) {
        step_hidden_512(p, pk, rows, hidden);
    } else if (nO % 8 == 0 && kn_isa_current() >= KN_ISA_AVX2) {
        step_hidden_avx2(p, pk, rows, hidden);
    } else
#endif
    {
        float sum[1024]; /* parser_net_bind refuses nO*nP > 1024 */
        memcpy(sum, pk->lower_b, slot * sizeof(float));
        for (int f = 0; f < p->nF; f++) {
            const float *t = rows[f] + f * slot;
            for (size_t k = 0; k < slot; k++) sum[k] += t[k];
        }
        memcpy(hidden, sum, nO * sizeof(float));
        for (int q = 1; q < nP; q++)
            for (int o = 0; o < nO; o++) hidden[o] = sum[q * nO + o] > hidden[o] ? sum[q * nO + o] : hidden[o];
    }
    if (!p->upper_W) { /* use_upper = false: the lower layer's maxout scores the classes */
        memcpy(scores, hidden, (size_t)p->nclasses * sizeof(float));
        if (parser_fast_scores_padded(prec)) /* their padding 0 */
            memset(scores + p->nclasses, 0, (parser_fast_scores_floats(p) - (size_t)p->nclasses) * sizeof(float));
        return KN_NOT_CHOSEN;
    }
    if (prec == KN_INT8 && pk->upper.bf16) /* int8: bf16 pairs (bf16 mode lost documents with them) */
        return kn_row_bf16_chains_choose(&pk->upper, hidden, p->upper_b, valid, scores);
    if (prec != KN_FP32) /* the fast modes: four chains per score, the bias added in registers */
        return kn_row_f32_chains_choose(&pk->upper, hidden, p->upper_b, valid, scores);
    kn_gemm_f32(&pk->upper, hidden, nO, 1, scores, p->nclasses);
#if defined(__x86_64__)
    if (kn_isa_current() >= KN_ISA_AVX512) add_bias_512(scores, p->upper_b, p->nclasses);
    else if (kn_isa_current() >= KN_ISA_AVX2) add_bias_avx2(scores, p->upper_b, p->nclasses);
    else
#endif
        for (int c = 0; c < p->nclasses; c++) scores[c] += p->upper_b[c];
    return KN_NOT_CHOSEN;
}
