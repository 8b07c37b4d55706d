/* kernels.c - packed-weight products (see kernels.h). Three code paths per precision: an
 * AVX2/FMA one, an AVX512_BF16 one for bf16, and portable C with fmaf. All compute each
 * element with the same operations in the same order, so they give the same bits (except
 * that AVX512_BF16 flushes denormals), and so does any grouping of rows. The vector paths are
 * compiled with target attributes and picked at run time: the build works on any x86-64. */
#include "ner/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KN_X86 1
#endif

/* rows per tile: 6 x 16 fp32 accumulators take 12 of the 16 AVX2 registers, the two weight
 * vectors and the broadcast the other 3; the bf16 fallback widens each weight vector to two,
 * so it tiles 4 rows. */
#define MR 6
#define MR_BF16_AVX2 4

/* Under AddressSanitizer the vector tiles are not instrumented (a check per broadcast makes
 * them 10x slower, and the threaded tests time out); instead each product touches the first
 * and last element of its A and C ranges through instrumented reads, and the portable tiles,
 * which index exactly alike, stay fully checked (tests run them with kn_force_generic). */
#if defined(__SANITIZE_ADDRESS__)
#define KN_NO_ASAN __attribute__((no_sanitize_address))
static void check_range(const void *p, size_t bytes)
{
    volatile const unsigned char *c = p;
    (void)c[0];
    (void)c[bytes - 1];
}
#else
#define KN_NO_ASAN
static void check_range(const void *p, size_t bytes) { (void)p; (void)bytes; }
#endif

static int force_generic;
void kn_force_generic(int on) { force_generic = on; }

static int cpu_has(int feature)
{
#ifdef KN_X86
    __builtin_cpu_init();
    switch (feature) {
    case 0: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case 1: return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vl");
    }
#endif
    (void)feature;
    return 0;
}

/* decided once, before main: no thread ever writes them after */
static int has_avx2, has_avx512bf16;
__attribute__((constructor)) static void detect_cpu(void)
{
    has_avx2 = cpu_has(0);
    has_avx512bf16 = cpu_has(1);
}

int kn_use_avx2(void) { return !force_generic && has_avx2; }
static int use_avx2(void) { return kn_use_avx2(); }
static int use_avx512bf16(void) { return !force_generic && has_avx512bf16; }

const char *kn_f32_path(void) { return use_avx2() ? "avx2" : "generic"; }
const char *kn_bf16_path(void) { return use_avx512bf16() ? "avx512bf16" : use_avx2() ? "avx2" : "generic"; }

uint16_t kn_to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

void kn_to_bf16_n(const float *x, uint16_t *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = kn_to_bf16(x[i]);
}

static float bf16_lo(uint32_t pair) { uint32_t u = pair << 16; float f; memcpy(&f, &u, 4); return f; }
static float bf16_hi(uint32_t pair) { uint32_t u = pair & 0xffff0000u; float f; memcpy(&f, &u, 4); return f; }

int kn_pack(kn_weights *p, const float *W, int N, int K, int with_bf16)
{
    memset(p, 0, sizeof *p);
    p->N = N;
    p->K = K;
    p->npanels = (N + KN_NR - 1) / KN_NR;
    size_t panel = (size_t)K * KN_NR;
    p->f32 = aligned_alloc(64, ((panel * p->npanels * sizeof(float)) + 63) / 64 * 64);
    if (!p->f32) return -1;
    for (int j = 0; j < p->npanels; j++)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < KN_NR; c++) {
                int col = j * KN_NR + c;
                p->f32[j * panel + (size_t)k * KN_NR + c] = col < N ? W[(size_t)col * K + k] : 0.0f;
            }
    if (with_bf16) {
        if (K % 2) { kn_free(p); return -1; } /* pairs of k: every K in these models is even */
        int kp = K / 2;
        size_t bpanel = (size_t)kp * KN_NR;
        p->bf16 = aligned_alloc(64, ((bpanel * p->npanels * sizeof(uint32_t)) + 63) / 64 * 64);
        if (!p->bf16) { kn_free(p); return -1; }
        for (int j = 0; j < p->npanels; j++)
            for (int k = 0; k < kp; k++)
                for (int c = 0; c < KN_NR; c++) {
                    int col = j * KN_NR + c;
                    float lo = col < N ? W[(size_t)col * K + 2 * k] : 0.0f;
                    float hi = col < N ? W[(size_t)col * K + 2 * k + 1] : 0.0f;
                    p->bf16[j * bpanel + (size_t)k * KN_NR + c] = kn_to_bf16(lo) | (uint32_t)kn_to_bf16(hi) << 16;
                }
    }
    return 0;
}

