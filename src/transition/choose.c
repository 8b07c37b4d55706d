#include "transition/choose.h"
#include "nn/kernels.h"

#include <math.h>

/* The vector paths read whole blocks with plain loads and take a table's last partial block
 * class by class (choose_best_padded, whose scores are padded to whole blocks, reads it whole):
 * a masked load of scores just written (by masked or narrower stores) cannot take them from the
 * store queue and waits for them to reach the cache, which made the ner's steps slower than the
 * scalar loop (measured on Zen 5). The fast modes' AVX-512 upper layer makes the same choice
 * from its scores in registers (kernels.c, choose_in_registers: the same rule and comparisons,
 * tested against choose_best_padded); a change to the rule changes both. */

/* The tail [from, n) of pass 1 and pass 2, one class at a time. */
static float tail_max(const float *scores, const uint64_t *mask, int from, int n, float top)
{
    for (int c = from; c < n; c++)
        if (choose_mask_has(mask, c) && scores[c] > top) top = scores[c]; /* NaN never greater */
    return top;
}

static int tail_first(const float *scores, const uint64_t *mask, int from, int n, float top)
{
    for (int c = from; c < n; c++)
        if (choose_mask_has(mask, c) && scores[c] == top) return c;
    return -1; /* not reached: the first valid class is not NaN, so some valid score equals the maximum */
}

#if defined(__x86_64__)
#include <immintrin.h>

/* 16 classes a block: a block never straddles two words of the bitset (16 divides 64). */
__attribute__((target("avx2,avx512f"))) static int best_512(const float *scores, const uint64_t *mask, int from, int n,
                                                            int padded)
{
    const int whole = padded ? (n + 15) / 16 * 16 : from + (n - from) / 16 * 16;
    __m512 top = _mm512_set1_ps(-INFINITY);
    for (int c = from; c < whole; c += 16) {
        const __mmask16 in = (__mmask16)(mask[c >> 6] >> (c & 63));
        const __m512 v = _mm512_loadu_ps(scores + c);
        const __mmask16 ordered = _mm512_mask_cmp_ps_mask(in, v, v, _CMP_ORD_Q);
        top = _mm512_mask_max_ps(top, ordered, top, v);
    }
    const float best = tail_max(scores, mask, whole, n, _mm512_reduce_max_ps(top));
    const __m512 bestv = _mm512_set1_ps(best);
    for (int c = from; c < whole; c += 16) {
        const __mmask16 in = (__mmask16)(mask[c >> 6] >> (c & 63));
        const unsigned eq = _mm512_mask_cmp_ps_mask(in, _mm512_loadu_ps(scores + c), bestv, _CMP_EQ_OQ);
        if (eq) return c + __builtin_ctz(eq);
    }
    return tail_first(scores, mask, whole, n, best);
}

/* 8 classes a block: the block's 8 bits spread to 8 lane masks. */
__attribute__((target("avx2"))) static __m256 lanes_of(const uint64_t *mask, int c)
{
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const int bits = (int)(mask[c >> 6] >> (c & 63) & 0xff);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(bits), bit), bit));
}

__attribute__((target("avx2"))) static int best_avx2(const float *scores, const uint64_t *mask, int from, int n,
                                                     int padded)
{
    const int whole = padded ? (n + 7) / 8 * 8 : from + (n - from) / 8 * 8;
    __m256 top = _mm256_set1_ps(-INFINITY);
    for (int c = from; c < whole; c += 8) {
        const __m256 v = _mm256_loadu_ps(scores + c);
        const __m256 take = _mm256_and_ps(lanes_of(mask, c), _mm256_cmp_ps(v, v, _CMP_ORD_Q));
        top = _mm256_blendv_ps(top, _mm256_max_ps(top, v), take);
    }
    __m128 t = _mm_max_ps(_mm256_castps256_ps128(top), _mm256_extractf128_ps(top, 1));
    t = _mm_max_ps(t, _mm_movehl_ps(t, t));
    t = _mm_max_ss(t, _mm_shuffle_ps(t, t, 1));
    const float best = tail_max(scores, mask, whole, n, _mm_cvtss_f32(t));
    const __m256 bestv = _mm256_set1_ps(best);
    for (int c = from; c < whole; c += 8) {
        const __m256 eq = _mm256_cmp_ps(_mm256_loadu_ps(scores + c), bestv, _CMP_EQ_OQ);
        const int hit = _mm256_movemask_ps(_mm256_and_ps(lanes_of(mask, c), eq));
        if (hit) return c + __builtin_ctz((unsigned)hit);
    }
    return tail_first(scores, mask, whole, n, best);
}
#endif

static int best_portable(const float *scores, const uint64_t *mask, int from, int n)
{
    return tail_first(scores, mask, from, n, tail_max(scores, mask, from, n, -INFINITY));
}

/* padded: scores readable up to n rounded up to 16, as written by whole-vector stores, so the
 * last block is read whole too (its classes from n on have no bit in the mask) */
static int best(const float *scores, const uint64_t *mask, int n, int padded)
{
    int first = -1;
    for (size_t w = 0; w < CHOOSE_WORDS(n); w++)
        if (mask[w]) {
            first = (int)(w * 64) + __builtin_ctzll(mask[w]);
            break;
        }
    if (first < 0 || isnan(scores[first])) return first;
#if defined(__x86_64__)
    const kn_isa isa = kn_isa_current();
    if (isa >= KN_ISA_AVX512) return best_512(scores, mask, first & ~15, n, padded);
    if (isa >= KN_ISA_AVX2) return best_avx2(scores, mask, first & ~7, n, padded);
#endif
    (void)padded;
    return best_portable(scores, mask, first, n);
}

int choose_best(const float *scores, const uint64_t *mask, int n) { return best(scores, mask, n, 0); }
int choose_best_padded(const float *scores, const uint64_t *mask, int n) { return best(scores, mask, n, 1); }

void choose_mask_bytes(const uint64_t *mask, int n, uint8_t *valid)
{
    for (int c = 0; c < n; c++) valid[c] = (uint8_t)choose_mask_has(mask, c);
}
