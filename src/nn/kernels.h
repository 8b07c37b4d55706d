/* kernels.h - nerd's own matrix products for the network: C = A . W^T with W packed once at
 * load time, in fp32 (exact mode), with bf16 inputs and fp32 accumulation, or with int8 inputs
 * and int32 accumulation (the fast modes).
 *
 * Why not BLAS: every output element is one fused multiply-add chain over k = 0..K-1 in that
 * order, whatever the number of rows or how they are grouped, so a row computed alone has the
 * same bits as the same row inside a batch. That is what lets nerd cache a word's mixing-layer
 * output and batch documents without changing a single result. Packing the weights once also
 * saves the per-call copies a BLAS makes. */
#ifndef NERD_KERNELS_H
#define NERD_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* The products' precisions. KN_BF16_IN_ORDER is not a mode: it is the bf16 products the int8
 * mode takes (its first block's partials, its parsers' tables), which must give the same bits on
 * every CPU as the rest of int8 does, so they never run on AMX's tiles (kn_gemm_bf16_in_order). */
typedef enum { KN_FP32 = 0, KN_BF16 = 1, KN_INT8 = 2, KN_BF16_IN_ORDER = 3 } kn_precision;

#define KN_NR 16 /* output columns per packed panel */

typedef struct {
    int N, K;          /* W is N x K (row-major, as thinc stores Linear/Maxout weights) */
    int npanels;       /* ceil(N / KN_NR) */
    float *f32;        /* panels of K x KN_NR floats, zero-padded columns */
    uint32_t *bf16;    /* panels of K/2 x KN_NR pairs (w[c][2k] low half, w[c][2k+1] high), or NULL */
    /* int8 copy, or NULL: K4 = K rounded up to 4; panels of K4/4 x KN_NR words, each the four
     * signed bytes q[c][4g..4g+3] (first in the low byte); q = round(w / i8_scale[c]) clamped
     * to +-KN_I8_WMAX, i8_scale[c] the clip (see pack_i8) / KN_I8_WMAX; i8_wsum[c] = sum_k
     * q[c][k] (takes each row's zero point back out). Scales and sums npanels * KN_NR long,
     * padded columns 0. */
    int K4;
    uint32_t *i8;
    float *i8_scale;
    int32_t *i8_wsum;
} kn_weights;

/* int8 mode's ranges: weights 8-bit symmetric per output column; activations 8-bit
 * asymmetric per row (min to max over the row and 0, KN_I8_ALEVELS steps, zero point z so
 * that 0.0 is exactly z). 2 x 255 x 127 exceeds VPMADDUBSW's int16, so the AVX2 path without
 * VNNI widens to int16 (VPMADDWD); the sums are exact on every path. */
#define KN_I8_WMAX 127
#define KN_I8_ALEVELS 255

enum { KN_PACK_BF16 = 1, KN_PACK_INT8 = 2 };

/* Packs W (N x K). flags: KN_PACK_BF16 also packs a bf16 copy (K must then be even),
 * KN_PACK_INT8 an int8 copy (K <= 65536, so that int32 sums cannot overflow). 0, or -1 on
 * allocation failure or such a K. */
int kn_pack(kn_weights *p, const float *W, int N, int K, int flags);
void kn_free(kn_weights *p);

/* A view of columns c0 .. c0+n-1 of p and of its low-precision copies (no copy), for products
 * over part of W. -1 unless c0 starts a panel and the columns end on a panel's end or at N. */
int kn_cols(const kn_weights *p, int c0, int n, kn_weights *view);

/* C[i][c] = sum_k A[i*lda + k] * W[c][k] for i < M, c < N (fp32, one fma chain per element). */
void kn_gemm_f32(const kn_weights *p, const float *A, size_t lda, size_t M, float *C, size_t ldc);

/* C[i][c] += b[c] for i < M, c < N: a product's bias, added after it (one fp32 addition per
 * element on every path, so the same bits; 16 lanes at a time on AVX-512). */
void kn_add_bias(float *C, size_t ldc, size_t M, const float *b, int N);