void kn_free(kn_weights *p)
{
    free(p->f32);
    free(p->bf16);
    memset(p, 0, sizeof *p);
}

/* Copies a tile's valid columns out (the last panel may be narrower than KN_NR). */
static void store_tile(const float *tile, int mr, int ncols, float *C, size_t ldc)
{
    if (ncols == KN_NR) /* a constant size: two vector moves inline, not a libc call per row */
        for (int r = 0; r < mr; r++) memcpy(C + r * ldc, tile + r * KN_NR, KN_NR * sizeof(float));
    else
        for (int r = 0; r < mr; r++) memcpy(C + r * ldc, tile + r * KN_NR, (size_t)ncols * sizeof(float));
}

/* ---- portable C: the reference order, one fmaf chain per element ---- */

static void tile_f32_generic(int mr, const float *A, size_t lda, const float *B, int K, float *tile)
{
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < KN_NR; c++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc = fmaf(A[r * lda + k], B[(size_t)k * KN_NR + c], acc);
            tile[r * KN_NR + c] = acc;
        }
}

static void tile_bf16_generic(int mr, const uint16_t *A, size_t lda, const uint32_t *B, int KP, float *tile)
{
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < KN_NR; c++) {
            float acc = 0.0f;
            for (int k = 0; k < KP; k++) {
                uint32_t a = A[r * lda + 2 * k] | (uint32_t)A[r * lda + 2 * k + 1] << 16, w = B[(size_t)k * KN_NR + c];
                acc = fmaf(bf16_hi(a), bf16_hi(w), acc);
                acc = fmaf(bf16_lo(a), bf16_lo(w), acc);
            }
            tile[r * KN_NR + c] = acc;
        }
}

#ifdef KN_X86
/* ---- AVX2 + FMA ---- */

#define KN_AVX2 __attribute__((target("avx2,fma"), always_inline)) KN_NO_ASAN static inline

/* One specialised body per row count (accumulators in registers): calls fn(k, args...) for
 * the tile's mr. */
#define BY_ROWS(fn, top, ...)                                                                       \
    switch (mr) {                                                                                   \
    case 6: if (top >= 6) { fn(6, __VA_ARGS__); break; } /* fall through */                         \
    case 5: if (top >= 5) { fn(5, __VA_ARGS__); break; } /* fall through */                         \
    case 4: fn(4, __VA_ARGS__); break;                                                              \
    case 3: fn(3, __VA_ARGS__); break;                                                              \
    case 2: fn(2, __VA_ARGS__); break;                                                              \
    default: fn(1, __VA_ARGS__); break;                                                             \
    }

/* Stores a tile's mr rows of 16 columns. */
#define STORE_ROWS(n)                                                                               \
    _Pragma("GCC unroll 6") for (int r = 0; r < (n); r++) {                                         \
        if (r >= mr) break;                                                                         \
        _mm256_storeu_ps(tile + r * KN_NR, acc[r][0]);                                              \
        _mm256_storeu_ps(tile + r * KN_NR + 8, acc[r][1]);                                          \
    }

KN_AVX2 void tile_f32_avx2_mr(const int mr, const float *A, size_t lda, const float *B, int K, float *tile)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        const float *b = B + (size_t)k * KN_NR;
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            if (r >= mr) break;
            __m256 a = _mm256_broadcast_ss(A + r * lda + k);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
    }
    STORE_ROWS(MR)
}

__attribute__((target("avx2,fma"))) KN_NO_ASAN static void tile_f32_avx2(int mr, const float *A, size_t lda, const float *B,
                                                              int K, float *tile)
{
    BY_ROWS(tile_f32_avx2_mr, 6, A, lda, B, K, tile)
}

/* One row against up to 6 panels at once (the transition loop's output layer, M = 1): 12
 * independent chains instead of 2, so the FMA latency is hidden. The same chain per element. */
