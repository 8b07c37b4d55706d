/* kernels.h - nerd's own matrix products for the network: C = A . W^T with W packed once at
 * load time, in fp32 (exact mode) or with bf16 inputs and fp32 accumulation (fast mode).
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

typedef enum { KN_FP32 = 0, KN_BF16 = 1 } kn_precision;

#define KN_NR 16 /* output columns per packed panel */

typedef struct {
    int N, K;          /* W is N x K (row-major, as thinc stores Linear/Maxout weights) */
    int npanels;       /* ceil(N / KN_NR) */
    float *f32;        /* panels of K x KN_NR floats, zero-padded columns */
    uint32_t *bf16;    /* panels of K/2 x KN_NR pairs (w[c][2k] low half, w[c][2k+1] high), or NULL */
} kn_weights;

/* Packs W (N x K). with_bf16 also packs a bf16 copy (K must then be even). 0, or -1 on
 * allocation failure. */
int kn_pack(kn_weights *p, const float *W, int N, int K, int with_bf16);
void kn_free(kn_weights *p);

/* A view of columns c0 .. c0+n-1 of p (no copy), for products over part of W. -1 unless c0
 * starts a panel and the columns end on a panel's end or at N. */
int kn_cols(const kn_weights *p, int c0, int n, kn_weights *view);

/* C[i][c] = sum_k A[i*lda + k] * W[c][k] for i < M, c < N (fp32, one fma chain per element). */
void kn_gemm_f32(const kn_weights *p, const float *A, size_t lda, size_t M, float *C, size_t ldc);

/* fp32 -> bf16, round to nearest even (what VCVTNEPS2BF16 does; NaN stays NaN). */
uint16_t kn_to_bf16(float x);
void kn_to_bf16_n(const float *x, uint16_t *y, size_t n);

/* The same product with A and W in bf16: A is bf16 (lda in bf16 elements, even; K/2 pairs per
 * row). Per element and pair k: acc += a[2k+1]*w[2k+1]; acc += a[2k]*w[2k] (the order
 * VDPBF16PS documents; the products of two bf16 are exact in fp32). Uses AVX512_BF16 when the
 * CPU has it, else widens to fp32 with AVX2/FMA. */
void kn_gemm_bf16(const kn_weights *p, const uint16_t *A, size_t lda, size_t M, float *C, size_t ldc);

/* Which code paths this CPU runs: "avx512bf16", "avx2" or "generic". */
const char *kn_bf16_path(void);
const char *kn_f32_path(void);
/* Whether the fp32 paths (and the fused passes around them) use AVX2/FMA now. */
int kn_use_avx2(void);
/* For tests: force the portable C paths (1) or let the CPU decide (0). */
void kn_force_generic(int on);

#endif