/* The fast modes' one-row product plus bias (the parsers' upper layer at each transition): C[c]
 * = ((s0 + s1) + (s2 + s3)) + b[c] for c < N, s_m the fma chain over the k with k % 4 == m in
 * ascending order (four independent chains: a lone row's single chain is latency-bound). The
 * same bits on every level, but not kn_gemm_f32's (whose one chain the exact path keeps).
 * need: NULL, or a bitset of the columns wanted (bit c of need[c / 64], as choose.h's): a panel
 * of KN_NR columns none of which is wanted is not computed. C has room for npanels * KN_NR
 * floats, written whole (columns from N on, and those of panels not computed, get 0): whole
 * vectors, so that the scores' next reads take them from the store queue. */
void kn_row_f32_chains(const kn_weights *p, const float *a, const float *b, const uint64_t *need, float *C);
/* kn_row_f32_chains, and the choice choose.h's choose_best_padded(C, need, N) makes (need NULL:
 * every column below N valid): the first valid column if its score is NaN, else the first valid
 * column with the highest score; -1 if none is valid. Made from the scores still in registers
 * where the AVX-512 path computes every wanted panel in one group (up to 8 panels); elsewhere
 * KN_NOT_CHOSEN, and the caller chooses from C. */
#define KN_NOT_CHOSEN (-2)
int kn_row_f32_chains_choose(const kn_weights *p, const float *a, const float *b, const uint64_t *need, float *C);
/* int8 mode's upper layer: the same four chains over pairs of k, a (K floats, rounded to bf16,
 * nearest even) times p's bf16 copy (packed with KN_PACK_BF16; K even and at most
 * KN_ROW_BF16_MAX_K): chain m takes the pairs q with q % 4 == m, ascending, each pair added as
 * VDPBF16PS adds it (a[2q+1] w[2q+1], then a[2q] w[2q], each a fused multiply-add: the products
 * of two bf16 are exact in fp32), then ((s0 + s1) + (s2 + s3)) + b[c]. need, C and the choice as
 * kn_row_f32_chains_choose's. */
#define KN_ROW_BF16_MAX_K 1024
void kn_row_bf16_chains(const kn_weights *p, const float *a, const float *b, const uint64_t *need, float *C);
int kn_row_bf16_chains_choose(const kn_weights *p, const float *a, const float *b, const uint64_t *need, float *C);

/* fp32 -> bf16, round to nearest even (what VCVTNEPS2BF16 does; NaN stays NaN). */
uint16_t kn_to_bf16(float x);
void kn_to_bf16_n(const float *x, uint16_t *y, size_t n);

/* The same product with A and W in bf16: A is bf16 (lda in bf16 elements, even; K/2 pairs per
 * row). Per element and pair k: acc += a[2k+1]*w[2k+1]; acc += a[2k]*w[2k] (the order
 * VDPBF16PS documents; the products of two bf16 are exact in fp32). Uses AVX512_BF16 when the
 * CPU has it, else widens to fp32 with AVX2/FMA. At the amx level with AMX-BF16: TDPBF16PS
 * tiles, which sum each 32-k chunk in their own order (kn_bf16_exact() is then 0); each row's
 * bits are still the same whatever rows it is computed with. */
void kn_gemm_bf16(const kn_weights *p, const uint16_t *A, size_t lda, size_t M, float *C, size_t ldc);
/* kn_gemm_bf16 on the paths that add in the documented order only (never AMX's tiles): the same
 * bits on every CPU. */
void kn_gemm_bf16_in_order(const kn_weights *p, const uint16_t *A, size_t lda, size_t M, float *C, size_t ldc);