__attribute__((target("avx2,fma"))) KN_NO_ASAN static void row_f32_avx2(const float *a, const float *B, size_t panel,
                                                                        int npan, int K, float *out)
{
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int j = 0; j < 6; j++) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m256 x = _mm256_broadcast_ss(a + k);
#pragma GCC unroll 6
        for (int j = 0; j < 6; j++) {
            if (j >= npan) break;
            const float *b = B + j * panel + (size_t)k * KN_NR;
            acc[j][0] = _mm256_fmadd_ps(x, _mm256_load_ps(b), acc[j][0]);
            acc[j][1] = _mm256_fmadd_ps(x, _mm256_load_ps(b + 8), acc[j][1]);
        }
    }
#pragma GCC unroll 6
    for (int j = 0; j < 6; j++) {
        if (j >= npan) break;
        _mm256_storeu_ps(out + j * KN_NR, acc[j][0]);
        _mm256_storeu_ps(out + j * KN_NR + 8, acc[j][1]);
    }
}

KN_AVX2 __m256 hi_half(__m256i v) { return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000u))); }
KN_AVX2 __m256 lo_half(__m256i v) { return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)); }

KN_AVX2 void tile_bf16_avx2_mr(const int mr, const uint16_t *A, size_t lda, const uint32_t *B, int KP, float *tile)
{
    __m256 acc[MR_BF16_AVX2][2];
#pragma GCC unroll 4
    for (int r = 0; r < MR_BF16_AVX2; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < KP; k++) {
        const uint32_t *b = B + (size_t)k * KN_NR;
        __m256i w0 = _mm256_load_si256((const __m256i *)b), w1 = _mm256_load_si256((const __m256i *)(b + 8));
        __m256 h0 = hi_half(w0), h1 = hi_half(w1), l0 = lo_half(w0), l1 = lo_half(w1);
#pragma GCC unroll 4
        for (int r = 0; r < MR_BF16_AVX2; r++) {
            if (r >= mr) break;
            uint32_t pair;
            memcpy(&pair, A + r * lda + 2 * k, 4);
            __m256i a = _mm256_set1_epi32((int)pair);
            __m256 ah = hi_half(a), al = lo_half(a);
            acc[r][0] = _mm256_fmadd_ps(al, l0, _mm256_fmadd_ps(ah, h0, acc[r][0]));
            acc[r][1] = _mm256_fmadd_ps(al, l1, _mm256_fmadd_ps(ah, h1, acc[r][1]));
        }
    }
    STORE_ROWS(MR_BF16_AVX2)
}

__attribute__((target("avx2,fma"))) KN_NO_ASAN static void tile_bf16_avx2(int mr, const uint16_t *A, size_t lda,
                                                               const uint32_t *B, int KP, float *tile)
{
    BY_ROWS(tile_bf16_avx2_mr, 4, A, lda, B, KP, tile)
}

/* ---- AVX512_BF16 (VDPBF16PS on 256-bit registers): compiled everywhere, run where present ---- */

#define KN_BF16 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bf16"), always_inline)) KN_NO_ASAN static inline

KN_BF16 void tile_bf16_dp_mr(const int mr, const uint16_t *A, size_t lda, const uint32_t *B, int KP, float *tile)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < KP; k++) {
        const uint32_t *b = B + (size_t)k * KN_NR;
        __m256bh w0 = (__m256bh)_mm256_load_si256((const __m256i *)b),
                 w1 = (__m256bh)_mm256_load_si256((const __m256i *)(b + 8));
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            if (r >= mr) break;
            uint32_t pair;
            memcpy(&pair, A + r * lda + 2 * k, 4);
            __m256bh a = (__m256bh)_mm256_set1_epi32((int)pair);
            acc[r][0] = _mm256_dpbf16_ps(acc[r][0], a, w0);
            acc[r][1] = _mm256_dpbf16_ps(acc[r][1], a, w1);
        }
    }
    STORE_ROWS(MR)
}

__attribute__((target("avx2,fma,avx512f,avx512vl,avx512bf16"))) KN_NO_ASAN static void
tile_bf16_dp(int mr, const uint16_t *A, size_t lda, const uint32_t *B, int KP, float *tile)
{
    BY_ROWS(tile_bf16_dp_mr, 6, A, lda, B, KP, tile)
}
#endif

/* Tile by tile: fn computes mr rows x KN_NR columns of a panel into a local tile, whose valid
 * columns are then stored. Within a block of rows, panels outer and row tiles inner: a panel
 * (K x 16 floats, 18 KB for K = 288) stays in L1 while the block's rows (108 KB for 96 rows of
 * 288) stream past it from L2. Blocking rows leaves each element's k order alone. */
#ifndef ROW_BLOCK
#define ROW_BLOCK 96
#endif
#define GEMM_PANELS(fn, rows, kdim, packed)                                                    \
    do {                                                                                            \
        float tile[MR * KN_NR];                                                                     \
        if (!M) break;                                                                              \
        check_range(A, ((M - 1) * lda + (size_t)p->K) * sizeof *A);                                 \
        check_range(C, ((M - 1) * ldc + (size_t)p->N) * sizeof *C);                                 \
        const size_t panel = (size_t)(kdim) * KN_NR;                                                \
        for (size_t i0 = 0; i0 < M; i0 += ROW_BLOCK) {                                              \
            size_t i1 = i0 + ROW_BLOCK < M ? i0 + ROW_BLOCK : M;                                    \
            for (int j = 0; j < p->npanels; j++) {                                                  \
                int ncols = p->N - j * KN_NR < KN_NR ? p->N - j * KN_NR : KN_NR;                     \
                for (size_t i = i0; i < i1; i += (size_t)(rows)) {                                  \
                    int mr = i1 - i < (size_t)(rows) ? (int)(i1 - i) : (rows);                      \
                    fn(mr, A + i * lda, lda, (packed) + j * panel, (kdim), tile);                   \
                    store_tile(tile, mr, ncols, C + i * ldc + (size_t)j * KN_NR, ldc);              \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    } while (0)

int kn_cols(const kn_weights *p, int c0, int n, kn_weights *view)
{
    if (c0 < 0 || n <= 0 || c0 % KN_NR || c0 + n > p->N || (n % KN_NR && c0 + n != p->N)) return -1;
    *view = (kn_weights){.N = n, .K = p->K, .npanels = (n + KN_NR - 1) / KN_NR};
    view->f32 = p->f32 + (size_t)(c0 / KN_NR) * p->K * KN_NR;
    if (p->bf16) view->bf16 = p->bf16 + (size_t)(c0 / KN_NR) * (p->K / 2) * KN_NR;
    return 0;
}

void kn_gemm_f32(const kn_weights *p, const float *A, size_t lda, size_t M, float *C, size_t ldc)
{
    void (*tile_fn)(int, const float *, size_t, const float *, int, float *) = tile_f32_generic;
#ifdef KN_X86
    if (use_avx2()) tile_fn = tile_f32_avx2;
    if (M == 1 && use_avx2()) {
        float out[6 * KN_NR];
        const size_t panel = (size_t)p->K * KN_NR;
        check_range(A, (size_t)p->K * sizeof *A);
        for (int j = 0; j < p->npanels; j += 6) {
            int npan = p->npanels - j < 6 ? p->npanels - j : 6;
            row_f32_avx2(A, p->f32 + j * panel, panel, npan, p->K, out);
            int ncols = p->N - j * KN_NR < npan * KN_NR ? p->N - j * KN_NR : npan * KN_NR;
            memcpy(C + (size_t)j * KN_NR, out, (size_t)ncols * sizeof(float));
        }
        return;
    }
#endif
    GEMM_PANELS(tile_fn, MR, p->K, p->f32);
}

void kn_gemm_bf16(const kn_weights *p, const uint16_t *A, size_t lda, size_t M, float *C, size_t ldc)
{
    void (*tile_fn)(int, const uint16_t *, size_t, const uint32_t *, int, float *) = tile_bf16_generic;
    int rows = MR;
#ifdef KN_X86
    if (use_avx512bf16()) tile_fn = tile_bf16_dp;
    else if (use_avx2()) tile_fn = tile_bf16_avx2, rows = MR_BF16_AVX2;
#endif
    GEMM_PANELS(tile_fn, rows, p->K / 2, p->bf16);
}