/* Quantizes M rows of K floats (row i at A + i*lda) for kn_gemm_i8: Q gets M rows of K4 bytes
 * (K4 = K rounded up to 4; the padding is the zero point), M * K4 bytes in all, laid out as the
 * current level's kn_gemm_i8 reads them: byte k of row i at kn_i8_offset(M, K, i, k). Per row,
 * lo = min(0, min a), hi = max(0, max a): scale[i] = (hi - lo) / KN_I8_ALEVELS, inv =
 * KN_I8_ALEVELS / (hi - lo), zero[i] = round(-lo * inv), and each byte clamp(round(clamp(a *
 * inv, +-KN_I8_ALEVELS)) + zero[i], 0, KN_I8_ALEVELS); a zero row has scale, inv and zero point
 * 0. Rows that overlap as windows (lda < K, K a multiple of lda) take each lda-float span's
 * range once. */
void kn_quantize_rows(const float *A, size_t lda, size_t M, int K, uint8_t *Q, float *scale, int32_t *zero);
/* Where kn_quantize_rows puts byte k of row i of M rows of K at the current level: i * K4 + k
 * (plain rows), or, where the 512-bit VNNI tile reads them, tiles of its rows with one k
 * group's 4-byte quads of the tile's rows side by side (the last tile holds the rows left). */
size_t kn_i8_offset(size_t M, int K, size_t i, int k);

/* C[i][c] = ((float)(sum_k Q[i][k] * q[c][k] - zero[i] * i8_wsum[c]) * i8_scale[c]) * scale[i]:
 * the integer sum is exact, so every code path and row grouping gives the same bits. Q, scale
 * and zero from kn_quantize_rows with p->K and the same M, at the same level. */
void kn_gemm_i8(const kn_weights *p, const uint8_t *Q, const float *scale, const int32_t *zero, size_t M, float *C,
                size_t ldc);

/* Instruction-set levels, lowest first; a CPU that runs one runs those below it. AVXVNNI is
 * AVX2 with 256-bit VPDPBUSD (it changes only the int8 product). */
typedef enum { KN_ISA_PORTABLE = 0, KN_ISA_AVX2, KN_ISA_AVXVNNI, KN_ISA_AVX512, KN_ISA_AMX, KN_ISA_COUNT } kn_isa;

/* The level in use. Chosen once before main: the highest this CPU has and its OS has enabled
 * (cpuid, and XCR0 through xgetbv for the AVX, AVX-512 and AMX register state; for AMX also
 * Linux's permission, asked for once then with arch_prctl(ARCH_REQ_XCOMP_PERM)). AMX is AVX-512
 * plus AMX-INT8 (and AMX-BF16 when the CPU has it) tiles for the int8 (and bf16) products; fp32
 * stays on AVX-512 (AMX has no fp32 product). */
kn_isa kn_isa_current(void);
kn_isa kn_isa_best(void);
const char *kn_isa_name(kn_isa isa); /* "portable", "avx2", "avxvnni", "avx512", "amx" */
/* Why level isa cannot run here, e.g. "CPU lacks AVX-512F", "OS has not enabled the AVX-512
 * state" or "CPU lacks AMX-TILE/AMX-INT8", or NULL when it can. */
const char *kn_isa_missing(kn_isa isa);
/* Uses level isa from now on (tests, benchmarks, NERD_ISA). Not thread-safe: call before
 * products run on other threads. 0, or -1 (nothing changed) when the CPU cannot run it. */
int kn_set_isa(kn_isa isa);
/* Applies $NERD_ISA (portable, avx2, avxvnni, avx512, amx) when set. 0, or -1 with the reason in
 * err for an unknown name or a level this CPU cannot run. */
int kn_isa_from_env(char *err, size_t errlen);

/* The code path each precision's products take at the current level: fp32 "avx512", "avx2",
 * "portable"; bf16 "amxbf16", "avx512bf16", "avx2", "portable"; int8 "amxint8", "avx512vnni",
 * "avxvnni", "avx2", "portable". */
const char *kn_f32_path(void);
const char *kn_bf16_path(void);
const char *kn_i8_path(void);
/* 1 when the bf16 path gives the portable path's bits (all but amxbf16: TDPBF16PS sums a tile's
 * pairs in an order of its own, so its results agree only within bf16 products' rounding). */
int kn_bf16_exact(void);

#endif
